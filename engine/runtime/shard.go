package runtime

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"huigong/engine/journal"
)

// inItem is a message or an acknowledgement waiting in a shard's inbox.
type inItem struct {
	ack     bool
	from    uint32 // the sender of a message; the receiver that acknowledges
	seq     uint64
	payload []byte
}

// flight is one batch between decision and answer: its requests, and what the router sends
// once the batch is durable.
type flight[C, R any] struct {
	index    uint64
	reqs     []*request[C, R]
	sent     []outMessage
	acks     []seqMark // senders to acknowledge, with the mark applied
	notes    []any
	snapshot []byte
}

type shard[C, R any] struct {
	rt      *Runtime[C, R]
	id      uint32
	machine Machine[C, R]
	queue   chan *request[C, R]

	// inboxMu guards the inbox and the inspections; the router appends, the loop takes.
	inboxMu     sync.Mutex
	inbox       []inItem
	inspections []func()
	wake        chan struct{}

	snapshotRequested atomic.Bool
	failed            atomic.Pointer[error]

	// Loop-owned state.
	env          envelope
	index        uint64 // of the last journaled batch
	lastNowNanos int64
	carry        *request[C, R]
	batch        Batch
	delta        batchDelta
	payload      []byte
	packed       []byte // the buffer payloads are packed into
	taken        []inItem
	sendCounts   []uint64
	sinceSnap    uint64
	snapshotLSN  uint64 // of the snapshot recovered from

	// flightMu guards what the loop shares with the journal's callbacks.
	reqsFree     [][]*request[C, R] // request lists to reuse
	flightMu     sync.Mutex
	inflight     []flight[C, R]
	waiting      []flight[C, R] // batches with nothing to journal, answered after index
	durableIndex uint64
	durableLSN   uint64
	onDurableFn  func(lsn uint64, err error)

	// sendMu orders the sends of batches' messages between the loop and the journal's callback;
	// sentIndex is the index of the last batch whose messages went.
	sendMu    sync.Mutex
	sentIndex uint64
	ender     BatchEnder // the machine, when it wants to know a batch's end
}

func newShard[C, R any](rt *Runtime[C, R], id uint32, m Machine[C, R]) *shard[C, R] {
	s := &shard[C, R]{
		rt: rt, id: id, machine: m,
		queue:      make(chan *request[C, R], rt.opts.QueueRequestsMax),
		wake:       make(chan struct{}, 1),
		env:        newEnvelope(rt.opts.ShardsCount),
		sendCounts: make([]uint64, rt.opts.ShardsCount),
	}
	s.onDurableFn = s.onDurable
	s.ender, _ = m.(BatchEnder)
	s.batch.ShardsCount = uint32(rt.opts.ShardsCount)
	return s
}

func (s *shard[C, R]) failure() error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *shard[C, R]) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// deliver appends items to the inbox and wakes the loop. It never blocks on the loop.
func (s *shard[C, R]) deliver(items ...inItem) {
	s.inboxMu.Lock()
	s.inbox = append(s.inbox, items...)
	s.inboxMu.Unlock()
	s.signal()
}

func (s *shard[C, R]) redeliverOutbox() {
	for to, box := range s.env.outbox {
		for _, m := range box {
			s.rt.shards[to].deliver(inItem{from: s.id, seq: m.seq, payload: m.payload})
		}
	}
}

func (s *shard[C, R]) run() {
	defer s.rt.loops.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var first *request[C, R]
		if s.carry != nil {
			first, s.carry = s.carry, nil
		} else {
			select {
			case first = <-s.queue:
			case <-s.wake:
			case <-timer.C:
			case <-s.rt.stop:
				s.drainAtStop()
				return
			}
		}
		s.runBatch(first)
		if d, ok := s.machine.NextDeadlineNanos(); ok {
			wait := time.Duration(d - s.rt.opts.Clock())
			if wait < time.Millisecond {
				wait = time.Millisecond
			}
			timer.Reset(wait)
		} else {
			timer.Stop()
		}
	}
}

// drainAtStop decides what was queued before Close; no request can enter the queue after.
func (s *shard[C, R]) drainAtStop() {
	for {
		select {
		case r := <-s.queue:
			s.runBatch(r)
		default:
			if s.carry != nil {
				r := s.carry
				s.carry = nil
				s.runBatch(r)
				continue
			}
			s.runInspections()
			return
		}
	}
}

func (s *shard[C, R]) runInspections() {
	s.inboxMu.Lock()
	fns := s.inspections
	s.inspections = nil
	s.inboxMu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

func (s *shard[C, R]) runBatch(first *request[C, R]) {
	reqs := s.takeRequests(first)
	if err := s.failure(); err != nil {
		for _, r := range reqs {
			r.err = err
			r.done <- struct{}{}
		}
		s.runInspections()
		return
	}

	now := s.rt.opts.Clock()
	if now < s.lastNowNanos {
		now = s.lastNowNanos // MonotoneTime
	}
	s.lastNowNanos = now
	b := &s.batch
	b.reset(s.id, now)
	s.delta.reset()

	s.machine.Tick(b)
	acks := s.takeInbox(b)
	commands := 0
	for _, r := range reqs {
		s.machine.Execute(b, r.cmds, r.results)
		commands += len(r.cmds)
	}
	if s.ender != nil {
		s.ender.EndBatch(b)
	}
	for _, m := range b.sends {
		s.sendCounts[m.to]++
		m.seq = s.env.sentSeq[m.to] + s.sendCounts[m.to]
		s.delta.sent = append(s.delta.sent, m)
	}
	for _, m := range b.sends {
		s.sendCounts[m.to] = 0
	}
	if err := s.env.applyDelta(&s.delta); err != nil {
		panic(fmt.Sprintf("runtime: shard %d: %v", s.id, err)) // The loop built this delta itself.
	}
	if s.rt.opts.Invariants {
		if err := s.machine.CheckInvariants(); err != nil {
			panic(fmt.Sprintf("runtime: shard %d: invariant broken after batch at %d: %v", s.id, now, err))
		}
	}

	f := flight[C, R]{reqs: reqs, acks: acks}
	if len(b.notes) > 0 {
		f.notes = append([]any(nil), b.notes...)
	}
	// A batch that takes a snapshot is journaled even when it decided nothing, so that the
	// snapshot covers a recent journal position and an idle shard never holds back archiving.
	snapshotting := s.snapshotDue()
	journaled := len(b.Events) > 0 || !s.delta.empty() || snapshotting
	if journaled {
		s.index++
		s.sinceSnap++
		f.index = s.index
		f.sent = append([]outMessage(nil), s.delta.sent...)
	} else {
		f.index = s.index
	}
	if snapshotting {
		f.snapshot = s.appendSnapshot(nil)
		s.sinceSnap = 0
	}

	s.flightMu.Lock()
	if !journaled {
		if s.durableIndex >= f.index {
			lsn := s.durableLSN
			s.flightMu.Unlock()
			s.complete(&f, lsn, nil)
		} else if err := s.failure(); err != nil {
			// The batch this one waits for failed after the check at the top: onDurable has
			// already answered the waiting batches and will not run again for this shard.
			s.flightMu.Unlock()
			s.complete(&f, 0, err)
		} else {
			s.waiting = append(s.waiting, f)
			s.flightMu.Unlock()
		}
	} else {
		s.inflight = append(s.inflight, f)
		s.flightMu.Unlock()
		s.payload = appendRecordPayload(s.payload[:0], b.Events, &s.delta)
		payload := s.payload
		if !s.rt.opts.Unpacked {
			payload, s.packed = packRecordPayload(s.packed, s.payload)
		}
		rec := journal.Record{Shard: s.id, Index: f.index, TimeNanos: now, Payload: payload}
		if s.rt.sequenced == nil {
			s.rt.opts.Journal.Append(rec, s.onDurableFn)
		} else if s.rt.sequenced.AppendSequenced(rec, s.onDurableFn) {
			// MessageAfterSender: the record is in the journal's order, so what a target
			// journals after taking these is durable only if this record is.
			s.sendOnce(f.index, f.sent)
		} else {
			// The journal refused the record (too large, or closing): its done will fail the
			// shard, but not before this loop would sequence the next batches after a hole.
			err := fmt.Errorf("%w: shard %d: the journal refused the record of batch %d", ErrShardFailed, s.id, f.index)
			s.failed.CompareAndSwap(nil, &err)
		}
	}
	if s.rt.opts.Observe != nil {
		s.rt.opts.Observe(s.id, commands, len(s.queue))
	}
	s.runInspections()
}

// takeRequests fills a batch with whole requests, up to the batch limit; a request that does
// not fit is carried to the next batch.
func (s *shard[C, R]) takeRequests(first *request[C, R]) []*request[C, R] {
	var reqs []*request[C, R]
	s.flightMu.Lock()
	if n := len(s.reqsFree); n > 0 {
		reqs, s.reqsFree = s.reqsFree[n-1][:0], s.reqsFree[:n-1]
	}
	s.flightMu.Unlock()
	if first == nil {
		return reqs
	}
	reqs = append(reqs, first)
	n := len(first.cmds)
	for n < s.rt.opts.BatchCommandsMax {
		select {
		case r := <-s.queue:
			if n+len(r.cmds) > s.rt.opts.BatchCommandsMax {
				s.carry = r
				return reqs
			}
			reqs = append(reqs, r)
			n += len(r.cmds)
		default:
			return reqs
		}
	}
	return reqs
}

// takeInbox decides the inbox: acknowledgements trim the outbox, messages are applied once
// each in order. It returns the senders to acknowledge once the batch is durable.
func (s *shard[C, R]) takeInbox(b *Batch) []seqMark {
	s.inboxMu.Lock()
	s.taken, s.inbox = s.inbox, s.taken[:0]
	s.inboxMu.Unlock()
	var acks []seqMark
	for i := range s.taken {
		it := &s.taken[i]
		if it.ack {
			if len(s.env.outbox[it.from]) > 0 && s.env.outbox[it.from][0].seq <= it.seq {
				// applyDelta trims the outbox at the end of the batch, as replay does.
				s.delta.acked = append(s.delta.acked, seqMark{shard: it.from, seq: it.seq})
			}
			continue
		}
		applied := s.env.appliedSeq[it.from]
		switch {
		case it.seq <= applied:
			// A duplicate, from a redelivery: acknowledge again so the sender trims.
		case it.seq == applied+1:
			s.machine.Receive(b, it.from, it.payload)
			s.env.appliedSeq[it.from] = it.seq
			s.delta.applied = append(s.delta.applied, seqMark{shard: it.from, seq: it.seq})
		default:
			// Messages of one sender reach the inbox in order, and every restart redelivers
			// whole outboxes from their start, so a gap is a bug in the router.
			panic(fmt.Sprintf("runtime: shard %d got message %d from shard %d after %d", s.id, it.seq, it.from, applied))
		}
		acks = appendMark(acks, it.from, s.env.appliedSeq[it.from])
	}
	clear(s.taken)
	return acks
}

func appendMark(marks []seqMark, shard uint32, seq uint64) []seqMark {
	for i := range marks {
		if marks[i].shard == shard {
			marks[i].seq = max(marks[i].seq, seq)
			return marks
		}
	}
	return append(marks, seqMark{shard: shard, seq: seq})
}

// onDurable is called by the journal, in append order, when a record of this shard is durable.
func (s *shard[C, R]) onDurable(lsn uint64, err error) {
	s.flightMu.Lock()
	f := s.inflight[0]
	s.inflight[0] = flight[C, R]{}
	s.inflight = s.inflight[1:]
	var ready []flight[C, R]
	if err == nil {
		s.durableIndex, s.durableLSN = f.index, lsn
		n := 0
		for n < len(s.waiting) && s.waiting[n].index <= f.index {
			n++
		}
		ready = append(ready, s.waiting[:n]...)
		s.waiting = append(s.waiting[:0], s.waiting[n:]...)
	} else {
		err = fmt.Errorf("%w: shard %d: %w", ErrShardFailed, s.id, err)
		s.failed.CompareAndSwap(nil, &err)
		ready = append(ready, s.waiting...)
		s.waiting = s.waiting[:0]
	}
	s.flightMu.Unlock()
	s.complete(&f, lsn, err)
	for i := range ready {
		s.complete(&ready[i], lsn, err)
	}
}

// sendOnce sends the messages of the batch of index, unless they were sent already: the loop
// and the journal's callback both try, whichever is first sends, and both go in index order, so
// each target gets a sender's messages once and in order.
func (s *shard[C, R]) sendOnce(index uint64, sent []outMessage) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if index <= s.sentIndex {
		return
	}
	s.sentIndex = index
	s.send(sent)
}

// send hands messages to their targets' inboxes.
func (s *shard[C, R]) send(sent []outMessage) {
	for _, m := range sent {
		s.rt.shards[m.to].deliver(inItem{from: s.id, seq: m.seq, payload: m.payload})
	}
}

// complete answers a batch's callers and routes its messages and acknowledgements.
func (s *shard[C, R]) complete(f *flight[C, R], lsn uint64, err error) {
	if err == nil {
		if s.rt.sequenced != nil {
			// The loop sends once the record is sequenced; if this answer comes first (the
			// journal may call back before Append returns), it sends, so that a caller never
			// hears of a batch whose messages have not left. (A batch that journaled nothing
			// sent nothing, and its index is an earlier batch's, already sent.)
			s.sendOnce(f.index, f.sent)
		} else {
			s.send(f.sent)
		}
		for _, a := range f.acks {
			s.rt.shards[a.shard].deliver(inItem{ack: true, from: s.id, seq: a.seq})
		}
		if len(f.notes) > 0 && s.rt.opts.OnNotes != nil {
			s.rt.opts.OnNotes(s.id, f.notes)
		}
		if f.snapshot != nil && s.rt.snapshots != nil {
			s.rt.snapshots.submit(s.id, lsn, f.snapshot)
		}
	}
	for _, r := range f.reqs {
		r.err = err
		r.done <- struct{}{}
	}
	clear(f.reqs)
	s.flightMu.Lock()
	if len(s.reqsFree) < 64 {
		s.reqsFree = append(s.reqsFree, f.reqs[:0])
	}
	s.flightMu.Unlock()
}
