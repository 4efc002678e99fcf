package welfare

import (
	"encoding/binary"
	"fmt"
	"slices"

	"huigong/engine/stock"
)

// orderPatch is what EventOrderPatched records: the order it patches, its new state, code and
// awaited answers, the times and payment reference that changed (mask bits 0 to 5), and the
// lines' codes if they changed (mask bit 6).
type orderPatch struct {
	ID       OrderID
	State    OrderState
	Code     Code
	Awaiting uint8
	mask     uint8
	values   [patchFields]uint64
	codes    []stock.Code
}

const (
	patchFields    = 6 // DeadlineNanos, PlacedNanos, ReadyNanos, HandedNanos, ReturnedNanos, PaymentRef
	patchLinesBit  = 1 << patchFields
	patchMaskValid = patchLinesBit<<1 - 1
)

func orderPatchFields(o *Order) [patchFields]uint64 {
	return [patchFields]uint64{uint64(o.DeadlineNanos), uint64(o.PlacedNanos), uint64(o.ReadyNanos),
		uint64(o.HandedNanos), uint64(o.ReturnedNanos), o.PaymentRef}
}

// makeOrderPatch returns the patch that turns prev into o, and false when o changed more than
// a patch says (or there is no prev).
func makeOrderPatch(prev, o *Order) (p orderPatch, ok bool) {
	if prev == nil || prev.ID != o.ID || prev.MemberID != o.MemberID || prev.UnionID != o.UnionID ||
		prev.PickupPointID != o.PickupPointID || prev.CashFen != o.CashFen || o.Awaiting < 0 || o.Awaiting > 255 ||
		len(prev.Lines) != len(o.Lines) || !slices.Equal(prev.Holds, o.Holds) {
		return p, false
	}
	p = orderPatch{ID: o.ID, State: o.State, Code: o.Code, Awaiting: uint8(o.Awaiting)}
	for i := range o.Lines {
		a, b := prev.Lines[i], o.Lines[i]
		if a.Code != b.Code {
			p.mask |= patchLinesBit
		}
		a.Code, a.stockHint = b.Code, b.stockHint // the hint is not journaled
		if a != b {
			return p, false
		}
	}
	if p.mask&patchLinesBit != 0 {
		p.codes = make([]stock.Code, 0, len(o.Lines))
		for i := range o.Lines {
			p.codes = append(p.codes, o.Lines[i].Code)
		}
	}
	was, now := orderPatchFields(prev), orderPatchFields(o)
	for i := range now {
		if now[i] != was[i] {
			p.mask |= 1 << i
			p.values[i] = now[i]
		}
	}
	return p, true
}

// appendOrderPatch appends the whole event, header included.
func appendOrderPatch(dst []byte, p *orderPatch) []byte {
	return appendOrderPatchBody(append(dst, byte(EventOrderPatched), eventFormatVersion), p)
}

func appendOrderPatchBody(dst []byte, p *orderPatch) []byte {
	le := binary.LittleEndian
	dst = le.AppendUint64(dst, uint64(p.ID))
	dst = append(dst, byte(p.State), byte(p.Code), p.Awaiting, p.mask)
	for i := range p.values {
		if p.mask&(1<<i) != 0 {
			dst = le.AppendUint64(dst, p.values[i])
		}
	}
	if p.mask&patchLinesBit != 0 {
		dst = le.AppendUint16(dst, uint16(len(p.codes)))
		for _, c := range p.codes {
			dst = append(dst, byte(c))
		}
	}
	return dst
}

func decodeOrderPatch(b []byte) (*orderPatch, int, error) {
	r := orderReader{b: b, ok: true}
	p := &orderPatch{ID: OrderID(r.u64())}
	p.State, p.Code, p.Awaiting, p.mask = OrderState(r.u8()), Code(r.u8()), r.u8(), r.u8()
	if r.ok && p.mask&^patchMaskValid != 0 {
		return nil, 0, fmt.Errorf("%w: order patch mask %#x", ErrBadEvent, p.mask)
	}
	for i := range p.values {
		if p.mask&(1<<i) != 0 {
			p.values[i] = r.u64()
		}
	}
	if p.mask&patchLinesBit != 0 {
		n := int(r.u16())
		codes := r.bytes(n)
		if r.ok {
			p.codes = make([]stock.Code, n)
			for i, c := range codes {
				p.codes[i] = stock.Code(c)
			}
		}
	}
	if !r.ok {
		return nil, 0, fmt.Errorf("%w: short order patch", ErrBadEvent)
	}
	return p, len(b) - len(r.b), nil
}

// patchedOrder is the order a patch makes of the order it patches, for replay.
func (s *State) patchedOrder(p *orderPatch) (*Order, error) {
	prev, ok := s.orders.get(p.ID)
	if !ok {
		return nil, fmt.Errorf("%w: patch of order %d, which is not on this shard", ErrBadEvent, p.ID)
	}
	if p.codes != nil && len(p.codes) != len(prev.Lines) {
		return nil, fmt.Errorf("%w: patch of %d line codes for order %d of %d lines", ErrBadEvent, len(p.codes), p.ID, len(prev.Lines))
	}
	o := *prev
	o.State, o.Code, o.Awaiting = p.State, p.Code, int(p.Awaiting)
	if p.codes != nil {
		o.Lines = slices.Clone(prev.Lines)
		for i, c := range p.codes {
			o.Lines[i].Code = c
		}
	}
	v := orderPatchFields(prev)
	for i := range v {
		if p.mask&(1<<i) != 0 {
			v[i] = p.values[i]
		}
	}
	o.DeadlineNanos, o.PlacedNanos, o.ReadyNanos = int64(v[0]), int64(v[1]), int64(v[2])
	o.HandedNanos, o.ReturnedNanos, o.PaymentRef = int64(v[3]), int64(v[4]), v[5]
	return &o, nil
}
