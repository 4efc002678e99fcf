package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
)

// readChunkBytes is how much of a segment a Reader reads at a time. Its buffer grows past it only
// to hold one record larger than that, so its memory is bounded by the largest record, not by
// the segment or the journal.
const readChunkBytes = 1 << 20

// Reader reads the durable records of a journal in LSN order, from the segment files on disk
// (archived ones included), while the writer goes on appending. It remembers where it stopped,
// so a follower that polls the journal reads each record once rather than rescanning the
// segment being written on every poll.
//
// Durable-only: each Read stops at the LSN that was durable when the Read started (LastLSN), so
// it never hands over a record that a crash could still take away. It opens its own file handles
// through the journal's Dir and takes no lock the writer holds while writing.
//
// Checksum-on-read holds here too: every record handed over has been verified, and a record
// before the durable LSN that fails to verify, or breaks the LSN sequence, is an error wrapping
// ErrCorrupt. A Reader is not safe for concurrent use; several Readers may run at once.
type Reader struct {
	dir Dir
	// durable returns the durable LSN, read first, then the live segments. A segment holding a
	// record at or before that LSN is in the list or, having been archived since, in archive/.
	durable func() (lastLSN uint64, live []segment, err error)

	next uint64 // LSN of the next record to hand over

	// The position reached: the record with LSN posLSN starts at posOffset of segment pos.
	pos       segment
	posOffset int64
	posLSN    uint64

	// buf holds bytes of segment pos from file offset bufOffset.
	buf       []byte
	bufOffset int64
}

// NewReader returns a Reader of j's durable records from LSN from on.
func (j *FileJournal) NewReader(from uint64) *Reader {
	return &Reader{dir: j.dir, durable: j.durableSegments, next: max(from, 1)}
}

// ReadDurable calls fn for every record with LSN >= from, in order, up to LastLSN as it was when
// the call started, reading archived segments and then live ones from disk. It is safe to call
// while the writer appends, and at any time between Open and Close (unlike Replay). The payload
// handed to fn is valid only until fn returns. An error from fn stops the read and is returned,
// wrapped.
func (j *FileJournal) ReadDurable(from uint64, fn func(lsn uint64, rec Record) error) error {
	return j.NewReader(from).Read(fn)
}

// durableSegments reads the durable LSN before the segment list: the writer adds a segment to the
// list before it writes the first record into it, so every record up to that LSN is in a listed
// segment (or in one archived since).
func (j *FileJournal) durableSegments() (uint64, []segment, error) {
	j.mu.Lock()
	closing := j.closing
	j.mu.Unlock()
	if closing {
		return 0, nil, ErrClosed
	}
	lastLSN := j.lastLSN.Load()
	j.segmentsMu.Lock()
	live := slices.Clone(j.segments)
	j.segmentsMu.Unlock()
	return lastLSN, live, nil
}

// ReadDir reads the journal in directory path of fsys (nil means OSFS) without opening it for
// writing, for offline tools: it calls fn for every record with LSN >= from, archived segments
// included, in order. It recovers the way Open does, without changing anything on disk: damage
// in the middle is an error wrapping ErrCorrupt, and a torn tail of the last segment is where
// the records end. The journal must not be written meanwhile; a live journal is read with
// ReadDurable. Like OSFS.OpenDir, it creates the directory if it is missing.
func ReadDir(fsys FS, path string, from uint64, fn func(lsn uint64, rec Record) error) error {
	if fsys == nil {
		fsys = OSFS{}
	}
	dir, err := fsys.OpenDir(path)
	if err != nil {
		return err
	}
	defer dir.Close()
	r, err := recoverSegments(dir)
	if err != nil {
		return err
	}
	reader := &Reader{dir: dir, next: max(from, 1), durable: func() (uint64, []segment, error) {
		return r.lastLSN, r.segments, nil
	}}
	return reader.Read(fn)
}

// Next is the LSN of the next record Read will hand over.
func (r *Reader) Next() uint64 { return r.next }

// Read calls fn for every durable record from Next on, in order, up to the durable LSN as it was
// when Read started, and advances Next past them. The payload handed to fn aliases the Reader's
// buffer: it is valid only until fn returns. When fn fails, Read returns its error wrapped and
// Next stays at that record, so the next Read hands it over again.
func (r *Reader) Read(fn func(lsn uint64, rec Record) error) error {
	lastLSN, live, err := r.durable()
	if err != nil {
		return err
	}
	if r.next > lastLSN {
		return nil
	}
	segments, err := r.withArchived(live)
	if err != nil {
		return err
	}
	// Bytes read by an earlier call may hold a record that was being written then.
	r.buf, r.bufOffset = r.buf[:0], 0
	var file File
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	for r.next <= lastLSN {
		i := sort.Search(len(segments), func(i int) bool { return segments[i].firstLSN > r.next }) - 1
		if i < 0 {
			return fmt.Errorf("%w: read from LSN %d, the oldest segment starts at LSN %d", ErrArchived, r.next, segments[0].firstLSN)
		}
		seg := segments[i]
		end := lastLSN + 1 // LSN just past what this call reads from seg
		if i+1 < len(segments) {
			end = min(end, segments[i+1].firstLSN)
		}
		if seg.name != r.pos.name {
			r.pos, r.posOffset, r.posLSN = seg, 0, seg.firstLSN
			r.buf, r.bufOffset = r.buf[:0], 0
			if file != nil {
				file.Close()
				file = nil
			}
		}
		if file == nil {
			if file, err = r.openSegment(seg.name); err != nil {
				return err
			}
		}
		for r.posLSN < end {
			f, n, err := r.frameAt(file)
			if errors.Is(err, ErrCorrupt) || errors.Is(err, ErrUnknownVersion) {
				return damageError(seg, int(r.posOffset), r.posLSN, err, " (found by a reader)")
			}
			if err != nil {
				return err
			}
			if f.lsn != r.posLSN {
				return damageError(seg, int(r.posOffset), r.posLSN, wrapCorrupt(fmt.Sprintf("record has LSN %d", f.lsn)), " (found by a reader)")
			}
			if f.lsn >= r.next {
				if err := fn(f.lsn, f.rec); err != nil {
					return fmt.Errorf("journal: read at LSN %d: %w", f.lsn, err)
				}
				r.next = f.lsn + 1
			}
			r.posOffset += int64(n)
			r.posLSN++
		}
		r.next = max(r.next, end)
	}
	return nil
}

// withArchived puts the archived segments that precede the live ones in front of them when the
// Reader needs them. A segment archived after live was taken stays listed as live: openSegment
// looks for it in archive/ too.
func (r *Reader) withArchived(live []segment) ([]segment, error) {
	if len(live) == 0 {
		return nil, fmt.Errorf("%w: no live segment", ErrCorrupt)
	}
	if r.next >= live[0].firstLSN {
		return live, nil
	}
	archived, err := listSegments(r.dir, archiveDirName)
	if err != nil {
		return nil, err
	}
	n := 0
	for n < len(archived) && archived[n].firstLSN < live[0].firstLSN {
		n++
	}
	return append(archived[:n:n], live...), nil
}

// openSegment opens a segment for reading where it is: Archive moves segments only from the
// journal directory into archive/, so one not found in the first is in the second.
func (r *Reader) openSegment(name string) (File, error) {
	f, err := r.dir.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = r.dir.Open(archiveDirName + "/" + name)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: open segment %s: %w", name, err)
	}
	return f, nil
}

// frameAt decodes the record at the position reached. The record is durable, so it must be
// whole on disk: a short read is damage, not a record still being written.
func (r *Reader) frameAt(file File) (frame, int, error) {
	header, err := r.bytesAt(file, r.posOffset, recordHeaderBytes)
	if err != nil {
		return frame{}, 0, err
	}
	length := binary.LittleEndian.Uint32(header[offsetLength:])
	if length > recordPayloadBytesLimit {
		return frame{}, 0, errRecordLength
	}
	b, err := r.bytesAt(file, r.posOffset, recordHeaderBytes+int(length))
	if err != nil {
		return frame{}, 0, err
	}
	return decodeFrame(b)
}

// bytesAt returns n bytes of file from offset, from the buffer when it holds them, else reading
// at least a chunk from offset into it.
func (r *Reader) bytesAt(file File, offset int64, n int) ([]byte, error) {
	if offset >= r.bufOffset && offset+int64(n) <= r.bufOffset+int64(len(r.buf)) {
		start := offset - r.bufOffset
		return r.buf[start : start+int64(n)], nil
	}
	want := max(n, readChunkBytes)
	if cap(r.buf) < want {
		r.buf = make([]byte, want)
	}
	got, err := file.ReadAt(r.buf[:want], offset)
	if err != nil && !errors.Is(err, io.EOF) {
		r.buf = r.buf[:0]
		return nil, fmt.Errorf("journal: read segment %s at offset %d: %w", r.pos.name, offset, err)
	}
	r.buf, r.bufOffset = r.buf[:got], offset
	if got < n {
		return nil, errRecordShort
	}
	return r.buf[:n], nil
}
