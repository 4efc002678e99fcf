package mall

import (
	"cmp"
	"slices"
	"sync"

	"huigong/engine/welfare"
)

// readModels are the engine's projections for the edge, each built on first use.
type readModels struct {
	catalog catalogCache
	orders  memberOrders
}

// OrderRef names an order and the union whose shard keeps it.
type OrderRef struct {
	ID      welfare.OrderID
	UnionID welfare.UnionID
}

// memberOrders indexes each member's orders, so that "my orders" reads a member's few orders
// instead of scanning every order of a shard. It is a projection: built on first use from the
// orders in the engine's state, then kept up with the order stream. The engine's state stays the
// truth of each order: the index only says which orders to read.
type memberOrders struct {
	mu       sync.Mutex
	started  bool
	offset   uint64
	byMember map[welfare.MemberID][]OrderRef // oldest first
	seen     map[welfare.OrderID]struct{}
}

// MemberOrders returns a member's orders, newest first. An order appears once its checkout has
// an outcome (placed, awaiting payment or refused by a SKU's shard); orders made before the
// index was built are ordered by when they were placed, orders seen on the stream since by when
// they were seen.
func (e *Engine) MemberOrders(member welfare.MemberID) ([]OrderRef, error) {
	x := &e.reads.orders
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.started {
		if err := e.buildMemberOrders(x); err != nil {
			return nil, err
		}
	}
	for {
		events, next := e.stream.Read(x.offset, 4096)
		if len(events) == 0 {
			break
		}
		for _, ev := range events {
			x.add(ev.Order.MemberID, OrderRef{ID: ev.Order.ID, UnionID: ev.Order.UnionID})
		}
		x.offset = next
	}
	list := x.byMember[member]
	out := make([]OrderRef, len(list))
	for i, r := range list {
		out[len(list)-1-i] = r
	}
	return out, nil
}

func (x *memberOrders) add(m welfare.MemberID, r OrderRef) {
	if _, ok := x.seen[r.ID]; ok {
		return
	}
	x.seen[r.ID] = struct{}{}
	x.byMember[m] = append(x.byMember[m], r)
}

// buildMemberOrders indexes the orders already in the engine. The stream's offset is taken
// first, so an order decided during the scan is found by one or the other, and seen once.
func (e *Engine) buildMemberOrders(x *memberOrders) error {
	x.offset = e.stream.Len()
	x.byMember = map[welfare.MemberID][]OrderRef{}
	x.seen = map[welfare.OrderID]struct{}{}
	type found struct {
		member      welfare.MemberID
		ref         OrderRef
		placedNanos int64
	}
	var all []found
	for s := 0; s < e.shardsCount; s++ {
		err := e.Read(uint32(s), func(st *welfare.State) {
			for _, o := range st.Orders() {
				all = append(all, found{member: o.MemberID, ref: OrderRef{ID: o.ID, UnionID: o.UnionID}, placedNanos: o.PlacedNanos})
			}
		})
		if err != nil {
			return err
		}
	}
	slices.SortStableFunc(all, func(a, b found) int {
		if c := cmp.Compare(a.placedNanos, b.placedNanos); c != 0 {
			return c
		}
		return cmp.Compare(a.ref.ID, b.ref.ID)
	})
	for _, f := range all {
		x.add(f.member, f.ref)
	}
	x.started = true
	return nil
}

// Order returns the latest state of an order that fulfilment follows (placed orders and their
// later states), as the order stream gave it: a copy the caller may keep.
func (f *Fulfilment) Order(id welfare.OrderID) (welfare.Order, bool) {
	f.CatchUp()
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.orders[id]
	if !ok || t.order == nil {
		return welfare.Order{}, false
	}
	o := *t.order
	o.Lines, o.Holds = slices.Clone(o.Lines), slices.Clone(o.Holds)
	return o, true
}
