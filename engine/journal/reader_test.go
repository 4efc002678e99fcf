package journal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// collect reads with ReadDurable from from and returns the LSNs, checking each record's content.
func collect(t testing.TB, j *FileJournal, from uint64) []uint64 {
	t.Helper()
	var lsns []uint64
	err := j.ReadDurable(from, func(lsn uint64, rec Record) error {
		if !sameRecord(rec, testRecord(rec.Shard, rec.Index)) {
			t.Fatalf("LSN %d: record %+v is not what was appended", lsn, rec)
		}
		lsns = append(lsns, lsn)
		return nil
	})
	if err != nil {
		t.Fatalf("read durable from %d: %v", from, err)
	}
	return lsns
}

func checkContiguous(t testing.TB, lsns []uint64, from, to uint64) {
	t.Helper()
	if uint64(len(lsns)) != to-from+1 {
		t.Fatalf("read %d records, want LSNs %d..%d", len(lsns), from, to)
	}
	for i, lsn := range lsns {
		if lsn != from+uint64(i) {
			t.Fatalf("record %d has LSN %d, want %d", i, lsn, from+uint64(i))
		}
	}
}

// A Reader following a journal while shards append and segments rotate and are archived hands
// over every record once, in order, never one beyond the durable LSN, with the bytes appended.
func TestReadDurableWhileAppending(t *testing.T) {
	for _, tc := range []struct {
		name string
		fs   func(t *testing.T) (FS, string)
	}{
		{"os", func(t *testing.T) (FS, string) { return OSFS{}, t.TempDir() }},
		{"fault", func(t *testing.T) (FS, string) { return NewFaultFS(7), "journal" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys, path := tc.fs(t)
			j := mustOpen(t, path, Options{FS: fsys, SegmentBytes: 2048})
			defer j.Close()
			const shardsCount, perShard = 4, 300
			const total = shardsCount * perShard

			var appending atomic.Bool
			appending.Store(true)
			var wg sync.WaitGroup
			// Each shard waits for each record to be durable, so groups are small and the
			// journal grows while the readers and the archiver run.
			for shard := range uint32(shardsCount) {
				wg.Go(func() {
					for index := uint64(1); index <= perShard; index++ {
						if _, err := appendWait(j, testRecord(shard, index)); err != nil {
							t.Errorf("append: %v", err)
							return
						}
					}
				})
			}
			go func() {
				wg.Wait()
				appending.Store(false)
			}()
			// The archiver moves old segments away under the readers.
			var archiver sync.WaitGroup
			archiver.Go(func() {
				for appending.Load() {
					if err := j.Archive(j.LastLSN() / 2); err != nil {
						t.Errorf("archive: %v", err)
						return
					}
					time.Sleep(200 * time.Microsecond)
				}
			})

			r := j.NewReader(1)
			lastIndex := map[uint32]uint64{}
			polls, fresh := 0, 0
			for {
				done := !appending.Load()
				err := r.Read(func(lsn uint64, rec Record) error {
					if durable := j.LastLSN(); lsn > durable {
						t.Fatalf("read LSN %d beyond the durable LSN %d", lsn, durable)
					}
					if lsn != r.Next() {
						t.Fatalf("read LSN %d, want %d", lsn, r.Next())
					}
					if rec.Index != lastIndex[rec.Shard]+1 || !sameRecord(rec, testRecord(rec.Shard, rec.Index)) {
						t.Fatalf("LSN %d: shard %d index %d after %d, or not the bytes appended", lsn, rec.Shard, rec.Index, lastIndex[rec.Shard])
					}
					lastIndex[rec.Shard] = rec.Index
					return nil
				})
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				polls++
				if polls%7 == 0 {
					// A one-shot read from the start goes through the archive.
					lsns := collect(t, j, 1)
					checkContiguous(t, lsns, 1, uint64(len(lsns)))
					fresh++
				}
				if done {
					break
				}
			}
			archiver.Wait()
			if r.Next() != total+1 {
				t.Fatalf("reader stopped at LSN %d, want %d", r.Next(), total+1)
			}
			if err := j.Archive(total / 2); err != nil {
				t.Fatal(err)
			}
			if _, ok := fsys.(OSFS); ok && len(segmentFiles(t, filepath.Join(path, archiveDirName))) == 0 {
				t.Fatal("nothing was archived: the reads below would not cross the archive")
			}
			checkContiguous(t, collect(t, j, 1), 1, total)
			checkContiguous(t, collect(t, j, 777), 777, total)
			t.Logf("%d polls, %d reads from the start", polls, fresh)
		})
	}
}

// An error from fn stops Read; the next Read starts again at the record that failed.
func TestReaderResumesAfterError(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{SegmentBytes: 512})
	defer j.Close()
	appendSequentially(t, j, 1, 20)
	r := j.NewReader(1)
	stop := errors.New("stop")
	var got []uint64
	err := r.Read(func(lsn uint64, rec Record) error {
		if lsn == 5 {
			return stop
		}
		got = append(got, lsn)
		return nil
	})
	if !errors.Is(err, stop) || r.Next() != 5 {
		t.Fatalf("read: %v, next %d; want the error and next 5", err, r.Next())
	}
	if err := r.Read(func(lsn uint64, rec Record) error { got = append(got, lsn); return nil }); err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, got, 1, 20)
	// Nothing new: nothing read.
	if err := r.Read(func(lsn uint64, rec Record) error { t.Fatalf("read LSN %d again", lsn); return nil }); err != nil {
		t.Fatal(err)
	}
	appendSequentially(t, j, 2, 3)
	got = got[:0]
	if err := r.Read(func(lsn uint64, rec Record) error { got = append(got, lsn); return nil }); err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, got, 21, 23)
}

// ReadDurable reads through the archive; ReadDir reads a closed journal, stopping at a torn tail
// and reporting damage in the middle; a missing archived segment is reported, not skipped.
func TestReadDurableArchiveAndReadDir(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentBytes: 512}
	j := mustOpen(t, dir, opts)
	const recordsCount = 120
	appendSequentially(t, j, 1, recordsCount)
	if err := j.Archive(60); err != nil {
		t.Fatal(err)
	}
	archived := segmentFiles(t, filepath.Join(dir, archiveDirName))
	if len(archived) < 2 {
		t.Fatalf("archived %v", archived)
	}
	checkContiguous(t, collect(t, j, 1), 1, recordsCount)
	checkContiguous(t, collect(t, j, 70), 70, recordsCount)
	checkContiguous(t, collect(t, j, 0), 1, recordsCount)
	if got := collect(t, j, recordsCount+1); len(got) != 0 {
		t.Fatalf("read %d records past the end", len(got))
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.ReadDurable(1, func(uint64, Record) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v, want ErrClosed", err)
	}

	readDir := func(from uint64) ([]uint64, error) {
		var lsns []uint64
		err := ReadDir(nil, dir, from, func(lsn uint64, rec Record) error {
			if !sameRecord(rec, testRecord(rec.Shard, rec.Index)) {
				t.Fatalf("LSN %d: record %+v is not what was appended", lsn, rec)
			}
			lsns = append(lsns, lsn)
			return nil
		})
		return lsns, err
	}
	got, err := readDir(1)
	if err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, got, 1, recordsCount)

	// A torn tail ends the records; ReadDir leaves it for Open to cut.
	last := lastSegmentPath(t, dir)
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("torn half of a record"))
	f.Close()
	if got, err = readDir(100); err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, got, 100, recordsCount)

	// Damage in an archived segment is fatal.
	first := filepath.Join(dir, archiveDirName, archived[0])
	data, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	damaged := slices.Clone(data)
	damaged[recordHeaderBytes+3] ^= 0xff
	if err := os.WriteFile(first, damaged, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readDir(1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of a damaged archived segment: %v, want ErrCorrupt", err)
	}
	// Records after the damaged segment still read.
	second, _ := parseSegmentName(archived[1])
	if got, err = readDir(second); err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, got, second, recordsCount)

	// A missing archived segment is reported, whether it held the first records or later ones.
	if err := os.WriteFile(first, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, archiveDirName, archived[1])); err != nil {
		t.Fatal(err)
	}
	if _, err := readDir(1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read across a missing segment: %v, want ErrCorrupt", err)
	}
	if err := os.Remove(first); err != nil {
		t.Fatal(err)
	}
	if _, err := readDir(1); !errors.Is(err, ErrArchived) {
		t.Fatalf("read of records no segment holds: %v, want ErrArchived", err)
	}
}
