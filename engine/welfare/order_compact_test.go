package welfare

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"huigong/engine/ledger"
	"huigong/engine/stock"
)

// An order event in the compact form decodes to the order it was made of, is much shorter than
// the fixed form, and the fixed form journals written before it hold still decodes; cut
// anywhere, neither decodes.
func TestOrderEventCompact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	id := func() uint64 {
		switch rng.IntN(4) {
		case 0:
			return 0
		case 1:
			return rng.Uint64N(1000)
		case 2:
			return ledger.ReservedIDMin + rng.Uint64N(1<<41)
		}
		return rng.Uint64()
	}
	num := func() int64 { return rng.Int64N(1<<40) - rng.Int64N(3) }
	for i := 0; i < 2_000; i++ {
		o := &Order{ID: OrderID(id()), MemberID: MemberID(id()), UnionID: UnionID(id()), PickupPointID: PickupPointID(id()),
			CashFen: num(), State: OrderState(rng.IntN(int(orderStateLast) + 1)), Code: Code(rng.IntN(50)), Awaiting: rng.IntN(256),
			DeadlineNanos: num(), PlacedNanos: num(), ReadyNanos: num(), HandedNanos: num(), ReturnedNanos: num(), PaymentRef: id()}
		for range rng.IntN(4) {
			o.Lines = append(o.Lines, OrderLine{SKU: stock.SKUID(id()), Quantity: num(), UnitPriceFen: num(), Shard: uint32(rng.IntN(4096)),
				MerchantID: MerchantID(id()), Category: []string{"", "food", "家电"}[rng.IntN(3)], Code: stock.Code(rng.IntN(12))})
		}
		for range rng.IntN(3) {
			o.Holds = append(o.Holds, Hold{TransferID: ledger.TransferID(id()), AccountID: ledger.AccountID(id()), ProgramID: ProgramID(id()),
				MerchantID: MerchantID(id()), AmountFen: num(), RefundID: ledger.TransferID(id())})
		}
		compact := AppendEvent(nil, &Event{Kind: EventOrderSet, order: o})
		fixed := appendOrder(append([]byte(nil), byte(EventOrderSet), eventFormatVersion), o)
		for name, b := range map[string][]byte{"compact": compact, "fixed": fixed} {
			e, n, err := DecodeEvent(b)
			if err != nil || n != len(b) || e.Kind != EventOrderSet || !reflect.DeepEqual(e.order, o) {
				t.Fatalf("%s form of %+v: decoded %d of %d bytes to %+v: %v", name, o, n, len(b), e.order, err)
			}
			for cut := 2; cut < len(b); cut += 1 + rng.IntN(7) {
				if _, _, err := DecodeEvent(b[:cut]); !errors.Is(err, ErrBadEvent) {
					t.Fatalf("%s form cut at %d of %d: %v", name, cut, len(b), err)
				}
			}
		}
	}
	// A sale's order: one line paid from one program, with the engine's own ids.
	sale := &Order{ID: 1<<32 | 4711, MemberID: 1_004_711, UnionID: 12, State: OrderReserving, DeadlineNanos: 1_780_000_000_000_000_000,
		Lines: []OrderLine{{SKU: 9042, Quantity: 1, UnitPriceFen: 10_00, Shard: 10, MerchantID: 3, Category: "food"}},
		Holds: []Hold{{TransferID: welfareIDBase + 123_456, AccountID: welfareIDBase + 4_711, ProgramID: 12, MerchantID: 3, AmountFen: 10_00}}}
	compact := AppendEvent(nil, &Event{Kind: EventOrderSet, order: sale})
	fixed := appendOrder(append([]byte(nil), byte(EventOrderSet), eventFormatVersion), sale)
	t.Logf("sale order: %d bytes compact, %d fixed", len(compact), len(fixed))
	if len(compact) > 70 || len(compact)*2 > len(fixed) {
		t.Fatalf("a sale's order takes %d bytes compact, %d fixed", len(compact), len(fixed))
	}
}
