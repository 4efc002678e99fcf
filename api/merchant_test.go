package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"huigong/api"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

// partnerRig is the shared harness with a server that also runs webhooks, and with the
// fulfilment kept, so a test can move deliveries on as a pickup-point keeper would.
type partnerRig struct {
	*harness
	ful   *mall.Fulfilment
	hooks *api.Webhooks
}

func newPartnerRig(t *testing.T, o api.WebhookOptions) *partnerRig {
	t.Helper()
	h := newHarness(t)
	r := &partnerRig{harness: h, ful: mall.NewFulfilment(h.engine, h.codes)}
	if o.Now == nil {
		o.Now = h.wall
	}
	r.hooks = api.NewWebhooks(h.engine.Stream(), o)
	keys := api.StaticMerchantKeys{}
	for m, secret := range h.secrets {
		id := "merchant-" + strconv.FormatUint(m, 10)
		keys[id] = api.MerchantKey{KeyID: id, MerchantID: m, Secret: secret}
	}
	h.server = api.New(api.Deps{
		Engine: h.engine, Fulfilment: r.ful, Codes: h.codes,
		Tokens:    h.verifier(),
		Merchants: keys, Audit: h.audit, Now: h.wall, Webhooks: r.hooks,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.hooks.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// partnerApprove puts merchants in the federation's directory, approved or not.
func partnerApprove(h *harness, approved bool, ms ...uint64) {
	for _, m := range ms {
		h.submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetMerchant,
			Merchant: welfare.Merchant{ID: welfare.MerchantID(m), Name: "merchant " + itoa(m), Approved: approved}})
	}
}

// partnerUnion sets up union 11 with officer 7, members 100 and 101, a budget, a festival
// program 5 issued with 300 yuan each, and an activity program 60 (not issued).
func partnerUnion(h *harness) {
	e := h.engine
	us := e.UnionShard(11)
	h.submit(us, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 11, Officers: []welfare.OfficerID{7}}})
	for _, m := range []welfare.MemberID{100, 101} {
		h.submit(us, shard.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: 11, Registered: true, DuesPaid: true})
	}
	h.submit(us, shard.Command{Kind: welfare.FundUnion, UnionID: 11, TransferID: 1, AmountFen: 10_000_00})
	from, to := welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 1)), welfare.DayStartNanos(welfare.DaysFromCivil(2026, 3, 1))
	h.submit(us, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{ID: 5, UnionID: 11, Name: "New Year",
		Category: welfare.CategoryFestival, AmountPerMemberFen: 300_00, FromNanos: from, ToNanos: to}})
	h.submit(us, shard.Command{Kind: welfare.Issue, ProgramID: 5, Officer: 7})
	h.submit(us, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{ID: 60, UnionID: 11, Name: "Activities",
		Category: welfare.CategoryActivity, FromNanos: from, ToNanos: to}})
}

// partnerPutSKU creates a listed SKU of a merchant through the API, with stock.
func partnerPutSKU(t *testing.T, h *harness, m, id uint64, price string, units int64) api.PartnerSKU {
	t.Helper()
	var out api.PartnerSKU
	h.signed(m, http.MethodPut, "/api/v1/partner/skus/"+itoa(id), api.PartnerSKURequest{Name: "sku " + itoa(id), Category: "food",
		Price: price, Listed: true}).must(t, http.StatusOK).JSON(t, &out)
	if units > 0 {
		h.signed(m, http.MethodPost, "/api/v1/partner/skus/"+itoa(id)+"/stock", api.PartnerQuantity{Quantity: units}).must(t, http.StatusOK).JSON(t, &out)
	}
	return out
}

// partnerCheckout places an order through the engine and requires it placed.
func partnerCheckout(t *testing.T, h *harness, member welfare.MemberID, id welfare.OrderID, lines ...welfare.OrderLine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.engine.Checkout(ctx, member, 11, &welfare.OrderRequest{ID: id, PickupPointID: 3, Lines: lines})
	if err != nil || out.State != welfare.OrderPlaced {
		t.Fatalf("checkout %d: %+v %v", id, out, err)
	}
}

func partnerSKUState(t *testing.T, h *harness, id uint64) stock.SKU {
	t.Helper()
	sk, _ := h.engine.SKU(stock.SKUID(id))
	return sk
}

func partnerAudits(h *harness, action string) []api.AuditEntry {
	all, _ := h.audit.Entries(0)
	var out []api.AuditEntry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func problemCode(t *testing.T, r response, status int, code string) {
	t.Helper()
	r.must(t, status)
	if p := r.Problem(t); p.Code != code {
		t.Fatalf("problem %+v, want code %s", p, code)
	}
}

func TestPartnerSKUs(t *testing.T) {
	h := newHarness(t)
	partnerApprove(h, true, 1, 2)
	partnerApprove(h, false, 3)

	var sk api.PartnerSKU
	h.signed(1, http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Name: "Rice 5kg", ProductID: 77, ProductName: "Rice",
		Category: "food", Price: "59.90", Listed: true, SaleFrom: "2026-02-10", SaleTo: "2026-02-20T12:00:00+08:00", LimitPerMember: 2}).
		must(t, http.StatusOK).JSON(t, &sk)
	if sk.SKUID != 9001 || sk.Price != "59.90" || !sk.Listed || sk.LimitPerMember != 2 || sk.ProductID != 77 ||
		sk.SaleFrom != "2026-02-10T00:00:00+08:00" || sk.SaleTo != "2026-02-20T12:00:00+08:00" || sk.Units != (api.PartnerUnits{}) {
		t.Fatalf("sku %+v", sk)
	}
	if got := partnerSKUState(t, h, 9001); got.MerchantID != 1 || got.PriceFen != 59_90 {
		t.Fatalf("engine sku %+v", got)
	}
	if a := partnerAudits(h, "set_sku"); len(a) != 1 || a[0].Role != "merchant" || a[0].Actor != 1 || a[0].Target != "sku:9001" || a[0].Outcome != "ok" {
		t.Fatalf("audit %+v", a)
	}

	// Another merchant may not take the id; an unapproved merchant may not list at all.
	problemCode(t, h.signed(2, http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Name: "Mine", Category: "food", Price: "1.00"}),
		http.StatusConflict, "sku_owned_by_another_merchant")
	problemCode(t, h.signed(3, http.MethodPut, "/api/v1/partner/skus/9100", api.PartnerSKURequest{Name: "x", Category: "food", Price: "1.00"}),
		http.StatusForbidden, "merchant_not_approved")
	if _, ok := h.engine.SKU(9100); ok {
		t.Fatal("an unapproved merchant created a SKU")
	}
	if got := partnerSKUState(t, h, 9001); got.MerchantID != 1 || got.Name != "Rice 5kg" {
		t.Fatalf("merchant 2 changed merchant 1's SKU: %+v", got)
	}

	// Stock, with an Idempotency-Key that makes a retry safe.
	h.signed(1, http.MethodPost, "/api/v1/partner/skus/9001/stock", api.PartnerQuantity{Quantity: 10}).must(t, http.StatusOK).JSON(t, &sk)
	if sk.Units.Received != 10 || sk.Units.Available != 10 {
		t.Fatalf("units %+v", sk.Units)
	}
	for i := 0; i < 2; i++ {
		r := h.signedHeaders(1, http.MethodPost, "/api/v1/partner/skus/9001/stock", api.PartnerQuantity{Quantity: 5}, "Idempotency-Key", "delivery-note-1")
		r.must(t, http.StatusOK).JSON(t, &sk)
		if sk.Units.Received != 15 || (i == 1) != (r.Header.Get("Idempotent-Replayed") == "true") {
			t.Fatalf("attempt %d: units %+v, header %q", i, sk.Units, r.Header.Get("Idempotent-Replayed"))
		}
	}
	if got := partnerSKUState(t, h, 9001); got.Units.Received != 15 {
		t.Fatalf("a retried receipt counted twice: %+v", got.Units)
	}
	if a := partnerAudits(h, "receive_stock"); len(a) != 2 {
		t.Fatalf("receive audits %+v", a)
	}

	// Restock needs returned units.
	problemCode(t, h.signed(1, http.MethodPost, "/api/v1/partner/skus/9001/restock", api.PartnerQuantity{Quantity: 1}),
		http.StatusUnprocessableEntity, "invalid_quantity")

	// Price.
	h.signed(1, http.MethodPatch, "/api/v1/partner/skus/9001/price", api.PartnerPrice{Price: "12.5"}).must(t, http.StatusOK).JSON(t, &sk)
	if sk.Price != "12.50" || sk.Name != "Rice 5kg" || sk.LimitPerMember != 2 || sk.Units.Received != 15 {
		t.Fatalf("after the price change %+v", sk)
	}
	if a := partnerAudits(h, "set_price"); len(a) != 1 {
		t.Fatalf("price audits %+v", a)
	}

	// Merchant 2 acts on merchant 1's SKU: not found, nothing changed. So is an unknown SKU.
	before := partnerSKUState(t, h, 9001)
	for _, r := range []response{
		h.signed(2, http.MethodPost, "/api/v1/partner/skus/9001/stock", api.PartnerQuantity{Quantity: 1}),
		h.signed(2, http.MethodPost, "/api/v1/partner/skus/9001/restock", api.PartnerQuantity{Quantity: 1}),
		h.signed(2, http.MethodPatch, "/api/v1/partner/skus/9001/price", api.PartnerPrice{Price: "0.01"}),
		h.signed(1, http.MethodPost, "/api/v1/partner/skus/4242/stock", api.PartnerQuantity{Quantity: 1}),
		h.signed(1, http.MethodPatch, "/api/v1/partner/skus/4242/price", api.PartnerPrice{Price: "1.00"}),
	} {
		problemCode(t, r, http.StatusNotFound, "unknown_sku")
	}
	if after := partnerSKUState(t, h, 9001); after != before {
		t.Fatalf("another merchant changed the SKU: %+v -> %+v", before, after)
	}

	// Lists: own SKUs only, paged by cursor.
	for _, id := range []uint64{9002, 9003} {
		partnerPutSKU(t, h, 1, id, "3.00", 0)
	}
	partnerPutSKU(t, h, 2, 9500, "3.00", 0)
	var page api.PartnerSKUList
	h.signed(1, http.MethodGet, "/api/v1/partner/skus?limit=2", nil).must(t, http.StatusOK).JSON(t, &page)
	if len(page.SKUs) != 2 || page.SKUs[0].SKUID != 9001 || page.SKUs[1].SKUID != 9002 || page.NextCursor != "9002" {
		t.Fatalf("page 1 %+v", page)
	}
	h.signed(1, http.MethodGet, "/api/v1/partner/skus?limit=2&cursor="+page.NextCursor, nil).must(t, http.StatusOK).JSON(t, &page)
	if len(page.SKUs) != 1 || page.SKUs[0].SKUID != 9003 || page.NextCursor != "" {
		t.Fatalf("page 2 %+v", page)
	}
	h.signed(2, http.MethodGet, "/api/v1/partner/skus", nil).must(t, http.StatusOK).JSON(t, &page)
	if len(page.SKUs) != 1 || page.SKUs[0].SKUID != 9500 {
		t.Fatalf("merchant 2 sees %+v", page)
	}
	h.signed(3, http.MethodGet, "/api/v1/partner/skus", nil).must(t, http.StatusOK).JSON(t, &page)
	if len(page.SKUs) != 0 {
		t.Fatalf("merchant 3 sees %+v", page)
	}
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/skus?cursor=abc", nil), http.StatusBadRequest, "invalid_cursor")
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/skus?limit=0", nil), http.StatusBadRequest, "bad_request")
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/skus?limit=501", nil), http.StatusBadRequest, "bad_request")

	// A token is not a merchant signature.
	problemCode(t, h.do(http.MethodGet, "/api/v1/partner/skus", h.token(api.RoleFederation, 1, 0, 0), nil), http.StatusUnauthorized, "bad_signature")
}

// Bad input is refused with a stable code and changes nothing.
func TestPartnerBadInput(t *testing.T) {
	h := newHarness(t)
	partnerApprove(h, true, 1)
	partnerPutSKU(t, h, 1, 9001, "10.00", 5)
	before := partnerSKUState(t, h, 9001)
	audits, _ := h.audit.Entries(0)

	long := make([]byte, 201)
	for i := range long {
		long[i] = 'a'
	}
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		status int
		code   string
	}{
		{"negative quantity", http.MethodPost, "/api/v1/partner/skus/9001/stock", `{"quantity":-3}`, 422, "invalid_quantity"},
		{"zero quantity", http.MethodPost, "/api/v1/partner/skus/9001/stock", `{"quantity":0}`, 422, "invalid_quantity"},
		{"huge quantity", http.MethodPost, "/api/v1/partner/skus/9001/stock", `{"quantity":2000000000000}`, 422, "invalid_quantity"},
		{"overflowing quantity", http.MethodPost, "/api/v1/partner/skus/9001/stock", `{"quantity":99999999999999999999}`, 400, "bad_request"},
		{"quantity as a string", http.MethodPost, "/api/v1/partner/skus/9001/stock", `{"quantity":"3"}`, 400, "bad_request"},
		{"negative restock", http.MethodPost, "/api/v1/partner/skus/9001/restock", `{"quantity":-1}`, 422, "invalid_quantity"},
		{"unknown field", http.MethodPost, "/api/v1/partner/skus/9001/stock", `{"quantity":1,"extra":true}`, 400, "unknown_field"},
		{"malformed JSON", http.MethodPost, "/api/v1/partner/skus/9001/stock", `{"quantity":`, 400, "malformed_json"},
		{"trailing data", http.MethodPost, "/api/v1/partner/skus/9001/stock", `{"quantity":1}{}`, 400, "malformed_json"},
		{"empty body", http.MethodPost, "/api/v1/partner/skus/9001/stock", ``, 415, "unsupported_media_type"},
		{"price with letters", http.MethodPatch, "/api/v1/partner/skus/9001/price", `{"price":"abc"}`, 422, "invalid_amount"},
		{"negative price", http.MethodPatch, "/api/v1/partner/skus/9001/price", `{"price":"-1.00"}`, 422, "invalid_amount"},
		{"zero price", http.MethodPatch, "/api/v1/partner/skus/9001/price", `{"price":"0"}`, 422, "invalid_amount"},
		{"three decimals", http.MethodPatch, "/api/v1/partner/skus/9001/price", `{"price":"1.001"}`, 422, "invalid_amount"},
		{"exponent", http.MethodPatch, "/api/v1/partner/skus/9001/price", `{"price":"1e3"}`, 422, "invalid_amount"},
		{"overflowing price", http.MethodPatch, "/api/v1/partner/skus/9001/price", `{"price":"99999999999999999999"}`, 422, "invalid_amount"},
		{"price as a number", http.MethodPatch, "/api/v1/partner/skus/9001/price", `{"price":12.5}`, 400, "bad_request"},
		{"no name", http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Category: "food", Price: "1.00"}, 422, "invalid_text"},
		{"long name", http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Name: string(long), Category: "food", Price: "1.00"}, 422, "invalid_text"},
		{"control character", http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Name: "a\x00b", Category: "food", Price: "1.00"}, 422, "invalid_text"},
		{"no category", http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Name: "x", Price: "1.00"}, 422, "invalid_text"},
		{"bad SKU price", http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Name: "x", Category: "food", Price: "1,00"}, 422, "invalid_amount"},
		{"negative limit", http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Name: "x", Category: "food", Price: "1.00", LimitPerMember: -1}, 422, "invalid_quantity"},
		{"bad sale date", http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Name: "x", Category: "food", Price: "1.00", SaleFrom: "tomorrow"}, 422, "invalid_window"},
		{"window backwards", http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Name: "x", Category: "food", Price: "1.00", SaleFrom: "2026-03-01", SaleTo: "2026-02-01"}, 422, "invalid_window"},
		{"product id too large", http.MethodPut, "/api/v1/partner/skus/9001", api.PartnerSKURequest{Name: "x", Category: "food", Price: "1.00", ProductID: 1 << 53}, 422, "invalid_id"},
		{"SKU id not a number", http.MethodPost, "/api/v1/partner/skus/abc/stock", `{"quantity":1}`, 400, "bad_request"},
		{"SKU id zero", http.MethodPut, "/api/v1/partner/skus/0", api.PartnerSKURequest{Name: "x", Category: "food", Price: "1.00"}, 400, "bad_request"},
		{"SKU id too large", http.MethodPut, "/api/v1/partner/skus/9007199254740992", api.PartnerSKURequest{Name: "x", Category: "food", Price: "1.00"}, 400, "bad_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var raw []byte
			switch b := tc.body.(type) {
			case string:
				raw = []byte(b)
			default:
				raw, _ = json.Marshal(b)
			}
			var r response
			if len(raw) == 0 {
				r = h.signedRaw(1, tc.method, tc.path, nil, nil)
			} else {
				r = h.signedRaw(1, tc.method, tc.path, raw, raw, "Content-Type", "application/json")
			}
			problemCode(t, r, tc.status, tc.code)
		})
	}
	if after := partnerSKUState(t, h, 9001); after != before {
		t.Fatalf("bad input changed the SKU: %+v -> %+v", before, after)
	}
	if after, _ := h.audit.Entries(0); len(after) != len(audits) {
		t.Fatalf("bad input was audited as a change: %+v", after[len(audits):])
	}
}

// Stale, replayed, forged and tampered signatures are refused with 401 and change nothing.
func TestPartnerSignatures(t *testing.T) {
	h := newHarness(t)
	partnerApprove(h, true, 1)
	partnerPutSKU(t, h, 1, 9001, "10.00", 5)
	before := partnerSKUState(t, h, 9001)
	body := []byte(`{"quantity":7}`)
	path := "/api/v1/partner/skus/9001/stock"
	now := h.wall()

	req := func(p partnerSig) response {
		t.Helper()
		return h.do(http.MethodPost, path, "", p.body(body), p.headers(h, body, now)...)
	}
	cases := []struct {
		name string
		sig  partnerSig
		code string
	}{
		{"stale by six minutes", partnerSig{at: -6 * time.Minute}, "stale_signature"},
		{"six minutes ahead", partnerSig{at: 6 * time.Minute}, "stale_signature"},
		{"timestamp not a number", partnerSig{timestamp: "yesterday"}, "stale_signature"},
		{"forged signature", partnerSig{forge: true}, "bad_signature"},
		{"signed with another merchant's secret", partnerSig{secretOf: 2}, "bad_signature"},
		{"unknown key", partnerSig{keyID: "merchant-9"}, "bad_signature"},
		{"missing key", partnerSig{drop: api.HeaderKeyID}, "bad_signature"},
		{"missing timestamp", partnerSig{drop: api.HeaderTimestamp}, "bad_signature"},
		{"missing nonce", partnerSig{drop: api.HeaderNonce}, "bad_signature"},
		{"missing signature", partnerSig{drop: api.HeaderSignature}, "bad_signature"},
		{"body tampered after signing", partnerSig{tamper: []byte(`{"quantity":700}`)}, "bad_signature"},
		{"signed for another path", partnerSig{path: "/api/v1/partner/skus/9002/stock"}, "bad_signature"},
		{"signed for another method", partnerSig{method: http.MethodPut}, "bad_signature"},
		{"nonce too long", partnerSig{nonce: strings.Repeat("n", 65)}, "bad_signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { problemCode(t, req(tc.sig), http.StatusUnauthorized, tc.code) })
	}
	// A replay: the first use goes through, the same nonce again is refused.
	once := partnerSig{nonce: "replay-me"}
	req(once).must(t, http.StatusOK)
	problemCode(t, req(once), http.StatusUnauthorized, "replayed_nonce")
	if after := partnerSKUState(t, h, 9001); after.Units.Received != before.Units.Received+7 {
		t.Fatalf("units %+v, want only the one signed request received", after.Units)
	}
	if a := partnerAudits(h, "receive_stock"); len(a) != 2 {
		t.Fatalf("receive audits %+v", a)
	}
}

// partnerSig describes one way to sign (or mis-sign) a request of merchant 1.
type partnerSig struct {
	at        time.Duration // timestamp offset from now
	timestamp string        // instead of the computed one
	forge     bool
	secretOf  uint64
	keyID     string
	drop      string
	tamper    []byte // sent instead of the signed body
	path      string // signed instead of the real path
	method    string // signed instead of the real method
	nonce     string
}

func (p partnerSig) body(signed []byte) []byte {
	if p.tamper != nil {
		return p.tamper
	}
	return signed
}

func (p partnerSig) headers(h *harness, body []byte, now time.Time) []string {
	ts := strconv.FormatInt(now.Add(p.at).Unix(), 10)
	if p.timestamp != "" {
		ts = p.timestamp
	}
	nonce := p.nonce
	if nonce == "" {
		nonce = "sig-" + strconv.FormatUint(h.nonce.Add(1), 10)
	}
	secret := h.secrets[1]
	if p.secretOf != 0 {
		secret = h.secrets[p.secretOf]
	}
	path, method := "/api/v1/partner/skus/9001/stock", http.MethodPost
	if p.path != "" {
		path = p.path
	}
	if p.method != "" {
		method = p.method
	}
	sig := api.Sign(secret, method, path, ts, nonce, body)
	if p.forge {
		sig = "00" + sig[2:]
	}
	keyID := "merchant-1"
	if p.keyID != "" {
		keyID = p.keyID
	}
	hs := []string{api.HeaderKeyID, keyID, api.HeaderTimestamp, ts, api.HeaderNonce, nonce, api.HeaderSignature, sig}
	out := []string{}
	for i := 0; i < len(hs); i += 2 {
		if hs[i] != p.drop {
			out = append(out, hs[i], hs[i+1])
		}
	}
	return out
}

// signedHeaders is signed with extra headers.
func (h *harness) signedHeaders(merchant uint64, method, path string, body any, extra ...string) response {
	h.t.Helper()
	raw, _ := json.Marshal(body)
	return h.signedRaw(merchant, method, path, raw, raw, append([]string{"Content-Type", "application/json"}, extra...)...)
}

// signedRaw signs signedBody and sends sentBody (nil: no body) with extra headers.
func (h *harness) signedRaw(merchant uint64, method, path string, signedBody, sentBody []byte, extra ...string) response {
	h.t.Helper()
	ts := strconv.FormatInt(h.wall().Unix(), 10)
	nonce := "raw-" + strconv.FormatUint(h.nonce.Add(1), 10)
	sig := api.Sign(h.secrets[merchant], method, path, ts, nonce, signedBody)
	headers := append([]string{api.HeaderKeyID, "merchant-" + itoa(merchant), api.HeaderTimestamp, ts,
		api.HeaderNonce, nonce, api.HeaderSignature, sig}, extra...)
	var b any
	if sentBody != nil {
		b = sentBody
	}
	return h.do(method, path, "", b, headers...)
}

// Two merchants' orders: each merchant's feed holds only its own lines, resumes from its
// cursor, and is the same whether pulled in one page or many; deliveries ship only by their
// merchant; the statement shows what was handed out.
func TestPartnerOrdersDeliveriesStatement(t *testing.T) {
	r := newPartnerRig(t, api.WebhookOptions{})
	h := r.harness
	partnerApprove(h, true, 1, 2)
	partnerUnion(h)
	partnerPutSKU(t, h, 1, 9001, "50.00", 10)
	partnerPutSKU(t, h, 2, 9002, "80.00", 10)

	var feed api.PartnerOrderFeed
	h.signed(1, http.MethodGet, "/api/v1/partner/orders", nil).must(t, http.StatusOK).JSON(t, &feed)
	if len(feed.Events) != 0 || !feed.CaughtUp || feed.NextCursor != "0" {
		t.Fatalf("empty feed %+v", feed)
	}
	partnerCheckout(t, h, 100, 1000,
		welfare.OrderLine{SKU: 9001, Quantity: 2, UnitPriceFen: 50_00, MerchantID: 1, Category: "food"},
		welfare.OrderLine{SKU: 9002, Quantity: 1, UnitPriceFen: 80_00, MerchantID: 2, Category: "food"})
	partnerCheckout(t, h, 101, 1001, welfare.OrderLine{SKU: 9002, Quantity: 1, UnitPriceFen: 80_00, MerchantID: 2, Category: "food"})

	h.signed(1, http.MethodGet, "/api/v1/partner/orders", nil).must(t, http.StatusOK).JSON(t, &feed)
	if len(feed.Events) != 1 || !feed.CaughtUp {
		t.Fatalf("merchant 1 feed %+v", feed)
	}
	ev := feed.Events[0]
	if ev.OrderID != 1000 || ev.State != "placed" || ev.PickupPointID != 3 || ev.Amount != "100.00" || len(ev.Lines) != 1 ||
		ev.Lines[0].SKUID != 9001 || ev.Lines[0].Quantity != 2 || ev.Lines[0].UnitPrice != "50.00" || ev.PlacedAt == "" || ev.At != ev.PlacedAt {
		t.Fatalf("merchant 1 event %+v", ev)
	}
	cursor1 := feed.NextCursor

	// Merchant 2 pulls one event per page and gets both orders, each once.
	var got []uint64
	cursor := ""
	for i := 0; i < 10; i++ {
		h.signed(2, http.MethodGet, "/api/v1/partner/orders?limit=1&cursor="+cursor, nil).must(t, http.StatusOK).JSON(t, &feed)
		for _, e := range feed.Events {
			got = append(got, e.OrderID)
			for _, l := range e.Lines {
				if l.SKUID != 9002 {
					t.Fatalf("merchant 2 sees another merchant's line %+v", l)
				}
			}
		}
		cursor = feed.NextCursor
		if feed.CaughtUp {
			break
		}
	}
	if len(got) != 2 || got[0] != 1000 || got[1] != 1001 {
		t.Fatalf("merchant 2 pulled %v", got)
	}
	h.signed(3, http.MethodGet, "/api/v1/partner/orders", nil).must(t, http.StatusOK).JSON(t, &feed)
	if len(feed.Events) != 0 {
		t.Fatalf("merchant 3 sees %+v", feed)
	}

	// Deliveries: merchant 2 cannot ship merchant 1's.
	var ds api.PartnerDeliveryList
	h.signed(1, http.MethodGet, "/api/v1/partner/deliveries", nil).must(t, http.StatusOK).JSON(t, &ds)
	if len(ds.Deliveries) != 1 || ds.Deliveries[0].State != "open" || len(ds.Deliveries[0].Orders) != 1 || ds.Deliveries[0].PickupPointID != 3 {
		t.Fatalf("merchant 1 deliveries %+v", ds)
	}
	d1 := ds.Deliveries[0].DeliveryID
	h.signed(2, http.MethodGet, "/api/v1/partner/deliveries", nil).must(t, http.StatusOK).JSON(t, &ds)
	if len(ds.Deliveries) != 1 || len(ds.Deliveries[0].Orders) != 2 || ds.Deliveries[0].DeliveryID == d1 {
		t.Fatalf("merchant 2 deliveries %+v", ds)
	}
	d2 := ds.Deliveries[0].DeliveryID
	problemCode(t, h.signed(2, http.MethodPost, "/api/v1/partner/deliveries/"+itoa(d1)+"/ship", nil), http.StatusNotFound, "unknown_delivery")
	problemCode(t, h.signed(1, http.MethodPost, "/api/v1/partner/deliveries/999/ship", nil), http.StatusNotFound, "unknown_delivery")
	problemCode(t, h.signed(1, http.MethodPost, "/api/v1/partner/deliveries/x/ship", nil), http.StatusBadRequest, "bad_request")
	if d, _ := r.ful.Delivery(d1); d.State != mall.DeliveryOpen {
		t.Fatalf("merchant 2 shipped merchant 1's delivery: %+v", d)
	}
	var shipped api.PartnerDelivery
	h.signed(1, http.MethodPost, "/api/v1/partner/deliveries/"+itoa(d1)+"/ship", nil).must(t, http.StatusOK).JSON(t, &shipped)
	if shipped.State != "shipped" || shipped.DeliveryID != d1 {
		t.Fatalf("shipped %+v", shipped)
	}
	problemCode(t, h.signed(1, http.MethodPost, "/api/v1/partner/deliveries/"+itoa(d1)+"/ship", nil), http.StatusConflict, "wrong_delivery_state")
	if a := partnerAudits(h, "ship_delivery"); len(a) != 1 || a[0].Actor != 1 || a[0].Target != "delivery:"+itoa(d1) {
		t.Fatalf("ship audits %+v", a)
	}
	h.signed(1, http.MethodGet, "/api/v1/partner/deliveries?state=open", nil).must(t, http.StatusOK).JSON(t, &ds)
	if len(ds.Deliveries) != 0 {
		t.Fatalf("open deliveries %+v", ds)
	}
	h.signed(1, http.MethodGet, "/api/v1/partner/deliveries?state=shipped", nil).must(t, http.StatusOK).JSON(t, &ds)
	if len(ds.Deliveries) != 1 {
		t.Fatalf("shipped deliveries %+v", ds)
	}
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/deliveries?state=lost", nil), http.StatusBadRequest, "bad_request")
	h.signed(2, http.MethodPost, "/api/v1/partner/deliveries/"+itoa(d2)+"/ship", nil).must(t, http.StatusOK)

	// The keeper's side: arrival and hand-out of order 1000; then the feed has its later states.
	for _, d := range []uint64{d1, d2} {
		if err := r.ful.Arrive(3, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.ful.HandOut(3, 1000, h.codes.Code(1000)); err != nil {
		t.Fatal(err)
	}
	h.signed(1, http.MethodGet, "/api/v1/partner/orders?cursor="+cursor1, nil).must(t, http.StatusOK).JSON(t, &feed)
	var states []string
	for _, e := range feed.Events {
		if e.OrderID != 1000 {
			t.Fatalf("merchant 1 sees order %d", e.OrderID)
		}
		states = append(states, e.State)
	}
	if len(states) != 3 || states[0] != "shipped" || states[1] != "ready_for_pickup" || states[2] != "handed_out" {
		t.Fatalf("states after the cursor %v", states)
	}

	// Statements.
	var st api.PartnerStatement
	h.signed(1, http.MethodGet, "/api/v1/partner/statements?from=2026-02-01&to=2026-03-01", nil).must(t, http.StatusOK).JSON(t, &st)
	if st.Invoice != "INV-1-202602" || st.Total != "100.00" || len(st.Lines) != 1 || st.Lines[0].OrderID != 1000 ||
		st.Lines[0].Kind != "handed_out" || st.Lines[0].Amount != "100.00" || st.From != "2026-02-01T00:00:00+08:00" {
		t.Fatalf("merchant 1 statement %+v", st)
	}
	h.signed(2, http.MethodGet, "/api/v1/partner/statements?from=2026-02-01&to=2026-03-01", nil).must(t, http.StatusOK).JSON(t, &st)
	if st.Total != "80.00" || len(st.Lines) != 1 || st.Invoice != "INV-2-202602" {
		t.Fatalf("merchant 2 statement %+v", st)
	}
	h.signed(1, http.MethodGet, "/api/v1/partner/statements?from=2026-03-01&to=2026-04-01", nil).must(t, http.StatusOK).JSON(t, &st)
	if st.Total != "0.00" || len(st.Lines) != 0 || st.Invoice != "INV-1-202603" {
		t.Fatalf("merchant 1 March statement %+v", st)
	}
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/statements?from=2026-02-01", nil), http.StatusBadRequest, "bad_request")
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/statements?from=soon&to=2026-03-01", nil), http.StatusBadRequest, "bad_request")
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/statements?from=2026-03-01&to=2026-02-01", nil), http.StatusUnprocessableEntity, "invalid_window")
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/statements?from=2024-01-01&to=2026-03-01", nil), http.StatusUnprocessableEntity, "invalid_window")
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/orders?cursor=-1", nil), http.StatusBadRequest, "invalid_cursor")

	// A returned unit comes back to merchant 1's stock as returned; restock makes it available.
	res, err := h.engine.Submit(h.engine.UnionShard(11), shard.Command{Kind: welfare.ReturnOrder, OrderID: 1000, MemberID: 100})
	if err != nil || res.Code != welfare.OK {
		t.Fatalf("return %+v %v", res, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for partnerSKUState(t, h, 9001).Units.Returned != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("units %+v", partnerSKUState(t, h, 9001).Units)
		}
		time.Sleep(time.Millisecond)
	}
	problemCode(t, h.signed(2, http.MethodPost, "/api/v1/partner/skus/9001/restock", api.PartnerQuantity{Quantity: 2}), http.StatusNotFound, "unknown_sku")
	problemCode(t, h.signed(1, http.MethodPost, "/api/v1/partner/skus/9001/restock", api.PartnerQuantity{Quantity: 3}), http.StatusUnprocessableEntity, "invalid_quantity")
	var sk api.PartnerSKU
	h.signed(1, http.MethodPost, "/api/v1/partner/skus/9001/restock", api.PartnerQuantity{Quantity: 2}).must(t, http.StatusOK).JSON(t, &sk)
	if sk.Units.Returned != 0 || sk.Units.Available != 10 {
		t.Fatalf("after restock %+v", sk.Units)
	}
	h.signed(1, http.MethodGet, "/api/v1/partner/statements?from=2026-02-01&to=2026-03-01", nil).must(t, http.StatusOK).JSON(t, &st)
	if st.Total != "0.00" || len(st.Lines) != 2 || st.Lines[1].Kind != "returned" || st.Lines[1].Amount != "-100.00" {
		t.Fatalf("statement after the return %+v", st)
	}
}

// Without fulfilment or webhooks, their endpoints answer 503 rather than pretend.
func TestPartnerUnavailable(t *testing.T) {
	h := newHarness(t)
	problemCode(t, h.signed(1, http.MethodPut, "/api/v1/partner/webhook", api.PartnerWebhookRequest{URL: "http://127.0.0.1:1/hook", Secret: "0123456789abcdef"}),
		http.StatusServiceUnavailable, "unavailable")
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/webhook", nil), http.StatusServiceUnavailable, "unavailable")
	h.server = api.New(api.Deps{Engine: h.engine, Merchants: api.StaticMerchantKeys{"merchant-1": {KeyID: "merchant-1", MerchantID: 1, Secret: h.secrets[1]}},
		Tokens: api.NewVerifier(nil, nil, h.wall), Now: h.wall})
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/deliveries", nil), http.StatusServiceUnavailable, "unavailable")
	problemCode(t, h.signed(1, http.MethodPost, "/api/v1/partner/deliveries/1/ship", nil), http.StatusServiceUnavailable, "unavailable")
}
