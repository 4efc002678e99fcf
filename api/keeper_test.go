package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"huigong/api"
	"huigong/engine/welfare"
	"huigong/mall"
)

const (
	shopKeeper      = 50 // keeps point 3
	shopOtherKeeper = 51 // keeps point 4
)

// keeper sends a keeper's request a second after the last, so the keepers' rate limit refills.
func (s *shop) keeper(subject, point uint64, method, path string, body any) response {
	s.t.Helper()
	s.tick()
	return s.do(method, path, s.token(api.RoleKeeper, subject, 0, point), body)
}

func (s *shop) deliveries(point uint64, query string) api.KeeperDeliveryList {
	s.t.Helper()
	var l api.KeeperDeliveryList
	s.keeper(shopKeeper, point, http.MethodGet, "/api/v1/pickup/deliveries"+query, nil).must(s.t, http.StatusOK).JSON(s.t, &l)
	return l
}

// delivery finds the one delivery of a merchant to a point.
func (s *shop) delivery(merchant welfare.MerchantID, point welfare.PickupPointID) mall.Delivery {
	s.t.Helper()
	ds := s.ful.Deliveries(merchant, point)
	if len(ds) != 1 {
		s.t.Fatalf("merchant %d has %d deliveries to point %d", merchant, len(ds), point)
	}
	return ds[0]
}

func keeperAudits(h *harness, action string) []string {
	entries, _ := h.audit.Entries(0)
	var out []string
	for _, e := range entries {
		if e.Action == action && e.Role == "keeper" {
			out = append(out, fmt.Sprintf("%d %s %s", e.Actor, e.Target, e.Outcome))
		}
	}
	return out
}

func deliveryIDs(l api.KeeperDeliveryList) []uint64 {
	return idsOf(l.Deliveries, func(d api.KeeperDelivery) uint64 { return d.DeliveryID })
}

func orderStates(d api.KeeperDelivery) map[uint64]string {
	out := map[uint64]string{}
	for _, o := range d.Orders {
		out[o.OrderID] = o.State
	}
	return out
}

// The whole way of an order: placed, shipped by the merchants, arrived at the Workers e-Home,
// the code checked and the goods handed out; the member sees it handed out and the points
// spent.
func TestPickupFlow(t *testing.T) {
	s := newShop(t)
	member := s.member(shopMember, shopUnion)
	o1 := s.placed(member, "flow-1", orderBody(shopPoint, "", [2]int64{skuRice, 2}, [2]int64{skuOil, 1}))
	o2 := s.placed(s.member(shopOtherMember, shopOtherUnion), "flow-2", orderBody(shopPoint, "", [2]int64{skuRice, 1}))
	o3 := s.placed(s.member(shopOtherMember, shopOtherUnion), "flow-3", orderBody(shopOtherPoint, "", [2]int64{skuLimited, 1}))

	// Nothing has shipped: deliveries still open are the merchants' business.
	if l := s.deliveries(shopPoint, ""); len(l.Deliveries) != 0 {
		t.Fatalf("open deliveries shown: %+v", l)
	}
	rice, oil, far := s.delivery(1, shopPoint), s.delivery(2, shopPoint), s.delivery(3, shopOtherPoint)
	if !slices.Equal(rice.Orders, []welfare.OrderID{welfare.OrderID(o1.OrderID), welfare.OrderID(o2.OrderID)}) {
		t.Fatalf("merchant 1's delivery %+v", rice)
	}
	arrive := func(keeper, point uint64, d uint64) response {
		return s.keeper(keeper, point, http.MethodPost, fmt.Sprintf("/api/v1/pickup/deliveries/%d/arrive", d), nil)
	}
	s.problem(arrive(shopKeeper, shopPoint, rice.ID), http.StatusConflict, "wrong_delivery_state")

	if err := s.ful.Ship(1, rice.ID); err != nil {
		t.Fatal(err)
	}
	l := s.deliveries(shopPoint, "")
	if !slices.Equal(deliveryIDs(l), []uint64{rice.ID}) || l.Deliveries[0].State != "shipped" || l.Deliveries[0].MerchantID != 1 {
		t.Fatalf("deliveries %+v", l)
	}
	// Order 1 waits for its oil too; order 2 has all its goods on the way.
	if st := orderStates(l.Deliveries[0]); st[o1.OrderID] != "placed" || st[o2.OrderID] != "shipped" || len(st) != 2 {
		t.Fatalf("order states %v", st)
	}
	for _, o := range l.Deliveries[0].Orders {
		if o.OrderID == o2.OrderID && (o.MemberID != shopOtherMember || o.UnionID != shopOtherUnion ||
			!slices.Equal(o.Lines, []api.KeeperOrderLine{{SKUID: skuRice, Name: "New Year rice 5kg", MerchantID: 1, Quantity: 1}})) {
			t.Fatalf("order 2 as the keeper sees it %+v", o)
		}
	}
	if l := s.deliveries(shopPoint, "?state=arrived"); len(l.Deliveries) != 0 {
		t.Fatalf("arrived before arrival: %+v", l)
	}
	// Another point's keeper, an unknown delivery, a bad id.
	s.problem(arrive(shopOtherKeeper, shopOtherPoint, rice.ID), http.StatusNotFound, "unknown_delivery")
	s.problem(arrive(shopKeeper, shopPoint, 999), http.StatusNotFound, "unknown_delivery")
	s.problem(s.keeper(shopKeeper, shopPoint, http.MethodPost, "/api/v1/pickup/deliveries/x/arrive", nil), http.StatusBadRequest, "bad_request")
	if l := s.deliveries(shopOtherPoint, ""); len(l.Deliveries) != 0 {
		t.Fatalf("point 4 sees %+v", l)
	}

	var d api.KeeperDelivery
	arrive(shopKeeper, shopPoint, rice.ID).must(t, http.StatusOK).JSON(t, &d)
	if st := orderStates(d); d.State != "arrived" || st[o1.OrderID] != "placed" || st[o2.OrderID] != "ready_for_pickup" {
		t.Fatalf("arrived %+v", d)
	}
	if err := s.ful.Ship(2, oil.ID); err != nil {
		t.Fatal(err)
	}
	arrive(shopKeeper, shopPoint, oil.ID).must(t, http.StatusOK).JSON(t, &d)
	if st := orderStates(d); st[o1.OrderID] != "ready_for_pickup" {
		t.Fatalf("oil arrived %+v", d)
	}
	// A repeated tap is answered as done.
	arrive(shopKeeper, shopPoint, oil.ID).must(t, http.StatusOK)
	if got := s.deliveries(shopPoint, "?state=arrived"); !slices.Equal(deliveryIDs(got), []uint64{rice.ID, oil.ID}) {
		t.Fatalf("arrived deliveries %v", deliveryIDs(got))
	}
	if got := s.deliveries(shopPoint, "?state=shipped"); len(got.Deliveries) != 0 {
		t.Fatalf("shipped deliveries %v", deliveryIDs(got))
	}
	page := s.deliveries(shopPoint, "?limit=1")
	if !slices.Equal(deliveryIDs(page), []uint64{rice.ID}) || page.NextCursor != fmt.Sprint(rice.ID) {
		t.Fatalf("first page %+v", page)
	}
	if page = s.deliveries(shopPoint, "?limit=1&cursor="+page.NextCursor); !slices.Equal(deliveryIDs(page), []uint64{oil.ID}) || page.NextCursor != "" {
		t.Fatalf("second page %+v", page)
	}
	s.problem(s.keeper(shopKeeper, shopPoint, http.MethodGet, "/api/v1/pickup/deliveries?state=open", nil), http.StatusBadRequest, "bad_request")
	s.problem(s.keeper(shopKeeper, shopPoint, http.MethodGet, "/api/v1/pickup/deliveries?cursor=x", nil), http.StatusBadRequest, "invalid_cursor")
	s.problem(s.keeper(shopKeeper, shopPoint, http.MethodGet, "/api/v1/pickup/deliveries?limit=0", nil), http.StatusBadRequest, "bad_request")

	// The member shows the code; the keeper checks it without handing out.
	code := s.codes.Code(o1.OrderID)
	wrong := fmt.Sprintf("%08d", (mustAtoi(t, code)+1)%100_000_000)
	check := func(keeper, point, order uint64, code string) response {
		return s.keeper(keeper, point, http.MethodPost, "/api/v1/pickup/check", map[string]any{"order_id": order, "code": code})
	}
	var ok api.KeeperCheck
	check(shopKeeper, shopPoint, o1.OrderID, code).must(t, http.StatusOK).JSON(t, &ok)
	if !ok.Valid || ok.Order == nil || ok.Order.OrderID != o1.OrderID || ok.Order.State != "ready_for_pickup" || len(ok.Order.Lines) != 2 || ok.Order.CollectBy == "" {
		t.Fatalf("check %+v", ok)
	}
	var no api.KeeperCheck
	check(shopKeeper, shopPoint, o1.OrderID, wrong).must(t, http.StatusOK).JSON(t, &no)
	if no.Valid || no.Order != nil {
		t.Fatalf("wrong code checked %+v", no)
	}
	for _, bad := range []string{"", "1234567", "123456789", "1234567a", "１２３４５６７８"} {
		s.problem(check(shopKeeper, shopPoint, o1.OrderID, bad), http.StatusUnprocessableEntity, "invalid_pickup_code")
	}
	s.problem(check(shopKeeper, shopPoint, 0, code), http.StatusUnprocessableEntity, "invalid_id")
	s.problem(check(shopKeeper, shopPoint, 77, code), http.StatusNotFound, "unknown_order")
	s.problem(check(shopKeeper, shopPoint, o3.OrderID, s.codes.Code(o3.OrderID)), http.StatusNotFound, "unknown_order")
	s.problem(check(shopOtherKeeper, shopOtherPoint, o1.OrderID, code), http.StatusNotFound, "unknown_order")
	s.problem(check(shopOtherKeeper, shopOtherPoint, o3.OrderID, s.codes.Code(o3.OrderID)), http.StatusConflict, "wrong_order_state")
	s.problem(s.keeper(shopKeeper, shopPoint, http.MethodPost, "/api/v1/pickup/check", `{"order_id":1,"code":"12345678","pin":1}`), http.StatusBadRequest, "unknown_field")
	s.problem(s.keeper(shopKeeper, shopPoint, http.MethodPost, "/api/v1/pickup/check", `{"order_id":1,`), http.StatusBadRequest, "malformed_json")

	// Hand-out: the wrong code, another point, then the right code.
	handOut := func(keeper, point, order uint64, code string) response {
		return s.keeper(keeper, point, http.MethodPost, fmt.Sprintf("/api/v1/pickup/orders/%d/hand-out", order), map[string]any{"code": code})
	}
	s.problem(handOut(shopKeeper, shopPoint, o1.OrderID, wrong), http.StatusForbidden, "bad_pickup_code")
	s.problem(handOut(shopOtherKeeper, shopOtherPoint, o1.OrderID, code), http.StatusNotFound, "unknown_order")
	s.problem(handOut(shopKeeper, shopPoint, o1.OrderID, "abc"), http.StatusUnprocessableEntity, "invalid_pickup_code")
	s.problem(handOut(shopKeeper, shopPoint, 77, code), http.StatusNotFound, "unknown_order")
	s.problem(handOut(shopOtherKeeper, shopOtherPoint, o3.OrderID, s.codes.Code(o3.OrderID)), http.StatusConflict, "wrong_order_state")
	var still api.WorkerOrder
	s.do(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", o1.OrderID), member, nil).must(t, http.StatusOK).JSON(t, &still)
	if still.State != "ready_for_pickup" || still.CollectBy == "" || still.PickupCode != code {
		t.Fatalf("before the hand-out %+v", still)
	}

	var handed api.KeeperOrder
	handOut(shopKeeper, shopPoint, o1.OrderID, code).must(t, http.StatusOK).JSON(t, &handed)
	if handed.State != "handed_out" || handed.HandedOutAt == "" || handed.MemberID != shopMember {
		t.Fatalf("handed out %+v", handed)
	}
	// A repeated tap is answered as done; a check after it says the order is gone.
	handOut(shopKeeper, shopPoint, o1.OrderID, code).must(t, http.StatusOK)
	s.problem(check(shopKeeper, shopPoint, o1.OrderID, code), http.StatusConflict, "wrong_order_state")

	var mine api.WorkerOrder
	s.do(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", o1.OrderID), member, nil).must(t, http.StatusOK).JSON(t, &mine)
	if mine.State != "handed_out" || mine.HandedOutAt == "" {
		t.Fatalf("the member sees %+v", mine)
	}
	// The points are spent: nothing held, the balance down by the order.
	if b := s.balances(member); b[programFestival] != [2]string{"167.00", "0.00"} || b[programOil] != [2]string{"0.00", "0.00"} {
		t.Fatalf("balances after pickup %v", b)
	}
	// Once handed out, the order can no longer be cancelled.
	s.problem(s.do(http.MethodPost, fmt.Sprintf("/api/v1/orders/%d/cancel", o1.OrderID), member, nil), http.StatusConflict, "wrong_order_state")

	// The keeper's changes are in the audit trail, refusals too.
	if got, want := keeperAudits(s.harness, "arrive_delivery"), []string{
		fmt.Sprintf("50 delivery:%d wrong_delivery_state", rice.ID),
		fmt.Sprintf("50 delivery:%d ok", rice.ID),
		fmt.Sprintf("50 delivery:%d ok", oil.ID),
	}; !slices.Equal(got, want) {
		t.Fatalf("arrival audit %q, want %q", got, want)
	}
	if got, want := keeperAudits(s.harness, "hand_out_order"), []string{
		fmt.Sprintf("50 order:%d bad_pickup_code", o1.OrderID),
		fmt.Sprintf("51 order:%d wrong_order_state", o3.OrderID),
		fmt.Sprintf("50 order:%d ok", o1.OrderID),
		fmt.Sprintf("50 order:%d ok", o1.OrderID),
	}; !slices.Equal(got, want) {
		t.Fatalf("hand-out audit %q, want %q", got, want)
	}
	_ = far
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			t.Fatalf("%q is not a number", s)
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// A keeper may try only a few codes a second.
func TestPickupCheckRateLimit(t *testing.T) {
	s := newShop(t)
	o := s.placed(s.member(shopMember, shopUnion), "rl", orderBody(shopPoint, "", [2]int64{skuRice, 1}))
	if err := s.ful.Ship(1, s.delivery(1, shopPoint).ID); err != nil {
		t.Fatal(err)
	}
	s.keeper(shopKeeper, shopPoint, http.MethodPost, fmt.Sprintf("/api/v1/pickup/deliveries/%d/arrive", s.delivery(1, shopPoint).ID), nil).must(t, http.StatusOK)
	keeper := s.token(api.RoleKeeper, shopKeeper, 0, shopPoint)
	// The clock stands still: five tries, then no more.
	for i := range 5 {
		s.do(http.MethodPost, "/api/v1/pickup/check", keeper, map[string]any{"order_id": o.OrderID, "code": fmt.Sprintf("%08d", i)}).must(t, http.StatusOK)
	}
	s.problem(s.do(http.MethodPost, "/api/v1/pickup/check", keeper, map[string]any{"order_id": o.OrderID, "code": s.codes.Code(o.OrderID)}),
		http.StatusTooManyRequests, "rate_limited")
	s.problem(s.do(http.MethodPost, fmt.Sprintf("/api/v1/pickup/orders/%d/hand-out", o.OrderID), keeper, map[string]any{"code": s.codes.Code(o.OrderID)}),
		http.StatusTooManyRequests, "rate_limited")
	// Another keeper, and the member's orders, have their own allowance.
	s.problem(s.do(http.MethodPost, "/api/v1/pickup/check", s.token(api.RoleKeeper, shopOtherKeeper, 0, shopOtherPoint),
		map[string]any{"order_id": o.OrderID, "code": "00000000"}), http.StatusNotFound, "unknown_order")
	var me api.WorkerOrder
	s.do(http.MethodGet, fmt.Sprintf("/api/v1/orders/%d", o.OrderID), s.member(shopMember, shopUnion), nil).must(t, http.StatusOK).JSON(t, &me)
	if me.State != "ready_for_pickup" {
		t.Fatalf("order %+v", me)
	}
}

// Only keepers call the keepers' endpoints.
func TestKeeperRoles(t *testing.T) {
	s := newShop(t)
	for _, ep := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/pickup/deliveries"}, {http.MethodPost, "/api/v1/pickup/deliveries/1/arrive"},
		{http.MethodPost, "/api/v1/pickup/check"}, {http.MethodPost, "/api/v1/pickup/orders/1/hand-out"},
	} {
		for _, tok := range []string{
			s.member(shopMember, shopUnion), s.token(api.RoleOfficer, 7, shopUnion, 0), s.token(api.RoleFederation, 1, 0, 0), s.token(api.RoleModule, 60, 0, 0),
		} {
			s.problem(s.do(ep.method, ep.path, tok, map[string]any{"order_id": 1, "code": "12345678"}), http.StatusForbidden, "forbidden")
		}
		s.problem(s.do(ep.method, ep.path, "", nil), http.StatusUnauthorized, "unauthenticated")
		s.problem(s.signed(1, ep.method, ep.path, nil), http.StatusUnauthorized, "unauthenticated")
	}
	// A keeper token without a point is not valid.
	s.problem(s.do(http.MethodGet, "/api/v1/pickup/deliveries", s.token(api.RoleKeeper, shopKeeper, 0, 0), nil), http.StatusUnauthorized, "unauthenticated")
}
