package runtime

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"huigong/engine/journal"
)

// Named limits. Relations between them are checked once, in Open.
const (
	// ShardsCountMax bounds the logical shards of one runtime; message and ack marks are
	// indexed by shard.
	ShardsCountMax = 4096
	// BatchCommandsMaxDefault follows TigerBeetle's 8,190 transfers per request.
	BatchCommandsMaxDefault = 8190
	// QueueRequestsMaxDefault bounds each shard's queue; a submitter waits when it is full.
	QueueRequestsMaxDefault = 4096
)

var (
	// ErrClosed is returned for submissions after Close.
	ErrClosed = errors.New("runtime: closed")
	// ErrShardFailed is wrapped when a shard stopped because its journal failed: its state may
	// be ahead of what is durable, so it refuses work until the runtime is reopened.
	ErrShardFailed = errors.New("runtime: shard failed")
	// ErrRequestTooLarge is returned for a request of more commands than fit one batch.
	ErrRequestTooLarge = errors.New("runtime: request larger than a batch")
)

// Journal is what the runtime needs of a journal; engine/journal implements it.
type Journal interface {
	Append(rec journal.Record, done func(lsn uint64, err error))
	Replay(from uint64, fn func(lsn uint64, rec journal.Record) error) error
	Archive(before uint64) error
	Close() error
}

// SequencedJournal is a Journal that says at Append whether the record took its place in the
// journal's order (false: refused at once, and done gets the error), and that makes records
// durable strictly in that order, a failure failing every later record too. engine/journal's
// journals are. With one, the runtime hands a batch's messages to their targets as soon as the
// batch's record is sequenced instead of once it is durable: whatever a target journals after
// taking a message is sequenced after the sender's record, so it cannot be durable without it,
// and a saga across shards waits for one fsync instead of one per step.
type SequencedJournal interface {
	Journal
	AppendSequenced(rec journal.Record, done func(lsn uint64, err error)) bool
}

// Options configure a runtime. Zero values take the defaults.
type Options struct {
	ShardsCount      int
	BatchCommandsMax int
	QueueRequestsMax int
	// Clock returns the batch time in nanoseconds. Default: the wall clock.
	Clock func() int64
	// Journal receives every batch record. Required.
	Journal Journal
	// Snapshots stores per-shard snapshots; nil disables them.
	Snapshots SnapshotStore
	// SnapshotEveryBatches takes a shard's snapshot after that many journaled batches; zero
	// takes them only when Snapshot is called.
	SnapshotEveryBatches uint64
	// SnapshotInterval, when set, takes a snapshot of every shard that often, so that idle
	// shards too move forward and old journal segments can be archived.
	SnapshotInterval time.Duration
	// Unpacked journals records as they are. By default a record of 512 bytes or more is
	// compressed (S2) when that saves a fifth of it, which roughly halves the journal's bytes:
	// turn it off only to measure the engine with a journal that stores nothing.
	Unpacked bool
	// Invariants checks the machine's invariants after every batch. The invariants build tag
	// turns it on for every runtime.
	Invariants bool
	// OnNotes, if set, receives each batch's notifications (Batch.Notify) once the batch is
	// durable, in batch order per shard, from the journal's completion path: it must not block.
	OnNotes func(shard uint32, notes []any)
	// Observe, if set, is called from each shard's loop after every batch; it must be cheap.
	Observe func(shard uint32, commands int, queueDepth int)
}

func (o *Options) setDefaults() error {
	if o.ShardsCount == 0 {
		o.ShardsCount = 64
	}
	if o.BatchCommandsMax == 0 {
		o.BatchCommandsMax = BatchCommandsMaxDefault
	}
	if o.QueueRequestsMax == 0 {
		o.QueueRequestsMax = QueueRequestsMaxDefault
	}
	if o.Clock == nil {
		o.Clock = func() int64 { return time.Now().UnixNano() }
	}
	switch {
	case o.ShardsCount < 1 || o.ShardsCount > ShardsCountMax:
		return fmt.Errorf("runtime: %d shards, want 1 to %d", o.ShardsCount, ShardsCountMax)
	case o.BatchCommandsMax < 1:
		return fmt.Errorf("runtime: batch of %d commands", o.BatchCommandsMax)
	case o.QueueRequestsMax < 1:
		return fmt.Errorf("runtime: queue of %d requests", o.QueueRequestsMax)
	case o.Journal == nil:
		return errors.New("runtime: no journal")
	}
	o.Invariants = o.Invariants || invariantsBuild
	return nil
}

// Runtime hosts one machine per shard.
type Runtime[C, R any] struct {
	opts   Options
	shards []*shard[C, R]

	// closeMu orders submissions before Close: a submitter holds it for reading while it
	// enqueues, so once Close has set closing no request can enter a queue.
	closeMu sync.RWMutex
	closing bool
	stop    chan struct{}
	loops   sync.WaitGroup

	snapshots *snapshotWriter
	requests  sync.Pool
	// sequenced is the journal when it is a SequencedJournal: messages then go at Append.
	sequenced SequencedJournal
}

// Open recovers every shard from its newest snapshot and the journal's tail, then starts the
// loops. newMachine makes an empty machine for a shard.
func Open[C, R any](opts Options, newMachine func(shard uint32) Machine[C, R]) (*Runtime[C, R], error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	rt := &Runtime[C, R]{opts: opts, stop: make(chan struct{})}
	rt.sequenced, _ = opts.Journal.(SequencedJournal)
	rt.requests.New = func() any { return &request[C, R]{done: make(chan struct{}, 1)} }
	for i := 0; i < opts.ShardsCount; i++ {
		rt.shards = append(rt.shards, newShard(rt, uint32(i), newMachine(uint32(i))))
	}
	if err := rt.recover(); err != nil {
		return nil, err
	}
	if opts.Snapshots != nil {
		rt.snapshots = newSnapshotWriter(opts.Snapshots, opts.Journal, len(rt.shards))
		for _, s := range rt.shards {
			rt.snapshots.covered[s.id] = s.snapshotLSN
		}
		go rt.snapshots.run()
	}
	// Messages still in outboxes may not have reached their targets before the crash.
	for _, s := range rt.shards {
		s.redeliverOutbox()
	}
	for _, s := range rt.shards {
		rt.loops.Add(1)
		go s.run()
	}
	if opts.Snapshots != nil && opts.SnapshotInterval > 0 {
		rt.loops.Add(1)
		go func() {
			defer rt.loops.Done()
			t := time.NewTicker(opts.SnapshotInterval)
			defer t.Stop()
			for {
				select {
				case <-rt.stop:
					return
				case <-t.C:
					rt.Snapshot()
				}
			}
		}()
	}
	return rt, nil
}

// ShardsCount is the number of shards.
func (rt *Runtime[C, R]) ShardsCount() int { return len(rt.shards) }

// Submit decides one command on a shard and returns its result once durable.
func (rt *Runtime[C, R]) Submit(shard uint32, cmd C) (R, error) {
	req := rt.requests.Get().(*request[C, R])
	req.cmds = append(req.cmds[:0], cmd)
	var zero R
	req.results = append(req.results[:0], zero)
	err := rt.submit(shard, req)
	result := req.results[0]
	req.cmds[0], req.results[0] = *new(C), zero
	rt.requests.Put(req)
	return result, err
}

// SubmitBatch decides cmds in order on one shard, in one batch, and writes their results once
// durable. A linked chain may span the request but not go beyond it.
func (rt *Runtime[C, R]) SubmitBatch(shard uint32, cmds []C, results []R) error {
	if len(results) != len(cmds) {
		return fmt.Errorf("runtime: %d results for %d commands", len(results), len(cmds))
	}
	if len(cmds) == 0 {
		return nil
	}
	req := rt.requests.Get().(*request[C, R])
	keepCmds, keepResults := req.cmds, req.results
	req.cmds, req.results = cmds, results
	err := rt.submit(shard, req)
	req.cmds, req.results = keepCmds, keepResults
	rt.requests.Put(req)
	return err
}

func (rt *Runtime[C, R]) submit(shard uint32, req *request[C, R]) error {
	if int(shard) >= len(rt.shards) {
		return fmt.Errorf("runtime: shard %d of %d", shard, len(rt.shards))
	}
	if len(req.cmds) > rt.opts.BatchCommandsMax {
		return fmt.Errorf("%w: %d commands, at most %d", ErrRequestTooLarge, len(req.cmds), rt.opts.BatchCommandsMax)
	}
	s := rt.shards[shard]
	if err := s.failure(); err != nil {
		return err
	}
	rt.closeMu.RLock()
	if rt.closing {
		rt.closeMu.RUnlock()
		return ErrClosed
	}
	req.err = nil
	s.queue <- req
	rt.closeMu.RUnlock()
	<-req.done
	return req.err
}

// Wake makes every shard run a batch soon, so deadlines that have come are acted on. The
// loops wake by themselves at their machines' deadlines on the wall clock; a test with its own
// clock calls Wake after moving it.
func (rt *Runtime[C, R]) Wake() {
	for _, s := range rt.shards {
		s.signal()
	}
}

// Snapshot asks every shard to take a snapshot at its next batch boundary.
func (rt *Runtime[C, R]) Snapshot() {
	for _, s := range rt.shards {
		s.snapshotRequested.Store(true)
		s.signal()
	}
}

// Inspect runs fn on the shard's goroutine between batches, with the machine, and returns when
// fn has run. The machine may be ahead of what is durable: its own batches not yet durable, and
// messages whose senders' records are sequenced but not yet durable. fn must not keep the machine.
func (rt *Runtime[C, R]) Inspect(shard uint32, fn func(m Machine[C, R])) error {
	rt.closeMu.RLock()
	if rt.closing {
		rt.closeMu.RUnlock()
		return ErrClosed
	}
	done := make(chan struct{})
	s := rt.shards[shard]
	s.inboxMu.Lock()
	s.inspections = append(s.inspections, func() { fn(s.machine); close(done) })
	s.inboxMu.Unlock()
	s.signal()
	rt.closeMu.RUnlock()
	<-done
	return nil
}

// Close stops taking submissions, decides what is queued, waits until it is durable, closes
// the journal and stops. It is safe to call more than once.
func (rt *Runtime[C, R]) Close() error {
	rt.closeMu.Lock()
	if rt.closing {
		rt.closeMu.Unlock()
		return nil
	}
	rt.closing = true
	rt.closeMu.Unlock()
	close(rt.stop)
	rt.loops.Wait()
	err := rt.opts.Journal.Close()
	if rt.snapshots != nil {
		if serr := rt.snapshots.close(); err == nil {
			err = serr
		}
	}
	return err
}

// request is one submission: its commands, its results, and a signal once they are durable.
type request[C, R any] struct {
	cmds    []C
	results []R
	err     error
	done    chan struct{}
}

// Failed reports the first journal error any shard met, if any.
func (rt *Runtime[C, R]) Failed() error {
	for _, s := range rt.shards {
		if err := s.failure(); err != nil {
			return err
		}
	}
	return nil
}
