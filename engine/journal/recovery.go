package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Recovery says what Open found in the journal directory.
type Recovery struct {
	SegmentCount int    // live segments, the one Open may have created included
	FirstLSN     uint64 // first LSN of the oldest live segment: Replay may start here
	LastLSN      uint64 // last record kept
	TailCutBytes int64  // bytes cut from the end of the last segment as a torn tail
	TailCutCause string // why the first cut record was rejected, empty when nothing was cut
}

// recovered is the state Open builds from the segments.
type recovered struct {
	segments     []segment
	lastLSN      uint64
	activeBytes  int64 // good bytes of the last segment: where appends continue
	tailCutBytes int64
	tailCutCause string
}

// segmentScan is how far a segment decodes cleanly.
type segmentScan struct {
	end     int    // offset just past the last good record
	nextLSN uint64 // LSN the record at end must have
	damage  error  // why decoding stopped before the end of the data; nil if it did not
}

// scanSegment decodes the records of one segment in order, checking that their LSNs run on from
// the segment's first LSN and that their group positions agree, and calls visit (if not nil) for
// each. A record that fails to decode stops the scan and is reported in damage: the caller decides
// whether it is a torn tail. A record that decodes but breaks the sequence, or has an unknown
// version, is always fatal and returned as the error.
func scanSegment(data []byte, seg segment, visit func(lsn uint64, rec Record) error) (segmentScan, error) {
	s := segmentScan{nextLSN: seg.firstLSN}
	var groupFirstLSN uint64
	for s.end < len(data) {
		f, n, err := decodeFrame(data[s.end:])
		if errors.Is(err, ErrCorrupt) {
			s.damage = err
			return s, nil
		}
		if err != nil {
			return s, damageError(seg, s.end, s.nextLSN, err, "")
		}
		if f.lsn != s.nextLSN {
			return s, damageError(seg, s.end, s.nextLSN, wrapCorrupt(fmt.Sprintf("record has LSN %d", f.lsn)), "")
		}
		// A group never spans segments, so a segment starts a group.
		if f.groupPosition == 0 {
			groupFirstLSN = f.lsn
		} else if s.end == 0 || f.groupFirstLSN() != groupFirstLSN {
			return s, damageError(seg, s.end, s.nextLSN, wrapCorrupt(fmt.Sprintf("group position %d does not follow its group", f.groupPosition)), "")
		}
		if visit != nil {
			if err := visit(f.lsn, f.rec); err != nil {
				return s, err
			}
		}
		s.end += n
		s.nextLSN++
	}
	return s, nil
}

// damageError names the segment (base name), the offset and the LSN expected there.
func damageError(seg segment, offset int, expectedLSN uint64, cause error, detail string) error {
	return fmt.Errorf("journal: segment %s at offset %d, expected LSN %d: %w%s", seg.name, offset, expectedLSN, cause, detail)
}

// recoverSegments verifies every record of every live segment and decides what to do with damage.
//
// Tail-cut, middle-fatal: damage in any segment but the last is fatal. In the last segment, the
// rest of the segment after the first bad record is searched byte by byte for a record that
// verifies and has a greater LSN than the last good one. The writer starts a group only after the
// previous group's fsync returned, so such a record from a later group proves the damaged group
// was synced, and acknowledged: the damage is in the middle and is fatal. Records of the damaged
// group itself prove nothing, since a crash during its write may persist its sectors out of
// order; that group was not acknowledged unless synced, and the damage is cut as a torn tail.
// With one record per group this is exactly "any later verifying record is fatal".
func recoverSegments(dir Dir) (recovered, error) {
	segments, err := listSegments(dir, ".")
	if err != nil {
		return recovered{}, err
	}
	if len(segments) == 0 {
		archived, err := listSegments(dir, archiveDirName)
		if err != nil {
			return recovered{}, err
		}
		if len(archived) > 0 {
			// Archive never moves the last segment, so this journal lost its live segments.
			return recovered{}, fmt.Errorf("%w: no live segment but %d archived ones", ErrCorrupt, len(archived))
		}
		return recovered{}, nil
	}
	r := recovered{segments: segments}
	var buf []byte
	nextLSN := segments[0].firstLSN
	for i, seg := range segments {
		if seg.firstLSN != nextLSN {
			return recovered{}, fmt.Errorf("%w: segment %s starts at LSN %d, expected LSN %d", ErrCorrupt, seg.name, seg.firstLSN, nextLSN)
		}
		data, err := readSegment(dir, seg.name, buf)
		if err != nil {
			return recovered{}, err
		}
		buf = data
		scan, err := scanSegment(data, seg, nil)
		if err != nil {
			return recovered{}, err
		}
		if scan.damage != nil {
			if i < len(segments)-1 {
				return recovered{}, damageError(seg, scan.end, scan.nextLSN, scan.damage, "")
			}
			if lsn, offset, found := findLaterGroup(data, scan.end, seg.firstLSN, scan.nextLSN); found {
				detail := fmt.Sprintf("; a record of a later group (LSN %d) verifies at offset %d", lsn, offset)
				return recovered{}, damageError(seg, scan.end, scan.nextLSN, scan.damage, detail)
			}
			r.tailCutBytes = int64(len(data) - scan.end)
			r.tailCutCause = scan.damage.Error()
		}
		nextLSN = scan.nextLSN
		r.activeBytes = int64(scan.end)
	}
	r.lastLSN = nextLSN - 1
	return r, nil
}

// findLaterGroup searches data after a bad record at offset bad, expected to hold expectedLSN,
// for a record that verifies, has LSN >= expectedLSN and belongs to a group started after
// expectedLSN. The cheap field checks come before the checksum so the scan stays linear in
// practice: a record at offset p of a segment starting at firstLSN cannot have an LSN beyond
// firstLSN + p/recordHeaderBytes.
func findLaterGroup(data []byte, bad int, firstLSN, expectedLSN uint64) (uint64, int, bool) {
	for p := bad + 1; p+recordHeaderBytes <= len(data); p++ {
		b := data[p:]
		if version := b[offsetVersion]; version == 0 || version > recordVersionLatest {
			continue
		}
		lsn := binary.LittleEndian.Uint64(b[offsetLSN:])
		if lsn < expectedLSN || lsn > firstLSN+uint64(p/recordHeaderBytes) {
			continue
		}
		f, _, err := decodeFrame(b)
		if err == nil && f.groupFirstLSN() > expectedLSN {
			return f.lsn, p, true
		}
	}
	return 0, 0, false
}
