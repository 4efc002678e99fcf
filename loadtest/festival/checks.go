package festival

import (
	"fmt"
	"maps"
	"slices"
)

// Units are a SKU's units by state, as the merchant partner API tells them; they add up to
// what was received.
type Units struct {
	Received  int64 `json:"received"`
	Available int64 `json:"available"`
	Reserved  int64 `json:"reserved"`
	Sold      int64 `json:"sold"`
	HandedOut int64 `json:"handed_out"`
	Returned  int64 `json:"returned"`
}

// Committed is sold plus handed out (CONTRACTS.md, "Words").
func (u Units) Committed() int64 { return u.Sold + u.HandedOut }

func (u Units) addsUp() bool {
	return u.Received == u.Available+u.Reserved+u.Sold+u.HandedOut+u.Returned
}

// Line is one SKU of an order.
type Line struct {
	SKU      uint64 `json:"sku_id"`
	Quantity int64  `json:"quantity"`
}

// Order is an order as the member sees it: from a 201 answer or from its order list.
type Order struct {
	ID        uint64 `json:"order_id"`
	State     string `json:"state"`
	Lines     []Line `json:"lines"`
	PointsFen int64  `json:"points_fen"` // the order's points holds, added up
}

// committedState reports whether an order in this state is a placed order whose units are
// committed (sold or handed out).
func committedState(s string) bool {
	switch s {
	case "placed", "shipped", "ready_for_pickup", "handed_out":
		return true
	}
	return false
}

// holdingState reports whether an order in this state holds (or has spent) the member's
// points: an open checkout or a placed order; not one refused, cancelled or returned.
func holdingState(s string) bool {
	return committedState(s) || s == "reserving" || s == "awaiting_payment"
}

// Acked is an order the API acknowledged with 201.
type Acked struct {
	Member uint64
	Order  Order
}

// MemberView is a member as read through the API: points available over all its programs, and
// its orders.
type MemberView struct {
	AvailableFen int64
	Orders       []Order
}

// CheckInput is what the run observed, before and after.
type CheckInput struct {
	// Limits is each SKU's per-member limit (0: none); SKUs lists the SKUs to check beyond
	// those ordered (the flash-sale SKUs of the rush).
	Limits map[uint64]int64
	SKUs   []uint64
	// UnitsBefore and UnitsAfter are the partner API's units per SKU.
	UnitsBefore, UnitsAfter map[uint64]Units
	// Acked are the 201 answers; SoldOut the units of orders refused sold_out, per SKU.
	Acked   []Acked
	SoldOut map[uint64]int64
	// Before and After are the participating members, by id.
	Before, After map[uint64]MemberView
}

// SKUCheck is the check of one SKU.
type SKUCheck struct {
	SKU uint64 `json:"sku_id"`
	// Stock is what this run could sell: available (and reserved) before it.
	Stock     int64 `json:"stock"`
	Received  int64 `json:"received"`
	Committed int64 `json:"committed"` // after the run
	// CommittedInRun is the committed units added during the run; PlacedUnits the units of
	// the run's placed orders (acknowledged, or found in the members' lists).
	CommittedInRun int64 `json:"committed_in_run"`
	PlacedUnits    int64 `json:"placed_units"`
	SoldOutUnits   int64 `json:"sold_out_units"`
	// Exact says demand reached the stock, so every unit must be committed.
	Exact     bool   `json:"demand_at_least_stock"`
	Oversold  int64  `json:"oversold"`
	Undersold int64  `json:"undersold"`
	Problem   string `json:"problem,omitempty"`
}

// CheckReport is the outcome of the checks after the run.
type CheckReport struct {
	Passed bool `json:"passed"`
	// Oversold is units committed beyond the stock or beyond the placed orders; Undersold
	// units left unsold although demand reached the stock; Uncommitted units of placed orders
	// that are not committed.
	Oversold    int64 `json:"oversold"`
	Undersold   int64 `json:"undersold"`
	Uncommitted int64 `json:"uncommitted"`
	// Lost is acknowledged orders missing from the member's order list (or not placed there).
	Lost int64 `json:"lost"`
	// Unacknowledged is placed orders of the run that were never acknowledged (a request
	// whose answer did not come, even after its retry).
	Unacknowledged int64 `json:"unacknowledged"`
	// OverLimit is member and SKU pairs over the SKU's per-member limit.
	OverLimit int64 `json:"over_limit"`
	// PointsMismatch is members whose points available fell by other than the holds of their
	// placed orders; PointsMismatchFen the total difference.
	PointsMismatch    int64 `json:"points_mismatch"`
	PointsMismatchFen int64 `json:"points_mismatch_fen"`
	// Unverified is acknowledged orders of members that could not be read after the run.
	Unverified int64 `json:"unverified,omitempty"`
	// UnitsProblems is SKUs whose units do not add up or stay reserved after the run.
	UnitsProblems int64 `json:"units_problems"`

	MembersChecked int        `json:"members_checked"`
	OrdersChecked  int        `json:"orders_checked"`
	SKUs           []SKUCheck `json:"skus"`
	Problems       []string   `json:"problems,omitempty"`
}

const problemsMax = 50

func (r *CheckReport) problem(format string, args ...any) {
	if len(r.Problems) < problemsMax {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// runOrder is an order of the run, from its acknowledgement, the member's list, or both.
type runOrder struct {
	member uint64
	order  Order // the list's view when found there, else the acknowledgement's
	acked  bool
	found  bool
}

// Check runs the checks after the run:
//
//  1. per SKU, the committed units added during the run equal the units of the run's placed
//     orders, are at most the stock, and equal it when demand reached the stock;
//  2. no member holds more of a SKU than its per-member limit;
//  3. points are conserved: each member's points available fell by exactly the holds of its
//     new placed orders;
//  4. every acknowledged order is in its member's order list, placed.
func Check(in CheckInput) CheckReport {
	var r CheckReport
	r.MembersChecked = len(in.After)

	// The run's orders: those acknowledged and those new in the members' lists.
	orders := map[uint64]*runOrder{}
	for member, after := range in.After {
		before := map[uint64]bool{}
		for _, o := range in.Before[member].Orders {
			before[o.ID] = true
		}
		for _, o := range after.Orders {
			if !before[o.ID] {
				orders[o.ID] = &runOrder{member: member, order: o, found: true}
			}
		}
	}
	for _, a := range in.Acked {
		if _, read := in.After[a.Member]; !read {
			// Not read after the run: its units count, its existence is unverified.
			orders[a.Order.ID] = &runOrder{member: a.Member, order: a.Order, acked: true}
			r.Unverified++
			continue
		}
		ro, ok := orders[a.Order.ID]
		switch {
		case !ok:
			orders[a.Order.ID] = &runOrder{member: a.Member, order: a.Order, acked: true}
			r.Lost++
			r.problem("order %d of member %d was acknowledged but is not in the member's orders", a.Order.ID, a.Member)
		case ro.member != a.Member:
			r.Lost++
			r.problem("order %d was acknowledged to member %d but is listed for member %d", a.Order.ID, a.Member, ro.member)
		default:
			ro.acked = true
			if !committedState(ro.order.State) {
				r.Lost++
				r.problem("order %d of member %d was acknowledged but is %s", a.Order.ID, a.Member, ro.order.State)
			} else if ro.order.PointsFen != a.Order.PointsFen || !slices.Equal(ro.order.Lines, a.Order.Lines) {
				r.Lost++
				r.problem("order %d of member %d differs from its acknowledgement: %+v, acknowledged %+v", a.Order.ID, a.Member, ro.order, a.Order)
			}
		}
	}
	r.OrdersChecked = len(orders)

	// 1. Units per SKU.
	placed := map[uint64]int64{}
	check := map[uint64]bool{}
	for _, id := range in.SKUs {
		check[id] = true
	}
	for id := range in.SoldOut {
		check[id] = true
	}
	for _, ro := range orders {
		if !ro.acked && committedState(ro.order.State) {
			r.Unacknowledged++
		}
		for _, l := range ro.order.Lines {
			check[l.SKU] = true
			if ro.acked || committedState(ro.order.State) {
				placed[l.SKU] += l.Quantity
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(check)) {
		b, okB := in.UnitsBefore[id]
		a, okA := in.UnitsAfter[id]
		c := SKUCheck{SKU: id, Stock: b.Available + b.Reserved, Received: a.Received, Committed: a.Committed(),
			CommittedInRun: a.Committed() - b.Committed(), PlacedUnits: placed[id], SoldOutUnits: in.SoldOut[id]}
		if !okB || !okA {
			c.Problem = "units not read through the partner API"
			r.UnitsProblems++
			r.problem("SKU %d: %s", id, c.Problem)
			r.SKUs = append(r.SKUs, c)
			continue
		}
		c.Exact = c.SoldOutUnits > 0 || c.PlacedUnits+c.SoldOutUnits >= c.Stock
		over := max(a.Committed()-a.Received, c.CommittedInRun-c.PlacedUnits, c.CommittedInRun-c.Stock, 0)
		c.Oversold = over
		if c.Exact && c.CommittedInRun < c.Stock {
			c.Undersold = c.Stock - c.CommittedInRun
		}
		uncommitted := max(c.PlacedUnits-c.CommittedInRun, 0)
		switch {
		case over > 0:
			c.Problem = fmt.Sprintf("oversold: %d committed in the run for %d placed units and a stock of %d", c.CommittedInRun, c.PlacedUnits, c.Stock)
		case uncommitted > 0:
			c.Problem = fmt.Sprintf("%d units of placed orders are not committed (%d committed in the run for %d placed)", uncommitted, c.CommittedInRun, c.PlacedUnits)
		case c.Undersold > 0:
			c.Problem = fmt.Sprintf("undersold: demand reached the stock of %d (%d sold out refusals) but %d were committed", c.Stock, c.SoldOutUnits, c.CommittedInRun)
		case !a.addsUp():
			c.Problem = fmt.Sprintf("units do not add up: %+v", a)
			r.UnitsProblems++
		case a.Reserved != 0:
			c.Problem = fmt.Sprintf("%d units still reserved after the run", a.Reserved)
			r.UnitsProblems++
		}
		if c.Problem != "" {
			r.problem("SKU %d: %s", id, c.Problem)
		}
		r.Oversold += c.Oversold
		r.Undersold += c.Undersold
		r.Uncommitted += uncommitted
		r.SKUs = append(r.SKUs, c)
	}

	// 2. Per-member limits, over every order the member holds (earlier runs' too).
	for _, member := range slices.Sorted(maps.Keys(in.After)) {
		held := map[uint64]int64{}
		for _, o := range in.After[member].Orders {
			if !holdingState(o.State) {
				continue
			}
			for _, l := range o.Lines {
				held[l.SKU] += l.Quantity
			}
		}
		for _, sku := range slices.Sorted(maps.Keys(held)) {
			if lim := in.Limits[sku]; lim > 0 && held[sku] > lim {
				r.OverLimit++
				r.problem("member %d holds %d of SKU %d, limit %d", member, held[sku], sku, lim)
			}
		}
	}

	// 3. Points: available before less available after is the holds of the new orders. An
	// acknowledged order missing from the list is counted as holding its points, as it was
	// acknowledged: it is reported as lost, and as a mismatch too only if its points are not
	// held either.
	holds := map[uint64]int64{}
	for _, ro := range orders {
		if (ro.found && holdingState(ro.order.State)) || (ro.acked && !ro.found) {
			holds[ro.member] += ro.order.PointsFen
		}
	}
	for _, member := range slices.Sorted(maps.Keys(in.After)) {
		before, ok := in.Before[member]
		if !ok {
			continue
		}
		if spent := before.AvailableFen - in.After[member].AvailableFen; spent != holds[member] {
			r.PointsMismatch++
			r.PointsMismatchFen += abs(spent - holds[member])
			r.problem("member %d: points available fell by %s but its new orders hold %s", member, yuanString(spent), yuanString(holds[member]))
		}
	}

	r.Passed = r.Unverified == 0 && r.Oversold == 0 && r.Undersold == 0 && r.Uncommitted == 0 && r.Lost == 0 && r.OverLimit == 0 &&
		r.PointsMismatch == 0 && r.UnitsProblems == 0
	return r
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
