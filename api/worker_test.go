package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"huigong/api"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

func TestMe(t *testing.T) {
	h := newHarness(t)
	e := h.engine
	us := e.UnionShard(11)
	h.submit(us, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 11, Officers: []welfare.OfficerID{7}}})
	h.submit(us, shard.Command{Kind: welfare.RegisterMember, MemberID: 100, UnionID: 11, Registered: true, DuesPaid: true})
	h.submit(us, shard.Command{Kind: welfare.FundUnion, UnionID: 11, TransferID: 1, AmountFen: 1_000_00})
	h.submit(us, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{ID: 5, UnionID: 11, Name: "New Year",
		Category: welfare.CategoryFestival, AmountPerMemberFen: 300_00,
		FromNanos: welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 1)), ToNanos: welfare.DayStartNanos(welfare.DaysFromCivil(2026, 3, 1))}})
	h.submit(us, shard.Command{Kind: welfare.Issue, ProgramID: 5, Officer: 7})

	var me api.MeResponse
	h.do(http.MethodGet, "/api/v1/me", h.token(api.RoleMember, 100, 11, 0), nil).must(t, http.StatusOK).JSON(t, &me)
	if len(me.Balances) != 1 || me.Balances[0].Balance != "300.00" || me.Balances[0].Name != "New Year" {
		t.Fatalf("me %+v", me)
	}
	// A member of another union, an officer, no token, a forged token.
	if p := h.do(http.MethodGet, "/api/v1/me", h.token(api.RoleMember, 100, 12, 0), nil).must(t, http.StatusNotFound).Problem(t); p.Code != "unknown_member" {
		t.Fatalf("problem %+v", p)
	}
	h.do(http.MethodGet, "/api/v1/me", h.token(api.RoleOfficer, 7, 11, 0), nil).must(t, http.StatusForbidden)
	h.do(http.MethodGet, "/api/v1/me", "", nil).must(t, http.StatusUnauthorized)
	h.do(http.MethodGet, "/api/v1/me", h.token(api.RoleMember, 100, 11, 0)+"x", nil).must(t, http.StatusUnauthorized)
	h.do(http.MethodGet, "/api/v1/nope", "", nil).must(t, http.StatusNotFound)
}

// The shop of the worker and keeper tests: union 11 (members 100 and 101 with points, 102
// without, 103 with dues unpaid) and union 12 (member 200), two pickup points, SKUs of three
// merchants and a 7% New Year campaign on the rice for union 11.
const (
	shopUnion       = 11
	shopOtherUnion  = 12
	shopMember      = 100
	shopMember2     = 101
	shopPoorMember  = 102
	shopUnpaid      = 103
	shopOtherMember = 200
	shopPoint       = 3 // serves unions 11 and 12
	shopOtherPoint  = 4 // serves union 12 only

	skuRice    = 900 // food, merchant 1, 50.00, 46.50 for union 11 in the campaign
	skuOil     = 901 // oil, merchant 2, 80.00
	skuLiquor  = 902 // liquor: no program may buy it
	skuNuts    = 903 // one unit only, limit 1
	skuHidden  = 904 // not listed
	skuLater   = 905 // sale window opens on 12 February
	skuLimited = 906 // merchant 3, limit 2 per member

	programFestival = 5 // union 11, festival, 300.00, food and oil, to 1 March
	programOil      = 6 // union 11, general, 40.00, SKU 901 only, to 20 February
	programOther    = 9 // union 12, festival, 200.00, anything
)

type shop struct {
	*harness
	t *testing.T
	// ful is the server's fulfilment, so that tests can ship deliveries as merchants do.
	ful *mall.Fulfilment
}

func shopDay(m, d int) int64 { return welfare.DayStartNanos(welfare.DaysFromCivil(2026, m, d)) }

func newShop(t *testing.T) *shop {
	t.Helper()
	h := newHarness(t)
	s := &shop{harness: h, t: t, ful: mall.NewFulfilment(h.engine, h.codes)}
	// The harness's server, again, over a fulfilment this test holds.
	keys := api.StaticMerchantKeys{}
	for m, secret := range h.secrets {
		id := "merchant-" + itoa(m)
		keys[id] = api.MerchantKey{KeyID: id, MerchantID: m, Secret: secret}
	}
	h.server = api.New(api.Deps{Engine: h.engine, Fulfilment: s.ful, Codes: h.codes,
		Tokens: h.verifier(), Merchants: keys, Audit: h.audit, Now: h.wall})
	e := h.engine
	for _, u := range []struct {
		id      welfare.UnionID
		officer welfare.OfficerID
		members []welfare.MemberID
	}{{shopUnion, 7, []welfare.MemberID{shopMember, shopMember2, shopPoorMember}}, {shopOtherUnion, 8, []welfare.MemberID{shopOtherMember}}} {
		us := e.UnionShard(u.id)
		h.submit(us, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: u.id, Officers: []welfare.OfficerID{u.officer}}})
		for _, m := range u.members {
			h.submit(us, shard.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: u.id, Registered: true, DuesPaid: true})
		}
		h.submit(us, shard.Command{Kind: welfare.FundUnion, UnionID: u.id, TransferID: 1, AmountFen: 10_000_00})
	}
	us := e.UnionShard(shopUnion)
	h.submit(us, shard.Command{Kind: welfare.RegisterMember, MemberID: shopUnpaid, UnionID: shopUnion, Registered: true})
	for _, p := range []welfare.Program{
		{ID: programFestival, UnionID: shopUnion, Name: "New Year", Category: welfare.CategoryFestival, AmountPerMemberFen: 300_00,
			FromNanos: shopDay(2, 1), ToNanos: shopDay(3, 1), Whitelist: welfare.Whitelist{Categories: []string{"food", "oil"}}},
		{ID: programOil, UnionID: shopUnion, Name: "Cooking oil", Category: welfare.CategoryGeneral, AmountPerMemberFen: 40_00,
			FromNanos: shopDay(2, 1), ToNanos: shopDay(2, 20), Whitelist: welfare.Whitelist{SKUs: []welfare.SKUID{skuOil}}},
	} {
		h.submit(us, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: p})
		h.submit(us, shard.Command{Kind: welfare.Issue, ProgramID: p.ID, Officer: 7, Members: []welfare.MemberID{shopMember, shopMember2}})
	}
	os := e.UnionShard(shopOtherUnion)
	h.submit(os, shard.Command{Kind: welfare.CreateProgram, Officer: 8, Program: welfare.Program{ID: programOther, UnionID: shopOtherUnion,
		Name: "Spring Festival", Category: welfare.CategoryFestival, AmountPerMemberFen: 200_00, FromNanos: shopDay(2, 1), ToNanos: shopDay(3, 1)}})
	h.submit(os, shard.Command{Kind: welfare.Issue, ProgramID: programOther, Officer: 8})

	h.submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetPickupPoint, PickupPoint: welfare.PickupPoint{ID: shopPoint,
		Name: "Workers e-Home, Dongling", Unions: []welfare.UnionID{shopUnion, shopOtherUnion}}})
	h.submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetPickupPoint, PickupPoint: welfare.PickupPoint{ID: shopOtherPoint,
		Name: "Workers e-Home, Zhangban", Unions: []welfare.UnionID{shopOtherUnion}}})
	cfg := welfare.DefaultConfig()
	cfg.Version = 2
	cfg.Campaigns = []stock.Campaign{{ID: 1, Name: "New Year goods festival", FromNanos: shopDay(2, 1), ToNanos: shopDay(3, 1),
		DiscountBps: 700, Unions: []stock.UnionID{shopUnion}, SKUs: []stock.SKUID{skuRice}}}
	h.submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetConfig, Config: &cfg})
	for _, sk := range []struct {
		sku   stock.SKU
		units int64
	}{
		{stock.SKU{ID: skuRice, Name: "New Year rice 5kg", ProductID: 1, ProductName: "Northeast Rice", MerchantID: 1, Category: "food", PriceFen: 50_00, Listed: true}, 100},
		{stock.SKU{ID: skuOil, Name: "Peanut oil 5L", ProductID: 2, ProductName: "Peanut Oil", MerchantID: 2, Category: "oil", PriceFen: 80_00, Listed: true}, 100},
		{stock.SKU{ID: skuLiquor, Name: "Baijiu 500ml", MerchantID: 1, Category: "liquor", PriceFen: 30_00, Listed: true}, 100},
		{stock.SKU{ID: skuNuts, Name: "Festival nuts gift box", MerchantID: 1, Category: "food", PriceFen: 20_00, Listed: true, LimitPerMember: 1}, 1},
		{stock.SKU{ID: skuHidden, Name: "Unlisted tea", MerchantID: 1, Category: "food", PriceFen: 10_00}, 10},
		{stock.SKU{ID: skuLater, Name: "Flash sale dates", MerchantID: 1, Category: "food", PriceFen: 15_00, Listed: true,
			SaleFromNanos: shopDay(2, 12), SaleToNanos: shopDay(2, 13)}, 10},
		{stock.SKU{ID: skuLimited, Name: "Dried mushrooms", MerchantID: 3, Category: "food", PriceFen: 12_00, Listed: true, LimitPerMember: 2}, 100},
	} {
		h.submit(e.SKUShard(sk.sku.ID), shard.Command{Kind: welfare.SetSKU, SKU: sk.sku})
		h.submit(e.SKUShard(sk.sku.ID), shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: sk.sku.ID}, Quantity: sk.units})
	}
	// The configuration reaches the other shards as messages: wait until every SKU's shard
	// prices with the campaign.
	shopEventually(t, "the configuration on every shard", func() bool {
		all := true
		for sh := 0; sh < e.ShardsCount(); sh++ {
			_ = e.Read(uint32(sh), func(st *welfare.State) { all = all && st.Config().Version == 2 })
		}
		return all
	})
	return s
}

func shopEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (s *shop) member(id, union uint64) string { return s.token(api.RoleMember, id, union, 0) }

// tick moves the clock on a second, so the order rate limit (5 a second) refills.
func (s *shop) tick() { s.now.Add(int64(time.Second)) }

// orderBody is a checkout body of (sku, quantity) pairs.
func orderBody(point uint64, cash string, lines ...[2]int64) map[string]any {
	ls := []map[string]any{}
	for _, l := range lines {
		ls = append(ls, map[string]any{"sku_id": l[0], "quantity": l[1]})
	}
	b := map[string]any{"pickup_point_id": point, "lines": ls}
	if cash != "" {
		b["cash"] = cash
	}
	return b
}

// order places an order with an Idempotency-Key, a second after the last one.
func (s *shop) order(token, key string, body any) response {
	s.t.Helper()
	s.tick()
	return s.do(http.MethodPost, "/api/v1/orders", token, body, "Idempotency-Key", key)
}

// placed places an order that must be placed.
func (s *shop) placed(token, key string, body any) api.WorkerOrder {
	s.t.Helper()
	var o api.WorkerOrder
	s.order(token, key, body).must(s.t, http.StatusCreated).JSON(s.t, &o)
	return o
}

// problem asserts an answer is a problem with status and code.
func (s *shop) problem(r response, status int, code string) {
	s.t.Helper()
	r.must(s.t, status)
	if p := r.Problem(s.t); p.Code != code || p.Status != status {
		s.t.Fatalf("problem %+v, want %d %s", p, status, code)
	}
}

// balances returns a member's available and held points per program.
func (s *shop) balances(token string) map[uint64][2]string {
	s.t.Helper()
	var me api.MeResponse
	s.do(http.MethodGet, "/api/v1/me", token, nil).must(s.t, http.StatusOK).JSON(s.t, &me)
	out := map[uint64][2]string{}
	for _, b := range me.Balances {
		out[b.ProgramID] = [2]string{b.Available, b.Held}
	}
	return out
}

func (s *shop) catalog(token, query string) api.WorkerCatalog {
	s.t.Helper()
	var c api.WorkerCatalog
	s.do(http.MethodGet, "/api/v1/catalog"+query, token, nil).must(s.t, http.StatusOK).JSON(s.t, &c)
	return c
}

// idsOf lists the ids of items, never nil.
func idsOf[T any](items []T, id func(T) uint64) []uint64 {
	ids := []uint64{}
	for _, it := range items {
		ids = append(ids, id(it))
	}
	return ids
}

func catalogIDs(c api.WorkerCatalog) []uint64 {
	return idsOf(c.Items, func(it api.WorkerCatalogItem) uint64 { return it.SKUID })
}

func catalogItem(t *testing.T, c api.WorkerCatalog, id uint64) api.WorkerCatalogItem {
	t.Helper()
	for _, it := range c.Items {
		if it.SKUID == id {
			return it
		}
	}
	t.Fatalf("SKU %d is not in the catalog %v", id, catalogIDs(c))
	return api.WorkerCatalogItem{}
}

func TestCatalog(t *testing.T) {
	s := newShop(t)
	tok := s.member(shopMember, shopUnion)

	all := s.catalog(tok, "")
	// The liquor no program may buy and the unlisted tea are left out; the dates, whose sale
	// opens later, are shown as not on sale yet.
	if got, want := catalogIDs(all), []uint64{skuRice, skuOil, skuNuts, skuLater, skuLimited}; !slices.Equal(got, want) || all.NextCursor != "" {
		t.Fatalf("catalog %v next %q, want %v", got, all.NextCursor, want)
	}
	rice := catalogItem(t, all, skuRice)
	if rice.ListPrice != "50.00" || rice.Price != "46.50" || rice.Campaign != "New Year goods festival" || rice.Stock != "available" ||
		rice.Available != 100 || !rice.OnSale || rice.Name != "New Year rice 5kg" || rice.ProductName != "Northeast Rice" ||
		rice.MerchantID != 1 || rice.Category != "food" || !slices.Equal(rice.Programs, []uint64{programFestival}) {
		t.Fatalf("rice %+v", rice)
	}
	if oil := catalogItem(t, all, skuOil); oil.Price != "80.00" || oil.Campaign != "" || !slices.Equal(oil.Programs, []uint64{programFestival, programOil}) {
		t.Fatalf("oil %+v", oil)
	}
	if later := catalogItem(t, all, skuLater); later.OnSale || later.SaleFrom != "2026-02-12T00:00:00+08:00" || later.SaleTo != "2026-02-13T00:00:00+08:00" {
		t.Fatalf("dates %+v", later)
	}
	if nuts := catalogItem(t, all, skuNuts); nuts.LimitPerMember != 1 || nuts.Available != 1 {
		t.Fatalf("nuts %+v", nuts)
	}

	// Search is a case-insensitive substring of the name, the product name or the category.
	for q, want := range map[string][]uint64{
		"?q=RICE":              {skuRice},
		"?q=northeast":         {skuRice},
		"?q=Oil":               {skuOil},
		"?q=%20food%20":        {skuRice, skuNuts, skuLater, skuLimited},
		"?category=oil":        {skuOil},
		"?category=food&q=box": {skuNuts},
		"?q=caviar":            {},
		"?category=Food":       {},
	} {
		if got := catalogIDs(s.catalog(tok, q)); !slices.Equal(got, want) {
			t.Errorf("catalog%s = %v, want %v", q, got, want)
		}
	}

	// Pages of two, by cursor.
	var paged []uint64
	cursor := ""
	for range 10 {
		page := s.catalog(tok, "?limit=2&cursor="+cursor)
		paged = append(paged, catalogIDs(page)...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
		if len(page.Items) != 2 {
			t.Fatalf("a page with a next cursor has %d items", len(page.Items))
		}
	}
	if !slices.Equal(paged, catalogIDs(all)) {
		t.Fatalf("paged %v, want %v", paged, catalogIDs(all))
	}

	// Another union's member: no campaign, and its program buys anything listed.
	other := s.catalog(s.member(shopOtherMember, shopOtherUnion), "")
	if got, want := catalogIDs(other), []uint64{skuRice, skuOil, skuLiquor, skuNuts, skuLater, skuLimited}; !slices.Equal(got, want) {
		t.Fatalf("union 12 catalog %v, want %v", got, want)
	}
	if r := catalogItem(t, other, skuRice); r.Price != "50.00" || r.Campaign != "" || !slices.Equal(r.Programs, []uint64{programOther}) {
		t.Fatalf("union 12 rice %+v", r)
	}
	// A member without points sees nothing to pay for.
	if c := s.catalog(s.member(shopPoorMember, shopUnion), ""); len(c.Items) != 0 {
		t.Fatalf("a member without points sees %v", catalogIDs(c))
	}

	// A SKU added after the snapshot is seen at once: the change went through the engine.
	s.submit(s.engine.SKUShard(907), shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: 907, Name: "Rice cakes", MerchantID: 1, Category: "food", PriceFen: 8_00, Listed: true}})
	if got := catalogIDs(s.catalog(tok, "?q=cakes")); !slices.Equal(got, []uint64{907}) {
		t.Fatalf("new SKU: %v", got)
	}

	// Bad queries, the wrong member, the wrong roles.
	for _, q := range []string{"?limit=0", "?limit=201", "?limit=x", "?limit=-1"} {
		s.problem(s.do(http.MethodGet, "/api/v1/catalog"+q, tok, nil), http.StatusBadRequest, "bad_request")
	}
	for _, q := range []string{"?cursor=x", "?cursor=0", "?cursor=-3", "?cursor=9007199254740992"} {
		s.problem(s.do(http.MethodGet, "/api/v1/catalog"+q, tok, nil), http.StatusBadRequest, "invalid_cursor")
	}
	s.problem(s.do(http.MethodGet, "/api/v1/catalog?q="+strings.Repeat("a", 101), tok, nil), http.StatusBadRequest, "invalid_query")
	s.problem(s.do(http.MethodGet, "/api/v1/catalog?q=%ff", tok, nil), http.StatusBadRequest, "invalid_query")
	s.problem(s.do(http.MethodGet, "/api/v1/catalog", s.member(shopMember, shopOtherUnion), nil), http.StatusNotFound, "unknown_member")
	s.problem(s.do(http.MethodGet, "/api/v1/catalog", s.member(999, shopUnion), nil), http.StatusNotFound, "unknown_member")
}

func TestPlaceOrder(t *testing.T) {
	s := newShop(t)
	tok := s.member(shopMember, shopUnion)
	body := orderBody(shopPoint, "0.00", [2]int64{skuRice, 2}, [2]int64{skuOil, 1})

	r := s.order(tok, "first-order", body).must(t, http.StatusCreated)
	var o api.WorkerOrder
	r.JSON(t, &o)
	if o.OrderID == 0 || o.OrderID >= 1<<53 || o.State != "placed" || o.Total != "173.00" || o.Cash != "0.00" || o.Points != "173.00" ||
		o.PickupPointID != shopPoint || o.PickupPointName != "Workers e-Home, Dongling" || o.PlacedAt == "" || o.Reason != "" {
		t.Fatalf("order %+v", o)
	}
	if o.PickupCode != s.codes.Code(o.OrderID) {
		t.Fatalf("pickup code %q, want %q", o.PickupCode, s.codes.Code(o.OrderID))
	}
	wantLines := []api.WorkerOrderLine{
		{SKUID: skuRice, Name: "New Year rice 5kg", MerchantID: 1, Category: "food", Quantity: 2, UnitPrice: "46.50", Amount: "93.00"},
		{SKUID: skuOil, Name: "Peanut oil 5L", MerchantID: 2, Category: "oil", Quantity: 1, UnitPrice: "80.00", Amount: "80.00"},
	}
	if !slices.Equal(o.Lines, wantLines) {
		t.Fatalf("lines %+v", o.Lines)
	}
	// The oil is paid first from the points that expire first; the rest from the festival.
	holds := slices.Clone(o.Holds)
	slices.SortFunc(holds, func(a, b api.WorkerOrderHold) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	wantHolds := []api.WorkerOrderHold{
		{Kind: "points", ProgramID: programFestival, MerchantID: 1, Amount: "93.00"},
		{Kind: "points", ProgramID: programFestival, MerchantID: 2, Amount: "40.00"},
		{Kind: "points", ProgramID: programOil, MerchantID: 2, Amount: "40.00"},
	}
	if !slices.Equal(holds, wantHolds) {
		t.Fatalf("holds %+v", holds)
	}
	if b := s.balances(tok); b[programFestival] != [2]string{"167.00", "133.00"} || b[programOil] != [2]string{"0.00", "40.00"} {
		t.Fatalf("balances %v", b)
	}

	// A retry with the same key and body gets the first answer, byte for byte, and nothing is
	// held twice.
	again := s.order(tok, "first-order", body).must(t, http.StatusCreated)
	if string(again.Body) != string(r.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry answered %s", again.Body)
	}
	// The same key with another body is refused; so is the same order under another
	// spelling of the same key's body, if it differs.
	s.problem(s.order(tok, "first-order", orderBody(shopPoint, "", [2]int64{skuRice, 1})), http.StatusConflict, "idempotency_key_reused")
	s.problem(s.order(tok, "first-order", orderBody(shopPoint, "", [2]int64{skuRice, 2}, [2]int64{skuOil, 2})), http.StatusConflict, "idempotency_key_reused")
	// The same order spelt differently (no cash field) is the same order: the engine's answer.
	var same api.WorkerOrder
	s.order(tok, "first-order", orderBody(shopPoint, "", [2]int64{skuRice, 2}, [2]int64{skuOil, 1})).must(t, http.StatusCreated).JSON(t, &same)
	if same.OrderID != o.OrderID || same.State != "placed" {
		t.Fatalf("same order respelt: %+v", same)
	}
	if b := s.balances(tok); b[programFestival] != [2]string{"167.00", "133.00"} {
		t.Fatalf("balances after retries %v", b)
	}
	// The same key is another order for another member.
	o2 := s.placed(s.member(shopMember2, shopUnion), "first-order", orderBody(shopPoint, "", [2]int64{skuRice, 1}))
	if o2.OrderID == o.OrderID || o2.Total != "46.50" {
		t.Fatalf("member 101's order %+v", o2)
	}
	// A member of union 12 pays the list price, at the point that serves its union.
	o3 := s.placed(s.member(shopOtherMember, shopOtherUnion), "k", orderBody(shopOtherPoint, "", [2]int64{skuRice, 1}))
	if o3.Lines[0].UnitPrice != "50.00" || o3.Holds[0].ProgramID != programOther {
		t.Fatalf("union 12 order %+v", o3)
	}
}

// An order with a cash part waits for the payment, which the platform confirms.
func TestPayCash(t *testing.T) {
	s := newShop(t)
	tok := s.member(shopMember, shopUnion)
	o := s.placed(tok, "cash", orderBody(shopPoint, "30.00", [2]int64{skuOil, 1}))
	if o.State != "awaiting_payment" || o.Cash != "30.00" || o.Points != "50.00" || o.PayBy == "" || o.PickupCode != "" {
		t.Fatalf("order %+v", o)
	}
	if !slices.ContainsFunc(o.Holds, func(h api.WorkerOrderHold) bool { return h.Kind == "cash" && h.Amount == "30.00" && h.ProgramID == 0 }) {
		t.Fatalf("holds %+v", o.Holds)
	}
	path := fmt.Sprintf("/api/v1/orders/%d/pay", o.OrderID)
	for _, ref := range []string{"", strings.Repeat("1", 65), "wx 42", "支付"} {
		s.problem(s.do(http.MethodPost, path, tok, map[string]any{"payment_ref": ref}), http.StatusUnprocessableEntity, "invalid_payment_ref")
	}
	s.problem(s.do(http.MethodPost, path, tok, `{"payment_ref":"1","x":1}`), http.StatusBadRequest, "unknown_field")
	s.problem(s.do(http.MethodPost, path, s.member(shopMember2, shopUnion), map[string]any{"payment_ref": "wx-1"}), http.StatusNotFound, "unknown_order")
	s.problem(s.do(http.MethodPost, "/api/v1/orders/77/pay", tok, map[string]any{"payment_ref": "wx-1"}), http.StatusNotFound, "unknown_order")

	var paid api.WorkerOrder
	s.do(http.MethodPost, path, tok, map[string]any{"payment_ref": "wx-4200001"}).must(t, http.StatusOK).JSON(t, &paid)
	if paid.State != "placed" || paid.PickupCode != s.codes.Code(o.OrderID) {
		t.Fatalf("paid %+v", paid)
	}
	// The platform's retry of the same payment is the same answer.
	s.do(http.MethodPost, path, tok, map[string]any{"payment_ref": "wx-4200001"}).must(t, http.StatusOK)

	// A payment after the deadline is refused, and must be refunded by the platform.
	late := s.placed(tok, "late", orderBody(shopPoint, "10.00", [2]int64{skuRice, 1}))
	// The deadline passes; the member's shard decides it at the start of its next batch, before
	// the payment.
	s.now.Add(int64(16 * time.Minute))
	s.problem(s.do(http.MethodPost, fmt.Sprintf("/api/v1/orders/%d/pay", late.OrderID), tok, map[string]any{"payment_ref": "wx-late"}),
		http.StatusConflict, "late_payment")
	var gone api.WorkerOrder
	s.do(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", late.OrderID), tok, nil).must(t, http.StatusOK).JSON(t, &gone)
	if gone.State != "refused" || gone.Reason != "payment_timeout" {
		t.Fatalf("late order %+v", gone)
	}
	// A second payment of an order already paid is the wrong state.
	s.problem(s.do(http.MethodPost, path, tok, map[string]any{"payment_ref": "wx-other"}), http.StatusConflict, "wrong_order_state")
}

func TestPlaceOrderRefused(t *testing.T) {
	s := newShop(t)
	tok := s.member(shopMember, shopUnion)
	before := s.balances(tok)
	for _, c := range []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"more than the points", tok, orderBody(shopPoint, "", [2]int64{skuOil, 5}), http.StatusConflict, "insufficient_points"},
		{"no program may buy it", tok, orderBody(shopPoint, "", [2]int64{skuLiquor, 1}), http.StatusConflict, "not_eligible"},
		{"over the member's limit", tok, orderBody(shopPoint, "", [2]int64{skuLimited, 3}), http.StatusConflict, "limit_exceeded"},
		{"before the sale opens", tok, orderBody(shopPoint, "", [2]int64{skuLater, 1}), http.StatusConflict, "outside_window"},
		{"not listed", tok, orderBody(shopPoint, "", [2]int64{skuHidden, 1}), http.StatusConflict, "not_listed"},
		{"no such SKU", tok, orderBody(shopPoint, "", [2]int64{999, 1}), http.StatusNotFound, "unknown_sku"},
		{"no such pickup point", tok, orderBody(77, "", [2]int64{skuRice, 1}), http.StatusUnprocessableEntity, "unknown_pickup_point"},
		{"another union's pickup point", tok, orderBody(shopOtherPoint, "", [2]int64{skuRice, 1}), http.StatusUnprocessableEntity, "pickup_point_not_for_union"},
		{"cash over the total", tok, orderBody(shopPoint, "46.51", [2]int64{skuRice, 1}), http.StatusUnprocessableEntity, "invalid_amount"},
		{"dues unpaid", s.member(shopUnpaid, shopUnion), orderBody(shopPoint, "", [2]int64{skuRice, 1}), http.StatusConflict, "not_registered"},
		{"not on the register", s.member(999, shopUnion), orderBody(shopPoint, "", [2]int64{skuRice, 1}), http.StatusConflict, "not_registered"},
		{"a member without points", s.member(shopPoorMember, shopUnion), orderBody(shopPoint, "", [2]int64{skuRice, 1}), http.StatusConflict, "not_eligible"},
	} {
		r := s.order(c.token, "refused-"+c.name, c.body)
		if p := r.Problem(t); r.Status != c.status || p.Code != c.code {
			t.Errorf("%s: %d %+v, want %d %s", c.name, r.Status, p, c.status, c.code)
		}
	}
	// A refusal is kept for its key like any first answer.
	r1 := s.order(tok, "refused-again", orderBody(shopPoint, "", [2]int64{skuLiquor, 1}))
	r2 := s.order(tok, "refused-again", orderBody(shopPoint, "", [2]int64{skuLiquor, 1}))
	if r1.Status != http.StatusConflict || string(r1.Body) != string(r2.Body) || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("refusal retried: %d %s / %s", r1.Status, r1.Body, r2.Body)
	}
	if after := s.balances(tok); !mapsEqual(before, after) {
		t.Fatalf("refusals changed the balances: %v -> %v", before, after)
	}
	var list api.WorkerOrderList
	s.do(http.MethodGet, "/api/v1/orders", tok, nil).must(t, http.StatusOK).JSON(t, &list)
	for _, o := range list.Orders {
		if o.State != "refused" {
			t.Fatalf("a refused checkout left an order %+v", o)
		}
	}
}

func mapsEqual(a, b map[uint64][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A price changed by a node that did not tell this one's catalog is refused as price_changed;
// the catalog is then refreshed, and the next order pays the new price.
func TestPriceChanged(t *testing.T) {
	s := newShop(t)
	tok := s.member(shopMember, shopUnion)
	refused := false
	for attempt := 0; attempt < 5 && !refused; attempt++ {
		s.catalog(tok, "") // the snapshot is taken
		price := int64(50_00 + (attempt+1)*1_00)
		// Straight to the runtime: the mall's Submit would have refreshed the catalog.
		r, err := s.engine.Runtime().Submit(s.engine.SKUShard(skuRice), shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: skuRice,
			Name: "New Year rice 5kg", MerchantID: 1, Category: "food", PriceFen: price, Listed: true}})
		if err != nil || r.Code != welfare.OK {
			t.Fatalf("price change: %v %+v", err, r)
		}
		resp := s.order(tok, fmt.Sprintf("price-%d", attempt), orderBody(shopPoint, "", [2]int64{skuRice, 1}))
		switch resp.Status {
		case http.StatusConflict:
			s.problem(resp, http.StatusConflict, "price_changed")
			refused = true
		case http.StatusCreated:
			// The snapshot had expired already (a slow run): the new price was used.
			var o api.WorkerOrder
			resp.JSON(t, &o)
			if want := mall.FormatYuan(mall.DiscountedUnitFen(price, 700)); o.Lines[0].UnitPrice != want {
				t.Fatalf("unit price %s, want %s", o.Lines[0].UnitPrice, want)
			}
		default:
			t.Fatalf("order: %d %s", resp.Status, resp.Body)
		}
		if refused {
			o := s.placed(tok, fmt.Sprintf("price-retry-%d", attempt), orderBody(shopPoint, "", [2]int64{skuRice, 1}))
			if want := mall.FormatYuan(mall.DiscountedUnitFen(price, 700)); o.Lines[0].UnitPrice != want || o.State != "placed" {
				t.Fatalf("after the refresh: %+v, want unit price %s", o, want)
			}
		}
	}
	if !refused {
		t.Fatal("a stale price was never refused")
	}
}

func TestPlaceOrderBadInput(t *testing.T) {
	s := newShop(t)
	tok := s.member(shopMember, shopUnion)
	before := s.balances(tok)
	lines51 := make([][2]int64, 51)
	for i := range lines51 {
		lines51[i] = [2]int64{int64(1000 + i), 1}
	}
	for _, c := range []struct {
		name    string
		body    any
		headers []string
		status  int
		code    string
	}{
		{"malformed JSON", `{"pickup_point_id":3,`, nil, http.StatusBadRequest, "malformed_json"},
		{"not an object", `[1,2]`, nil, http.StatusBadRequest, "bad_request"},
		{"trailing data", `{"pickup_point_id":3,"lines":[{"sku_id":900,"quantity":1}]} {}`, nil, http.StatusBadRequest, "malformed_json"},
		{"unknown field", `{"pickup_point_id":3,"lines":[{"sku_id":900,"quantity":1}],"price":"0.01"}`, nil, http.StatusBadRequest, "unknown_field"},
		{"unknown line field", `{"pickup_point_id":3,"lines":[{"sku_id":900,"quantity":1,"unit_price":"0.01"}]}`, nil, http.StatusBadRequest, "unknown_field"},
		{"wrong content type", `{"pickup_point_id":3,"lines":[{"sku_id":900,"quantity":1}]}`, []string{"Content-Type", "text/plain"}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"form content type", `pickup_point_id=3`, []string{"Content-Type", "application/x-www-form-urlencoded"}, http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"body over the limit", `{"pickup_point_id":3,"cash":"` + strings.Repeat("0", 70<<10) + `"}`, nil, http.StatusRequestEntityTooLarge, "body_too_large"},
		{"zero quantity", orderBody(shopPoint, "", [2]int64{skuRice, 0}), nil, http.StatusUnprocessableEntity, "invalid_quantity"},
		{"negative quantity", orderBody(shopPoint, "", [2]int64{skuRice, -1}), nil, http.StatusUnprocessableEntity, "invalid_quantity"},
		{"quantity over the bound", orderBody(shopPoint, "", [2]int64{skuRice, 1001}), nil, http.StatusUnprocessableEntity, "invalid_quantity"},
		{"quantity overflowing", `{"pickup_point_id":3,"lines":[{"sku_id":900,"quantity":99999999999999999999}]}`, nil, http.StatusBadRequest, "bad_request"},
		{"fractional quantity", `{"pickup_point_id":3,"lines":[{"sku_id":900,"quantity":1.5}]}`, nil, http.StatusBadRequest, "bad_request"},
		{"quantity as a string", `{"pickup_point_id":3,"lines":[{"sku_id":900,"quantity":"1"}]}`, nil, http.StatusBadRequest, "bad_request"},
		{"cash with three decimals", orderBody(shopPoint, "1.234", [2]int64{skuRice, 1}), nil, http.StatusUnprocessableEntity, "invalid_amount"},
		{"negative cash", orderBody(shopPoint, "-1.00", [2]int64{skuRice, 1}), nil, http.StatusUnprocessableEntity, "invalid_amount"},
		{"cash not a number", orderBody(shopPoint, "ten", [2]int64{skuRice, 1}), nil, http.StatusUnprocessableEntity, "invalid_amount"},
		{"cash with an exponent", orderBody(shopPoint, "1e3", [2]int64{skuRice, 1}), nil, http.StatusUnprocessableEntity, "invalid_amount"},
		{"cash overflowing", orderBody(shopPoint, "99999999999999999999999", [2]int64{skuRice, 1}), nil, http.StatusUnprocessableEntity, "invalid_amount"},
		{"cash as a float", `{"pickup_point_id":3,"cash":1.5,"lines":[{"sku_id":900,"quantity":1}]}`, nil, http.StatusBadRequest, "bad_request"},
		{"no lines", orderBody(shopPoint, ""), nil, http.StatusUnprocessableEntity, "invalid_order"},
		{"too many lines", orderBody(shopPoint, "", lines51...), nil, http.StatusUnprocessableEntity, "invalid_order"},
		{"a SKU on two lines", orderBody(shopPoint, "", [2]int64{skuRice, 1}, [2]int64{skuRice, 1}), nil, http.StatusUnprocessableEntity, "invalid_order"},
		{"SKU zero", orderBody(shopPoint, "", [2]int64{0, 1}), nil, http.StatusUnprocessableEntity, "invalid_id"},
		{"SKU over 2^53", orderBody(shopPoint, "", [2]int64{1 << 53, 1}), nil, http.StatusUnprocessableEntity, "invalid_id"},
		{"no pickup point", `{"lines":[{"sku_id":900,"quantity":1}]}`, nil, http.StatusUnprocessableEntity, "invalid_id"},
		{"negative pickup point", `{"pickup_point_id":-3,"lines":[{"sku_id":900,"quantity":1}]}`, nil, http.StatusBadRequest, "bad_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			headers := append([]string{"Idempotency-Key", "bad-" + c.name}, c.headers...)
			s.tick()
			r := s.do(http.MethodPost, "/api/v1/orders", tok, c.body, headers...)
			r.must(t, c.status)
			if p := r.Problem(t); p.Code != c.code {
				t.Fatalf("problem %+v, want %s", p, c.code)
			}
		})
	}
	// The Idempotency-Key is required, and bounded.
	s.problem(s.do(http.MethodPost, "/api/v1/orders", tok, orderBody(shopPoint, "", [2]int64{skuRice, 1})), http.StatusBadRequest, "idempotency_key_required")
	s.problem(s.do(http.MethodPost, "/api/v1/orders", tok, orderBody(shopPoint, "", [2]int64{skuRice, 1}), "Idempotency-Key", strings.Repeat("k", 129)),
		http.StatusBadRequest, "idempotency_key_required")
	// Nothing changed.
	if after := s.balances(tok); !mapsEqual(before, after) {
		t.Fatalf("bad input changed the balances: %v -> %v", before, after)
	}
	var list api.WorkerOrderList
	s.do(http.MethodGet, "/api/v1/orders", tok, nil).must(t, http.StatusOK).JSON(t, &list)
	if len(list.Orders) != 0 {
		t.Fatalf("bad input made orders: %+v", list.Orders)
	}
}

// Once a SKU sells out, the edge answers sold out without asking the engine: even a caller the
// engine would refuse for another reason hears "sold out".
func TestSoldOutAtTheEdge(t *testing.T) {
	s := newShop(t)
	s.placed(s.member(shopMember, shopUnion), "nuts", orderBody(shopPoint, "", [2]int64{skuNuts, 1}))
	shopEventually(t, "the sold-out board", func() bool { return s.engine.SoldOut(skuNuts) })
	s.problem(s.order(s.member(shopMember2, shopUnion), "nuts", orderBody(shopPoint, "", [2]int64{skuNuts, 1})), http.StatusConflict, "sold_out")
	// Member 999 is on no register: the engine would answer not_registered.
	s.problem(s.order(s.member(999, shopUnion), "nuts", orderBody(shopPoint, "", [2]int64{skuRice, 1}, [2]int64{skuNuts, 1})), http.StatusConflict, "sold_out")
	if nuts := catalogItem(t, s.catalog(s.member(shopMember2, shopUnion), "?q=nuts"), skuNuts); nuts.Stock != "sold_out" || nuts.Available != 0 {
		t.Fatalf("catalog shows %+v", nuts)
	}
	// The first buyer's retry still gets its order.
	var o api.WorkerOrder
	s.order(s.member(shopMember, shopUnion), "nuts", orderBody(shopPoint, "", [2]int64{skuNuts, 1})).must(t, http.StatusCreated).JSON(t, &o)
	if o.State != "placed" {
		t.Fatalf("retry %+v", o)
	}
	// A cancel puts the unit back: the edge stops answering sold out.
	s.do(http.MethodPost, fmt.Sprintf("/api/v1/orders/%d/cancel", o.OrderID), s.member(shopMember, shopUnion), nil).must(t, http.StatusOK)
	shopEventually(t, "back in stock", func() bool { return !s.engine.SoldOut(skuNuts) })
	s.placed(s.member(shopMember2, shopUnion), "nuts-2", orderBody(shopPoint, "", [2]int64{skuNuts, 1}))
}

func TestOrderRateLimit(t *testing.T) {
	s := newShop(t)
	tok := s.member(shopMember, shopUnion)
	body := func(i int) any { return orderBody(shopPoint, "", [2]int64{skuLimited, 1}) }
	// Five a second; the clock stands still here.
	placed := 0
	for i := range 5 {
		r := s.do(http.MethodPost, "/api/v1/orders", tok, body(i), "Idempotency-Key", fmt.Sprintf("rl-%d", i))
		if r.Status != http.StatusCreated && r.Status != http.StatusConflict {
			t.Fatalf("order %d: %d %s", i, r.Status, r.Body)
		}
		if r.Status == http.StatusCreated {
			placed++
		}
	}
	if placed != 2 {
		t.Fatalf("%d orders of a SKU limited to 2", placed)
	}
	s.problem(s.do(http.MethodPost, "/api/v1/orders", tok, body(5), "Idempotency-Key", "rl-5"), http.StatusTooManyRequests, "rate_limited")
	// A retry of an answered key is not limited: it is answered from memory.
	s.do(http.MethodPost, "/api/v1/orders", tok, body(0), "Idempotency-Key", "rl-0").must(t, http.StatusCreated)
	// Another member has its own allowance.
	s.do(http.MethodPost, "/api/v1/orders", s.member(shopMember2, shopUnion), body(0), "Idempotency-Key", "rl-x").must(t, http.StatusCreated)
	// The limited order changed nothing, and a second later the member may order again.
	if b := s.balances(tok); b[programFestival] != [2]string{"276.00", "24.00"} {
		t.Fatalf("balances %v", b)
	}
	s.now.Add(int64(time.Second))
	s.problem(s.do(http.MethodPost, "/api/v1/orders", tok, body(6), "Idempotency-Key", "rl-6"), http.StatusConflict, "limit_exceeded")
}

func TestMyOrders(t *testing.T) {
	s := newShop(t)
	tok := s.member(shopMember, shopUnion)
	var ids []uint64
	for i, sku := range []int64{skuRice, skuOil, skuLimited} {
		o := s.placed(tok, fmt.Sprintf("mine-%d", i), orderBody(shopPoint, "", [2]int64{sku, 1}))
		ids = append(ids, o.OrderID)
	}
	theirs := s.placed(s.member(shopMember2, shopUnion), "theirs", orderBody(shopPoint, "", [2]int64{skuRice, 1}))
	far := s.placed(s.member(shopOtherMember, shopOtherUnion), "far", orderBody(shopPoint, "", [2]int64{skuRice, 1}))

	var list api.WorkerOrderList
	s.do(http.MethodGet, "/api/v1/orders", tok, nil).must(t, http.StatusOK).JSON(t, &list)
	var got []uint64
	for _, o := range list.Orders {
		got = append(got, o.OrderID)
		if o.State != "placed" || o.PickupCode != s.codes.Code(o.OrderID) || o.PickupPointName == "" {
			t.Fatalf("listed order %+v", o)
		}
	}
	if want := []uint64{ids[2], ids[1], ids[0]}; !slices.Equal(got, want) || list.NextCursor != "" {
		t.Fatalf("orders %v next %q, want %v newest first", got, list.NextCursor, want)
	}
	// Pages of two.
	var first, second api.WorkerOrderList
	s.do(http.MethodGet, "/api/v1/orders?limit=2", tok, nil).must(t, http.StatusOK).JSON(t, &first)
	if len(first.Orders) != 2 || first.NextCursor != fmt.Sprint(ids[1]) {
		t.Fatalf("first page %+v", first)
	}
	s.do(http.MethodGet, "/api/v1/orders?limit=2&cursor="+first.NextCursor, tok, nil).must(t, http.StatusOK).JSON(t, &second)
	if len(second.Orders) != 1 || second.Orders[0].OrderID != ids[0] || second.NextCursor != "" {
		t.Fatalf("second page %+v", second)
	}
	s.problem(s.do(http.MethodGet, "/api/v1/orders?cursor="+fmt.Sprint(theirs.OrderID), tok, nil), http.StatusBadRequest, "invalid_cursor")
	s.problem(s.do(http.MethodGet, "/api/v1/orders?cursor=abc", tok, nil), http.StatusBadRequest, "invalid_cursor")
	s.problem(s.do(http.MethodGet, "/api/v1/orders?limit=101", tok, nil), http.StatusBadRequest, "bad_request")

	// One order: mine, not another member's of my union or of another union.
	var one api.WorkerOrder
	s.do(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", ids[1]), tok, nil).must(t, http.StatusOK).JSON(t, &one)
	if one.OrderID != ids[1] || one.Lines[0].SKUID != skuOil {
		t.Fatalf("order %+v", one)
	}
	s.problem(s.do(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", theirs.OrderID), tok, nil), http.StatusNotFound, "unknown_order")
	s.problem(s.do(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", far.OrderID), tok, nil), http.StatusNotFound, "unknown_order")
	s.problem(s.do(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", ids[0]), s.member(shopMember, shopOtherUnion), nil), http.StatusNotFound, "unknown_order")
	for _, bad := range []string{"abc", "0", "-1", "9007199254740992"} {
		s.problem(s.do(http.MethodGet, "/api/v1/orders/"+bad, tok, nil), http.StatusBadRequest, "bad_request")
	}
	// The other members see their own only.
	var list2 api.WorkerOrderList
	s.do(http.MethodGet, "/api/v1/orders", s.member(shopMember2, shopUnion), nil).must(t, http.StatusOK).JSON(t, &list2)
	if len(list2.Orders) != 1 || list2.Orders[0].OrderID != theirs.OrderID {
		t.Fatalf("member 101's orders %+v", list2.Orders)
	}
	// An order placed after the list was first read is at its head.
	newest := s.placed(tok, "mine-3", orderBody(shopPoint, "", [2]int64{skuRice, 1}))
	s.do(http.MethodGet, "/api/v1/orders?limit=1", tok, nil).must(t, http.StatusOK).JSON(t, &list)
	if list.Orders[0].OrderID != newest.OrderID {
		t.Fatalf("newest %d, listed first %d", newest.OrderID, list.Orders[0].OrderID)
	}
}

func TestCancelOrder(t *testing.T) {
	s := newShop(t)
	tok := s.member(shopMember, shopUnion)
	o := s.placed(tok, "to-cancel", orderBody(shopPoint, "", [2]int64{skuOil, 1}))
	path := fmt.Sprintf("/api/v1/orders/%d/cancel", o.OrderID)
	// Not another member's, of this union or another.
	s.problem(s.do(http.MethodPost, path, s.member(shopMember2, shopUnion), nil), http.StatusNotFound, "unknown_order")
	s.problem(s.do(http.MethodPost, path, s.member(shopOtherMember, shopOtherUnion), nil), http.StatusNotFound, "unknown_order")
	s.problem(s.do(http.MethodPost, "/api/v1/orders/77/cancel", tok, nil), http.StatusNotFound, "unknown_order")

	var c api.WorkerOrder
	s.do(http.MethodPost, path, tok, nil).must(t, http.StatusOK).JSON(t, &c)
	if c.State != "cancelled" || c.Reason != "cancelled" || c.PickupCode != "" {
		t.Fatalf("cancelled %+v", c)
	}
	if b := s.balances(tok); b[programFestival] != [2]string{"300.00", "0.00"} || b[programOil] != [2]string{"40.00", "0.00"} {
		t.Fatalf("balances after the cancel %v", b)
	}
	// Cancelling again is the same answer.
	s.do(http.MethodPost, path, tok, nil).must(t, http.StatusOK)

	// After shipment, too late.
	shipped := s.placed(tok, "shipped", orderBody(shopPoint, "", [2]int64{skuRice, 1}))
	s.submit(s.engine.UnionShard(shopUnion), shard.Command{Kind: welfare.ShipOrder, OrderID: welfare.OrderID(shipped.OrderID)})
	s.problem(s.do(http.MethodPost, fmt.Sprintf("/api/v1/orders/%d/cancel", shipped.OrderID), tok, nil), http.StatusConflict, "wrong_order_state")
	var still api.WorkerOrder
	s.do(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", shipped.OrderID), tok, nil).must(t, http.StatusOK).JSON(t, &still)
	if still.State != "shipped" || still.PickupCode == "" {
		t.Fatalf("shipped order %+v", still)
	}
}

// Only members call the workers' endpoints.
func TestWorkerRoles(t *testing.T) {
	s := newShop(t)
	o := s.placed(s.member(shopMember, shopUnion), "roles", orderBody(shopPoint, "", [2]int64{skuRice, 1}))
	endpoints := []struct{ method, path string }{
		{http.MethodGet, "/api/v1/me"}, {http.MethodGet, "/api/v1/catalog"}, {http.MethodPost, "/api/v1/orders"},
		{http.MethodGet, "/api/v1/orders"}, {http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", o.OrderID)},
		{http.MethodPost, fmt.Sprintf("/api/v1/orders/%d/cancel", o.OrderID)}, {http.MethodPost, fmt.Sprintf("/api/v1/orders/%d/pay", o.OrderID)},
	}
	for _, ep := range endpoints {
		for _, tok := range []string{
			s.token(api.RoleOfficer, 7, shopUnion, 0), s.token(api.RoleFederation, 1, 0, 0),
			s.token(api.RoleKeeper, 50, 0, shopPoint), s.token(api.RoleModule, 60, 0, 0),
		} {
			s.problem(s.do(ep.method, ep.path, tok, orderBody(shopPoint, "", [2]int64{skuRice, 1}), "Idempotency-Key", "roles"), http.StatusForbidden, "forbidden")
		}
		s.problem(s.do(ep.method, ep.path, "", nil), http.StatusUnauthorized, "unauthenticated")
		// A signed merchant request is no member either.
		s.problem(s.signed(1, ep.method, ep.path, nil), http.StatusUnauthorized, "unauthenticated")
	}
	var still api.WorkerOrder
	s.do(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", o.OrderID), s.member(shopMember, shopUnion), nil).must(t, http.StatusOK).JSON(t, &still)
	if still.State != "placed" {
		t.Fatalf("other roles changed the order: %+v", still)
	}
}
