package mall_test

import (
	"context"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

func day(y, m, d int) int64 { return welfare.DayStartNanos(welfare.DaysFromCivil(y, m, d)) }

type fixture struct {
	engine *mall.Engine
	ful    *mall.Fulfilment
	codes  *mall.PickupCodes
	now    int64
}

func open(t *testing.T) *fixture {
	t.Helper()
	const shards = 4
	f := &fixture{now: day(2026, 2, 10)}
	f.engine = mall.NewEngine(shards, mall.NewStream())
	j, err := journal.Open("j", journal.Options{FS: journal.NewFaultFS(1), GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: shards, Journal: j, Invariants: true, OnNotes: f.engine.OnNotes,
		Clock: func() int64 { return f.now }}, shard.Factory(shards))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	f.engine.Attach(rt)
	f.codes, _ = mall.NewPickupCodes([]byte("0123456789abcdef0123456789abcdef"))
	f.ful = mall.NewFulfilment(f.engine, f.codes)
	return f
}

func (f *fixture) must(t *testing.T, s uint32, c shard.Command) shard.Result {
	t.Helper()
	r, err := f.engine.Submit(s, c)
	if err != nil || r.Code != welfare.OK {
		t.Fatalf("command %d on shard %d: %v %+v", c.Kind, s, err, r)
	}
	return r
}

// Two members order from two merchants for one Workers e-Home: one delivery per merchant,
// shipped, arrived, handed out with the pickup code; the merchant's statement shows what it is
// owed, less a return.
func TestCheckoutFulfilmentSettlement(t *testing.T) {
	f := open(t)
	e := f.engine
	u := welfare.UnionID(11)
	us := e.UnionShard(u)
	f.must(t, us, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: u, Officers: []welfare.OfficerID{7}}})
	for _, m := range []welfare.MemberID{100, 101} {
		f.must(t, us, shard.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: u, Registered: true, DuesPaid: true})
	}
	f.must(t, us, shard.Command{Kind: welfare.FundUnion, UnionID: u, TransferID: 1, AmountFen: 1_000_00})
	f.must(t, us, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{
		ID: 5, UnionID: u, Category: welfare.CategoryFestival, AmountPerMemberFen: 300_00, FromNanos: day(2026, 2, 1), ToNanos: day(2026, 3, 1)}})
	f.must(t, us, shard.Command{Kind: welfare.Issue, ProgramID: 5, Officer: 7})
	for _, sku := range []stock.SKU{
		{ID: 900, MerchantID: 1, Category: "food", PriceFen: 50_00, Listed: true},
		{ID: 901, MerchantID: 2, Category: "oil", PriceFen: 80_00, Listed: true},
	} {
		f.must(t, e.SKUShard(sku.ID), shard.Command{Kind: welfare.SetSKU, SKU: sku})
		f.must(t, e.SKUShard(sku.ID), shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: sku.ID}, Quantity: 10})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, m := range []welfare.MemberID{100, 101} {
		out, err := e.Checkout(ctx, m, u, &welfare.OrderRequest{ID: welfare.OrderID(1000 + i), PickupPointID: 3, Lines: []welfare.OrderLine{
			{SKU: 900, Quantity: 2, UnitPriceFen: 50_00, MerchantID: 1, Category: "food"},
			{SKU: 901, Quantity: 1, UnitPriceFen: 80_00, MerchantID: 2, Category: "oil"},
		}})
		if err != nil || out.State != welfare.OrderPlaced {
			t.Fatalf("checkout of member %d: %+v %v", m, out, err)
		}
	}
	// A wrong price is refused by the SKU's shard.
	out, err := e.Checkout(ctx, 100, u, &welfare.OrderRequest{ID: 1002, PickupPointID: 3, Lines: []welfare.OrderLine{
		{SKU: 900, Quantity: 1, UnitPriceFen: 40_00, MerchantID: 1, Category: "food"}}})
	if err != nil || out.State != welfare.OrderRefused || out.Code != welfare.PriceChanged {
		t.Fatalf("wrong price: %+v %v", out, err)
	}

	ds := f.ful.Deliveries(0, 3)
	if len(ds) != 2 || len(ds[0].Orders) != 2 || len(ds[1].Orders) != 2 {
		t.Fatalf("deliveries %+v", ds)
	}
	for _, d := range ds {
		if err := f.ful.Arrive(3, d.ID); err == nil {
			t.Fatal("a delivery arrived before it shipped")
		}
		if err := f.ful.Ship(d.MerchantID, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range ds {
		if err := f.ful.Arrive(3, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.ful.HandOut(3, 1000, "00000000"); err != mall.ErrBadPickupCode && f.codes.Code(1000) != "00000000" {
		t.Fatalf("wrong code: %v", err)
	}
	for _, id := range []welfare.OrderID{1000, 1001} {
		if err := f.ful.HandOut(3, id, f.codes.Code(uint64(id))); err != nil {
			t.Fatalf("hand-out of %d: %v", id, err)
		}
	}
	r, err := e.Submit(us, shard.Command{Kind: welfare.ReturnOrder, OrderID: 1001, MemberID: 101})
	if err != nil || r.Code != welfare.OK {
		t.Fatalf("return: %+v %v", r, err)
	}
	st := e.Statement(1, day(2026, 2, 1), day(2026, 3, 1))
	if st.TotalFen != 100_00 || len(st.Lines) != 3 {
		t.Fatalf("merchant 1 statement %+v", st)
	}
	st = e.Statement(2, day(2026, 2, 1), day(2026, 3, 1))
	if st.TotalFen != 80_00 {
		t.Fatalf("merchant 2 statement %+v", st)
	}
}
