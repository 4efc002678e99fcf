package journal

import (
	"encoding/binary"
	"hash/crc32"
)

// On-disk record layout, little-endian, recordHeaderBytes of header then the payload:
//
//	[0:4)   checksum        CRC32C (Castagnoli) of bytes [4, end of payload)
//	[4:8)   length          payload bytes
//	[8]     version         record format version
//	[9:17)  LSN
//	[17:21) group position  records before this one in its group commit
//	[21:25) shard
//	[25:33) index
//	[33:41) time nanos
//	[41:)   payload
//
// The checksum comes first so that it covers the length too: a damaged length cannot send the
// reader to a wrong end without the checksum failing. The group position lets recovery tell a
// torn last group from damage to a group that was synced before a later one (see recovery.go).
const (
	recordHeaderBytes = 41
	recordVersion1    = 1
	// recordVersionLatest is the version this code writes.
	recordVersionLatest = recordVersion1
	// recordPayloadBytesLimit is the largest payload the format accepts whatever the Options, so
	// that a damaged length field is caught as such rather than read as a huge record.
	recordPayloadBytesLimit = 64 << 20

	offsetChecksum      = 0
	offsetLength        = 4
	offsetVersion       = 8
	offsetLSN           = 9
	offsetGroupPosition = 17
	offsetShard         = 21
	offsetIndex         = 25
	offsetTime          = 33
)

// castagnoli is the CRC32C table; built once, read-only after.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Reasons a record does not decode. Each wraps ErrCorrupt except the version one: a record from
// newer code is intact, just not readable here.
var (
	errRecordShort    = wrapCorrupt("truncated record")
	errRecordLength   = wrapCorrupt("record length out of range")
	errRecordChecksum = wrapCorrupt("checksum mismatch")
	errRecordLSN      = wrapCorrupt("record LSN or group position out of range")
	errRecordVersion  = ErrUnknownVersion
)

type corruptReason struct{ reason string }

func (e *corruptReason) Error() string { return "corrupt record: " + e.reason }
func (e *corruptReason) Unwrap() error { return ErrCorrupt }

func wrapCorrupt(reason string) error { return &corruptReason{reason: reason} }

// frame is a decoded record with the fields only the journal sees.
type frame struct {
	lsn           uint64
	groupPosition uint32
	rec           Record
}

// groupFirstLSN is the LSN of the first record of the group commit this record was written in.
func (f *frame) groupFirstLSN() uint64 { return f.lsn - uint64(f.groupPosition) }

// appendFrame encodes one record at the end of buf and returns the extended buffer. It computes
// the checksum once, here; readers verify it.
func appendFrame(buf []byte, lsn uint64, groupPosition uint32, rec *Record) []byte {
	start := len(buf)
	end := start + recordHeaderBytes + len(rec.Payload)
	if cap(buf) < end {
		grown := make([]byte, start, max(end, 2*cap(buf)))
		copy(grown, buf)
		buf = grown
	}
	buf = buf[:end]
	b := buf[start:]
	binary.LittleEndian.PutUint32(b[offsetLength:], uint32(len(rec.Payload)))
	b[offsetVersion] = recordVersionLatest
	binary.LittleEndian.PutUint64(b[offsetLSN:], lsn)
	binary.LittleEndian.PutUint32(b[offsetGroupPosition:], groupPosition)
	binary.LittleEndian.PutUint32(b[offsetShard:], rec.Shard)
	binary.LittleEndian.PutUint64(b[offsetIndex:], rec.Index)
	binary.LittleEndian.PutUint64(b[offsetTime:], uint64(rec.TimeNanos))
	copy(b[recordHeaderBytes:], rec.Payload)
	binary.LittleEndian.PutUint32(b[offsetChecksum:], crc32.Checksum(b[offsetLength:], castagnoli))
	return buf
}

// decodeFrame parses one record from the start of b and returns it with its encoded size. It
// always verifies the checksum. The returned payload aliases b.
func decodeFrame(b []byte) (frame, int, error) {
	if len(b) < recordHeaderBytes {
		return frame{}, 0, errRecordShort
	}
	length := binary.LittleEndian.Uint32(b[offsetLength:])
	if length > recordPayloadBytesLimit {
		return frame{}, 0, errRecordLength
	}
	n := recordHeaderBytes + int(length)
	if len(b) < n {
		return frame{}, 0, errRecordShort
	}
	if crc32.Checksum(b[offsetLength:n], castagnoli) != binary.LittleEndian.Uint32(b[offsetChecksum:]) {
		return frame{}, 0, errRecordChecksum
	}
	if b[offsetVersion] != recordVersion1 {
		return frame{}, 0, errRecordVersion
	}
	f := frame{
		lsn:           binary.LittleEndian.Uint64(b[offsetLSN:]),
		groupPosition: binary.LittleEndian.Uint32(b[offsetGroupPosition:]),
		rec: Record{
			Shard:     binary.LittleEndian.Uint32(b[offsetShard:]),
			Index:     binary.LittleEndian.Uint64(b[offsetIndex:]),
			TimeNanos: int64(binary.LittleEndian.Uint64(b[offsetTime:])),
			Payload:   b[recordHeaderBytes:n:n],
		},
	}
	if f.lsn == 0 || uint64(f.groupPosition) >= f.lsn {
		// The checksum holds, so a writer produced this: no writer of this code does.
		return frame{}, 0, errRecordLSN
	}
	return f, n, nil
}
