package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/xuri/excelize/v2"

	"huigong/api"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

const offXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

func init() {
	// The harness validates every success body against the document; an XLSX body is bytes.
	openapi3filter.RegisterBodyDecoder(offXLSX, openapi3filter.FileBodyDecoder)
}

// offRig is union 11 with officers 7 (the maker) and 8 (the checker), members 100 to 104 on its
// register with dues paid, and a budget of 10,000 yuan; union 12 with officer 9 and member 200.
type offRig struct {
	h                     *harness
	maker, checker, other string
}

func newOffRig(t *testing.T) *offRig {
	h := newHarness(t)
	e := h.engine
	for _, u := range []struct {
		id       welfare.UnionID
		officers []welfare.OfficerID
	}{{11, []welfare.OfficerID{7, 8}}, {12, []welfare.OfficerID{9}}} {
		h.submit(e.UnionShard(u.id), shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: u.id, Name: "Union " + itoa(uint64(u.id)), Officers: u.officers}})
	}
	for m := welfare.MemberID(100); m <= 104; m++ {
		h.submit(e.UnionShard(11), shard.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: 11, Registered: true, DuesPaid: true})
	}
	h.submit(e.UnionShard(12), shard.Command{Kind: welfare.RegisterMember, MemberID: 200, UnionID: 12, Registered: true, DuesPaid: true})
	h.submit(e.UnionShard(11), shard.Command{Kind: welfare.FundUnion, UnionID: 11, TransferID: 1, AmountFen: 10_000_00})
	return &offRig{h: h, maker: h.token(api.RoleOfficer, 7, 11, 0), checker: h.token(api.RoleOfficer, 8, 11, 0),
		other: h.token(api.RoleOfficer, 9, 12, 0)}
}

// program is a festival program body around the spring festival of 2026.
func offProgram(id uint64, amount string) map[string]any {
	return map[string]any{"id": id, "name": "Spring festival", "category": "festival", "amount_per_member": amount,
		"valid_from": "2026-02-01", "valid_to": "2026-03-01"}
}

func (r *offRig) create(t *testing.T, body map[string]any) api.ProgramResponse {
	t.Helper()
	var p api.ProgramResponse
	r.h.do(http.MethodPost, "/api/v1/unions/11/programs", r.maker, body).must(t, http.StatusCreated).JSON(t, &p)
	return p
}

func offMustProblem(t *testing.T, res response, status int, code string) api.Problem {
	t.Helper()
	p := res.must(t, status).Problem(t)
	if p.Code != code {
		t.Fatalf("problem %+v, want code %s", p, code)
	}
	return p
}

// offAudited returns the audit entries of a union (all when zero) with an action.
func offAudited(h *harness, union uint64, action string) []api.AuditEntry {
	all, _ := h.audit.Entries(union)
	var out []api.AuditEntry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestOfficerUnion(t *testing.T) {
	r := newOffRig(t)
	h := r.h
	var u api.UnionResponse
	h.do(http.MethodGet, "/api/v1/unions/11", r.maker, nil).must(t, http.StatusOK).JSON(t, &u)
	if u.ID != 11 || u.Name != "Union 11" || !slices.Equal(u.Officers, []uint64{7, 8}) || u.Budget.Available != "10000.00" ||
		u.Budget.Balance != "10000.00" || u.MembersCount != 5 || u.RegisteredCount != 5 {
		t.Fatalf("union %+v", u)
	}
	// Another union's officer, an officer the union does not list, a union that does not exist.
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11", r.other, nil), http.StatusForbidden, "forbidden")
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11", h.token(api.RoleOfficer, 99, 11, 0), nil), http.StatusForbidden, "unknown_officer")
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/13", h.token(api.RoleOfficer, 7, 13, 0), nil), http.StatusNotFound, "unknown_union")
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/x", r.maker, nil), http.StatusBadRequest, "bad_request")
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11", "", nil), http.StatusUnauthorized, "unauthenticated")

	var page api.UnionMemberList
	h.do(http.MethodGet, "/api/v1/unions/11/members?limit=2", r.maker, nil).must(t, http.StatusOK).JSON(t, &page)
	if len(page.Members) != 2 || page.Members[0].MemberID != 100 || page.NextCursor != "101" {
		t.Fatalf("members page %+v", page)
	}
	var ids []uint64
	for cursor := ""; ; {
		var p api.UnionMemberList
		h.do(http.MethodGet, "/api/v1/unions/11/members?limit=2&cursor="+cursor, r.maker, nil).must(t, http.StatusOK).JSON(t, &p)
		for _, m := range p.Members {
			ids = append(ids, m.MemberID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if !slices.Equal(ids, []uint64{100, 101, 102, 103, 104}) {
		t.Fatalf("the register by pages: %v", ids)
	}
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11/members?limit=0", r.maker, nil), http.StatusBadRequest, "bad_request")
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11/members?cursor=abc", r.maker, nil), http.StatusBadRequest, "invalid_cursor")
}

func TestOfficerPrograms(t *testing.T) {
	r := newOffRig(t)
	h := r.h
	body := offProgram(5, "300.00")
	body["whitelist"] = map[string]any{"categories": []string{"food"}, "sku_ids": []uint64{900}, "merchant_ids": []uint64{1}}
	body["gift"] = map[string]any{"choose": 1, "options": []uint64{900, 901}}
	p := r.create(t, body)
	if p.ID != 5 || p.UnionID != 11 || p.Category != "festival" || p.AmountPerMember != "300.00" || p.Status != "active" ||
		p.CreatedBy != 7 || p.ApprovedBy != 0 || p.ValidFrom != "2026-02-01T00:00:00+08:00" || p.ValidTo != "2026-03-01T00:00:00+08:00" ||
		!slices.Equal(p.Whitelist.SKUIDs, []uint64{900}) || p.Gift == nil || p.Gift.Choose != 1 {
		t.Fatalf("program %+v", p)
	}
	// A retry is answered the same; other fields under the same id are refused.
	if again := r.create(t, body); again.ID != 5 {
		t.Fatalf("retry %+v", again)
	}
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs", r.maker, offProgram(5, "100.00")), http.StatusConflict, "exists_with_different_fields")
	// The id from the Idempotency-Key: the same key makes no second program.
	noID := offProgram(0, "50.00")
	delete(noID, "id")
	noID["category"], noID["name"] = "general", "Summer"
	var a, b api.ProgramResponse
	h.do(http.MethodPost, "/api/v1/unions/11/programs", r.maker, noID, "Idempotency-Key", "k1").must(t, http.StatusCreated).JSON(t, &a)
	h.do(http.MethodPost, "/api/v1/unions/11/programs", r.maker, noID, "Idempotency-Key", "k1").must(t, http.StatusCreated).JSON(t, &b)
	if a.ID == 0 || a.ID != b.ID || a.ID >= 1<<53 {
		t.Fatalf("ids from one key: %d %d", a.ID, b.ID)
	}
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs", r.maker, noID), http.StatusBadRequest, "idempotency_key_required")

	var got api.ProgramResponse
	h.do(http.MethodGet, "/api/v1/unions/11/programs/5", r.checker, nil).must(t, http.StatusOK).JSON(t, &got)
	if got.Name != "Spring festival" {
		t.Fatalf("get %+v", got)
	}
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11/programs/6", r.maker, nil), http.StatusNotFound, "unknown_program")
	// Union 12's program is not reachable through union 11, even by id.
	h.submit(h.engine.UnionShard(12), shard.Command{Kind: welfare.CreateProgram, Officer: 9, Program: welfare.Program{ID: 50, UnionID: 12,
		Name: "Other", Category: welfare.CategoryGeneral, AmountPerMemberFen: 1_00, FromNanos: h.now.Load(), ToNanos: h.now.Load() + 1e15}})
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11/programs/50", r.maker, nil), http.StatusNotFound, "unknown_program")

	var list api.ProgramList
	h.do(http.MethodGet, "/api/v1/unions/11/programs?limit=1", r.maker, nil).must(t, http.StatusOK).JSON(t, &list)
	if len(list.Programs) != 1 || list.Programs[0].ID != 5 || list.NextCursor != "5" {
		t.Fatalf("first page %+v", list)
	}
	h.do(http.MethodGet, "/api/v1/unions/11/programs?limit=1&cursor=5", r.maker, nil).must(t, http.StatusOK).JSON(t, &list)
	if len(list.Programs) != 1 || list.Programs[0].ID != a.ID || list.NextCursor != "" {
		t.Fatalf("second page %+v", list)
	}

	// Patch: name, amount, window end, whitelist; an absent field stays.
	var patched api.ProgramResponse
	h.do(http.MethodPatch, "/api/v1/unions/11/programs/5", r.checker, map[string]any{"name": "Spring", "amount_per_member": "400",
		"valid_to": "2026-02-25", "whitelist": map[string]any{"categories": []string{"oil"}}}).must(t, http.StatusOK).JSON(t, &patched)
	if patched.Name != "Spring" || patched.AmountPerMember != "400.00" || patched.ValidTo != "2026-02-25T00:00:00+08:00" ||
		patched.ValidFrom != p.ValidFrom || !slices.Equal(patched.Whitelist.Categories, []string{"oil"}) || len(patched.Whitelist.SKUIDs) != 0 {
		t.Fatalf("patched %+v", patched)
	}
	offMustProblem(t, h.do(http.MethodPatch, "/api/v1/unions/11/programs/5", r.maker, map[string]any{"valid_from": "2026-02-26"}),
		http.StatusUnprocessableEntity, "invalid_window")
	offMustProblem(t, h.do(http.MethodPatch, "/api/v1/unions/11/programs/5", r.maker, map[string]any{"valid_to": "2026-02-12"}),
		http.StatusConflict, "outside_calendar")
	offMustProblem(t, h.do(http.MethodPatch, "/api/v1/unions/11/programs/5", r.maker, map[string]any{"category": "birthday"}),
		http.StatusBadRequest, "unknown_field")
	offMustProblem(t, h.do(http.MethodPatch, "/api/v1/unions/11/programs/77", r.maker, map[string]any{"name": "x"}),
		http.StatusNotFound, "unknown_program")

	// Revoke: the program stops; revoking again is answered the same.
	var revoked api.ProgramResponse
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/revoke", r.maker, nil).must(t, http.StatusOK).JSON(t, &revoked)
	if revoked.Status != "revoked" {
		t.Fatalf("revoked %+v", revoked)
	}
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/revoke", r.maker, nil).must(t, http.StatusOK)
	offMustProblem(t, h.do(http.MethodPatch, "/api/v1/unions/11/programs/5", r.maker, map[string]any{"name": "Again"}),
		http.StatusConflict, "program_not_active")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs/5/approve", r.checker, nil), http.StatusConflict, "program_not_active")

	// Every change is audited with the officer, refusals too.
	for action, want := range map[string]int{"create_program": 5, "update_program": 3, "revoke_program": 2, "approve_program": 1} {
		if got := offAudited(h, 11, action); len(got) != want {
			t.Fatalf("%d %s entries, want %d: %+v", len(got), action, want, got)
		}
	}
	e := offAudited(h, 11, "update_program")[0]
	if e.Role != "union_officer" || e.Actor != 8 || e.Target != "program:5" || e.Outcome != "ok" {
		t.Fatalf("audit entry %+v", e)
	}
	if last := offAudited(h, 11, "update_program"); last[len(last)-1].Outcome != "program_not_active" {
		t.Fatalf("refused update audited as %+v", last[len(last)-1])
	}
}

// Bad input is refused with a clear problem and changes nothing.
func TestOfficerProgramBadInput(t *testing.T) {
	r := newOffRig(t)
	h := r.h
	with := func(k string, v any) map[string]any {
		b := offProgram(5, "300.00")
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	cases := []struct {
		name   string
		body   any
		ctype  string
		status int
		code   string
	}{
		{"malformed JSON", `{"id": 5, "name": `, "", 400, "malformed_json"},
		{"trailing data", `{"id": 5} {}`, "", 400, "malformed_json"},
		{"unknown field", with("colour", "red"), "", 400, "unknown_field"},
		{"wrong type", with("id", "five"), "", 400, "bad_request"},
		{"wrong content type", offProgram(5, "300.00"), "text/plain", 415, "unsupported_media_type"},
		{"id too large", with("id", uint64(1)<<53), "", 422, "invalid_id"},
		{"no name", with("name", "  "), "", 422, "invalid_name"},
		{"control characters in the name", with("name", "a\x00b"), "", 422, "invalid_name"},
		{"name too long", with("name", strings.Repeat("福", 101)), "", 422, "invalid_name"},
		{"unknown category", with("category", "cash"), "", 422, "invalid_category"},
		{"negative amount", with("amount_per_member", "-1.00"), "", 422, "invalid_amount"},
		{"three decimals", with("amount_per_member", "1.005"), "", 422, "invalid_amount"},
		{"not a number", with("amount_per_member", "abc"), "", 422, "invalid_amount"},
		{"exponent", with("amount_per_member", "1e3"), "", 422, "invalid_amount"},
		{"empty amount", with("amount_per_member", ""), "", 422, "invalid_amount"},
		{"over-large amount", with("amount_per_member", "10000000000000.00"), "", 422, "invalid_amount"},
		{"amount as a number", with("amount_per_member", 300), "", 400, "bad_request"},
		{"bad date", with("valid_from", "2026-13-01"), "", 422, "invalid_window"},
		{"bad time", with("valid_to", "tomorrow"), "", 422, "invalid_window"},
		{"window reversed", with("valid_from", "2026-03-02"), "", 422, "invalid_window"},
		{"empty window", with("valid_to", "2026-02-01"), "", 422, "invalid_window"},
		{"window over", map[string]any{"id": 5, "name": "x", "category": "festival", "amount_per_member": "1", "valid_from": "2025-12-25", "valid_to": "2026-01-05"}, "", 409, "outside_window"},
		{"no festival in the window", map[string]any{"id": 5, "name": "x", "category": "festival", "amount_per_member": "1", "valid_from": "2026-03-01", "valid_to": "2026-03-20"}, "", 409, "outside_calendar"},
		{"whitelist sku id 0", with("whitelist", map[string]any{"sku_ids": []uint64{0}}), "", 422, "invalid_id"},
		{"whitelist sku twice", with("whitelist", map[string]any{"sku_ids": []uint64{3, 3}}), "", 422, "bad_request"},
		{"whitelist empty category", with("whitelist", map[string]any{"categories": []string{""}}), "", 422, "bad_request"},
		{"gift choose 0", with("gift", map[string]any{"choose": 0, "options": []uint64{1}}), "", 422, "invalid_gift"},
		{"gift choose more than the options", with("gift", map[string]any{"choose": 2, "options": []uint64{1}}), "", 422, "invalid_gift"},
		{"gift option twice", with("gift", map[string]any{"choose": 1, "options": []uint64{1, 1}}), "", 422, "invalid_gift"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var headers []string
			if c.ctype != "" {
				headers = []string{"Content-Type", c.ctype}
			}
			offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs", r.maker, c.body, headers...), c.status, c.code)
		})
	}
	var list api.ProgramList
	h.do(http.MethodGet, "/api/v1/unions/11/programs", r.maker, nil).must(t, http.StatusOK).JSON(t, &list)
	if len(list.Programs) != 0 {
		t.Fatalf("bad input made programs: %+v", list.Programs)
	}
	// Input refused before the engine is not a change; the engine's refusals are audited.
	if got := offAudited(h, 11, "create_program"); len(got) != 2 || got[0].Outcome != "outside_window" || got[1].Outcome != "outside_calendar" {
		t.Fatalf("audit %+v", got)
	}
}

// Maker-checker through the API: the maker cannot approve; a second officer can; then the
// issuance above the threshold goes through and the program's terms are fixed.
func TestOfficerMakerChecker(t *testing.T) {
	r := newOffRig(t)
	h := r.h
	fed := h.token(api.RoleFederation, 1, 0, 0)
	h.do(http.MethodPut, "/api/v1/federation/approval-threshold", fed, map[string]any{"amount": "500.00"}).must(t, http.StatusOK)
	r.create(t, offProgram(5, "300.00"))
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs/5/issue", r.maker, nil), http.StatusConflict, "approval_required")
	// Below the threshold, one member at a time is fine, and counts towards it.
	var one api.IssueResponse
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/issue", r.maker, map[string]any{"members": []uint64{100}}).must(t, http.StatusOK).JSON(t, &one)
	if one.IssuedCount != 1 || one.IssuedTotal != "300.00" {
		t.Fatalf("issue %+v", one)
	}
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs/5/issue", r.maker, map[string]any{"members": []uint64{101, 102}}),
		http.StatusConflict, "approval_required")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs/5/approve", r.maker, nil), http.StatusConflict, "same_officer")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs/5/approve", r.other, nil), http.StatusForbidden, "forbidden")
	var approved api.ProgramResponse
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/approve", r.checker, nil).must(t, http.StatusOK).JSON(t, &approved)
	if approved.ApprovedBy != 8 || approved.CreatedBy != 7 {
		t.Fatalf("approved %+v", approved)
	}
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/approve", r.checker, nil).must(t, http.StatusOK)
	var all api.IssueResponse
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/issue", r.maker, nil).must(t, http.StatusOK).JSON(t, &all)
	if all.IssuedCount != 4 || all.IssuedTotal != "1200.00" || len(all.Refused) != 1 ||
		all.Refused[0] != (api.IssueRefusal{MemberID: 100, Code: "already_issued"}) {
		t.Fatalf("issue to all %+v", all)
	}
	offMustProblem(t, h.do(http.MethodPatch, "/api/v1/unions/11/programs/5", r.maker, map[string]any{"amount_per_member": "1.00"}),
		http.StatusConflict, "program_has_issued")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs/5/issue", r.maker, nil), http.StatusConflict, "nothing_to_issue")
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs/5/issue", r.maker, map[string]any{"members": []uint64{100}}),
		http.StatusConflict, "already_issued")
	var u api.UnionResponse
	h.do(http.MethodGet, "/api/v1/unions/11", r.maker, nil).must(t, http.StatusOK).JSON(t, &u)
	if u.Budget.Available != "8500.00" {
		t.Fatalf("budget %+v", u.Budget)
	}
	if got := offAudited(h, 11, "approve_program"); len(got) != 3 || got[0].Outcome != "same_officer" || got[1].Actor != 8 {
		t.Fatalf("approvals audited %+v", got)
	}
	if got := offAudited(h, 11, "issue_program"); len(got) != 6 {
		t.Fatalf("issuances audited %+v", got)
	}
	if got := offAudited(h, 0, "set_approval_threshold"); len(got) != 1 || got[0].Role != "federation_officer" {
		t.Fatalf("threshold audited %+v", got)
	}
}

func TestOfficerIssue(t *testing.T) {
	r := newOffRig(t)
	h := r.h
	// Festival goods are capped at 1,300 yuan a member a year: after 1,000, 300 is left.
	r.create(t, offProgram(5, "1000.00"))
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/approve", r.checker, nil).must(t, http.StatusOK)
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/issue", r.maker, map[string]any{"members": []uint64{100}}).must(t, http.StatusOK)
	r.create(t, offProgram(6, "500.00"))
	var res api.IssueResponse
	h.do(http.MethodPost, "/api/v1/unions/11/programs/6/issue", r.maker, map[string]any{"members": []uint64{100, 101, 999}}).
		must(t, http.StatusOK).JSON(t, &res)
	if res.IssuedCount != 1 || res.IssuedTotal != "500.00" || len(res.Refused) != 2 ||
		res.Refused[0] != (api.IssueRefusal{MemberID: 100, Code: "cap_exceeded", RoomLeft: "300.00"}) ||
		res.Refused[1] != (api.IssueRefusal{MemberID: 999, Code: "not_registered"}) {
		t.Fatalf("issue %+v", res)
	}
	// One member, refused: its own reason, with the room left.
	p := offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs/6/issue", r.maker, map[string]any{"members": []uint64{100}}),
		http.StatusConflict, "cap_exceeded")
	if p.RoomLeft != "300.00" {
		t.Fatalf("problem %+v", p)
	}
	// Amounts per member.
	h.do(http.MethodPost, "/api/v1/unions/11/programs/6/issue", r.maker, map[string]any{"members": []uint64{102, 103}, "amounts": []string{"12.50", "300"}}).
		must(t, http.StatusOK).JSON(t, &res)
	if res.IssuedCount != 2 || res.IssuedTotal != "312.50" {
		t.Fatalf("issue with amounts %+v", res)
	}
	// The budget: 10,000 less 1,000, 500 and 312.50 is 8,187.50; a general program of 9,000 a
	// member does not fit.
	gen := offProgram(7, "9000.00")
	gen["category"] = "general"
	r.create(t, gen)
	h.do(http.MethodPost, "/api/v1/unions/11/programs/7/approve", r.checker, nil).must(t, http.StatusOK)
	p = offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs/7/issue", r.maker, map[string]any{"members": []uint64{104}}),
		http.StatusConflict, "budget_insufficient")
	if p.RoomLeft != "8187.50" {
		t.Fatalf("problem %+v", p)
	}
	// Bad input changes nothing.
	for _, c := range []struct {
		body   any
		status int
		code   string
	}{
		{map[string]any{"members": []uint64{104}, "amounts": []string{}}, 200, ""}, // An empty amounts list means the program's amount.
		{map[string]any{"members": []uint64{0}}, 422, "invalid_id"},
		{map[string]any{"members": []uint64{104, 104}}, 422, "bad_request"},
		{map[string]any{"members": []uint64{104}, "amounts": []string{"1", "2"}}, 422, "invalid_amount"},
		{map[string]any{"amounts": []string{"1"}}, 422, "invalid_amount"},
		{map[string]any{"members": []uint64{104}, "amounts": []string{"0"}}, 422, "invalid_amount"},
		{map[string]any{"members": []uint64{104}, "amounts": []string{"-5"}}, 422, "invalid_amount"},
		{map[string]any{"members": []uint64{104}, "amounts": []string{"5.001"}}, 422, "invalid_amount"},
		{map[string]any{"members": []uint64{104}, "amounts": []string{"1000000000001"}}, 422, "invalid_amount"},
		{map[string]any{"members": []uint64{104}, "amounts": []float64{5}}, 400, "bad_request"},
		{map[string]any{"members": "all"}, 400, "bad_request"},
		{`{"members": [104}`, 400, "malformed_json"},
		{map[string]any{"member": []uint64{104}}, 400, "unknown_field"},
	} {
		res := h.do(http.MethodPost, "/api/v1/unions/11/programs/7/issue", r.maker, c.body)
		if c.status == 200 {
			offMustProblem(t, res, http.StatusConflict, "budget_insufficient")
			continue
		}
		offMustProblem(t, res, c.status, c.code)
	}
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/programs/8/issue", r.maker, nil), http.StatusNotFound, "unknown_program")
	var u api.UnionResponse
	h.do(http.MethodGet, "/api/v1/unions/11", r.maker, nil).must(t, http.StatusOK).JSON(t, &u)
	if u.Budget.Available != "8187.50" {
		t.Fatalf("budget after refusals %+v", u.Budget)
	}
}

// offShop puts a SKU of merchant 1 on sale, has member 100 order it with program 5's points,
// and moves the order through to hand-out. It returns the order id.
func offShop(t *testing.T, h *harness) welfare.OrderID {
	t.Helper()
	e := h.engine
	sku := stock.SKU{ID: 900, Name: "Peanut oil 5L", MerchantID: 1, Category: "food", PriceFen: 120_00, Listed: true}
	h.submit(e.SKUShard(sku.ID), shard.Command{Kind: welfare.SetSKU, SKU: sku})
	h.submit(e.SKUShard(sku.ID), shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: sku.ID}, Quantity: 10})
	h.submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetMerchant, Merchant: welfare.Merchant{ID: 1, Name: "Minnan Grain & Oil", Approved: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := e.Checkout(ctx, 100, 11, &welfare.OrderRequest{ID: 7001, PickupPointID: 3, Lines: []welfare.OrderLine{
		{SKU: 900, Quantity: 2, UnitPriceFen: 120_00, MerchantID: 1, Category: "food"}}})
	if err != nil || out.State != welfare.OrderPlaced {
		t.Fatalf("checkout %+v %v", out, err)
	}
	us := e.UnionShard(11)
	for _, k := range []welfare.CommandKind{welfare.ShipOrder, welfare.ArriveOrder, welfare.HandOutOrder} {
		h.submit(us, shard.Command{Kind: k, OrderID: 7001})
	}
	return 7001
}

func TestOfficerReportAndAuditPack(t *testing.T) {
	r := newOffRig(t)
	h := r.h
	r.create(t, offProgram(5, "300.00"))
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/approve", r.checker, nil).must(t, http.StatusOK)
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/issue", r.maker, map[string]any{"members": []uint64{100, 101}}).must(t, http.StatusOK)
	order := offShop(t, h)

	var rep api.ProgramReport
	h.do(http.MethodGet, "/api/v1/unions/11/programs/5/report", r.checker, nil).must(t, http.StatusOK).JSON(t, &rep)
	if len(rep.Members) != 2 || rep.Program.ID != 5 {
		t.Fatalf("report %+v", rep)
	}
	m := rep.Members[0]
	if m.MemberID != 100 || m.Issued != "300.00" || m.Spent != "240.00" || m.Held != "0.00" || m.Balance != "60.00" || m.Expired != "0.00" ||
		m.IssuedBy != 7 || m.IssuedAt != "2026-02-10T10:00:00+08:00" {
		t.Fatalf("member 100 %+v", m)
	}
	if rep.Totals != (api.ReportTotals{Members: 2, Issued: "600.00", Spent: "240.00", Held: "0.00", Expired: "0.00", Balance: "360.00"}) {
		t.Fatalf("totals %+v", rep.Totals)
	}
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11/programs/9/report", r.maker, nil), http.StatusNotFound, "unknown_program")

	// The audit pack as CSV: one table, each record led by its section.
	res := h.do(http.MethodGet, "/api/v1/unions/11/audit-pack?program=5", r.checker, nil).must(t, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); ct != "text/csv" {
		t.Fatalf("content type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); !strings.Contains(cd, "audit-pack-11-program-5.csv") {
		t.Fatalf("content disposition %q", cd)
	}
	records, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v\n%s", err, res.Body)
	}
	sections := map[string][][]string{}
	for _, rec := range records {
		sections[rec[0]] = append(sections[rec[0]], rec[1:])
	}
	col := func(section, name string) int {
		i := slices.Index(sections[section][0], name)
		if i < 0 {
			t.Fatalf("section %s has no column %s: %v", section, name, sections[section][0])
		}
		return i
	}
	issued := sections["issuance"][1:]
	if len(issued) != 2 {
		t.Fatalf("issuance rows %v", issued)
	}
	for i, want := range []string{"100", "101"} {
		row := issued[i]
		if row[col("issuance", "member_id")] != want || row[col("issuance", "amount")] != "300.00" || row[col("issuance", "issued_by")] != "7" ||
			row[col("issuance", "approved_by")] != "8" || row[col("issuance", "created_by")] != "7" ||
			row[col("issuance", "issued_at")] != "2026-02-10T10:00:00+08:00" {
			t.Fatalf("issuance row %v", row)
		}
	}
	buys := sections["purchases"][1:]
	if len(buys) != 1 || buys[0][col("purchases", "order_id")] != itoa(uint64(order)) || buys[0][col("purchases", "items")] != "Peanut oil 5L x2" ||
		buys[0][col("purchases", "merchant_name")] != "Minnan Grain & Oil" || buys[0][col("purchases", "amount")] != "240.00" ||
		buys[0][col("purchases", "order_state")] != "handed_out" {
		t.Fatalf("purchases %v", buys)
	}
	settle := sections["settlement"][1:]
	if len(settle) != 1 || settle[0][col("settlement", "invoice_ref")] != "INV-1-202602" || settle[0][col("settlement", "union_amount")] != "240.00" ||
		settle[0][col("settlement", "month")] != "2026-02" {
		t.Fatalf("settlement %v", settle)
	}
	log := sections["audit_log"][1:]
	if len(log) != 3 || log[1][col("audit_log", "action")] != "approve_program" || log[1][col("audit_log", "actor")] != "8" {
		t.Fatalf("audit log %v", log)
	}
	if progs := sections["programs"][1:]; len(progs) != 1 || progs[0][col("programs", "approved_by")] != "8" {
		t.Fatalf("programs %v", progs)
	}

	// The same pack as XLSX: one sheet per section.
	res = h.do(http.MethodGet, "/api/v1/unions/11/audit-pack?format=xlsx", r.maker, nil).must(t, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); ct != offXLSX {
		t.Fatalf("content type %q", ct)
	}
	f, err := excelize.OpenReader(bytes.NewReader(res.Body))
	if err != nil {
		t.Fatalf("the XLSX does not open: %v", err)
	}
	defer f.Close()
	if sheets := f.GetSheetList(); !slices.Equal(sheets, []string{"programs", "issuance", "purchases", "settlement", "audit_log"}) {
		t.Fatalf("sheets %v", sheets)
	}
	rows, err := f.GetRows("issuance")
	if err != nil || len(rows) != 3 || rows[0][2] != "member_id" || rows[1][2] != "100" || rows[2][2] != "101" || rows[1][7] != "8" {
		t.Fatalf("issuance sheet %v %v", rows, err)
	}
	rows, _ = f.GetRows("settlement")
	if len(rows) != 2 || rows[1][5] != "INV-1-202602" {
		t.Fatalf("settlement sheet %v", rows)
	}

	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11/audit-pack?format=pdf", r.maker, nil), http.StatusBadRequest, "invalid_format")
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11/audit-pack?program=x", r.maker, nil), http.StatusBadRequest, "bad_request")
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11/audit-pack?program=9", r.maker, nil), http.StatusNotFound, "unknown_program")
	offMustProblem(t, h.do(http.MethodGet, "/api/v1/unions/11/audit-pack", r.other, nil), http.StatusForbidden, "forbidden")

	// After revocation, the unspent points are reported as gone back to the budget.
	h.do(http.MethodPost, "/api/v1/unions/11/programs/5/revoke", r.maker, nil).must(t, http.StatusOK)
	h.do(http.MethodGet, "/api/v1/unions/11/programs/5/report", r.checker, nil).must(t, http.StatusOK).JSON(t, &rep)
	if rep.Totals.Expired != "360.00" || rep.Totals.Balance != "0.00" || rep.Totals.Spent != "240.00" || !rep.Members[0].Closed {
		t.Fatalf("report after revocation %+v", rep)
	}
}

func TestOfficerRoster(t *testing.T) {
	r := newOffRig(t)
	h := r.h
	csvBody := "member_id,name,registered,dues_paid\n" +
		"300,Chen Wei,yes,yes\n" +
		"301,Lin Na,1,0\n" +
		"100,Existing,true,true\n" +
		"abc,Bad id,yes,yes\n" +
		"302,Bad value,maybe,yes\n" +
		"300,Again,yes,yes\n" +
		"200,Other union,yes,yes\n" +
		"\n" +
		"303,Zhang San,否,是\n"
	var res api.RosterResponse
	h.do(http.MethodPost, "/api/v1/unions/11/roster", r.maker, csvBody, "Content-Type", "text/csv").must(t, http.StatusOK).JSON(t, &res)
	want := []api.RosterRow{
		{Line: 2, MemberID: 300, Result: "ok"},
		{Line: 3, MemberID: 301, Result: "ok"},
		{Line: 4, MemberID: 100, Result: "exists"},
		{Line: 5, Result: "invalid_id"},
		{Line: 6, MemberID: 302, Result: "invalid_value"},
		{Line: 7, MemberID: 300, Result: "duplicate_row"},
		{Line: 8, MemberID: 200, Result: "member_of_other_union"},
		{Line: 10, MemberID: 303, Result: "ok"},
	}
	if res.Rows != 8 || res.OK != 3 || res.Exists != 1 || res.Failed != 4 || len(res.Result) != len(want) {
		t.Fatalf("roster %+v", res)
	}
	for i, w := range want {
		g := res.Result[i]
		if g.Line != w.Line || g.MemberID != w.MemberID || g.Result != w.Result || (w.Result != "ok" && w.Result != "exists" && g.Message == "") {
			t.Fatalf("row %d: %+v, want %+v", i, g, w)
		}
	}
	var page api.UnionMemberList
	h.do(http.MethodGet, "/api/v1/unions/11/members?cursor=104", r.maker, nil).must(t, http.StatusOK).JSON(t, &page)
	if len(page.Members) != 3 || page.Members[1] != (api.UnionMember{MemberID: 301, Registered: true, DuesPaid: false, Points: "0.00", Available: "0.00"}) ||
		page.Members[2].MemberID != 303 || page.Members[2].Registered || !page.Members[2].DuesPaid {
		t.Fatalf("members after import %+v", page)
	}

	// The same as XLSX, without a header: member_id, name, registered, dues_paid. The member
	// ids are numbers; 301's dues are now paid.
	f := excelize.NewFile()
	for i, row := range [][]any{{301, "Lin Na", "yes", "yes"}, {304, "Wu Fang", true, false}, {0, "Zero", "yes", "yes"}} {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	h.do(http.MethodPost, "/api/v1/unions/11/roster", r.maker, buf.Bytes(), "Content-Type", offXLSX).must(t, http.StatusOK).JSON(t, &res)
	if res.Rows != 3 || res.OK != 2 || res.Failed != 1 || res.Result[0].Result != "ok" || res.Result[1].MemberID != 304 ||
		res.Result[2].Line != 3 || res.Result[2].Result != "invalid_id" {
		t.Fatalf("xlsx roster %+v", res)
	}
	if got := offAudited(h, 11, "import_roster"); len(got) != 2 || got[0].Outcome != "partial" || got[0].Actor != 7 {
		t.Fatalf("roster audited %+v", got)
	}

	// Files refused whole change nothing.
	for _, c := range []struct {
		body   string
		ctype  string
		status int
		code   string
	}{
		{"member_id,registered,dues_paid\n305,yes,yes\n", "application/json", 415, "unsupported_media_type"},
		{"member_id,registered,dues_paid\n305,yes,yes\n", "", 415, "unsupported_media_type"},
		{"member_id,name\n305,x\n", "text/csv", 422, "invalid_roster"},
		{"member_id,registered,registered,dues_paid\n305,yes,yes,yes\n", "text/csv", 422, "invalid_roster"},
		{"member_id,registered,dues_paid\n", "text/csv", 422, "invalid_roster"},
		{"", "text/csv", 422, "invalid_roster"},
		{"member_id,registered,dues_paid\n\"305,yes,yes\n", "text/csv", 422, "invalid_roster"},
		{"not a zip", offXLSX, 422, "invalid_roster"},
	} {
		offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/roster", r.maker, c.body, "Content-Type", c.ctype), c.status, c.code)
	}
	offMustProblem(t, h.do(http.MethodPost, "/api/v1/unions/11/roster", r.other, csvBody, "Content-Type", "text/csv"), http.StatusForbidden, "forbidden")
	var u api.UnionResponse
	h.do(http.MethodGet, "/api/v1/unions/11", r.maker, nil).must(t, http.StatusOK).JSON(t, &u)
	if u.MembersCount != 9 {
		t.Fatalf("register size %d", u.MembersCount)
	}
}

// Every officer route refuses another union's officer, a member, a keeper, the federation and
// a module of that union, and a caller without a token.
func TestOfficerRoutesAuthorization(t *testing.T) {
	r := newOffRig(t)
	h := r.h
	r.create(t, offProgram(5, "300.00"))
	tokens := map[string]string{
		"another union's officer": r.other,
		"member":                  h.token(api.RoleMember, 100, 11, 0),
		"keeper":                  h.token(api.RoleKeeper, 50, 0, 3),
		"federation":              h.token(api.RoleFederation, 1, 0, 0),
		"module":                  h.token(api.RoleModule, 60, 0, 0),
	}
	routes := 0
	for _, rt := range h.server.Routes() {
		if rt.Tag != "officers" {
			continue
		}
		routes++
		path := strings.NewReplacer(":union", "11", ":program", "5").Replace(rt.Path)
		if !slices.Equal(rt.Roles, []api.Role{api.RoleOfficer}) {
			t.Errorf("%s %s: roles %v", rt.Method, rt.Path, rt.Roles)
		}
		for who, tok := range tokens {
			code := "forbidden"
			if p := h.do(rt.Method, path, tok, nil).Problem(t); p.Status != http.StatusForbidden || p.Code != code {
				t.Errorf("%s %s as %s: %+v", rt.Method, path, who, p)
			}
		}
		offMustProblem(t, h.do(rt.Method, path, "", nil), http.StatusUnauthorized, "unauthenticated")
	}
	if routes != 12 {
		t.Fatalf("%d officer routes", routes)
	}
	// Nothing changed: the program is as made, and only its creation was audited.
	var p api.ProgramResponse
	h.do(http.MethodGet, "/api/v1/unions/11/programs/5", r.maker, nil).must(t, http.StatusOK).JSON(t, &p)
	if p.Status != "active" || p.ApprovedBy != 0 || p.MembersIssued != 0 {
		t.Fatalf("program %+v", p)
	}
	if all, _ := h.audit.Entries(0); len(all) != 1 {
		t.Fatalf("audit %+v", all)
	}
}
