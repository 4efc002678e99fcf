package projection

import (
	"context"
	"errors"
	"fmt"
	"time"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/runtime"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// Catch-up batches: records and events per bbolt transaction. One transaction is one fsync, so
// bigger batches apply faster; these bound the memory a batch holds (the decoded events, and
// the dirty pages bbolt keeps until commit).
const (
	catchUpRecordsMax = 4096
	catchUpEventsMax  = 1 << 16
)

// DecodeFunc calls fn for every ledger event among a record's machine events, in order, and
// skips the machine's other events. The event passed to fn is valid only during the call.
type DecodeFunc func(events []byte, fn func(*ledger.Event)) error

// LedgerEvents decodes a stream of ledger events only, as engine/shardledger writes it.
func LedgerEvents(events []byte, fn func(*ledger.Event)) error {
	for len(events) > 0 {
		e, n, err := ledger.DecodeEvent(events)
		if err != nil {
			return err
		}
		fn(&e)
		events = events[n:]
	}
	return nil
}

// welfareKindFirst is where the welfare stream's own kinds begin: ledger kinds are below it
// (engine/welfare decodes the stream by the same rule), stock kinds far above.
const welfareKindFirst = 32

// WelfareEvents decodes the stream engine/shard writes: ledger events interleaved with welfare
// and stock events, which it decodes only to learn their size and skips.
func WelfareEvents(events []byte, fn func(*ledger.Event)) error {
	for len(events) > 0 {
		kind := events[0]
		var n int
		var err error
		switch {
		case kind < welfareKindFirst:
			var e ledger.Event
			if e, n, err = ledger.DecodeEvent(events); err == nil {
				fn(&e)
			}
		case stock.IsEvent(kind):
			_, n, err = stock.DecodeEvent(events)
		default:
			_, n, err = welfare.DecodeEvent(events)
		}
		if err != nil {
			return err
		}
		events = events[n:]
	}
	return nil
}

// CatchUp applies every record after LastApplied that is durable when it starts, in batches of
// one transaction each, and returns the records and entries it applied. When it fails, the
// batches before the failure stay applied.
func (h *History) CatchUp(j *journal.FileJournal, decode DecodeFunc) (CatchUpStats, error) {
	f := follower{h: h, decode: decode, reader: j.NewReader(h.LastApplied() + 1)}
	return f.catchUp()
}

// CatchUpStats counts what one catch-up applied.
type CatchUpStats struct {
	Records int // journal records applied, with or without ledger events
	Entries int // history entries written
}

// Follow catches up with the journal, then again each time every passes, until ctx is done; it
// returns ctx's error then, or the first error met (journal.ErrClosed once the journal is
// closed). It starts after LastApplied, so following again after a restart or an error is safe
// (Idempotent). It keeps its place in the journal between polls, so a poll reads only the
// records that became durable since the last one.
func (h *History) Follow(ctx context.Context, j *journal.FileJournal, decode DecodeFunc, every time.Duration) error {
	if every <= 0 {
		return fmt.Errorf("projection: follow every %v", every)
	}
	f := follower{h: h, decode: decode, reader: j.NewReader(h.LastApplied() + 1)}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		if _, err := f.catchUp(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}

// follower reads the journal and applies it in batches. It is used by one goroutine, and not
// after an error.
type follower struct {
	h      *History
	decode DecodeFunc
	reader *journal.Reader

	records []batchRecord
	events  []ledger.Event
	writer  writer
	stats   CatchUpStats
}

// batchRecord is a record of the batch; its events are events[from:to] of the batch.
type batchRecord struct {
	lsn       uint64
	shard     uint32
	timeNanos int64
	from, to  int
}

// errStopRead stops a read whose batch failed to apply; the batch's error is returned instead.
var errStopRead = errors.New("projection: stop reading")

func (f *follower) catchUp() (CatchUpStats, error) {
	f.stats = CatchUpStats{}
	var applyErr error
	err := f.reader.Read(func(lsn uint64, rec journal.Record) error {
		events, err := runtime.RecordEvents(rec.Payload)
		if err != nil {
			return err
		}
		from := len(f.events)
		if err := f.decode(events, func(e *ledger.Event) { f.events = append(f.events, *e) }); err != nil {
			return err
		}
		f.records = append(f.records, batchRecord{lsn: lsn, shard: rec.Shard, timeNanos: rec.TimeNanos, from: from, to: len(f.events)})
		if len(f.records) >= catchUpRecordsMax || len(f.events) >= catchUpEventsMax {
			if applyErr = f.flush(); applyErr != nil {
				return errStopRead
			}
		}
		return nil
	})
	if applyErr != nil {
		err = applyErr
	}
	if err == nil {
		err = f.flush()
	}
	if err != nil {
		// The batch was not applied and the reader has gone past it, so this follower is done:
		// the next one starts after LastApplied, which the file keeps.
		return f.stats, err
	}
	return f.stats, nil
}

// flush applies the batch in one transaction.
func (f *follower) flush() error {
	if len(f.records) == 0 {
		return nil
	}
	entries, err := f.h.update(&f.writer, func() error {
		for _, r := range f.records {
			if err := f.writer.apply(r.lsn, r.shard, r.timeNanos, f.events[r.from:r.to]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	f.stats.Records += len(f.records)
	f.stats.Entries += entries
	f.records = f.records[:0]
	clear(f.events)
	f.events = f.events[:0]
	return nil
}
