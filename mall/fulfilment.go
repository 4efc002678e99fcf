package mall

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"huigong/engine/shard"
	"huigong/engine/welfare"
)

// Fulfilment consolidates placed orders into one delivery per merchant and Workers e-Home,
// and moves the orders through shipping, arrival and hand-out. It is a projection of the order
// stream plus the commands the merchant and the keeper give.
type Fulfilment struct {
	engine *Engine
	codes  *PickupCodes

	mu         sync.Mutex
	offset     uint64
	deliveries map[uint64]*Delivery
	open       map[deliveryKey]uint64 // the delivery still taking orders, per merchant and point
	orders     map[welfare.OrderID]*orderTrack
	nextID     uint64
}

type deliveryKey struct {
	merchant welfare.MerchantID
	point    welfare.PickupPointID
	// rebuilt is set for deliveries rebuilt after a restart in a state past open.
	rebuilt DeliveryState
}

// DeliveryState is where a consolidated delivery is.
type DeliveryState string

const (
	DeliveryOpen    DeliveryState = "open"
	DeliveryShipped DeliveryState = "shipped"
	DeliveryArrived DeliveryState = "arrived"
)

// Delivery is one merchant's goods for one pickup point.
type Delivery struct {
	ID            uint64
	MerchantID    welfare.MerchantID
	PickupPointID welfare.PickupPointID
	State         DeliveryState
	Orders        []welfare.OrderID
}

type orderTrack struct {
	union      welfare.UnionID
	state      welfare.OrderState
	deliveries []uint64
	order      *welfare.Order
}

// Errors of fulfilment commands.
var (
	ErrUnknownDelivery = errors.New("unknown delivery")
	ErrDeliveryState   = errors.New("delivery is not in a state for that")
	ErrUnknownOrder    = errors.New("unknown order")
	ErrBadPickupCode   = errors.New("wrong pickup code")
	ErrOrderState      = errors.New("order is not ready for that")
)

// NewFulfilment returns fulfilment over engine's stream.
func NewFulfilment(e *Engine, codes *PickupCodes) *Fulfilment {
	return &Fulfilment{engine: e, codes: codes, deliveries: map[uint64]*Delivery{}, open: map[deliveryKey]uint64{},
		orders: map[welfare.OrderID]*orderTrack{}, nextID: 1}
}

// Run follows the stream until ctx ends.
func (f *Fulfilment) Run(ctx context.Context) {
	for {
		f.mu.Lock()
		from := f.offset
		f.mu.Unlock()
		wait := f.engine.stream.Wait(from)
		select {
		case <-ctx.Done():
			return
		case <-wait:
		}
		f.CatchUp()
	}
}

// CatchUp applies every stream event not yet seen.
func (f *Fulfilment) CatchUp() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		events, next := f.engine.stream.Read(f.offset, 1024)
		if len(events) == 0 {
			return
		}
		for _, ev := range events {
			f.apply(ev.Order)
		}
		f.offset = next
	}
}

func (f *Fulfilment) apply(o *welfare.Order) {
	t, ok := f.orders[o.ID]
	if !ok {
		// An order first seen shipped or later comes from the stream rebuilt after a restart:
		// it goes into a delivery in that state, one per merchant, pickup point and state.
		var state DeliveryState
		switch o.State {
		case welfare.OrderPlaced:
			state = DeliveryOpen
		case welfare.OrderShipped:
			state = DeliveryShipped
		case welfare.OrderReady, welfare.OrderHandedOut, welfare.OrderReturned, welfare.OrderUncollected:
			state = DeliveryArrived
		default:
			return // Only confirmed orders are fulfilled.
		}
		t = &orderTrack{union: o.UnionID}
		f.orders[o.ID] = t
		for _, m := range orderMerchants(o) {
			k := deliveryKey{merchant: m, point: o.PickupPointID, rebuilt: state}
			if state == DeliveryOpen {
				k.rebuilt = ""
			}
			id, ok := f.open[k]
			if !ok {
				id = f.nextID
				f.nextID++
				f.deliveries[id] = &Delivery{ID: id, MerchantID: m, PickupPointID: o.PickupPointID, State: state}
				f.open[k] = id
			}
			d := f.deliveries[id]
			d.Orders = append(d.Orders, o.ID)
			t.deliveries = append(t.deliveries, id)
		}
	}
	t.state, t.order = o.State, o
	if o.State == welfare.OrderCancelled {
		for _, id := range t.deliveries {
			d := f.deliveries[id]
			if d.State == DeliveryOpen {
				d.Orders = slices.DeleteFunc(d.Orders, func(x welfare.OrderID) bool { return x == o.ID })
			}
		}
	}
}

func orderMerchants(o *welfare.Order) []welfare.MerchantID {
	var ms []welfare.MerchantID
	for _, l := range o.Lines {
		if !slices.Contains(ms, l.MerchantID) {
			ms = append(ms, l.MerchantID)
		}
	}
	return ms
}

// Deliveries lists a merchant's (or, with merchant zero, a pickup point's) deliveries.
func (f *Fulfilment) Deliveries(merchant welfare.MerchantID, point welfare.PickupPointID) []Delivery {
	f.CatchUp()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Delivery
	for id := uint64(1); id < f.nextID; id++ {
		d := f.deliveries[id]
		if (merchant == 0 || d.MerchantID == merchant) && (point == 0 || d.PickupPointID == point) && len(d.Orders) > 0 {
			c := *d
			c.Orders = slices.Clone(d.Orders)
			out = append(out, c)
		}
	}
	return out
}

// Delivery returns one delivery.
func (f *Fulfilment) Delivery(id uint64) (Delivery, bool) {
	f.CatchUp()
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.deliveries[id]
	if !ok {
		return Delivery{}, false
	}
	c := *d
	c.Orders = slices.Clone(d.Orders)
	return c, true
}

// Ship marks a merchant's delivery shipped; each order whose every delivery has shipped is
// marked shipped in the engine.
func (f *Fulfilment) Ship(merchant welfare.MerchantID, id uint64) error {
	return f.advance(id, func(d *Delivery) error {
		if d.MerchantID != merchant {
			return ErrUnknownDelivery
		}
		if d.State != DeliveryOpen {
			return ErrDeliveryState
		}
		d.State = DeliveryShipped
		delete(f.open, deliveryKey{merchant: d.MerchantID, point: d.PickupPointID})
		return nil
	}, DeliveryShipped, welfare.ShipOrder)
}

// Arrive marks a delivery arrived at its pickup point; its orders become ready for pickup once
// all their deliveries have arrived.
func (f *Fulfilment) Arrive(point welfare.PickupPointID, id uint64) error {
	return f.advance(id, func(d *Delivery) error {
		if d.PickupPointID != point {
			return ErrUnknownDelivery
		}
		if d.State != DeliveryShipped {
			return ErrDeliveryState
		}
		d.State = DeliveryArrived
		return nil
	}, DeliveryArrived, welfare.ArriveOrder)
}

func (f *Fulfilment) advance(id uint64, change func(d *Delivery) error, reached DeliveryState, kind welfare.CommandKind) error {
	f.CatchUp()
	f.mu.Lock()
	d, ok := f.deliveries[id]
	if !ok {
		f.mu.Unlock()
		return ErrUnknownDelivery
	}
	if err := change(d); err != nil {
		f.mu.Unlock()
		return err
	}
	type target struct {
		id    welfare.OrderID
		union welfare.UnionID
	}
	var ready []target
	for _, oid := range d.Orders {
		t := f.orders[oid]
		all := true
		for _, did := range t.deliveries {
			if s := f.deliveries[did].State; s != reached && !(reached == DeliveryShipped && s == DeliveryArrived) {
				all = false
			}
		}
		if all {
			ready = append(ready, target{oid, t.union})
		}
	}
	f.mu.Unlock()
	for _, t := range ready {
		r, err := f.engine.Submit(f.engine.UnionShard(t.union), shard.Command{Kind: kind, OrderID: t.id})
		if err != nil {
			return err
		}
		if r.Code != welfare.OK && r.Code != welfare.Exists && r.Code != welfare.WrongOrderState {
			return fmt.Errorf("order %d: %v", t.id, r.Code)
		}
	}
	return nil
}

// HandOut gives an order to its member at the pickup point, when the code is right.
func (f *Fulfilment) HandOut(point welfare.PickupPointID, orderID welfare.OrderID, code string) error {
	f.CatchUp()
	f.mu.Lock()
	t, ok := f.orders[orderID]
	f.mu.Unlock()
	if !ok || t.order.PickupPointID != point {
		return ErrUnknownOrder
	}
	if !f.codes.Check(uint64(orderID), code) {
		return ErrBadPickupCode
	}
	r, err := f.engine.Submit(f.engine.UnionShard(t.union), shard.Command{Kind: welfare.HandOutOrder, OrderID: orderID})
	if err != nil {
		return err
	}
	switch r.Code {
	case welfare.OK, welfare.Exists:
		return nil
	case welfare.WrongOrderState:
		return fmt.Errorf("%w: order is %v", ErrOrderState, r.Order)
	}
	return fmt.Errorf("order %d: %v", orderID, r.Code)
}
