package journal

import (
	"fmt"
	"sync/atomic"
	"time"
)

// group is the records of one group commit: encoded back to back in buf, written with one Write
// and synced with one fsync. Two groups take turns: appenders fill one while the writer writes the
// other, and both keep their buffers, so the hot path allocates nothing once they have grown.
type group struct {
	buf         []byte
	completions []completion
	firstLSN    uint64 // LSN of the first record, valid when records > 0
	records     int    // completions that carry a record (others are rejections)
}

// completion is one Append waiting for its done call.
type completion struct {
	done func(lsn uint64, err error)
	lsn  uint64
	err  error // set for a record rejected at Append, which is answered in order with the rest
}

func (g *group) reset() {
	clear(g.completions) // drop the callers' closures so they can be collected
	g.completions = g.completions[:0]
	g.buf = g.buf[:0]
	g.records = 0
}

// Append implements Journal. It assigns the LSN, encodes the record into the group being filled
// and wakes the writer; it blocks while that group is full. done is called from the writer
// goroutine, in Append order, except after Close: then Append calls done(0, ErrClosed) itself.
func (j *FileJournal) Append(rec Record, done func(lsn uint64, err error)) {
	j.AppendSequenced(rec, done)
}

// AppendSequenced is Append that reports whether the record took an LSN: false when it was
// refused at once (too large, or the journal is closing), and done gets the error. A record
// that took an LSN becomes durable only after every record with a smaller LSN (records are
// written in LSN order and a failed write fails every later one), so a shard may act on another
// shard's record as soon as it is sequenced: whatever it journals after depends on a record that
// is durable first.
func (j *FileJournal) AppendSequenced(rec Record, done func(lsn uint64, err error)) bool {
	if !j.appended.Load() {
		j.appended.Store(true)
	}
	frameBytes := recordHeaderBytes + len(rec.Payload)
	tooLarge := len(rec.Payload) > j.opts.RecordPayloadBytesMax

	j.mu.Lock()
	for !j.closing && j.fillIsFull(frameBytes, tooLarge) {
		j.space.Wait()
	}
	if j.closing {
		j.mu.Unlock()
		done(0, ErrClosed)
		return false
	}
	g := j.fill
	wasEmpty := len(g.completions) == 0
	if tooLarge {
		err := fmt.Errorf("%w: %d bytes, at most %d", ErrPayloadTooLarge, len(rec.Payload), j.opts.RecordPayloadBytesMax)
		g.completions = append(g.completions, completion{done: done, err: err})
	} else {
		lsn := j.nextLSN
		j.nextLSN++
		if g.records == 0 {
			g.firstLSN = lsn
		}
		g.buf = appendFrame(g.buf, lsn, uint32(lsn-g.firstLSN), &rec)
		g.records++
		g.completions = append(g.completions, completion{done: done, lsn: lsn})
	}
	j.mu.Unlock()
	if wasEmpty {
		j.work.Signal()
	}
	return !tooLarge
}

// fillIsFull reports whether the group being filled cannot take one more record of frameBytes.
// A group always takes its first record, which fits by the limits checked at Open.
func (j *FileJournal) fillIsFull(frameBytes int, tooLarge bool) bool {
	g := j.fill
	if len(g.completions) >= j.opts.GroupRecordsMax {
		return true
	}
	return !tooLarge && g.records > 0 && len(g.buf)+frameBytes > j.opts.GroupBytesMax
}

// runWriter is the writer goroutine: it takes the whole group being filled, commits it with one
// write and one fsync, then answers its appenders in order. It exits once Close is called and
// the queue is empty.
func (j *FileJournal) runWriter() {
	defer close(j.writerDone)
	g := &group{}
	for {
		j.mu.Lock()
		for len(j.fill.completions) == 0 && !j.closing {
			j.work.Wait()
		}
		if len(j.fill.completions) == 0 {
			j.mu.Unlock()
			return
		}
		g, j.fill = j.fill, g
		j.mu.Unlock()
		j.space.Broadcast()

		err := j.commit(g)
		for _, c := range g.completions {
			switch {
			case c.err != nil:
				c.done(0, c.err)
			case err != nil:
				c.done(0, err)
			default:
				c.done(c.lsn, nil)
			}
		}
		g.reset()
	}
}

// commit makes one group durable. After the first failure every later commit fails with the same
// error: once a write or an fsync has failed, what reached the disk is unknown, so the journal
// writes nothing more until it is reopened and recovered.
func (j *FileJournal) commit(g *group) error {
	if j.writerErr != nil {
		return j.writerErr
	}
	if g.records == 0 {
		return nil
	}
	if g.firstLSN != j.lastLSN.Load()+1 {
		panic(fmt.Sprintf("journal: group starts at LSN %d after LSN %d", g.firstLSN, j.lastLSN.Load()))
	}
	if invariantsEnabled {
		assertGroupEncoding(g)
	}
	if j.activeBytes >= j.opts.SegmentBytes {
		if err := j.rotate(g.firstLSN); err != nil {
			j.writerErr = err
			return err
		}
	}
	n, err := j.active.Write(g.buf)
	j.activeBytes += int64(n)
	j.stats.writtenBytes.Add(uint64(n))
	if err != nil {
		j.writerErr = fmt.Errorf("journal: write segment %s: %w", j.activeName, err)
		return j.writerErr
	}
	start := time.Now()
	err = j.active.Sync()
	if j.opts.FsyncLatency != nil {
		j.opts.FsyncLatency(time.Since(start))
	}
	j.stats.fsyncCount.Add(1)
	if err != nil {
		j.writerErr = fmt.Errorf("journal: sync segment %s: %w", j.activeName, err)
		return j.writerErr
	}
	j.lastLSN.Store(g.firstLSN + uint64(g.records) - 1)
	j.stats.groupCount.Add(1)
	j.stats.recordCount.Add(uint64(g.records))
	if uint64(g.records) > j.stats.groupRecordsLargest.Load() {
		j.stats.groupRecordsLargest.Store(uint64(g.records))
	}
	return nil
}

// rotate starts a new segment named by the first LSN it will hold. The previous segment was
// synced with its last group. The new file's directory entry is synced before any record goes
// into it, so a record acknowledged from it cannot vanish with its file.
func (j *FileJournal) rotate(firstLSN uint64) error {
	name := segmentName(firstLSN)
	f, err := j.dir.Create(name)
	if err != nil {
		return fmt.Errorf("journal: create segment %s: %w", name, err)
	}
	if err := j.dir.SyncDir("."); err != nil {
		f.Close()
		return fmt.Errorf("journal: sync directory for segment %s: %w", name, err)
	}
	j.stats.dirSyncCount.Add(1)
	if err := j.active.Close(); err != nil {
		f.Close()
		return fmt.Errorf("journal: close segment %s: %w", j.activeName, err)
	}
	j.active, j.activeName, j.activeBytes = f, name, 0
	j.segmentsMu.Lock()
	j.segments = append(j.segments, segment{name: name, firstLSN: firstLSN})
	j.segmentsMu.Unlock()
	return nil
}

// assertGroupEncoding decodes a group before it is written and checks every checksum and LSN:
// the debug half of "check the checksum when writing".
func assertGroupEncoding(g *group) {
	offset := 0
	for i := range g.records {
		f, n, err := decodeFrame(g.buf[offset:])
		if err != nil || f.lsn != g.firstLSN+uint64(i) || f.groupPosition != uint32(i) {
			panic(fmt.Sprintf("journal: group record %d at offset %d does not verify: %v", i, offset, err))
		}
		offset += n
	}
	if offset != len(g.buf) {
		panic(fmt.Sprintf("journal: group holds %d bytes after its %d records, want %d", len(g.buf), g.records, offset))
	}
}

// writerStats are the counters behind Stats, written by the writer and read by anyone.
type writerStats struct {
	fsyncCount          atomic.Uint64
	dirSyncCount        atomic.Uint64
	groupCount          atomic.Uint64
	recordCount         atomic.Uint64
	writtenBytes        atomic.Uint64
	groupRecordsLargest atomic.Uint64
}
