package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

// codecEvents has events of every kind, with ordinary values and with the extremes of every
// field, so that sign and width mistakes in the codec show.
func codecEvents() []Event {
	return []Event{
		{Kind: EventAccountCreated, Account: Account{ID: 1, UserData: 2, Kind: KindMemberPoints,
			Flags: AccountNoOverdraft | AccountHistory, TimestampNanos: 1_000}},
		{Kind: EventAccountCreated, Account: Account{ID: math.MaxUint64, UserData: math.MaxUint64,
			Kind: math.MaxUint8, Flags: math.MaxUint16, TimestampNanos: math.MinInt64}},
		{Kind: EventTransferCreated, Transfer: Transfer{ID: 10, DebitAccountID: 1, CreditAccountID: 2,
			AmountFen: 12_345, UserData: 99, DeadlineNanos: 5_000, Code: CodeSpendHold, Flags: Pending,
			TimestampNanos: 1_000}},
		{Kind: EventTransferCreated, Transfer: Transfer{ID: 11, DebitAccountID: 1, CreditAccountID: 2,
			AmountFen: 12_000, PendingID: 10, Code: CodePost, Flags: PostPending, TimestampNanos: 2_000}},
		{Kind: EventTransferCreated, Transfer: Transfer{ID: 12, DebitAccountID: 2, CreditAccountID: 1,
			AmountFen: 1, RefundOfID: 11, Code: CodeRefund, TimestampNanos: 3_000}},
		{Kind: EventTransferCreated, Transfer: Transfer{ID: math.MaxUint64, DebitAccountID: math.MaxUint64,
			CreditAccountID: math.MaxUint64 - 1, AmountFen: math.MinInt64, PendingID: math.MaxUint64,
			RefundOfID: math.MaxUint64, UserData: math.MaxUint64, DeadlineNanos: -1,
			Code: math.MaxUint16, Flags: math.MaxUint16, TimestampNanos: math.MaxInt64}},
		{Kind: EventPendingExpired, Transfer: Transfer{PendingID: 10, TimestampNanos: 5_000}},
		{Kind: EventPendingExpired, Transfer: Transfer{PendingID: math.MaxUint64, TimestampNanos: math.MinInt64}},
		{Kind: EventBalanceRecorded, Account: Account{ID: 2, DebitsPendingFen: 1, DebitsPostedFen: 2,
			CreditsPendingFen: 3, CreditsPostedFen: 4, TimestampNanos: 5}, Transfer: Transfer{ID: 11}},
		{Kind: EventBalanceRecorded, Account: Account{ID: math.MaxUint64, DebitsPendingFen: math.MaxInt64,
			DebitsPostedFen: math.MinInt64, CreditsPendingFen: -1, CreditsPostedFen: math.MaxInt64,
			TimestampNanos: -1}, Transfer: Transfer{ID: math.MaxUint64}},
	}
}

func TestEventRoundTrip(t *testing.T) {
	kinds := make(map[EventKind]bool)
	for _, e := range codecEvents() {
		kinds[e.Kind] = true
		t.Run(e.Kind.String(), func(t *testing.T) {
			prefix := []byte("journal")
			b := AppendEvent(slices.Clone(prefix), &e)
			if !bytes.HasPrefix(b, prefix) {
				t.Fatalf("AppendEvent overwrote what dst held")
			}
			b = b[len(prefix):]
			got, n, err := DecodeEvent(append(slices.Clone(b), 0xff, 0xff)) // trailing bytes are the next event's
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			if n != len(b) {
				t.Fatalf("DecodeEvent read %d bytes, AppendEvent wrote %d", n, len(b))
			}
			if got != e {
				t.Fatalf("round trip:\ngot  %+v\nwant %+v", got, e)
			}
			for short := range len(b) {
				if _, n, err := DecodeEvent(b[:short]); !errors.Is(err, ErrBadEvent) || n != 0 {
					t.Fatalf("DecodeEvent of %d of %d bytes: n %d, err %v", short, len(b), n, err)
				}
			}
		})
	}
	for k := EventAccountCreated; k <= EventBalanceRecorded; k++ {
		if !kinds[k] {
			t.Errorf("no sample of event kind %s", k)
		}
	}
}

// TestEventStream decodes a journal of several events back to back.
func TestEventStream(t *testing.T) {
	want := codecEvents()
	var b []byte
	for i := range want {
		b = AppendEvent(b, &want[i])
	}
	var got []Event
	for len(b) > 0 {
		e, n, err := DecodeEvent(b)
		if err != nil {
			t.Fatalf("event %d: %v", len(got), err)
		}
		got = append(got, e)
		b = b[n:]
	}
	if !slices.Equal(got, want) {
		t.Fatalf("stream:\ngot  %+v\nwant %+v", got, want)
	}
}

func TestDecodeEventRejects(t *testing.T) {
	good := AppendEvent(nil, &codecEvents()[2])
	for _, tc := range []struct {
		name string
		src  []byte
	}{
		{"empty", nil},
		{"kind only", good[:1]},
		{"kind zero", append([]byte{0}, good[1:]...)},
		{"kind unknown", append([]byte{byte(EventBalanceRecorded) + 1}, good[1:]...)},
		{"version zero", append([]byte{good[0], 0}, good[2:]...)},
		{"version from the future", append([]byte{good[0], eventFormatVersion + 1}, good[2:]...)},
		{"truncated", good[:len(good)-1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, n, err := DecodeEvent(tc.src)
			if !errors.Is(err, ErrBadEvent) || n != 0 || e != (Event{}) {
				t.Fatalf("DecodeEvent: %+v, %d, %v; want ErrBadEvent", e, n, err)
			}
		})
	}
}

func TestAppendEventPanicsOnUnknownKind(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("AppendEvent of an unknown kind did not panic")
		}
	}()
	AppendEvent(nil, &Event{Kind: EventBalanceRecorded + 1})
}

// FuzzDecodeEvent: DecodeEvent never panics, refuses with ErrBadEvent, and what it accepts
// encodes back to exactly the bytes it read.
func FuzzDecodeEvent(f *testing.F) {
	for _, e := range codecEvents() {
		b := AppendEvent(nil, &e)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{byte(EventTransferCreated), eventFormatVersion + 1})
	f.Fuzz(func(t *testing.T, src []byte) {
		e, n, err := DecodeEvent(src)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) || n != 0 {
				t.Fatalf("refusal: n %d, err %v", n, err)
			}
			return
		}
		if n <= 0 || n > len(src) {
			t.Fatalf("read %d of %d bytes", n, len(src))
		}
		if again := AppendEvent(nil, &e); !bytes.Equal(again, src[:n]) {
			t.Fatalf("decoded %+v from %x, which encodes to %x", e, src[:n], again)
		}
	})
}

// codecLedger returns a ledger holding something of every kind the snapshot keeps: accounts
// with every flag, single-phase transfers, holds open with and without a deadline, holds posted
// in part, voided and expired, refunds, and a deadline left behind by a rolled-back chain.
func codecLedger(t testing.TB) *Ledger {
	l := New()
	batch := func(now int64, want []Result, cmds ...Command) {
		t.Helper()
		got := make([]Result, len(cmds))
		l.Execute(now, cmds, got, nil)
		if !slices.Equal(got, want) {
			t.Fatalf("batch at %d: %v, want %v", now, got, want)
		}
	}
	ok := func(n int) []Result { return make([]Result, n) }
	batch(100, ok(4),
		AccountCommand(Account{ID: 1, Kind: KindFederationFunding, UserData: 7}),
		AccountCommand(Account{ID: 2, Kind: KindMemberPoints, Flags: AccountNoOverdraft | AccountHistory, UserData: 8}),
		AccountCommand(Account{ID: 3, Kind: KindMerchantReceivable}),
		Command{Kind: CreateAccount, Account: Account{ID: ReservedIDMin + 1, Kind: KindInTransit}, Engine: true},
	)
	batch(200, ok(8),
		TransferCommand(Transfer{ID: 10, DebitAccountID: 1, CreditAccountID: 2, AmountFen: 10_000, Code: CodeIssue, UserData: 1}),
		TransferCommand(Transfer{ID: 11, DebitAccountID: 2, CreditAccountID: 3, AmountFen: 3_000, Code: CodeSpendHold, Flags: Pending, DeadlineNanos: 1_000}),
		TransferCommand(Transfer{ID: 12, DebitAccountID: 2, CreditAccountID: 3, AmountFen: 2_000, Code: CodeSpendHold, Flags: Pending}),
		TransferCommand(Transfer{ID: 13, DebitAccountID: 2, CreditAccountID: 3, AmountFen: 1_000, Code: CodeSpendHold, Flags: Pending, DeadlineNanos: 300}),
		TransferCommand(Transfer{ID: 14, DebitAccountID: 2, CreditAccountID: 3, AmountFen: 500, Code: CodeSpendHold, Flags: Pending, DeadlineNanos: 5_000}),
		TransferCommand(Transfer{ID: 15, PendingID: 12, AmountFen: 1_500, Code: CodePost, Flags: PostPending}),
		TransferCommand(Transfer{ID: 16, PendingID: 14, Code: CodeVoid, Flags: VoidPending}),
		TransferCommand(Transfer{ID: 17, RefundOfID: 15, AmountFen: 400, Code: CodeRefund}),
	)
	// A chain that fails leaves its hold's deadline in the heap, stale.
	batch(250, []Result{LinkedEventFailed, CodeMustNotBeZero},
		TransferCommand(Transfer{ID: 18, DebitAccountID: 1, CreditAccountID: 3, AmountFen: 1, Code: CodeSpendHold, Flags: Pending | Linked, DeadlineNanos: 900}),
		TransferCommand(Transfer{ID: 19, DebitAccountID: 1, CreditAccountID: 3, AmountFen: 1}),
	)
	batch(300, ok(1), // expires 13 first
		TransferCommand(Transfer{ID: 20, RefundOfID: 10, AmountFen: 100, Code: CodeRefund}))
	if s, _ := l.LookupTransfer(13); !s.Expired {
		t.Fatalf("transfer 13 did not expire: %+v", s)
	}
	return l
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ledger func(testing.TB) *Ledger
	}{
		{"empty", func(testing.TB) *Ledger { return New() }},
		{"every state", codecLedger},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.ledger(t)
			prefix := []byte("snap")
			snap := l.AppendSnapshot(slices.Clone(prefix))
			if !bytes.HasPrefix(snap, prefix) {
				t.Fatalf("AppendSnapshot overwrote what dst held")
			}
			if !bytes.Equal(snap[len(prefix):], l.AppendSnapshot(nil)) {
				t.Fatalf("AppendSnapshot depends on what dst held")
			}
			r, err := restoreRoundTrip(l, []byte("trailing"))
			if err != nil {
				t.Fatal(err)
			}
			if err := r.CheckInvariants(); err != nil {
				t.Fatalf("restored: %v", err)
			}
			compareLedgers(t, r, l)

			// The restored ledger decides on as the original does: expiries, posts, refunds.
			cmds := []Command{
				TransferCommand(Transfer{ID: 30, PendingID: 11, Code: CodePost, Flags: PostPending}),
				TransferCommand(Transfer{ID: 31, RefundOfID: 15, AmountFen: 1_101, Code: CodeRefund}),
				TransferCommand(Transfer{ID: 32, RefundOfID: 15, AmountFen: 1_100, Code: CodeRefund}),
				TransferCommand(Transfer{ID: 15, PendingID: 12, AmountFen: 1_500, Code: CodePost, Flags: PostPending}),
				TransferCommand(Transfer{ID: 33, DebitAccountID: 2, CreditAccountID: 3, AmountFen: 1, Code: CodeSpendHold, Flags: Pending, DeadlineNanos: 6_000}),
			}
			for _, now := range []int64{900, 1_000, 5_000, 6_000} {
				want := make([]Result, len(cmds))
				got := make([]Result, len(cmds))
				wantEvents := l.Execute(now, slices.Clone(cmds), want, nil)
				gotEvents := r.Execute(now, slices.Clone(cmds), got, nil)
				if !slices.Equal(got, want) || !slices.Equal(gotEvents, wantEvents) {
					t.Fatalf("at %d the restored ledger decides %v %+v, the original %v %+v", now, got, gotEvents, want, wantEvents)
				}
			}
			compareLedgers(t, r, l)
		})
	}
}

// restoreRoundTrip restores a snapshot of l, followed by trailing bytes that are not its own,
// and checks that it reads exactly the snapshot and that the copy snapshots to the same bytes.
func restoreRoundTrip(l *Ledger, trailing []byte) (*Ledger, error) {
	snap := l.AppendSnapshot(nil)
	r, n, err := RestoreSnapshot(append(slices.Clone(snap), trailing...))
	switch {
	case err != nil:
		return nil, fmt.Errorf("RestoreSnapshot: %w", err)
	case n != len(snap):
		return nil, fmt.Errorf("RestoreSnapshot read %d bytes of a %d-byte snapshot", n, len(snap))
	case !bytes.Equal(r.AppendSnapshot(nil), snap):
		return nil, fmt.Errorf("the restored ledger snapshots to other bytes")
	}
	return r, nil
}

func compareLedgers(t *testing.T, got, want *Ledger) {
	t.Helper()
	var gotAccounts, wantAccounts []Account
	got.ForEachAccount(func(a *Account) { gotAccounts = append(gotAccounts, *a) })
	want.ForEachAccount(func(a *Account) { wantAccounts = append(wantAccounts, *a) })
	if !slices.Equal(gotAccounts, wantAccounts) {
		t.Fatalf("accounts:\ngot  %+v\nwant %+v", gotAccounts, wantAccounts)
	}
	if got.TransfersCount() != want.TransfersCount() {
		t.Fatalf("%d transfers, want %d", got.TransfersCount(), want.TransfersCount())
	}
	for id := TransferID(0); id < 40; id++ {
		g, gotOK := got.LookupTransfer(id)
		w, wantOK := want.LookupTransfer(id)
		if g != w || gotOK != wantOK {
			t.Fatalf("transfer %d: %+v %v, want %+v %v", id, g, gotOK, w, wantOK)
		}
	}
	gotNext, gotOK := got.NextDeadlineNanos()
	wantNext, wantOK := want.NextDeadlineNanos()
	if gotNext != wantNext || gotOK != wantOK {
		t.Fatalf("next deadline %d %v, want %d %v", gotNext, gotOK, wantNext, wantOK)
	}
}

// TestSnapshotTruncated: every proper prefix of a snapshot is refused, and so is an unknown
// format version.
func TestSnapshotTruncated(t *testing.T) {
	snap := codecLedger(t).AppendSnapshot(nil)
	for n := range len(snap) {
		l, read, err := RestoreSnapshot(snap[:n])
		if !errors.Is(err, ErrBadEvent) || l != nil || read != 0 {
			t.Fatalf("RestoreSnapshot of %d of %d bytes: %v, %d, %v", n, len(snap), l, read, err)
		}
	}
	bad := slices.Clone(snap)
	bad[0] = snapshotFormatVersion + 1
	if _, _, err := RestoreSnapshot(bad); !errors.Is(err, ErrBadEvent) {
		t.Fatalf("RestoreSnapshot of version %d: %v", bad[0], err)
	}
}

// FuzzRestoreSnapshot: RestoreSnapshot never panics, refuses with ErrBadEvent, and a ledger it
// accepts snapshots to bytes that restore to the same ledger again.
func FuzzRestoreSnapshot(f *testing.F) {
	empty := New().AppendSnapshot(nil)
	full := codecLedger(f).AppendSnapshot(nil)
	f.Add(empty)
	f.Add(full)
	for _, n := range []int{1, 9, 10, 68, len(full) / 2, len(full) - 1} {
		f.Add(full[:n])
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		l, n, err := RestoreSnapshot(src)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) || l != nil || n != 0 {
				t.Fatalf("refusal: %v, %d, %v", l, n, err)
			}
			return
		}
		if n <= 0 || n > len(src) {
			t.Fatalf("read %d of %d bytes", n, len(src))
		}
		_ = l.CheckInvariants() // must not panic, whatever the state
		snap := l.AppendSnapshot(nil)
		again, n2, err := RestoreSnapshot(snap)
		if err != nil || n2 != len(snap) {
			t.Fatalf("a restored ledger's own snapshot: %d of %d bytes, %v", n2, len(snap), err)
		}
		if !bytes.Equal(again.AppendSnapshot(nil), snap) {
			t.Fatalf("snapshot, restore, snapshot gives other bytes")
		}
	})
}
