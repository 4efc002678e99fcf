package stock

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Ids. Orders, members and unions are named by the callers.
type (
	SKUID    uint64
	OrderID  uint64
	MemberID uint64
	UnionID  uint64
)

// SKU is a stock-keeping unit homed on this shard.
type SKU struct {
	ID SKUID `json:"id"`
	// Name and ProductName are what the catalog shows; ProductID groups SKUs of one product.
	Name        string `json:"name,omitempty"`
	ProductID   uint64 `json:"product_id,omitempty"`
	ProductName string `json:"product_name,omitempty"`
	MerchantID  uint64 `json:"merchant_id"`
	Category    string `json:"category"`
	PriceFen    int64  `json:"price_fen"`
	Listed      bool   `json:"listed"`
	// SaleFromNanos and SaleToNanos bound a flash sale; zero means no bound.
	SaleFromNanos int64 `json:"sale_from_nanos,omitempty"`
	SaleToNanos   int64 `json:"sale_to_nanos,omitempty"`
	// LimitPerMember bounds each member's units; zero means no limit.
	LimitPerMember int64 `json:"limit_per_member,omitempty"`

	Units Units `json:"units"`
}

// Units are the unit states of a SKU.
type Units struct {
	Received  int64 `json:"received"`
	Available int64 `json:"available"`
	Reserved  int64 `json:"reserved"`
	Sold      int64 `json:"sold"`
	HandedOut int64 `json:"handed_out"`
	Returned  int64 `json:"returned"`
}

// Committed is sold plus handed out.
func (u Units) Committed() int64 { return u.Sold + u.HandedOut }

// Campaign is a festival sale: a discount, in a window, for some unions and SKUs.
type Campaign struct {
	ID          uint64    `json:"id"`
	Name        string    `json:"name"`
	FromNanos   int64     `json:"from_nanos"`
	ToNanos     int64     `json:"to_nanos"`
	DiscountBps int64     `json:"discount_bps"` // 700 is 7%
	Unions      []UnionID `json:"unions,omitempty"`
	SKUs        []SKUID   `json:"skus,omitempty"`
}

// DiscountedFen is a unit price less a discount in basis points, rounded half-up to the fen.
// The mall computes the same with shopspring/decimal for display; a test holds them equal.
func DiscountedFen(priceFen, discountBps int64) int64 {
	return (priceFen*(10_000-discountBps) + 5_000) / 10_000
}

// UnitPriceFen is what a member of union pays for one unit of sku at nowNanos: the list price,
// less the first campaign that is open then to the union and the SKU.
func UnitPriceFen(sku *SKU, union UnionID, nowNanos int64, campaigns []Campaign) int64 {
	for i := range campaigns {
		c := &campaigns[i]
		if nowNanos >= c.FromNanos && nowNanos < c.ToNanos &&
			(len(c.Unions) == 0 || slices.Contains(c.Unions, union)) &&
			(len(c.SKUs) == 0 || slices.Contains(c.SKUs, sku.ID)) {
			return DiscountedFen(sku.PriceFen, c.DiscountBps)
		}
	}
	return sku.PriceFen
}

// Code is the outcome of a stock command.
type Code uint8

const (
	OK Code = iota
	Exists
	UnknownSKU
	NotListed
	OutsideWindow
	PriceChanged
	LimitExceeded
	SoldOut
	InvalidQuantity
	InvalidSKU
	UnknownReservation
	WrongState
	codeCount
)

var codeNames = [codeCount]string{
	OK: "ok", Exists: "exists", UnknownSKU: "unknown_sku", NotListed: "not_listed",
	OutsideWindow: "outside_window", PriceChanged: "price_changed", LimitExceeded: "limit_exceeded",
	SoldOut: "sold_out", InvalidQuantity: "invalid_quantity", InvalidSKU: "invalid_sku",
	UnknownReservation: "unknown_reservation", WrongState: "wrong_state",
}

func (c Code) String() string {
	if c >= codeCount {
		return "invalid_code"
	}
	return codeNames[c]
}

// Codes lists every code.
func Codes() []Code {
	all := make([]Code, codeCount)
	for i := range all {
		all[i] = Code(i)
	}
	return all
}

// ReservationState is where an order's units of one SKU are.
type ReservationState uint8

const (
	StateReserved  ReservationState = 1
	StateSold      ReservationState = 2
	StateHandedOut ReservationState = 3
	StateReturned  ReservationState = 4
	StateReleased  ReservationState = 5
)

type reservation struct {
	order  OrderID
	member MemberID
	// quantity is at most Reserve's bound, 1<<20.
	quantity int32
	state    ReservationState
}

// entry is a SKU with its reservations and its members' units. Keeping them per SKU makes a
// reservation one SKU lookup and small maps keyed by one word, where a sale's hot SKUs stay in
// cache.
type entry struct {
	SKU
	// reservations are the SKU's reservations in the order they were made, and rows finds an
	// order's; last is the row the last lookup found, since applying a decision's event looks
	// up what the decision just did.
	reservations []reservation
	rows         map[OrderID]uint32
	last         uint32
	perMember    map[MemberID]int64
}

// Hint tells where a reservation is, so that it is found again without a lookup: the member's
// shard sends it back with the order's later messages. Zero is no hint; a hint that is wrong
// (from before a restart, say) costs the lookup, never a wrong answer.
type Hint uint32

// HintOf returns the hint to an order's reservation of a SKU.
func (s *State) HintOf(order OrderID, id SKUID) Hint {
	if sk, ok := s.skus[id]; ok {
		if _, ok := sk.reservation(order, 0); ok {
			return Hint(sk.last + 1)
		}
	}
	return 0
}

// reservation returns an order's reservation of the SKU, at hint if it is there.
func (sk *entry) reservation(order OrderID, hint Hint) (*reservation, bool) {
	if int(hint) > 0 && int(hint) <= len(sk.reservations) && sk.reservations[hint-1].order == order {
		sk.last = uint32(hint - 1)
		return &sk.reservations[sk.last], true
	}
	if int(sk.last) < len(sk.reservations) && sk.reservations[sk.last].order == order {
		return &sk.reservations[sk.last], true
	}
	i, ok := sk.rows[order]
	if !ok {
		return nil, false
	}
	sk.last = i
	return &sk.reservations[i], true
}

// flashSale reports whether the SKU is sold in a rush: it has a sale window or a limit per member.
func (sk *entry) flashSale() bool {
	return sk.LimitPerMember > 0 || sk.SaleFromNanos != 0 || sk.SaleToNanos != 0
}

func (sk *entry) addReservation(r reservation) {
	sk.last = uint32(len(sk.reservations))
	sk.rows[r.order] = sk.last
	sk.reservations = append(sk.reservations, r)
}

// reservationsHint bounds the room a flash-sale SKU's first stock makes for its reservations:
// a sale makes about one per unit, and growing the tables during the rush costs more than the
// room. Other SKUs grow theirs as orders come.
const reservationsHint = 4096

// State is the stock of the SKUs homed on one shard.
type State struct {
	skus map[SKUID]*entry
}

// New returns an empty stock.
func New() *State {
	return &State{skus: map[SKUID]*entry{}}
}

func newEntry(sku *SKU) *entry {
	e := &entry{SKU: *sku, rows: map[OrderID]uint32{}, perMember: map[MemberID]int64{}}
	e.Units = Units{}
	return e
}

// SKU returns a SKU homed here.
func (s *State) SKU(id SKUID) (*SKU, bool) {
	if sk, ok := s.skus[id]; ok {
		return &sk.SKU, true
	}
	return nil, false
}

// SKUs returns the ids of the SKUs homed here, in order.
func (s *State) SKUs() []SKUID {
	ids := make([]SKUID, 0, len(s.skus))
	for id := range s.skus {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// MemberUnits returns the units a member holds of a SKU, towards its limit.
func (s *State) MemberUnits(member MemberID, sku SKUID) int64 {
	if sk, ok := s.skus[sku]; ok {
		return sk.perMember[member]
	}
	return 0
}

// Reservation returns an order's reservation of a SKU.
func (s *State) Reservation(order OrderID, sku SKUID) (member MemberID, quantity int64, state ReservationState, ok bool) {
	sk, ok := s.skus[sku]
	if !ok {
		return 0, 0, 0, false
	}
	r, ok := sk.reservation(order, 0)
	if !ok {
		return 0, 0, 0, false
	}
	return r.member, int64(r.quantity), r.state, true
}

// Events. Their kinds follow the welfare and ledger kinds in the shard's one event stream.
type EventKind uint8

const (
	eventKindFirst EventKind = 96

	EventSKUSet EventKind = eventKindFirst + iota
	EventStockReceived
	EventReserved
	EventMoved // units of a reservation move from one state to another
	EventRestocked
	EventSoldOut
	EventBackInStock
)

const eventFormatVersion = 1

// ErrBadEvent is wrapped by every decoding error.
var ErrBadEvent = errors.New("stock: bad event encoding")

// Event is one stock decision.
type Event struct {
	Kind     EventKind
	SKU      *SKU // EventSKUSet: the catalog fields, units ignored
	SKUID    SKUID
	Order    OrderID
	Member   MemberID
	Quantity int64
	From, To ReservationState
}

// IsEvent reports whether an event kind byte is stock's.
func IsEvent(kind byte) bool {
	return EventKind(kind) > eventKindFirst && EventKind(kind) <= EventBackInStock
}

const fixedEventBytes = 2 + 8 + 8 + 8 + 8 + 1 + 1

// AppendEvent appends the binary form of a stock event.
func AppendEvent(dst []byte, e *Event) []byte {
	dst = append(dst, byte(e.Kind), eventFormatVersion)
	if e.Kind == EventSKUSet {
		body, err := json.Marshal(e.SKU)
		if err != nil {
			panic(err)
		}
		dst = binary.LittleEndian.AppendUint32(dst, uint32(len(body)))
		return append(dst, body...)
	}
	le := binary.LittleEndian
	dst = le.AppendUint64(dst, uint64(e.SKUID))
	dst = le.AppendUint64(dst, uint64(e.Order))
	dst = le.AppendUint64(dst, uint64(e.Member))
	dst = le.AppendUint64(dst, uint64(e.Quantity))
	return append(dst, byte(e.From), byte(e.To))
}

// DecodeEvent decodes the stock event at the start of src.
func DecodeEvent(src []byte) (Event, int, error) {
	if len(src) < 2 || !IsEvent(src[0]) || src[1] != eventFormatVersion {
		return Event{}, 0, fmt.Errorf("%w: header", ErrBadEvent)
	}
	e := Event{Kind: EventKind(src[0])}
	le := binary.LittleEndian
	if e.Kind == EventSKUSet {
		if len(src) < 6 {
			return Event{}, 0, fmt.Errorf("%w: short", ErrBadEvent)
		}
		n := int(le.Uint32(src[2:]))
		if n > len(src)-6 {
			return Event{}, 0, fmt.Errorf("%w: short body", ErrBadEvent)
		}
		e.SKU = &SKU{}
		if err := json.Unmarshal(src[6:6+n], e.SKU); err != nil {
			return Event{}, 0, fmt.Errorf("%w: %v", ErrBadEvent, err)
		}
		return e, 6 + n, nil
	}
	if len(src) < fixedEventBytes {
		return Event{}, 0, fmt.Errorf("%w: short", ErrBadEvent)
	}
	e.SKUID, e.Order, e.Member = SKUID(le.Uint64(src[2:])), OrderID(le.Uint64(src[10:])), MemberID(le.Uint64(src[18:]))
	e.Quantity = int64(le.Uint64(src[26:]))
	e.From, e.To = ReservationState(src[34]), ReservationState(src[35])
	return e, fixedEventBytes, nil
}

// Apply changes the state for one event; deciding and replay both call it.
func (s *State) Apply(e *Event) {
	switch e.Kind {
	case EventSKUSet:
		if sk, ok := s.skus[e.SKU.ID]; ok {
			units := sk.Units
			sk.SKU = *e.SKU
			sk.Units = units
		} else {
			s.skus[e.SKU.ID] = newEntry(e.SKU)
		}
	case EventSoldOut, EventBackInStock:
		// Flags for the edge; the units already say it.
	default:
		sk, ok := s.skus[e.SKUID]
		if !ok {
			panic(fmt.Sprintf("stock: apply of event kind %d to unknown sku %d", e.Kind, e.SKUID))
		}
		sk.apply(e)
	}
}

// apply changes the SKU for one of its events.
func (sk *entry) apply(e *Event) {
	u := &sk.Units
	switch e.Kind {
	case EventStockReceived:
		if u.Received == 0 && len(sk.reservations) == 0 && sk.flashSale() {
			n := int(min(e.Quantity, reservationsHint))
			sk.reservations = make([]reservation, 0, n)
			sk.rows = make(map[OrderID]uint32, n)
			sk.perMember = make(map[MemberID]int64, n)
		}
		u.Received += e.Quantity
		u.Available += e.Quantity
	case EventRestocked:
		u.Returned -= e.Quantity
		u.Available += e.Quantity
	case EventReserved:
		u.Available -= e.Quantity
		u.Reserved += e.Quantity
		sk.addReservation(reservation{order: e.Order, member: e.Member, quantity: int32(e.Quantity), state: StateReserved})
		sk.perMember[e.Member] += e.Quantity
	case EventMoved:
		r, ok := sk.reservation(e.Order, 0)
		if !ok {
			panic(fmt.Sprintf("stock: move of order %d's reservation of sku %d, which it does not have", e.Order, e.SKUID))
		}
		q := int64(r.quantity)
		*unitsOf(u, r.state) -= q
		if e.To == StateReleased {
			u.Available += q
		} else {
			*unitsOf(u, e.To) += q
		}
		if e.To == StateReleased || e.To == StateReturned {
			if sk.perMember[r.member] -= q; sk.perMember[r.member] == 0 {
				delete(sk.perMember, r.member)
			}
		}
		r.state = e.To
	case EventSoldOut, EventBackInStock:
	default:
		panic(fmt.Sprintf("stock: apply of event kind %d", e.Kind))
	}
}

func unitsOf(u *Units, st ReservationState) *int64 {
	switch st {
	case StateReserved:
		return &u.Reserved
	case StateSold:
		return &u.Sold
	case StateHandedOut:
		return &u.HandedOut
	case StateReturned:
		return &u.Returned
	}
	panic(fmt.Sprintf("stock: no units for state %d", st))
}

// Emitter receives the events a decision makes, after they are applied. It takes the event by
// value: an event handed through a function value by pointer would be allocated on the heap,
// once per reservation of a sale.
type Emitter func(e Event)

// emit applies a SKU's event and hands it out, followed by a sold-out or back-in-stock event
// when its available units reached or left zero.
func (sk *entry) emit(out Emitter, e Event) {
	wasAvailable := sk.Units.Available
	sk.apply(&e)
	out(e)
	switch {
	case wasAvailable > 0 && sk.Units.Available == 0:
		out(Event{Kind: EventSoldOut, SKUID: e.SKUID})
	case wasAvailable == 0 && sk.Units.Available > 0:
		out(Event{Kind: EventBackInStock, SKUID: e.SKUID})
	}
}

// SetSKU creates or updates a SKU's catalog fields; its units are kept.
func (s *State) SetSKU(sku SKU, out Emitter) Code {
	if sku.ID == 0 || sku.PriceFen < 0 || sku.LimitPerMember < 0 || (sku.SaleToNanos != 0 && sku.SaleToNanos <= sku.SaleFromNanos) {
		return InvalidSKU
	}
	sku.Units = Units{}
	e := Event{Kind: EventSKUSet, SKU: &sku}
	s.Apply(&e)
	out(e)
	return OK
}

// Receive adds units received from the merchant.
func (s *State) Receive(id SKUID, quantity int64, out Emitter) Code {
	sk, ok := s.skus[id]
	if !ok {
		return UnknownSKU
	}
	if quantity <= 0 || quantity > 1<<40 {
		return InvalidQuantity
	}
	sk.emit(out, Event{Kind: EventStockReceived, SKUID: id, Quantity: quantity})
	return OK
}

// Restock moves returned units back to available.
func (s *State) Restock(id SKUID, quantity int64, out Emitter) Code {
	sk, ok := s.skus[id]
	if !ok {
		return UnknownSKU
	}
	if quantity <= 0 || quantity > sk.Units.Returned {
		return InvalidQuantity
	}
	sk.emit(out, Event{Kind: EventRestocked, SKUID: id, Quantity: quantity})
	return OK
}

// Reserve takes quantity units of sku for an order of member at unitPriceFen, checking the
// listing, the sale window, the price the member was shown, the member's limit and the stock,
// all in one decision.
func (s *State) Reserve(order OrderID, member MemberID, union UnionID, id SKUID, quantity, unitPriceFen, nowNanos int64,
	campaigns []Campaign, out Emitter) Code {
	sk, ok := s.skus[id]
	if !ok {
		return UnknownSKU
	}
	if r, ok := sk.reservation(order, 0); ok {
		if r.state == StateReleased {
			return WrongState
		}
		return Exists
	}
	switch {
	case quantity <= 0 || quantity > 1<<20:
		return InvalidQuantity
	case !sk.Listed:
		return NotListed
	case sk.SaleFromNanos != 0 && nowNanos < sk.SaleFromNanos, sk.SaleToNanos != 0 && nowNanos >= sk.SaleToNanos:
		return OutsideWindow
	case unitPriceFen != UnitPriceFen(&sk.SKU, union, nowNanos, campaigns):
		return PriceChanged
	case sk.LimitPerMember > 0 && sk.perMember[member]+quantity > sk.LimitPerMember:
		return LimitExceeded
	case sk.Units.Available < quantity:
		return SoldOut
	}
	sk.emit(out, Event{Kind: EventReserved, SKUID: id, Order: order, Member: member, Quantity: quantity})
	return OK
}

// Move takes an order's units of a SKU from one state to another: confirm (reserved to sold),
// release (reserved or sold to available), hand out (sold to handed out), return (sold or
// handed out to returned). A move already made answers Exists.
func (s *State) Move(order OrderID, id SKUID, from []ReservationState, to ReservationState, out Emitter) Code {
	return s.MoveHinted(order, id, 0, from, to, out)
}

// MoveHinted is Move of the reservation hint points to, if it does.
func (s *State) MoveHinted(order OrderID, id SKUID, hint Hint, from []ReservationState, to ReservationState, out Emitter) Code {
	sk, ok := s.skus[id]
	if !ok {
		return UnknownReservation
	}
	r, ok := sk.reservation(order, hint)
	switch {
	case !ok:
		return UnknownReservation
	case r.state == to:
		return Exists
	case !slices.Contains(from, r.state):
		return WrongState
	}
	sk.emit(out, Event{Kind: EventMoved, SKUID: id, Order: order, Member: r.member, From: r.state, To: to})
	return OK
}

// CheckInvariants verifies UnitsAddUp, NoOversell and LimitPerMember.
func (s *State) CheckInvariants() error {
	for _, id := range s.SKUs() {
		u := s.skus[id].Units
		if u.Available < 0 || u.Reserved < 0 || u.Sold < 0 || u.HandedOut < 0 || u.Returned < 0 {
			return fmt.Errorf("UnitsAddUp: sku %d has negative units %+v", id, u)
		}
		if u.Available+u.Reserved+u.Sold+u.HandedOut+u.Returned != u.Received {
			return fmt.Errorf("UnitsAddUp: sku %d units %+v", id, u)
		}
	}
	for _, sk := range s.skus {
		if sk.LimitPerMember == 0 {
			continue
		}
		for member, n := range sk.perMember {
			if n > sk.LimitPerMember {
				return fmt.Errorf("LimitPerMember: member %d holds %d of sku %d, limit %d", member, n, sk.ID, sk.LimitPerMember)
			}
		}
	}
	return nil
}

// Snapshots.

type snapshotReservation struct {
	Order    OrderID          `json:"o"`
	SKU      SKUID            `json:"s"`
	Member   MemberID         `json:"m"`
	Quantity int64            `json:"q"`
	State    ReservationState `json:"st"`
}

type snapshot struct {
	SKUs         []*SKU                `json:"skus"`
	Reservations []snapshotReservation `json:"reservations"`
}

// MarshalSnapshot returns the state in a deterministic form.
func (s *State) MarshalSnapshot() ([]byte, error) {
	var snap snapshot
	for _, id := range s.SKUs() {
		sk := s.skus[id]
		snap.SKUs = append(snap.SKUs, &sk.SKU)
		for _, r := range sk.reservations {
			snap.Reservations = append(snap.Reservations, snapshotReservation{Order: r.order, SKU: id, Member: r.member, Quantity: int64(r.quantity), State: r.state})
		}
	}
	slices.SortFunc(snap.Reservations, func(a, b snapshotReservation) int {
		if a.Order != b.Order {
			return cmpU(uint64(a.Order), uint64(b.Order))
		}
		return cmpU(uint64(a.SKU), uint64(b.SKU))
	})
	return json.Marshal(snap)
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// UnmarshalSnapshot replaces the state with a snapshot's.
func (s *State) UnmarshalSnapshot(data []byte) error {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("%w: snapshot: %v", ErrBadEvent, err)
	}
	n := New()
	for _, sk := range snap.SKUs {
		e := newEntry(sk)
		e.Units = sk.Units
		n.skus[sk.ID] = e
	}
	for _, r := range snap.Reservations {
		sk, ok := n.skus[r.SKU]
		if !ok || r.Quantity <= 0 || r.Quantity > 1<<20 {
			return fmt.Errorf("%w: snapshot: reservation of order %d for sku %d", ErrBadEvent, r.Order, r.SKU)
		}
		if _, dup := sk.rows[r.Order]; dup {
			return fmt.Errorf("%w: snapshot: two reservations of order %d for sku %d", ErrBadEvent, r.Order, r.SKU)
		}
		sk.addReservation(reservation{order: r.Order, member: r.Member, quantity: int32(r.Quantity), state: r.State})
		if r.State == StateReserved || r.State == StateSold || r.State == StateHandedOut {
			sk.perMember[r.Member] += r.Quantity
		}
	}
	*s = *n
	return nil
}
