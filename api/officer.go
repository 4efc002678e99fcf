package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"huigong/engine/shard"
	"huigong/engine/welfare"
	"huigong/mall"
)

// The union officers' endpoints. An officer acts on the union of its token only: every path
// names the union, and a union other than the token's is refused with forbidden before anything
// is read. The union's register must list the caller as one of its officers too (unknown_officer
// otherwise), since the engine records the officer of every change. Every change reaches the
// audit log, refused ones included, with the engine's code as the outcome.

// Content types of the roster import and the audit pack.
const (
	contentTypeCSV  = "text/csv"
	contentTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// Codes of the officers' own refusals.
const (
	officerCodeInvalidName    = "invalid_name"
	officerCodeInvalidRoster  = "invalid_roster"
	officerCodeInvalidFormat  = "invalid_format"
	officerCodeTooManyMembers = "too_many_members"
)

// Limits of the officers' requests.
const (
	programNameRunesMax      = 100
	whitelistEntriesMax      = 1_000
	whitelistCategoryBytes   = 64
	giftOptionsMax           = 100
	issueMembersMax          = 10_000
	officerPageDefault       = 50
	officerPageMax           = 500
	officerAuditRole         = string(RoleOfficer)
	programTargetPrefix      = "program:"
	unionTargetPrefix        = "union:"
	auditPackFormatDefault   = "csv"
	auditPackFilenamePattern = "audit-pack-%d%s.%s"
)

// WhitelistBody says what a program may buy: a purchase must match every list that is not
// empty.
type WhitelistBody struct {
	Categories  []string `json:"categories"`
	SKUIDs      []uint64 `json:"sku_ids"`
	MerchantIDs []uint64 `json:"merchant_ids"`
}

// GiftBody is a gift package: the member chooses Choose of the Options (SKU ids).
type GiftBody struct {
	Choose  int      `json:"choose"`
	Options []uint64 `json:"options"`
}

// ProgramCreateRequest creates a program. The id comes from the body or, when absent, from
// the Idempotency-Key header, so a retried create makes no second program.
type ProgramCreateRequest struct {
	ID       uint64 `json:"id,omitempty"`
	Name     string `json:"name"`
	Category string `json:"category"`
	// AmountPerMember is what each member receives ("300.00"); "0" when amounts are given per
	// member at issuance.
	AmountPerMember string `json:"amount_per_member"`
	// ValidFrom and ValidTo are dates (2026-02-01, Asia/Shanghai) or RFC 3339 times; the
	// program is valid from ValidFrom up to, not including, ValidTo.
	ValidFrom string         `json:"valid_from"`
	ValidTo   string         `json:"valid_to"`
	Whitelist *WhitelistBody `json:"whitelist,omitempty"`
	Gift      *GiftBody      `json:"gift,omitempty"`
}

// ProgramPatchRequest changes a program that has issued nothing yet; absent fields stay.
type ProgramPatchRequest struct {
	Name            *string        `json:"name,omitempty"`
	AmountPerMember *string        `json:"amount_per_member,omitempty"`
	ValidFrom       *string        `json:"valid_from,omitempty"`
	ValidTo         *string        `json:"valid_to,omitempty"`
	Whitelist       *WhitelistBody `json:"whitelist,omitempty"`
}

// ProgramResponse is a program of the union.
type ProgramResponse struct {
	ID              uint64        `json:"id"`
	UnionID         uint64        `json:"union_id"`
	Name            string        `json:"name"`
	Category        string        `json:"category"`
	AmountPerMember string        `json:"amount_per_member"`
	ValidFrom       string        `json:"valid_from"`
	ValidTo         string        `json:"valid_to"`
	Whitelist       WhitelistBody `json:"whitelist"`
	Gift            *GiftBody     `json:"gift,omitempty"`
	Status          string        `json:"status"`
	CreatedBy       uint64        `json:"created_by"`
	ApprovedBy      uint64        `json:"approved_by,omitempty"`
	IssuedTotal     string        `json:"issued_total"`
	MembersIssued   int           `json:"members_issued"`
}

// ProgramList is a page of the union's programs.
type ProgramList struct {
	Programs   []ProgramResponse `json:"programs"`
	NextCursor string            `json:"next_cursor"`
}

// BudgetBody is a union's welfare budget: Available less what open issuances hold is what may
// still be issued.
type BudgetBody struct {
	Available string `json:"available"`
	Balance   string `json:"balance"`
}

// UnionResponse is a union with its budget, officers and register size.
type UnionResponse struct {
	ID       uint64     `json:"id"`
	ParentID uint64     `json:"parent_id"`
	Name     string     `json:"name"`
	Officers []uint64   `json:"officers"`
	Budget   BudgetBody `json:"budget"`
	// MembersCount is everyone on the register; RegisteredCount those registered with dues
	// paid, who may receive points.
	MembersCount    int `json:"members_count"`
	RegisteredCount int `json:"registered_count"`
}

// IssueRequest issues a program to the listed members (all registered members when empty),
// each the program's amount per member or, with Amounts, the amount at the same index.
type IssueRequest struct {
	Members []uint64 `json:"members,omitempty"`
	Amounts []string `json:"amounts,omitempty"`
}

// IssueResponse is what an issuance did.
type IssueResponse struct {
	ProgramID   uint64         `json:"program_id"`
	IssuedCount int            `json:"issued_count"`
	IssuedTotal string         `json:"issued_total"`
	Refused     []IssueRefusal `json:"refused"`
}

// IssueRefusal is a member the issuance skipped, with why; RoomLeft is what the member's cap
// still allows, with cap_exceeded.
type IssueRefusal struct {
	MemberID uint64 `json:"member_id"`
	Code     string `json:"code"`
	RoomLeft string `json:"room_left,omitempty"`
}

// ReportMember is one member's part of a program: Issued, less Spent on goods handed out, less
// Expired back to the budget, is the Balance, of which Held is held by open orders.
type ReportMember struct {
	MemberID uint64 `json:"member_id"`
	Issued   string `json:"issued"`
	Spent    string `json:"spent"`
	Held     string `json:"held"`
	Expired  string `json:"expired"`
	Balance  string `json:"balance"`
	IssuedAt string `json:"issued_at,omitempty"`
	IssuedBy uint64 `json:"issued_by,omitempty"`
	Closed   bool   `json:"closed"`
}

// ReportTotals sums the members of a report.
type ReportTotals struct {
	Members int    `json:"members"`
	Issued  string `json:"issued"`
	Spent   string `json:"spent"`
	Held    string `json:"held"`
	Expired string `json:"expired"`
	Balance string `json:"balance"`
}

// ProgramReport is a program's issuance report.
type ProgramReport struct {
	Program ProgramResponse `json:"program"`
	Members []ReportMember  `json:"members"`
	Totals  ReportTotals    `json:"totals"`
	// MovedAway counts members issued points who have moved to a union on another shard since:
	// their accounts went with them.
	MovedAway int `json:"moved_away"`
}

// UnionMember is a member on the union's register with its points over all programs.
type UnionMember struct {
	MemberID   uint64 `json:"member_id"`
	Registered bool   `json:"registered"`
	DuesPaid   bool   `json:"dues_paid"`
	Points     string `json:"points"`
	Available  string `json:"available"`
	Programs   int    `json:"programs"`
}

// UnionMemberList is a page of the register.
type UnionMemberList struct {
	Members    []UnionMember `json:"members"`
	NextCursor string        `json:"next_cursor"`
}

// RosterResponse is the outcome of a roster import, row by row in file order.
type RosterResponse struct {
	Rows   int         `json:"rows"`
	OK     int         `json:"ok"`
	Exists int         `json:"exists"`
	Failed int         `json:"failed"`
	Result []RosterRow `json:"results"`
}

// RosterRow is one row's outcome: ok, exists (on the register as the row says already), or a
// problem code (invalid_id, invalid_value, duplicate_row, member_of_other_union) with a
// message.
type RosterRow struct {
	Line     int    `json:"line"`
	MemberID uint64 `json:"member_id,omitempty"`
	Result   string `json:"result"`
	Message  string `json:"message,omitempty"`
}

func (s *Server) registerOfficer() {
	roles := []Role{RoleOfficer}
	page := map[string]string{"cursor": "where the previous page ended (empty for the first page)",
		"limit": fmt.Sprintf("the page size, 1 to %d (default %d)", officerPageMax, officerPageDefault)}
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/unions/:union", Summary: "The officer's union: budget, officers and register size.",
		Tag: "officers", Roles: roles, Response: UnionResponse{}, Handler: s.officerUnion})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/unions/:union/programs", Summary: "The union's welfare programs, by id.",
		Tag: "officers", Roles: roles, Response: ProgramList{}, Query: page, Handler: s.officerPrograms})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/unions/:union/programs",
		Summary: "Create a program (its id from the body or the Idempotency-Key); the window runs from valid_from up to, not including, valid_to.",
		Tag:     "officers", Roles: roles, Request: ProgramCreateRequest{}, Response: ProgramResponse{}, Status: http.StatusCreated, Handler: s.officerCreateProgram})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/unions/:union/programs/:program", Summary: "One program of the union.",
		Tag: "officers", Roles: roles, Response: ProgramResponse{}, Handler: s.officerProgram})
	s.add(Route{Method: fiber.MethodPatch, Path: "/api/v1/unions/:union/programs/:program",
		Summary: "Change a program's name, amount, window or whitelist before it has issued anything; an earlier approval must be given again.",
		Tag:     "officers", Roles: roles, Request: ProgramPatchRequest{}, Response: ProgramResponse{}, Handler: s.officerPatchProgram})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/unions/:union/programs/:program/approve", Summary: "Approve a program, as an officer other than its maker.",
		Tag: "officers", Roles: roles, Response: ProgramResponse{}, Handler: s.officerProgramCommand(welfare.ApproveProgram, "approve_program")})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/unions/:union/programs/:program/revoke", Summary: "Revoke a program: unspent points go back to the budget.",
		Tag: "officers", Roles: roles, Response: ProgramResponse{}, Handler: s.officerProgramCommand(welfare.RevokeProgram, "revoke_program")})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/unions/:union/programs/:program/issue",
		Summary: "Issue a program to the listed members, or to every registered member when none is listed; refused members are listed with why.",
		Tag:     "officers", Roles: roles, Request: IssueRequest{}, Response: IssueResponse{}, Handler: s.officerIssue})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/unions/:union/programs/:program/report",
		Summary: "The issuance report: per member issued, spent, held, expired and balance, with totals.",
		Tag:     "officers", Roles: roles, Response: ProgramReport{}, Handler: s.officerReport})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/unions/:union/audit-pack",
		Summary: "The audit pack for finance, as CSV (one table, each record led by its section) or XLSX (one sheet per section).",
		Tag:     "officers", Roles: roles, Produces: contentTypeCSV + ", " + contentTypeXLSX, Handler: s.officerAuditPack,
		Query: map[string]string{"program": "one program's pack (empty for every program of the union)", "format": "csv (default) or xlsx"}})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/unions/:union/roster",
		Summary: "Import the register from a CSV (text/csv) or XLSX body with the columns member_id, name, registered, dues_paid; answers row by row.",
		Tag:     "officers", Roles: roles, Response: RosterResponse{}, Handler: s.officerRoster})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/unions/:union/members", Summary: "The union's register, by member id, with each member's points.",
		Tag: "officers", Roles: roles, Response: UnionMemberList{}, Query: page, Handler: s.officerMembers})
}

// officerOf checks the caller may act on the path's union: it is the token's union, and the
// union's register lists the caller as an officer.
// officerProgramOf is officerOf for the routes under a program: it also reads :program.
func (s *Server) officerProgramOf(c *fiber.Ctx) (welfare.UnionID, welfare.OfficerID, uint64, error) {
	u, officer, err := s.officerOf(c)
	if err != nil {
		return 0, 0, 0, err
	}
	id, err := idParam(c, "program")
	return u, officer, id, err
}

func (s *Server) officerOf(c *fiber.Ctx) (welfare.UnionID, welfare.OfficerID, error) {
	cl := caller(c).Claims
	u, err := idParam(c, "union")
	if err != nil {
		return 0, 0, err
	}
	if u != cl.Union {
		return 0, 0, fail(http.StatusForbidden, codeForbidden, "an officer acts only on the union of its token")
	}
	found, ok, err := s.deps.Engine.IsUnionOfficer(welfare.UnionID(u), welfare.OfficerID(cl.SubjectID()))
	switch {
	case err != nil:
		return 0, 0, err
	case !found:
		return 0, 0, fail(http.StatusNotFound, welfare.UnknownUnion.String(), "no such union")
	case !ok:
		return 0, 0, fail(http.StatusForbidden, welfare.UnknownOfficer.String(), "the union's register does not list the caller as an officer")
	}
	return welfare.UnionID(u), welfare.OfficerID(cl.SubjectID()), nil
}

func (s *Server) auditOfficer(c *fiber.Ctx, union welfare.UnionID, action, target, outcome string, detail any) error {
	return s.deps.Audit.Record(AuditEntry{Time: s.deps.Now(), Role: officerAuditRole, Actor: caller(c).Claims.SubjectID(),
		Union: uint64(union), Action: action, Target: target, Outcome: outcome, Detail: detail})
}

func programTarget(id welfare.ProgramID) string {
	return programTargetPrefix + strconv.FormatUint(uint64(id), 10)
}

// officerPage reads ?cursor= (the last id of the previous page, empty at the start) and ?limit=.
func officerPage(c *fiber.Ctx) (after uint64, limit int, err error) {
	return page(c, officerPageDefault, officerPageMax, false)
}

func officerNextCursor(more bool, last uint64) string {
	if !more {
		return ""
	}
	return strconv.FormatUint(last, 10)
}

func toProgramResponse(p *welfare.Program) ProgramResponse {
	out := ProgramResponse{
		ID: uint64(p.ID), UnionID: uint64(p.UnionID), Name: p.Name, Category: p.Category.String(),
		AmountPerMember: mall.FormatYuan(p.AmountPerMemberFen), ValidFrom: rfc3339(p.FromNanos), ValidTo: rfc3339(p.ToNanos),
		Whitelist: WhitelistBody{Categories: append([]string{}, p.Whitelist.Categories...), SKUIDs: idsAsUint64(p.Whitelist.SKUs),
			MerchantIDs: idsAsUint64(p.Whitelist.Merchants)},
		Status: p.Status.String(), CreatedBy: uint64(p.CreatedBy), ApprovedBy: uint64(p.ApprovedBy),
		IssuedTotal: mall.FormatYuan(p.IssuedFen), MembersIssued: len(p.Members),
	}
	if p.Gift != nil {
		out.Gift = &GiftBody{Choose: p.Gift.Choose, Options: idsAsUint64(p.Gift.Options)}
	}
	return out
}

func idsAsUint64[T ~uint64](ids []T) []uint64 {
	out := make([]uint64, len(ids))
	for i, id := range ids {
		out[i] = uint64(id)
	}
	return out
}

// checkText accepts 1 to max runes of printable text.
func checkText(field, name string, runesMax int) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	bad := !utf8.ValidString(name) || n == 0 || n > runesMax ||
		strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0
	if bad {
		return "", fail(http.StatusUnprocessableEntity, officerCodeInvalidName, fmt.Sprintf("%s must be 1 to %d printable characters", field, runesMax))
	}
	return name, nil
}

// checkIDList validates a list of ids from a body: each valid, none twice, at most max.
func checkIDList(field string, ids []uint64, idsMax int) error {
	if len(ids) > idsMax {
		return fail(http.StatusUnprocessableEntity, codeBadRequest, fmt.Sprintf("%s has more than %d entries", field, idsMax))
	}
	seen := make(map[uint64]bool, len(ids))
	for _, id := range ids {
		if err := validID(field, id); err != nil {
			return err
		}
		if seen[id] {
			return fail(http.StatusUnprocessableEntity, codeBadRequest, fmt.Sprintf("%s lists %d twice", field, id))
		}
		seen[id] = true
	}
	return nil
}

func whitelistIn(w *WhitelistBody) (welfare.Whitelist, error) {
	if w == nil {
		return welfare.Whitelist{}, nil
	}
	if len(w.Categories) > whitelistEntriesMax {
		return welfare.Whitelist{}, fail(http.StatusUnprocessableEntity, codeBadRequest, fmt.Sprintf("whitelist.categories has more than %d entries", whitelistEntriesMax))
	}
	for _, c := range w.Categories {
		if c == "" || len(c) > whitelistCategoryBytes || strings.TrimSpace(c) != c {
			return welfare.Whitelist{}, fail(http.StatusUnprocessableEntity, codeBadRequest,
				fmt.Sprintf("whitelist.categories: %q must be 1 to %d bytes without surrounding spaces", c, whitelistCategoryBytes))
		}
	}
	if err := checkIDList("whitelist.sku_ids", w.SKUIDs, whitelistEntriesMax); err != nil {
		return welfare.Whitelist{}, err
	}
	if err := checkIDList("whitelist.merchant_ids", w.MerchantIDs, whitelistEntriesMax); err != nil {
		return welfare.Whitelist{}, err
	}
	out := welfare.Whitelist{Categories: append([]string(nil), w.Categories...)}
	for _, id := range w.SKUIDs {
		out.SKUs = append(out.SKUs, welfare.SKUID(id))
	}
	for _, id := range w.MerchantIDs {
		out.Merchants = append(out.Merchants, welfare.MerchantID(id))
	}
	return out, nil
}

// window parses a program's window.
func programWindow(from, to string) (fromNanos, toNanos int64, err error) {
	f, ok := parseTime(from)
	if !ok {
		return 0, 0, fail(http.StatusUnprocessableEntity, welfare.InvalidWindow.String(), fmt.Sprintf("valid_from %q is not a date (2026-02-01) or an RFC 3339 time", from))
	}
	t, ok := parseTime(to)
	if !ok {
		return 0, 0, fail(http.StatusUnprocessableEntity, welfare.InvalidWindow.String(), fmt.Sprintf("valid_to %q is not a date (2026-02-01) or an RFC 3339 time", to))
	}
	if f >= t {
		return 0, 0, fail(http.StatusUnprocessableEntity, welfare.InvalidWindow.String(), "valid_from must be before valid_to")
	}
	return f, t, nil
}

// programOf reads a program of the union, or answers unknown_program.
func (s *Server) programOf(u welfare.UnionID, id welfare.ProgramID) (welfare.Program, error) {
	p, found, err := s.deps.Engine.UnionProgram(u, id)
	if err != nil {
		return p, err
	}
	if !found {
		return p, fail(http.StatusNotFound, welfare.UnknownProgram.String(), "the union has no such program")
	}
	return p, nil
}

func (s *Server) officerUnion(c *fiber.Ctx) error {
	u, _, err := s.officerOf(c)
	if err != nil {
		return err
	}
	sum, found, err := s.deps.Engine.UnionSummary(u)
	if err != nil {
		return err
	}
	if !found {
		return fail(http.StatusNotFound, welfare.UnknownUnion.String(), "no such union")
	}
	return c.JSON(toUnionResponse(&sum))
}

func toUnionResponse(sum *mall.UnionSummary) UnionResponse {
	return UnionResponse{ID: uint64(sum.Union.ID), ParentID: uint64(sum.Union.ParentID), Name: sum.Union.Name,
		Officers:     idsAsUint64(sum.Union.Officers),
		Budget:       BudgetBody{Available: mall.FormatYuan(sum.BudgetAvailableFen), Balance: mall.FormatYuan(sum.BudgetBalanceFen)},
		MembersCount: sum.MembersCount, RegisteredCount: sum.RegisteredCount}
}

func (s *Server) officerPrograms(c *fiber.Ctx) error {
	u, _, err := s.officerOf(c)
	if err != nil {
		return err
	}
	after, limit, err := officerPage(c)
	if err != nil {
		return err
	}
	programs, more, err := s.deps.Engine.UnionPrograms(u, welfare.ProgramID(after), limit)
	if err != nil {
		return err
	}
	out := ProgramList{Programs: make([]ProgramResponse, 0, len(programs))}
	for i := range programs {
		out.Programs = append(out.Programs, toProgramResponse(&programs[i]))
	}
	if len(programs) > 0 {
		out.NextCursor = officerNextCursor(more, uint64(programs[len(programs)-1].ID))
	}
	return c.JSON(out)
}

func (s *Server) officerProgram(c *fiber.Ctx) error {
	u, _, id, err := s.officerProgramOf(c)
	if err != nil {
		return err
	}
	p, err := s.programOf(u, welfare.ProgramID(id))
	if err != nil {
		return err
	}
	return c.JSON(toProgramResponse(&p))
}

func (s *Server) officerCreateProgram(c *fiber.Ctx) error {
	u, officer, err := s.officerOf(c)
	if err != nil {
		return err
	}
	var b ProgramCreateRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	id := b.ID
	if id == 0 {
		key, err := requireIdempotencyKey(c)
		if err != nil {
			return fail(http.StatusBadRequest, codeIdempotencyKey, "a program needs an id in the body or an Idempotency-Key header")
		}
		id = idempotencyID("program\x00"+strconv.FormatUint(uint64(u), 10), key)
	} else if err := validID("id", id); err != nil {
		return err
	}
	name, err := checkText("name", b.Name, programNameRunesMax)
	if err != nil {
		return err
	}
	category, ok := welfare.ParseCategory(b.Category)
	if !ok {
		return fail(http.StatusUnprocessableEntity, welfare.InvalidCategory.String(), fmt.Sprintf("category %q is not one of %s", b.Category, categoryList()))
	}
	amountFen, err := yuan("amount_per_member", b.AmountPerMember, true)
	if err != nil {
		return err
	}
	fromNanos, toNanos, err := programWindow(b.ValidFrom, b.ValidTo)
	if err != nil {
		return err
	}
	wl, err := whitelistIn(b.Whitelist)
	if err != nil {
		return err
	}
	p := welfare.Program{ID: welfare.ProgramID(id), UnionID: u, Name: name, Category: category, AmountPerMemberFen: amountFen,
		FromNanos: fromNanos, ToNanos: toNanos, Whitelist: wl}
	if g := b.Gift; g != nil {
		if g.Choose < 1 || g.Choose > len(g.Options) || len(g.Options) > giftOptionsMax {
			return fail(http.StatusUnprocessableEntity, welfare.InvalidGift.String(),
				fmt.Sprintf("gift: choose must be from 1 to the number of options, with at most %d options", giftOptionsMax))
		}
		if err := checkIDList("gift.options", g.Options, giftOptionsMax); err != nil {
			return fail(http.StatusUnprocessableEntity, welfare.InvalidGift.String(), err.(*apiError).p.Detail)
		}
		p.Gift = &welfare.Gift{Choose: g.Choose}
		for _, o := range g.Options {
			p.Gift.Options = append(p.Gift.Options, welfare.SKUID(o))
		}
	}
	out, err := s.programChange(c, u, shard.Command{Kind: welfare.CreateProgram, Program: p, Officer: officer}, "create_program", b)
	if err != nil {
		return err
	}
	c.Status(http.StatusCreated)
	return c.JSON(out)
}

// programChange submits an officer's command on a program of union u, audits it with its
// outcome, refused or not, and answers the program as it is after.
func (s *Server) programChange(c *fiber.Ctx, u welfare.UnionID, cmd shard.Command, action string, detail any) (ProgramResponse, error) {
	id := cmd.ProgramID
	if cmd.Kind == welfare.CreateProgram || cmd.Kind == welfare.UpdateProgram {
		id = cmd.Program.ID
	}
	r, err := s.deps.Engine.Submit(s.deps.Engine.UnionShard(u), cmd)
	if err != nil {
		return ProgramResponse{}, err
	}
	if err := s.auditOfficer(c, u, action, programTarget(id), r.Code.String(), detail); err != nil {
		return ProgramResponse{}, err
	}
	switch r.Code {
	case welfare.OK, welfare.Exists:
	case welfare.SameOfficer:
		return ProgramResponse{}, engineFail(r.Code, "the officer who made the program cannot approve it: a second officer must")
	default:
		return ProgramResponse{}, engineFail(r.Code, strings.ReplaceAll(action, "_", " ")+" was refused")
	}
	got, err := s.programOf(u, id)
	if err != nil {
		return ProgramResponse{}, err
	}
	return toProgramResponse(&got), nil
}

func categoryList() string {
	var names []string
	for _, c := range welfare.Categories() {
		names = append(names, c.String())
	}
	return strings.Join(names, ", ")
}

func (s *Server) officerPatchProgram(c *fiber.Ctx) error {
	u, officer, id, err := s.officerProgramOf(c)
	if err != nil {
		return err
	}
	var b ProgramPatchRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	p, err := s.programOf(u, welfare.ProgramID(id))
	if err != nil {
		return err
	}
	// The change is made on the program as read; the engine refuses it if the program has
	// issued since, and a concurrent change of another field is overwritten, as with any
	// edit of a whole record.
	if b.Name != nil {
		if p.Name, err = checkText("name", *b.Name, programNameRunesMax); err != nil {
			return err
		}
	}
	if b.AmountPerMember != nil {
		if p.AmountPerMemberFen, err = yuan("amount_per_member", *b.AmountPerMember, true); err != nil {
			return err
		}
	}
	if b.ValidFrom != nil || b.ValidTo != nil {
		from, to := rfc3339(p.FromNanos), rfc3339(p.ToNanos)
		if b.ValidFrom != nil {
			from = *b.ValidFrom
		}
		if b.ValidTo != nil {
			to = *b.ValidTo
		}
		if p.FromNanos, p.ToNanos, err = programWindow(from, to); err != nil {
			return err
		}
	}
	if b.Whitelist != nil {
		if p.Whitelist, err = whitelistIn(b.Whitelist); err != nil {
			return err
		}
	}
	out, err := s.programChange(c, u, shard.Command{Kind: welfare.UpdateProgram, Program: p, Officer: officer}, "update_program", b)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// officerProgramCommand approves or revokes a program.
func (s *Server) officerProgramCommand(kind welfare.CommandKind, action string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		u, officer, id, err := s.officerProgramOf(c)
		if err != nil {
			return err
		}
		if _, err := s.programOf(u, welfare.ProgramID(id)); err != nil {
			return err
		}
		out, err := s.programChange(c, u, shard.Command{Kind: kind, ProgramID: welfare.ProgramID(id), Officer: officer}, action, nil)
		if err != nil {
			return err
		}
		return c.JSON(out)
	}
}

func (s *Server) officerIssue(c *fiber.Ctx) error {
	u, officer, id, err := s.officerProgramOf(c)
	if err != nil {
		return err
	}
	var b IssueRequest
	if len(c.Body()) > 0 {
		if err := s.decode(c, &b); err != nil {
			return err
		}
	}
	if len(b.Members) > issueMembersMax {
		return fail(http.StatusUnprocessableEntity, officerCodeTooManyMembers, fmt.Sprintf("at most %d members per issuance", issueMembersMax))
	}
	if err := checkIDList("members", b.Members, issueMembersMax); err != nil {
		return err
	}
	var amounts []int64
	if len(b.Amounts) > 0 {
		if len(b.Amounts) != len(b.Members) {
			return fail(http.StatusUnprocessableEntity, codeBadAmount, "amounts must give one amount for each of the members")
		}
		amounts = make([]int64, len(b.Amounts))
		for i, a := range b.Amounts {
			if amounts[i], err = yuan(fmt.Sprintf("amounts[%d]", i), a, false); err != nil {
				return err
			}
		}
	}
	if _, err := s.programOf(u, welfare.ProgramID(id)); err != nil {
		return err
	}
	members := make([]welfare.MemberID, len(b.Members))
	for i, m := range b.Members {
		members[i] = welfare.MemberID(m)
	}
	r, err := s.deps.Engine.Submit(s.deps.Engine.UnionShard(u), shard.Command{Kind: welfare.Issue, ProgramID: welfare.ProgramID(id),
		Officer: officer, Members: members, Amounts: amounts})
	if err != nil {
		return err
	}
	out := IssueResponse{ProgramID: id, IssuedCount: r.IssuedCount, IssuedTotal: mall.FormatYuan(r.IssuedFen), Refused: []IssueRefusal{}}
	for _, m := range r.Refused {
		ref := IssueRefusal{MemberID: uint64(m.MemberID), Code: m.Code.String()}
		if m.Code == welfare.CapExceeded {
			ref.RoomLeft = mall.FormatYuan(m.RoomLeftFen)
		}
		out.Refused = append(out.Refused, ref)
	}
	detail := map[string]any{"members": len(b.Members), "issued_count": out.IssuedCount, "issued_total": out.IssuedTotal, "refused": len(out.Refused)}
	if err := s.auditOfficer(c, u, "issue_program", programTarget(welfare.ProgramID(id)), r.Code.String(), detail); err != nil {
		return err
	}
	switch r.Code {
	case welfare.OK:
		return c.JSON(out)
	case welfare.BudgetInsufficient:
		e := engineFail(r.Code, fmt.Sprintf("the issuance needs more than the budget's %s", mall.FormatYuan(r.RoomLeftFen)))
		e.(*apiError).p.RoomLeft = mall.FormatYuan(r.RoomLeftFen)
		return e
	case welfare.ApprovalRequired:
		return engineFail(r.Code, "the issuance exceeds the federation's threshold: a second officer must approve the program first")
	case welfare.NothingToIssue:
		// One member listed and refused: its own reason is the answer.
		if len(r.Refused) == 1 && len(b.Members) == 1 {
			m := r.Refused[0]
			e := engineFail(m.Code, fmt.Sprintf("member %d was refused", m.MemberID))
			if m.Code == welfare.CapExceeded {
				e.(*apiError).p.RoomLeft = mall.FormatYuan(m.RoomLeftFen)
			}
			return e
		}
		return engineFail(r.Code, refusalSummary(r.Refused))
	}
	return engineFail(r.Code, "the issuance was refused")
}

// refusalSummary counts refused members by code: "3 already_issued, 1 cap_exceeded".
func refusalSummary(refused []welfare.MemberResult) string {
	if len(refused) == 0 {
		return "no registered member to issue to"
	}
	counts := map[string]int{}
	for _, m := range refused {
		counts[m.Code.String()]++
	}
	var parts []string
	for code, n := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", n, code))
	}
	sort.Strings(parts)
	return "every member was refused: " + strings.Join(parts, ", ")
}

func (s *Server) officerReport(c *fiber.Ctx) error {
	u, _, id, err := s.officerProgramOf(c)
	if err != nil {
		return err
	}
	rep, found, err := s.deps.Engine.IssuanceReport(u, welfare.ProgramID(id))
	if err != nil {
		return err
	}
	if !found {
		return fail(http.StatusNotFound, welfare.UnknownProgram.String(), "the union has no such program")
	}
	out := ProgramReport{Program: toProgramResponse(&rep.Program), Members: make([]ReportMember, 0, len(rep.Members)), MovedAway: rep.MovedAway}
	for _, m := range rep.Members {
		out.Members = append(out.Members, ReportMember{MemberID: uint64(m.MemberID), Issued: mall.FormatYuan(m.IssuedFen),
			Spent: mall.FormatYuan(m.SpentFen), Held: mall.FormatYuan(m.HeldFen), Expired: mall.FormatYuan(m.ExpiredFen),
			Balance: mall.FormatYuan(m.BalanceFen), IssuedAt: rfc3339(m.IssuedNanos), IssuedBy: uint64(m.IssuedBy), Closed: m.Closed})
	}
	t := rep.Totals
	out.Totals = ReportTotals{Members: len(rep.Members), Issued: mall.FormatYuan(t.IssuedFen), Spent: mall.FormatYuan(t.SpentFen),
		Held: mall.FormatYuan(t.HeldFen), Expired: mall.FormatYuan(t.ExpiredFen), Balance: mall.FormatYuan(t.BalanceFen)}
	return c.JSON(out)
}

func (s *Server) officerAuditPack(c *fiber.Ctx) error {
	u, _, err := s.officerOf(c)
	if err != nil {
		return err
	}
	format := c.Query("format", auditPackFormatDefault)
	if format != "csv" && format != "xlsx" {
		return fail(http.StatusBadRequest, officerCodeInvalidFormat, "format must be csv or xlsx")
	}
	var program uint64
	if v := c.Query("program"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 || n >= 1<<53 {
			return fail(http.StatusBadRequest, codeBadRequest, "program must be a positive integer below 2^53")
		}
		program = n
	}
	pack, found, err := s.deps.Engine.AuditPack(u, welfare.ProgramID(program))
	if err != nil {
		return err
	}
	if !found {
		return fail(http.StatusNotFound, welfare.UnknownProgram.String(), "the union has no such program")
	}
	entries, err := s.deps.Audit.Entries(uint64(u))
	if err != nil {
		return err
	}
	log := mall.AuditSection{Name: "audit_log", Header: []string{"time", "role", "actor", "action", "target", "outcome", "detail", "request_id"}}
	for _, e := range entries {
		detail := ""
		if e.Detail != nil {
			if b, err := auditDetailText(e.Detail); err == nil {
				detail = b
			}
		}
		log.Rows = append(log.Rows, []string{e.Time.In(shanghai).Format("2006-01-02T15:04:05.000Z07:00"), e.Role, strconv.FormatUint(e.Actor, 10),
			e.Action, e.Target, e.Outcome, detail, e.Request})
	}
	pack.Sections = append(pack.Sections, log)
	suffix := ""
	if program != 0 {
		suffix = "-program-" + strconv.FormatUint(program, 10)
	}
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="`+auditPackFilenamePattern+`"`, u, suffix, format))
	if format == "xlsx" {
		b, err := pack.XLSX()
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, contentTypeXLSX)
		return c.Send(b)
	}
	var sb strings.Builder
	if err := pack.WriteCSV(&sb); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, contentTypeCSV)
	return c.SendString(sb.String())
}

func (s *Server) officerRoster(c *fiber.Ctx) error {
	u, _, err := s.officerOf(c)
	if err != nil {
		return err
	}
	body := c.Body()
	if len(body) > s.deps.RosterBytesMax {
		return fail(http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("the roster is over %d bytes", s.deps.RosterBytesMax))
	}
	var rows []mall.RosterRow
	switch ct := strings.ToLower(strings.TrimSpace(strings.Split(c.Get(fiber.HeaderContentType), ";")[0])); ct {
	case contentTypeCSV:
		rows, err = mall.ParseRosterCSV(body)
	case contentTypeXLSX:
		rows, err = mall.ParseRosterXLSX(body)
	default:
		return fail(http.StatusUnsupportedMediaType, codeBadContentType, "the roster must be "+contentTypeCSV+" or "+contentTypeXLSX)
	}
	if errors.Is(err, mall.ErrRoster) {
		return fail(http.StatusUnprocessableEntity, officerCodeInvalidRoster, err.Error())
	} else if err != nil {
		return err
	}
	results, err := s.deps.Engine.ImportRoster(u, rows)
	if err != nil {
		return err
	}
	out := RosterResponse{Rows: len(results), Result: make([]RosterRow, 0, len(results))}
	for _, r := range results {
		switch r.Result {
		case mall.RosterOK:
			out.OK++
		case mall.RosterExists:
			out.Exists++
		default:
			out.Failed++
		}
		out.Result = append(out.Result, RosterRow{Line: r.Line, MemberID: uint64(r.MemberID), Result: r.Result, Message: r.Message})
	}
	outcome := welfare.OK.String()
	if out.Failed > 0 {
		outcome = "partial"
	}
	if err := s.auditOfficer(c, u, "import_roster", unionTargetPrefix+strconv.FormatUint(uint64(u), 10), outcome,
		map[string]int{"rows": out.Rows, "ok": out.OK, "exists": out.Exists, "failed": out.Failed}); err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) officerMembers(c *fiber.Ctx) error {
	u, _, err := s.officerOf(c)
	if err != nil {
		return err
	}
	after, limit, err := officerPage(c)
	if err != nil {
		return err
	}
	members, more, found, err := s.deps.Engine.UnionMembers(u, welfare.MemberID(after), limit)
	if err != nil {
		return err
	}
	if !found {
		return fail(http.StatusNotFound, welfare.UnknownUnion.String(), "no such union")
	}
	out := UnionMemberList{Members: make([]UnionMember, 0, len(members))}
	for _, m := range members {
		out.Members = append(out.Members, UnionMember{MemberID: uint64(m.MemberID), Registered: m.Registered, DuesPaid: m.DuesPaid,
			Points: mall.FormatYuan(m.BalanceFen), Available: mall.FormatYuan(m.AvailableFen), Programs: m.ProgramsCount})
	}
	if len(members) > 0 {
		out.NextCursor = officerNextCursor(more, uint64(members[len(members)-1].MemberID))
	}
	return c.JSON(out)
}

// auditDetailText is an audit entry's detail as one line of JSON.
func auditDetailText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
