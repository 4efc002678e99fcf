package journal

import (
	"errors"
	"fmt"
	"time"
)

// Record is one batch of one shard: the events a shard decided in one batch, encoded by the caller.
type Record struct {
	Shard     uint32
	Index     uint64 // per-shard batch sequence, 1-based, strictly increasing per shard
	TimeNanos int64  // batch time, recorded with the batch
	Payload   []byte // opaque encoded events
}

// Journal is the write-ahead journal of the shard runtime. LSN is the global position of a record
// in the journal, 1-based and strictly increasing. See the package documentation for the
// invariants every implementation keeps.
type Journal interface {
	// Append hands a record to the journal. done is called exactly once, after the record is
	// durable (or with the error that prevented it). Records are made durable in Append order and
	// done callbacks are called in Append order. Append may block when the journal's bounded
	// queue is full (backpressure); it copies Payload, so the caller may reuse it. done must not
	// wait for the journal (on another Append's done, on a full queue, or in Close), since the
	// journal calls it from the goroutine that makes later records durable.
	Append(rec Record, done func(lsn uint64, err error))
	// Replay calls fn for every record with LSN >= from, in order. It is valid only before the
	// first Append after Open, and fails with ErrReplayAfterAppend otherwise. It fails with
	// ErrArchived when records at or after from have been archived.
	Replay(from uint64, fn func(lsn uint64, rec Record) error) error
	// Archive moves whole segments whose every record has LSN < before into the archive
	// subdirectory (never deletes). Memory journals may just drop them.
	Archive(before uint64) error
	// LastLSN is the LSN of the last durable record, 0 when there is none.
	LastLSN() uint64
	// Close flushes, syncs and stops the writer; it is idempotent.
	Close() error
}

// Errors returned by journals. Callers test them with errors.Is: they are wrapped with context.
var (
	// ErrCorrupt marks a record that fails its checksum or breaks the LSN sequence where the
	// journal cannot treat it as a torn tail.
	ErrCorrupt = errors.New("journal: corrupt record")
	// ErrUnknownVersion marks a record whose checksum holds but whose format version this code
	// does not know: it was written by newer code, so it is neither corrupt nor skippable.
	ErrUnknownVersion = errors.New("journal: unknown record format version")
	// ErrClosed is returned, or passed to done, after Close.
	ErrClosed = errors.New("journal: closed")
	// ErrReplayAfterAppend is returned by Replay once Append has been called.
	ErrReplayAfterAppend = errors.New("journal: replay after append")
	// ErrArchived is returned by Replay when the records asked for are no longer in the journal.
	ErrArchived = errors.New("journal: records archived")
	// ErrPayloadTooLarge is passed to done for a record whose payload exceeds
	// Options.RecordPayloadBytesMax.
	ErrPayloadTooLarge = errors.New("journal: payload too large")
)

// Defaults and hard limits of the file journal. The defaults apply where Options leaves a field
// zero; the limits bound what Options may ask for and what the record format can hold.
const (
	segmentBytesDefault          = 64 << 20
	groupRecordsMaxDefault       = 8192
	groupBytesMaxDefault         = 4 << 20
	recordPayloadBytesMaxDefault = 1 << 20

	// groupBytesLimit keeps a group, written with one Write, well within what one write call and
	// one in-memory buffer should carry.
	groupBytesLimit = 256 << 20
	// groupRecordsLimit bounds the group position stored in each record (a uint32).
	groupRecordsLimit = 1 << 24
)

// Options configures a file journal. The zero value is valid: every zero field takes its default.
type Options struct {
	// FS is the filesystem the journal runs on; nil means the real one (OSFS).
	FS FS
	// SegmentBytes is the size after which the writer starts a new segment. A group is never
	// split, so a segment may pass it by up to one group.
	SegmentBytes int64
	// GroupRecordsMax bounds the records of one group commit. The queue is the group being
	// filled, so Append blocks while it holds this many records.
	GroupRecordsMax int
	// GroupBytesMax bounds the encoded bytes of one group commit, and so the queue, like
	// GroupRecordsMax. At most two groups are in memory: one being written, one being filled.
	GroupBytesMax int
	// RecordPayloadBytesMax bounds one record's payload. It must fit in one group.
	RecordPayloadBytesMax int
	// FsyncLatency, when set, is called by the writer with the duration of each data fsync.
	FsyncLatency func(d time.Duration)
}

// withDefaults fills zero fields and checks the limits and the relations between them, once,
// so the hot path can rely on them.
func (o Options) withDefaults() (Options, error) {
	if o.FS == nil {
		o.FS = OSFS{}
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = segmentBytesDefault
	}
	if o.GroupRecordsMax == 0 {
		o.GroupRecordsMax = groupRecordsMaxDefault
	}
	if o.GroupBytesMax == 0 {
		o.GroupBytesMax = groupBytesMaxDefault
	}
	if o.RecordPayloadBytesMax == 0 {
		o.RecordPayloadBytesMax = min(recordPayloadBytesMaxDefault, o.GroupBytesMax-recordHeaderBytes)
	}
	switch {
	case o.SegmentBytes < 0:
		return o, fmt.Errorf("journal: SegmentBytes %d is negative", o.SegmentBytes)
	case o.GroupRecordsMax < 1 || o.GroupRecordsMax > groupRecordsLimit:
		return o, fmt.Errorf("journal: GroupRecordsMax %d is outside [1, %d]", o.GroupRecordsMax, groupRecordsLimit)
	case o.GroupBytesMax <= recordHeaderBytes || o.GroupBytesMax > groupBytesLimit:
		return o, fmt.Errorf("journal: GroupBytesMax %d is outside (%d, %d]", o.GroupBytesMax, recordHeaderBytes, groupBytesLimit)
	case o.RecordPayloadBytesMax < 0 || o.RecordPayloadBytesMax > recordPayloadBytesLimit:
		return o, fmt.Errorf("journal: RecordPayloadBytesMax %d is outside [0, %d]", o.RecordPayloadBytesMax, recordPayloadBytesLimit)
	case recordHeaderBytes+o.RecordPayloadBytesMax > o.GroupBytesMax:
		return o, fmt.Errorf("journal: a record of RecordPayloadBytesMax %d does not fit in GroupBytesMax %d", o.RecordPayloadBytesMax, o.GroupBytesMax)
	}
	return o, nil
}

// Stats counts what the file journal's writer has done since Open.
type Stats struct {
	FsyncCount          uint64 // data fsyncs of segments, one per group
	DirSyncCount        uint64 // directory fsyncs (segment creation, archive)
	GroupCount          uint64 // groups written
	RecordCount         uint64 // records made durable
	WrittenBytes        uint64 // bytes written to segments
	GroupRecordsLargest uint64 // records in the largest group so far
}
