package projection

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"huigong/engine/ledger"
)

// PageLimitMax bounds the entries of one page.
const PageLimitMax = 1000

// historyFormatVersion is the layout of the buckets; a file of another layout is refused, to be
// rebuilt from the journal.
const historyFormatVersion = 1

// openTimeout bounds the wait for bbolt's file lock, so a second process opening the same file
// fails instead of hanging.
const openTimeout = 5 * time.Second

// initialMmapBytes is the address space bbolt maps at first. bbolt remaps, with every write
// transaction waiting, each time the file outgrows its map; mapping ahead costs only address
// space, not memory.
const initialMmapBytes = 1 << 30

var (
	bucketEntries = []byte("entries")
	bucketPending = []byte("pending")
	bucketMeta    = []byte("meta")
	keyLastLSN    = []byte("last_lsn")
	keyFormat     = []byte("format")
)

var (
	// ErrCorrupt is wrapped by errors about a projection file, or a journal stream, that does
	// not decode or does not fit what was projected before.
	ErrCorrupt = errors.New("projection: corrupt")
	// ErrBadCursor is wrapped when a cursor was not made by Page for that account.
	ErrBadCursor = errors.New("projection: bad cursor")
	// ErrBadLimit is wrapped when a page limit is outside [1, PageLimitMax].
	ErrBadLimit = errors.New("projection: bad page limit")
)

// History is the per-account transfer history of every shard, projected from the journal's
// ledger events to a bbolt file. It is safe for concurrent use: pages are read while records
// are applied.
type History struct {
	db *bolt.DB
	// lastLSN mirrors meta/last_lsn after each commit, so LastApplied needs no transaction.
	lastLSN atomic.Uint64
}

// Open opens the history file at path, creating it if missing.
func Open(path string) (*History, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: openTimeout, FreelistType: bolt.FreelistMapType, InitialMmapSize: initialMmapBytes,
	})
	if err != nil {
		return nil, fmt.Errorf("projection: open %s: %w", path, err)
	}
	h := &History{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketEntries, bucketPending, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get(keyFormat); {
		case v == nil:
			if err := meta.Put(keyFormat, le.AppendUint32(nil, historyFormatVersion)); err != nil {
				return err
			}
		case len(v) != 4 || le.Uint32(v) != historyFormatVersion:
			return fmt.Errorf("%w: history format %x, this code reads %d: rebuild it from the journal", ErrCorrupt, v, historyFormatVersion)
		}
		last, err := readLastLSN(meta)
		h.lastLSN.Store(last)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("projection: open %s: %w", path, err)
	}
	return h, nil
}

// Close closes the file.
func (h *History) Close() error { return h.db.Close() }

// LastApplied is the LSN of the last journal record applied; 0 before the first.
func (h *History) LastApplied() uint64 { return h.lastLSN.Load() }

// Record is one journal record's ledger events, as Apply takes them.
type Record struct {
	LSN       uint64
	Shard     uint32
	TimeNanos int64
	Events    []ledger.Event
}

// Apply projects the ledger events of the journal record at lsn of shard, in one transaction.
// A record at or below LastApplied is skipped (Idempotent); LSNs must otherwise increase.
func (h *History) Apply(lsn uint64, shard uint32, timeNanos int64, events []ledger.Event) error {
	return h.ApplyBatch([]Record{{LSN: lsn, Shard: shard, TimeNanos: timeNanos, Events: events}})
}

// ApplyBatch applies records in order in one transaction: one fsync for all of them.
func (h *History) ApplyBatch(records []Record) error {
	var w writer
	_, err := h.update(&w, func() error {
		for i := range records {
			r := &records[i]
			if err := w.apply(r.LSN, r.Shard, r.TimeNanos, r.Events); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// update runs fn in one write transaction with w bound to it, stores the last LSN applied with
// the entries, and returns how many entries it wrote.
func (h *History) update(w *writer, fn func() error) (int, error) {
	defer w.end()
	err := h.db.Update(func(tx *bolt.Tx) error {
		if err := w.begin(tx); err != nil {
			return err
		}
		if err := fn(); err != nil {
			return err
		}
		if w.lastLSN == w.startLSN {
			return nil
		}
		if err := w.flushEntries(); err != nil {
			return err
		}
		return w.meta.Put(keyLastLSN, le.AppendUint64(nil, w.lastLSN))
	})
	if err != nil {
		return 0, err
	}
	// Transactions commit one at a time but may return out of order: keep the highest.
	for last := h.lastLSN.Load(); last < w.lastLSN && !h.lastLSN.CompareAndSwap(last, w.lastLSN); last = h.lastLSN.Load() {
	}
	return w.entriesWritten, nil
}

// writer applies records inside one bbolt write transaction. bbolt keeps the value slices given
// to Put until the transaction ends, so values are cut from an arena that only grows during it.
type writer struct {
	entries, pending, meta *bolt.Bucket
	startLSN, lastLSN      uint64
	arena                  []byte
	record                 []accountEntry // the entries of the record being applied
	puts                   []entryPut     // the entries of the transaction, put at its end
	entriesWritten         int
}

// entryPut is an entry to put: its key and its value, cut from the arena.
type entryPut struct {
	key   [entryKeyBytes]byte
	value []byte
}

// accountEntry is an entry with the account whose history it joins.
type accountEntry struct {
	account ledger.AccountID
	entry   Entry
}

// begin binds w to tx and reads the last LSN applied from the file, which is the authority:
// the cached copy may lag a transaction that committed just before this one.
func (w *writer) begin(tx *bolt.Tx) error {
	w.entries, w.pending, w.meta = tx.Bucket(bucketEntries), tx.Bucket(bucketPending), tx.Bucket(bucketMeta)
	last, err := readLastLSN(w.meta)
	w.startLSN, w.lastLSN = last, last
	w.entriesWritten = 0
	return err
}

func readLastLSN(meta *bolt.Bucket) (uint64, error) {
	v := meta.Get(keyLastLSN)
	switch {
	case v == nil:
		return 0, nil
	case len(v) != 8:
		return 0, fmt.Errorf("%w: last LSN of %d bytes", ErrCorrupt, len(v))
	}
	return le.Uint64(v), nil
}

func (w *writer) end() {
	w.entries, w.pending, w.meta = nil, nil, nil
	w.arena = w.arena[:0] // the transaction is over: bbolt no longer holds the values
	clear(w.record)
	w.record = w.record[:0]
	clear(w.puts)
	w.puts = w.puts[:0]
}

// flushEntries puts the transaction's entries in key order. bbolt splits nodes only at commit,
// so one in-memory node takes every insert of a transaction that lands in it, and each insert
// shifts the node's tail. In key order the inserts into a node follow one another and shift
// little; in journal order they scattered across the first transaction's single node, and the
// shifting made catch-up quadratic (BenchmarkCatchUp: about 30k entries/s before, 260k after).
func (w *writer) flushEntries() error {
	slices.SortFunc(w.puts, func(a, b entryPut) int { return bytes.Compare(a.key[:], b.key[:]) })
	for i := range w.puts {
		p := &w.puts[i]
		if err := w.entries.Put(p.key[:], p.value); err != nil {
			return fmt.Errorf("projection: put entry: %w", err)
		}
	}
	return nil
}

// value copies b to the arena and returns the copy, which stays unchanged until end.
func (w *writer) value(b []byte) []byte {
	if cap(w.arena)-len(w.arena) < len(b) {
		w.arena = make([]byte, 0, max(64<<10, 2*cap(w.arena), len(b)))
	}
	start := len(w.arena)
	w.arena = append(w.arena, b...)
	return w.arena[start:len(w.arena):len(w.arena)]
}

// apply projects one record.
func (w *writer) apply(lsn uint64, shard uint32, timeNanos int64, events []ledger.Event) error {
	if lsn <= w.lastLSN {
		return nil // Idempotent: applied before.
	}
	w.record = w.record[:0]
	for i := range events {
		e := &events[i]
		switch e.Kind {
		case ledger.EventAccountCreated:
		case ledger.EventTransferCreated:
			if err := w.transfer(shard, timeNanos, &e.Transfer); err != nil {
				return fmt.Errorf("projection: LSN %d, event %d: %w", lsn, i, err)
			}
		case ledger.EventPendingExpired:
			if err := w.expired(shard, timeNanos, &e.Transfer); err != nil {
				return fmt.Errorf("projection: LSN %d, event %d: %w", lsn, i, err)
			}
		case ledger.EventBalanceRecorded:
			if !w.balance(e) {
				return fmt.Errorf("%w: LSN %d, event %d: balance of account %d after transfer %d, which the record does not name before it",
					ErrCorrupt, lsn, i, e.Account.ID, e.Transfer.ID)
			}
		default:
			return fmt.Errorf("%w: LSN %d, event %d: ledger event kind %d", ErrCorrupt, lsn, i, e.Kind)
		}
	}
	var buf [entryValueBytes + entryBalanceBytes]byte
	for i := range w.record {
		ae := &w.record[i]
		w.puts = append(w.puts, entryPut{
			key:   entryKey(shard, ae.account, lsn, uint32(i)),
			value: w.value(appendEntryValue(buf[:0], &ae.entry)),
		})
	}
	w.entriesWritten += len(w.record)
	w.lastLSN = lsn
	return nil
}

// transfer adds the transfer to both its accounts and keeps the pending index current.
func (w *writer) transfer(shard uint32, timeNanos int64, t *ledger.Transfer) error {
	e := Entry{
		Kind: EntryTransfer, TransferID: t.ID, Code: t.Code, Flags: t.Flags,
		PendingID: t.PendingID, RefundOfID: t.RefundOfID, UserData: t.UserData, TimeNanos: timeNanos,
	}
	if t.TimestampNanos != 0 {
		e.TimeNanos = t.TimestampNanos
	}
	w.addBothSides(t.DebitAccountID, t.CreditAccountID, t.AmountFen, e)
	switch {
	case t.Flags&ledger.Pending != 0 && t.DeadlineNanos != 0:
		// Only a hold with a deadline can expire; the expiry names only the transfer.
		p := openPending{debit: t.DebitAccountID, credit: t.CreditAccountID, amountFen: t.AmountFen, userData: t.UserData, code: t.Code}
		key := pendingKey(shard, t.ID)
		var buf [openPendingBytes]byte
		return w.pending.Put(key[:], w.value(appendOpenPending(buf[:0], &p)))
	case t.Flags&(ledger.PostPending|ledger.VoidPending) != 0:
		key := pendingKey(shard, t.PendingID)
		return w.pending.Delete(key[:])
	}
	return nil
}

// expired adds the release of an expired hold to both its accounts.
func (w *writer) expired(shard uint32, timeNanos int64, t *ledger.Transfer) error {
	key := pendingKey(shard, t.PendingID)
	v := w.pending.Get(key[:])
	if v == nil {
		return fmt.Errorf("%w: expiry of pending transfer %d, which no record held open with a deadline", ErrCorrupt, t.PendingID)
	}
	p, err := decodeOpenPending(v)
	if err != nil {
		return err
	}
	e := Entry{
		Kind: EntryPendingExpired, TransferID: t.PendingID, Code: p.code, Flags: ledger.VoidPending,
		PendingID: t.PendingID, UserData: p.userData, TimeNanos: timeNanos,
	}
	if t.TimestampNanos != 0 {
		e.TimeNanos = t.TimestampNanos
	}
	w.addBothSides(p.debit, p.credit, p.amountFen, e)
	return w.pending.Delete(key[:])
}

func (w *writer) addBothSides(debit, credit ledger.AccountID, amountFen int64, e Entry) {
	e.OtherAccountID, e.AmountFen = credit, -amountFen
	w.record = append(w.record, accountEntry{account: debit, entry: e})
	e.OtherAccountID, e.AmountFen = debit, amountFen
	w.record = append(w.record, accountEntry{account: credit, entry: e})
}

// balance fills in the balances of the latest entry of the record for the account and transfer
// the event names: the ledger records them right after the transfer or expiry.
func (w *writer) balance(e *ledger.Event) bool {
	for i := len(w.record) - 1; i >= 0; i-- {
		ae := &w.record[i]
		if ae.account != e.Account.ID || ae.entry.TransferID != e.Transfer.ID {
			continue
		}
		a := &e.Account
		ae.entry.HasBalance = true
		ae.entry.DebitsPendingFen, ae.entry.DebitsPostedFen = a.DebitsPendingFen, a.DebitsPostedFen
		ae.entry.CreditsPendingFen, ae.entry.CreditsPostedFen = a.CreditsPendingFen, a.CreditsPostedFen
		return true
	}
	return false
}

// Page returns up to limit entries of an account's history, oldest first, from cursor ("" for
// the first page), and the cursor of the next page, "" when there is none. A cursor is opaque
// to callers: the base64 of the key of the next entry. Entries applied after a page was read
// appear on later pages, since they sort after every earlier entry of the account.
func (h *History) Page(shard uint32, account ledger.AccountID, cursor string, limit int) ([]Entry, string, error) {
	if limit < 1 || limit > PageLimitMax {
		return nil, "", fmt.Errorf("%w: %d, want 1 to %d", ErrBadLimit, limit, PageLimitMax)
	}
	prefix := accountPrefix(shard, account)
	start := prefix[:]
	if cursor != "" {
		key, err := base64.RawURLEncoding.DecodeString(cursor)
		if err != nil || len(key) != entryKeyBytes || !bytes.HasPrefix(key, prefix[:]) {
			return nil, "", fmt.Errorf("%w: not a cursor of account %d on shard %d", ErrBadCursor, account, shard)
		}
		start = key
	}
	var entries []Entry
	var next string
	err := h.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEntries).Cursor()
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix[:]); k, v = c.Next() {
			if len(entries) == limit {
				next = base64.RawURLEncoding.EncodeToString(k)
				return nil
			}
			e, err := decodeEntry(k, v)
			if err != nil {
				return err
			}
			entries = append(entries, e)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return entries, next, nil
}
