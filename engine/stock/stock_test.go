package stock_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/shopspring/decimal"

	"huigong/engine/stock"
)

// recorder collects the events a decision emits and replays them into a second state, so every
// test also checks that replay equals live.
type recorder struct {
	events []stock.Event
	bytes  []byte
}

func (r *recorder) emit(e stock.Event) {
	c := e
	if e.SKU != nil {
		sku := *e.SKU
		c.SKU = &sku
	}
	r.events = append(r.events, c)
	r.bytes = stock.AppendEvent(r.bytes, &e)
}

func (r *recorder) take() []stock.Event {
	out := r.events
	r.events = nil
	return out
}

// replay decodes every recorded event and applies it to a fresh state.
func (r *recorder) replay(t *testing.T) *stock.State {
	t.Helper()
	s := stock.New()
	for b := r.bytes; len(b) > 0; {
		e, n, err := stock.DecodeEvent(b)
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		s.Apply(&e)
		b = b[n:]
	}
	return s
}

func snapshot(t *testing.T, s *stock.State) []byte {
	t.Helper()
	b, err := s.MarshalSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func checkReplay(t *testing.T, live *stock.State, r *recorder) {
	t.Helper()
	if err := live.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	got, want := snapshot(t, r.replay(t)), snapshot(t, live)
	if !bytes.Equal(got, want) {
		t.Fatalf("replay differs from live:\nreplay %s\nlive   %s", got, want)
	}
}

const (
	sku1   stock.SKUID   = 900
	union1 stock.UnionID = 1
	nowNs  int64         = 1_770_000_000_000_000_000
)

func newSKU(t *testing.T, r *recorder, sku stock.SKU, units int64) *stock.State {
	t.Helper()
	s := stock.New()
	if c := s.SetSKU(sku, r.emit); c != stock.OK {
		t.Fatalf("set sku: %v", c)
	}
	if units > 0 {
		if c := s.Receive(sku.ID, units, r.emit); c != stock.OK {
			t.Fatalf("receive: %v", c)
		}
	}
	r.take()
	return s
}

func TestDiscountedFen(t *testing.T) {
	for _, tc := range []struct {
		priceFen, bps, want int64
	}{
		{1299, 700, 1208},   // 12.99 yuan at 7%: 12.0807 -> 12.08
		{12800, 700, 11904}, // 128.00 -> 119.04 exactly
		{50, 700, 47},       // 0.465 -> 0.47: half rounds up
		{150, 700, 140},     // 1.395 -> 1.40
		{149, 700, 139},     // 138.57 fen -> 139
		{1, 5000, 1},        // half a fen rounds up
		{3, 5000, 2},        // 1.5 fen -> 2
		{1, 4999, 1},        // 0.5001 fen -> 1
		{1, 5001, 0},        // 0.4999 fen -> 0
		{0, 700, 0},
		{9999, 0, 9999},
		{9999, 10_000, 0},
		{100_000_000_00, 700, 93_000_000_00},
		{1999, 1250, 1749}, // 17.49125 -> 17.49
		{2000, 1250, 1750},
	} {
		t.Run(fmt.Sprintf("%d@%d", tc.priceFen, tc.bps), func(t *testing.T) {
			if got := stock.DiscountedFen(tc.priceFen, tc.bps); got != tc.want {
				t.Fatalf("DiscountedFen(%d, %d) = %d, want %d", tc.priceFen, tc.bps, got, tc.want)
			}
			if got := decimalDiscountedFen(tc.priceFen, tc.bps); got != tc.want {
				t.Fatalf("decimal reference gives %d, want %d", got, tc.want)
			}
		})
	}
}

// decimalDiscountedFen is the mall's way of computing a discounted price: yuan as a decimal,
// less the percentage, rounded half-up to the fen.
func decimalDiscountedFen(priceFen, bps int64) int64 {
	price := decimal.New(priceFen, -2)
	factor := decimal.New(10_000-bps, -4)
	return price.Mul(factor).Round(2).Shift(2).IntPart()
}

// The integer formula and the decimal one agree on every price up to 100 yuan at the discounts
// a federation uses, and on random large prices.
func TestDiscountedFenMatchesDecimal(t *testing.T) {
	for _, bps := range []int64{0, 1, 500, 700, 750, 999, 1000, 3333, 5000, 9999, 10_000} {
		for p := int64(0); p <= 100_00; p++ {
			if a, b := stock.DiscountedFen(p, bps), decimalDiscountedFen(p, bps); a != b {
				t.Fatalf("price %d at %d bps: integer %d, decimal %d", p, bps, a, b)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		p, bps := rng.Int64N(1<<40), rng.Int64N(10_001)
		if a, b := stock.DiscountedFen(p, bps), decimalDiscountedFen(p, bps); a != b {
			t.Fatalf("price %d at %d bps: integer %d, decimal %d", p, bps, a, b)
		}
	}
}

func TestUnitPriceFen(t *testing.T) {
	sk := &stock.SKU{ID: sku1, PriceFen: 1299}
	open := stock.Campaign{ID: 1, FromNanos: nowNs - 10, ToNanos: nowNs + 10, DiscountBps: 700}
	for _, tc := range []struct {
		name      string
		campaigns []stock.Campaign
		want      int64
	}{
		{"no campaign", nil, 1299},
		{"open to all", []stock.Campaign{open}, 1208},
		{"not yet open", []stock.Campaign{{FromNanos: nowNs + 1, ToNanos: nowNs + 10, DiscountBps: 700}}, 1299},
		{"ended at now", []stock.Campaign{{FromNanos: nowNs - 10, ToNanos: nowNs, DiscountBps: 700}}, 1299},
		{"other union", []stock.Campaign{{FromNanos: nowNs - 10, ToNanos: nowNs + 10, DiscountBps: 700, Unions: []stock.UnionID{2}}}, 1299},
		{"this union", []stock.Campaign{{FromNanos: nowNs - 10, ToNanos: nowNs + 10, DiscountBps: 700, Unions: []stock.UnionID{2, union1}}}, 1208},
		{"other sku", []stock.Campaign{{FromNanos: nowNs - 10, ToNanos: nowNs + 10, DiscountBps: 700, SKUs: []stock.SKUID{1}}}, 1299},
		{"first open wins", []stock.Campaign{{FromNanos: nowNs - 10, ToNanos: nowNs + 10, DiscountBps: 5000}, open}, 650},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := stock.UnitPriceFen(sk, union1, nowNs, tc.campaigns); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// Reserve checks its conditions in a fixed order; each case breaks every condition from its own
// on, so the code it expects is the first that applies.
func TestReservePrecedence(t *testing.T) {
	base := stock.SKU{ID: sku1, MerchantID: 3, Category: "food", PriceFen: 1000, Listed: true,
		SaleFromNanos: nowNs - 100, SaleToNanos: nowNs + 100, LimitPerMember: 2}
	type tc struct {
		name string
		// mutate breaks the conditions; the reservation is for order 1 of member 5.
		sku        func(*stock.SKU)
		id         stock.SKUID
		quantity   int64
		price      int64
		now        int64
		units      int64
		preOrder   bool // order 1 already reserved sku1 (quantity 1)
		preRelease bool
		preMember  int64 // units member 5 already holds through order 2
		want       stock.Code
	}
	all := func(s *stock.SKU) { s.Listed = false; s.SaleToNanos = nowNs - 50; s.SaleFromNanos = nowNs - 60 }
	cases := []tc{
		{name: "exists before everything", sku: all, id: sku1, quantity: 0, price: 1, now: nowNs, units: 5, preOrder: true, want: stock.Exists},
		{name: "released reservation is wrong_state", sku: all, id: sku1, quantity: 0, price: 1, now: nowNs, units: 5, preOrder: true, preRelease: true, want: stock.WrongState},
		{name: "unknown sku before quantity", id: 1, quantity: 0, price: 1, now: nowNs, units: 5, want: stock.UnknownSKU},
		{name: "quantity before listing", sku: all, id: sku1, quantity: 0, price: 1, now: nowNs, units: 5, want: stock.InvalidQuantity},
		{name: "quantity too large", id: sku1, quantity: 1<<20 + 1, price: 1000, now: nowNs, units: 5, want: stock.InvalidQuantity},
		{name: "listing before window", sku: all, id: sku1, quantity: 1, price: 1, now: nowNs, units: 5, want: stock.NotListed},
		{name: "window before price", id: sku1, quantity: 1, price: 1, now: nowNs + 100, units: 5, want: stock.OutsideWindow},
		{name: "before the window", id: sku1, quantity: 1, price: 1000, now: nowNs - 101, units: 5, want: stock.OutsideWindow},
		{name: "price before limit", id: sku1, quantity: 3, price: 999, now: nowNs, units: 0, want: stock.PriceChanged},
		{name: "limit before stock", id: sku1, quantity: 3, price: 1000, now: nowNs, units: 0, want: stock.LimitExceeded},
		{name: "limit counts earlier orders", id: sku1, quantity: 1, price: 1000, now: nowNs, units: 5, preMember: 2, want: stock.LimitExceeded},
		{name: "stock last", id: sku1, quantity: 2, price: 1000, now: nowNs, units: 1, want: stock.SoldOut},
		{name: "all well", id: sku1, quantity: 2, price: 1000, now: nowNs, units: 2, want: stock.OK},
		{name: "last window nanosecond", id: sku1, quantity: 1, price: 1000, now: nowNs + 99, units: 1, want: stock.OK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &recorder{}
			s := newSKU(t, r, base, c.units+c.preMember+1)
			// One unit is taken by order 3 of another member, so the available units are c.units.
			if code := s.Reserve(3, 6, union1, sku1, 1, 1000, nowNs, nil, r.emit); code != stock.OK {
				t.Fatalf("setup reserve: %v", code)
			}
			if c.preMember > 0 {
				if code := s.Reserve(2, 5, union1, sku1, c.preMember, 1000, nowNs, nil, r.emit); code != stock.OK {
					t.Fatalf("setup member: %v", code)
				}
			}
			if c.preOrder {
				s.Receive(sku1, 1, r.emit)
				if code := s.Reserve(1, 5, union1, sku1, 1, 1000, nowNs, nil, r.emit); code != stock.OK {
					t.Fatalf("setup order: %v", code)
				}
				if c.preRelease {
					if code := s.Move(1, sku1, []stock.ReservationState{stock.StateReserved}, stock.StateReleased, r.emit); code != stock.OK {
						t.Fatalf("setup release: %v", code)
					}
				}
			}
			if c.sku != nil {
				sk := base
				c.sku(&sk)
				if code := s.SetSKU(sk, r.emit); code != stock.OK {
					t.Fatalf("setup sku: %v", code)
				}
			}
			r.take()
			before := snapshot(t, s)
			got := s.Reserve(1, 5, union1, c.id, c.quantity, c.price, c.now, nil, r.emit)
			if got != c.want {
				t.Fatalf("Reserve = %v, want %v", got, c.want)
			}
			evs := r.take()
			if got != stock.OK {
				if len(evs) != 0 || !bytes.Equal(before, snapshot(t, s)) {
					t.Fatalf("a refusal changed the state or emitted %v", evs)
				}
			} else if evs[0].Kind != stock.EventReserved || evs[0].Quantity != c.quantity {
				t.Fatalf("events %+v", evs)
			}
			checkReplay(t, s, r)
		})
	}
}

// The moves the order saga makes, from every reservation state.
func TestMoveTransitions(t *testing.T) {
	type move struct {
		name string
		from []stock.ReservationState
		to   stock.ReservationState
	}
	var (
		confirm     = move{"confirm", []stock.ReservationState{stock.StateReserved}, stock.StateSold}
		release     = move{"release", []stock.ReservationState{stock.StateReserved, stock.StateSold}, stock.StateReleased}
		handOut     = move{"hand_out", []stock.ReservationState{stock.StateSold}, stock.StateHandedOut}
		goodsBack   = move{"goods_back", []stock.ReservationState{stock.StateHandedOut}, stock.StateReturned}
		uncollected = move{"uncollected", []stock.ReservationState{stock.StateSold}, stock.StateReturned}
	)
	// Paths that lead a reservation of 2 units (of 5 received) to each state.
	paths := map[stock.ReservationState][]move{
		stock.StateReserved:  nil,
		stock.StateSold:      {confirm},
		stock.StateHandedOut: {confirm, handOut},
		stock.StateReturned:  {confirm, uncollected},
		stock.StateReleased:  {release},
	}
	unitsIn := func(st stock.ReservationState) stock.Units {
		u := stock.Units{Received: 5, Available: 3}
		switch st {
		case stock.StateReserved:
			u.Reserved = 2
		case stock.StateSold:
			u.Sold = 2
		case stock.StateHandedOut:
			u.HandedOut = 2
		case stock.StateReturned:
			u.Returned = 2
		case stock.StateReleased:
			u.Available = 5
		}
		return u
	}
	holds := func(st stock.ReservationState) int64 {
		if st == stock.StateReserved || st == stock.StateSold || st == stock.StateHandedOut {
			return 2
		}
		return 0
	}
	states := []stock.ReservationState{stock.StateReserved, stock.StateSold, stock.StateHandedOut, stock.StateReturned, stock.StateReleased}
	for _, start := range states {
		for _, m := range []move{confirm, release, handOut, goodsBack, uncollected} {
			t.Run(fmt.Sprintf("%d/%s", start, m.name), func(t *testing.T) {
				r := &recorder{}
				s := newSKU(t, r, stock.SKU{ID: sku1, PriceFen: 100, Listed: true, LimitPerMember: 3}, 5)
				if c := s.Reserve(1, 5, union1, sku1, 2, 100, nowNs, nil, r.emit); c != stock.OK {
					t.Fatal(c)
				}
				for _, p := range paths[start] {
					if c := s.Move(1, sku1, p.from, p.to, r.emit); c != stock.OK {
						t.Fatalf("path %s: %v", p.name, c)
					}
				}
				r.take()
				want := stock.WrongState
				switch {
				case start == m.to:
					want = stock.Exists
				case slices.Contains(m.from, start):
					want = stock.OK
				}
				got := s.Move(1, sku1, m.from, m.to, r.emit)
				if got != want {
					t.Fatalf("Move = %v, want %v", got, want)
				}
				end := start
				if got == stock.OK {
					end = m.to
				}
				sk, _ := s.SKU(sku1)
				if sk.Units != unitsIn(end) {
					t.Fatalf("units %+v, want %+v", sk.Units, unitsIn(end))
				}
				if _, q, st, _ := s.Reservation(1, sku1); st != end || q != 2 {
					t.Fatalf("reservation in %d of %d, want %d", st, q, end)
				}
				if got := s.MemberUnits(5, sku1); got != holds(end) {
					t.Fatalf("member units %d, want %d", got, holds(end))
				}
				checkReplay(t, s, r)
			})
		}
	}
	t.Run("unknown reservation", func(t *testing.T) {
		r := &recorder{}
		s := newSKU(t, r, stock.SKU{ID: sku1, PriceFen: 100, Listed: true}, 5)
		if got := s.Move(1, sku1, confirm.from, confirm.to, r.emit); got != stock.UnknownReservation {
			t.Fatalf("got %v", got)
		}
		if got := s.Move(1, 77, release.from, release.to, r.emit); got != stock.UnknownReservation {
			t.Fatalf("got %v", got)
		}
	})
}

func TestSetReceiveRestock(t *testing.T) {
	r := &recorder{}
	s := stock.New()
	for _, tc := range []struct {
		sku  stock.SKU
		want stock.Code
	}{
		{stock.SKU{ID: 0, PriceFen: 1}, stock.InvalidSKU},
		{stock.SKU{ID: 1, PriceFen: -1}, stock.InvalidSKU},
		{stock.SKU{ID: 1, LimitPerMember: -1}, stock.InvalidSKU},
		{stock.SKU{ID: 1, SaleFromNanos: 10, SaleToNanos: 10}, stock.InvalidSKU},
		{stock.SKU{ID: 1, SaleFromNanos: 10, SaleToNanos: 11, Units: stock.Units{Received: 99, Available: 99}}, stock.OK},
	} {
		if got := s.SetSKU(tc.sku, r.emit); got != tc.want {
			t.Fatalf("SetSKU(%+v) = %v, want %v", tc.sku, got, tc.want)
		}
	}
	if sk, _ := s.SKU(1); sk.Units != (stock.Units{}) {
		t.Fatalf("units from the caller were taken: %+v", sk.Units)
	}
	for _, tc := range []struct {
		id   stock.SKUID
		q    int64
		want stock.Code
	}{{2, 1, stock.UnknownSKU}, {1, 0, stock.InvalidQuantity}, {1, -1, stock.InvalidQuantity}, {1, 1<<40 + 1, stock.InvalidQuantity}, {1, 4, stock.OK}} {
		if got := s.Receive(tc.id, tc.q, r.emit); got != tc.want {
			t.Fatalf("Receive(%d, %d) = %v, want %v", tc.id, tc.q, got, tc.want)
		}
	}
	// Updating the catalog keeps the units.
	if got := s.SetSKU(stock.SKU{ID: 1, PriceFen: 5, Listed: true}, r.emit); got != stock.OK {
		t.Fatal(got)
	}
	if sk, _ := s.SKU(1); sk.Units.Received != 4 || sk.PriceFen != 5 {
		t.Fatalf("after update %+v", sk)
	}
	s.Reserve(1, 5, union1, 1, 3, 5, 0, nil, r.emit)
	s.Move(1, 1, []stock.ReservationState{stock.StateReserved}, stock.StateSold, r.emit)
	s.Move(1, 1, []stock.ReservationState{stock.StateSold}, stock.StateReturned, r.emit)
	for _, tc := range []struct {
		id   stock.SKUID
		q    int64
		want stock.Code
	}{{2, 1, stock.UnknownSKU}, {1, 0, stock.InvalidQuantity}, {1, 4, stock.InvalidQuantity}, {1, 2, stock.OK}, {1, 2, stock.InvalidQuantity}, {1, 1, stock.OK}} {
		if got := s.Restock(tc.id, tc.q, r.emit); got != tc.want {
			t.Fatalf("Restock(%d, %d) = %v, want %v", tc.id, tc.q, got, tc.want)
		}
	}
	if sk, _ := s.SKU(1); sk.Units != (stock.Units{Received: 4, Available: 4}) {
		t.Fatalf("after restock %+v", sk.Units)
	}
	checkReplay(t, s, r)
}

func TestSoldOutAndBackInStockEvents(t *testing.T) {
	r := &recorder{}
	s := newSKU(t, r, stock.SKU{ID: sku1, PriceFen: 100, Listed: true}, 2)
	kinds := func() []stock.EventKind {
		var k []stock.EventKind
		for _, e := range r.take() {
			k = append(k, e.Kind)
		}
		return k
	}
	step := func(name string, code stock.Code, want ...stock.EventKind) {
		t.Helper()
		if code != stock.OK {
			t.Fatalf("%s: %v", name, code)
		}
		if got := kinds(); !slices.Equal(got, want) {
			t.Fatalf("%s: events %v, want %v", name, got, want)
		}
	}
	step("reserve 1", s.Reserve(1, 5, union1, sku1, 1, 100, 0, nil, r.emit), stock.EventReserved)
	step("reserve last", s.Reserve(2, 6, union1, sku1, 1, 100, 0, nil, r.emit), stock.EventReserved, stock.EventSoldOut)
	if got := s.Reserve(3, 7, union1, sku1, 1, 100, 0, nil, r.emit); got != stock.SoldOut || len(r.take()) != 0 {
		t.Fatalf("reserve past the stock: %v", got)
	}
	step("confirm", s.Move(1, sku1, []stock.ReservationState{stock.StateReserved}, stock.StateSold, r.emit), stock.EventMoved)
	step("release", s.Move(2, sku1, []stock.ReservationState{stock.StateReserved}, stock.StateReleased, r.emit), stock.EventMoved, stock.EventBackInStock)
	step("receive more", s.Receive(sku1, 3, r.emit), stock.EventStockReceived)
	step("reserve all", s.Reserve(3, 7, union1, sku1, 4, 100, 0, nil, r.emit), stock.EventReserved, stock.EventSoldOut)
	step("return", s.Move(1, sku1, []stock.ReservationState{stock.StateSold}, stock.StateReturned, r.emit), stock.EventMoved)
	step("restock", s.Restock(sku1, 1, r.emit), stock.EventRestocked, stock.EventBackInStock)
	checkReplay(t, s, r)
}

// model is a deliberately simple reference: a list of reservations and three counters per SKU,
// with every unit count derived by summing.
type model struct {
	skus map[stock.SKUID]*modelSKU
	res  []modelRes
}

type modelSKU struct {
	limit, price        int64
	received, restocked int64
}

type modelRes struct {
	order  stock.OrderID
	sku    stock.SKUID
	member stock.MemberID
	q      int64
	st     stock.ReservationState
}

func (m *model) find(o stock.OrderID, id stock.SKUID) *modelRes {
	for i := range m.res {
		if m.res[i].order == o && m.res[i].sku == id {
			return &m.res[i]
		}
	}
	return nil
}

func (m *model) units(id stock.SKUID) stock.Units {
	sk := m.skus[id]
	u := stock.Units{Received: sk.received}
	for _, r := range m.res {
		if r.sku != id {
			continue
		}
		switch r.st {
		case stock.StateReserved:
			u.Reserved += r.q
		case stock.StateSold:
			u.Sold += r.q
		case stock.StateHandedOut:
			u.HandedOut += r.q
		case stock.StateReturned:
			u.Returned += r.q
		}
	}
	u.Returned -= sk.restocked
	u.Available = u.Received - u.Reserved - u.Sold - u.HandedOut - u.Returned
	return u
}

func (m *model) memberUnits(member stock.MemberID, id stock.SKUID) int64 {
	var n int64
	for _, r := range m.res {
		if r.member == member && r.sku == id && (r.st == stock.StateReserved || r.st == stock.StateSold || r.st == stock.StateHandedOut) {
			n += r.q
		}
	}
	return n
}

func (m *model) reserve(o stock.OrderID, member stock.MemberID, id stock.SKUID, q, price int64) stock.Code {
	if r := m.find(o, id); r != nil {
		if r.st == stock.StateReleased {
			return stock.WrongState
		}
		return stock.Exists
	}
	sk, ok := m.skus[id]
	switch {
	case !ok:
		return stock.UnknownSKU
	case q <= 0 || q > 1<<20:
		return stock.InvalidQuantity
	case price != sk.price:
		return stock.PriceChanged
	case sk.limit > 0 && m.memberUnits(member, id)+q > sk.limit:
		return stock.LimitExceeded
	case m.units(id).Available < q:
		return stock.SoldOut
	}
	m.res = append(m.res, modelRes{order: o, sku: id, member: member, q: q, st: stock.StateReserved})
	return stock.OK
}

func (m *model) move(o stock.OrderID, id stock.SKUID, from []stock.ReservationState, to stock.ReservationState) stock.Code {
	r := m.find(o, id)
	switch {
	case r == nil:
		return stock.UnknownReservation
	case r.st == to:
		return stock.Exists
	case !slices.Contains(from, r.st):
		return stock.WrongState
	}
	r.st = to
	return stock.OK
}

// TestUnitsAddUpAgainstModel drives random operations into the stock and into the model, and
// checks after each that the codes, the unit states, the members' units and the sold-out edges
// agree, that UnitsAddUp holds, and at the end that replay and the snapshot give the state back.
func TestUnitsAddUpAgainstModel(t *testing.T) {
	moves := []struct {
		from []stock.ReservationState
		to   stock.ReservationState
	}{
		{[]stock.ReservationState{stock.StateReserved}, stock.StateSold},
		{[]stock.ReservationState{stock.StateReserved, stock.StateSold}, stock.StateReleased},
		{[]stock.ReservationState{stock.StateSold}, stock.StateHandedOut},
		{[]stock.ReservationState{stock.StateHandedOut}, stock.StateReturned},
		{[]stock.ReservationState{stock.StateSold}, stock.StateReturned},
	}
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			r := &recorder{}
			s := stock.New()
			m := &model{skus: map[stock.SKUID]*modelSKU{}}
			ids := []stock.SKUID{1, 2, 3}
			for _, id := range ids {
				sk := stock.SKU{ID: id, PriceFen: int64(id) * 100, Listed: true, LimitPerMember: int64(rng.IntN(4))}
				if c := s.SetSKU(sk, r.emit); c != stock.OK {
					t.Fatal(c)
				}
				m.skus[id] = &modelSKU{limit: sk.LimitPerMember, price: sk.PriceFen}
			}
			r.take()
			for step := 0; step < 400; step++ {
				id := stock.SKUID(rng.IntN(4) + 1) // 4 is unknown
				order := stock.OrderID(rng.IntN(30) + 1)
				member := stock.MemberID(rng.IntN(4) + 1)
				var before int64 = -1
				if _, ok := m.skus[id]; ok {
					before = m.units(id).Available
				}
				var got, want stock.Code
				var op string
				switch k := rng.IntN(10); {
				case k < 1:
					q := int64(rng.IntN(4))
					op = fmt.Sprintf("receive %d of %d", q, id)
					got = s.Receive(id, q, r.emit)
					want = stock.UnknownSKU
					if sk, ok := m.skus[id]; ok {
						want = stock.InvalidQuantity
						if q > 0 {
							want, sk.received = stock.OK, sk.received+q
						}
					}
				case k < 2:
					q := int64(rng.IntN(3))
					op = fmt.Sprintf("restock %d of %d", q, id)
					got = s.Restock(id, q, r.emit)
					want = stock.UnknownSKU
					if sk, ok := m.skus[id]; ok {
						want = stock.InvalidQuantity
						if q > 0 && q <= m.units(id).Returned {
							want, sk.restocked = stock.OK, sk.restocked+q
						}
					}
				case k < 6:
					q := int64(rng.IntN(3))
					price := int64(id) * 100
					if rng.IntN(10) == 0 {
						price++
					}
					op = fmt.Sprintf("reserve order %d member %d: %d of %d at %d", order, member, q, id, price)
					got = s.Reserve(order, member, union1, id, q, price, 0, nil, r.emit)
					want = m.reserve(order, member, id, q, price)
				default:
					mv := moves[rng.IntN(len(moves))]
					op = fmt.Sprintf("move order %d of %d to %d", order, id, mv.to)
					got = s.Move(order, id, mv.from, mv.to, r.emit)
					want = m.move(order, id, mv.from, mv.to)
				}
				if got != want {
					t.Fatalf("step %d %s: got %v, want %v", step, op, got, want)
				}
				evs := r.take()
				if err := s.CheckInvariants(); err != nil {
					t.Fatalf("step %d %s: %v", step, op, err)
				}
				for _, cid := range ids {
					sk, _ := s.SKU(cid)
					if want := m.units(cid); sk.Units != want {
						t.Fatalf("step %d %s: sku %d units %+v, model %+v", step, op, cid, sk.Units, want)
					}
					if sk.Units.Committed() > sk.Units.Received {
						t.Fatalf("step %d: oversold %+v", step, sk.Units)
					}
					for mem := stock.MemberID(1); mem <= 4; mem++ {
						if a, b := s.MemberUnits(mem, cid), m.memberUnits(mem, cid); a != b {
							t.Fatalf("step %d %s: member %d sku %d units %d, model %d", step, op, mem, cid, a, b)
						}
					}
				}
				// The edge events say exactly when the available units cross zero.
				var soldOut, backIn bool
				for _, e := range evs {
					soldOut = soldOut || e.Kind == stock.EventSoldOut
					backIn = backIn || e.Kind == stock.EventBackInStock
				}
				if before >= 0 {
					after := m.units(id).Available
					if soldOut != (before > 0 && after == 0) || backIn != (before == 0 && after > 0) {
						t.Fatalf("step %d %s: available %d -> %d, sold_out %v, back_in_stock %v", step, op, before, after, soldOut, backIn)
					}
				}
			}
			checkReplay(t, s, r)
			restored := stock.New()
			if err := restored.UnmarshalSnapshot(snapshot(t, s)); err != nil {
				t.Fatal(err)
			}
			for _, cid := range ids {
				for mem := stock.MemberID(1); mem <= 4; mem++ {
					if a, b := restored.MemberUnits(mem, cid), s.MemberUnits(mem, cid); a != b {
						t.Fatalf("restored member %d sku %d: %d, live %d", mem, cid, a, b)
					}
				}
			}
		})
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	r := &recorder{}
	s := newSKU(t, r, stock.SKU{ID: sku1, MerchantID: 3, Category: "food", PriceFen: 1299, Listed: true,
		SaleFromNanos: 10, SaleToNanos: nowNs * 2, LimitPerMember: 2}, 10)
	s.SetSKU(stock.SKU{ID: 7, Category: "drink", PriceFen: 5}, r.emit)
	s.Reserve(1, 5, union1, sku1, 2, 1299, nowNs, nil, r.emit)
	s.Reserve(2, 6, union1, sku1, 1, 1299, nowNs, nil, r.emit)
	s.Reserve(3, 7, union1, sku1, 2, 1299, nowNs, nil, r.emit)
	s.Move(1, sku1, []stock.ReservationState{stock.StateReserved}, stock.StateSold, r.emit)
	s.Move(2, sku1, []stock.ReservationState{stock.StateReserved}, stock.StateReleased, r.emit)
	s.Move(3, sku1, []stock.ReservationState{stock.StateReserved}, stock.StateSold, r.emit)
	s.Move(3, sku1, []stock.ReservationState{stock.StateSold}, stock.StateHandedOut, r.emit)

	b := snapshot(t, s)
	restored := stock.New()
	if err := restored.UnmarshalSnapshot(b); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, restored); !bytes.Equal(got, b) {
		t.Fatalf("round trip:\n%s\n%s", got, b)
	}
	for _, mem := range []stock.MemberID{5, 6, 7} {
		if restored.MemberUnits(mem, sku1) != s.MemberUnits(mem, sku1) {
			t.Fatalf("member %d: %d, live %d", mem, restored.MemberUnits(mem, sku1), s.MemberUnits(mem, sku1))
		}
	}
	if !slices.Equal(restored.SKUs(), []stock.SKUID{7, sku1}) {
		t.Fatalf("skus %v", restored.SKUs())
	}
	// The limit holds on the restored state as on the live one.
	if got := restored.Reserve(4, 5, union1, sku1, 1, 1299, nowNs, nil, r.emit); got != stock.LimitExceeded {
		t.Fatalf("restored limit: %v", got)
	}
	if err := restored.UnmarshalSnapshot([]byte("{")); !errors.Is(err, stock.ErrBadEvent) {
		t.Fatalf("bad snapshot: %v", err)
	}
	checkReplay(t, s, r)
}

func eventSamples() []stock.Event {
	return []stock.Event{
		{Kind: stock.EventSKUSet, SKU: &stock.SKU{ID: 9, MerchantID: 3, Category: "食品", PriceFen: 1299, Listed: true, SaleFromNanos: 1, SaleToNanos: 2, LimitPerMember: 1}},
		{Kind: stock.EventSKUSet, SKU: &stock.SKU{ID: 1}},
		{Kind: stock.EventStockReceived, SKUID: 9, Quantity: 1 << 40},
		{Kind: stock.EventReserved, SKUID: 9, Order: 1<<64 - 1, Member: 42, Quantity: 3},
		{Kind: stock.EventMoved, SKUID: 9, Order: 5, Member: 42, From: stock.StateSold, To: stock.StateHandedOut},
		{Kind: stock.EventRestocked, SKUID: 9, Quantity: 2},
		{Kind: stock.EventSoldOut, SKUID: 9},
		{Kind: stock.EventBackInStock, SKUID: 9},
	}
}

func TestEventCodecRoundTrip(t *testing.T) {
	var all []byte
	for _, e := range eventSamples() {
		b := stock.AppendEvent(nil, &e)
		got, n, err := stock.DecodeEvent(append(b, 0xee)) // a trailing byte of the next event
		if err != nil || n != len(b) {
			t.Fatalf("%+v: n=%d of %d, %v", e, n, len(b), err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("decoded %+v, want %+v", got, e)
		}
		if !stock.IsEvent(b[0]) {
			t.Fatalf("IsEvent(%d) false", b[0])
		}
		all = append(all, b...)
		for cut := 0; cut < len(b); cut++ {
			if _, _, err := stock.DecodeEvent(b[:cut]); !errors.Is(err, stock.ErrBadEvent) {
				t.Fatalf("%+v cut at %d: %v", e, cut, err)
			}
		}
	}
	// A stream of events decodes one after another.
	for i, want := range eventSamples() {
		got, n, err := stock.DecodeEvent(all)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d: %+v, %v", i, got, err)
		}
		all = all[n:]
	}
	for _, k := range []byte{0, 96, 104, 255} {
		if stock.IsEvent(k) {
			t.Fatalf("IsEvent(%d)", k)
		}
	}
	if _, _, err := stock.DecodeEvent([]byte{byte(stock.EventSoldOut), 2}); !errors.Is(err, stock.ErrBadEvent) {
		t.Fatalf("unknown version: %v", err)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, e := range eventSamples() {
		f.Add(stock.AppendEvent(nil, &e))
	}
	f.Add([]byte{byte(stock.EventSKUSet), 1, 4, 0, 0, 0, 'n', 'u', 'l', 'l'})
	f.Add([]byte{byte(stock.EventSKUSet), 1, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, n, err := stock.DecodeEvent(b)
		if err != nil {
			if !errors.Is(err, stock.ErrBadEvent) {
				t.Fatalf("error %v does not wrap ErrBadEvent", err)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("consumed %d of %d", n, len(b))
		}
		// What decodes encodes to a form that decodes to the same event.
		again := stock.AppendEvent(nil, &e)
		e2, n2, err := stock.DecodeEvent(again)
		if err != nil || n2 != len(again) || !reflect.DeepEqual(e, e2) {
			t.Fatalf("re-encoded %x: %+v, %v; first %+v", again, e2, err, e)
		}
	})
}

func TestCodes(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range stock.Codes() {
		name := c.String()
		if name == "" || name == "invalid_code" || seen[name] {
			t.Fatalf("code %d named %q", c, name)
		}
		seen[name] = true
	}
	if got := stock.Code(200).String(); got != "invalid_code" {
		t.Fatal(got)
	}
}
