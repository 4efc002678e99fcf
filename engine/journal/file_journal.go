package journal

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// FileJournal is the embedded journal: segment files in one directory, written by one writer
// goroutine that group-commits the records of all shards.
type FileJournal struct {
	opts Options
	dir  Dir

	// mu guards the queue: the group being filled, the LSN counter and the closing flag.
	mu      sync.Mutex
	work    sync.Cond // signalled when the group being filled gets its first record, or on Close
	space   sync.Cond // broadcast when the writer takes the group being filled, or on Close
	fill    *group
	nextLSN uint64
	closing bool

	// Owned by the writer goroutine (and by Open and Close around it).
	active      File
	activeName  string
	activeBytes int64
	writerErr   error
	writerDone  chan struct{}

	// segmentsMu guards segments, which the writer extends and Archive shortens.
	segmentsMu sync.Mutex
	segments   []segment

	// archiveMu keeps Archive and Replay from moving and reading the same files at once.
	archiveMu sync.Mutex

	lastLSN  atomic.Uint64
	appended atomic.Bool
	stats    writerStats
	recovery Recovery

	closeOnce sync.Once
	closeErr  error
}

var _ Journal = (*FileJournal)(nil)

// Open opens the journal in directory path, creating it if needed, and recovers it: it verifies
// every record of every live segment, cuts a torn tail of the last segment and fails with
// ErrCorrupt on damage anywhere else. Then it starts the writer.
func Open(path string, opts Options) (*FileJournal, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	dir, err := opts.FS.OpenDir(path)
	if err != nil {
		return nil, err
	}
	j, err := open(dir, opts)
	if err != nil {
		dir.Close()
		return nil, err
	}
	return j, nil
}

func open(dir Dir, opts Options) (*FileJournal, error) {
	r, err := recoverSegments(dir)
	if err != nil {
		return nil, err
	}
	j := &FileJournal{
		opts:       opts,
		dir:        dir,
		fill:       &group{},
		nextLSN:    r.lastLSN + 1,
		segments:   r.segments,
		writerDone: make(chan struct{}),
		recovery: Recovery{
			LastLSN:      r.lastLSN,
			TailCutBytes: r.tailCutBytes,
			TailCutCause: r.tailCutCause,
		},
	}
	j.work.L = &j.mu
	j.space.L = &j.mu
	j.lastLSN.Store(r.lastLSN)

	if len(r.segments) == 0 {
		// A new journal: its first segment exists, durably, before the first record.
		j.activeName = segmentName(1)
		if j.active, err = dir.Create(j.activeName); err != nil {
			return nil, fmt.Errorf("journal: create segment %s: %w", j.activeName, err)
		}
		if err := dir.SyncDir("."); err != nil {
			j.active.Close()
			return nil, fmt.Errorf("journal: sync directory: %w", err)
		}
		j.stats.dirSyncCount.Add(1)
		j.segments = []segment{{name: j.activeName, firstLSN: 1}}
	} else {
		j.activeName = r.segments[len(r.segments)-1].name
		if j.active, err = dir.OpenAppend(j.activeName); err != nil {
			return nil, fmt.Errorf("journal: open segment %s: %w", j.activeName, err)
		}
		j.activeBytes = r.activeBytes
		if r.tailCutBytes > 0 {
			if err := j.cutTail(r.activeBytes); err != nil {
				j.active.Close()
				return nil, err
			}
		} else if err := j.active.Sync(); err != nil {
			// Recovery read what the files hold, synced or not: after a failed fsync and a
			// restart without a crash, the last group may be there but not durable. The
			// caller replays it and acts on it, and a rotation would never sync this file
			// again, so make it durable now (as PostgreSQL fsyncs its data at crash recovery).
			j.active.Close()
			return nil, fmt.Errorf("journal: sync segment %s: %w", j.activeName, err)
		}
		// Likewise a segment created before a failed directory fsync is listed but not durable.
		if err := dir.SyncDir("."); err != nil {
			j.active.Close()
			return nil, fmt.Errorf("journal: sync directory: %w", err)
		}
		j.stats.dirSyncCount.Add(1)
	}
	j.recovery.SegmentCount = len(j.segments)
	j.recovery.FirstLSN = j.segments[0].firstLSN
	go j.runWriter()
	return j, nil
}

// cutTail truncates the last segment at its last good record and syncs the cut, so that the
// next records follow the good ones on disk.
func (j *FileJournal) cutTail(size int64) error {
	if err := j.active.Truncate(size); err != nil {
		return fmt.Errorf("journal: cut torn tail of segment %s: %w", j.activeName, err)
	}
	if err := j.active.Sync(); err != nil {
		return fmt.Errorf("journal: sync cut of segment %s: %w", j.activeName, err)
	}
	return nil
}

// Recovery says what Open found.
func (j *FileJournal) Recovery() Recovery { return j.recovery }

// LastLSN implements Journal.
func (j *FileJournal) LastLSN() uint64 { return j.lastLSN.Load() }

// Stats returns the writer's counters.
func (j *FileJournal) Stats() Stats {
	return Stats{
		FsyncCount:          j.stats.fsyncCount.Load(),
		DirSyncCount:        j.stats.dirSyncCount.Load(),
		GroupCount:          j.stats.groupCount.Load(),
		RecordCount:         j.stats.recordCount.Load(),
		WrittenBytes:        j.stats.writtenBytes.Load(),
		GroupRecordsLargest: j.stats.groupRecordsLargest.Load(),
	}
}

// Replay implements Journal. It reads the segments from disk and verifies every checksum again.
// It is valid only before the first Append: the writer owns the last segment from then on. The
// payloads handed to fn stay valid after fn returns (each segment is read into its own buffer).
func (j *FileJournal) Replay(from uint64, fn func(lsn uint64, rec Record) error) error {
	j.archiveMu.Lock()
	defer j.archiveMu.Unlock()
	j.mu.Lock()
	closing := j.closing
	j.mu.Unlock()
	switch {
	case closing:
		return ErrClosed
	case j.appended.Load():
		return ErrReplayAfterAppend
	}
	from = max(from, 1)
	j.segmentsMu.Lock()
	segments := append([]segment(nil), j.segments...)
	j.segmentsMu.Unlock()
	if from < segments[0].firstLSN {
		return fmt.Errorf("%w: replay from LSN %d, oldest live LSN is %d", ErrArchived, from, segments[0].firstLSN)
	}
	start := 0
	for i, seg := range segments {
		if seg.firstLSN <= from {
			start = i
		}
	}
	visit := func(lsn uint64, rec Record) error {
		if lsn < from {
			return nil
		}
		if err := fn(lsn, rec); err != nil {
			return fmt.Errorf("journal: replay at LSN %d: %w", lsn, err)
		}
		return nil
	}
	lastLSN := j.lastLSN.Load()
	for _, seg := range segments[start:] {
		data, err := readSegment(j.dir, seg.name, nil)
		if err != nil {
			return err
		}
		scan, err := scanSegment(data, seg, visit)
		if err != nil {
			return err
		}
		if scan.damage != nil {
			return damageError(seg, scan.end, scan.nextLSN, scan.damage, " (found at replay, after recovery)")
		}
		if scan.nextLSN > lastLSN+1 {
			return fmt.Errorf("%w: segment %s holds LSN %d beyond the last recovered LSN %d", ErrCorrupt, seg.name, scan.nextLSN-1, lastLSN)
		}
	}
	return nil
}

// Archive implements Journal: it moves whole segments whose every record has LSN < before into
// the archive subdirectory, never the segment being written. Archive-not-delete: old segments are
// the audit trail. It syncs the archive directory before the journal directory, so a crash in
// between leaves a segment in both places rather than in neither.
func (j *FileJournal) Archive(before uint64) error {
	j.archiveMu.Lock()
	defer j.archiveMu.Unlock()
	j.mu.Lock()
	closing := j.closing
	j.mu.Unlock()
	if closing {
		return ErrClosed
	}
	j.segmentsMu.Lock()
	var victims []segment
	for i := 0; i+1 < len(j.segments) && j.segments[i+1].firstLSN <= before; i++ {
		victims = append(victims, j.segments[i])
	}
	j.segmentsMu.Unlock()
	if len(victims) == 0 {
		return nil
	}
	if err := j.dir.Mkdir(archiveDirName); err != nil {
		return fmt.Errorf("journal: create archive directory: %w", err)
	}
	if err := j.dir.SyncDir("."); err != nil {
		return fmt.Errorf("journal: sync directory: %w", err)
	}
	j.stats.dirSyncCount.Add(1)
	moved := 0
	var err error
	for _, seg := range victims {
		if err = j.dir.Rename(seg.name, archiveDirName+"/"+seg.name); err != nil {
			err = fmt.Errorf("journal: archive segment %s: %w", seg.name, err)
			break
		}
		moved++
	}
	if moved > 0 {
		if syncErr := j.dir.SyncDir(archiveDirName); syncErr != nil {
			return errors.Join(err, fmt.Errorf("journal: sync archive directory: %w", syncErr))
		}
		if syncErr := j.dir.SyncDir("."); syncErr != nil {
			return errors.Join(err, fmt.Errorf("journal: sync directory: %w", syncErr))
		}
		j.stats.dirSyncCount.Add(2)
		j.segmentsMu.Lock()
		j.segments = append([]segment(nil), j.segments[moved:]...)
		j.segmentsMu.Unlock()
	}
	return err
}

// Close implements Journal: it lets the writer commit everything queued, stops it and closes
// the files. Appends that come after fail with ErrClosed. It returns the writer's error, if the
// writer failed.
func (j *FileJournal) Close() error {
	j.closeOnce.Do(func() {
		j.mu.Lock()
		j.closing = true
		j.mu.Unlock()
		j.work.Signal()
		j.space.Broadcast()
		<-j.writerDone
		j.closeErr = errors.Join(j.writerErr, j.active.Close(), j.dir.Close())
	})
	return j.closeErr
}
