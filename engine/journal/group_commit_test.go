package journal

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroupCommitGroups checks Group-commit: with many appenders, one fsync serves many records.
func TestGroupCommitGroups(t *testing.T) {
	var fsyncLatencies atomic.Int64
	j := mustOpen(t, t.TempDir(), Options{FsyncLatency: func(time.Duration) { fsyncLatencies.Add(1) }})
	const appendersCount, recordsPerAppender = 32, 100
	var acks ackLog
	appendConcurrently(j, appendersCount, recordsPerAppender, &acks)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	s := j.Stats()
	const recordsCount = appendersCount * recordsPerAppender
	if s.RecordCount != recordsCount || len(acks.entries) != recordsCount {
		t.Fatalf("stats %+v, %d acknowledged", s, len(acks.entries))
	}
	if s.FsyncCount >= s.RecordCount || s.GroupRecordsLargest < 2 {
		t.Fatalf("no grouping: %+v", s)
	}
	if s.GroupCount != s.FsyncCount || uint64(fsyncLatencies.Load()) != s.FsyncCount {
		t.Fatalf("groups %d, fsyncs %d, latency calls %d", s.GroupCount, s.FsyncCount, fsyncLatencies.Load())
	}
	if s.WrittenBytes == 0 || s.DirSyncCount == 0 {
		t.Fatalf("stats %+v", s)
	}
	t.Logf("%d records in %d fsyncs, largest group %d", s.RecordCount, s.FsyncCount, s.GroupRecordsLargest)
}

// TestBackpressure checks Bounded-queue: groups never pass the limits, and appenders blocked on
// a full queue all get through.
func TestBackpressure(t *testing.T) {
	const groupRecordsMax = 4
	j := mustOpen(t, t.TempDir(), Options{GroupRecordsMax: groupRecordsMax, GroupBytesMax: 512, RecordPayloadBytesMax: 128})
	var acks ackLog
	appendConcurrently(j, 8, 50, &acks)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	s := j.Stats()
	if len(acks.entries) != 400 || s.GroupRecordsLargest > groupRecordsMax {
		t.Fatalf("%d acknowledged, stats %+v", len(acks.entries), s)
	}
}

// TestStickyFailure checks that after a failed fsync the journal acknowledges nothing more.
func TestStickyFailure(t *testing.T) {
	fs := NewFaultFS(1)
	j := mustOpen(t, "wal", Options{FS: fs})
	appendSequentially(t, j, 1, 3)
	injected := errors.New("injected EIO")
	fs.SetSyncError(injected)
	if _, err := appendWait(j, testRecord(1, 4)); !errors.Is(err, injected) {
		t.Fatalf("append with failing fsync: %v", err)
	}
	fs.SetSyncError(nil)
	if _, err := appendWait(j, testRecord(1, 5)); !errors.Is(err, injected) {
		t.Fatalf("append after a failed fsync: %v, want the first error again", err)
	}
	if j.LastLSN() != 3 {
		t.Fatalf("LastLSN %d after failures, want 3", j.LastLSN())
	}
	if err := j.Close(); !errors.Is(err, injected) {
		t.Fatalf("Close: %v, want the writer's error", err)
	}
	fs.Crash()
	j = mustOpen(t, "wal", Options{FS: fs})
	defer j.Close()
	if got := replayAll(t, j, 1); len(got) != 3 {
		t.Fatalf("replayed %d records, want the 3 synced ones", len(got))
	}
}

// BenchmarkAppend measures durable appends of ~100-byte payloads over the real filesystem.
// pipelined: each appender appends without waiting, like a shard loop handing batches on.
// waiting: each appender waits for its done before the next, like synchronous clients.
func BenchmarkAppend(b *testing.B) {
	for _, bc := range []struct {
		mode      string
		appenders int
	}{
		{"pipelined", 1}, {"pipelined", 8}, {"pipelined", 64},
		{"waiting", 1}, {"waiting", 8}, {"waiting", 64},
	} {
		b.Run(fmt.Sprintf("%s/appenders=%d", bc.mode, bc.appenders), func(b *testing.B) {
			benchmarkAppend(b, bc.mode == "waiting", bc.appenders)
		})
	}
}

func benchmarkAppend(b *testing.B, waiting bool, appenders int) {
	j := mustOpen(b, b.TempDir(), Options{})
	payload := make([]byte, 100)
	var failures atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for a := range appenders {
		count := b.N / appenders
		if a < b.N%appenders {
			count++
		}
		wg.Go(func() {
			answered := make(chan struct{}, 1)
			done := func(_ uint64, err error) {
				if err != nil {
					failures.Add(1)
				}
				if waiting {
					answered <- struct{}{}
				}
			}
			for i := range count {
				j.Append(Record{Shard: uint32(a), Index: uint64(i + 1), Payload: payload}, done)
				if waiting {
					<-answered
				}
			}
		})
	}
	wg.Wait()
	if err := j.Close(); err != nil { // Close waits until every record is durable.
		b.Fatal(err)
	}
	b.StopTimer()
	if failures.Load() > 0 {
		b.Fatalf("%d appends failed", failures.Load())
	}
	seconds := b.Elapsed().Seconds()
	s := j.Stats()
	b.ReportMetric(float64(b.N)/seconds, "records/s")
	b.ReportMetric(float64(s.FsyncCount)/seconds, "fsyncs/s")
	b.ReportMetric(float64(s.RecordCount)/float64(max(s.FsyncCount, 1)), "records/fsync")
}
