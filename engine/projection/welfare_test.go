package projection_test

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/projection"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/welfare"
)

type welfareRuntime = runtime.Runtime[shard.Command, shard.Result]

func day(y, m, d int) int64 { return welfare.DayStartNanos(welfare.DaysFromCivil(y, m, d)) }

// The welfare machine's stream (ledger events among welfare events) projects with
// WelfareEvents: a union funded, a program issued to its members and expired back to the
// budget show on the budget, with its recorded balances, and on each member's account.
func TestWelfareStream(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(day(2026, 1, 20))
	const shards = 2
	rt, err := runtime.Open(runtime.Options{ShardsCount: shards, Clock: clock.Load, Journal: j, Invariants: true}, shard.Factory(shards))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	must := func(c shard.Command) shard.Result {
		t.Helper()
		r, err := rt.Submit(0, c)
		if err != nil || r.Code != welfare.OK {
			t.Fatalf("command %d: %v (%+v), %v", c.Kind, r.Code, r, err)
		}
		return r
	}
	inspect := func(fn func(*welfare.State)) {
		t.Helper()
		if err := rt.Inspect(0, func(m runtime.Machine[shard.Command, shard.Result]) { fn(m.(*shard.Machine).State()) }); err != nil {
			t.Fatal(err)
		}
	}

	must(shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Name: "Chongwu", Officers: []welfare.OfficerID{7, 8}}})
	members := []welfare.MemberID{100, 101, 102, 103, 104}
	for _, m := range members {
		must(shard.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: 1, Registered: true, DuesPaid: true})
	}
	const fundFen, perMemberFen = 10_000_00, 800_00
	must(shard.Command{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: fundFen})
	must(shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{
		ID: 50, UnionID: 1, Name: "Spring Festival 2026", Category: welfare.CategoryFestival, AmountPerMemberFen: perMemberFen,
		FromNanos: day(2026, 2, 1), ToNanos: day(2026, 3, 1),
	}})
	if r := must(shard.Command{Kind: welfare.Issue, ProgramID: 50, Officer: 7}); r.IssuedCount != len(members) {
		t.Fatalf("issued to %d members", r.IssuedCount)
	}
	// The window ends: the members' points expire back to the budget.
	clock.Store(day(2026, 3, 2))
	var budgetFen int64
	for deadline := time.Now().Add(5 * time.Second); budgetFen != fundFen && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		rt.Wake()
		inspect(func(s *welfare.State) { budgetFen, _ = s.BudgetFen(1) })
	}
	if budgetFen != fundFen {
		t.Fatalf("budget after expiry %d, want %d", budgetFen, fundFen)
	}
	var budgetAccount ledger.AccountID
	memberAccounts := map[welfare.MemberID]ledger.AccountID{}
	inspect(func(s *welfare.State) {
		u, _ := s.Union(1)
		budgetAccount = u.BudgetAccountID
		for _, id := range members {
			m, _ := s.Member(id)
			h, _ := m.Holding(50)
			memberAccounts[id] = h.AccountID
		}
	})

	h, err := projection.Open(filepath.Join(dir, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// A ledger-only decoder cannot read this stream: the decoder is the machine's choice.
	if _, err := h.CatchUp(j, projection.LedgerEvents); err == nil {
		t.Fatal("LedgerEvents decoded a welfare stream")
	}
	if h.LastApplied() != 0 {
		t.Fatalf("a failed catch-up applied up to LSN %d", h.LastApplied())
	}
	// Inspect may see the expiry before it is durable: catch up until it is there.
	var budget []projection.Entry
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := h.CatchUp(j, projection.WelfareEvents); err != nil {
			t.Fatal(err)
		}
		if budget, _, err = h.Page(0, budgetAccount, "", projection.PageLimitMax); err != nil {
			t.Fatal(err)
		}
		if len(budget) == 1+2*len(members) {
			break
		}
	}
	if len(budget) != 1+2*len(members) {
		t.Fatalf("budget history of %d entries, want %d: %+v", len(budget), 1+2*len(members), budget)
	}
	fund := budget[0]
	if fund.TransferID != 1 || fund.AmountFen != fundFen || fund.Code != ledger.CodeFund || fund.OtherAccountID != welfare.FundingAccountID(0) {
		t.Fatalf("fund entry %+v", fund)
	}
	// Budgets carry no history flag (an issuance would record a balance per member): the
	// running balance is the running sum of the entries, and it ends at the budget's balance.
	var sumFen int64
	for i, e := range budget {
		sumFen += e.AmountFen
		if e.HasBalance {
			t.Fatalf("budget entry %d has a recorded balance; budgets are not flagged for history", i)
		}
		if sumFen < 0 {
			t.Fatalf("budget entry %d: running sum %d below zero", i, sumFen)
		}
		if i == 0 {
			continue
		}
		wantCode, wantSign := ledger.CodeIssue, int64(-1)
		if i > len(members) {
			wantCode, wantSign = ledger.CodeExpire, 1
		}
		if e.Code != wantCode || e.AmountFen != wantSign*perMemberFen {
			t.Fatalf("budget entry %d: %+v, want code %v amount %d", i, e, wantCode, wantSign*perMemberFen)
		}
	}
	if sumFen != fundFen {
		t.Fatalf("budget entries sum to %d, want %d", sumFen, fundFen)
	}
	for _, m := range members {
		entries, next, err := h.Page(0, memberAccounts[m], "", 10)
		if err != nil || next != "" || len(entries) != 2 {
			t.Fatalf("member %d: %+v, %q, %v", m, entries, next, err)
		}
		issue, expire := entries[0], entries[1]
		if issue.AmountFen != perMemberFen || issue.Code != ledger.CodeIssue || issue.OtherAccountID != budgetAccount ||
			expire.AmountFen != -perMemberFen || expire.Code != ledger.CodeExpire || expire.OtherAccountID != budgetAccount ||
			issue.TimeNanos >= expire.TimeNanos {
			t.Fatalf("member %d: %+v", m, entries)
		}
	}
}
