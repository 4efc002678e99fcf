package projection

import (
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	bolt "go.etcd.io/bbolt"

	"huigong/engine/ledger"
)

func openHistory(t testing.TB, path string) *History {
	t.Helper()
	h, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// allEntries pages through an account's whole history with pages of limit entries.
func allEntries(t testing.TB, h *History, shard uint32, account ledger.AccountID, limit int) []Entry {
	t.Helper()
	var all []Entry
	cursor := ""
	for pages := 0; ; pages++ {
		entries, next, err := h.Page(shard, account, cursor, limit)
		if err != nil {
			t.Fatalf("page %d of account %d on shard %d: %v", pages, account, shard, err)
		}
		if len(entries) > limit || (next != "" && len(entries) != limit) {
			t.Fatalf("page of %d entries with limit %d, next %q", len(entries), limit, next)
		}
		all = append(all, entries...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

func transferEvent(t ledger.Transfer) ledger.Event {
	return ledger.Event{Kind: ledger.EventTransferCreated, Transfer: t}
}

func balanceEvent(account ledger.AccountID, transfer ledger.TransferID, debitsPending, debitsPosted, creditsPending, creditsPosted int64) ledger.Event {
	return ledger.Event{Kind: ledger.EventBalanceRecorded, Transfer: ledger.Transfer{ID: transfer}, Account: ledger.Account{
		ID: account, DebitsPendingFen: debitsPending, DebitsPostedFen: debitsPosted,
		CreditsPendingFen: creditsPending, CreditsPostedFen: creditsPosted,
	}}
}

// Each kind of ledger event lands in the history of both accounts with the fields Entry names,
// balances where the ledger recorded them, and an expiry on both sides of the hold.
func TestApplyEntries(t *testing.T) {
	h := openHistory(t, filepath.Join(t.TempDir(), "history.db"))
	defer h.Close()
	const budget, member, other = ledger.AccountID(1), ledger.AccountID(2), ledger.AccountID(3)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(h.Apply(1, 0, 100, []ledger.Event{
		{Kind: ledger.EventAccountCreated, Account: ledger.Account{ID: budget}},
		{Kind: ledger.EventAccountCreated, Account: ledger.Account{ID: member, Flags: ledger.AccountHistory}},
		transferEvent(ledger.Transfer{ID: 10, DebitAccountID: budget, CreditAccountID: member, AmountFen: 500, Code: ledger.CodeIssue, UserData: 77, TimestampNanos: 100}),
		balanceEvent(member, 10, 0, 0, 0, 500),
	}))
	must(h.Apply(2, 0, 200, []ledger.Event{
		transferEvent(ledger.Transfer{ID: 11, DebitAccountID: member, CreditAccountID: other, AmountFen: 120, Code: ledger.CodeSpendHold, Flags: ledger.Pending, DeadlineNanos: 1000, TimestampNanos: 200}),
		balanceEvent(member, 11, 120, 0, 0, 500),
		transferEvent(ledger.Transfer{ID: 12, DebitAccountID: member, CreditAccountID: other, AmountFen: 30, Code: ledger.CodeSpendHold, Flags: ledger.Pending, TimestampNanos: 200}),
		balanceEvent(member, 12, 150, 0, 0, 500),
	}))
	// The same shard's account 1 on another shard is another account.
	must(h.Apply(3, 1, 250, []ledger.Event{
		transferEvent(ledger.Transfer{ID: 10, DebitAccountID: other, CreditAccountID: budget, AmountFen: 9, Code: ledger.CodeFund, TimestampNanos: 250}),
	}))
	must(h.Apply(4, 0, 1000, []ledger.Event{
		{Kind: ledger.EventPendingExpired, Transfer: ledger.Transfer{PendingID: 11, TimestampNanos: 1000}},
		balanceEvent(member, 11, 30, 0, 0, 500),
		transferEvent(ledger.Transfer{ID: 13, DebitAccountID: member, CreditAccountID: other, AmountFen: 30, PendingID: 12, Code: ledger.CodePost, Flags: ledger.PostPending, TimestampNanos: 1000}),
		balanceEvent(member, 13, 0, 30, 0, 500),
		transferEvent(ledger.Transfer{ID: 14, DebitAccountID: other, CreditAccountID: member, AmountFen: 10, RefundOfID: 13, Code: ledger.CodeRefund, TimestampNanos: 1000}),
		balanceEvent(member, 14, 0, 30, 0, 510),
	}))
	if got := h.LastApplied(); got != 4 {
		t.Fatalf("LastApplied %d, want 4", got)
	}

	want := []Entry{
		{LSN: 1, Kind: EntryTransfer, TransferID: 10, OtherAccountID: budget, AmountFen: 500, Code: ledger.CodeIssue, UserData: 77, TimeNanos: 100,
			HasBalance: true, CreditsPostedFen: 500},
		{LSN: 2, Kind: EntryTransfer, TransferID: 11, OtherAccountID: other, AmountFen: -120, Code: ledger.CodeSpendHold, Flags: ledger.Pending, TimeNanos: 200,
			HasBalance: true, DebitsPendingFen: 120, CreditsPostedFen: 500},
		{LSN: 2, Kind: EntryTransfer, TransferID: 12, OtherAccountID: other, AmountFen: -30, Code: ledger.CodeSpendHold, Flags: ledger.Pending, TimeNanos: 200,
			HasBalance: true, DebitsPendingFen: 150, CreditsPostedFen: 500},
		{LSN: 4, Kind: EntryPendingExpired, TransferID: 11, OtherAccountID: other, AmountFen: -120, Code: ledger.CodeSpendHold, Flags: ledger.VoidPending, PendingID: 11, TimeNanos: 1000,
			HasBalance: true, DebitsPendingFen: 30, CreditsPostedFen: 500},
		{LSN: 4, Kind: EntryTransfer, TransferID: 13, OtherAccountID: other, AmountFen: -30, Code: ledger.CodePost, Flags: ledger.PostPending, PendingID: 12, TimeNanos: 1000,
			HasBalance: true, DebitsPostedFen: 30, CreditsPostedFen: 500},
		{LSN: 4, Kind: EntryTransfer, TransferID: 14, OtherAccountID: other, AmountFen: 10, Code: ledger.CodeRefund, RefundOfID: 13, TimeNanos: 1000,
			HasBalance: true, DebitsPostedFen: 30, CreditsPostedFen: 510},
	}
	if got := allEntries(t, h, 0, member, PageLimitMax); !reflect.DeepEqual(got, want) {
		t.Fatalf("member history:\n got %+v\nwant %+v", got, want)
	}
	if got := allEntries(t, h, 0, budget, 10); len(got) != 1 || got[0].AmountFen != -500 || got[0].OtherAccountID != member || got[0].HasBalance {
		t.Fatalf("budget history on shard 0: %+v", got)
	}
	if got := allEntries(t, h, 1, budget, 10); len(got) != 1 || got[0].AmountFen != 9 || got[0].LSN != 3 {
		t.Fatalf("account %d on shard 1: %+v", budget, got)
	}
	otherHistory := allEntries(t, h, 0, other, 10)
	if len(otherHistory) != 5 || otherHistory[2].Kind != EntryPendingExpired || otherHistory[2].AmountFen != 120 {
		t.Fatalf("other history: %+v", otherHistory)
	}
	for limit := 1; limit <= len(want)+1; limit++ {
		if got := allEntries(t, h, 0, member, limit); !reflect.DeepEqual(got, want) {
			t.Fatalf("pages of %d: %+v", limit, got)
		}
	}
	if got := allEntries(t, h, 0, 999, 5); len(got) != 0 {
		t.Fatalf("unknown account: %+v", got)
	}

	// Idempotent: records at or below LastApplied are skipped.
	must(h.Apply(4, 0, 1000, []ledger.Event{transferEvent(ledger.Transfer{ID: 99, DebitAccountID: budget, CreditAccountID: member, AmountFen: 1, Code: ledger.CodeIssue})}))
	must(h.Apply(2, 0, 1000, []ledger.Event{transferEvent(ledger.Transfer{ID: 98, DebitAccountID: budget, CreditAccountID: member, AmountFen: 1, Code: ledger.CodeIssue})}))
	if got := allEntries(t, h, 0, member, 3); !reflect.DeepEqual(got, want) {
		t.Fatalf("after applying old records again: %+v", got)
	}
	// An expiry of a hold no record opened, or a balance for a transfer the record does not
	// name, is a stream this projection does not understand: an error, nothing applied.
	for _, events := range [][]ledger.Event{
		{{Kind: ledger.EventPendingExpired, Transfer: ledger.Transfer{PendingID: 11}}},
		{balanceEvent(member, 10, 0, 0, 0, 0)},
		{transferEvent(ledger.Transfer{ID: 50, DebitAccountID: budget, CreditAccountID: member, AmountFen: 1}), {Kind: 77}},
	} {
		if err := h.Apply(5, 0, 2000, events); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("apply %+v: %v, want ErrCorrupt", events, err)
		}
	}
	if got := h.LastApplied(); got != 4 {
		t.Fatalf("LastApplied %d after failed applies", got)
	}
	if got := allEntries(t, h, 0, member, 3); !reflect.DeepEqual(got, want) {
		t.Fatalf("after failed applies: %+v", got)
	}
}

// Page refuses limits out of range and cursors not made for the account.
func TestPageArguments(t *testing.T) {
	h := openHistory(t, filepath.Join(t.TempDir(), "history.db"))
	defer h.Close()
	var events []ledger.Event
	for i := range 5 {
		events = append(events, transferEvent(ledger.Transfer{ID: ledger.TransferID(i + 1), DebitAccountID: 1, CreditAccountID: 2, AmountFen: 1}))
	}
	if err := h.Apply(1, 3, 1, events); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, -1, PageLimitMax + 1} {
		if _, _, err := h.Page(3, 1, "", limit); !errors.Is(err, ErrBadLimit) {
			t.Fatalf("limit %d: %v, want ErrBadLimit", limit, err)
		}
	}
	first, next, err := h.Page(3, 1, "", 2)
	if err != nil || len(first) != 2 || next == "" {
		t.Fatalf("first page: %+v, %q, %v", first, next, err)
	}
	for _, c := range []struct {
		shard   uint32
		account ledger.AccountID
		cursor  string
	}{
		{3, 1, "not base64!"},
		{3, 1, "AAAA"},
		{3, 2, next}, // another account's
		{4, 1, next}, // another shard's
	} {
		if _, _, err := h.Page(c.shard, c.account, c.cursor, 2); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("cursor %q for account %d on shard %d: %v, want ErrBadCursor", c.cursor, c.account, c.shard, err)
		}
	}
	rest, last, err := h.Page(3, 1, next, PageLimitMax)
	if err != nil || len(rest) != 3 || last != "" || rest[0].TransferID != 3 {
		t.Fatalf("rest: %+v, %q, %v", rest, last, err)
	}
}

// The last applied LSN survives a reopen, and a file of another format is refused.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	h := openHistory(t, path)
	if err := h.Apply(7, 0, 1, []ledger.Event{transferEvent(ledger.Transfer{ID: 1, DebitAccountID: 1, CreditAccountID: 2, AmountFen: 5})}); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h = openHistory(t, path)
	if got := h.LastApplied(); got != 7 {
		t.Fatalf("LastApplied %d after reopen, want 7", got)
	}
	if got := allEntries(t, h, 0, 2, 10); len(got) != 1 || got[0].AmountFen != 5 {
		t.Fatalf("after reopen: %+v", got)
	}
	if err := h.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyFormat, []byte{9, 0, 0, 0}) }); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if _, err := Open(path); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open of another format: %v, want ErrCorrupt", err)
	}
}

// Entry values round trip, with and without balances, and damaged ones are refused.
func TestEntryCodec(t *testing.T) {
	for _, e := range []Entry{
		{LSN: 1, Kind: EntryTransfer, TransferID: 2, OtherAccountID: 3, AmountFen: -4, Code: 5, Flags: 6, PendingID: 7, RefundOfID: 8, UserData: 9, TimeNanos: 10},
		{LSN: 1 << 40, Kind: EntryPendingExpired, TransferID: 1, AmountFen: 1 << 50, HasBalance: true, DebitsPendingFen: 1, DebitsPostedFen: 2, CreditsPendingFen: 3, CreditsPostedFen: -4},
	} {
		key := entryKey(1, 2, e.LSN, 3)
		value := appendEntryValue(nil, &e)
		got, err := decodeEntry(key[:], value)
		if err != nil || got != e {
			t.Fatalf("round trip of %+v: %+v, %v", e, got, err)
		}
		for cut := range len(value) {
			if _, err := decodeEntry(key[:], value[:cut]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("value cut at %d: %v", cut, err)
			}
		}
	}
}
