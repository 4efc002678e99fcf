package shard_test

import (
	"testing"

	"huigong/engine/journal"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// Activity points: a daily cap per kind, idempotent awards, and a reversal that takes back what
// is left and reports what was spent.
func TestAwardsAndReversal(t *testing.T) {
	c := &clock{}
	c.nanos.Store(day(2026, 3, 10))
	rt := open(t, journal.NewFaultFS(3), c, 1)
	defer rt.Close()
	must(t, rt, 0, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Officers: []welfare.OfficerID{7}}}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.RegisterMember, MemberID: 100, UnionID: 1, Registered: true, DuesPaid: true}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: 1_000_00}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{
		ID: 60, UnionID: 1, Category: welfare.CategoryActivity, FromNanos: day(2026, 1, 1), ToNanos: day(2027, 1, 1)}}, welfare.OK)

	award := func(id uint64, kind string, fen int64) shard.Command {
		return shard.Command{Kind: welfare.AwardPoints, AwardID: id, ProgramID: 60, MemberID: 100, ActivityKind: kind, AmountFen: fen}
	}
	must(t, rt, 0, award(1, "quiz", 6_00), welfare.OK)
	must(t, rt, 0, award(1, "quiz", 6_00), welfare.Exists)
	must(t, rt, 0, award(1, "quiz", 5_00), welfare.ExistsWithDifferentFields)
	if r := must(t, rt, 0, award(2, "quiz", 6_00), welfare.CapExceeded); r.RoomLeftFen != 4_00 {
		t.Fatalf("room left %d", r.RoomLeftFen)
	}
	must(t, rt, 0, award(3, "lecture", 15_00), welfare.OK)
	must(t, rt, 0, award(4, "quiz", 4_00), welfare.OK)
	c.nanos.Store(day(2026, 3, 11))
	must(t, rt, 0, award(5, "quiz", 10_00), welfare.OK) // A new day, a new cap.

	// The member spends 20 of the 35 yuan; the lecture is cancelled: 15 back... but only what is
	// unspent can come back.
	var account uint64
	state(t, rt, 0, func(s *welfare.State) {
		m, _ := s.Member(100)
		h, _ := m.Holding(60)
		account = uint64(h.AccountID)
		a, _ := s.Ledger().Account(h.AccountID)
		if a.BalanceFen() != 35_00 {
			t.Fatalf("balance %d", a.BalanceFen())
		}
	})
	_ = account
	r := must(t, rt, 0, shard.Command{Kind: welfare.ReverseAward, AwardID: 3}, welfare.OK)
	if r.TakenBackFen != 15_00 || r.SpentFen != 0 {
		t.Fatalf("reversal %+v", r)
	}
	must(t, rt, 0, shard.Command{Kind: welfare.ReverseAward, AwardID: 3}, welfare.Exists)
	must(t, rt, 0, shard.Command{Kind: welfare.ReverseAward, AwardID: 99}, welfare.UnknownAward)
	state(t, rt, 0, func(s *welfare.State) {
		budget, _ := s.BudgetFen(1)
		if budget != 1_000_00-20_00 {
			t.Fatalf("budget %d", budget)
		}
	})
}

// Points of a reversed award that an open order held are owed, and go back to the budget when
// the order is cancelled: a member never keeps points of a cancelled activity.
func TestReversalCollectsHeldPointsOnCancel(t *testing.T) {
	c := &clock{}
	c.nanos.Store(day(2026, 3, 10))
	n := &notes{orders: map[welfare.OrderID]welfare.OrderNote{}, soldOut: map[stock.SKUID]bool{}}
	j, err := journal.Open("journal", journal.Options{FS: journal.NewFaultFS(4), GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: 1, Clock: c.now, Journal: j, Invariants: true, OnNotes: n.on}, shard.Factory(1))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	must(t, rt, 0, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Officers: []welfare.OfficerID{7}}}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.RegisterMember, MemberID: 100, UnionID: 1, Registered: true, DuesPaid: true}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: 1_000_00}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{
		ID: 60, UnionID: 1, Category: welfare.CategoryActivity, FromNanos: day(2026, 1, 1), ToNanos: day(2027, 1, 1)}}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.AwardPoints, AwardID: 1, ProgramID: 60, MemberID: 100, ActivityKind: "lecture", AmountFen: 10_00}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: 900, MerchantID: 3, Category: "books", PriceFen: 6_00, Listed: true}}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: 900}, Quantity: 5}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.PlaceOrder, MemberID: 100, Order: &welfare.OrderRequest{ID: 70,
		Lines: []welfare.OrderLine{{SKU: 900, Quantity: 1, UnitPriceFen: 6_00, MerchantID: 3, Category: "books"}}}}, welfare.OK)
	n.wait(t, 70, welfare.OrderPlaced)

	r := must(t, rt, 0, shard.Command{Kind: welfare.ReverseAward, AwardID: 1}, welfare.OK)
	if r.TakenBackFen != 4_00 || r.OwedFen != 6_00 || r.SpentFen != 0 {
		t.Fatalf("reversal %+v", r)
	}
	must(t, rt, 0, shard.Command{Kind: welfare.CancelOrder, OrderID: 70, MemberID: 100}, welfare.OK)
	state(t, rt, 0, func(s *welfare.State) {
		m, _ := s.Member(100)
		h, _ := m.Holding(60)
		a, _ := s.Ledger().Account(h.AccountID)
		budget, _ := s.BudgetFen(1)
		if a.BalanceFen() != 0 || h.OwedFen != 0 || budget != 1_000_00 {
			t.Fatalf("after the cancel: balance %d, owed %d, budget %d", a.BalanceFen(), h.OwedFen, budget)
		}
	})
}
