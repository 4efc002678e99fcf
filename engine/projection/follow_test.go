package projection_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/projection"
	"huigong/engine/runtime"
	"huigong/engine/shardledger"
)

type ledgerRuntime = runtime.Runtime[shardledger.Command, shardledger.Result]

const shardsCount = 2

// accountKey names an account on a shard.
type accountKey struct {
	shard   uint32
	account ledger.AccountID
}

// ledgerFixture runs shardledger machines on a file journal and keeps, as a reference model,
// the history each account should have: every transfer the test made, resolved as the ledger
// resolves it, on both sides.
type ledgerFixture struct {
	t     *testing.T
	dir   string
	clock atomic.Int64
	j     *journal.FileJournal
	rt    *ledgerRuntime

	want      map[accountKey][]projection.Entry // LSN and balances left zero
	withHist  map[accountKey]bool               // accounts flagged AccountHistory
	transfers map[accountKey]ledger.Transfer    // by (shard, transfer id), as resolved
}

func newLedgerFixture(t *testing.T) *ledgerFixture {
	f := &ledgerFixture{
		t: t, dir: t.TempDir(),
		want: map[accountKey][]projection.Entry{}, withHist: map[accountKey]bool{},
		transfers: map[accountKey]ledger.Transfer{},
	}
	f.clock.Store(1_000_000)
	f.open()
	return f
}

// open opens the journal (on the real filesystem, small segments so that it rotates) and the
// runtime over it, with snapshots.
func (f *ledgerFixture) open() {
	f.t.Helper()
	j, err := journal.Open(filepath.Join(f.dir, "journal"), journal.Options{SegmentBytes: 16 << 10})
	if err != nil {
		f.t.Fatal(err)
	}
	snapshots, err := journal.OSFS{}.OpenDir(filepath.Join(f.dir, "snapshots"))
	if err != nil {
		f.t.Fatal(err)
	}
	// Frequent snapshots: after each, the runtime archives the segments they cover, under the
	// follower.
	rt, err := runtime.Open(runtime.Options{
		ShardsCount: shardsCount, Clock: f.clock.Load, Journal: j, Invariants: true,
		Snapshots: runtime.NewDirSnapshotStore(snapshots), SnapshotEveryBatches: 40,
	},
		func(shard uint32) runtime.Machine[shardledger.Command, shardledger.Result] {
			return shardledger.New(shard)
		})
	if err != nil {
		f.t.Fatal(err)
	}
	f.j, f.rt = j, rt
}

func (f *ledgerFixture) close() {
	f.t.Helper()
	if err := f.rt.Close(); err != nil {
		f.t.Fatal(err)
	}
}

func (f *ledgerFixture) account(shard uint32, id ledger.AccountID, kind ledger.AccountKind, flags ledger.AccountFlags) {
	f.t.Helper()
	r, err := f.rt.Submit(shard, shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.AccountCommand(ledger.Account{ID: id, Kind: kind, Flags: flags})})
	if err != nil || r != ledger.OK {
		f.t.Fatalf("account %d on shard %d: %v, %v", id, shard, r, err)
	}
	f.withHist[accountKey{shard, id}] = flags&ledger.AccountHistory != 0
}

// transfer submits transfers in one batch, each of which must succeed, and adds them to the model.
func (f *ledgerFixture) transfer(shard uint32, ts ...ledger.Transfer) {
	f.t.Helper()
	cmds := make([]shardledger.Command, len(ts))
	for i, t := range ts {
		cmds[i] = shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.TransferCommand(t)}
	}
	results := make([]shardledger.Result, len(ts))
	if err := f.rt.SubmitBatch(shard, cmds, results); err != nil {
		f.t.Fatal(err)
	}
	for i, t := range ts {
		if results[i] != ledger.OK {
			f.t.Fatalf("transfer %d on shard %d: %v", t.ID, shard, results[i])
		}
		f.expect(shard, f.resolve(shard, t))
	}
}

// resolve fills in what the ledger fills in for a post, a void or a refund.
func (f *ledgerFixture) resolve(shard uint32, t ledger.Transfer) ledger.Transfer {
	switch {
	case t.PendingID != 0:
		p := f.transfers[accountKey{shard, ledger.AccountID(t.PendingID)}]
		t.DebitAccountID, t.CreditAccountID = p.DebitAccountID, p.CreditAccountID
		if t.AmountFen == 0 || t.Flags&ledger.VoidPending != 0 {
			t.AmountFen = p.AmountFen
		}
	case t.RefundOfID != 0:
		o := f.transfers[accountKey{shard, ledger.AccountID(t.RefundOfID)}]
		t.DebitAccountID, t.CreditAccountID = o.CreditAccountID, o.DebitAccountID
	}
	return t
}

// expect adds a transfer the ledger made on shard, at the current batch time, to both accounts.
func (f *ledgerFixture) expect(shard uint32, t ledger.Transfer) {
	f.transfers[accountKey{shard, ledger.AccountID(t.ID)}] = t
	e := projection.Entry{
		Kind: projection.EntryTransfer, TransferID: t.ID, Code: t.Code, Flags: t.Flags &^ ledger.Linked,
		PendingID: t.PendingID, RefundOfID: t.RefundOfID, UserData: t.UserData, TimeNanos: f.clock.Load(),
	}
	f.expectBothSides(shard, t.DebitAccountID, t.CreditAccountID, t.AmountFen, e)
}

// expectExpiry adds the expiry of a pending transfer, at the current batch time.
func (f *ledgerFixture) expectExpiry(shard uint32, id ledger.TransferID) {
	p := f.transfers[accountKey{shard, ledger.AccountID(id)}]
	e := projection.Entry{
		Kind: projection.EntryPendingExpired, TransferID: id, Code: p.Code, Flags: ledger.VoidPending,
		PendingID: id, UserData: p.UserData, TimeNanos: f.clock.Load(),
	}
	f.expectBothSides(shard, p.DebitAccountID, p.CreditAccountID, p.AmountFen, e)
}

func (f *ledgerFixture) expectBothSides(shard uint32, debit, credit ledger.AccountID, amountFen int64, e projection.Entry) {
	e.OtherAccountID, e.AmountFen = credit, -amountFen
	f.want[accountKey{shard, debit}] = append(f.want[accountKey{shard, debit}], e)
	e.OtherAccountID, e.AmountFen = debit, amountFen
	f.want[accountKey{shard, credit}] = append(f.want[accountKey{shard, credit}], e)
}

// mismatch compares every account's history in h with the model, page by page with pageLimit,
// and returns the first difference, "" when there is none. It checks the LSNs are in order and
// the balances are set exactly on the accounts flagged AccountHistory.
func (f *ledgerFixture) mismatch(h *projection.History, pageLimit int) string {
	for key, want := range f.want {
		var got []projection.Entry
		cursor := ""
		for {
			entries, next, err := h.Page(key.shard, key.account, cursor, pageLimit)
			if err != nil {
				return err.Error()
			}
			got = append(got, entries...)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(got) != len(want) {
			return fmt.Sprintf("account %d on shard %d: %d entries, want %d", key.account, key.shard, len(got), len(want))
		}
		var lastLSN uint64
		for i := range got {
			g := got[i]
			if g.LSN < lastLSN || g.LSN == 0 {
				return fmt.Sprintf("account %d on shard %d: entry %d at LSN %d after LSN %d", key.account, key.shard, i, g.LSN, lastLSN)
			}
			lastLSN = g.LSN
			if g.HasBalance != f.withHist[key] {
				return fmt.Sprintf("account %d on shard %d: entry %d has balance %v, account history %v", key.account, key.shard, i, g.HasBalance, f.withHist[key])
			}
			g.LSN, g.HasBalance = 0, false
			g.DebitsPendingFen, g.DebitsPostedFen, g.CreditsPendingFen, g.CreditsPostedFen = 0, 0, 0, 0
			if g != want[i] {
				return fmt.Sprintf("account %d on shard %d: entry %d is\n%+v, want\n%+v", key.account, key.shard, i, g, want[i])
			}
		}
	}
	return ""
}

// waitMatch waits until h matches the model.
func (f *ledgerFixture) waitMatch(h *projection.History) {
	f.t.Helper()
	var diff string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if diff = f.mismatch(h, projection.PageLimitMax); diff == "" {
			return
		}
	}
	f.t.Fatalf("the history does not match the transfers made: %s", diff)
}

// catchUpUntilMatch catches up until h matches the model: a move's second leg becomes durable
// on its own time. It returns what the catch-ups applied.
func (f *ledgerFixture) catchUpUntilMatch(h *projection.History) projection.CatchUpStats {
	f.t.Helper()
	var total projection.CatchUpStats
	var diff string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		stats, err := h.CatchUp(f.j, projection.LedgerEvents)
		if err != nil {
			f.t.Fatal(err)
		}
		total.Records += stats.Records
		total.Entries += stats.Entries
		if diff = f.mismatch(h, projection.PageLimitMax); diff == "" {
			return total
		}
	}
	f.t.Fatalf("the history does not match the transfers made: %s", diff)
	return total
}

// snapshotAndArchive snapshots every shard and waits until the runtime has archived the segments
// the snapshots cover.
func (f *ledgerFixture) snapshotAndArchive() {
	f.t.Helper()
	f.rt.Snapshot()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if archived, _ := os.ReadDir(filepath.Join(f.dir, "journal", "archive")); len(archived) > 0 {
			return
		}
	}
	f.t.Fatal("no segment archived after a snapshot of every shard")
}

// checkBalances compares the last recorded balance of each history account with the ledger.
func (f *ledgerFixture) checkBalances(h *projection.History) {
	f.t.Helper()
	for key, hist := range f.withHist {
		if !hist || len(f.want[key]) == 0 {
			continue
		}
		var a ledger.Account
		err := f.rt.Inspect(key.shard, func(m runtime.Machine[shardledger.Command, shardledger.Result]) {
			a, _ = m.(*shardledger.Machine).Ledger().Account(key.account)
		})
		if err != nil {
			f.t.Fatal(err)
		}
		entries, _, err := h.Page(key.shard, key.account, "", projection.PageLimitMax)
		if err != nil {
			f.t.Fatal(err)
		}
		last := entries[len(entries)-1]
		if last.DebitsPendingFen != a.DebitsPendingFen || last.DebitsPostedFen != a.DebitsPostedFen ||
			last.CreditsPendingFen != a.CreditsPendingFen || last.CreditsPostedFen != a.CreditsPostedFen {
			f.t.Fatalf("account %d on shard %d: last recorded balance %+v, ledger has %+v", key.account, key.shard, last, a)
		}
	}
}

// pagesOf returns every account's whole history, for comparing two projections.
func (f *ledgerFixture) pagesOf(h *projection.History) map[accountKey][]projection.Entry {
	f.t.Helper()
	all := map[accountKey][]projection.Entry{}
	for key := range f.want {
		entries, next, err := h.Page(key.shard, key.account, "", projection.PageLimitMax)
		if err != nil || next != "" {
			f.t.Fatalf("account %d: %v, next %q", key.account, err, next)
		}
		all[key] = entries
	}
	return all
}

const (
	funding0, member11, member12, merchant13 = ledger.AccountID(1), ledger.AccountID(11), ledger.AccountID(12), ledger.AccountID(13)
	funding1, member21                       = ledger.AccountID(2), ledger.AccountID(21)
)

// workload makes single-phase transfers, holds posted in part, voided and expired, refunds, a
// move between shards and enough small transfers to rotate segments, starting at id base.
func (f *ledgerFixture) workload(base ledger.TransferID) {
	f.t.Helper()
	id := func(n ledger.TransferID) ledger.TransferID { return base + n }
	f.transfer(0,
		ledger.Transfer{ID: id(1), DebitAccountID: funding0, CreditAccountID: member11, AmountFen: 10_000, Code: ledger.CodeIssue, UserData: 50},
		ledger.Transfer{ID: id(2), DebitAccountID: funding0, CreditAccountID: member12, AmountFen: 5_000, Code: ledger.CodeIssue, UserData: 50},
	)
	f.transfer(0, ledger.Transfer{ID: id(3), DebitAccountID: member11, CreditAccountID: merchant13, AmountFen: 3_000, Code: ledger.CodeSpendHold, Flags: ledger.Pending, UserData: 900})
	f.transfer(0, ledger.Transfer{ID: id(4), PendingID: id(3), AmountFen: 2_000, Code: ledger.CodePost, Flags: ledger.PostPending, UserData: 900})
	f.transfer(0,
		ledger.Transfer{ID: id(5), DebitAccountID: member12, CreditAccountID: merchant13, AmountFen: 1_000, Code: ledger.CodeSpendHold, Flags: ledger.Pending, UserData: 901},
		ledger.Transfer{ID: id(6), PendingID: id(5), Code: ledger.CodeVoid, Flags: ledger.VoidPending, UserData: 901},
	)
	f.transfer(0, ledger.Transfer{ID: id(7), RefundOfID: id(4), AmountFen: 500, Code: ledger.CodeRefund, UserData: 900})
	f.transfer(1, ledger.Transfer{ID: id(8), DebitAccountID: funding1, CreditAccountID: member21, AmountFen: 1_000, Code: ledger.CodeFund})

	// A hold with a deadline that passes.
	deadline := f.clock.Load() + 1_000
	f.transfer(0, ledger.Transfer{ID: id(9), DebitAccountID: member11, CreditAccountID: merchant13, AmountFen: 700, Code: ledger.CodeSpendHold, Flags: ledger.Pending, DeadlineNanos: deadline, UserData: 902})
	f.clock.Store(deadline + 10)
	f.rt.Wake()
	f.expectExpiry(0, id(9))

	// A move from shard 0 to shard 1: a leg to in-transit on each.
	r, err := f.rt.Submit(0, shardledger.Command{Kind: shardledger.MoveCommand, Move: shardledger.Move{
		ID: id(10), FromAccountID: member11, ToShard: 1, ToAccountID: member21, AmountFen: 400, UserData: 7,
	}})
	if err != nil || r != ledger.OK {
		f.t.Fatalf("move: %v, %v", r, err)
	}
	f.expect(0, ledger.Transfer{ID: id(10), DebitAccountID: member11, CreditAccountID: shardledger.InTransitAccountID(0), AmountFen: 400, Code: ledger.CodeMove, UserData: 7})
	f.expect(1, ledger.Transfer{ID: shardledger.InLegID(id(10)), DebitAccountID: shardledger.InTransitAccountID(1), CreditAccountID: member21, AmountFen: 400, Code: ledger.CodeMove, UserData: 7})

	// Many small transfers, some batched, so pages and segments fill.
	for i := ledger.TransferID(0); i < 150; i++ {
		n := id(100 + 3*i)
		f.transfer(0,
			ledger.Transfer{ID: n, DebitAccountID: funding0, CreditAccountID: member11, AmountFen: 3, Code: ledger.CodeIssue},
			ledger.Transfer{ID: n + 1, DebitAccountID: member11, CreditAccountID: member12, AmountFen: 2, Code: ledger.CodeAdjust, UserData: uint64(i)},
		)
		f.transfer(0, ledger.Transfer{ID: n + 2, DebitAccountID: member12, CreditAccountID: merchant13, AmountFen: 1, Code: ledger.CodeSettle})
	}
	// Shard 1 writes late in the journal too, so that its snapshot lets old segments go.
	f.transfer(1, ledger.Transfer{ID: id(999), DebitAccountID: funding1, CreditAccountID: member21, AmountFen: 1, Code: ledger.CodeFund})
}

// Following a runtime's journal while it runs, the history of every account is exactly the
// transfers made on it, in order, whatever the page size; after the projection is closed and
// the engine restarted, catching up adds what came since, once. A projection rebuilt from LSN 1,
// through the archive, is the same (Rebuildable, Idempotent, DurableOnly, OrderedKeys).
func TestFollowShardLedger(t *testing.T) {
	f := newLedgerFixture(t)
	historyPath := filepath.Join(f.dir, "history.db")
	h, err := projection.Open(historyPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	followed := make(chan error, 1)
	go func() { followed <- h.Follow(ctx, f.j, projection.LedgerEvents, 2*time.Millisecond) }()

	f.account(0, funding0, ledger.KindFederationFunding, 0)
	f.account(0, member11, ledger.KindMemberPoints, ledger.AccountNoOverdraft|ledger.AccountHistory)
	f.account(0, member12, ledger.KindMemberPoints, ledger.AccountNoOverdraft)
	f.account(0, merchant13, ledger.KindMerchantReceivable, ledger.AccountHistory)
	f.account(1, funding1, ledger.KindFederationFunding, 0)
	f.account(1, member21, ledger.KindMemberPoints, ledger.AccountNoOverdraft|ledger.AccountHistory)
	f.workload(1_000)
	f.snapshotAndArchive()
	f.workload(2_000)

	f.waitMatch(h)
	f.checkBalances(h)
	for _, limit := range []int{1, 2, 3, 7, 100} {
		if diff := f.mismatch(h, limit); diff != "" {
			t.Fatalf("pages of %d: %s", limit, diff)
		}
	}
	cancel()
	if err := <-followed; !errors.Is(err, context.Canceled) {
		t.Fatalf("follow: %v, want context.Canceled", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	// The engine restarts and goes on while the projection is closed.
	f.close()
	f.open()
	defer f.close()
	f.workload(3_000)

	h, err = projection.Open(historyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	before := h.LastApplied()
	stats := f.catchUpUntilMatch(h)
	if stats.Records == 0 || h.LastApplied() <= before {
		t.Fatalf("catch-up applied %+v, from LSN %d to %d", stats, before, h.LastApplied())
	}
	f.checkBalances(h)
	// Only records with no ledger event (message acknowledgements) may come after.
	if stats, err := h.CatchUp(f.j, projection.LedgerEvents); err != nil || stats.Entries != 0 {
		t.Fatalf("second catch-up: %+v, %v", stats, err)
	}

	// Rebuildable: a new projection from LSN 1, archived segments included, is the same.
	rebuilt, err := projection.Open(filepath.Join(f.dir, "rebuilt.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer rebuilt.Close()
	if _, err := rebuilt.CatchUp(f.j, projection.LedgerEvents); err != nil {
		t.Fatal(err)
	}
	if _, err := h.CatchUp(f.j, projection.LedgerEvents); err != nil {
		t.Fatal(err)
	}
	if got, want := f.pagesOf(rebuilt), f.pagesOf(h); !reflect.DeepEqual(got, want) {
		t.Fatal("a projection rebuilt from the journal differs from the one that followed it")
	}
	// Applying the journal again over a caught-up projection changes nothing.
	var again []projection.Record
	err = f.j.ReadDurable(1, func(lsn uint64, rec journal.Record) error {
		events, err := runtime.RecordEvents(rec.Payload)
		if err != nil {
			return err
		}
		r := projection.Record{LSN: lsn, Shard: rec.Shard, TimeNanos: rec.TimeNanos}
		err = projection.LedgerEvents(events, func(e *ledger.Event) { r.Events = append(r.Events, *e) })
		again = append(again, r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	lastBefore := h.LastApplied()
	if err := h.ApplyBatch(again); err != nil {
		t.Fatal(err)
	}
	if diff := f.mismatch(h, 10); diff != "" || h.LastApplied() != max(lastBefore, again[len(again)-1].LSN) {
		t.Fatalf("after applying the journal again: %s", diff)
	}
}
