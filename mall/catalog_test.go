package mall_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

func catalogSKUs(c *mall.Catalog) []stock.SKUID {
	var ids []stock.SKUID
	for _, s := range c.SKUs {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestCatalogSnapshot(t *testing.T) {
	f := open(t)
	e := f.engine
	skus := []stock.SKU{
		{ID: 30, Name: "Peanut Oil 5L", ProductName: "Oil", MerchantID: 2, Category: "oil", PriceFen: 80_00, Listed: true},
		{ID: 10, Name: "New Year rice", ProductName: "Northeast Rice", MerchantID: 1, Category: "food", PriceFen: 49_99, Listed: true},
		{ID: 20, Name: "Tea", MerchantID: 1, Category: "drink", PriceFen: 10_00},
	}
	for _, sk := range skus {
		f.must(t, e.SKUShard(sk.ID), shard.Command{Kind: welfare.SetSKU, SKU: sk})
	}
	f.must(t, e.SKUShard(10), shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: 10}, Quantity: 7})
	f.must(t, mall.DirectoryShard, shard.Command{Kind: welfare.SetPickupPoint, PickupPoint: welfare.PickupPoint{ID: 3, Name: "e-Home", Unions: []welfare.UnionID{11}}})
	cfg := welfare.DefaultConfig()
	cfg.Version = 2
	cfg.Campaigns = []stock.Campaign{{ID: 1, Name: "festival", FromNanos: day(2026, 2, 1), ToNanos: day(2026, 3, 1), DiscountBps: 700,
		Unions: []stock.UnionID{11}, SKUs: []stock.SKUID{10}}}
	f.must(t, mall.DirectoryShard, shard.Command{Kind: welfare.SetConfig, Config: &cfg})

	cat, err := e.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if got := catalogSKUs(cat); !slices.Equal(got, []stock.SKUID{10, 20, 30}) {
		t.Fatalf("SKUs %v, want every shard's in id order", got)
	}
	rice, ok := cat.SKU(10)
	if !ok || rice.Units.Available != 7 || rice.Name != "New Year rice" {
		t.Fatalf("rice %+v", rice)
	}
	if _, ok := cat.SKU(40); ok {
		t.Fatal("a SKU that does not exist")
	}
	if p, ok := cat.PickupPoint(3); !ok || p.Name != "e-Home" || !slices.Equal(p.Unions, []welfare.UnionID{11}) {
		t.Fatalf("pickup point %+v", p)
	}
	if cat.ConfigVersion != 2 || len(cat.Campaigns) != 1 {
		t.Fatalf("config %d campaigns %+v", cat.ConfigVersion, cat.Campaigns)
	}
	// SamePrice: the catalog's price is the SKU shard's.
	for _, union := range []welfare.UnionID{11, 12} {
		for _, at := range []int64{day(2026, 1, 31), day(2026, 2, 10), day(2026, 3, 1)} {
			got := cat.UnitPriceFen(&rice.SKU, union, at)
			if want := stock.UnitPriceFen(&rice.SKU, stock.UnionID(union), at, cfg.Campaigns); got != want {
				t.Fatalf("union %d at %d: %d, want %d", union, at, got, want)
			}
			_, discounted := cat.Campaign(&rice.SKU, union, at)
			if discounted != (got != rice.PriceFen) {
				t.Fatalf("union %d at %d: campaign %v for price %d", union, at, discounted, got)
			}
		}
	}
	if got := cat.UnitPriceFen(&rice.SKU, 11, day(2026, 2, 10)); got != mall.DiscountedUnitFen(49_99, 700) || got != 46_49 {
		t.Fatalf("discounted price %d", got)
	}

	// Search: case-insensitive substrings of the name, the product name or the category.
	for q, want := range map[string][]stock.SKUID{
		"":          {10, 20, 30},
		"RICE":      {10},
		" oil ":     {30},
		"northeast": {10},
		"DRINK":     {20},
		"e":         {10, 20, 30},
		"caviar":    nil,
	} {
		var got []stock.SKUID
		query := mall.SearchQuery(q)
		for i := range cat.SKUs {
			if cat.SKUs[i].Matches(query) {
				got = append(got, cat.SKUs[i].ID)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("search %q: %v, want %v", q, got, want)
		}
	}
}

// The snapshot is shared until it is stale: after a catalog command through the mall, after
// InvalidateCatalog, or after its time. A change made behind the mall's back is not seen
// before then.
func TestCatalogFreshness(t *testing.T) {
	f := open(t)
	e := f.engine
	f.must(t, e.SKUShard(10), shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: 10, MerchantID: 1, Category: "food", PriceFen: 10_00, Listed: true}})
	first, err := e.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := e.Catalog(); again != first {
		t.Fatal("a fresh snapshot was rebuilt")
	}
	// Behind the mall's back: the snapshot stays until invalidated.
	if r, err := e.Runtime().Submit(e.SKUShard(10), shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: 10, MerchantID: 1, Category: "food", PriceFen: 12_00, Listed: true}}); err != nil || r.Code != welfare.OK {
		t.Fatalf("%v %+v", err, r)
	}
	if again, _ := e.Catalog(); again != first && time.Since(first.BuiltAt) < 100*time.Millisecond {
		t.Fatal("the snapshot was rebuilt without a change through the mall")
	}
	e.InvalidateCatalog()
	second, _ := e.Catalog()
	if sk, _ := second.SKU(10); second == first || sk.PriceFen != 12_00 {
		t.Fatalf("after InvalidateCatalog: %+v", sk)
	}
	// Through the mall: seen at once.
	f.must(t, e.SKUShard(11), shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: 11, MerchantID: 1, Category: "food", PriceFen: 5_00, Listed: true}})
	third, _ := e.Catalog()
	if _, ok := third.SKU(11); !ok {
		t.Fatal("a SKU set through the mall is not in the next snapshot")
	}
	f.must(t, e.SKUShard(11), shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: 11}, Quantity: 3})
	fourth, _ := e.Catalog()
	if sk, _ := fourth.SKU(11); sk.Units.Available != 3 {
		t.Fatalf("units after receiving: %+v", sk.Units)
	}
	// In time, even a change behind the mall's back is seen.
	if r, err := e.Runtime().Submit(e.SKUShard(10), shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: 10, MerchantID: 1, Category: "food", PriceFen: 13_00, Listed: true}}); err != nil || r.Code != welfare.OK {
		t.Fatalf("%v %+v", err, r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, _ := e.Catalog()
		if sk, _ := c.SKU(10); sk.PriceFen == 13_00 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the snapshot never expired")
		}
		time.Sleep(10 * time.Millisecond)
	}

	// Many readers while the catalog changes: each gets a whole snapshot.
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if g == 0 && i%5 == 0 {
					e.InvalidateCatalog()
				}
				c, err := e.Catalog()
				if err != nil || len(c.SKUs) != 2 {
					t.Errorf("snapshot %v: %d SKUs", err, len(c.SKUs))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// openClocked is open with a clock the test may move while the runtime reads it.
func openClocked(t *testing.T) (*fixture, *atomic.Int64) {
	t.Helper()
	const shards = 4
	clock := &atomic.Int64{}
	clock.Store(day(2026, 2, 10))
	f := &fixture{engine: mall.NewEngine(shards, mall.NewStream())}
	j, err := journal.Open("j", journal.Options{FS: journal.NewFaultFS(1), GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: shards, Journal: j, Invariants: true, OnNotes: f.engine.OnNotes, Clock: clock.Load}, shard.Factory(shards))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	f.engine.Attach(rt)
	f.codes, _ = mall.NewPickupCodes([]byte("0123456789abcdef0123456789abcdef"))
	f.ful = mall.NewFulfilment(f.engine, f.codes)
	return f, clock
}

func TestMemberOrders(t *testing.T) {
	f, clock := openClocked(t)
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
	f.must(t, e.SKUShard(900), shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: 900, MerchantID: 1, Category: "food", PriceFen: 10_00, Listed: true}})
	f.must(t, e.SKUShard(900), shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: 900}, Quantity: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	checkout := func(m welfare.MemberID, id welfare.OrderID) {
		t.Helper()
		clock.Add(int64(time.Second))
		out, err := e.Checkout(ctx, m, u, &welfare.OrderRequest{ID: id, PickupPointID: 3, Lines: []welfare.OrderLine{
			{SKU: 900, Quantity: 1, UnitPriceFen: 10_00, MerchantID: 1, Category: "food"}}})
		if err != nil || out.State != welfare.OrderPlaced {
			t.Fatalf("checkout %d: %+v %v", id, out, err)
		}
	}
	ids := func(refs []mall.OrderRef) []welfare.OrderID {
		var out []welfare.OrderID
		for _, r := range refs {
			if r.UnionID != u {
				t.Fatalf("order %d in union %d", r.ID, r.UnionID)
			}
			out = append(out, r.ID)
		}
		return out
	}
	// Orders made before the index is first used are found in the engine's state, by the time
	// they were placed (not by id).
	checkout(100, 30)
	checkout(101, 20)
	checkout(100, 10)
	refs, err := e.MemberOrders(100)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(refs); !slices.Equal(got, []welfare.OrderID{10, 30}) {
		t.Fatalf("member 100's orders %v, want newest first", got)
	}
	// Orders made since come from the stream, once each, whatever their later states.
	checkout(100, 5)
	if r, err := e.Submit(us, shard.Command{Kind: welfare.CancelOrder, OrderID: 30, MemberID: 100}); err != nil || r.Code != welfare.OK {
		t.Fatalf("cancel: %+v %v", r, err)
	}
	refs, _ = e.MemberOrders(100)
	if got := ids(refs); !slices.Equal(got, []welfare.OrderID{5, 10, 30}) {
		t.Fatalf("member 100's orders %v", got)
	}
	refs, _ = e.MemberOrders(101)
	if got := ids(refs); !slices.Equal(got, []welfare.OrderID{20}) {
		t.Fatalf("member 101's orders %v", got)
	}
	if refs, _ := e.MemberOrders(102); len(refs) != 0 {
		t.Fatalf("a member without orders has %v", refs)
	}

	// Fulfilment's view of an order is a copy.
	o, ok := f.ful.Order(10)
	if !ok || o.State != welfare.OrderPlaced || len(o.Lines) != 1 {
		t.Fatalf("fulfilment's order %+v", o)
	}
	o.Lines[0].Quantity = 99
	if again, _ := f.ful.Order(10); again.Lines[0].Quantity != 1 {
		t.Fatal("the copy shares the stream's lines")
	}
	if _, ok := f.ful.Order(77); ok {
		t.Fatal("an order that does not exist")
	}
}
