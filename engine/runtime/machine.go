package runtime

import "fmt"

// Machine is a deterministic decider hosted on one shard. The runtime calls it from the shard's
// goroutine only. C is the command type and R the result type.
//
// Everything a machine decides must reach the journal through Batch.Events and Batch.Send, and
// Apply must rebuild from those bytes exactly the state that deciding built: the runtime replays
// them at recovery. A machine must not read a clock, draw randomness or do IO.
type Machine[C, R any] interface {
	// Tick is called first in every batch, so the machine can act on deadlines that have come.
	Tick(b *Batch)
	// Execute decides cmds in order and writes one result per command into results. It is
	// called once per submitted request; a linked chain never spans two requests.
	Execute(b *Batch, cmds []C, results []R)
	// Receive decides a message that another shard (or this one) sent with Batch.Send.
	Receive(b *Batch, from uint32, payload []byte)
	// Apply replays the events that one batch appended to Batch.Events.
	Apply(events []byte) error
	// NextDeadlineNanos reports the earliest batch time at which Tick has work, so the loop
	// runs a batch then even if no command arrives.
	NextDeadlineNanos() (int64, bool)
	// AppendSnapshot appends the machine's whole state; Restore replaces the state with it.
	AppendSnapshot(dst []byte) []byte
	Restore(src []byte) error
	// CheckInvariants verifies the machine's invariants; the loop calls it after every batch
	// when built with the invariants tag.
	CheckInvariants() error
}

// BatchEnder is an optional interface of a Machine: EndBatch is called once after everything
// of a batch was decided (Tick, messages, requests), so a machine can pack what it sends.
type BatchEnder interface {
	EndBatch(b *Batch)
}

// Batch is what a machine writes while deciding one batch.
type Batch struct {
	// Shard is the shard deciding the batch; NowNanos is the batch time; ShardsCount bounds the
	// shards a message may be sent to.
	Shard       uint32
	NowNanos    int64
	ShardsCount uint32
	// Events collects the encoded events of the batch, in the machine's own format.
	Events []byte

	sends []outMessage
	notes []any
}

// Notify queues a notification for Options.OnNotes, delivered once the batch is durable (and
// dropped if it never is). Notifications are not journaled: they tell waiting callers and the
// edge what happened, and a restart loses only notifications nobody can still be waiting for.
func (b *Batch) Notify(note any) { b.notes = append(b.notes, note) }

// Send queues a message to shard to, which must be below ShardsCount (a machine checks its
// commands against it). It is delivered after the batch is durable, or, with a SequencedJournal,
// once the batch's record is sequenced; before the batch's callers are answered either way.
func (b *Batch) Send(to uint32, payload []byte) { b.SendOwned(to, append([]byte(nil), payload...)) }

// SendOwned is Send of a payload the batch keeps: the caller must not change it afterwards.
func (b *Batch) SendOwned(to uint32, payload []byte) {
	if to >= b.ShardsCount {
		panic(fmt.Sprintf("runtime: shard %d sends to shard %d of %d", b.Shard, to, b.ShardsCount))
	}
	b.sends = append(b.sends, outMessage{to: to, payload: payload})
}

func (b *Batch) reset(shard uint32, nowNanos int64) {
	b.Shard, b.NowNanos = shard, nowNanos
	b.Events = b.Events[:0]
	b.sends = b.sends[:0]
	clear(b.notes)
	b.notes = b.notes[:0]
}
