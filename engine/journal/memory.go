package journal

import (
	"fmt"
	"slices"
	"sync"
)

// MemoryJournal keeps records in memory, for tests and for running with the journal off. It
// makes nothing durable: done reports success as soon as the record is stored.
type MemoryJournal struct {
	mu       sync.Mutex
	keep     bool
	records  []Record // records[i] has LSN firstLSN+i; their payloads are never written again
	firstLSN uint64
	lastLSN  uint64
	closed   bool

	// Done callbacks are delivered in LSN order by whichever appender finds no one else
	// delivering; the others only queue theirs. So done may even call Append.
	pending    []completion
	spare      []completion
	delivering bool
}

var _ Journal = (*MemoryJournal)(nil)

// NewMemory returns a journal that keeps every record in memory.
func NewMemory() *MemoryJournal { return &MemoryJournal{keep: true, firstLSN: 1} }

// NewDiscard returns a journal that keeps nothing: it only numbers records and answers, for
// measuring with the journal off.
func NewDiscard() *MemoryJournal { return &MemoryJournal{firstLSN: 1} }

// Append implements Journal. done is called before Append returns, unless another goroutine is
// delivering callbacks at that moment: then that goroutine calls it, in order.
func (m *MemoryJournal) Append(rec Record, done func(lsn uint64, err error)) {
	m.AppendSequenced(rec, done)
}

// AppendSequenced is Append that reports whether the record took an LSN (false once closed).
func (m *MemoryJournal) AppendSequenced(rec Record, done func(lsn uint64, err error)) bool {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		done(0, ErrClosed)
		return false
	}
	m.lastLSN++
	if m.keep {
		rec.Payload = slices.Clone(rec.Payload)
		m.records = append(m.records, rec)
	}
	m.pending = append(m.pending, completion{done: done, lsn: m.lastLSN})
	if m.delivering {
		m.mu.Unlock()
		return true
	}
	m.delivering = true
	for len(m.pending) > 0 {
		batch := m.pending
		m.pending = m.spare[:0]
		m.mu.Unlock()
		for _, c := range batch {
			c.done(c.lsn, nil)
		}
		clear(batch)
		m.mu.Lock()
		m.spare = batch[:0]
	}
	m.delivering = false
	m.mu.Unlock()
	return true
}

// Replay implements Journal. Unlike the file journal, a MemoryJournal may replay at any time: it
// replays the records appended so far. A discarding journal has nothing to replay.
func (m *MemoryJournal) Replay(from uint64, fn func(lsn uint64, rec Record) error) error {
	m.mu.Lock()
	closed, keep := m.closed, m.keep
	records, firstLSN := m.records, m.firstLSN
	m.mu.Unlock()
	from = max(from, 1)
	switch {
	case closed:
		return ErrClosed
	case !keep:
		return nil
	case from < firstLSN:
		return fmt.Errorf("%w: replay from LSN %d, oldest kept LSN is %d", ErrArchived, from, firstLSN)
	}
	for i := from - firstLSN; i < uint64(len(records)); i++ {
		if err := fn(firstLSN+i, records[i]); err != nil {
			return fmt.Errorf("journal: replay at LSN %d: %w", firstLSN+i, err)
		}
	}
	return nil
}

// Archive implements Journal by dropping the records with LSN < before.
func (m *MemoryJournal) Archive(before uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if !m.keep || before <= m.firstLSN {
		return nil
	}
	drop := min(before-m.firstLSN, uint64(len(m.records)))
	m.records = slices.Clone(m.records[drop:])
	m.firstLSN += drop
	return nil
}

// LastLSN implements Journal.
func (m *MemoryJournal) LastLSN() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastLSN
}

// Close implements Journal.
func (m *MemoryJournal) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
