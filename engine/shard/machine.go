// Package shard is the machine that runs on each shard of huigong's runtime: a union's shard
// holds its welfare tables and its ledger (engine/welfare), and passes the messages between
// shards that configuration broadcasts, revocations, expiry returns and member moves need.
package shard

import (
	"encoding/binary"
	"iter"
	"slices"

	"huigong/engine/runtime"
	"huigong/engine/welfare"
)

// Command and Result are the welfare decider's.
type (
	Command = welfare.Command
	Result  = welfare.Result
)

// Machine is one shard's state on the runtime.
type Machine struct {
	state   *welfare.State
	out     welfare.Output
	pending []welfare.Outgoing
	notes   Notes
	targets []target
	slot    []int32
}

// Notes are a batch's order notes: the machine hands the runtime one Notes per batch, not one
// boxed value per note. OrderNotes reads them back.
type Notes []welfare.OrderNote

// OrderNotes yields the order notes among the notes the runtime delivers to OnNotes.
func OrderNotes(notes []any) iter.Seq[*welfare.OrderNote] {
	return func(yield func(*welfare.OrderNote) bool) {
		for _, x := range notes {
			batch, _ := x.(Notes)
			for i := range batch {
				if !yield(&batch[i]) {
					return
				}
			}
		}
	}
}

var (
	_ runtime.Machine[Command, Result] = (*Machine)(nil)
	_ runtime.BatchEnder               = (*Machine)(nil)
)

// New returns the empty machine of a shard.
func New(shard, shardsCount uint32) *Machine {
	return &Machine{state: welfare.New(shard, shardsCount)}
}

// Factory returns the runtime's machine constructor for shardsCount shards.
func Factory(shardsCount int) func(uint32) runtime.Machine[Command, Result] {
	return func(s uint32) runtime.Machine[Command, Result] { return New(s, uint32(shardsCount)) }
}

// State gives read access to the welfare tables and the ledger, between batches.
func (m *Machine) State() *welfare.State { return m.state }

// begin points the decider's output at the batch's event buffer, so events are encoded once,
// in place; flush hands back the buffer and the messages.
func (m *Machine) begin(b *runtime.Batch) { m.out.Events = b.Events }

func (m *Machine) flush(b *runtime.Batch) {
	b.Events, m.out.Events = m.out.Events, nil
	m.pending = append(m.pending, m.out.Outgoing...)
	m.out.Outgoing = m.out.Outgoing[:0]
	m.notes = append(m.notes, m.out.Notes...)
	m.out.Notes = m.out.Notes[:0]
}

// sendPending sends what the batch's decisions addressed to other shards, one message per
// target shard, in order of first message: a festival rush sends thousands of reservations to
// one SKU's shard per batch, and one message carries them all. Each target's message is built
// in one buffer of its exact size, which the batch keeps.
func (m *Machine) sendPending(b *runtime.Batch) {
	if len(m.pending) == 0 {
		return
	}
	if len(m.slot) < int(b.ShardsCount) {
		m.slot = make([]int32, b.ShardsCount)
	}
	// slot[to] is 1 + the target's index in targets, for the targets of this batch.
	targets := m.targets[:0]
	for _, o := range m.pending {
		i := m.slot[o.ToShard] - 1
		if i < 0 {
			i = int32(len(targets))
			m.slot[o.ToShard] = i + 1
			targets = append(targets, target{shard: o.ToShard, size: 1 + 4})
		}
		targets[i].count++
		targets[i].size += 4 + len(o.Payload)
	}
	for i := range targets {
		t := &targets[i]
		t.buf = append(make([]byte, 0, t.size), packedMessage)
		t.buf = binary.LittleEndian.AppendUint32(t.buf, uint32(t.count))
	}
	for _, o := range m.pending {
		t := &targets[m.slot[o.ToShard]-1]
		t.buf = binary.LittleEndian.AppendUint32(t.buf, uint32(len(o.Payload)))
		t.buf = append(t.buf, o.Payload...)
	}
	for i := range targets {
		b.SendOwned(targets[i].shard, targets[i].buf)
		m.slot[targets[i].shard] = 0
	}
	clear(targets)
	m.targets = targets[:0]
	clear(m.pending)
	m.pending = m.pending[:0]
}

// target is a shard the batch sends to, and its message.
type target struct {
	shard uint32
	count int
	size  int
	buf   []byte
}

// packedMessage marks a message that carries several; welfare's own kinds are all below it.
const packedMessage = 0xff

// EndBatch sends the batch's messages, packed per target shard, and its notes.
func (m *Machine) EndBatch(b *runtime.Batch) {
	m.sendPending(b)
	if len(m.notes) > 0 {
		b.Notify(slices.Clone(m.notes))
		clear(m.notes)
		m.notes = m.notes[:0]
	}
	m.out.Reset() // The payloads were copied into the batch's messages.
}

func (m *Machine) Tick(b *runtime.Batch) {
	m.begin(b)
	m.state.Tick(b.NowNanos, &m.out)
	m.flush(b)
}

func (m *Machine) Execute(b *runtime.Batch, cmds []Command, results []Result) {
	m.begin(b)
	m.state.Execute(b.NowNanos, cmds, results, &m.out)
	m.flush(b)
}

func (m *Machine) Receive(b *runtime.Batch, from uint32, payload []byte) {
	m.begin(b)
	if len(payload) > 0 && payload[0] == packedMessage {
		count := binary.LittleEndian.Uint32(payload[1:])
		rest := payload[5:]
		for i := uint32(0); i < count; i++ {
			n := binary.LittleEndian.Uint32(rest)
			m.receiveOne(b, from, rest[4:4+n])
			rest = rest[4+n:]
		}
	} else {
		m.receiveOne(b, from, payload)
	}
	m.flush(b)
}

func (m *Machine) receiveOne(b *runtime.Batch, from uint32, payload []byte) {
	if err := m.state.Receive(b.NowNanos, from, payload, &m.out); err != nil {
		panic(err) // Messages come only from machines of this package, through the journal.
	}
}

func (m *Machine) Apply(events []byte) error        { return m.state.Apply(events) }
func (m *Machine) NextDeadlineNanos() (int64, bool) { return m.state.NextDeadlineNanos() }
func (m *Machine) AppendSnapshot(dst []byte) []byte { return m.state.AppendSnapshot(dst) }
func (m *Machine) Restore(src []byte) error         { return m.state.Restore(src) }
func (m *Machine) CheckInvariants() error           { return m.state.CheckInvariants() }
