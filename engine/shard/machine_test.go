package shard_test

import (
	"sync/atomic"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/welfare"
)

type clock struct{ nanos atomic.Int64 }

func (c *clock) now() int64 { return c.nanos.Load() }

func day(y, m, d int) int64 { return welfare.DayStartNanos(welfare.DaysFromCivil(y, m, d)) }

func open(t *testing.T, fs *journal.FaultFS, c *clock, shards int) *runtime.Runtime[shard.Command, shard.Result] {
	t.Helper()
	j, err := journal.Open("journal", journal.Options{FS: fs, GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: shards, Clock: c.now, Journal: j, Invariants: true}, shard.Factory(shards))
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func must(t *testing.T, rt *runtime.Runtime[shard.Command, shard.Result], s uint32, c shard.Command, want welfare.Code) shard.Result {
	t.Helper()
	r, err := rt.Submit(s, c)
	if err != nil || r.Code != want {
		t.Fatalf("command %d: got %v (%+v), %v; want %v", c.Kind, r.Code, r, err, want)
	}
	return r
}

func state(t *testing.T, rt *runtime.Runtime[shard.Command, shard.Result], s uint32, fn func(*welfare.State)) {
	t.Helper()
	if err := rt.Inspect(s, func(m runtime.Machine[shard.Command, shard.Result]) { fn(m.(*shard.Machine).State()) }); err != nil {
		t.Fatal(err)
	}
}

// A union funded, a festival program issued to its members, one member moved to a union on
// another shard with its points and cap count, the program expired back to the budget, and
// all of it recovered after a crash.
func TestWelfareFlowAcrossShards(t *testing.T) {
	fs := journal.NewFaultFS(1)
	c := &clock{}
	c.nanos.Store(day(2026, 1, 20))
	rt := open(t, fs, c, 2)

	must(t, rt, 0, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Name: "Chongwu", Officers: []welfare.OfficerID{7, 8}}}, welfare.OK)
	must(t, rt, 1, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 2, Name: "Luocheng", Officers: []welfare.OfficerID{9}}}, welfare.OK)
	for m := welfare.MemberID(100); m < 110; m++ {
		must(t, rt, 0, shard.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: 1, Registered: true, DuesPaid: m != 109}, welfare.OK)
	}
	must(t, rt, 0, shard.Command{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: 10_000_00}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{
		ID: 50, UnionID: 1, Name: "Spring Festival 2026", Category: welfare.CategoryFestival, AmountPerMemberFen: 800_00,
		FromNanos: day(2026, 2, 1), ToNanos: day(2026, 3, 1),
	}}, welfare.OK)
	r := must(t, rt, 0, shard.Command{Kind: welfare.Issue, ProgramID: 50, Officer: 7}, welfare.OK)
	if r.IssuedCount != 9 || r.IssuedFen != 9*800_00 {
		t.Fatalf("issued %d members, %d fen", r.IssuedCount, r.IssuedFen)
	}
	// A second festival program that would take member 100 past the 1,300 yuan cap.
	must(t, rt, 0, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{
		ID: 51, UnionID: 1, Category: welfare.CategoryFestival, AmountPerMemberFen: 600_00,
		FromNanos: day(2026, 2, 1), ToNanos: day(2026, 3, 1),
	}}, welfare.OK)
	r = must(t, rt, 0, shard.Command{Kind: welfare.Issue, ProgramID: 51, Officer: 7, Members: []welfare.MemberID{100}}, welfare.NothingToIssue)
	if len(r.Refused) != 1 || r.Refused[0].Code != welfare.CapExceeded || r.Refused[0].RoomLeftFen != 500_00 {
		t.Fatalf("refused %+v", r.Refused)
	}

	must(t, rt, 0, shard.Command{Kind: welfare.MoveMember, MemberID: 100, ToUnion: 2, ToShard: 1}, welfare.OK)
	var moved bool
	for deadline := time.Now().Add(5 * time.Second); !moved && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		state(t, rt, 1, func(s *welfare.State) { _, moved = s.Member(100) })
	}
	if !moved {
		t.Fatal("member 100 did not arrive on shard 1")
	}

	fs.Crash()
	rt = open(t, fs, c, 2)
	defer rt.Close()
	state(t, rt, 1, func(s *welfare.State) {
		m, ok := s.Member(100)
		if !ok || m.UnionID != 2 || m.CountedFen(welfare.CategoryFestival, 2026) != 800_00 {
			t.Fatalf("member 100 on shard 1 after recovery: %+v", m)
		}
		h, _ := m.Holding(50)
		a, _ := s.Ledger().Account(h.AccountID)
		if a.BalanceFen() != 800_00 {
			t.Fatalf("moved balance %d", a.BalanceFen())
		}
	})
	// The window ends: shard 0 returns its members' points to the budget, and shard 1 returns
	// the moved member's points to union 1's budget on shard 0.
	c.nanos.Store(day(2026, 3, 2))
	rt.Wake()
	var budget int64
	for deadline := time.Now().Add(5 * time.Second); budget != 10_000_00 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		rt.Wake()
		state(t, rt, 0, func(s *welfare.State) { budget, _ = s.BudgetFen(1) })
	}
	if budget != 10_000_00 {
		t.Fatalf("budget after expiry %d, want all of it back", budget)
	}
	state(t, rt, 1, func(s *welfare.State) {
		m, _ := s.Member(100)
		if got := m.CountedFen(welfare.CategoryFestival, 2026); got != 0 {
			t.Fatalf("cap count after expiry %d", got)
		}
	})
}
