package runtime_test

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/runtime"
)

// pingMachine counts: a command "send n" sends n to shard 1; shard 1 adds what it receives to
// its total; a command "read" answers the total. Events are the running total, 8 bytes.
type pingMachine struct {
	total uint64
	pad   int // bytes of padding per event, to make records large
}

type pingCmd struct {
	send uint64 // send this to shard 1; zero reads
}

func (m *pingMachine) Tick(*runtime.Batch) {}
func (m *pingMachine) Execute(b *runtime.Batch, cmds []pingCmd, results []uint64) {
	for i, c := range cmds {
		if c.send > 0 {
			b.Send(1, binary.LittleEndian.AppendUint64(nil, c.send))
			b.Events = append(b.Events, make([]byte, m.pad)...)
		}
		results[i] = m.total
	}
}
func (m *pingMachine) Receive(b *runtime.Batch, _ uint32, payload []byte) {
	m.total += binary.LittleEndian.Uint64(payload)
	b.Events = binary.LittleEndian.AppendUint64(b.Events, m.total)
}
func (m *pingMachine) Apply(events []byte) error {
	if len(events) >= 8 && len(events)%8 == 0 && m.pad == 0 {
		m.total = binary.LittleEndian.Uint64(events[len(events)-8:])
	}
	return nil
}
func (m *pingMachine) NextDeadlineNanos() (int64, bool) { return 0, false }
func (m *pingMachine) AppendSnapshot(dst []byte) []byte {
	return binary.LittleEndian.AppendUint64(dst, m.total)
}
func (m *pingMachine) Restore(src []byte) error {
	m.total = binary.LittleEndian.Uint64(src)
	return nil
}
func (m *pingMachine) CheckInvariants() error { return nil }

// slowReturn is a memory journal whose Append answers (calls done) and only then, a while
// later, returns: the loop that appended is preempted between the two.
type slowReturn struct{ *journal.MemoryJournal }

func (j slowReturn) AppendSequenced(rec journal.Record, done func(lsn uint64, err error)) bool {
	ok := j.MemoryJournal.AppendSequenced(rec, done)
	time.Sleep(200 * time.Microsecond)
	return ok
}

// Once a caller is answered, the messages its batch sent have left: a command to the target
// submitted after the answer sees them applied, with either journal, every time.
func TestAnswerAfterMessagesLeft(t *testing.T) {
	file, err := journal.Open(t.TempDir(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, j := range map[string]runtime.Journal{"memory": journal.NewMemory(), "file": file,
		"memory, slow to return": slowReturn{journal.NewMemory()}} {
		t.Run(name, func(t *testing.T) {
			rt, err := runtime.Open(runtime.Options{ShardsCount: 2, Journal: j}, func(uint32) runtime.Machine[pingCmd, uint64] { return &pingMachine{} })
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close()
			var want uint64
			for i := uint64(1); i <= 300; i++ {
				if _, err := rt.Submit(0, pingCmd{send: i}); err != nil {
					t.Fatal(err)
				}
				want += i
				got, err := rt.Submit(1, pingCmd{})
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("after %d sends answered, the target has %d, want %d", i, got, want)
				}
			}
		})
	}
}

// A record the journal refuses fails its shard at once: the shard takes no more batches (which
// would leave a hole in its indexes) and sends nothing of them; the target never sees a gap.
func TestRefusedRecordFailsTheShard(t *testing.T) {
	j, err := journal.Open(t.TempDir(), journal.Options{RecordPayloadBytesMax: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: 2, Journal: j, Unpacked: true}, func(s uint32) runtime.Machine[pingCmd, uint64] {
		if s == 0 {
			return &pingMachine{pad: 8 << 10}
		}
		return &pingMachine{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if _, err := rt.Submit(0, pingCmd{send: 1}); !errors.Is(err, runtime.ErrShardFailed) {
		t.Fatalf("a batch whose record is too large: %v, want ErrShardFailed", err)
	}
	for i := 0; i < 20; i++ {
		if _, err := rt.Submit(0, pingCmd{send: 1}); !errors.Is(err, runtime.ErrShardFailed) {
			t.Fatalf("after the refusal: %v, want ErrShardFailed", err)
		}
	}
	got, err := rt.Submit(1, pingCmd{})
	if err != nil || got != 0 {
		t.Fatalf("the target has %d (%v): it applied a message of a refused batch", got, err)
	}
}
