package journal

import (
	"errors"
	"testing"
)

func TestMemoryJournal(t *testing.T) {
	m := NewMemory()
	var acks ackLog
	appendConcurrently(m, 4, 100, &acks)
	if len(acks.entries) != 400 || m.LastLSN() != 400 {
		t.Fatalf("%d acknowledged, LastLSN %d", len(acks.entries), m.LastLSN())
	}
	for i, a := range acks.entries {
		if a.lsn != uint64(i+1) {
			t.Fatalf("done call %d has LSN %d: done must run in LSN order", i, a.lsn)
		}
	}
	got := replayAll(t, m, 1)
	for i := range got {
		if got[i].lsn != acks.entries[i].lsn || !sameRecord(got[i].rec, acks.entries[i].rec) {
			t.Fatalf("record %d: replayed %+v, acknowledged %+v", i, got[i], acks.entries[i])
		}
	}
	if err := m.Archive(101); err != nil {
		t.Fatal(err)
	}
	if err := m.Replay(100, func(uint64, Record) error { return nil }); !errors.Is(err, ErrArchived) {
		t.Fatalf("replay of dropped records: %v", err)
	}
	if got := replayAll(t, m, 101); len(got) != 300 || got[0].lsn != 101 {
		t.Fatalf("replay after archive: %d records from %d", len(got), got[0].lsn)
	}
	m.Close()
	if _, err := appendWait(m, Record{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
}

// TestMemoryJournalAppendFromDone checks that done may append again without deadlock, and that
// the nested record is answered after the one whose done appended it.
func TestMemoryJournalAppendFromDone(t *testing.T) {
	m := NewMemory()
	var order []uint64
	m.Append(Record{Index: 1}, func(lsn uint64, err error) {
		order = append(order, lsn)
		m.Append(Record{Index: 2}, func(lsn uint64, err error) { order = append(order, lsn) })
		order = append(order, 100)
	})
	if len(order) != 3 || order[0] != 1 || order[1] != 100 || order[2] != 2 {
		t.Fatalf("order %v, want [1 100 2]", order)
	}
}

func TestDiscardJournal(t *testing.T) {
	d := NewDiscard()
	for i := range 3 {
		if lsn, err := appendWait(d, Record{Index: uint64(i + 1), Payload: []byte("x")}); err != nil || lsn != uint64(i+1) {
			t.Fatalf("append: LSN %d, %v", lsn, err)
		}
	}
	if got := replayAll(t, d, 1); len(got) != 0 {
		t.Fatalf("a discarding journal replayed %d records", len(got))
	}
	if err := d.Archive(2); err != nil || d.LastLSN() != 3 {
		t.Fatalf("archive: %v, LastLSN %d", err, d.LastLSN())
	}
}
