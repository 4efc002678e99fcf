package welfare

import (
	"errors"
	"reflect"
	"testing"

	"huigong/engine/stock"
)

// A patch carries an order from one form to the next exactly, through its bytes; an order that
// changed more than a patch says is journaled whole.
func TestOrderPatch(t *testing.T) {
	placed := &Order{ID: 7, MemberID: 100, UnionID: 11, PickupPointID: 3, State: OrderReserving, Awaiting: 2,
		DeadlineNanos: 1_000, Lines: []OrderLine{{SKU: 1, Quantity: 1, UnitPriceFen: 500, Shard: 1, MerchantID: 3, Category: "food"},
			{SKU: 2, Quantity: 2, UnitPriceFen: 300, Shard: 2, MerchantID: 4, Category: "oil"}},
		Holds: []Hold{{TransferID: 9, AccountID: 8, ProgramID: 5, MerchantID: 3, AmountFen: 1_100}}}
	next := func(edit func(o *Order)) *Order {
		o := *placed
		o.Lines = append([]OrderLine(nil), placed.Lines...)
		o.Holds = append([]Hold(nil), placed.Holds...)
		edit(&o)
		return &o
	}
	for name, tc := range map[string]struct {
		o     *Order
		patch bool
	}{
		"one answer":    {next(func(o *Order) { o.Awaiting = 1; o.Lines[0].Code = stock.OK }), true},
		"placed":        {next(func(o *Order) { o.State, o.Awaiting, o.DeadlineNanos, o.PlacedNanos = OrderPlaced, 0, 0, 2_000 }), true},
		"refused":       {next(func(o *Order) { o.State, o.Code, o.Lines[1].Code = OrderRefused, CheckoutTimeout, stock.SoldOut }), true},
		"paid":          {next(func(o *Order) { o.PaymentRef, o.Holds[0].RefundID = 77, 12 }), false},
		"line changed":  {next(func(o *Order) { o.Lines[1].Quantity = 3 }), false},
		"moved point":   {next(func(o *Order) { o.PickupPointID = 4 }), false},
		"nothing moved": {next(func(o *Order) {}), true},
	} {
		p, ok := makeOrderPatch(placed, tc.o)
		if ok != tc.patch {
			t.Fatalf("%s: patch %v, want %v", name, ok, tc.patch)
		}
		if !ok {
			continue
		}
		b := appendOrderPatch(nil, &p)
		e, n, err := DecodeEvent(b)
		if err != nil || n != len(b) || e.Kind != EventOrderPatched {
			t.Fatalf("%s: decode %v %d of %d: %v", name, e.Kind, n, len(b), err)
		}
		if again := AppendEvent(nil, &e); string(again) != string(b) {
			t.Fatalf("%s: re-encodes to other bytes", name)
		}
		s := &State{orders: newOrderTable()}
		s.orders.store(nil, placed)
		got, err := s.patchedOrder(e.patch)
		if err != nil || !reflect.DeepEqual(got, tc.o) {
			t.Fatalf("%s: patched to\n%+v, %v\nwant\n%+v", name, got, err, tc.o)
		}
		if len(b) > 40 {
			t.Errorf("%s: a patch of %d bytes", name, len(b))
		}
		// Cut anywhere, it does not decode; against no order, it does not apply.
		for cut := 2; cut < len(b); cut++ {
			if _, _, err := DecodeEvent(b[:cut]); !errors.Is(err, ErrBadEvent) {
				t.Fatalf("%s: cut at %d: %v", name, cut, err)
			}
		}
		if _, err := (&State{orders: newOrderTable()}).patchedOrder(e.patch); !errors.Is(err, ErrBadEvent) {
			t.Fatalf("%s: patch of a missing order: %v", name, err)
		}
	}
}
