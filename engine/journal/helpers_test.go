package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// replayed is one record as Replay handed it over.
type replayed struct {
	lsn uint64
	rec Record
}

// replayAll returns every record from LSN from on.
func replayAll(t testing.TB, j Journal, from uint64) []replayed {
	t.Helper()
	var out []replayed
	err := j.Replay(from, func(lsn uint64, rec Record) error {
		out = append(out, replayed{lsn: lsn, rec: rec})
		return nil
	})
	if err != nil {
		t.Fatalf("replay from %d: %v", from, err)
	}
	return out
}

// appendWait appends one record and waits for its done call.
func appendWait(j Journal, rec Record) (uint64, error) {
	type result struct {
		lsn uint64
		err error
	}
	ch := make(chan result, 1)
	j.Append(rec, func(lsn uint64, err error) { ch <- result{lsn, err} })
	r := <-ch
	return r.lsn, r.err
}

// testRecord makes a record whose payload names it, with a length that varies with index.
func testRecord(shard uint32, index uint64) Record {
	payload := fmt.Appendf(nil, "shard=%d index=%d ", shard, index)
	for i := range index % 37 {
		payload = append(payload, byte('a'+i%26))
	}
	return Record{Shard: shard, Index: index, TimeNanos: int64(index) * 1000, Payload: payload}
}

func sameRecord(a, b Record) bool {
	return a.Shard == b.Shard && a.Index == b.Index && a.TimeNanos == b.TimeNanos && slices.Equal(a.Payload, b.Payload)
}

// ackLog collects done calls; the writer calls done in order, so entries come in LSN order.
type ackLog struct {
	mu      sync.Mutex
	entries []replayed
	errs    []error
}

func (l *ackLog) done(rec Record) func(uint64, error) {
	rec.Payload = slices.Clone(rec.Payload)
	return func(lsn uint64, err error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if err != nil {
			l.errs = append(l.errs, err)
			return
		}
		l.entries = append(l.entries, replayed{lsn: lsn, rec: rec})
	}
}

// appendConcurrently appends records 1..perShard of shards 0..shardsCount-1, one goroutine per
// shard, without waiting for done; it clears each payload after Append to check Append copied it.
func appendConcurrently(j Journal, shardsCount uint32, perShard uint64, acks *ackLog) {
	var wg sync.WaitGroup
	for shard := range shardsCount {
		wg.Go(func() {
			for index := uint64(1); index <= perShard; index++ {
				rec := testRecord(shard, index)
				j.Append(rec, acks.done(rec))
				clear(rec.Payload)
			}
		})
	}
	wg.Wait()
}

// appendSequentially appends records 1..count of shard one by one, each in its own group.
func appendSequentially(t testing.TB, j Journal, shard uint32, count int) {
	t.Helper()
	for i := 1; i <= count; i++ {
		if _, err := appendWait(j, testRecord(shard, uint64(i))); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// segmentFiles lists the segment file names in dir.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if _, ok := parseSegmentName(e.Name()); ok {
			names = append(names, e.Name())
		}
	}
	return names
}

// recordOffsets returns the offset of every record that decodes in data, in order.
func recordOffsets(t testing.TB, data []byte) []int {
	t.Helper()
	var offsets []int
	for offset := 0; offset < len(data); {
		_, n, err := decodeFrame(data[offset:])
		if err != nil {
			t.Fatalf("record at offset %d: %v", offset, err)
		}
		offsets = append(offsets, offset)
		offset += n
	}
	return offsets
}

func lastSegmentPath(t testing.TB, dir string) string {
	t.Helper()
	names := segmentFiles(t, dir)
	if len(names) == 0 {
		t.Fatal("no segment files")
	}
	return filepath.Join(dir, names[len(names)-1])
}

func mustOpen(t testing.TB, dir string, opts Options) *FileJournal {
	t.Helper()
	j, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return j
}
