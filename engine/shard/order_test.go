package shard_test

import (
	"sync"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// notes collects order notifications, so a test can wait for an order's outcome as the API does.
type notes struct {
	mu      sync.Mutex
	orders  map[welfare.OrderID]welfare.OrderNote
	soldOut map[stock.SKUID]bool
}

func (n *notes) on(_ uint32, ns []any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for note := range shard.OrderNotes(ns) {
		switch note.Kind {
		case welfare.NoteOrder:
			n.orders[note.OrderID] = *note
		case welfare.NoteSoldOut:
			n.soldOut[note.SKU] = true
		case welfare.NoteBackInStock:
			n.soldOut[note.SKU] = false
		}
	}
}

func (n *notes) wait(t *testing.T, id welfare.OrderID, want welfare.OrderState) welfare.OrderNote {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Microsecond) {
		n.mu.Lock()
		note, ok := n.orders[id]
		n.mu.Unlock()
		if ok && note.State == want {
			return note
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	t.Fatalf("order %d: last note %+v, want state %v", id, n.orders[id], want)
	return welfare.OrderNote{}
}

// A festival order from a member's shard to a SKU on another shard, through to hand-out; a
// second member takes the last unit; a third finds the SKU sold out, then back in stock after
// a cancel.
func TestOrderThroughHandOut(t *testing.T) {
	fs := journal.NewFaultFS(2)
	c := &clock{}
	c.nanos.Store(day(2026, 2, 10))
	n := &notes{orders: map[welfare.OrderID]welfare.OrderNote{}, soldOut: map[stock.SKUID]bool{}}
	j, err := journal.Open("journal", journal.Options{FS: fs, GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: 2, Clock: c.now, Journal: j, Invariants: true, OnNotes: n.on}, shard.Factory(2))
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()

	must(t, rt, 0, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Officers: []welfare.OfficerID{7}}}, welfare.OK)
	for m := welfare.MemberID(100); m < 103; m++ {
		must(t, rt, 0, shard.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: 1, Registered: true, DuesPaid: true}, welfare.OK)
	}
	must(t, rt, 0, shard.Command{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: 10_000_00}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{
		ID: 50, UnionID: 1, Category: welfare.CategoryFestival, AmountPerMemberFen: 300_00,
		FromNanos: day(2026, 2, 1), ToNanos: day(2026, 3, 1), Whitelist: welfare.Whitelist{Categories: []string{"food"}},
	}}, welfare.OK)
	must(t, rt, 0, shard.Command{Kind: welfare.Issue, ProgramID: 50, Officer: 7}, welfare.OK)
	must(t, rt, 1, shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: 900, MerchantID: 3, Category: "food", PriceFen: 128_00, Listed: true, LimitPerMember: 1}}, welfare.OK)
	must(t, rt, 1, shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: 900}, Quantity: 2}, welfare.OK)

	order := func(id welfare.OrderID, member welfare.MemberID) {
		must(t, rt, 0, shard.Command{Kind: welfare.PlaceOrder, MemberID: member, Order: &welfare.OrderRequest{
			ID: id, PickupPointID: 5, Lines: []welfare.OrderLine{{SKU: 900, Quantity: 1, UnitPriceFen: 128_00, Shard: 1, MerchantID: 3, Category: "food"}},
		}}, welfare.OK)
	}
	order(1000, 100)
	n.wait(t, 1000, welfare.OrderPlaced)
	order(1001, 101)
	n.wait(t, 1001, welfare.OrderPlaced)
	order(1002, 102)
	if note := n.wait(t, 1002, welfare.OrderRefused); note.Code != welfare.SoldOut {
		t.Fatalf("third order: %+v", note)
	}
	must(t, rt, 0, shard.Command{Kind: welfare.CancelOrder, OrderID: 1001, MemberID: 101}, welfare.OK)
	order(1003, 102)
	n.wait(t, 1003, welfare.OrderPlaced)

	for _, k := range []welfare.CommandKind{welfare.ShipOrder, welfare.ArriveOrder, welfare.HandOutOrder} {
		must(t, rt, 0, shard.Command{Kind: k, OrderID: 1000}, welfare.OK)
	}
	n.wait(t, 1000, welfare.OrderHandedOut)
	var units stock.Units
	for deadline := time.Now().Add(5 * time.Second); units.HandedOut != 1 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		state(t, rt, 1, func(s *welfare.State) { sk, _ := s.Stock().SKU(900); units = sk.Units })
	}
	if units.HandedOut != 1 || units.Sold != 1 || units.Available != 0 || units.Received != 2 {
		t.Fatalf("units %+v", units)
	}
	state(t, rt, 0, func(s *welfare.State) {
		m, _ := s.Member(100)
		h, _ := m.Holding(50)
		a, _ := s.Ledger().Account(h.AccountID)
		if a.BalanceFen() != 300_00-128_00 || a.DebitsPendingFen != 0 {
			t.Fatalf("member 100 after hand-out: %+v", a)
		}
		m2, _ := s.Member(101)
		h2, _ := m2.Holding(50)
		a2, _ := s.Ledger().Account(h2.AccountID)
		if a2.AvailableFen() != 300_00 {
			t.Fatalf("member 101 after cancel: %+v", a2)
		}
	})
}
