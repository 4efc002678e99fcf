package welfare

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"huigong/engine/ledger"
	"huigong/engine/stock"
)

// orderCompactVersion is the format of EventOrderSet written now: the order's compact form.
// Version 1, the fixed form appendOrder writes (and snapshots keep), still decodes.
const orderCompactVersion = 2

// appendOrderEvent appends an EventOrderSet of o, header included.
func appendOrderEvent(dst []byte, o *Order) []byte {
	return appendOrderCompact(append(dst, byte(EventOrderSet), orderCompactVersion), o)
}

// appendOrderCompact is an order's compact binary form: a sale journals one per order, and its
// fixed form was most of a sale's journal. Numbers are varints, signed ones zigzagged; ids are
// rotated two bits left first, so that both a caller's small ids and the engine's own (in the
// ledger's reserved range, from 1<<62) are short.
func appendOrderCompact(dst []byte, o *Order) []byte {
	for _, id := range [...]uint64{uint64(o.ID), uint64(o.MemberID), uint64(o.UnionID), uint64(o.PickupPointID), o.PaymentRef} {
		dst = appendID(dst, id)
	}
	for _, v := range [...]int64{o.CashFen, o.DeadlineNanos, o.PlacedNanos, o.ReadyNanos, o.HandedNanos, o.ReturnedNanos} {
		dst = binary.AppendVarint(dst, v)
	}
	dst = append(dst, byte(o.State), byte(o.Code), byte(o.Awaiting))
	dst = binary.AppendUvarint(dst, uint64(len(o.Lines)))
	for i := range o.Lines {
		l := &o.Lines[i]
		dst = appendID(dst, uint64(l.SKU))
		dst = binary.AppendVarint(dst, l.Quantity)
		dst = binary.AppendVarint(dst, l.UnitPriceFen)
		dst = binary.AppendUvarint(dst, uint64(l.Shard))
		dst = appendID(dst, uint64(l.MerchantID))
		dst = append(dst, byte(l.Code), byte(len(l.Category)))
		dst = append(dst, l.Category...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(o.Holds)))
	for i := range o.Holds {
		h := &o.Holds[i]
		for _, id := range [...]uint64{uint64(h.TransferID), uint64(h.AccountID), uint64(h.ProgramID), uint64(h.MerchantID), uint64(h.RefundID)} {
			dst = appendID(dst, id)
		}
		dst = binary.AppendVarint(dst, h.AmountFen)
	}
	return dst
}

func appendID(dst []byte, id uint64) []byte {
	return binary.AppendUvarint(dst, bits.RotateLeft64(id, 2))
}

// decodeOrderCompact decodes appendOrderCompact's form at the start of b.
func decodeOrderCompact(b []byte) (*Order, int, error) {
	r := compactReader{b: b}
	o := &Order{}
	o.ID, o.MemberID, o.UnionID, o.PickupPointID, o.PaymentRef = OrderID(r.id()), MemberID(r.id()), UnionID(r.id()), PickupPointID(r.id()), r.id()
	o.CashFen, o.DeadlineNanos, o.PlacedNanos = r.varint(), r.varint(), r.varint()
	o.ReadyNanos, o.HandedNanos, o.ReturnedNanos = r.varint(), r.varint(), r.varint()
	o.State, o.Code, o.Awaiting = OrderState(r.byte()), Code(r.byte()), int(r.byte())
	// Each line and hold takes some bytes: a count beyond what is left is damage, not a cue to
	// allocate.
	if n := r.count(); n > 0 {
		o.Lines = make([]OrderLine, n)
		for i := range o.Lines {
			l := &o.Lines[i]
			l.SKU, l.Quantity, l.UnitPriceFen = stock.SKUID(r.id()), r.varint(), r.varint()
			l.Shard, l.MerchantID, l.Code = uint32(r.uvarint()), MerchantID(r.id()), stock.Code(r.byte())
			l.Category = string(r.take(int(r.byte())))
		}
	}
	if n := r.count(); n > 0 {
		o.Holds = make([]Hold, n)
		for i := range o.Holds {
			h := &o.Holds[i]
			h.TransferID, h.AccountID, h.ProgramID = ledger.TransferID(r.id()), ledger.AccountID(r.id()), ProgramID(r.id())
			h.MerchantID, h.RefundID, h.AmountFen = MerchantID(r.id()), ledger.TransferID(r.id()), r.varint()
		}
	}
	if r.bad {
		return nil, 0, fmt.Errorf("%w: short or damaged order", ErrBadEvent)
	}
	return o, len(b) - len(r.b), nil
}

// compactReader reads varints until the first damage, after which it reads zeros.
type compactReader struct {
	b   []byte
	bad bool
}

func (r *compactReader) uvarint() uint64 { return readCompact(r, binary.Uvarint) }
func (r *compactReader) varint() int64   { return readCompact(r, binary.Varint) }

func readCompact[T uint64 | int64](r *compactReader, read func([]byte) (T, int)) T {
	if r.bad {
		return 0
	}
	v, n := read(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *compactReader) id() uint64 { return bits.RotateLeft64(r.uvarint(), -2) }

func (r *compactReader) byte() byte {
	if len(r.b) < 1 || r.bad {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *compactReader) take(n int) []byte {
	if len(r.b) < n || r.bad {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// count reads a count of lines or holds, each of which takes at least two bytes.
func (r *compactReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)/2) {
		r.bad = true
		return 0
	}
	return int(n)
}
