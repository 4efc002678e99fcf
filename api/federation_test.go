package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"huigong/api"
	"huigong/engine/shard"
	"huigong/engine/welfare"
	"huigong/mall"
)

func fedToken(h *harness) string { return h.token(api.RoleFederation, 1, 0, 0) }

// fresh empties a value before a JSON decode into it: a decode merges into a map it holds.
func fresh[T any](v *T) *T {
	var zero T
	*v = zero
	return v
}

func TestFederationUnionsAndFunding(t *testing.T) {
	h := newHarness(t)
	fed := fedToken(h)
	var u api.UnionResponse
	h.do(http.MethodPost, "/api/v1/federation/unions", fed, map[string]any{"id": 1, "name": "Hui'an County Federation"}).
		must(t, http.StatusCreated).JSON(t, &u)
	body := map[string]any{"id": 11, "parent_id": 1, "name": "Luocheng Stone Carving Union", "officers": []uint64{7, 8}}
	h.do(http.MethodPost, "/api/v1/federation/unions", fed, body).must(t, http.StatusCreated).JSON(t, &u)
	if u.ID != 11 || u.ParentID != 1 || !slices.Equal(u.Officers, []uint64{7, 8}) || u.Budget.Available != "0.00" || u.MembersCount != 0 {
		t.Fatalf("union %+v", u)
	}
	h.do(http.MethodPost, "/api/v1/federation/unions", fed, body).must(t, http.StatusCreated)
	body["name"] = "Another name"
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/unions", fed, body), http.StatusConflict, "exists_with_different_fields")
	for _, c := range []struct {
		body   any
		status int
		code   string
	}{
		{map[string]any{"id": 12, "parent_id": 99, "name": "x"}, 404, "unknown_union"},
		{map[string]any{"id": 12, "parent_id": 12, "name": "x"}, 422, "invalid_id"},
		{map[string]any{"id": 0, "name": "x"}, 422, "invalid_id"},
		{map[string]any{"id": 12, "name": ""}, 422, "invalid_name"},
		{map[string]any{"id": 12, "name": "x", "officers": []uint64{7, 7}}, 422, "bad_request"},
		{map[string]any{"id": 12, "name": "x", "officers": []uint64{0}}, 422, "invalid_id"},
		{map[string]any{"id": -12, "name": "x"}, 400, "bad_request"},
		{map[string]any{"id": 12, "name": "x", "budget": "5"}, 400, "unknown_field"},
		{`{"id": 12,`, 400, "malformed_json"},
	} {
		offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/unions", fed, c.body), c.status, c.code)
	}
	if _, found, _ := h.engine.UnionSummary(12); found {
		t.Fatal("bad input made union 12")
	}

	// Funding: the Idempotency-Key is the transfer; a retry is answered the same and funds once.
	var f api.FundResponse
	res := h.do(http.MethodPost, "/api/v1/federation/unions/11/fund", fed, map[string]any{"amount": "100000.00"}, "Idempotency-Key", "f1").
		must(t, http.StatusCreated)
	res.JSON(t, &f)
	if f.UnionID != 11 || f.Amount != "100000.00" || f.BudgetAvailable != "100000.00" || f.TransferID == 0 {
		t.Fatalf("fund %+v", f)
	}
	again := h.do(http.MethodPost, "/api/v1/federation/unions/11/fund", fed, map[string]any{"amount": "100000.00"}, "Idempotency-Key", "f1").
		must(t, http.StatusCreated)
	if string(again.Body) != string(res.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry %s %v", again.Body, again.Header)
	}
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/unions/11/fund", fed, map[string]any{"amount": "5.00"}, "Idempotency-Key", "f1"),
		http.StatusConflict, "exists_with_different_fields")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/unions/11/fund", fed, map[string]any{"amount": "5.00"}),
		http.StatusBadRequest, "idempotency_key_required")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/unions/99/fund", fed, map[string]any{"amount": "5.00"}, "Idempotency-Key", "f2"),
		http.StatusNotFound, "unknown_union")
	for i, amount := range []any{"0", "0.00", "-5", "5.001", "1e5", "abc", "", "1000000000001", " 5"} {
		offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/unions/11/fund", fed, map[string]any{"amount": amount},
			"Idempotency-Key", "bad-"+itoa(uint64(i))), http.StatusUnprocessableEntity, "invalid_amount")
	}
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/unions/11/fund", fed, map[string]any{"amount": 5}, "Idempotency-Key", "bad-n"),
		http.StatusBadRequest, "bad_request")
	sum, _, _ := h.engine.UnionSummary(11)
	if sum.BudgetAvailableFen != 100_000_00 {
		t.Fatalf("budget %d after one funding and refusals", sum.BudgetAvailableFen)
	}
	if got := offAudited(h, 11, "fund_union"); len(got) != 2 || got[0].Outcome != "ok" || got[1].Outcome != "exists_with_different_fields" ||
		got[0].Role != "federation_officer" || got[0].Actor != 1 {
		t.Fatalf("funding audited %+v", got)
	}
	if got := offAudited(h, 0, "create_union"); len(got) != 4 {
		t.Fatalf("unions audited %+v", got)
	}
}

func TestFederationConfig(t *testing.T) {
	h := newHarness(t)
	fed := fedToken(h)
	var cfg api.ConfigResponse
	h.do(http.MethodGet, "/api/v1/federation/config", fed, nil).must(t, http.StatusOK).JSON(t, fresh(&cfg))
	if cfg.Version != 1 || cfg.Caps["festival"] != "1300.00" || cfg.Caps["general"] != "" || cfg.ApprovalThreshold != "100000.00" ||
		len(cfg.Festivals) != 21 || cfg.Festivals[1] != (api.FestivalBody{Name: "spring_festival", From: "2026-02-17", To: "2026-02-17"}) {
		t.Fatalf("default config %+v", cfg)
	}
	h.do(http.MethodPut, "/api/v1/federation/caps", fed, map[string]any{"caps": map[string]any{"festival": "2000.00", "birthday": nil, "general": "0"}}).
		must(t, http.StatusOK).JSON(t, fresh(&cfg))
	if cfg.Version != 2 || cfg.Caps["festival"] != "2000.00" || cfg.Caps["general"] != "0.00" || len(cfg.Caps) != 2 {
		t.Fatalf("caps %+v", cfg)
	}
	h.do(http.MethodPut, "/api/v1/federation/calendar", fed, map[string]any{"festivals": []map[string]string{
		{"name": "spring_festival", "from": "2026-02-15", "to": "2026-02-23"}}}).must(t, http.StatusOK).JSON(t, fresh(&cfg))
	if cfg.Version != 3 || len(cfg.Festivals) != 1 || cfg.Festivals[0].To != "2026-02-23" || cfg.Caps["festival"] != "2000.00" {
		t.Fatalf("calendar %+v", cfg)
	}
	h.do(http.MethodPut, "/api/v1/federation/approval-threshold", fed, map[string]any{"amount": "5000"}).must(t, http.StatusOK).JSON(t, fresh(&cfg))
	if cfg.Version != 4 || cfg.ApprovalThreshold != "5000.00" {
		t.Fatalf("threshold %+v", cfg)
	}
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{http.MethodPut, "/api/v1/federation/caps", map[string]any{"caps": map[string]any{"cash": "1"}}, 422, "invalid_category"},
		{http.MethodPut, "/api/v1/federation/caps", map[string]any{"caps": map[string]any{"festival": "-1"}}, 422, "invalid_amount"},
		{http.MethodPut, "/api/v1/federation/caps", map[string]any{"caps": map[string]any{"festival": "1.234"}}, 422, "invalid_amount"},
		{http.MethodPut, "/api/v1/federation/caps", map[string]any{"caps": map[string]any{"festival": 1300}}, 400, "bad_request"},
		{http.MethodPut, "/api/v1/federation/caps", map[string]any{"limits": map[string]any{}}, 400, "unknown_field"},
		{http.MethodPut, "/api/v1/federation/calendar", map[string]any{"festivals": []map[string]string{{"name": "x", "from": "2026-02-30", "to": "2026-03-01"}}}, 422, "invalid_date"},
		{http.MethodPut, "/api/v1/federation/calendar", map[string]any{"festivals": []map[string]string{{"name": "x", "from": "2026-02-17T00:00:00+08:00", "to": "2026-02-18"}}}, 422, "invalid_date"},
		{http.MethodPut, "/api/v1/federation/calendar", map[string]any{"festivals": []map[string]string{{"name": "x", "from": "2026-02-18", "to": "2026-02-17"}}}, 422, "invalid_window"},
		{http.MethodPut, "/api/v1/federation/calendar", map[string]any{"festivals": []map[string]string{{"name": "", "from": "2026-02-17", "to": "2026-02-17"}}}, 422, "invalid_name"},
		{http.MethodPut, "/api/v1/federation/approval-threshold", map[string]any{"amount": "-1"}, 422, "invalid_amount"},
		{http.MethodPut, "/api/v1/federation/approval-threshold", map[string]any{"amount": "a lot"}, 422, "invalid_amount"},
		{http.MethodPut, "/api/v1/federation/approval-threshold", "{", 400, "malformed_json"},
	} {
		offMustProblem(t, h.do(c.method, c.path, fed, c.body), c.status, c.code)
	}
	h.do(http.MethodGet, "/api/v1/federation/config", fed, nil).must(t, http.StatusOK).JSON(t, fresh(&cfg))
	if cfg.Version != 4 {
		t.Fatalf("bad input set version %d", cfg.Version)
	}
	// The directory shard broadcasts each version to every shard.
	deadline := time.Now().Add(5 * time.Second)
	for s := 0; s < testShards; s++ {
		for {
			var v uint64
			var festivalCap int64
			_ = h.engine.Read(uint32(s), func(st *welfare.State) {
				v, festivalCap = st.Config().Version, st.Config().CapsFen[welfare.CategoryFestival]
			})
			if v == 4 && festivalCap == 2000_00 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("shard %d holds version %d", s, v)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for _, action := range []string{"set_caps", "set_calendar", "set_approval_threshold"} {
		if got := offAudited(h, 0, action); len(got) != 1 || got[0].Outcome != "ok" || got[0].Role != "federation_officer" {
			t.Fatalf("%s audited %+v", action, got)
		}
	}
}

func TestFederationCampaigns(t *testing.T) {
	h := newHarness(t)
	fed := fedToken(h)
	var c1, c2 api.CampaignBody
	body := map[string]any{"name": "New Year goods festival", "from": "2026-02-01", "to": "2026-02-18", "discount": "7", "unions": []uint64{11, 12},
		"sku_ids": []uint64{900}}
	h.do(http.MethodPost, "/api/v1/federation/campaigns", fed, body).must(t, http.StatusCreated).JSON(t, &c1)
	if c1.ID != 1 || c1.DiscountBps != 700 || c1.Discount != "7" || c1.From != "2026-02-01T00:00:00+08:00" || !slices.Equal(c1.Unions, []uint64{11, 12}) {
		t.Fatalf("campaign %+v", c1)
	}
	h.do(http.MethodPost, "/api/v1/federation/campaigns", fed, map[string]any{"name": "Labour day", "from": "2026-04-28", "to": "2026-05-06", "discount": "7.5"}).
		must(t, http.StatusCreated).JSON(t, &c2)
	if c2.ID != 2 || c2.DiscountBps != 750 || c2.Discount != "7.5" || len(c2.Unions) != 0 || len(c2.SKUIDs) != 0 {
		t.Fatalf("campaign %+v", c2)
	}
	// The same campaign again under its id is a retry; other fields under it are refused.
	body["id"] = 1
	var again api.CampaignBody
	h.do(http.MethodPost, "/api/v1/federation/campaigns", fed, body).must(t, http.StatusCreated).JSON(t, &again)
	if again.ID != 1 || again.DiscountBps != 700 {
		t.Fatalf("retry %+v", again)
	}
	body["discount"] = "8"
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/campaigns", fed, body), http.StatusConflict, "exists_with_different_fields")
	for _, d := range []any{"0", "100", "7.555", "-1", "abc", "", "7.", ".5", "1e1", "007"} {
		b := map[string]any{"name": "x", "from": "2026-02-01", "to": "2026-02-18", "discount": d}
		offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/campaigns", fed, b), http.StatusUnprocessableEntity, "invalid_discount")
	}
	for _, c := range []struct {
		body   map[string]any
		status int
		code   string
	}{
		{map[string]any{"name": "x", "from": "2026-02-18", "to": "2026-02-01", "discount": "7"}, 422, "invalid_window"},
		{map[string]any{"name": "x", "from": "soon", "to": "2026-02-01", "discount": "7"}, 422, "invalid_date"},
		{map[string]any{"name": "x", "from": "2026-02-01", "to": "2026-02-18", "discount": 7}, 400, "bad_request"},
		{map[string]any{"name": "x", "from": "2026-02-01", "to": "2026-02-18", "discount": "7", "unions": []uint64{0}}, 422, "invalid_id"},
		{map[string]any{"name": " ", "from": "2026-02-01", "to": "2026-02-18", "discount": "7"}, 422, "invalid_name"},
	} {
		offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/campaigns", fed, c.body), c.status, c.code)
	}
	var list api.CampaignList
	h.do(http.MethodGet, "/api/v1/federation/campaigns?limit=1", fed, nil).must(t, http.StatusOK).JSON(t, &list)
	if len(list.Campaigns) != 1 || list.Campaigns[0].ID != 1 || list.NextCursor != "1" {
		t.Fatalf("first page %+v", list)
	}
	h.do(http.MethodGet, "/api/v1/federation/campaigns?cursor=1", fed, nil).must(t, http.StatusOK).JSON(t, &list)
	if len(list.Campaigns) != 1 || list.Campaigns[0].ID != 2 || list.NextCursor != "" {
		t.Fatalf("second page %+v", list)
	}
	// The campaigns are in the configuration every shard prices with.
	var campaigns int
	_ = h.engine.Read(mall.DirectoryShard, func(st *welfare.State) { campaigns = len(st.Config().Campaigns) })
	if campaigns != 2 {
		t.Fatalf("%d campaigns in the configuration", campaigns)
	}
	if got := offAudited(h, 0, "create_campaign"); len(got) != 2 {
		t.Fatalf("campaigns audited %+v", got)
	}
}

func TestFederationMerchantsAndPickupPoints(t *testing.T) {
	h := newHarness(t)
	fed := fedToken(h)
	var m api.MerchantBody
	h.do(http.MethodPost, "/api/v1/federation/merchants", fed, map[string]any{"id": 1, "name": "Minnan Grain & Oil"}).must(t, http.StatusCreated).JSON(t, &m)
	if m != (api.MerchantBody{ID: 1, Name: "Minnan Grain & Oil"}) {
		t.Fatalf("merchant %+v", m)
	}
	h.do(http.MethodPost, "/api/v1/federation/merchants", fed, map[string]any{"id": 2, "name": "Quanzhou Tea"}).must(t, http.StatusCreated)
	h.do(http.MethodPost, "/api/v1/federation/merchants/1/approve", fed, nil).must(t, http.StatusOK).JSON(t, &m)
	if !m.Approved {
		t.Fatalf("approved %+v", m)
	}
	if ok, _ := h.engine.MerchantApproved(1); !ok {
		t.Fatal("the directory does not hold the approval")
	}
	// A rename keeps the approval.
	h.do(http.MethodPost, "/api/v1/federation/merchants", fed, map[string]any{"id": 1, "name": "Minnan Grain and Oil"}).must(t, http.StatusCreated).JSON(t, &m)
	if !m.Approved || m.Name != "Minnan Grain and Oil" {
		t.Fatalf("renamed %+v", m)
	}
	var list api.MerchantList
	h.do(http.MethodGet, "/api/v1/federation/merchants?limit=1", fed, nil).must(t, http.StatusOK).JSON(t, &list)
	if len(list.Merchants) != 1 || list.NextCursor != "1" {
		t.Fatalf("first page %+v", list)
	}
	h.do(http.MethodGet, "/api/v1/federation/merchants?cursor=1", fed, nil).must(t, http.StatusOK).JSON(t, &list)
	if len(list.Merchants) != 1 || list.Merchants[0] != (api.MerchantBody{ID: 2, Name: "Quanzhou Tea"}) || list.NextCursor != "" {
		t.Fatalf("second page %+v", list)
	}
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/merchants/9/approve", fed, nil), http.StatusNotFound, "unknown_merchant")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/merchants", fed, map[string]any{"id": 0, "name": "x"}), http.StatusUnprocessableEntity, "invalid_id")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/merchants", fed, map[string]any{"id": 3, "name": ""}), http.StatusUnprocessableEntity, "invalid_name")
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/federation/merchants?cursor=-1", fed, nil), http.StatusBadRequest, "invalid_cursor")
	if got := offAudited(h, 0, "register_merchant"); len(got) != 3 {
		t.Fatalf("merchants audited %+v", got)
	}
	if got := offAudited(h, 0, "approve_merchant"); len(got) != 1 || got[0].Target != "merchant:1" {
		t.Fatalf("approval audited %+v", got)
	}

	h.submit(h.engine.UnionShard(11), shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 11, Name: "Union 11"}})
	var p api.PickupPointBody
	h.do(http.MethodPost, "/api/v1/federation/pickup-points", fed, map[string]any{"id": 3, "name": "Luocheng Workers e-Home", "unions": []uint64{11},
		"keepers": []uint64{50}}).must(t, http.StatusCreated).JSON(t, &p)
	if p.ID != 3 || !slices.Equal(p.Unions, []uint64{11}) || !slices.Equal(p.Keepers, []uint64{50}) {
		t.Fatalf("pickup point %+v", p)
	}
	var got welfare.PickupPoint
	_ = h.engine.Read(mall.DirectoryShard, func(st *welfare.State) {
		if pp, ok := st.PickupPoint(3); ok {
			got = *pp
		}
	})
	if got.Name != "Luocheng Workers e-Home" || len(got.Keepers) != 1 {
		t.Fatalf("directory %+v", got)
	}
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/pickup-points", fed, map[string]any{"id": 4, "name": "x", "unions": []uint64{99}}),
		http.StatusNotFound, "unknown_union")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/pickup-points", fed, map[string]any{"id": 0, "name": "x"}),
		http.StatusUnprocessableEntity, "invalid_id")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/federation/pickup-points", fed, map[string]any{"id": 4, "name": "x", "keepers": []uint64{5, 5}}),
		http.StatusUnprocessableEntity, "bad_request")
	if got := offAudited(h, 0, "set_pickup_point"); len(got) != 1 || got[0].Target != "pickup_point:3" {
		t.Fatalf("pickup points audited %+v", got)
	}
}

func TestFederationDashboard(t *testing.T) {
	r := newOffRig(t)
	h := r.h
	r.create(t, offProgram(5, "300.00"))
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/issue", r.maker, map[string]any{"members": []uint64{100, 101, 102}}).must(t, http.StatusOK)
	offShop(t, h)
	var d api.DashboardResponse
	h.do(http.MethodGet, "/api/v1/federation/dashboard", fedToken(h), nil).must(t, http.StatusOK).JSON(t, &d)
	if d.MembersReached != 3 || d.Value != "240.00" || d.Orders["handed_out"] != 1 || len(d.Orders) != 1 || len(d.Unions) != 2 {
		t.Fatalf("dashboard %+v", d)
	}
	if u := d.Unions[0]; u.UnionID != 11 || u.Name != "Union 11" || u.MembersReached != 3 || u.Value != "240.00" || u.Orders["handed_out"] != 1 {
		t.Fatalf("union 11 %+v", u)
	}
	if u := d.Unions[1]; u.UnionID != 12 || u.MembersReached != 0 || u.Value != "0.00" || len(u.Orders) != 0 {
		t.Fatalf("union 12 %+v", u)
	}
}

// Every federation route refuses officers, members, keepers and modules.
func TestFederationRoutesAuthorization(t *testing.T) {
	h := newHarness(t)
	tokens := map[string]string{
		"officer": h.token(api.RoleOfficer, 7, 11, 0),
		"member":  h.token(api.RoleMember, 100, 11, 0),
		"keeper":  h.token(api.RoleKeeper, 50, 0, 3),
		"module":  h.token(api.RoleModule, 60, 0, 0),
	}
	routes := 0
	for _, rt := range h.server.Routes() {
		if !strings.HasPrefix(rt.Path, "/api/v1/federation/") {
			continue
		}
		routes++
		if !slices.Equal(rt.Roles, []api.Role{api.RoleFederation}) {
			t.Errorf("%s %s: roles %v", rt.Method, rt.Path, rt.Roles)
		}
		path := strings.NewReplacer(":union", "11", ":merchant", "1").Replace(rt.Path)
		for who, tok := range tokens {
			if p := h.do(rt.Method, path, tok, nil).Problem(t); p.Status != http.StatusForbidden || p.Code != "forbidden" {
				t.Errorf("%s %s as %s: %+v", rt.Method, path, who, p)
			}
		}
		offMustProblem(t, h.do(rt.Method, path, "", nil), http.StatusUnauthorized, "unauthenticated")
	}
	if routes != 13 {
		t.Fatalf("%d federation routes", routes)
	}
	if all, _ := h.audit.Entries(0); len(all) != 0 {
		t.Fatalf("refused callers were audited as changes: %+v", all)
	}
}
