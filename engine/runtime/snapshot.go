package runtime

import (
	"errors"
	"fmt"
	"sync"

	"huigong/engine/journal"
)

// SnapshotStore keeps each shard's newest snapshots. Save must be durable when it returns:
// write a temporary file, fsync it, rename it, fsync the directory. Load returns the newest
// snapshot whose checksum verifies, or nil if there is none.
type SnapshotStore interface {
	Save(shard uint32, data []byte) error
	Load(shard uint32) ([]byte, error)
}

// The snapshot body: a header, the envelope, then the machine's state.
const (
	snapshotMagic         = 0x4e534748 // "HGSN"
	snapshotFormatVersion = 1
	snapshotLSNOffset     = 4 + 1 + 4 + 8
)

func (s *shard[C, R]) snapshotDue() bool {
	if s.rt.opts.Snapshots == nil {
		return false
	}
	if s.snapshotRequested.CompareAndSwap(true, false) {
		return true
	}
	every := s.rt.opts.SnapshotEveryBatches
	return every > 0 && s.sinceSnap >= every
}

// appendSnapshot serializes the shard at a batch boundary. The journal position is patched in
// when the batch is durable, since only then is it known.
func (s *shard[C, R]) appendSnapshot(dst []byte) []byte {
	dst = le.AppendUint32(dst, snapshotMagic)
	dst = append(dst, snapshotFormatVersion)
	dst = le.AppendUint32(dst, s.id)
	dst = le.AppendUint64(dst, s.index)
	dst = le.AppendUint64(dst, 0) // LSN, patched later.
	dst = le.AppendUint64(dst, uint64(s.lastNowNanos))
	dst = s.env.appendTo(dst)
	return s.machine.AppendSnapshot(dst)
}

// restoreSnapshot loads a snapshot into the shard.
func (s *shard[C, R]) restoreSnapshot(data []byte) error {
	r := reader{b: data}
	magic, version, id := r.u32(), r.u8(), r.u32()
	if r.err == nil && (magic != snapshotMagic || version != snapshotFormatVersion || id != s.id) {
		return fmt.Errorf("%w: snapshot header %x/%d for shard %d, want shard %d", ErrCorrupt, magic, version, id, s.id)
	}
	s.index, s.snapshotLSN, s.lastNowNanos = r.u64(), r.u64(), int64(r.u64())
	s.env.readFrom(&r, s.rt.opts.ShardsCount)
	if r.err != nil {
		return fmt.Errorf("shard %d snapshot: %w", s.id, r.err)
	}
	if err := s.machine.Restore(r.b); err != nil {
		return fmt.Errorf("shard %d snapshot: %w", s.id, err)
	}
	s.durableIndex, s.durableLSN = s.index, s.snapshotLSN
	return nil
}

// snapshotWriter writes snapshots off the loops, and archives journal segments that every
// shard's snapshot covers.
type snapshotWriter struct {
	store   SnapshotStore
	journal Journal
	jobs    chan snapshotJob
	done    chan struct{}
	covered []uint64 // by shard: the journal position its newest snapshot covers

	mu  sync.Mutex
	err error
}

type snapshotJob struct {
	shard uint32
	lsn   uint64
	data  []byte
}

const snapshotJobsMax = 1024

func newSnapshotWriter(store SnapshotStore, j Journal, shardsCount int) *snapshotWriter {
	return &snapshotWriter{
		store: store, journal: j,
		jobs: make(chan snapshotJob, snapshotJobsMax), done: make(chan struct{}),
		covered: make([]uint64, shardsCount),
	}
}

func (w *snapshotWriter) submit(shard uint32, lsn uint64, data []byte) {
	le.PutUint64(data[snapshotLSNOffset:], lsn)
	select {
	case w.jobs <- snapshotJob{shard: shard, lsn: lsn, data: data}:
	default:
		// The writer is behind: skip this snapshot; a later one covers more anyway.
	}
}

func (w *snapshotWriter) run() {
	defer close(w.done)
	for job := range w.jobs {
		if err := w.store.Save(job.shard, job.data); err != nil {
			w.setErr(fmt.Errorf("runtime: snapshot of shard %d: %w", job.shard, err))
			continue
		}
		w.covered[job.shard] = job.lsn
		before := w.covered[0]
		for _, c := range w.covered {
			before = min(before, c)
		}
		if before > 0 {
			// Close closes the journal before this writer, and the journal's last callbacks may
			// still hand it snapshots: archiving is then left to the next run, not an error.
			if err := w.journal.Archive(before); err != nil && !errors.Is(err, journal.ErrClosed) {
				w.setErr(fmt.Errorf("runtime: archive before %d: %w", before, err))
			}
		}
	}
}

func (w *snapshotWriter) setErr(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
}

func (w *snapshotWriter) close() error {
	close(w.jobs)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}
