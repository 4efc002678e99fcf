package festival

import (
	"slices"
	"strings"
	"testing"
)

// cleanRun is a small run where everything is right: a flash-sale SKU 1 (limit 1, stock 2)
// sold out to members 1 and 2 while member 3 was refused sold out, and member 3 bought two
// units of an ordinary SKU 2.
func cleanRun() CheckInput {
	o11 := Order{ID: 11, State: "placed", Lines: []Line{{SKU: 1, Quantity: 1}}, PointsFen: 50_00}
	o12 := Order{ID: 12, State: "placed", Lines: []Line{{SKU: 1, Quantity: 1}}, PointsFen: 50_00}
	o13 := Order{ID: 13, State: "placed", Lines: []Line{{SKU: 2, Quantity: 2}}, PointsFen: 30_00}
	return CheckInput{
		Limits: map[uint64]int64{1: 1, 2: 0},
		SKUs:   []uint64{1},
		UnitsBefore: map[uint64]Units{
			1: {Received: 2, Available: 2},
			2: {Received: 100, Available: 100},
		},
		UnitsAfter: map[uint64]Units{
			1: {Received: 2, Sold: 2},
			2: {Received: 100, Available: 98, Sold: 2},
		},
		Acked:   []Acked{{Member: 1, Order: o11}, {Member: 2, Order: o12}, {Member: 3, Order: o13}},
		SoldOut: map[uint64]int64{1: 1},
		Before: map[uint64]MemberView{
			1: {AvailableFen: 600_00}, 2: {AvailableFen: 600_00}, 3: {AvailableFen: 600_00},
		},
		After: map[uint64]MemberView{
			1: {AvailableFen: 550_00, Orders: []Order{o11}},
			2: {AvailableFen: 550_00, Orders: []Order{o12}},
			3: {AvailableFen: 570_00, Orders: []Order{{ID: 14, State: "refused", Lines: []Line{{SKU: 1, Quantity: 1}}, PointsFen: 50_00}, o13}},
		},
	}
}

func TestCheckCleanRunPasses(t *testing.T) {
	r := Check(cleanRun())
	if !r.Passed || len(r.Problems) > 0 {
		t.Fatalf("a clean run failed: %+v", r)
	}
	if r.OrdersChecked != 4 || r.MembersChecked != 3 || len(r.SKUs) != 2 {
		t.Errorf("checked %d orders, %d members, %d SKUs", r.OrdersChecked, r.MembersChecked, len(r.SKUs))
	}
	s1 := r.SKUs[0]
	if s1.SKU != 1 || !s1.Exact || s1.PlacedUnits != 2 || s1.CommittedInRun != 2 || s1.Stock != 2 {
		t.Errorf("SKU 1: %+v", s1)
	}
	if s2 := r.SKUs[1]; s2.Exact || s2.PlacedUnits != 2 || s2.CommittedInRun != 2 {
		t.Errorf("SKU 2: %+v", s2)
	}
}

func TestCheckDetectsOversell(t *testing.T) {
	// Beyond the stock: three sold of two received.
	in := cleanRun()
	in.UnitsAfter[1] = Units{Received: 2, Sold: 3}
	r := Check(in)
	if r.Passed || r.Oversold != 1 {
		t.Errorf("3 sold of 2: oversold %d, passed %v", r.Oversold, r.Passed)
	}
	// Beyond the placed orders: three committed for two placed, within the stock.
	in = cleanRun()
	in.UnitsAfter[2] = Units{Received: 100, Available: 97, Sold: 3}
	r = Check(in)
	if r.Passed || r.Oversold != 1 || !hasProblem(r, "SKU 2: oversold") {
		t.Errorf("3 committed for 2 placed: oversold %d, problems %q", r.Oversold, r.Problems)
	}
	// Sold before the run count too: committed beyond received with earlier sales.
	in = cleanRun()
	in.UnitsBefore[2] = Units{Received: 100, Available: 1, Sold: 99}
	in.UnitsAfter[2] = Units{Received: 100, Sold: 101}
	if r = Check(in); r.Passed || r.Oversold != 1 {
		t.Errorf("101 sold of 100: oversold %d", r.Oversold)
	}
}

func TestCheckDetectsLoss(t *testing.T) {
	// Acknowledged, then missing from the member's orders.
	in := cleanRun()
	in.After[2] = MemberView{AvailableFen: 550_00}
	r := Check(in)
	if r.Passed || r.Lost != 1 || !hasProblem(r, "order 12 of member 2 was acknowledged but is not in the member's orders") {
		t.Errorf("missing order: lost %d, problems %q", r.Lost, r.Problems)
	}
	// Acknowledged, and listed as refused.
	in = cleanRun()
	in.After[1] = MemberView{AvailableFen: 600_00, Orders: []Order{{ID: 11, State: "refused", Lines: []Line{{SKU: 1, Quantity: 1}}, PointsFen: 50_00}}}
	in.UnitsAfter[1] = Units{Received: 2, Available: 1, Sold: 1}
	r = Check(in)
	if r.Passed || r.Lost != 1 || !hasProblem(r, "is refused") {
		t.Errorf("refused after its 201: lost %d, problems %q", r.Lost, r.Problems)
	}
	// Its units were acknowledged but never committed.
	if r.Uncommitted != 1 {
		t.Errorf("uncommitted %d, want 1", r.Uncommitted)
	}
	// Acknowledged with other lines than the list says.
	in = cleanRun()
	in.After[3].Orders[1] = Order{ID: 13, State: "placed", Lines: []Line{{SKU: 2, Quantity: 1}}, PointsFen: 30_00}
	if r = Check(in); r.Passed || r.Lost != 1 {
		t.Errorf("changed after its 201: lost %d", r.Lost)
	}
}

func TestCheckDetectsUndersell(t *testing.T) {
	// Member 2's order never happened, a member was told sold out, and a unit is left over.
	in := cleanRun()
	in.Acked = slices.DeleteFunc(in.Acked, func(a Acked) bool { return a.Order.ID == 12 })
	in.After[2] = MemberView{AvailableFen: 600_00}
	in.UnitsAfter[1] = Units{Received: 2, Available: 1, Sold: 1}
	r := Check(in)
	if r.Passed || r.Undersold != 1 || !hasProblem(r, "undersold") {
		t.Errorf("a unit left after a sold-out refusal: undersold %d, problems %q", r.Undersold, r.Problems)
	}
	// Without a sold-out refusal and with demand below the stock, a unit left is fine.
	in.SoldOut = map[uint64]int64{}
	if r = Check(in); !r.Passed || r.Undersold != 0 {
		t.Errorf("demand below the stock: %+v", r)
	}
	// Units still reserved after the run are reported.
	in.UnitsAfter[1] = Units{Received: 2, Reserved: 1, Sold: 1}
	if r = Check(in); r.Passed || r.UnitsProblems != 1 {
		t.Errorf("a unit still reserved: units problems %d", r.UnitsProblems)
	}
}

func TestCheckDetectsOverLimit(t *testing.T) {
	// Member 1 already had a unit of SKU 1 from before the run, and got another.
	in := cleanRun()
	earlier := Order{ID: 9, State: "handed_out", Lines: []Line{{SKU: 1, Quantity: 1}}, PointsFen: 50_00}
	in.Before[1] = MemberView{AvailableFen: 600_00, Orders: []Order{earlier}}
	in.After[1] = MemberView{AvailableFen: 550_00, Orders: []Order{earlier, in.After[1].Orders[0]}}
	r := Check(in)
	if r.Passed || r.OverLimit != 1 || !hasProblem(r, "member 1 holds 2 of SKU 1, limit 1") {
		t.Errorf("two of a limit-1 SKU: over limit %d, problems %q", r.OverLimit, r.Problems)
	}
	// A refused or cancelled order does not count.
	in.Before[1].Orders[0].State = "cancelled"
	in.After[1].Orders[0].State = "cancelled"
	if r = Check(in); !r.Passed {
		t.Errorf("a cancelled earlier order counted: %q", r.Problems)
	}
}

func TestCheckDetectsPointsNotConserved(t *testing.T) {
	in := cleanRun()
	in.After[3] = MemberView{AvailableFen: 560_00, Orders: in.After[3].Orders}
	r := Check(in)
	if r.Passed || r.PointsMismatch != 1 || r.PointsMismatchFen != 10_00 || !hasProblem(r, "member 3: points available fell by 40.00 but its new orders hold 30.00") {
		t.Errorf("10 yuan too many spent: %+v", r)
	}
}

// An order placed although its answer never came (timed out twice) is no failure: it is
// counted as unacknowledged, and its units and points are accounted for.
func TestCheckUnacknowledgedOrder(t *testing.T) {
	in := cleanRun()
	in.Acked = slices.DeleteFunc(in.Acked, func(a Acked) bool { return a.Order.ID == 13 })
	r := Check(in)
	if !r.Passed || r.Unacknowledged != 1 {
		t.Errorf("an unacknowledged order: unacknowledged %d, problems %q", r.Unacknowledged, r.Problems)
	}
}

func TestCheckMemberNotRead(t *testing.T) {
	in := cleanRun()
	delete(in.After, 2)
	r := Check(in)
	if r.Passed || r.Unverified != 1 || r.Lost != 0 {
		t.Errorf("member 2 not read after the run: unverified %d, lost %d, passed %v", r.Unverified, r.Lost, r.Passed)
	}
}

func hasProblem(r CheckReport, text string) bool {
	for _, p := range r.Problems {
		if strings.Contains(p, text) {
			return true
		}
	}
	return false
}
