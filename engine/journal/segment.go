package journal

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// A segment file is named by the first LSN it holds, zero-padded so that names sort as LSNs do.
const (
	segmentSuffix     = ".wal"
	segmentNameDigits = 20
	archiveDirName    = "archive"
)

// segment is one segment file of the live journal.
type segment struct {
	name     string
	firstLSN uint64
}

func segmentName(firstLSN uint64) string {
	return fmt.Sprintf("%0*d%s", segmentNameDigits, firstLSN, segmentSuffix)
}

// parseSegmentName returns the first LSN of a segment name, or false for any other file.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != segmentNameDigits {
		return 0, false
	}
	firstLSN, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || firstLSN == 0 {
		return 0, false
	}
	return firstLSN, true
}

// listSegments returns the segments in subdirectory name, in LSN order; other files are ignored.
// A missing subdirectory holds no segments.
func listSegments(dir Dir, name string) ([]segment, error) {
	names, err := dir.List(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("journal: list segments: %w", err)
	}
	var segments []segment
	for _, n := range names {
		if firstLSN, ok := parseSegmentName(n); ok {
			segments = append(segments, segment{name: n, firstLSN: firstLSN})
		}
	}
	slices.SortFunc(segments, func(a, b segment) int { return cmp.Compare(a.firstLSN, b.firstLSN) })
	return segments, nil
}

// readSegment reads a whole segment file into buf (grown if needed) and returns the bytes read.
func readSegment(dir Dir, name string, buf []byte) ([]byte, error) {
	f, err := dir.Open(name)
	if err != nil {
		return nil, fmt.Errorf("journal: open segment %s: %w", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("journal: size of segment %s: %w", name, err)
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	n, err := f.ReadAt(buf, 0)
	if err != nil && !(errors.Is(err, io.EOF) && int64(n) == size) {
		return nil, fmt.Errorf("journal: read segment %s: %w", name, err)
	}
	return buf, nil
}
