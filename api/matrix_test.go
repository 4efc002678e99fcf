package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"huigong/api"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

// The fixtures of the authorization matrix, the bad-input table and the fuzzers. What is
// "own" belongs to union 11, its member 100, pickup point 3 and merchant 1; what is "another"
// to union 12, member 200, pickup point 4 and merchant 2.
const (
	mxUnion      = 11 // officers 7 (who makes programs) and 8 (the caller); members 100 and 101
	mxOtherUnion = 12 // officer 9; member 200

	mxMember      = 100
	mxMember2     = 101 // another member of the own union
	mxOtherMember = 200

	mxMaker        = 7
	mxOfficer      = 8
	mxOtherOfficer = 9
	mxFedOfficer   = 1
	mxModule       = 60

	mxPoint       = 3 // serves unions 11 and 12; keeper 50
	mxOtherPoint  = 4 // serves union 12; keeper 51
	mxFarPoint    = 5 // serves every union; no keeper
	mxKeeper      = 50
	mxOtherKeeper = 51

	mxMerchant           = 1
	mxOtherMerchant      = 2
	mxThirdMerchant      = 3
	mxUnapprovedMerchant = 5

	mxSKU       = 901 // merchant 1
	mxOtherSKU  = 902 // merchant 2
	mxThirdSKU  = 903 // merchant 3
	mxReturnSKU = 904 // merchant 1, with a returned unit
	mxPriceFen  = 10_00

	mxFestival      = 5  // union 11, 300.00 issued to every member
	mxPatch         = 21 // union 11, general, not issued: patched by the matrix
	mxApprove       = 22 // approved by the matrix
	mxRevoke        = 23 // revoked by the matrix
	mxIssue         = 24 // issued by the matrix, 10.00 a member
	mxActivity      = 60 // union 11, activity: awards are paid from it
	mxOtherFestival = 9  // union 12, 200.00 issued to every member

	// Orders of member 100, placed in the setup.
	mxOrderCheck   = 1001 // ready for pickup at point 3: its code is checked
	mxOrderHandOut = 1002 // ready for pickup at point 3: handed out
	mxOrderArrive  = 1003 // merchant 3's, shipped to point 3: arrives
	mxOrderReturn  = 1004 // handed out at point 5 and returned
	mxOrderShip    = 1005 // in merchant 1's open delivery to point 3: shipped
	mxOrderGet     = 1006
	mxOrderCancel  = 1007
	mxOrderPay     = 1008 // with a cash part, awaiting payment

	// Union 14 shares union 11's shard: its objects are one id away from the caller's reach.
	mxNeighbourUnion    = 14
	mxNeighbourOfficer  = 15
	mxNeighbourMember   = 140
	mxNeighbourProgram  = 41
	mxNeighbourActivity = 42
	mxNeighbourOrder    = 1401 // member 140's, at point 5
)

var mxSKUMerchant = map[stock.SKUID]welfare.MerchantID{mxSKU: mxMerchant, mxOtherSKU: mxOtherMerchant, mxThirdSKU: mxThirdMerchant, mxReturnSKU: mxMerchant}

// mxBase sets up the directory, both unions with their members, budgets and programs, and the
// SKUs with 100 units each.
func mxBase(h *harness) {
	h.t.Helper()
	e := h.engine
	for _, m := range []struct {
		id       welfare.MerchantID
		approved bool
	}{{mxMerchant, true}, {mxOtherMerchant, true}, {mxThirdMerchant, true}, {mxUnapprovedMerchant, false}} {
		h.submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetMerchant, Merchant: welfare.Merchant{ID: m.id, Name: fmt.Sprintf("Merchant %d", m.id), Approved: m.approved}})
	}
	for _, p := range []welfare.PickupPoint{
		{ID: mxPoint, Name: "Workers e-Home 3", Unions: []welfare.UnionID{mxUnion, mxOtherUnion}, Keepers: []welfare.OfficerID{mxKeeper}},
		{ID: mxOtherPoint, Name: "Workers e-Home 4", Unions: []welfare.UnionID{mxOtherUnion}, Keepers: []welfare.OfficerID{mxOtherKeeper}},
		{ID: mxFarPoint, Name: "Workers e-Home 5"},
	} {
		h.submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetPickupPoint, PickupPoint: p})
	}
	from, to := shopDay(2, 1), shopDay(3, 1)
	for _, u := range []struct {
		id       welfare.UnionID
		officers []welfare.OfficerID
		members  []welfare.MemberID
		programs []welfare.Program
	}{
		{mxUnion, []welfare.OfficerID{mxMaker, mxOfficer}, []welfare.MemberID{mxMember, mxMember2}, []welfare.Program{
			{ID: mxFestival, Name: "New Year", Category: welfare.CategoryFestival, AmountPerMemberFen: 300_00},
			{ID: mxPatch, Name: "To patch", Category: welfare.CategoryGeneral, AmountPerMemberFen: 5_00},
			{ID: mxApprove, Name: "To approve", Category: welfare.CategoryGeneral, AmountPerMemberFen: 5_00},
			{ID: mxRevoke, Name: "To revoke", Category: welfare.CategoryGeneral, AmountPerMemberFen: 5_00},
			{ID: mxIssue, Name: "To issue", Category: welfare.CategoryGeneral, AmountPerMemberFen: 10_00},
			{ID: mxActivity, Name: "Activities", Category: welfare.CategoryActivity},
		}},
		{mxOtherUnion, []welfare.OfficerID{mxOtherOfficer}, []welfare.MemberID{mxOtherMember}, []welfare.Program{
			{ID: mxOtherFestival, Name: "Spring Festival", Category: welfare.CategoryFestival, AmountPerMemberFen: 200_00},
		}},
	} {
		us := e.UnionShard(u.id)
		h.submit(us, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: u.id, Name: fmt.Sprintf("Union %d", u.id), Officers: u.officers}})
		for _, m := range u.members {
			h.submit(us, shard.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: u.id, Registered: true, DuesPaid: true})
		}
		h.submit(us, shard.Command{Kind: welfare.FundUnion, UnionID: u.id, TransferID: 1, AmountFen: 10_000_00})
		for _, p := range u.programs {
			p.UnionID, p.FromNanos, p.ToNanos = u.id, from, to
			h.submit(us, shard.Command{Kind: welfare.CreateProgram, Officer: u.officers[0], Program: p})
		}
		h.submit(us, shard.Command{Kind: welfare.Issue, ProgramID: u.programs[0].ID, Officer: u.officers[0]})
	}
	for id, m := range mxSKUMerchant {
		h.submit(e.SKUShard(id), shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: id, Name: fmt.Sprintf("SKU %d", id), MerchantID: uint64(m),
			Category: "food", PriceFen: mxPriceFen, Listed: true}})
		h.submit(e.SKUShard(id), shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: id}, Quantity: 100})
	}
}

// mxRig is the harness with fulfilment and webhooks running, over the fixtures of mxBase, with
// orders in every state the routes act on.
type mxRig struct {
	*partnerRig
	arriveDelivery uint64 // merchant 3's, shipped to point 3
	shipDelivery   uint64 // merchant 1's, open, to point 3
	farDelivery    uint64 // merchant 1's, arrived at point 5
	award          uint64 // awarded to member 100, to reverse
	hookURL        string
}

func newMxRig(t *testing.T) *mxRig {
	t.Helper()
	r := &mxRig{partnerRig: newPartnerRig(t, api.WebhookOptions{})}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(hook.Close)
	r.hookURL = hook.URL + "/hook"
	mxBase(r.harness)

	r.checkout(mxOrderCheck, mxPoint, 0, mxSKU, 1)
	r.checkout(mxOrderHandOut, mxPoint, 0, mxSKU, 1)
	r.checkout(mxOrderArrive, mxPoint, 0, mxThirdSKU, 1)
	r.checkout(mxOrderReturn, mxFarPoint, 0, mxReturnSKU, 1)
	ready := r.onlyDelivery(mxMerchant, mxPoint)
	r.must(r.ful.Ship(mxMerchant, ready))
	r.must(r.ful.Arrive(mxPoint, ready))
	r.arriveDelivery = r.onlyDelivery(mxThirdMerchant, mxPoint)
	r.must(r.ful.Ship(mxThirdMerchant, r.arriveDelivery))
	r.farDelivery = r.onlyDelivery(mxMerchant, mxFarPoint)
	r.must(r.ful.Ship(mxMerchant, r.farDelivery))
	r.must(r.ful.Arrive(mxFarPoint, r.farDelivery))
	r.must(r.ful.HandOut(mxFarPoint, mxOrderReturn, r.codes.Code(mxOrderReturn)))
	r.submit(r.engine.UnionShard(mxUnion), shard.Command{Kind: welfare.ReturnOrder, OrderID: mxOrderReturn, MemberID: mxMember})
	shopEventually(t, "the returned unit", func() bool { sk, _ := r.engine.SKU(mxReturnSKU); return sk.Units.Returned == 1 })

	// Merchant 1's first delivery to point 3 has shipped: the next order opens another.
	r.checkout(mxOrderShip, mxPoint, 0, mxSKU, 1)
	for _, d := range r.ful.Deliveries(mxMerchant, mxPoint) {
		if d.State == mall.DeliveryOpen {
			r.shipDelivery = d.ID
		}
	}
	r.checkout(mxOrderGet, mxPoint, 0, mxOtherSKU, 1)
	r.checkout(mxOrderCancel, mxPoint, 0, mxOtherSKU, 1)
	r.checkout(mxOrderPay, mxPoint, 10_00, mxOtherSKU, 2)

	us := r.engine.UnionShard(mxNeighbourUnion)
	if us != r.engine.UnionShard(mxUnion) {
		t.Fatalf("union %d is on shard %d, union %d on %d: the neighbour must share the shard", mxNeighbourUnion, us, mxUnion, r.engine.UnionShard(mxUnion))
	}
	r.submit(us, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: mxNeighbourUnion, Name: "Union 14", Officers: []welfare.OfficerID{mxNeighbourOfficer}}})
	r.submit(us, shard.Command{Kind: welfare.RegisterMember, MemberID: mxNeighbourMember, UnionID: mxNeighbourUnion, Registered: true, DuesPaid: true})
	r.submit(us, shard.Command{Kind: welfare.FundUnion, UnionID: mxNeighbourUnion, TransferID: 2, AmountFen: 1_000_00})
	for _, p := range []welfare.Program{
		{ID: mxNeighbourProgram, Name: "Neighbours", Category: welfare.CategoryGeneral, AmountPerMemberFen: 50_00},
		{ID: mxNeighbourActivity, Name: "Neighbours' activities", Category: welfare.CategoryActivity},
	} {
		p.UnionID, p.FromNanos, p.ToNanos = mxNeighbourUnion, shopDay(2, 1), shopDay(3, 1)
		r.submit(us, shard.Command{Kind: welfare.CreateProgram, Officer: mxNeighbourOfficer, Program: p})
	}
	r.submit(us, shard.Command{Kind: welfare.Issue, ProgramID: mxNeighbourProgram, Officer: mxNeighbourOfficer})
	r.checkoutAs(mxNeighbourMember, mxNeighbourUnion, mxNeighbourOrder, mxFarPoint, 0, mxOtherSKU, 1)

	for _, m := range []uint64{mxMerchant, mxOtherMerchant} {
		r.signed(m, http.MethodPut, "/api/v1/partner/webhook", api.PartnerWebhookRequest{URL: r.hookURL, Secret: "0123456789abcdef"}).must(t, http.StatusOK)
	}
	var a api.AwardResponse
	r.do(http.MethodPost, "/api/v1/awards", r.token(api.RoleModule, mxModule, 0, 0), api.AwardRequest{UnionID: mxUnion, MemberID: mxMember,
		ProgramID: mxActivity, Activity: "lecture", Amount: "1.00"}, "Idempotency-Key", "matrix-setup").must(t, http.StatusCreated).JSON(t, &a)
	r.award = a.AwardID
	// A placed order's units move from reserved to sold by a message after the checkout has
	// answered: wait for that, so that the state stands still for the tests that compare it.
	// Only the order awaiting payment holds its two units reserved.
	shopEventually(t, "the orders' units sold", func() bool {
		for id := range mxSKUMerchant {
			sk, _ := r.engine.SKU(id)
			if want := map[stock.SKUID]int64{mxOtherSKU: 2}[id]; sk.Units.Reserved != want {
				return false
			}
		}
		return true
	})
	if r.shipDelivery == 0 || r.arriveDelivery == 0 || r.award == 0 {
		t.Fatalf("fixtures: ship %d arrive %d award %d", r.shipDelivery, r.arriveDelivery, r.award)
	}
	return r
}

func (r *mxRig) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

// checkout places an order of member 100 through the engine: placed, or awaiting payment with
// a cash part.
func (r *mxRig) checkout(id welfare.OrderID, point welfare.PickupPointID, cashFen int64, sku stock.SKUID, quantity int64) {
	r.t.Helper()
	r.checkoutAs(mxMember, mxUnion, id, point, cashFen, sku, quantity)
}

func (r *mxRig) checkoutAs(member welfare.MemberID, union welfare.UnionID, id welfare.OrderID, point welfare.PickupPointID, cashFen int64,
	sku stock.SKUID, quantity int64) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := r.engine.Checkout(ctx, member, union, &welfare.OrderRequest{ID: id, PickupPointID: point, CashFen: cashFen,
		Lines: []welfare.OrderLine{{SKU: sku, Quantity: quantity, UnitPriceFen: mxPriceFen, MerchantID: mxSKUMerchant[sku], Category: "food"}}})
	want := welfare.OrderPlaced
	if cashFen > 0 {
		want = welfare.OrderAwaitingPayment
	}
	if err != nil || out.State != want {
		r.t.Fatalf("checkout %d: %+v %v", id, out, err)
	}
}

func (r *mxRig) onlyDelivery(m welfare.MerchantID, p welfare.PickupPointID) uint64 {
	r.t.Helper()
	ds := r.ful.Deliveries(m, p)
	if len(ds) != 1 {
		r.t.Fatalf("merchant %d has %d deliveries to point %d", m, len(ds), p)
	}
	return ds[0].ID
}

// mxCaller is one kind of caller: a token, a merchant's signature, or nothing.
type mxCaller struct {
	name     string
	role     string // the audit role of its changes
	actor    uint64
	token    string
	merchant uint64
}

// mxCallers are the columns of the matrix, in order.
func mxCallers(h *harness) []mxCaller {
	tok := func(role api.Role, subject, union, point uint64) string { return h.token(role, subject, union, point) }
	return []mxCaller{
		{name: "anon"},
		{name: "memA", role: "member", actor: mxMember, token: tok(api.RoleMember, mxMember, mxUnion, 0)},
		{name: "memA2", role: "member", actor: mxMember2, token: tok(api.RoleMember, mxMember2, mxUnion, 0)},
		{name: "memB", role: "member", actor: mxOtherMember, token: tok(api.RoleMember, mxOtherMember, mxOtherUnion, 0)},
		{name: "offA", role: "union_officer", actor: mxOfficer, token: tok(api.RoleOfficer, mxOfficer, mxUnion, 0)},
		{name: "offB", role: "union_officer", actor: mxOtherOfficer, token: tok(api.RoleOfficer, mxOtherOfficer, mxOtherUnion, 0)},
		{name: "fed", role: "federation_officer", actor: mxFedOfficer, token: tok(api.RoleFederation, mxFedOfficer, 0, 0)},
		{name: "keepA", role: "keeper", actor: mxKeeper, token: tok(api.RoleKeeper, mxKeeper, 0, mxPoint)},
		{name: "keepB", role: "keeper", actor: mxOtherKeeper, token: tok(api.RoleKeeper, mxOtherKeeper, 0, mxOtherPoint)},
		{name: "module", role: "platform_module", actor: mxModule, token: tok(api.RoleModule, mxModule, 0, 0)},
		{name: "merA", role: "merchant", actor: mxMerchant, merchant: mxMerchant},
		{name: "merB", role: "merchant", actor: mxOtherMerchant, merchant: mxOtherMerchant},
	}
}

// mxRequest is what a row sends: the path with its ids (and query), a JSON body (a string is
// sent as it is) and headers.
type mxRequest struct {
	path    string
	body    any
	headers []string
}

// send sends a request as a caller.
func (h *harness) send(c mxCaller, method string, q mxRequest) response {
	h.t.Helper()
	if c.merchant != 0 {
		return h.signed(c.merchant, method, q.path, q.body)
	}
	return h.do(method, q.path, c.token, q.body, q.headers...)
}

// mxRow is one route of the matrix. want holds one outcome per caller, in the order of
// mxCallers: "ok" is the route's success status; a number is the status of a refusal (401 no
// or the wrong credentials, 403 a role or union that may not, 404 another's resource, 409
// another merchant's SKU id). audited says an allowed call leaves an audit entry by its caller.
type mxRow struct {
	route   string
	want    string
	audited bool
	req     func(r *mxRig, c mxCaller) mxRequest
}

func mxPath(p string) func(*mxRig, mxCaller) mxRequest {
	return func(*mxRig, mxCaller) mxRequest { return mxRequest{path: p} }
}

func mxBody(p string, body any) func(*mxRig, mxCaller) mxRequest {
	return func(*mxRig, mxCaller) mxRequest { return mxRequest{path: p, body: body} }
}

// mxKeyed sends a body with an Idempotency-Key of its own per caller.
func mxKeyed(p string, body any) func(*mxRig, mxCaller) mxRequest {
	return func(_ *mxRig, c mxCaller) mxRequest {
		return mxRequest{path: p, body: body, headers: []string{"Idempotency-Key", "matrix-" + c.name}}
	}
}

// The columns:               anon memA memA2 memB offA offB fed keepA keepB module merA merB
const (
	mxPublic     = "ok   ok   ok    ok   ok   ok   ok  ok    ok    ok     ok   ok"
	mxTokens     = "401  ok   ok    ok   ok   ok   ok  ok    ok    ok     401  401"
	mxWorkers    = "401  ok   ok    ok   403  403  403 403   403   403    401  401"
	mxOwnOrder   = "401  ok   404   404  403  403  403 403   403   403    401  401"
	mxOfficers   = "401  403  403   403  ok   403  403 403   403   403    401  401"
	mxFederation = "401  403  403   403  403  403  ok  403   403   403    401  401"
	mxKeepers    = "401  403  403   403  403  403  403 ok    ok    403    401  401"
	mxOwnPoint   = "401  403  403   403  403  403  403 ok    404   403    401  401"
	mxModules    = "401  403  403   403  403  403  403 403   403   ok     401  401"
	mxMerchants  = "401  401  401   401  401  401  401 401   401   401    ok   ok"
	mxOwnSKU     = "401  401  401   401  401  401  401 401   401   401    ok   404"
	mxTakenSKU   = "401  401  401   401  401  401  401 401   401   401    ok   409"
)

func mxTable() []mxRow {
	u := "/api/v1/unions/" + itoa(mxUnion)
	program := map[string]any{"id": 30, "name": "Matrix", "category": "general", "amount_per_member": "5.00",
		"valid_from": "2026-02-01", "valid_to": "2026-03-01"}
	sku := map[string]any{"name": "Matrix rice", "category": "food", "price": "10.00", "listed": true}
	return []mxRow{
		{"GET /healthz", mxPublic, false, mxPath("/healthz")},
		{"GET /readyz", mxPublic, false, mxPath("/readyz")},
		{"GET /metrics", mxPublic, false, mxPath("/metrics")},
		{"GET /api/openapi.json", mxPublic, false, mxPath("/api/openapi.json")},

		{"GET /api/v1/me", mxWorkers, false, mxPath("/api/v1/me")},
		{"GET /api/v1/catalog", mxWorkers, false, mxPath("/api/v1/catalog?q=sku")},
		{"POST /api/v1/orders", mxWorkers, false, mxKeyed("/api/v1/orders", orderBody(mxPoint, "", [2]int64{mxOtherSKU, 1}))},
		{"GET /api/v1/orders", mxWorkers, false, mxPath("/api/v1/orders")},
		{"GET /api/v1/orders/:order", mxOwnOrder, false, mxPath(fmt.Sprintf("/api/v1/orders/%d", mxOrderGet))},
		{"POST /api/v1/orders/:order/cancel", mxOwnOrder, false, mxPath(fmt.Sprintf("/api/v1/orders/%d/cancel", mxOrderCancel))},
		{"POST /api/v1/orders/:order/pay", mxOwnOrder, false, mxBody(fmt.Sprintf("/api/v1/orders/%d/pay", mxOrderPay), map[string]any{"payment_ref": "wx-matrix"})},

		{"GET /api/v1/unions/:union", mxOfficers, false, mxPath(u)},
		{"GET /api/v1/unions/:union/programs", mxOfficers, false, mxPath(u + "/programs")},
		{"POST /api/v1/unions/:union/programs", mxOfficers, true, mxBody(u+"/programs", program)},
		{"GET /api/v1/unions/:union/programs/:program", mxOfficers, false, mxPath(fmt.Sprintf("%s/programs/%d", u, mxFestival))},
		{"PATCH /api/v1/unions/:union/programs/:program", mxOfficers, true, mxBody(fmt.Sprintf("%s/programs/%d", u, mxPatch), map[string]any{"name": "Patched"})},
		{"POST /api/v1/unions/:union/programs/:program/approve", mxOfficers, true, mxPath(fmt.Sprintf("%s/programs/%d/approve", u, mxApprove))},
		{"POST /api/v1/unions/:union/programs/:program/revoke", mxOfficers, true, mxPath(fmt.Sprintf("%s/programs/%d/revoke", u, mxRevoke))},
		{"POST /api/v1/unions/:union/programs/:program/issue", mxOfficers, true, mxBody(fmt.Sprintf("%s/programs/%d/issue", u, mxIssue), map[string]any{"members": []uint64{mxMember2}})},
		{"GET /api/v1/unions/:union/programs/:program/report", mxOfficers, false, mxPath(fmt.Sprintf("%s/programs/%d/report", u, mxFestival))},
		{"GET /api/v1/unions/:union/audit-pack", mxOfficers, false, mxPath(u + "/audit-pack")},
		{"POST /api/v1/unions/:union/roster", mxOfficers, true, func(*mxRig, mxCaller) mxRequest {
			return mxRequest{path: u + "/roster", body: "member_id,name,registered,dues_paid\n105,Matrix Member,yes,yes\n", headers: []string{"Content-Type", "text/csv"}}
		}},
		{"GET /api/v1/unions/:union/members", mxOfficers, false, mxPath(u + "/members")},

		{"POST /api/v1/federation/unions", mxFederation, true, mxBody("/api/v1/federation/unions", map[string]any{"id": 13, "name": "Union 13", "officers": []uint64{10}})},
		{"POST /api/v1/federation/unions/:union/fund", mxFederation, true, mxKeyed(fmt.Sprintf("/api/v1/federation/unions/%d/fund", mxUnion), map[string]any{"amount": "100.00"})},
		{"GET /api/v1/federation/config", mxFederation, false, mxPath("/api/v1/federation/config")},
		{"PUT /api/v1/federation/caps", mxFederation, true, mxBody("/api/v1/federation/caps", map[string]any{"caps": map[string]any{"festival": "1300.00"}})},
		{"PUT /api/v1/federation/calendar", mxFederation, true, mxBody("/api/v1/federation/calendar", map[string]any{"festivals": []map[string]any{
			{"name": "spring_festival", "from": "2026-02-15", "to": "2026-02-23"}}})},
		{"PUT /api/v1/federation/approval-threshold", mxFederation, true, mxBody("/api/v1/federation/approval-threshold", map[string]any{"amount": "100000.00"})},
		{"GET /api/v1/federation/campaigns", mxFederation, false, mxPath("/api/v1/federation/campaigns")},
		// A campaign in June: prices now stay as they are.
		{"POST /api/v1/federation/campaigns", mxFederation, true, mxBody("/api/v1/federation/campaigns", map[string]any{"name": "Dragon Boat sale",
			"from": "2026-06-01", "to": "2026-06-20", "discount": "5"})},
		{"GET /api/v1/federation/merchants", mxFederation, false, mxPath("/api/v1/federation/merchants")},
		{"POST /api/v1/federation/merchants", mxFederation, true, mxBody("/api/v1/federation/merchants", map[string]any{"id": 4, "name": "Merchant 4"})},
		{"POST /api/v1/federation/merchants/:merchant/approve", mxFederation, true, mxPath(fmt.Sprintf("/api/v1/federation/merchants/%d/approve", mxUnapprovedMerchant))},
		{"POST /api/v1/federation/pickup-points", mxFederation, true, mxBody("/api/v1/federation/pickup-points", map[string]any{"id": 6, "name": "Workers e-Home 6",
			"unions": []uint64{mxUnion}, "keepers": []uint64{52}})},
		{"GET /api/v1/federation/dashboard", mxFederation, false, mxPath("/api/v1/federation/dashboard")},

		{"GET /api/v1/pickup/deliveries", mxKeepers, false, mxPath("/api/v1/pickup/deliveries")},
		{"POST /api/v1/pickup/deliveries/:delivery/arrive", mxOwnPoint, true, func(r *mxRig, _ mxCaller) mxRequest {
			return mxRequest{path: fmt.Sprintf("/api/v1/pickup/deliveries/%d/arrive", r.arriveDelivery)}
		}},
		{"POST /api/v1/pickup/check", mxOwnPoint, false, func(r *mxRig, _ mxCaller) mxRequest {
			return mxRequest{path: "/api/v1/pickup/check", body: map[string]any{"order_id": mxOrderCheck, "code": r.codes.Code(mxOrderCheck)}}
		}},
		{"POST /api/v1/pickup/orders/:order/hand-out", mxOwnPoint, true, func(r *mxRig, _ mxCaller) mxRequest {
			return mxRequest{path: fmt.Sprintf("/api/v1/pickup/orders/%d/hand-out", mxOrderHandOut), body: map[string]any{"code": r.codes.Code(mxOrderHandOut)}}
		}},

		{"GET /api/v1/partner/skus", mxMerchants, false, mxPath("/api/v1/partner/skus")},
		{"PUT /api/v1/partner/skus/:sku", mxTakenSKU, true, mxBody(fmt.Sprintf("/api/v1/partner/skus/%d", mxSKU), sku)},
		{"POST /api/v1/partner/skus/:sku/stock", mxOwnSKU, true, mxBody(fmt.Sprintf("/api/v1/partner/skus/%d/stock", mxSKU), map[string]any{"quantity": 5})},
		{"POST /api/v1/partner/skus/:sku/restock", mxOwnSKU, true, mxBody(fmt.Sprintf("/api/v1/partner/skus/%d/restock", mxReturnSKU), map[string]any{"quantity": 1})},
		{"PATCH /api/v1/partner/skus/:sku/price", mxOwnSKU, true, mxBody(fmt.Sprintf("/api/v1/partner/skus/%d/price", mxSKU), map[string]any{"price": "10.00"})},
		{"GET /api/v1/partner/orders", mxMerchants, false, mxPath("/api/v1/partner/orders")},
		{"PUT /api/v1/partner/webhook", mxMerchants, true, func(r *mxRig, _ mxCaller) mxRequest {
			return mxRequest{path: "/api/v1/partner/webhook", body: map[string]any{"url": r.hookURL, "secret": "fedcba9876543210"}}
		}},
		{"GET /api/v1/partner/webhook", mxMerchants, false, mxPath("/api/v1/partner/webhook")},
		{"GET /api/v1/partner/deliveries", mxMerchants, false, mxPath("/api/v1/partner/deliveries")},
		{"POST /api/v1/partner/deliveries/:delivery/ship", mxOwnSKU, true, func(r *mxRig, _ mxCaller) mxRequest {
			return mxRequest{path: fmt.Sprintf("/api/v1/partner/deliveries/%d/ship", r.shipDelivery)}
		}},
		{"GET /api/v1/partner/statements", mxMerchants, false, mxPath("/api/v1/partner/statements?from=2026-02-01&to=2026-03-01")},

		{"POST /api/v1/session", mxTokens, false, mxPath("/api/v1/session")},

		{"POST /api/v1/awards", mxModules, true, mxKeyed("/api/v1/awards", map[string]any{"union_id": mxUnion, "member_id": mxMember,
			"program_id": mxActivity, "activity": "quiz", "amount": "1.00"})},
		{"POST /api/v1/awards/:award/reverse", mxModules, true, func(r *mxRig, _ mxCaller) mxRequest {
			return mxRequest{path: fmt.Sprintf("/api/v1/awards/%d/reverse", r.award), body: map[string]any{"union_id": mxUnion}}
		}},
	}
}

// Every route, every kind of caller: each answer is the one the table states, allowed (the
// route's success) or refused (401, 403, or 404 for what is another's), and a refused call
// changes nothing that the audit trail would show. Refused callers go first, so that an
// allowed call after them proves the object was still there to act on.
func TestAuthorizationMatrix(t *testing.T) {
	r := newMxRig(t)
	callers := mxCallers(r.harness)
	routes := map[string]api.Route{}
	for _, rt := range r.server.Routes() {
		routes[rt.Method+" "+rt.Path] = rt
	}
	seen := map[string]bool{}
	cells := 0
	for _, row := range mxTable() {
		rt, ok := routes[row.route]
		if !ok {
			t.Errorf("%s is in the matrix but not served", row.route)
			continue
		}
		if seen[row.route] {
			t.Errorf("%s is twice in the matrix", row.route)
		}
		seen[row.route] = true
		want := strings.Fields(row.want)
		if len(want) != len(callers) {
			t.Fatalf("%s: %d outcomes for %d callers", row.route, len(want), len(callers))
		}
		method := strings.Fields(row.route)[0]
		for _, allowedPass := range []bool{false, true} {
			for i, c := range callers {
				if (want[i] == "ok") != allowedPass {
					continue
				}
				before, _ := r.audit.Entries(0)
				res := r.send(c, method, row.req(r, c))
				after, _ := r.audit.Entries(0)
				added := after[len(before):]
				cells++
				if want[i] == "ok" {
					if res.Status != rt.Status {
						t.Errorf("%s as %s: %d %s, want %d", row.route, c.name, res.Status, res.Body, rt.Status)
					}
					if row.audited && !mxAuditedBy(added, c) {
						t.Errorf("%s as %s: no audit entry by the caller in %+v", row.route, c.name, added)
					}
					continue
				}
				if got := fmt.Sprint(res.Status); got != want[i] {
					t.Errorf("%s as %s: %d %s, want %s", row.route, c.name, res.Status, res.Body, want[i])
					continue
				}
				if p := res.Problem(t); p.Code == "" || (res.Status == http.StatusForbidden && p.Code != "forbidden") {
					t.Errorf("%s as %s: problem %+v", row.route, c.name, p)
				}
				for _, e := range added {
					if strings.EqualFold(e.Outcome, "ok") {
						t.Errorf("%s as %s was refused but audited as done: %+v", row.route, c.name, e)
					}
				}
			}
		}
	}
	for k := range routes {
		if !seen[k] {
			t.Errorf("%s is served but not in the matrix", k)
		}
	}
	if want := len(routes) * len(callers); cells != want {
		t.Errorf("%d cells checked, want %d", cells, want)
	}
	t.Logf("%d routes x %d callers = %d cells", len(routes), len(callers), cells)
}

// mxAuditedBy reports whether entries hold a change by the caller.
func mxAuditedBy(entries []api.AuditEntry, c mxCaller) bool {
	for _, e := range entries {
		if e.Role == c.role && e.Actor == c.actor {
			return true
		}
	}
	return false
}

// An allowed caller naming what is not its own, by a path or a body: another union's program
// (on another shard, or on its own shard, one id away), another member's order, another
// point's delivery or order, another merchant's SKU or delivery, another union's award or
// member. Each is refused with the code stated, and changes nothing but the audit trail's
// record of the refusal; the lists each caller reads hold its own objects only.
func TestAuthorizationAcrossObjects(t *testing.T) {
	r := newMxRig(t)
	callers := map[string]mxCaller{}
	for _, c := range mxCallers(r.harness) {
		callers[c.name] = c
	}
	callers["offX"] = mxCaller{name: "offX", token: r.token(api.RoleOfficer, 99, mxUnion, 0)}
	callers["memA@14"] = mxCaller{name: "memA@14", token: r.token(api.RoleMember, mxMember, mxNeighbourUnion, 0)}
	var otherDelivery uint64
	for _, d := range r.ful.Deliveries(mxOtherMerchant, mxPoint) {
		otherDelivery = d.ID
	}
	u := fmt.Sprintf("/api/v1/unions/%d", mxUnion)
	np := fmt.Sprintf("%s/programs/%d", u, mxNeighbourProgram)
	order := fmt.Sprintf("/api/v1/orders/%d", mxNeighbourOrder)
	award := func(union, member, program uint64) map[string]any {
		return map[string]any{"union_id": union, "member_id": member, "program_id": program, "activity": "quiz", "amount": "1.00"}
	}
	probes := []struct {
		caller, method, path string
		body                 any
		status               int
		code                 string
	}{
		{"offA", http.MethodGet, fmt.Sprintf("%s/programs/%d", u, mxOtherFestival), nil, 404, "unknown_program"},
		{"offA", http.MethodGet, np, nil, 404, "unknown_program"},
		{"offA", http.MethodPatch, np, map[string]any{"name": "Ours now"}, 404, "unknown_program"},
		{"offA", http.MethodPost, np + "/approve", nil, 404, "unknown_program"},
		{"offA", http.MethodPost, np + "/revoke", nil, 404, "unknown_program"},
		{"offA", http.MethodPost, np + "/issue", map[string]any{"members": []uint64{mxMember}}, 404, "unknown_program"},
		{"offA", http.MethodGet, np + "/report", nil, 404, "unknown_program"},
		{"offA", http.MethodGet, fmt.Sprintf("%s/audit-pack?program=%d", u, mxNeighbourProgram), nil, 404, "unknown_program"},
		{"offA", http.MethodPost, fmt.Sprintf("%s/programs/%d/issue", u, mxIssue), map[string]any{"members": []uint64{mxNeighbourMember}}, 409, "not_registered"},
		{"offA", http.MethodPost, fmt.Sprintf("%s/programs/%d/issue", u, mxIssue), map[string]any{"members": []uint64{mxOtherMember}}, 409, "not_registered"},
		{"offA", http.MethodGet, fmt.Sprintf("/api/v1/unions/%d", mxNeighbourUnion), nil, 403, "forbidden"},
		{"offA", http.MethodGet, fmt.Sprintf("/api/v1/unions/%d/members", mxOtherUnion), nil, 403, "forbidden"},
		{"offA", http.MethodPost, fmt.Sprintf("/api/v1/unions/%d/programs/%d/revoke", mxNeighbourUnion, mxNeighbourProgram), nil, 403, "forbidden"},
		{"offX", http.MethodGet, u, nil, 403, "unknown_officer"},
		{"offX", http.MethodPost, fmt.Sprintf("%s/programs/%d/revoke", u, mxRevoke), nil, 403, "unknown_officer"},

		{"memA", http.MethodGet, order, nil, 404, "unknown_order"},
		{"memA", http.MethodPost, order + "/cancel", nil, 404, "unknown_order"},
		{"memA", http.MethodPost, order + "/pay", map[string]any{"payment_ref": "wx-1"}, 404, "unknown_order"},
		{"memA@14", http.MethodGet, "/api/v1/me", nil, 404, "unknown_member"},
		{"memA@14", http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", mxOrderGet), nil, 404, "unknown_order"},
		{"memA@14", http.MethodPost, fmt.Sprintf("/api/v1/orders/%d/cancel", mxOrderCancel), nil, 404, "unknown_order"},
		{"memA", http.MethodPost, "/api/v1/orders", orderBody(mxOtherPoint, "", [2]int64{mxOtherSKU, 1}), 422, "pickup_point_not_for_union"},

		{"keepA", http.MethodPost, "/api/v1/pickup/check", map[string]any{"order_id": mxNeighbourOrder, "code": r.codes.Code(mxNeighbourOrder)}, 404, "unknown_order"},
		{"keepA", http.MethodPost, fmt.Sprintf("/api/v1/pickup/orders/%d/hand-out", mxNeighbourOrder), map[string]any{"code": r.codes.Code(mxNeighbourOrder)}, 404, "unknown_order"},
		{"keepA", http.MethodPost, fmt.Sprintf("/api/v1/pickup/deliveries/%d/arrive", r.farDelivery), nil, 404, "unknown_delivery"},

		{"merA", http.MethodPost, fmt.Sprintf("/api/v1/partner/skus/%d/stock", mxOtherSKU), map[string]any{"quantity": 1}, 404, "unknown_sku"},
		{"merA", http.MethodPost, fmt.Sprintf("/api/v1/partner/skus/%d/restock", mxOtherSKU), map[string]any{"quantity": 1}, 404, "unknown_sku"},
		{"merA", http.MethodPatch, fmt.Sprintf("/api/v1/partner/skus/%d/price", mxOtherSKU), map[string]any{"price": "0.01"}, 404, "unknown_sku"},
		{"merA", http.MethodPost, fmt.Sprintf("/api/v1/partner/deliveries/%d/ship", otherDelivery), nil, 404, "unknown_delivery"},

		{"module", http.MethodPost, "/api/v1/awards", award(mxUnion, mxNeighbourMember, mxActivity), 409, "not_registered"},
		{"module", http.MethodPost, "/api/v1/awards", award(mxUnion, mxOtherMember, mxActivity), 409, "not_registered"},
		{"module", http.MethodPost, "/api/v1/awards", award(mxUnion, mxMember, mxNeighbourActivity), 404, "unknown_program"},
		{"module", http.MethodPost, "/api/v1/awards", award(mxNeighbourUnion, mxNeighbourMember, mxActivity), 404, "unknown_program"},
		{"module", http.MethodPost, "/api/v1/awards", award(mxOtherUnion, mxOtherMember, mxActivity), 404, "unknown_program"},
		{"module", http.MethodPost, fmt.Sprintf("/api/v1/awards/%d/reverse", r.award), map[string]any{"union_id": mxNeighbourUnion}, 404, "unknown_award"},
		{"module", http.MethodPost, fmt.Sprintf("/api/v1/awards/%d/reverse", r.award), map[string]any{"union_id": mxOtherUnion}, 404, "unknown_award"},
		{"fed", http.MethodPost, "/api/v1/federation/unions/999/fund", map[string]any{"amount": "1.00"}, 404, "unknown_union"},
	}
	if otherDelivery == 0 {
		t.Fatal("merchant 2 has no delivery to point 3")
	}
	for i, p := range probes {
		before := r.fingerprint()
		audits, _ := r.audit.Entries(0)
		q := mxRequest{path: p.path, body: p.body, headers: []string{"Idempotency-Key", fmt.Sprintf("across-%d", i)}}
		res := r.send(callers[p.caller], p.method, q)
		if res.Status != p.status {
			t.Errorf("%s %s as %s: %d %s, want %d %s", p.method, p.path, p.caller, res.Status, res.Body, p.status, p.code)
		} else if got := res.Problem(t); got.Code != p.code {
			t.Errorf("%s %s as %s: %+v, want %s", p.method, p.path, p.caller, got, p.code)
		}
		if after := r.fingerprint(); after != before {
			t.Errorf("%s %s as %s changed the state:\n%s", p.method, p.path, p.caller, biDiff(before, after))
		}
		after, _ := r.audit.Entries(0)
		for _, e := range after[len(audits):] {
			if strings.EqualFold(e.Outcome, "ok") {
				t.Errorf("%s %s as %s was audited as done: %+v", p.method, p.path, p.caller, e)
			}
		}
	}

	// A roster naming members of other unions, on the union's shard and on another, moves
	// no one.
	var roster api.RosterResponse
	csv := fmt.Sprintf("member_id,name,registered,dues_paid\n%d,Neighbour,yes,yes\n%d,Far,yes,yes\n", mxNeighbourMember, mxOtherMember)
	before := r.fingerprint()
	r.send(callers["offA"], http.MethodPost, mxRequest{path: u + "/roster", body: csv, headers: []string{"Content-Type", "text/csv"}}).
		must(t, http.StatusOK).JSON(t, &roster)
	if roster.Failed != 2 || roster.Result[0].Result != "member_of_other_union" || roster.Result[1].Result != "member_of_other_union" {
		t.Errorf("roster of other unions' members: %+v", roster)
	}
	if after := r.fingerprint(); after != before {
		t.Errorf("the roster changed the state:\n%s", biDiff(before, after))
	}

	// The lists: each caller reads its own.
	get := func(caller, path string, v any) {
		t.Helper()
		r.send(callers[caller], http.MethodGet, mxRequest{path: path}).must(t, http.StatusOK).JSON(t, v)
	}
	var feed api.PartnerOrderFeed
	get("merB", "/api/v1/partner/orders", &feed)
	for _, ev := range feed.Events {
		for _, l := range ev.Lines {
			if l.SKUID != mxOtherSKU {
				t.Errorf("merchant 2's feed has a line of SKU %d", l.SKUID)
			}
		}
	}
	var skus api.PartnerSKUList
	get("merB", "/api/v1/partner/skus", &skus)
	if len(skus.SKUs) != 1 || skus.SKUs[0].SKUID != mxOtherSKU {
		t.Errorf("merchant 2's SKUs %+v", skus.SKUs)
	}
	var ds api.PartnerDeliveryList
	get("merB", "/api/v1/partner/deliveries", &ds)
	for _, d := range ds.Deliveries {
		if got, ok := r.ful.Delivery(d.DeliveryID); !ok || got.MerchantID != mxOtherMerchant {
			t.Errorf("merchant 2 lists delivery %+v", d)
		}
	}
	var points api.KeeperDeliveryList
	get("keepB", "/api/v1/pickup/deliveries", &points)
	for _, d := range points.Deliveries {
		if d.PickupPointID != mxOtherPoint {
			t.Errorf("the keeper of point 4 lists %+v", d)
		}
	}
	var mine api.WorkerOrderList
	for _, who := range []string{"memA2", "memB"} {
		get(who, "/api/v1/orders", fresh(&mine))
		for _, o := range mine.Orders {
			t.Errorf("%s lists order %d of member 100", who, o.OrderID)
		}
	}
	get("memA", "/api/v1/orders?limit=100", fresh(&mine))
	for _, o := range mine.Orders {
		if o.OrderID == mxNeighbourOrder {
			t.Errorf("member 100 lists member 140's order")
		}
	}
	var members api.UnionMemberList
	get("offA", u+"/members", &members)
	for _, m := range members.Members {
		if m.MemberID != mxMember && m.MemberID != mxMember2 {
			t.Errorf("union 11's register lists member %d", m.MemberID)
		}
	}
	var programs api.ProgramList
	get("offA", u+"/programs", &programs)
	for _, p := range programs.Programs {
		if p.UnionID != mxUnion {
			t.Errorf("union 11 lists program %+v", p)
		}
	}
	pack := r.send(callers["offA"], http.MethodGet, mxRequest{path: u + "/audit-pack"}).must(t, http.StatusOK)
	if strings.Contains(string(pack.Body), "Neighbours") || strings.Contains(string(pack.Body), "Spring Festival") {
		t.Errorf("union 11's audit pack shows another union's program:\n%s", pack.Body)
	}
}
