package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeJournal makes a closed journal in a new directory holding records 1..count of shard 1,
// each in its own group, and returns the directory.
func writeJournal(t *testing.T, count int, opts Options) string {
	t.Helper()
	dir := t.TempDir()
	j := mustOpen(t, dir, opts)
	appendSequentially(t, j, 1, count)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTornTailIsCut checks Tail-cut: a last segment cut inside its last record, or with that
// record's bytes damaged, loses only that record, and appends continue at its LSN.
func TestTornTailIsCut(t *testing.T) {
	const recordsCount = 10
	damages := map[string]func(data []byte, last int) []byte{
		"truncated in payload": func(data []byte, last int) []byte { return data[:len(data)-3] },
		"truncated in header":  func(data []byte, last int) []byte { return data[:last+7] },
		"payload byte flipped": func(data []byte, last int) []byte { data[len(data)-2] ^= 0x10; return data },
		"length damaged":       func(data []byte, last int) []byte { data[last+offsetLength] ^= 0x01; return data },
		"garbage appended": func(data []byte, last int) []byte {
			return append(data, []byte("\x00\x00garbage that is no record at all, long enough for a header")...)
		},
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			dir := writeJournal(t, recordsCount, Options{})
			path := lastSegmentPath(t, dir)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			offsets := recordOffsets(t, data)
			damaged := damage(data, offsets[len(offsets)-1])
			if err := os.WriteFile(path, damaged, 0o644); err != nil {
				t.Fatal(err)
			}
			keptCount := recordsCount - 1
			goodBytes := offsets[len(offsets)-1]
			if name == "garbage appended" {
				keptCount, goodBytes = recordsCount, len(data)
			}

			j := mustOpen(t, dir, Options{})
			r := j.Recovery()
			if r.LastLSN != uint64(keptCount) || r.TailCutBytes != int64(len(damaged)-goodBytes) || r.TailCutCause == "" {
				t.Fatalf("recovery %+v, want last LSN %d and %d bytes cut", r, keptCount, len(damaged)-goodBytes)
			}
			if info, err := os.Stat(path); err != nil || info.Size() != int64(goodBytes) {
				t.Fatalf("segment not truncated at the last good record: %v %v", info.Size(), err)
			}
			if got := replayAll(t, j, 1); len(got) != keptCount {
				t.Fatalf("replayed %d records, want %d", len(got), keptCount)
			}
			lsn, err := appendWait(j, testRecord(2, 1))
			if err != nil || lsn != uint64(keptCount+1) {
				t.Fatalf("append after cut: LSN %d, %v", lsn, err)
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			j = mustOpen(t, dir, Options{})
			defer j.Close()
			got := replayAll(t, j, 1)
			if len(got) != keptCount+1 || !sameRecord(got[keptCount].rec, testRecord(2, 1)) {
				t.Fatalf("after reopen replayed %d records, last %+v", len(got), got[len(got)-1])
			}
			if j.Recovery().TailCutBytes != 0 {
				t.Fatalf("second recovery cut again: %+v", j.Recovery())
			}
		})
	}
}

// TestMiddleCorruptionIsFatal checks middle-fatal: a damaged record followed by a record of a
// later group fails Open with ErrCorrupt naming the file, offset and expected LSN.
func TestMiddleCorruptionIsFatal(t *testing.T) {
	dir := writeJournal(t, 10, Options{})
	path := lastSegmentPath(t, dir)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	offsets := recordOffsets(t, data)
	data[offsets[2]+recordHeaderBytes] ^= 0xff // the payload of LSN 3
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open: %v, want ErrCorrupt", err)
	}
	for _, want := range []string{filepath.Base(path), fmt.Sprintf("offset %d", offsets[2]), "expected LSN 3"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if strings.Contains(err.Error(), dir) {
		t.Errorf("error %q names the directory, want the base name only", err)
	}
}

// TestDamageBeforeLastSegmentIsFatal checks that even the tail of a segment that is not the last
// is never cut.
func TestDamageBeforeLastSegmentIsFatal(t *testing.T) {
	opts := Options{SegmentBytes: 256}
	dir := writeJournal(t, 20, opts)
	names := segmentFiles(t, dir)
	if len(names) < 3 {
		t.Fatalf("want several segments, have %v", names)
	}
	path := filepath.Join(dir, names[0])
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data[:len(data)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, opts); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), names[0]) {
		t.Fatalf("open: %v, want ErrCorrupt naming %s", err, names[0])
	}
}

func TestSegmentGapIsFatal(t *testing.T) {
	opts := Options{SegmentBytes: 256}
	dir := writeJournal(t, 20, opts)
	names := segmentFiles(t, dir)
	if err := os.Remove(filepath.Join(dir, names[1])); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, opts); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), names[2]) {
		t.Fatalf("open with a missing segment: %v", err)
	}
}

// buildSegment writes one segment file by hand: groups lists the size of each group commit.
func buildSegment(t *testing.T, fs *FaultFS, firstLSN uint64, groups ...int) (string, []int) {
	t.Helper()
	var data []byte
	var offsets []int
	lsn := firstLSN
	for _, size := range groups {
		for position := range size {
			offsets = append(offsets, len(data))
			rec := testRecord(1, lsn)
			data = appendFrame(data, lsn, uint32(position), &rec)
			lsn++
		}
	}
	name := "wal/" + segmentName(firstLSN)
	if err := fs.WriteFile(name, data); err != nil {
		t.Fatal(err)
	}
	return name, offsets
}

// TestDamageInsideLastGroup checks the group rule of Tail-cut, middle-fatal on hand-made
// segments of two groups, LSNs 1-3 and 4-6: damage in the last group is a torn write whatever
// follows it in that group, damage in an earlier group is fatal.
func TestDamageInsideLastGroup(t *testing.T) {
	tests := []struct {
		name    string
		damaged int // index of the damaged record
		fatal   bool
		lastLSN uint64
	}{
		{"first group, followed by later group", 1, true, 0},
		{"first record of last group", 3, false, 3},
		{"middle of last group", 4, false, 4},
		{"last record", 5, false, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := NewFaultFS(1)
			if _, err := fs.OpenDir("wal"); err != nil {
				t.Fatal(err)
			}
			name, offsets := buildSegment(t, fs, 1, 3, 3)
			data, _ := fs.ReadFile(name)
			data[offsets[tt.damaged]+recordHeaderBytes] ^= 0x40
			if err := fs.WriteFile(name, data); err != nil {
				t.Fatal(err)
			}
			j, err := Open("wal", Options{FS: fs})
			if tt.fatal {
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "later group (LSN 4)") {
					t.Fatalf("open: %v, want ErrCorrupt citing LSN 4", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer j.Close()
			if got := j.LastLSN(); got != tt.lastLSN {
				t.Fatalf("LastLSN %d, want %d", got, tt.lastLSN)
			}
		})
	}
}

func TestRecordOutOfSequenceIsFatal(t *testing.T) {
	fs := NewFaultFS(1)
	if _, err := fs.OpenDir("wal"); err != nil {
		t.Fatal(err)
	}
	// A record that verifies but carries LSN 7 where LSN 3 belongs.
	var data []byte
	for _, lsn := range []uint64{1, 2, 7} {
		rec := testRecord(1, lsn)
		data = appendFrame(data, lsn, 0, &rec)
	}
	if err := fs.WriteFile("wal/"+segmentName(1), data); err != nil {
		t.Fatal(err)
	}
	if _, err := Open("wal", Options{FS: fs}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "record has LSN 7") {
		t.Fatalf("open: %v", err)
	}
}

func TestUnknownVersionIsFatal(t *testing.T) {
	fs := NewFaultFS(1)
	if _, err := fs.OpenDir("wal"); err != nil {
		t.Fatal(err)
	}
	name, offsets := buildSegment(t, fs, 1, 1, 1)
	data, _ := fs.ReadFile(name)
	last := data[offsets[1]:]
	last[offsetVersion] = recordVersionLatest + 1
	binary.LittleEndian.PutUint32(last, crc32.Checksum(last[offsetLength:], castagnoli))
	if err := fs.WriteFile(name, data); err != nil {
		t.Fatal(err)
	}
	if _, err := Open("wal", Options{FS: fs}); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("open: %v, want ErrUnknownVersion", err)
	}
}
