package api_test

import (
	"net/http"
	"testing"

	"huigong/api"
	"huigong/engine/shard"
	"huigong/engine/welfare"
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
