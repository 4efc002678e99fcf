package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/klauspost/compress/s2"
)

// ErrCorrupt is wrapped by errors about records or snapshots that do not decode or do not fit.
var ErrCorrupt = errors.New("runtime: corrupt record")

var le = binary.LittleEndian

// outMessage is a message in a sender's outbox.
type outMessage struct {
	to      uint32
	seq     uint64
	payload []byte
}

// envelope is the runtime's part of a shard's state: the outbox of messages sent and not yet
// acknowledged, the sequence numbers, and what the shard has applied from each sender.
type envelope struct {
	sentSeq    []uint64       // by receiver: the sequence number of the last message sent
	outbox     [][]outMessage // by receiver: sent and not yet acknowledged, in order
	appliedSeq []uint64       // by sender: the sequence number of the last message applied
}

func newEnvelope(shardsCount int) envelope {
	return envelope{
		sentSeq:    make([]uint64, shardsCount),
		outbox:     make([][]outMessage, shardsCount),
		appliedSeq: make([]uint64, shardsCount),
	}
}

// seqMark is a (shard, sequence) pair: a receiver's applied mark or a sender's trim mark.
type seqMark struct {
	shard uint32
	seq   uint64
}

// batchDelta is what one batch changed in the envelope; it is journaled with the machine's
// events, and replay applies it with applyDelta.
type batchDelta struct {
	sent    []outMessage // with sequence numbers assigned
	applied []seqMark    // senders whose applied mark moved, with the new mark
	acked   []seqMark    // receivers whose acknowledgement trimmed the outbox, with the mark
}

func (d *batchDelta) reset() {
	d.sent, d.applied, d.acked = d.sent[:0], d.applied[:0], d.acked[:0]
}

func (d *batchDelta) empty() bool {
	return len(d.sent) == 0 && len(d.applied) == 0 && len(d.acked) == 0
}

// applyDelta applies a batch's envelope changes. The live loop and replay both use it.
func (e *envelope) applyDelta(d *batchDelta) error {
	for _, a := range d.acked {
		if int(a.shard) >= len(e.outbox) {
			return fmt.Errorf("%w: ack from shard %d", ErrCorrupt, a.shard)
		}
		e.trim(a.shard, a.seq)
	}
	for _, a := range d.applied {
		if int(a.shard) >= len(e.appliedSeq) {
			return fmt.Errorf("%w: message from shard %d", ErrCorrupt, a.shard)
		}
		e.appliedSeq[a.shard] = a.seq
	}
	for _, m := range d.sent {
		if int(m.to) >= len(e.outbox) {
			return fmt.Errorf("%w: message to shard %d", ErrCorrupt, m.to)
		}
		if m.seq != e.sentSeq[m.to]+1 {
			return fmt.Errorf("%w: message to shard %d has sequence %d after %d", ErrCorrupt, m.to, m.seq, e.sentSeq[m.to])
		}
		e.sentSeq[m.to] = m.seq
		e.outbox[m.to] = append(e.outbox[m.to], m)
	}
	return nil
}

func (e *envelope) trim(to uint32, seq uint64) {
	box := e.outbox[to]
	n := 0
	for n < len(box) && box[n].seq <= seq {
		n++
	}
	if n > 0 {
		e.outbox[to] = append(box[:0:0], box[n:]...)
	}
}

// The record payload: a version byte, the machine's events, then the envelope delta. Version
// 2 (packed) is version 1's body after the version byte, compressed with S2.
const (
	recordFormatVersion = 1
	recordFormatPacked  = 2
)

// packBytesMin is the smallest payload worth compressing; packedBodyBytesMax the largest body
// packed, and so the largest a reader unpacks: a damaged length cannot make it allocate more.
const (
	packBytesMin       = 512
	packedBodyBytesMax = 64 << 20
)

// packRecordPayload returns payload packed into dst when S2 saves at least a fifth of it, or
// payload as it is, and dst as grown for the next call. dst must not share memory with payload.
// A flash sale's records are most of all 8-byte ids, amounts and times with their high bytes
// zero, the same SKU and merchant again and again: they pack to well under half, and the disk,
// not the CPU, bounds a sale's decisions per second.
func packRecordPayload(dst, payload []byte) (out, buf []byte) {
	if len(payload) < packBytesMin || len(payload) > packedBodyBytesMax || payload[0] != recordFormatVersion {
		return payload, dst
	}
	dst = slices.Grow(dst[:0], 1+s2.MaxEncodedLen(len(payload)-1))
	dst = append(dst, recordFormatPacked)
	packed := s2.Encode(dst[1:cap(dst)], payload[1:])
	if 1+len(packed) > len(payload)-len(payload)/5 {
		return payload, dst
	}
	return dst[:1+len(packed)], dst
}

func appendRecordPayload(dst []byte, events []byte, d *batchDelta) []byte {
	dst = append(dst, recordFormatVersion)
	dst = le.AppendUint32(dst, uint32(len(events)))
	dst = append(dst, events...)
	dst = le.AppendUint32(dst, uint32(len(d.sent)))
	for _, m := range d.sent {
		dst = le.AppendUint32(dst, m.to)
		dst = le.AppendUint64(dst, m.seq)
		dst = le.AppendUint32(dst, uint32(len(m.payload)))
		dst = append(dst, m.payload...)
	}
	for _, marks := range [2][]seqMark{d.applied, d.acked} {
		dst = le.AppendUint32(dst, uint32(len(marks)))
		for _, m := range marks {
			dst = le.AppendUint32(dst, m.shard)
			dst = le.AppendUint64(dst, m.seq)
		}
	}
	return dst
}

// decodeRecordPayload splits a record payload into the machine's events and the envelope delta.
// The events and message payloads alias src (or, for a packed record, its unpacked body).
func decodeRecordPayload(src []byte, d *batchDelta) (events []byte, err error) {
	d.reset()
	r := reader{b: src}
	switch v := r.u8(); v {
	case recordFormatVersion:
	case recordFormatPacked:
		// The events and payloads alias the unpacked body instead.
		if n, err := s2.DecodedLen(r.b); err != nil || n > packedBodyBytesMax {
			return nil, fmt.Errorf("%w: packed record of %d bytes unpacked (at most %d): %v", ErrCorrupt, n, packedBodyBytesMax, err)
		}
		body, err := s2.Decode(nil, r.b)
		if err != nil {
			return nil, fmt.Errorf("%w: packed record: %v", ErrCorrupt, err)
		}
		r.b = body
	default:
		return nil, fmt.Errorf("%w: record format version %d", ErrCorrupt, v)
	}
	events = r.bytes(int(r.u32()))
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		m := outMessage{to: r.u32(), seq: r.u64()}
		m.payload = r.bytes(int(r.u32()))
		d.sent = append(d.sent, m)
	}
	for k := 0; k < 2; k++ {
		n := r.u32()
		for i := uint32(0); i < n && r.err == nil; i++ {
			m := seqMark{shard: r.u32(), seq: r.u64()}
			if k == 0 {
				d.applied = append(d.applied, m)
			} else {
				d.acked = append(d.acked, m)
			}
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d bytes left over in a record", ErrCorrupt, len(r.b))
	}
	return events, r.err
}

// appendEnvelope appends the envelope's state, for a snapshot.
func (e *envelope) appendTo(dst []byte) []byte {
	dst = le.AppendUint32(dst, uint32(len(e.sentSeq)))
	for i := range e.sentSeq {
		dst = le.AppendUint64(dst, e.sentSeq[i])
		dst = le.AppendUint64(dst, e.appliedSeq[i])
		dst = le.AppendUint32(dst, uint32(len(e.outbox[i])))
		for _, m := range e.outbox[i] {
			dst = le.AppendUint64(dst, m.seq)
			dst = le.AppendUint32(dst, uint32(len(m.payload)))
			dst = append(dst, m.payload...)
		}
	}
	return dst
}

func (e *envelope) readFrom(r *reader, shardsCount int) {
	if n := int(r.u32()); n != shardsCount && r.err == nil {
		r.err = fmt.Errorf("%w: snapshot of %d shards, runtime has %d", ErrCorrupt, n, shardsCount)
		return
	}
	*e = newEnvelope(shardsCount)
	for i := 0; i < shardsCount && r.err == nil; i++ {
		e.sentSeq[i] = r.u64()
		e.appliedSeq[i] = r.u64()
		n := r.u32()
		for j := uint32(0); j < n && r.err == nil; j++ {
			m := outMessage{to: uint32(i), seq: r.u64()}
			m.payload = append([]byte(nil), r.bytes(int(r.u32()))...)
			e.outbox[i] = append(e.outbox[i], m)
		}
	}
}

// reader decodes little-endian fields and remembers the first error, so decoders read straight
// through and check once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || len(r.b) < n {
		r.err = fmt.Errorf("%w: truncated: need %d bytes, have %d", ErrCorrupt, n, len(r.b))
		return false
	}
	return true
}

func (r *reader) u8() byte {
	if !r.need(1) {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	v := le.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) u64() uint64 {
	if !r.need(8) {
		return 0
	}
	v := le.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if !r.need(n) {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}
