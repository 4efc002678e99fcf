package journal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestRoundTrip checks Durable-before-done, In-order and Contiguous-LSN over the real filesystem:
// what was acknowledged to several shards appending at once is what a reopened journal replays.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{})
	const shardsCount, recordsPerShard = 8, 200
	var acks ackLog
	appendConcurrently(j, shardsCount, recordsPerShard, &acks)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if len(acks.errs) > 0 || len(acks.entries) != shardsCount*recordsPerShard {
		t.Fatalf("%d acknowledged, errors %v", len(acks.entries), acks.errs)
	}
	lastIndex := map[uint32]uint64{}
	for i, a := range acks.entries {
		if a.lsn != uint64(i+1) {
			t.Fatalf("done call %d has LSN %d: done must run in LSN order", i, a.lsn)
		}
		if a.rec.Index != lastIndex[a.rec.Shard]+1 {
			t.Fatalf("shard %d: index %d after %d", a.rec.Shard, a.rec.Index, lastIndex[a.rec.Shard])
		}
		lastIndex[a.rec.Shard] = a.rec.Index
	}

	j = mustOpen(t, dir, Options{})
	defer j.Close()
	if got := j.LastLSN(); got != uint64(len(acks.entries)) {
		t.Fatalf("LastLSN %d after reopen, want %d", got, len(acks.entries))
	}
	got := replayAll(t, j, 1)
	if len(got) != len(acks.entries) {
		t.Fatalf("replayed %d records, acknowledged %d", len(got), len(acks.entries))
	}
	for i := range got {
		if got[i].lsn != acks.entries[i].lsn || !sameRecord(got[i].rec, acks.entries[i].rec) {
			t.Fatalf("record %d: replayed %+v, acknowledged %+v", i, got[i], acks.entries[i])
		}
	}
	if tail := replayAll(t, j, 150); len(tail) != len(got)-149 || tail[0].lsn != 150 {
		t.Fatalf("replay from 150 gave %d records starting at %d", len(tail), tail[0].lsn)
	}
	lsn, err := appendWait(j, testRecord(0, recordsPerShard+1))
	if err != nil || lsn != uint64(len(got)+1) {
		t.Fatalf("append after reopen: LSN %d, %v", lsn, err)
	}
}

// TestRotationAndArchive checks segment rotation, replay across segments and
// Archive-not-delete.
func TestRotationAndArchive(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 512}
	j := mustOpen(t, dir, opts)
	const recordsCount = 120
	appendSequentially(t, j, 1, recordsCount)
	names := segmentFiles(t, dir)
	if len(names) < 5 {
		t.Fatalf("%d segments for %d records of ~80 bytes in 512-byte segments", len(names), recordsCount)
	}
	for _, name := range names {
		firstLSN, _ := parseSegmentName(name)
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := decodeFrame(data)
		if err != nil || f.lsn != firstLSN {
			t.Fatalf("segment %s starts with LSN %d (%v)", name, f.lsn, err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = mustOpen(t, dir, opts)
	if got := replayAll(t, j, 1); len(got) != recordsCount || got[recordsCount-1].lsn != recordsCount {
		t.Fatalf("replayed %d records across segments", len(got))
	}
	const before = 60
	if err := j.Archive(before); err != nil {
		t.Fatal(err)
	}
	archived := segmentFiles(t, filepath.Join(dir, archiveDirName))
	live := segmentFiles(t, dir)
	if len(archived) == 0 || len(archived)+len(live) != len(names) {
		t.Fatalf("archived %v, live %v, had %v", archived, live, names)
	}
	if !slices.Equal(append(slices.Clone(archived), live...), names) {
		t.Fatalf("archive moved other files: archived %v, live %v", archived, live)
	}
	firstLive, _ := parseSegmentName(live[0])
	if firstLive > before {
		t.Fatalf("archived a segment holding LSN %d >= %d", firstLive-1, before)
	}
	if got := replayAll(t, j, before); len(got) != recordsCount-before+1 || got[0].lsn != before {
		t.Fatalf("replay from %d after archive gave %d records", before, len(got))
	}
	if err := j.Replay(1, func(uint64, Record) error { return nil }); !errors.Is(err, ErrArchived) {
		t.Fatalf("replay of archived records: %v, want ErrArchived", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}

	j = mustOpen(t, dir, opts)
	defer j.Close()
	if r := j.Recovery(); r.FirstLSN != firstLive || r.LastLSN != recordsCount {
		t.Fatalf("recovery after archive: %+v", r)
	}
	if got := replayAll(t, j, firstLive); len(got) != recordsCount-int(firstLive)+1 {
		t.Fatalf("replay from %d after reopen gave %d records", firstLive, len(got))
	}
	if err := j.Archive(recordsCount + 100); err != nil {
		t.Fatal(err)
	}
	if live := segmentFiles(t, dir); len(live) != 1 {
		t.Fatalf("the segment being written must stay: live %v", live)
	}
}

func TestReplayOnlyBeforeAppend(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{})
	appendSequentially(t, j, 1, 3)
	if err := j.Replay(1, func(uint64, Record) error { return nil }); !errors.Is(err, ErrReplayAfterAppend) {
		t.Fatalf("replay after append: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := j.Replay(1, func(uint64, Record) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("replay after close: %v", err)
	}
	if _, err := appendWait(j, testRecord(1, 4)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}

func TestReplayStopsAtCallbackError(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, Options{})
	appendSequentially(t, j, 1, 5)
	j.Close()
	j = mustOpen(t, dir, Options{})
	defer j.Close()
	stop := errors.New("stop")
	var seen []uint64
	err := j.Replay(2, func(lsn uint64, _ Record) error {
		seen = append(seen, lsn)
		if lsn == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(seen, []uint64{2, 3}) {
		t.Fatalf("replay: %v after %v", err, seen)
	}
}

// TestPayloadTooLarge checks that a rejected record is answered in order with the others and
// takes no LSN.
func TestPayloadTooLarge(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{RecordPayloadBytesMax: 16})
	defer j.Close()
	var mu sync.Mutex
	var order []string
	record := func(name string) func(uint64, error) {
		return func(lsn uint64, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				name += " " + err.Error()
			}
			order = append(order, name)
		}
	}
	j.Append(Record{Shard: 1, Index: 1, Payload: []byte("small")}, record("a"))
	j.Append(Record{Shard: 1, Index: 2, Payload: make([]byte, 17)}, record("b"))
	if lsn, err := appendWait(j, Record{Shard: 1, Index: 3}); err != nil || lsn != 2 {
		t.Fatalf("append after a rejected one: LSN %d, %v", lsn, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) != 2 || order[0] != "a" || !strings.HasPrefix(order[1], "b "+ErrPayloadTooLarge.Error()) {
		t.Fatalf("done order %q", order)
	}
}

func TestOptionsChecked(t *testing.T) {
	tests := []Options{
		{SegmentBytes: -1},
		{GroupRecordsMax: -1},
		{GroupRecordsMax: groupRecordsLimit + 1},
		{GroupBytesMax: recordHeaderBytes},
		{GroupBytesMax: groupBytesLimit + 1},
		{RecordPayloadBytesMax: recordPayloadBytesLimit + 1},
		{GroupBytesMax: 1024, RecordPayloadBytesMax: 1024},
	}
	for _, opts := range tests {
		if _, err := Open(t.TempDir(), opts); err == nil {
			t.Errorf("Open accepted %+v", opts)
		}
	}
	opts, err := Options{GroupBytesMax: 1024}.withDefaults()
	if err != nil || opts.RecordPayloadBytesMax != 1024-recordHeaderBytes {
		t.Fatalf("default payload limit under a small group: %d, %v", opts.RecordPayloadBytesMax, err)
	}
}
