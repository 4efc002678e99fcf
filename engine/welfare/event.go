package welfare

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"huigong/engine/ledger"
	"huigong/engine/stock"
)

// EventKind says what a welfare event records. Ledger events share the stream and keep their
// own kinds, which are all below eventKindFirst. The values are journaled: never renumber them.
type EventKind uint8

const (
	eventKindFirst EventKind = 32

	EventConfigSet EventKind = eventKindFirst + iota
	EventUnionCreated
	EventOfficerAdded
	EventMemberRegistered
	EventProgramCreated
	EventProgramApproved
	EventProgramClosed
	EventMemberIssued
	EventHoldingClosed
	EventGiftClaimed
	EventMemberMovedOut
	EventMemberMovedIn
	EventPickupPointSet
	EventMerchantSet
	EventFederationOfficerAdded
	EventOrderSet
	EventReceivableOpened
	EventAwarded
	EventAwardReversed
	EventProgramUpdated
	EventOwedCollected
	// EventOrderPatched is a new form of an existing order that changed only its state, times,
	// payment reference and line codes: a fraction of the bytes of EventOrderSet, which every
	// step of every checkout would otherwise journal whole.
	EventOrderPatched
	eventKindLast = EventOrderPatched
)

const eventFormatVersion = 1

// ErrBadEvent is wrapped by every decoding error.
var ErrBadEvent = errors.New("welfare: bad event encoding")

// Event is one welfare decision. Only the fields its kind names are set.
type Event struct {
	Kind        EventKind             `json:"-"`
	Config      *Config               `json:"config,omitempty"`
	Union       *Union                `json:"union,omitempty"`
	Program     *Program              `json:"program,omitempty"`
	Member      *Member               `json:"member,omitempty"`
	PickupPoint *PickupPoint          `json:"pickup_point,omitempty"`
	Merchant    *Merchant             `json:"merchant,omitempty"`
	UnionID     UnionID               `json:"union_id,omitempty"`
	ProgramID   ProgramID             `json:"program_id,omitempty"`
	MemberID    MemberID              `json:"member_id,omitempty"`
	Officer     OfficerID             `json:"officer,omitempty"`
	Registered  bool                  `json:"registered,omitempty"`
	DuesPaid    bool                  `json:"dues_paid,omitempty"`
	AmountFen   int64                 `json:"amount_fen,omitempty"`
	Year        int32                 `json:"year,omitempty"`
	AccountID   ledger.AccountID      `json:"account_id,omitempty"`
	Status      ProgramStatus         `json:"status,omitempty"`
	Choices     []SKUID               `json:"choices,omitempty"`
	Gifts       map[ProgramID][]SKUID `json:"gifts,omitempty"`
	MerchantID  MerchantID            `json:"merchant_id,omitempty"`
	TimeNanos   int64                 `json:"time_nanos,omitempty"`
	Award       *Award                `json:"award,omitempty"`
	// order is EventOrderSet's, in its own binary form; patch is EventOrderPatched's.
	order  *Order
	patch  *orderPatch
	NextID uint64 `json:"next_id,omitempty"`
}

// memberIssuedBytes is the fixed binary form of the hot event, one per member of an issuance.
const memberIssuedBytes = 2 + 8 + 8 + 8 + 4 + 8 + 8 + 8

// AppendEvent appends the binary form of a welfare event.
func AppendEvent(dst []byte, e *Event) []byte {
	if e.Kind == EventOrderSet {
		return appendOrderEvent(dst, e.order)
	}
	dst = append(dst, byte(e.Kind), eventFormatVersion)
	if e.Kind == EventOrderPatched {
		return appendOrderPatchBody(dst, e.patch)
	}
	if e.Kind == EventMemberIssued {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.ProgramID))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.MemberID))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.AmountFen))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(e.Year))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.AccountID))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.TimeNanos))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.Officer))
		return dst
	}
	// Marshal a copy: handing e itself to json makes every caller's event escape to the heap,
	// the hot member_issued included (one allocation per member of an issuance).
	c := *e
	body, err := json.Marshal(&c)
	if err != nil {
		panic(fmt.Sprintf("welfare: encode %d: %v", e.Kind, err)) // Only plain data is encoded.
	}
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// DecodeEvent decodes the welfare event at the start of src.
func DecodeEvent(src []byte) (Event, int, error) {
	if len(src) < 2 {
		return Event{}, 0, fmt.Errorf("%w: %d bytes", ErrBadEvent, len(src))
	}
	kind, version := EventKind(src[0]), src[1]
	if kind == EventOrderSet && version == orderCompactVersion {
		o, n, err := decodeOrderCompact(src[2:])
		if err != nil {
			return Event{}, 0, err
		}
		return Event{Kind: kind, order: o}, 2 + n, nil
	}
	if kind < EventConfigSet || kind > eventKindLast || version != eventFormatVersion {
		return Event{}, 0, fmt.Errorf("%w: kind %d version %d", ErrBadEvent, kind, version)
	}
	if kind == EventOrderSet {
		o, n, err := decodeOrder(src[2:])
		if err != nil {
			return Event{}, 0, err
		}
		return Event{Kind: kind, order: o}, 2 + n, nil
	}
	if kind == EventOrderPatched {
		p, n, err := decodeOrderPatch(src[2:])
		if err != nil {
			return Event{}, 0, err
		}
		return Event{Kind: kind, patch: p}, 2 + n, nil
	}
	if kind == EventMemberIssued {
		if len(src) < memberIssuedBytes {
			return Event{}, 0, fmt.Errorf("%w: short member_issued", ErrBadEvent)
		}
		le := binary.LittleEndian
		return Event{
			Kind: kind, ProgramID: ProgramID(le.Uint64(src[2:])), MemberID: MemberID(le.Uint64(src[10:])),
			AmountFen: int64(le.Uint64(src[18:])), Year: int32(le.Uint32(src[26:])),
			AccountID: ledger.AccountID(le.Uint64(src[30:])), TimeNanos: int64(le.Uint64(src[38:])),
			Officer: OfficerID(le.Uint64(src[46:])),
		}, memberIssuedBytes, nil
	}
	if len(src) < 6 {
		return Event{}, 0, fmt.Errorf("%w: short header", ErrBadEvent)
	}
	n := int(binary.LittleEndian.Uint32(src[2:]))
	if n > len(src)-6 {
		return Event{}, 0, fmt.Errorf("%w: body of %d bytes, %d left", ErrBadEvent, n, len(src)-6)
	}
	e := Event{}
	if err := json.Unmarshal(src[6:6+n], &e); err != nil {
		return Event{}, 0, fmt.Errorf("%w: %v", ErrBadEvent, err)
	}
	e.Kind = kind
	return e, 6 + n, nil
}

// Apply replays a batch's events, ledger and welfare, in order.
func (s *State) Apply(events []byte) error {
	for len(events) > 0 {
		if stock.IsEvent(events[0]) {
			e, n, err := stock.DecodeEvent(events)
			if err != nil {
				return err
			}
			s.stock.Apply(&e)
			events = events[n:]
			continue
		}
		if EventKind(events[0]) < eventKindFirst {
			e, n, err := ledger.DecodeEvent(events)
			if err != nil {
				return err
			}
			s.ledger.Apply(&e)
			s.noteLedgerIDs(&e)
			events = events[n:]
			continue
		}
		e, n, err := DecodeEvent(events)
		if err != nil {
			return err
		}
		if e.Kind == EventOrderPatched {
			o, err := s.patchedOrder(e.patch)
			if err != nil {
				return err
			}
			e = Event{Kind: EventOrderSet, order: o}
		}
		s.apply(&e)
		events = events[n:]
	}
	return nil
}

// apply changes the welfare tables for one event. Deciding calls it for each event it makes,
// and replay for each event it reads, so the two cannot drift apart.
func (s *State) apply(e *Event) {
	switch e.Kind {
	case EventConfigSet:
		s.config = *e.Config
	case EventUnionCreated:
		u := *e.Union
		s.unions[u.ID] = &u
	case EventOfficerAdded:
		u := s.unions[e.UnionID]
		u.Officers = append(u.Officers, e.Officer)
	case EventMemberRegistered:
		m, ok := s.members[e.MemberID]
		if !ok {
			m = newMember(e.MemberID)
			s.members[e.MemberID] = m
		}
		m.UnionID, m.Registered, m.DuesPaid = e.UnionID, e.Registered, e.DuesPaid
	case EventProgramCreated:
		p := *e.Program
		s.programs[p.ID] = &p
		if p.Status == ProgramActive {
			s.expiries.Push(p.ToNanos, p.ID)
		}
	case EventProgramApproved:
		s.programs[e.ProgramID].ApprovedBy = e.Officer
	case EventProgramClosed:
		s.programs[e.ProgramID].Status = e.Status
	case EventMemberIssued:
		p := s.programs[e.ProgramID]
		m := s.members[e.MemberID]
		m.Holdings = append(m.Holdings, Holding{ProgramID: p.ID, AccountID: e.AccountID, IssuedFen: e.AmountFen, Year: e.Year,
			IssuedNanos: e.TimeNanos, IssuedBy: e.Officer})
		m.addCounted(p.Category, e.Year, e.AmountFen)
		p.Members = append(p.Members, m.ID)
		p.IssuedFen += e.AmountFen
	case EventHoldingClosed:
		m := s.members[e.MemberID]
		h, _ := m.Holding(e.ProgramID)
		h.Closed = true
		m.addCounted(s.programs[e.ProgramID].Category, h.Year, -e.AmountFen)
	case EventGiftClaimed:
		s.giftChoices[holdingKey{e.MemberID, e.ProgramID}] = append([]SKUID(nil), e.Choices...)
	case EventMemberMovedOut:
		if m, ok := s.members[e.MemberID]; ok {
			for _, h := range m.Holdings {
				delete(s.giftChoices, holdingKey{m.ID, h.ProgramID})
			}
		}
		delete(s.members, e.MemberID)
	case EventMemberMovedIn:
		for p, choices := range e.Gifts {
			s.giftChoices[holdingKey{e.Member.ID, p}] = append([]SKUID(nil), choices...)
		}
		m := *e.Member
		s.members[m.ID] = &m
		for _, h := range m.Holdings {
			// A member sent back from a refused move is on its old programs' lists already.
			if p := s.programs[h.ProgramID]; !slices.Contains(p.Members, m.ID) {
				p.Members = append(p.Members, m.ID)
			}
		}
	case EventPickupPointSet:
		p := *e.PickupPoint
		s.pickupPoints[p.ID] = &p
	case EventMerchantSet:
		m := *e.Merchant
		s.merchants[m.ID] = &m
	case EventFederationOfficerAdded:
		s.federationOfficers = append(s.federationOfficers, e.Officer)
	case EventOrderSet:
		s.applyOrder(e.order)
	case EventOrderPatched:
		// Apply resolves a patch against the order it patches, into an EventOrderSet.
		panic("welfare: apply of an unresolved order patch")
	case EventReceivableOpened:
		s.receivables[e.MerchantID] = e.AccountID
	case EventAwarded:
		a := *e.Award
		s.awards[a.ID] = &a
		p := s.programs[a.ProgramID]
		m := s.members[a.MemberID]
		if h, ok := m.Holding(a.ProgramID); ok {
			h.IssuedFen += a.AmountFen
		} else {
			m.Holdings = append(m.Holdings, Holding{ProgramID: p.ID, AccountID: e.AccountID, IssuedFen: a.AmountFen, Year: e.Year, IssuedNanos: e.TimeNanos})
			p.Members = append(p.Members, m.ID)
		}
		m.addCounted(p.Category, e.Year, a.AmountFen)
		m.addAwarded(a.Kind, a.Day, a.AmountFen)
	case EventAwardReversed:
		a := s.awards[e.Award.ID]
		a.ReversedFen += e.AmountFen
		a.SpentFen, a.OwedFen, a.Reversed = e.Award.SpentFen, e.Award.OwedFen, true
		if m, ok := s.members[a.MemberID]; ok {
			if h, ok := m.Holding(a.ProgramID); ok {
				m.addCounted(s.programs[a.ProgramID].Category, h.Year, -e.AmountFen)
				h.OwedFen += e.Award.OwedFen
			}
		}
	case EventOwedCollected:
		m := s.members[e.MemberID]
		h, _ := m.Holding(e.ProgramID)
		h.OwedFen -= e.AmountFen
		m.addCounted(s.programs[e.ProgramID].Category, h.Year, -e.AmountFen)
	case EventProgramUpdated:
		s.applyProgramUpdated(e.Program)
	default:
		panic(fmt.Sprintf("welfare: apply of event kind %d", e.Kind))
	}
}

// noteLedgerIDs keeps the id counter past every id the decider made, so that replay allocates
// as the live run did.
func (s *State) noteLedgerIDs(e *ledger.Event) {
	id := uint64(e.Account.ID)
	if e.Kind == ledger.EventTransferCreated {
		id = uint64(e.Transfer.ID)
	}
	if e.Kind != ledger.EventAccountCreated && e.Kind != ledger.EventTransferCreated {
		return
	}
	if id >= welfareIDBase && id >= s.nextID && id < welfareIDBase+1<<60 {
		s.nextID = id + 1
	}
}

// The binary form of an order, the hot event of a festival sale.
func appendOrder(dst []byte, o *Order) []byte {
	le := binary.LittleEndian
	for _, v := range [...]uint64{uint64(o.ID), uint64(o.MemberID), uint64(o.UnionID), uint64(o.PickupPointID),
		uint64(o.CashFen), uint64(o.DeadlineNanos), uint64(o.PlacedNanos), uint64(o.ReadyNanos), uint64(o.HandedNanos),
		uint64(o.ReturnedNanos), o.PaymentRef} {
		dst = le.AppendUint64(dst, v)
	}
	dst = append(dst, byte(o.State), byte(o.Code), byte(o.Awaiting))
	dst = le.AppendUint16(dst, uint16(len(o.Lines)))
	for i := range o.Lines {
		l := &o.Lines[i]
		dst = le.AppendUint64(dst, uint64(l.SKU))
		dst = le.AppendUint64(dst, uint64(l.Quantity))
		dst = le.AppendUint64(dst, uint64(l.UnitPriceFen))
		dst = le.AppendUint32(dst, l.Shard)
		dst = le.AppendUint64(dst, uint64(l.MerchantID))
		dst = append(dst, byte(l.Code), byte(len(l.Category)))
		dst = append(dst, l.Category...)
	}
	dst = le.AppendUint16(dst, uint16(len(o.Holds)))
	for i := range o.Holds {
		h := &o.Holds[i]
		for _, v := range [...]uint64{uint64(h.TransferID), uint64(h.AccountID), uint64(h.ProgramID), uint64(h.MerchantID), uint64(h.AmountFen), uint64(h.RefundID)} {
			dst = le.AppendUint64(dst, v)
		}
	}
	return dst
}

func decodeOrder(b []byte) (*Order, int, error) {
	r := orderReader{b: b, ok: true}
	o := &Order{}
	o.ID, o.MemberID, o.UnionID = OrderID(r.u64()), MemberID(r.u64()), UnionID(r.u64())
	o.PickupPointID, o.CashFen, o.DeadlineNanos = PickupPointID(r.u64()), int64(r.u64()), int64(r.u64())
	o.PlacedNanos, o.ReadyNanos, o.HandedNanos = int64(r.u64()), int64(r.u64()), int64(r.u64())
	o.ReturnedNanos, o.PaymentRef = int64(r.u64()), r.u64()
	o.State, o.Code, o.Awaiting = OrderState(r.u8()), Code(r.u8()), int(r.u8())
	n := int(r.u16())
	for i := 0; i < n && r.ok; i++ {
		l := OrderLine{SKU: stock.SKUID(r.u64()), Quantity: int64(r.u64()), UnitPriceFen: int64(r.u64())}
		l.Shard, l.MerchantID, l.Code = r.u32(), MerchantID(r.u64()), stock.Code(r.u8())
		l.Category = string(r.bytes(int(r.u8())))
		o.Lines = append(o.Lines, l)
	}
	n = int(r.u16())
	for i := 0; i < n && r.ok; i++ {
		o.Holds = append(o.Holds, Hold{TransferID: ledger.TransferID(r.u64()), AccountID: ledger.AccountID(r.u64()),
			ProgramID: ProgramID(r.u64()), MerchantID: MerchantID(r.u64()), AmountFen: int64(r.u64()), RefundID: ledger.TransferID(r.u64())})
	}
	if !r.ok {
		return nil, 0, fmt.Errorf("%w: short order", ErrBadEvent)
	}
	return o, len(b) - len(r.b), nil
}

type orderReader struct {
	b  []byte
	ok bool
}

func (r *orderReader) take(n int) []byte {
	if !r.ok || len(r.b) < n {
		r.ok = false
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}
func (r *orderReader) u8() byte           { return r.take(1)[0] }
func (r *orderReader) u16() uint16        { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *orderReader) u32() uint32        { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *orderReader) u64() uint64        { return binary.LittleEndian.Uint64(r.take(8)) }
func (r *orderReader) bytes(n int) []byte { return r.take(n) }
