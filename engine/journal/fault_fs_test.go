package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFaultFSModel(t *testing.T) {
	ffs := NewFaultFS(1)
	dir, err := ffs.OpenDir("d")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data string, sync bool) {
		t.Helper()
		f, err := dir.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
		if sync {
			if err := f.Sync(); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
	}
	write("synced", "abc", true)
	write("unsynced", "abc", false)
	write("unlisted", "abc", true)
	if err := dir.SyncDir("."); err != nil {
		t.Fatal(err)
	}
	write("late", "abc", true) // its entry is never synced
	f, _ := dir.OpenAppend("synced")
	f.Write([]byte("def"))
	if err := dir.Rename("unlisted", "renamed"); err != nil {
		t.Fatal(err)
	}
	ffs.Crash()

	if _, err := f.Write([]byte("x")); !errors.Is(err, ErrCrashed) {
		t.Fatalf("write through a handle from before the crash: %v", err)
	}
	if _, err := dir.List("."); !errors.Is(err, ErrCrashed) {
		t.Fatalf("list through a directory from before the crash: %v", err)
	}
	dir, _ = ffs.OpenDir("d")
	names, _ := dir.List(".")
	if !slices.Equal(names, []string{"synced", "unlisted", "unsynced"}) {
		t.Fatalf("after crash: %v", names)
	}
	for name, want := range map[string]string{"synced": "abc", "unsynced": "", "unlisted": "abc"} {
		if got, _ := ffs.ReadFile("d/" + name); string(got) != want {
			t.Errorf("%s holds %q, want %q", name, got, want)
		}
	}

	// A truncate into synced bytes is undone by a crash unless synced.
	f, _ = dir.OpenAppend("synced")
	f.Truncate(1)
	f.Write([]byte("Z"))
	ffs.Crash()
	if got, _ := ffs.ReadFile("d/synced"); string(got) != "abc" {
		t.Fatalf("unsynced truncate survived: %q", got)
	}

	// A rename synced only in its destination leaves the file in both places.
	dir, _ = ffs.OpenDir("d")
	dir.Mkdir("sub")
	dir.SyncDir(".")
	dir.Rename("synced", "sub/synced")
	dir.SyncDir("sub")
	ffs.Crash()
	for _, name := range []string{"d/synced", "d/sub/synced"} {
		if got, _ := ffs.ReadFile(name); string(got) != "abc" {
			t.Errorf("%s holds %q after a half-synced rename", name, got)
		}
	}
	if _, err := ffs.ReadFile("d/late"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file whose entry was never synced survived: %v", err)
	}

	// A removal is undone by a crash unless its directory is synced.
	dir, _ = ffs.OpenDir("d")
	if err := dir.Remove("unsynced"); err != nil {
		t.Fatal(err)
	}
	ffs.Crash()
	if _, err := ffs.ReadFile("d/unsynced"); err != nil {
		t.Fatalf("an unsynced removal survived the crash: %v", err)
	}
	dir, _ = ffs.OpenDir("d")
	dir.Remove("unsynced")
	dir.SyncDir(".")
	ffs.Crash()
	if _, err := ffs.ReadFile("d/unsynced"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a synced removal was undone: %v", err)
	}
}

func TestFaultFSCrashTornIsDeterministic(t *testing.T) {
	run := func() ([]byte, TornWrite) {
		ffs := NewFaultFS(42)
		dir, _ := ffs.OpenDir("d")
		f, _ := dir.Create("f")
		dir.SyncDir(".")
		f.Write([]byte("synced part "))
		f.Sync()
		f.Write([]byte("unsynced part that may be torn"))
		torn := ffs.CrashTorn()
		data, _ := ffs.ReadFile("d/f")
		return data, torn
	}
	data, torn := run()
	again, tornAgain := run()
	if !slices.Equal(data, again) || torn != tornAgain {
		t.Fatalf("same seed, different crash: %q %+v, %q %+v", data, torn, again, tornAgain)
	}
	if string(data[:12]) != "synced part " || len(data) != 12+torn.KeptBytes || torn.UnsyncedBytes != 30 {
		t.Fatalf("torn write %+v left %q", torn, data)
	}
}

// TestCrashRecovery is the simulation: rounds of concurrent appends from several shards, ended by
// a crash, a torn crash or a clean close, each followed by recovery. After every recovery:
// everything acknowledged is there at its LSN (Durable-before-done), nothing is there that was
// not appended, LSNs are contiguous, each shard's indexes increase (In-order), and what an earlier
// recovery found is unchanged. A failure prints the seed.
func TestCrashRecovery(t *testing.T) {
	roundsCount := 40
	if testing.Short() {
		roundsCount = 15
	}
	for seed := int64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			newSimulation(t, seed).run(roundsCount)
		})
	}
}

type simulation struct {
	t      *testing.T
	seed   int64
	random *rand.Rand
	fs     *FaultFS
	opts   Options

	appended map[string]Record // by payload, which is unique
	history  map[uint64]string // payload at each LSN, as recovered
	acked    map[uint64]string // payload at each LSN, as acknowledged
	nonce    int

	// What the rounds exercised, logged so a change that stops exercising something shows.
	tailCuts, flips, archives int
}

// The simulation's shards append records; one more shard, probeShard, appends the records that
// probe for a failed fsync.
const (
	simulationShardsCount = 4
	probeShard            = simulationShardsCount
)

func newSimulation(t *testing.T, seed int64) *simulation {
	random := rand.New(rand.NewPCG(uint64(seed), 7))
	fs := NewFaultFS(seed)
	return &simulation{
		t:      t,
		seed:   seed,
		random: random,
		fs:     fs,
		opts: Options{
			FS:                    fs,
			SegmentBytes:          int64(256 + random.IntN(4096)),
			GroupRecordsMax:       1 + random.IntN(64),
			GroupBytesMax:         2048 + random.IntN(8192),
			RecordPayloadBytesMax: 512,
		},
		appended: map[string]Record{},
		history:  map[uint64]string{},
		acked:    map[uint64]string{},
	}
}

func (s *simulation) fatalf(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d: %s", s.seed, fmt.Sprintf(format, args...))
}

func (s *simulation) run(roundsCount int) {
	for round := range roundsCount {
		j, err := Open("wal", s.opts)
		if err != nil {
			s.fatalf("round %d: open: %v", round, err)
		}
		nextIndex := s.check(round, j)
		s.appendThenStop(round, j, nextIndex)
	}
	s.t.Logf("%d rounds: %d tail cuts, %d flipped bytes, %d archives, %d records appended",
		roundsCount, s.tailCuts, s.flips, s.archives, len(s.appended))
	if s.tailCuts == 0 {
		s.fatalf("no round cut a torn tail: the simulation no longer tests recovery")
	}
}

// check verifies the recovered journal against the model and returns each shard's next index.
func (s *simulation) check(round int, j *FileJournal) [simulationShardsCount + 1]uint64 {
	r := j.Recovery()
	if r.TailCutBytes > 0 {
		s.tailCuts++
	}
	var nextIndex [simulationShardsCount + 1]uint64
	lsn := r.FirstLSN
	err := j.Replay(r.FirstLSN, func(got uint64, rec Record) error {
		payload := string(rec.Payload)
		want, ok := s.appended[payload]
		switch {
		case got != lsn:
			return fmt.Errorf("LSN %d where %d belongs", got, lsn)
		case !ok || !sameRecord(rec, want):
			return fmt.Errorf("LSN %d holds %q, which was never appended", got, payload)
		case s.history[got] != "" && s.history[got] != payload:
			return fmt.Errorf("LSN %d changed from %q to %q", got, s.history[got], payload)
		case s.acked[got] != "" && s.acked[got] != payload:
			return fmt.Errorf("LSN %d acknowledged as %q, recovered as %q", got, s.acked[got], payload)
		case rec.Index != nextIndex[rec.Shard] && nextIndex[rec.Shard] != 0:
			return fmt.Errorf("shard %d: index %d where %d belongs", rec.Shard, rec.Index, nextIndex[rec.Shard])
		}
		s.history[got] = payload
		nextIndex[rec.Shard] = rec.Index + 1
		lsn++
		return nil
	})
	if err != nil {
		s.fatalf("round %d: replay: %v", round, err)
	}
	if lsn-1 != r.LastLSN {
		s.fatalf("round %d: replayed up to LSN %d, recovery says %d", round, lsn-1, r.LastLSN)
	}
	for ackedLSN, payload := range s.acked {
		if ackedLSN < r.FirstLSN {
			// Archived: Replay no longer reaches it, so the model forgets it.
			delete(s.acked, ackedLSN)
			delete(s.history, ackedLSN)
			continue
		}
		if ackedLSN > r.LastLSN || s.history[ackedLSN] != payload {
			s.fatalf("round %d: acknowledged LSN %d (%q) lost; recovered up to %d (%+v)", round, ackedLSN, payload, r.LastLSN, r)
		}
	}
	for shard := range nextIndex {
		nextIndex[shard] = max(nextIndex[shard], 1)
	}
	return nextIndex
}

func (s *simulation) countFlip(torn TornWrite) {
	if torn.Flipped {
		s.flips++
	}
}

// newRecord makes a record with a payload no other record has, and remembers it.
func (s *simulation) newRecord(round int, shard uint32, index uint64) Record {
	s.nonce++
	payload := fmt.Appendf(nil, "round=%d shard=%d nonce=%d ", round, shard, s.nonce)
	payload = append(payload, make([]byte, s.random.IntN(200))...)
	rec := Record{Shard: shard, Index: index, TimeNanos: int64(s.nonce), Payload: payload}
	s.appended[string(payload)] = rec
	return rec
}

// appendThenStop runs one round of appends and ends it with a crash, a torn crash, a failing
// fsync then a torn crash, or a clean close.
func (s *simulation) appendThenStop(round int, j *FileJournal, nextIndex [simulationShardsCount + 1]uint64) {
	type ack struct {
		lsn     uint64
		payload string
	}
	var mu sync.Mutex
	var acks []ack
	var ackCount atomic.Int64
	var wg sync.WaitGroup
	perShard := 10 + s.random.IntN(80)
	for shard := range uint32(simulationShardsCount) {
		records := make([]Record, perShard)
		for i := range records {
			records[i] = s.newRecord(round, shard, nextIndex[shard]+uint64(i))
		}
		waitEvery := 1 + s.random.IntN(16)
		wg.Go(func() {
			for i, rec := range records {
				answered := make(chan struct{})
				j.Append(rec, func(lsn uint64, err error) {
					if err == nil {
						mu.Lock()
						acks = append(acks, ack{lsn, string(rec.Payload)})
						mu.Unlock()
						ackCount.Add(1)
					}
					close(answered)
				})
				if i%waitEvery == 0 {
					<-answered
				}
			}
		})
	}

	// Let a random share of the records be acknowledged, then stop the round.
	target := int64(s.random.IntN(perShard * simulationShardsCount))
	for deadline := time.Now().Add(2 * time.Second); ackCount.Load() < target && time.Now().Before(deadline); {
		time.Sleep(50 * time.Microsecond)
	}
	if s.random.IntN(2) == 0 {
		if err := j.Archive(j.LastLSN() / 2); err != nil {
			s.fatalf("round %d: archive: %v", round, err)
		}
		s.archives++
	}
	switch s.random.IntN(4) {
	case 0:
		s.fs.Crash()
	case 1:
		s.countFlip(s.fs.CrashTorn())
	case 2:
		// An fsync fails, so the last group stays written but unsynced, then the crash tears it.
		s.fs.SetSyncError(errors.New("injected EIO"))
		for index := nextIndex[probeShard]; ; index++ {
			if _, err := appendWait(j, s.newRecord(round, probeShard, index)); err != nil {
				break
			}
		}
		s.countFlip(s.fs.CrashTorn())
		s.fs.SetSyncError(nil)
	default:
		wg.Wait()
		if err := j.Close(); err != nil {
			s.fatalf("round %d: close: %v", round, err)
		}
	}
	wg.Wait()
	j.Close() // after a crash this reports the crash; every pending done has been called
	if _, err := appendWait(j, Record{}); !errors.Is(err, ErrClosed) {
		s.fatalf("round %d: append to the old journal: %v", round, err)
	}
	for _, a := range acks {
		s.acked[a.lsn] = a.payload
	}
}
