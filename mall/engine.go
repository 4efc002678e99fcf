package mall

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// Runtime is the shard runtime the mall drives.
type Runtime = runtime.Runtime[shard.Command, shard.Result]

// Engine routes the mall's commands to shards, waits for order outcomes, keeps the sold-out
// board of the edge, and feeds the order stream. Its OnNotes must be given to the runtime's
// options before the runtime opens, since the runtime calls it once each batch is durable.
type Engine struct {
	rt          *Runtime
	shardsCount int
	stream      *Stream

	mu      sync.Mutex
	waiters map[welfare.OrderID][]chan welfare.OrderNote
	soldOut map[stock.SKUID]bool
	refunds []welfare.OrderNote

	reads readModels // the catalog and the member order index (catalog.go, member_orders.go)
}

// NewEngine returns an engine for shardsCount shards; Attach gives it the runtime once open.
func NewEngine(shardsCount int, stream *Stream) *Engine {
	return &Engine{
		shardsCount: shardsCount, stream: stream,
		waiters: map[welfare.OrderID][]chan welfare.OrderNote{}, soldOut: map[stock.SKUID]bool{},
	}
}

// Attach sets the runtime and rebuilds the order stream from the engine's state: the stream
// lives in memory, and after a restart every order must be there again for fulfilment,
// statements and merchants. An order whose note arrives while this runs may appear twice with
// the same state; consumers apply states idempotently.
func (e *Engine) Attach(rt *Runtime) {
	e.rt = rt
	var orders []*welfare.Order
	for s := 0; s < e.shardsCount; s++ {
		_ = e.Read(uint32(s), func(st *welfare.State) {
			for _, o := range st.Orders() {
				if o.State != welfare.OrderReserving && o.State != welfare.OrderRefused {
					orders = append(orders, o)
				}
			}
		})
	}
	slices.SortFunc(orders, func(a, b *welfare.Order) int {
		if a.PlacedNanos != b.PlacedNanos {
			return cmp.Compare(a.PlacedNanos, b.PlacedNanos)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	e.mu.Lock()
	for _, o := range orders {
		e.stream.publish(o)
	}
	e.mu.Unlock()
}

// Runtime returns the runtime.
func (e *Engine) Runtime() *Runtime { return e.rt }

// ShardsCount is the number of shards.
func (e *Engine) ShardsCount() int { return e.shardsCount }

// Stream is the order stream.
func (e *Engine) Stream() *Stream { return e.stream }

// mix spreads ids over shards (splitmix64's finalizer), so consecutive union or SKU ids land on
// different shards.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// UnionShard is the shard that holds a union, its budget, members, programs and orders.
func (e *Engine) UnionShard(u welfare.UnionID) uint32 {
	return uint32(mix(uint64(u)) % uint64(e.shardsCount))
}

// SKUShard is the home shard of a SKU's stock.
func (e *Engine) SKUShard(id stock.SKUID) uint32 {
	return uint32(mix(uint64(id)^0x5bd1e995) % uint64(e.shardsCount))
}

// DirectoryShard holds the federation's directory (pickup points, merchants, federation
// officers) and is where the federation's configuration is set and broadcast from.
const DirectoryShard uint32 = 0

// OnNotes receives the runtime's notifications: order outcomes wake checkouts and feed the
// stream; sold-out changes update the board.
func (e *Engine) OnNotes(_ uint32, notes []any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for note := range shard.OrderNotes(notes) {
		n := *note
		switch n.Kind {
		case welfare.NoteSoldOut:
			e.soldOut[n.SKU] = true
		case welfare.NoteBackInStock:
			delete(e.soldOut, n.SKU)
		case welfare.NoteRefundPayment:
			e.refunds = append(e.refunds, n)
		case welfare.NoteOrder:
			if n.Order != nil {
				e.stream.publish(n.Order)
			}
			if n.State == welfare.OrderReserving {
				continue
			}
			for _, ch := range e.waiters[n.OrderID] {
				select {
				case ch <- n:
				default:
				}
			}
			delete(e.waiters, n.OrderID)
		}
	}
}

// SoldOut reports whether the edge may answer "sold out" for a SKU without asking the engine.
func (e *Engine) SoldOut(id stock.SKUID) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.soldOut[id]
}

// PaymentRefunds returns the payments the platform must refund (late or cancelled).
func (e *Engine) PaymentRefunds() []welfare.OrderNote {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]welfare.OrderNote(nil), e.refunds...)
}

// Submit sends one command to a shard and returns its result once durable.
func (e *Engine) Submit(s uint32, c shard.Command) (shard.Result, error) {
	if e.rt == nil {
		return shard.Result{}, errors.New("mall: engine not attached")
	}
	r, err := e.rt.Submit(s, c)
	e.reads.catalog.noteCommand(c.Kind)
	return r, err
}

// Outcome is how a checkout ended.
type Outcome struct {
	State welfare.OrderState
	Code  welfare.Code
	Order *welfare.Order
}

// ErrOutcomeUnknown means the wait for an order's outcome ended first; the order goes on and
// its state can be read later.
var ErrOutcomeUnknown = errors.New("mall: order outcome not known yet")

// Checkout places an order and waits until it is placed, awaiting payment or refused.
func (e *Engine) Checkout(ctx context.Context, member welfare.MemberID, union welfare.UnionID, req *welfare.OrderRequest) (Outcome, error) {
	for i := range req.Lines {
		l := &req.Lines[i]
		l.Shard = e.SKUShard(l.SKU)
		if e.SoldOut(l.SKU) {
			return Outcome{State: welfare.OrderRefused, Code: welfare.SoldOut}, nil
		}
	}
	ch := make(chan welfare.OrderNote, 1)
	e.mu.Lock()
	e.waiters[req.ID] = append(e.waiters[req.ID], ch)
	e.mu.Unlock()
	r, err := e.Submit(e.UnionShard(union), shard.Command{Kind: welfare.PlaceOrder, MemberID: member, Order: req})
	if err != nil || (r.Code != welfare.OK && r.Code != welfare.Exists) || (r.Code == welfare.Exists && r.Order != welfare.OrderReserving) {
		e.dropWaiter(req.ID, ch)
		if err != nil {
			return Outcome{}, err
		}
		if r.Code == welfare.Exists {
			o, _ := e.Order(union, req.ID)
			return Outcome{State: r.Order, Code: r.OrderCode, Order: o}, nil
		}
		return Outcome{State: welfare.OrderRefused, Code: r.Code}, nil
	}
	select {
	case n := <-ch:
		return Outcome{State: n.State, Code: n.Code, Order: n.Order}, nil
	case <-ctx.Done():
		e.dropWaiter(req.ID, ch)
		return Outcome{State: welfare.OrderReserving}, fmt.Errorf("%w: %v", ErrOutcomeUnknown, ctx.Err())
	}
}

func (e *Engine) dropWaiter(id welfare.OrderID, ch chan welfare.OrderNote) {
	e.mu.Lock()
	defer e.mu.Unlock()
	list := e.waiters[id]
	for i, c := range list {
		if c == ch {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(e.waiters, id)
	} else {
		e.waiters[id] = list
	}
}

// Read runs fn on a shard's state between batches.
func (e *Engine) Read(s uint32, fn func(st *welfare.State)) error {
	return e.rt.Inspect(s, func(m runtime.Machine[shard.Command, shard.Result]) { fn(m.(*shard.Machine).State()) })
}

// Order returns an order of a union's member.
func (e *Engine) Order(union welfare.UnionID, id welfare.OrderID) (*welfare.Order, bool) {
	var o *welfare.Order
	var ok bool
	_ = e.Read(e.UnionShard(union), func(st *welfare.State) { o, ok = st.Order(id) })
	return o, ok
}

// SKU returns a SKU's catalog fields and units from its home shard.
func (e *Engine) SKU(id stock.SKUID) (stock.SKU, bool) {
	var sk stock.SKU
	var ok bool
	_ = e.Read(e.SKUShard(id), func(st *welfare.State) {
		var p *stock.SKU
		if p, ok = st.Stock().SKU(id); ok {
			sk = *p
		}
	})
	return sk, ok
}
