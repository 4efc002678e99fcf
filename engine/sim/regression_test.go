package sim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/runtime"
	"huigong/engine/shardledger"
)

// Deterministic reproductions of the bugs the simulation found, so each stays fixed even when
// no seed happens to reach it.

func appendAndWait(j *journal.FileJournal, index uint64, payloadBytes int) error {
	done := make(chan error, 1)
	j.Append(journal.Record{Index: index, TimeNanos: 1, Payload: make([]byte, payloadBytes)}, func(_ uint64, err error) { done <- err })
	return <-done
}

// A failed fsync, a restart without a crash, then a rotation at the first commit: the last
// group of the old segment was read back at Open but never synced, so a later crash took it
// and left a gap before the next segment. Open now syncs what it recovered.
func TestRegressionJournalSyncsWhatItRecovers(t *testing.T) {
	fs := journal.NewFaultFS(1)
	opts := journal.Options{FS: fs, SegmentBytes: 4096}
	j, err := journal.Open("journal", opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= 3; i++ {
		if err := appendAndWait(j, i, 1000); err != nil {
			t.Fatal(err)
		}
	}
	fs.SetSyncError(errors.New("injected fsync failure"))
	if err := appendAndWait(j, 4, 1000); err == nil { // written, takes the segment past 4096, not synced
		t.Fatal("append with failing fsync succeeded")
	}
	j.Close()
	fs.SetSyncError(nil)

	j, err = journal.Open("journal", opts) // a restart: the disk is as the process left it
	if err != nil {
		t.Fatal(err)
	}
	if got := j.Recovery().LastLSN; got != 4 {
		t.Fatalf("recovered up to LSN %d, want 4 (the unsynced record is still there)", got)
	}
	if err := appendAndWait(j, 5, 1000); err != nil { // rotates to a new segment, synced
		t.Fatal(err)
	}
	j.Close()
	fs.Crash()

	j, err = journal.Open("journal", opts)
	if err != nil {
		t.Fatalf("open after the crash: %v", err)
	}
	defer j.Close()
	if got := j.Recovery().LastLSN; got != 5 {
		t.Fatalf("recovered up to LSN %d, want 5", got)
	}
}

// heldJournal is a journal whose records become durable (or fail) only when the test says.
type heldJournal struct {
	mu     sync.Mutex
	held   []func(uint64, error)
	lsn    uint64
	closed bool
}

func (j *heldJournal) Append(_ journal.Record, done func(uint64, error)) {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		done(0, journal.ErrClosed)
		return
	}
	j.held = append(j.held, done)
	j.mu.Unlock()
}

func (j *heldJournal) release(err error) {
	j.mu.Lock()
	held := j.held
	j.held = nil
	j.mu.Unlock()
	for _, done := range held {
		if err != nil {
			done(0, err)
			continue
		}
		j.lsn++
		done(j.lsn, nil)
	}
}

func (j *heldJournal) heldCount() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.held)
}

func (j *heldJournal) Replay(uint64, func(uint64, journal.Record) error) error { return nil }

func (j *heldJournal) Archive(uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return journal.ErrClosed
	}
	return nil
}

// Close answers what is held, as FileJournal.Close commits what is queued.
func (j *heldJournal) Close() error {
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	j.release(nil)
	return nil
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached in 5s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func memberAccount(id ledger.AccountID) shardledger.Command {
	return accountCommand(ledger.Account{ID: id, Kind: ledger.KindMemberPoints})
}

// A batch with nothing to journal waits for the shard's batch before it. If that batch failed
// between the failure check at the top of runBatch and the wait, nothing answered the waiting
// batch and its caller hung. The clock, read in between, fails the journal at that moment.
func TestRegressionBatchAfterFailedBatchIsAnswered(t *testing.T) {
	j := &heldJournal{}
	var failNow atomic.Bool
	clock := func() int64 {
		if failNow.CompareAndSwap(true, false) {
			j.release(errors.New("injected journal failure"))
		}
		return 1
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: 1, Clock: clock, Journal: j},
		func(shard uint32) machineType { return shardledger.New(shard) })
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()

	first := make(chan error, 1)
	go func() { _, err := rt.Submit(0, memberAccount(1)); first <- err }()
	waitUntil(t, "first batch journaled", func() bool { return j.heldCount() == 1 })

	failNow.Store(true)
	second := make(chan error, 1)
	go func() { _, err := rt.Submit(0, memberAccount(0)); second <- err }() // refused: nothing to journal
	select {
	case err := <-second:
		if !errors.Is(err, runtime.ErrShardFailed) {
			t.Fatalf("second request: %v, want the shard's failure", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("second request not answered after its shard failed")
	}
	if err := <-first; !errors.Is(err, runtime.ErrShardFailed) {
		t.Fatalf("first request: %v, want the shard's failure", err)
	}
}

// Close closes the journal and then the snapshot writer, and the journal's last callbacks may
// hand that writer a snapshot; archiving after it then failed with journal.ErrClosed, and a
// clean Close returned an error.
func TestRegressionCloseWithSnapshotInFlight(t *testing.T) {
	j := &heldJournal{}
	fs := journal.NewFaultFS(1)
	dir, err := fs.OpenDir("snapshots")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{
		ShardsCount: 1, Clock: func() int64 { return 1 }, Journal: j,
		Snapshots: runtime.NewDirSnapshotStore(dir), SnapshotEveryBatches: 1,
	}, func(shard uint32) machineType { return shardledger.New(shard) })
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() { _, err := rt.Submit(0, memberAccount(1)); answered <- err }()
	waitUntil(t, "batch journaled", func() bool { return j.heldCount() == 1 })
	if err := rt.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := <-answered; err != nil {
		t.Fatalf("request: %v", err)
	}
}

// Two moves from different shards with the same id to the same account: the second in-leg
// finds the first's id taken and answers exists. The target took that for a redelivery and
// kept the points of the second move in transit for ever; it must send them back.
func TestRegressionMoveIDCollisionComesBack(t *testing.T) {
	fs := journal.NewFaultFS(1)
	j, err := journal.Open("journal", journal.Options{FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: 2, Clock: func() int64 { return 1 }, Journal: j, Invariants: true},
		func(shard uint32) machineType { return shardledger.New(shard) })
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	funding := func(id ledger.AccountID) shardledger.Command {
		return accountCommand(ledger.Account{ID: id, Kind: ledger.KindFederationFunding})
	}
	submit := func(shard uint32, cmd shardledger.Command) {
		t.Helper()
		if r, err := rt.Submit(shard, cmd); err != nil || r != ledger.OK {
			t.Fatalf("shard %d: %v, %v", shard, r, err)
		}
	}
	submit(0, funding(10))
	submit(1, funding(20))
	submit(1, memberAccount(21))
	move := shardledger.Move{ID: 100, ToShard: 1, ToAccountID: 21, AmountFen: 50}
	inTransit := func() (sum int64) {
		for shard := uint32(0); shard < 2; shard++ {
			if err := rt.Inspect(shard, func(m machineType) {
				a, _ := m.(*shardledger.Machine).Ledger().Account(shardledger.InTransitAccountID(shard))
				sum += a.CreditsPostedFen - a.DebitsPostedFen
			}); err != nil {
				t.Fatal(err)
			}
		}
		return sum
	}
	move.FromAccountID = 10
	submit(0, shardledger.Command{Kind: shardledger.MoveCommand, Move: move})
	waitUntil(t, "first move settled", func() bool { return inTransit() == 0 })
	move.FromAccountID = 20 // the same move, as far as the target can tell, from shard 1
	submit(1, shardledger.Command{Kind: shardledger.MoveCommand, Move: move})
	waitUntil(t, "second move back at its source", func() bool { return inTransit() == 0 })
	var back bool
	if err := rt.Inspect(1, func(m machineType) {
		_, back = m.(*shardledger.Machine).Ledger().LookupTransfer(shardledger.BackLegID(100))
	}); err != nil || !back {
		t.Fatalf("no back leg on shard 1: %v", err)
	}
}

// A snapshot Save whose directory fsync failed left its file listed but not durable; after a
// restart without a crash, Load returned it, the runtime recovered from it and archived the
// journal it covers, and a later crash took it away. What Load returns must survive a crash.
func TestRegressionLoadedSnapshotIsDurable(t *testing.T) {
	fs := journal.NewFaultFS(1)
	tfs := journal.NewSyncTrigger(fs)
	dir, err := tfs.OpenDir("snapshots")
	if err != nil {
		t.Fatal(err)
	}
	store := runtime.NewDirSnapshotStore(dir)
	snapshot := func(index uint64) []byte { // the store reads the index at offset 9
		data := make([]byte, 64)
		binary.LittleEndian.PutUint64(data[9:], index)
		return data
	}
	if err := store.Save(0, snapshot(1)); err != nil {
		t.Fatal(err)
	}
	// The second save's fsyncs: the file, then the directory after the rename. Fail the second.
	tfs.Arm(2, func() { fs.SetSyncError(errors.New("injected fsync failure")) })
	if err := store.Save(0, snapshot(2)); err == nil {
		t.Fatal("save with a failing directory fsync succeeded")
	}
	tfs.Disarm()
	fs.SetSyncError(nil)

	dir, err = tfs.OpenDir("snapshots") // a restart without a crash
	if err != nil {
		t.Fatal(err)
	}
	store = runtime.NewDirSnapshotStore(dir)
	before, err := store.Load(0)
	if err != nil {
		t.Fatal(err)
	}
	fs.Crash()
	dir, err = tfs.OpenDir("snapshots")
	if err != nil {
		t.Fatal(err)
	}
	after, err := runtime.NewDirSnapshotStore(dir).Load(0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatalf("Load returned the snapshot of index %d, and after a crash the one of index %d",
			binary.LittleEndian.Uint64(before[9:]), binary.LittleEndian.Uint64(after[9:]))
	}
}
