package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"huigong/api"
	"huigong/engine/shard"
	"huigong/engine/welfare"
)

// earnBalance reads a member's balance and available points of a program, and the union's
// budget, in fen.
func earnBalance(t *testing.T, h *harness, member welfare.MemberID, program welfare.ProgramID) (balanceFen, availableFen, budgetFen int64) {
	t.Helper()
	err := h.engine.Read(h.engine.UnionShard(11), func(st *welfare.State) {
		budgetFen, _ = st.BudgetFen(11)
		m, ok := st.Member(member)
		if !ok {
			return
		}
		hd, ok := m.Holding(program)
		if !ok {
			return
		}
		a, _ := st.Ledger().Account(hd.AccountID)
		balanceFen, availableFen = a.BalanceFen(), a.AvailableFen()
	})
	if err != nil {
		t.Fatal(err)
	}
	return
}

func earnAward(h *harness, token, key string, b any) response {
	h.t.Helper()
	if key == "" {
		return h.do(http.MethodPost, "/api/v1/awards", token, b)
	}
	return h.do(http.MethodPost, "/api/v1/awards", token, b, "Idempotency-Key", key)
}

func TestAwards(t *testing.T) {
	h := newHarness(t)
	partnerUnion(h)
	// Union 12 on its own, with an activity program of its own.
	us12 := h.engine.UnionShard(12)
	h.submit(us12, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 12, Officers: []welfare.OfficerID{8}}})
	h.submit(us12, shard.Command{Kind: welfare.CreateProgram, Officer: 8, Program: welfare.Program{ID: 61, UnionID: 12, Category: welfare.CategoryActivity,
		FromNanos: welfare.DayStartNanos(welfare.DaysFromCivil(2026, 1, 1)), ToNanos: welfare.DayStartNanos(welfare.DaysFromCivil(2027, 1, 1))}})
	h.submit(us12, shard.Command{Kind: welfare.RegisterMember, MemberID: 200, UnionID: 12, Registered: true, DuesPaid: true})
	h.submit(h.engine.UnionShard(11), shard.Command{Kind: welfare.RegisterMember, MemberID: 102, UnionID: 11, Registered: true, DuesPaid: false})
	module := h.token(api.RoleModule, 500, 0, 0)
	otherModule := h.token(api.RoleModule, 501, 0, 0)
	quiz := api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 60, Activity: "quiz", Amount: "6.00"}
	_, _, budget0 := earnBalance(t, h, 100, 60)

	var a api.AwardResponse
	first := earnAward(h, module, "quiz-42-member-100", quiz).must(t, http.StatusCreated)
	first.JSON(t, &a)
	if a.AwardID == 0 || a.MemberID != 100 || a.ProgramID != 60 || a.Amount != "6.00" || a.Activity != "quiz" || a.Day != "2026-02-10" || a.Reversed {
		t.Fatalf("award %+v", a)
	}
	if bal, _, budget := earnBalance(t, h, 100, 60); bal != 6_00 || budget != budget0-6_00 {
		t.Fatalf("balance %d budget %d", bal, budget)
	}
	// A retry answers the same award and pays nothing more.
	retry := earnAward(h, module, "quiz-42-member-100", quiz).must(t, http.StatusCreated)
	if string(retry.Body) != string(first.Body) || retry.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry %s", retry.Body)
	}
	if bal, _, _ := earnBalance(t, h, 100, 60); bal != 6_00 {
		t.Fatalf("a retry paid again: %d", bal)
	}
	// The same module retrying with a session made from its token, or with a token that spells
	// its id "0500", is the same caller: the same award, nothing paid again.
	var sess api.SessionResponse
	h.do(http.MethodPost, "/api/v1/session", module, nil).must(t, http.StatusCreated).JSON(t, &sess)
	padded, err := h.issuer.Sign(api.Claims{Role: api.RoleModule, RegisteredClaims: jwt.RegisteredClaims{Subject: "0500"}}, h.wall(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, bearer := range []string{sess.Token, padded} {
		again := earnAward(h, bearer, "quiz-42-member-100", quiz).must(t, http.StatusCreated)
		if string(again.Body) != string(first.Body) {
			t.Fatalf("retry by the same module: %s, want %s", again.Body, first.Body)
		}
	}
	if bal, _, _ := earnBalance(t, h, 100, 60); bal != 6_00 {
		t.Fatalf("a retry by session paid again: %d", bal)
	}
	// The same key with another amount is another request, refused by the engine.
	changed := quiz
	changed.Amount = "7.00"
	problemCode(t, earnAward(h, module, "quiz-42-member-100", changed), http.StatusConflict, "exists_with_different_fields")
	// The daily cap of quizzes is 10 yuan: 4 are left.
	r := earnAward(h, module, "quiz-43-member-100", quiz)
	problemCode(t, r, http.StatusConflict, "cap_exceeded")
	if p := r.Problem(t); p.RoomLeft != "4.00" {
		t.Fatalf("room left %+v", p)
	}
	// Another module's key is another award, and so is within the same cap.
	small := quiz
	small.Amount = "4.00"
	var b api.AwardResponse
	earnAward(h, otherModule, "quiz-42-member-100", small).must(t, http.StatusCreated).JSON(t, &b)
	if b.AwardID == a.AwardID {
		t.Fatal("two modules' keys gave one award")
	}
	// A refused award is decided afresh on retry: after the cap the room is zero.
	problemCode(t, earnAward(h, module, "quiz-43-member-100", quiz), http.StatusConflict, "cap_exceeded")

	for _, tc := range []struct {
		name   string
		req    api.AwardRequest
		status int
		code   string
	}{
		{"a festival program", api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 5, Activity: "lecture", Amount: "1.00"}, 422, "invalid_category"},
		{"an unknown program", api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 99, Activity: "lecture", Amount: "1.00"}, 404, "unknown_program"},
		{"another union's program", api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 61, Activity: "lecture", Amount: "1.00"}, 404, "unknown_program"},
		{"a member of another union", api.AwardRequest{UnionID: 12, MemberID: 100, ProgramID: 61, Activity: "lecture", Amount: "1.00"}, 409, "not_registered"},
		{"dues not paid", api.AwardRequest{UnionID: 11, MemberID: 102, ProgramID: 60, Activity: "lecture", Amount: "1.00"}, 409, "not_registered"},
		{"an unfunded union", api.AwardRequest{UnionID: 12, MemberID: 200, ProgramID: 61, Activity: "lecture", Amount: "1.00"}, 409, "budget_insufficient"},
		{"zero", api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 60, Activity: "lecture", Amount: "0"}, 422, "invalid_amount"},
		{"negative", api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 60, Activity: "lecture", Amount: "-1.00"}, 422, "invalid_amount"},
		{"three decimals", api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 60, Activity: "lecture", Amount: "0.001"}, 422, "invalid_amount"},
		{"not a number", api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 60, Activity: "lecture", Amount: "five"}, 422, "invalid_amount"},
		{"overflowing", api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 60, Activity: "lecture", Amount: "100000000000000000"}, 422, "invalid_amount"},
		{"no activity", api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 60, Amount: "1.00"}, 422, "bad_request"},
		{"odd activity", api.AwardRequest{UnionID: 11, MemberID: 100, ProgramID: 60, Activity: "Quiz!", Amount: "1.00"}, 422, "bad_request"},
		{"no union", api.AwardRequest{MemberID: 100, ProgramID: 60, Activity: "lecture", Amount: "1.00"}, 422, "invalid_id"},
		{"no member", api.AwardRequest{UnionID: 11, ProgramID: 60, Activity: "lecture", Amount: "1.00"}, 422, "invalid_id"},
		{"member id too large", api.AwardRequest{UnionID: 11, MemberID: 1 << 53, ProgramID: 60, Activity: "lecture", Amount: "1.00"}, 422, "invalid_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problemCode(t, earnAward(h, module, "case-"+tc.name, tc.req), tc.status, tc.code)
		})
	}
	for _, tc := range []struct {
		name, body, code string
		status           int
	}{
		{"unknown field", `{"union_id":11,"member_id":100,"program_id":60,"activity":"quiz","amount":"1.00","bonus":true}`, "unknown_field", 400},
		{"malformed", `{"union_id":11,`, "malformed_json", 400},
		{"amount as a number", `{"union_id":11,"member_id":100,"program_id":60,"activity":"quiz","amount":1}`, "bad_request", 400},
		{"negative id", `{"union_id":-11,"member_id":100,"program_id":60,"activity":"quiz","amount":"1.00"}`, "bad_request", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problemCode(t, earnAward(h, module, "raw-"+tc.name, []byte(tc.body)), tc.status, tc.code)
		})
	}
	problemCode(t, earnAward(h, module, "", quiz), http.StatusBadRequest, "idempotency_key_required")
	// Only modules award.
	problemCode(t, earnAward(h, h.token(api.RoleMember, 100, 11, 0), "self-award", quiz), http.StatusForbidden, "forbidden")
	problemCode(t, earnAward(h, h.token(api.RoleOfficer, 7, 11, 0), "officer-award", quiz), http.StatusForbidden, "forbidden")
	problemCode(t, earnAward(h, h.token(api.RoleFederation, 1, 0, 0), "federation-award", quiz), http.StatusForbidden, "forbidden")
	problemCode(t, earnAward(h, "", "anonymous", quiz), http.StatusUnauthorized, "unauthenticated")
	if bal, _, budget := earnBalance(t, h, 100, 60); bal != 10_00 || budget != budget0-10_00 {
		t.Fatalf("after refusals: balance %d budget %d", bal, budget)
	}

	// Every decided call is audited as the module's.
	audits := partnerAudits(h, "award_points")
	if len(audits) == 0 || audits[0].Role != "platform_module" || audits[0].Actor != 500 || audits[0].Union != 11 || audits[0].Outcome != "ok" {
		t.Fatalf("award audits %+v", audits)
	}

	// Reversal.
	var rev api.ReverseAwardResponse
	path := "/api/v1/awards/" + itoa(a.AwardID) + "/reverse"
	problemCode(t, h.do(http.MethodPost, path, h.token(api.RoleMember, 100, 11, 0), api.ReverseAwardRequest{UnionID: 11}), http.StatusForbidden, "forbidden")
	problemCode(t, h.do(http.MethodPost, path, module, api.ReverseAwardRequest{UnionID: 12}), http.StatusNotFound, "unknown_award")
	problemCode(t, h.do(http.MethodPost, "/api/v1/awards/12345/reverse", module, api.ReverseAwardRequest{UnionID: 11}), http.StatusNotFound, "unknown_award")
	problemCode(t, h.do(http.MethodPost, "/api/v1/awards/abc/reverse", module, api.ReverseAwardRequest{UnionID: 11}), http.StatusBadRequest, "bad_request")
	problemCode(t, h.do(http.MethodPost, path, module, api.ReverseAwardRequest{}), http.StatusUnprocessableEntity, "invalid_id")
	problemCode(t, h.do(http.MethodPost, path, module, `{"union_id":11,"why":"rain"}`), http.StatusBadRequest, "unknown_field")
	if bal, _, _ := earnBalance(t, h, 100, 60); bal != 10_00 {
		t.Fatalf("refused reversals changed the balance: %d", bal)
	}
	h.do(http.MethodPost, path, module, api.ReverseAwardRequest{UnionID: 11}).must(t, http.StatusOK).JSON(t, &rev)
	if rev.AwardID != a.AwardID || rev.TakenBack != "6.00" || rev.AlreadySpent != "0.00" {
		t.Fatalf("reversal %+v", rev)
	}
	if bal, _, budget := earnBalance(t, h, 100, 60); bal != 4_00 || budget != budget0-4_00 {
		t.Fatalf("after the reversal: balance %d budget %d", bal, budget)
	}
	if a := partnerAudits(h, "reverse_award"); len(a) != 1 || a[0].Role != "platform_module" || a[0].Target != "award:"+itoa(rev.AwardID) {
		t.Fatalf("reversal audits %+v", a)
	}
}

// Points awarded for an activity that is then cancelled do not stay with the member: what is
// left of the award is taken back, what the member spent is reported, and a second reversal
// changes nothing.
func TestKnownFailure_AwardKeptAfterCancel(t *testing.T) {
	r := newPartnerRig(t, api.WebhookOptions{})
	h := r.harness
	partnerUnion(h)
	partnerApprove(h, true, 1)
	partnerPutSKU(t, h, 1, 9001, "3.00", 10)
	module := h.token(api.RoleModule, 500, 0, 0)
	// Member 103 joins after the festival issuance, so its only points are the award's.
	h.submit(h.engine.UnionShard(11), shard.Command{Kind: welfare.RegisterMember, MemberID: 103, UnionID: 11, Registered: true, DuesPaid: true})

	var a api.AwardResponse
	earnAward(h, module, "lecture-7", api.AwardRequest{UnionID: 11, MemberID: 103, ProgramID: 60, Activity: "lecture", Amount: "10.00"}).
		must(t, http.StatusCreated).JSON(t, &a)
	_, _, budgetAwarded := earnBalance(t, h, 103, 60)

	// The member spends 6 yuan of it: an order paid with the activity points, shipped,
	// arrived and handed out.
	partnerCheckout(t, h, 103, 2000, welfare.OrderLine{SKU: 9001, Quantity: 2, UnitPriceFen: 3_00, MerchantID: 1, Category: "food"})
	if bal, avail, _ := earnBalance(t, h, 103, 60); bal != 10_00 || avail != 4_00 {
		t.Fatalf("the order did not hold the activity points: balance %d available %d", bal, avail)
	}
	ds := r.ful.Deliveries(1, 0)
	if len(ds) != 1 {
		t.Fatalf("deliveries %+v", ds)
	}
	h.signed(1, http.MethodPost, "/api/v1/partner/deliveries/"+itoa(ds[0].ID)+"/ship", nil).must(t, http.StatusOK)
	if err := r.ful.Arrive(3, ds[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := r.ful.HandOut(3, 2000, h.codes.Code(2000)); err != nil {
		t.Fatal(err)
	}
	if bal, avail, _ := earnBalance(t, h, 103, 60); bal != 4_00 || avail != 4_00 {
		t.Fatalf("after hand-out: balance %d available %d", bal, avail)
	}

	// The lecture is cancelled.
	path := "/api/v1/awards/" + itoa(a.AwardID) + "/reverse"
	var rev api.ReverseAwardResponse
	h.do(http.MethodPost, path, module, api.ReverseAwardRequest{UnionID: 11}).must(t, http.StatusOK).JSON(t, &rev)
	if rev.TakenBack != "4.00" || rev.AlreadySpent != "6.00" {
		t.Fatalf("reversal %+v", rev)
	}
	bal, avail, budget := earnBalance(t, h, 103, 60)
	if bal != 0 || avail != 0 || budget != budgetAwarded+4_00 {
		t.Fatalf("the member kept cancelled points: balance %d available %d; budget %d, want %d", bal, avail, budget, budgetAwarded+4_00)
	}

	// A second reversal answers the same and changes nothing.
	var again api.ReverseAwardResponse
	h.do(http.MethodPost, path, module, api.ReverseAwardRequest{UnionID: 11}).must(t, http.StatusOK).JSON(t, &again)
	if again != rev {
		t.Fatalf("second reversal %+v, first %+v", again, rev)
	}
	if b2, a2, g2 := earnBalance(t, h, 103, 60); b2 != bal || a2 != avail || g2 != budget {
		t.Fatalf("a second reversal changed balances: %d %d %d", b2, a2, g2)
	}
}
