package runtime

import (
	"bytes"
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
	if _, err := RecordEvents([]byte{recordFormatVersion + 1, 0, 0, 0, 0}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("unknown version: %v, want ErrCorrupt", err)
	}
}
