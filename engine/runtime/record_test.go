package runtime

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// RecordEvents returns exactly the events appendRecordPayload wrapped, whatever the envelope
// delta beside them, and refuses a payload that does not decode.
func TestRecordEventsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events []byte
		delta  batchDelta
	}{
		{name: "empty"},
		{name: "events only", events: []byte{1, 2, 3, 4, 5}},
		{name: "delta only", delta: batchDelta{
			sent:    []outMessage{{to: 3, seq: 1, payload: []byte("hello")}},
			applied: []seqMark{{shard: 1, seq: 9}},
		}},
		{name: "both", events: bytes.Repeat([]byte{0xab}, 1000), delta: batchDelta{
			sent:    []outMessage{{to: 0, seq: 4, payload: nil}, {to: 2, seq: 7, payload: []byte{9}}},
			applied: []seqMark{{shard: 0, seq: 2}},
			acked:   []seqMark{{shard: 2, seq: 6}, {shard: 5, seq: 1}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := appendRecordPayload([]byte("prefix"), tc.events, &tc.delta)[len("prefix"):]
			events, err := RecordEvents(payload)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(events, tc.events) {
				t.Fatalf("events %x, want %x", events, tc.events)
			}
			for cut := 0; cut < len(payload); cut++ {
				if _, err := RecordEvents(payload[:cut]); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("payload cut at %d of %d: %v, want ErrCorrupt", cut, len(payload), err)
				}
			}
			if _, err := RecordEvents(append(append([]byte(nil), payload...), 0)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("payload with a byte left over: %v, want ErrCorrupt", err)
			}
		})
	}
	if _, err := RecordEvents([]byte{recordFormatPacked + 1, 0, 0, 0, 0}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("unknown version: %v, want ErrCorrupt", err)
	}
}

// A packed record decodes to what was packed; payloads too small or too random to gain stay as
// they are; a packed record that does not unpack is corrupt.
func TestPackRecordPayload(t *testing.T) {
	zeroish := make([]byte, 4000)
	for i := range zeroish {
		if i%8 == 0 {
			zeroish[i] = byte(i / 8)
		}
	}
	random := make([]byte, 4000)
	for i := range random {
		random[i] = byte(i*2654435761>>13) ^ byte(i>>3*7919)
	}
	delta := batchDelta{sent: []outMessage{{to: 1, seq: 2, payload: zeroish[:600]}}, applied: []seqMark{{shard: 3, seq: 4}}}
	var buf []byte
	for _, tc := range []struct {
		name       string
		events     []byte
		wantPacked bool
	}{
		{"small", []byte{1, 2, 3}, false},
		{"compressible", zeroish, true},
		{"random", random, false},
		{"compressible again, into the same buffer", zeroish[8:], true},
	} {
		payload := appendRecordPayload(nil, tc.events, &batchDelta{})
		if tc.name != "small" {
			payload = appendRecordPayload(nil, tc.events, &delta)
		}
		packed, grown := packRecordPayload(buf, payload)
		if cap(grown) < cap(buf) {
			t.Fatalf("%s: the buffer shrank", tc.name)
		}
		if isPacked := packed[0] == recordFormatPacked; isPacked != tc.wantPacked {
			t.Fatalf("%s: packed %v (%d of %d bytes), want %v", tc.name, isPacked, len(packed), len(payload), tc.wantPacked)
		}
		buf = grown
		if tc.wantPacked {
			if len(packed) > len(payload)/2 {
				t.Errorf("%s: packed to %d of %d bytes", tc.name, len(packed), len(payload))
			}
		}
		var d batchDelta
		events, err := decodeRecordPayload(packed, &d)
		if err != nil || !bytes.Equal(events, tc.events) {
			t.Fatalf("%s: events %d bytes, %v; want %d bytes", tc.name, len(events), err, len(tc.events))
		}
		if tc.name != "small" && (len(d.sent) != 1 || !bytes.Equal(d.sent[0].payload, zeroish[:600]) || len(d.applied) != 1) {
			t.Fatalf("%s: delta %+v", tc.name, d)
		}
		if tc.wantPacked {
			bad := append([]byte(nil), packed...)
			bad[len(bad)/2] ^= 0xff
			bad = bad[:len(bad)-3]
			if _, err := RecordEvents(bad); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: a damaged packed record: %v, want ErrCorrupt", tc.name, err)
			}
		}
	}
}

// A packed record that claims a body larger than any packed one is corrupt, and nothing that
// size is allocated for it.
func TestPackedRecordClaimingAHugeBody(t *testing.T) {
	// An S2 block starts with its decoded length as a uvarint: claim 3 GiB.
	claim := binary.AppendUvarint([]byte{recordFormatPacked}, 3<<30)
	payload := append(claim, make([]byte, 64)...)
	if _, err := RecordEvents(payload); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a packed record claiming 3 GiB: %v, want ErrCorrupt", err)
	}
}
