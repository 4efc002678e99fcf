// Package journal is the write-ahead journal of the shard runtime: each shard decides a batch,
// hands the batch's events to the journal as one Record, and answers its callers only when the
// journal says the record is durable. Records are opaque to the journal.
//
// Three implementations share the Journal interface:
//   - FileJournal (Open): segment files in one directory on an FS, group-committed by one writer
//     goroutine for all shards. It runs over the real filesystem (OSFS) or over FaultFS.
//   - MemoryJournal (NewMemory): records in memory, for tests; NewDiscard keeps nothing, for
//     measuring with the journal off. Neither is durable.
//   - FaultFS (NewFaultFS) is not a journal but the in-memory filesystem that loses unsynced
//     bytes and unsynced directory entries in a Crash, and tears the last write in a CrashTorn,
//     so tests of this package and of others can crash a FileJournal and recover it.
//
// # Contract
//
// The invariants below are named so that tests and other packages can cite them.
//
//   - Durable-before-done: a FileJournal calls done(lsn, nil) only after the record's bytes were
//     written and fdatasync'd, and, for a record in a new segment, after the directory entry of
//     that segment was fsync'd. A nil error means the record survives a crash.
//   - In-order: records become durable in Append order, LSNs are assigned in Append order, and
//     done callbacks are called in Append order, each exactly once, from the writer goroutine.
//     The only exception: an Append after Close is answered at once with ErrClosed.
//   - Contiguous-LSN: LSNs start at 1 and increase by one per record with no gaps, across
//     segments; a segment file is named by the LSN of its first record.
//   - Group-commit: the writer takes every queued record (of any shard) into one buffer and
//     makes it durable with one write and one fsync. A group never spans two segments.
//   - Bounded-queue: the queue is the group being filled, bounded by Options.GroupRecordsMax and
//     Options.GroupBytesMax; Append blocks while it is full (backpressure). Append copies the
//     payload.
//   - Sticky-failure: after a failed write or fsync the journal writes nothing more; that group
//     and every later one are answered with the error. Recovery at the next Open decides what
//     reached the disk.
//   - Checksum-on-read: every record carries a CRC32C (Castagnoli) over everything after the
//     checksum field, computed once when encoding. Recovery and Replay verify every record; with
//     the invariants build tag the writer also verifies each group before writing it.
//   - Tail-cut, middle-fatal: at Open, damage at the end of the last segment (a truncated record,
//     or a record failing its checksum with no record of a later group verifying after it) is a
//     torn write and is cut off: the file is truncated at the last good record and synced.
//     Damage anywhere else, or an LSN that does not follow its predecessor, fails Open with an
//     error wrapping ErrCorrupt that names the segment file, the offset and the LSN expected. A
//     bad record is never skipped. See recoverSegments for why records of the damaged group
//     itself do not make it fatal.
//   - Replay-before-append: Replay reads from disk and is valid only between Open and the first
//     Append; afterwards it fails with ErrReplayAfterAppend. A MemoryJournal may replay anytime.
//   - Archive-not-delete: Archive moves whole segments whose records all precede an LSN into the
//     archive subdirectory and syncs both directories; nothing is ever deleted, since old
//     segments are the audit trail. The segment being written is never archived.
//
// # Record format
//
// A record on disk is a 41-byte header (checksum, payload length, format version, LSN, position
// in its group, shard, index, time) followed by the payload; see record.go. The version byte lets
// an old journal replay under new code; a record of an unknown version fails with
// ErrUnknownVersion rather than being taken for damage.
package journal
