package welfare

import (
	"cmp"
	"slices"

	"huigong/engine/ledger"
)

// orderTable is a shard's orders: a map from an order's id to its row, and per row the
// order's current form and deadline. The deadline heap names rows, so whether an entry is
// still its order's deadline is read from a dense array, not from the map and the order: a
// sale's placed orders leave one stale entry each.
type orderTable struct {
	rows      map[OrderID]uint32
	forms     []*Order
	deadlines []int64
	heap      ledger.Deadlines[orderRow]
}

// orderRow is a row of the order table.
type orderRow uint64

func newOrderTable() orderTable { return orderTable{rows: map[OrderID]uint32{}} }

// get returns an order's current form.
func (t *orderTable) get(id OrderID) (*Order, bool) {
	r, ok := t.rows[id]
	if !ok {
		return nil, false
	}
	return t.forms[r], true
}

// nextHint is the hint to the row the next new order takes.
func (t *orderTable) nextHint() uint32 { return uint32(len(t.forms)) + 1 }

// getHinted is get of the order at the row hint names (row + 1), if it is there: a SKU shard's
// answer carries the hint the reservation was sent with, and the answer is then found without
// a lookup in the map.
func (t *orderTable) getHinted(id OrderID, hint uint32) (*Order, bool) {
	if hint > 0 && int(hint) <= len(t.forms) && t.forms[hint-1].ID == id {
		return t.forms[hint-1], true
	}
	return t.get(id)
}

// store makes o its order's current form; prev is the form it replaces, nil for a new order.
func (t *orderTable) store(prev, o *Order) {
	var r uint32
	if prev == nil {
		r = uint32(len(t.forms))
		t.rows[o.ID] = r
		t.forms = append(t.forms, o)
		t.deadlines = append(t.deadlines, 0)
	} else {
		// A form carries its order's row, found without the map.
		if r = o.row; int(r) >= len(t.forms) || t.forms[r].ID != o.ID {
			r = t.rows[o.ID]
		}
		t.forms[r] = o
	}
	o.row = r
	if o.DeadlineNanos != 0 && o.DeadlineNanos != t.deadlines[r] {
		t.heap.Push(o.DeadlineNanos, orderRow(r))
	}
	t.deadlines[r] = o.DeadlineNanos
}

// nextDeadline is the earliest deadline of an order, dropping the entries that are no longer
// their order's deadline.
func (t *orderTable) nextDeadline() (int64, bool) {
	for t.heap.Len() > 0 {
		if e, _ := t.heap.Peek(); t.deadlines[e.ID] == e.At {
			return e.At, true
		}
		t.heap.Pop()
	}
	return 0, false
}

// popDue returns an order whose deadline is at or before nowNanos, once per deadline: the
// deadline is no longer the row's until the order is stored again.
func (t *orderTable) popDue(nowNanos int64) (*Order, bool) {
	for e, ok := t.heap.Peek(); ok && e.At <= nowNanos; e, ok = t.heap.Peek() {
		if t.heap.Pop(); t.deadlines[e.ID] == e.At {
			t.deadlines[e.ID] = 0
			return t.forms[e.ID], true
		}
	}
	return nil, false
}

// sorted returns the orders' current forms in id order.
func (t *orderTable) sorted() []*Order {
	out := slices.Clone(t.forms)
	slices.SortFunc(out, func(a, b *Order) int { return cmp.Compare(a.ID, b.ID) })
	return out
}
