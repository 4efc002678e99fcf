package welfare

import (
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"huigong/engine/ledger"
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
)

const eventFormatVersion = 1

// ErrBadEvent is wrapped by every decoding error.
var ErrBadEvent = errors.New("welfare: bad event encoding")

// Event is one welfare decision. Only the fields its kind names are set.
type Event struct {
	Kind        EventKind        `json:"-"`
	Config      *Config          `json:"config,omitempty"`
	Union       *Union           `json:"union,omitempty"`
	Program     *Program         `json:"program,omitempty"`
	Member      *Member          `json:"member,omitempty"`
	PickupPoint *PickupPoint     `json:"pickup_point,omitempty"`
	Merchant    *Merchant        `json:"merchant,omitempty"`
	UnionID     UnionID          `json:"union_id,omitempty"`
	ProgramID   ProgramID        `json:"program_id,omitempty"`
	MemberID    MemberID         `json:"member_id,omitempty"`
	Officer     OfficerID        `json:"officer,omitempty"`
	Registered  bool             `json:"registered,omitempty"`
	DuesPaid    bool             `json:"dues_paid,omitempty"`
	AmountFen   int64            `json:"amount_fen,omitempty"`
	Year        int32            `json:"year,omitempty"`
	AccountID   ledger.AccountID `json:"account_id,omitempty"`
	Status      ProgramStatus    `json:"status,omitempty"`
	Choices     []SKUID          `json:"choices,omitempty"`
	NextID      uint64           `json:"next_id,omitempty"`
}

// memberIssuedBytes is the fixed binary form of the hot event, one per member of an issuance.
const memberIssuedBytes = 2 + 8 + 8 + 8 + 4 + 8

// AppendEvent appends the binary form of a welfare event.
func AppendEvent(dst []byte, e *Event) []byte {
	dst = append(dst, byte(e.Kind), eventFormatVersion)
	if e.Kind == EventMemberIssued {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.ProgramID))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.MemberID))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.AmountFen))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(e.Year))
		dst = binary.LittleEndian.AppendUint64(dst, uint64(e.AccountID))
		return dst
	}
	body, err := json.Marshal(e)
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
	if kind < EventConfigSet || kind > EventFederationOfficerAdded || version != eventFormatVersion {
		return Event{}, 0, fmt.Errorf("%w: kind %d version %d", ErrBadEvent, kind, version)
	}
	if kind == EventMemberIssued {
		if len(src) < memberIssuedBytes {
			return Event{}, 0, fmt.Errorf("%w: short member_issued", ErrBadEvent)
		}
		le := binary.LittleEndian
		return Event{
			Kind: kind, ProgramID: ProgramID(le.Uint64(src[2:])), MemberID: MemberID(le.Uint64(src[10:])),
			AmountFen: int64(le.Uint64(src[18:])), Year: int32(le.Uint32(src[26:])),
			AccountID: ledger.AccountID(le.Uint64(src[30:])),
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
			m = &Member{ID: e.MemberID}
			s.members[e.MemberID] = m
		}
		m.UnionID, m.Registered, m.DuesPaid = e.UnionID, e.Registered, e.DuesPaid
	case EventProgramCreated:
		p := *e.Program
		s.programs[p.ID] = &p
		if p.Status == ProgramActive {
			heap.Push(&s.expiries, programEntry{toNanos: p.ToNanos, id: p.ID})
		}
	case EventProgramApproved:
		s.programs[e.ProgramID].ApprovedBy = e.Officer
	case EventProgramClosed:
		s.programs[e.ProgramID].Status = e.Status
	case EventMemberIssued:
		p := s.programs[e.ProgramID]
		m := s.members[e.MemberID]
		m.Holdings = append(m.Holdings, Holding{ProgramID: p.ID, AccountID: e.AccountID, IssuedFen: e.AmountFen, Year: e.Year})
		m.addCounted(p.Category, e.Year, e.AmountFen)
		p.Members = append(p.Members, m.ID)
	case EventHoldingClosed:
		m := s.members[e.MemberID]
		h, _ := m.Holding(e.ProgramID)
		h.Closed = true
		m.addCounted(s.programs[e.ProgramID].Category, h.Year, -e.AmountFen)
	case EventGiftClaimed:
		h, _ := s.members[e.MemberID].Holding(e.ProgramID)
		h.GiftChoices = append([]SKUID(nil), e.Choices...)
	case EventMemberMovedOut:
		delete(s.members, e.MemberID)
	case EventMemberMovedIn:
		m := *e.Member
		s.members[m.ID] = &m
		for _, h := range m.Holdings {
			p := s.programs[h.ProgramID]
			p.Members = append(p.Members, m.ID)
		}
	case EventPickupPointSet:
		p := *e.PickupPoint
		s.pickupPoints[p.ID] = &p
	case EventMerchantSet:
		m := *e.Merchant
		s.merchants[m.ID] = &m
	case EventFederationOfficerAdded:
		s.federationOfficers = append(s.federationOfficers, e.Officer)
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
