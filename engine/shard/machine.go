// Package shard is the machine that runs on each shard of huigong's runtime: a union's shard
// holds its welfare tables and its ledger (engine/welfare), and passes the messages between
// shards that configuration broadcasts, revocations, expiry returns and member moves need.
package shard

import (
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
	state *welfare.State
	out   welfare.Output
}

var _ runtime.Machine[Command, Result] = (*Machine)(nil)

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
	for _, o := range m.out.Outgoing {
		b.Send(o.ToShard, o.Payload)
	}
	m.out.Outgoing = m.out.Outgoing[:0]
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
	if err := m.state.Receive(b.NowNanos, from, payload, &m.out); err != nil {
		panic(err) // Messages come only from machines of this package, through the journal.
	}
	m.flush(b)
}

func (m *Machine) Apply(events []byte) error        { return m.state.Apply(events) }
func (m *Machine) NextDeadlineNanos() (int64, bool) { return m.state.NextDeadlineNanos() }
func (m *Machine) AppendSnapshot(dst []byte) []byte { return m.state.AppendSnapshot(dst) }
func (m *Machine) Restore(src []byte) error         { return m.state.Restore(src) }
func (m *Machine) CheckInvariants() error           { return m.state.CheckInvariants() }
