package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"huigong/engine/ledger"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

// The federation's endpoints: unions and their funding, the configuration every shard decides
// with (caps, festival calendar, maker-checker threshold, campaigns), the merchant and pickup
// point directory, and the county dashboard. The federation acts on everything federation-wide;
// every change is audited with the role federation_officer.
//
// The configuration is set on the directory shard as a new version and broadcast from there.
// Each change reads the version in force, changes one part and sets the next version; when
// another change took that version first, it reads again and retries.

// Codes of the federation's own refusals.
const (
	fedCodeUnknownMerchant = "unknown_merchant"
	fedCodeInvalidDate     = "invalid_date"
	fedCodeInvalidDiscount = "invalid_discount"
	fedCodeConfigConflict  = "config_conflict"
)

// Limits of the federation's requests.
const (
	unionNameRunesMax     = 200
	unionOfficersMax      = 100
	festivalsMax          = 1_000
	festivalNameRunesMax  = 64
	campaignsMax          = 1_000
	campaignListMax       = 10_000
	merchantNameRunesMax  = 200
	pickupNameRunesMax    = 200
	pickupListMax         = 1_000
	configRetriesMax      = 8
	federationAuditRole   = string(RoleFederation)
	campaignDiscountBpMax = 10_000
)

// CreateUnionRequest creates a union on its shard, with its officers.
type CreateUnionRequest struct {
	ID       uint64   `json:"id"`
	ParentID uint64   `json:"parent_id,omitempty"`
	Name     string   `json:"name"`
	Officers []uint64 `json:"officers"`
}

// FundRequest moves money from the federation to a union's budget.
type FundRequest struct {
	Amount string `json:"amount"`
}

// FundResponse is a funding transfer and the budget after it.
type FundResponse struct {
	UnionID         uint64 `json:"union_id"`
	TransferID      uint64 `json:"transfer_id"`
	Amount          string `json:"amount"`
	BudgetAvailable string `json:"budget_available"`
}

// FestivalBody is a statutory festival: days From to To (both included, Asia/Shanghai).
type FestivalBody struct {
	Name string `json:"name"`
	From string `json:"from"`
	To   string `json:"to"`
}

// CampaignBody is a festival sale: Discount percent ("7", "7.5") off the SKUs (all when empty)
// for the unions (all when empty), from From up to, not including, To.
type CampaignBody struct {
	ID          uint64   `json:"id"`
	Name        string   `json:"name"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	Discount    string   `json:"discount"`
	DiscountBps int64    `json:"discount_bps"`
	Unions      []uint64 `json:"unions"`
	SKUIDs      []uint64 `json:"sku_ids"`
}

// CampaignRequest creates a campaign; its id is the next free one when absent.
type CampaignRequest struct {
	ID       uint64   `json:"id,omitempty"`
	Name     string   `json:"name"`
	From     string   `json:"from"`
	To       string   `json:"to"`
	Discount string   `json:"discount"`
	Unions   []uint64 `json:"unions,omitempty"`
	SKUIDs   []uint64 `json:"sku_ids,omitempty"`
}

// CampaignList is a page of campaigns.
type CampaignList struct {
	Campaigns  []CampaignBody `json:"campaigns"`
	NextCursor string         `json:"next_cursor"`
}

// ConfigResponse is the federation's configuration in force. Caps has the yearly cap per
// member of each capped category; a category absent has no cap.
type ConfigResponse struct {
	Version           uint64            `json:"version"`
	Caps              map[string]string `json:"caps"`
	ApprovalThreshold string            `json:"approval_threshold"`
	Festivals         []FestivalBody    `json:"festivals"`
	Campaigns         []CampaignBody    `json:"campaigns"`
	ActivityDailyCaps map[string]string `json:"activity_daily_caps"`
}

// CapsRequest sets the yearly cap per member of each category; null or absent is no cap.
type CapsRequest struct {
	Caps map[string]*string `json:"caps"`
}

// CalendarRequest replaces the festival calendar.
type CalendarRequest struct {
	Festivals []FestivalBody `json:"festivals"`
}

// ThresholdRequest sets the issuance total above which a second officer must approve.
type ThresholdRequest struct {
	Amount string `json:"amount"`
}

// MerchantRequest registers a merchant (not approved until the federation approves it).
type MerchantRequest struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
}

// MerchantBody is a merchant of the directory.
type MerchantBody struct {
	ID       uint64 `json:"id"`
	Name     string `json:"name"`
	Approved bool   `json:"approved"`
}

// MerchantList is a page of the directory's merchants.
type MerchantList struct {
	Merchants  []MerchantBody `json:"merchants"`
	NextCursor string         `json:"next_cursor"`
}

// PickupPointBody is a Workers e-Home: the unions whose members collect there, and its keepers.
type PickupPointBody struct {
	ID      uint64   `json:"id"`
	Name    string   `json:"name"`
	Unions  []uint64 `json:"unions"`
	Keepers []uint64 `json:"keepers"`
}

// DashboardFigures are counted county-wide and per union: members holding points of any
// program, orders by state, and the value of orders placed and not ended.
type DashboardFigures struct {
	MembersReached int            `json:"members_reached"`
	Orders         map[string]int `json:"orders"`
	Value          string         `json:"value"`
}

// DashboardUnion is one union's figures.
type DashboardUnion struct {
	UnionID uint64 `json:"union_id"`
	Name    string `json:"name"`
	DashboardFigures
}

// DashboardResponse is the federation's dashboard.
type DashboardResponse struct {
	DashboardFigures
	Unions []DashboardUnion `json:"unions"`
}

func (s *Server) registerFederation() {
	roles := []Role{RoleFederation}
	page := map[string]string{"cursor": "where the previous page ended (empty for the first page)",
		"limit": fmt.Sprintf("the page size, 1 to %d (default %d)", officerPageMax, officerPageDefault)}
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/federation/unions", Summary: "Create a union, with its officers, on its shard.",
		Tag: "federation", Roles: roles, Request: CreateUnionRequest{}, Response: UnionResponse{}, Status: http.StatusCreated, Handler: s.fedCreateUnion})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/federation/unions/:union/fund",
		Summary: "Fund a union's welfare budget (Idempotency-Key required: it becomes the transfer id).",
		Tag:     "federation", Roles: roles, Request: FundRequest{}, Response: FundResponse{}, Status: http.StatusCreated, Handler: s.fedFund})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/federation/config", Summary: "The configuration in force: caps, calendar, threshold, campaigns.",
		Tag: "federation", Roles: roles, Response: ConfigResponse{}, Handler: s.fedConfig})
	s.add(Route{Method: fiber.MethodPut, Path: "/api/v1/federation/caps", Summary: "Set the yearly cap per member of each category (null or absent: no cap).",
		Tag: "federation", Roles: roles, Request: CapsRequest{}, Response: ConfigResponse{}, Handler: s.fedCaps})
	s.add(Route{Method: fiber.MethodPut, Path: "/api/v1/federation/calendar", Summary: "Replace the calendar of statutory festivals.",
		Tag: "federation", Roles: roles, Request: CalendarRequest{}, Response: ConfigResponse{}, Handler: s.fedCalendar})
	s.add(Route{Method: fiber.MethodPut, Path: "/api/v1/federation/approval-threshold",
		Summary: "Set the issuance total above which a second officer must approve a program.",
		Tag:     "federation", Roles: roles, Request: ThresholdRequest{}, Response: ConfigResponse{}, Handler: s.fedThreshold})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/federation/campaigns", Summary: "The festival campaigns, by id.",
		Tag: "federation", Roles: roles, Response: CampaignList{}, Query: page, Handler: s.fedCampaigns})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/federation/campaigns", Summary: "Create a festival campaign with a discount in percent.",
		Tag: "federation", Roles: roles, Request: CampaignRequest{}, Response: CampaignBody{}, Status: http.StatusCreated, Handler: s.fedCreateCampaign})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/federation/merchants", Summary: "The directory's merchants, by id.",
		Tag: "federation", Roles: roles, Response: MerchantList{}, Query: page, Handler: s.fedMerchants})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/federation/merchants", Summary: "Register a merchant (or rename one); a new merchant waits for approval.",
		Tag: "federation", Roles: roles, Request: MerchantRequest{}, Response: MerchantBody{}, Status: http.StatusCreated, Handler: s.fedRegisterMerchant})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/federation/merchants/:merchant/approve", Summary: "Approve a merchant to sell in the mall.",
		Tag: "federation", Roles: roles, Response: MerchantBody{}, Handler: s.fedApproveMerchant})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/federation/pickup-points", Summary: "Create or replace a pickup point (Workers e-Home), its unions and keepers.",
		Tag: "federation", Roles: roles, Request: PickupPointBody{}, Response: PickupPointBody{}, Status: http.StatusCreated, Handler: s.fedPickupPoint})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/federation/dashboard",
		Summary: "Members reached, orders by state and their value, county-wide and per union.",
		Tag:     "federation", Roles: roles, Response: DashboardResponse{}, Handler: s.fedDashboard})
}

func (s *Server) auditFederation(c *fiber.Ctx, union uint64, action, target, outcome string, detail any) error {
	return s.deps.Audit.Record(AuditEntry{Time: s.deps.Now(), Role: federationAuditRole, Actor: caller(c).Claims.SubjectID(),
		Union: union, Action: action, Target: target, Outcome: outcome, Detail: detail})
}

func (s *Server) fedCreateUnion(c *fiber.Ctx) error {
	var b CreateUnionRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	if err := validID("id", b.ID); err != nil {
		return err
	}
	if b.ParentID != 0 {
		if err := validID("parent_id", b.ParentID); err != nil {
			return err
		}
		if b.ParentID == b.ID {
			return fail(http.StatusUnprocessableEntity, welfare.InvalidID.String(), "a union cannot be its own parent")
		}
	}
	name, err := checkText("name", b.Name, unionNameRunesMax)
	if err != nil {
		return err
	}
	if err := checkIDList("officers", b.Officers, unionOfficersMax); err != nil {
		return err
	}
	if b.ParentID != 0 {
		if _, found, err := s.deps.Engine.UnionSummary(welfare.UnionID(b.ParentID)); err != nil {
			return err
		} else if !found {
			return fail(http.StatusNotFound, welfare.UnknownUnion.String(), "no parent union with that id")
		}
	}
	u := welfare.Union{ID: welfare.UnionID(b.ID), ParentID: welfare.UnionID(b.ParentID), Name: name}
	for _, o := range b.Officers {
		u.Officers = append(u.Officers, welfare.OfficerID(o))
	}
	r, err := s.deps.Engine.Submit(s.deps.Engine.UnionShard(u.ID), shard.Command{Kind: welfare.CreateUnion, Union: u})
	if err != nil {
		return err
	}
	if err := s.auditFederation(c, b.ID, "create_union", unionTargetPrefix+strconv.FormatUint(b.ID, 10), r.Code.String(), b); err != nil {
		return err
	}
	if r.Code != welfare.OK && r.Code != welfare.Exists {
		return engineFail(r.Code, "the union was refused")
	}
	sum, _, err := s.deps.Engine.UnionSummary(u.ID)
	if err != nil {
		return err
	}
	c.Status(http.StatusCreated)
	return c.JSON(toUnionResponse(&sum))
}

func (s *Server) fedFund(c *fiber.Ctx) error {
	u, err := idParam(c, "union")
	if err != nil {
		return err
	}
	key, err := requireIdempotencyKey(c)
	if err != nil {
		return err
	}
	idScope := "fund\x00" + strconv.FormatUint(u, 10)
	scope := idScope + "\x00" + key + "\x00" + string(c.Body())
	if done, err := s.replay(c, scope); done || err != nil {
		return err
	}
	var b FundRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	amountFen, err := yuan("amount", b.Amount, false)
	if err != nil {
		return err
	}
	transfer := idempotencyID(idScope, key)
	r, err := s.deps.Engine.Submit(s.deps.Engine.UnionShard(welfare.UnionID(u)), shard.Command{Kind: welfare.FundUnion,
		UnionID: welfare.UnionID(u), TransferID: ledger.TransferID(transfer), AmountFen: amountFen})
	if err != nil {
		return err
	}
	if err := s.auditFederation(c, u, "fund_union", "transfer:"+strconv.FormatUint(transfer, 10), r.Code.String(), b); err != nil {
		return err
	}
	switch r.Code {
	case welfare.OK, welfare.Exists:
	case welfare.ExistsWithDifferentFields:
		return engineFail(r.Code, "this Idempotency-Key funded the union with another amount")
	default:
		return engineFail(r.Code, "the funding was refused")
	}
	sum, _, err := s.deps.Engine.UnionSummary(welfare.UnionID(u))
	if err != nil {
		return err
	}
	c.Status(http.StatusCreated)
	if err := c.JSON(FundResponse{UnionID: u, TransferID: transfer, Amount: mall.FormatYuan(amountFen),
		BudgetAvailable: mall.FormatYuan(sum.BudgetAvailableFen)}); err != nil {
		return err
	}
	s.remember(c, scope)
	return nil
}

// readConfig copies the configuration in force on the directory shard.
func (s *Server) readConfig() (welfare.Config, error) {
	var cfg welfare.Config
	err := s.deps.Engine.Read(mall.DirectoryShard, func(st *welfare.State) { cfg = cloneConfig(st.Config()) })
	return cfg, err
}

// cloneConfig copies a configuration so that it shares no memory with the engine's.
func cloneConfig(c *welfare.Config) welfare.Config {
	out := *c
	out.Festivals = slices.Clone(c.Festivals)
	out.Campaigns = make([]stock.Campaign, len(c.Campaigns))
	for i, cp := range c.Campaigns {
		cp.Unions, cp.SKUs = slices.Clone(cp.Unions), slices.Clone(cp.SKUs)
		out.Campaigns[i] = cp
	}
	if c.ActivityDailyCapsFen != nil {
		out.ActivityDailyCapsFen = make(map[string]int64, len(c.ActivityDailyCapsFen))
		for k, v := range c.ActivityDailyCapsFen {
			out.ActivityDailyCapsFen[k] = v
		}
	}
	return out
}

// setConfig sets the next version of the configuration, changed by change, and audits it.
// change may refuse with an error; it is called again on a retry.
func (s *Server) setConfig(c *fiber.Ctx, action string, detail any, change func(cfg *welfare.Config) error) (welfare.Config, error) {
	for range configRetriesMax {
		cur, err := s.readConfig()
		if err != nil {
			return welfare.Config{}, err
		}
		next := cloneConfig(&cur)
		if err := change(&next); err != nil {
			return welfare.Config{}, err
		}
		next.Version = cur.Version + 1
		r, err := s.deps.Engine.Submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetConfig, Config: &next})
		if err != nil {
			return welfare.Config{}, err
		}
		switch r.Code {
		case welfare.ConfigOutdated, welfare.ExistsWithDifferentFields:
			continue // Another change took this version: start again from the one in force.
		}
		target := "config:" + strconv.FormatUint(next.Version, 10)
		if err := s.auditFederation(c, 0, action, target, r.Code.String(), detail); err != nil {
			return welfare.Config{}, err
		}
		if r.Code != welfare.OK {
			return welfare.Config{}, engineFail(r.Code, "the configuration was refused")
		}
		return next, nil
	}
	return welfare.Config{}, fail(http.StatusConflict, fedCodeConfigConflict, "the configuration kept changing under this request: try again")
}

func dayString(day int32) string {
	y, m, d := welfare.CivilFromDays(day)
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}

// parseDay reads a date (2026-02-17) to days since 1970-01-01.
func parseDay(field, s string) (int32, error) {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, fail(http.StatusUnprocessableEntity, fedCodeInvalidDate, fmt.Sprintf("%s %q is not a date like 2026-02-17", field, s))
	}
	return welfare.DaysFromCivil(t.Year(), int(t.Month()), t.Day()), nil
}

func configResponse(cfg *welfare.Config) ConfigResponse {
	out := ConfigResponse{Version: cfg.Version, Caps: map[string]string{}, ApprovalThreshold: mall.FormatYuan(cfg.ApprovalThresholdFen),
		Festivals: make([]FestivalBody, 0, len(cfg.Festivals)), Campaigns: make([]CampaignBody, 0, len(cfg.Campaigns)),
		ActivityDailyCaps: map[string]string{}}
	for _, c := range welfare.Categories() {
		if capFen := cfg.CapsFen[c]; capFen >= 0 {
			out.Caps[c.String()] = mall.FormatYuan(capFen)
		}
	}
	for _, f := range cfg.Festivals {
		out.Festivals = append(out.Festivals, FestivalBody{Name: f.Name, From: dayString(f.FromDay), To: dayString(f.ToDay)})
	}
	for i := range cfg.Campaigns {
		out.Campaigns = append(out.Campaigns, campaignBody(&cfg.Campaigns[i]))
	}
	for k, v := range cfg.ActivityDailyCapsFen {
		out.ActivityDailyCaps[k] = mall.FormatYuan(v)
	}
	return out
}

func campaignBody(c *stock.Campaign) CampaignBody {
	return CampaignBody{ID: c.ID, Name: c.Name, From: rfc3339(c.FromNanos), To: rfc3339(c.ToNanos),
		Discount: discountString(c.DiscountBps), DiscountBps: c.DiscountBps, Unions: idsAsUint64(c.Unions), SKUIDs: idsAsUint64(c.SKUs)}
}

// discountString writes basis points as a percent: 700 is "7", 750 "7.5", 725 "7.25".
func discountString(bps int64) string {
	s := strconv.FormatInt(bps/100, 10)
	if frac := bps % 100; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", frac), "0")
	}
	return s
}

// parseDiscount reads a percent with at most two decimals, above 0 and below 100, to basis
// points, without a float: "7" is 700, "7.5" 750.
func parseDiscount(s string) (int64, error) {
	bad := fail(http.StatusUnprocessableEntity, fedCodeInvalidDiscount, fmt.Sprintf("discount %q must be a percent above 0 and below 100, like \"7\" or \"7.5\"", s))
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(whole) > 2 || len(frac) > 2 || (hasFrac && frac == "") || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, bad
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	var f int64
	if frac != "" {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	bps := w*100 + f
	if bps <= 0 || bps >= campaignDiscountBpMax {
		return 0, bad
	}
	return bps, nil
}

func (s *Server) fedConfig(c *fiber.Ctx) error {
	cfg, err := s.readConfig()
	if err != nil {
		return err
	}
	return c.JSON(configResponse(&cfg))
}

func (s *Server) fedCaps(c *fiber.Ctx) error {
	var b CapsRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	var caps [len(welfare.Config{}.CapsFen)]int64
	for i := range caps {
		caps[i] = -1
	}
	for name, v := range b.Caps {
		cat, ok := welfare.ParseCategory(name)
		if !ok {
			return fail(http.StatusUnprocessableEntity, welfare.InvalidCategory.String(), fmt.Sprintf("%q is not one of %s", name, categoryList()))
		}
		if v == nil {
			continue
		}
		fen, err := yuan("caps."+name, *v, true)
		if err != nil {
			return err
		}
		caps[cat] = fen
	}
	cfg, err := s.setConfig(c, "set_caps", b, func(cfg *welfare.Config) error { cfg.CapsFen = caps; return nil })
	if err != nil {
		return err
	}
	return c.JSON(configResponse(&cfg))
}

func (s *Server) fedCalendar(c *fiber.Ctx) error {
	var b CalendarRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	if len(b.Festivals) > festivalsMax {
		return fail(http.StatusUnprocessableEntity, codeBadRequest, fmt.Sprintf("at most %d festivals", festivalsMax))
	}
	festivals := make([]welfare.Festival, 0, len(b.Festivals))
	for i, f := range b.Festivals {
		name, err := checkText(fmt.Sprintf("festivals[%d].name", i), f.Name, festivalNameRunesMax)
		if err != nil {
			return err
		}
		from, err := parseDay(fmt.Sprintf("festivals[%d].from", i), f.From)
		if err != nil {
			return err
		}
		to, err := parseDay(fmt.Sprintf("festivals[%d].to", i), f.To)
		if err != nil {
			return err
		}
		if from > to {
			return fail(http.StatusUnprocessableEntity, welfare.InvalidWindow.String(), fmt.Sprintf("festivals[%d]: from is after to", i))
		}
		festivals = append(festivals, welfare.Festival{Name: name, FromDay: from, ToDay: to})
	}
	cfg, err := s.setConfig(c, "set_calendar", b, func(cfg *welfare.Config) error { cfg.Festivals = festivals; return nil })
	if err != nil {
		return err
	}
	return c.JSON(configResponse(&cfg))
}

func (s *Server) fedThreshold(c *fiber.Ctx) error {
	var b ThresholdRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	fen, err := yuan("amount", b.Amount, true)
	if err != nil {
		return err
	}
	cfg, err := s.setConfig(c, "set_approval_threshold", b, func(cfg *welfare.Config) error { cfg.ApprovalThresholdFen = fen; return nil })
	if err != nil {
		return err
	}
	return c.JSON(configResponse(&cfg))
}

func (s *Server) fedCampaigns(c *fiber.Ctx) error {
	after, limit, err := officerPage(c)
	if err != nil {
		return err
	}
	cfg, err := s.readConfig()
	if err != nil {
		return err
	}
	campaigns := slices.Clone(cfg.Campaigns)
	slices.SortFunc(campaigns, func(a, b stock.Campaign) int { return cmp.Compare(a.ID, b.ID) })
	out := CampaignList{Campaigns: []CampaignBody{}}
	for i := range campaigns {
		if campaigns[i].ID <= after {
			continue
		}
		if len(out.Campaigns) == limit {
			out.NextCursor = strconv.FormatUint(out.Campaigns[limit-1].ID, 10)
			break
		}
		out.Campaigns = append(out.Campaigns, campaignBody(&campaigns[i]))
	}
	return c.JSON(out)
}

func (s *Server) fedCreateCampaign(c *fiber.Ctx) error {
	var b CampaignRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	if b.ID != 0 {
		if err := validID("id", b.ID); err != nil {
			return err
		}
	}
	name, err := checkText("name", b.Name, programNameRunesMax)
	if err != nil {
		return err
	}
	from, ok := parseTime(b.From)
	if !ok {
		return fail(http.StatusUnprocessableEntity, fedCodeInvalidDate, fmt.Sprintf("from %q is not a date (2026-02-01) or an RFC 3339 time", b.From))
	}
	to, ok := parseTime(b.To)
	if !ok {
		return fail(http.StatusUnprocessableEntity, fedCodeInvalidDate, fmt.Sprintf("to %q is not a date (2026-02-01) or an RFC 3339 time", b.To))
	}
	if from >= to {
		return fail(http.StatusUnprocessableEntity, welfare.InvalidWindow.String(), "from must be before to")
	}
	bps, err := parseDiscount(b.Discount)
	if err != nil {
		return err
	}
	if err := checkIDList("unions", b.Unions, campaignListMax); err != nil {
		return err
	}
	if err := checkIDList("sku_ids", b.SKUIDs, campaignListMax); err != nil {
		return err
	}
	camp := stock.Campaign{ID: b.ID, Name: name, FromNanos: from, ToNanos: to, DiscountBps: bps}
	for _, u := range b.Unions {
		camp.Unions = append(camp.Unions, stock.UnionID(u))
	}
	for _, id := range b.SKUIDs {
		camp.SKUs = append(camp.SKUs, stock.SKUID(id))
	}
	asked := camp
	cfg, err := s.setConfig(c, "create_campaign", b, func(cfg *welfare.Config) error {
		next := asked
		if next.ID == 0 {
			for _, e := range cfg.Campaigns {
				next.ID = max(next.ID, e.ID)
			}
			next.ID++
		}
		for _, e := range cfg.Campaigns {
			if e.ID != next.ID {
				continue
			}
			if sameCampaign(&e, &next) {
				camp = next
				return errCampaignExists
			}
			return fail(http.StatusConflict, welfare.ExistsWithDifferentFields.String(), fmt.Sprintf("campaign %d exists with other fields", next.ID))
		}
		if len(cfg.Campaigns) >= campaignsMax {
			return fail(http.StatusUnprocessableEntity, welfare.InvalidConfig.String(), fmt.Sprintf("at most %d campaigns", campaignsMax))
		}
		camp = next
		cfg.Campaigns = append(cfg.Campaigns, next)
		return nil
	})
	if errors.Is(err, errCampaignExists) {
		// The same campaign again: a retry, answered as the first time without a new version.
		c.Status(http.StatusCreated)
		return c.JSON(campaignBody(&camp))
	}
	if err != nil {
		return err
	}
	for i := range cfg.Campaigns {
		if cfg.Campaigns[i].ID == camp.ID {
			c.Status(http.StatusCreated)
			return c.JSON(campaignBody(&cfg.Campaigns[i]))
		}
	}
	return fmt.Errorf("campaign %d set but not in configuration %d", camp.ID, cfg.Version)
}

// errCampaignExists stops a campaign's configuration change: the campaign is there as given.
var errCampaignExists = errors.New("campaign exists as given")

func sameCampaign(a, b *stock.Campaign) bool {
	return a.Name == b.Name && a.FromNanos == b.FromNanos && a.ToNanos == b.ToNanos && a.DiscountBps == b.DiscountBps &&
		slices.Equal(a.Unions, b.Unions) && slices.Equal(a.SKUs, b.SKUs)
}

// readMerchant reads a merchant of the directory.
func (s *Server) readMerchant(id welfare.MerchantID) (welfare.Merchant, bool, error) {
	var m welfare.Merchant
	found := false
	err := s.deps.Engine.Read(mall.DirectoryShard, func(st *welfare.State) {
		if p, ok := st.Merchant(id); ok {
			m, found = *p, true
		}
	})
	return m, found, err
}

func (s *Server) fedMerchants(c *fiber.Ctx) error {
	after, limit, err := officerPage(c)
	if err != nil {
		return err
	}
	out := MerchantList{Merchants: []MerchantBody{}}
	err = s.deps.Engine.Read(mall.DirectoryShard, func(st *welfare.State) {
		for _, m := range st.Merchants() {
			if uint64(m.ID) <= after {
				continue
			}
			if len(out.Merchants) == limit {
				out.NextCursor = strconv.FormatUint(out.Merchants[limit-1].ID, 10)
				return
			}
			out.Merchants = append(out.Merchants, MerchantBody{ID: uint64(m.ID), Name: m.Name, Approved: m.Approved})
		}
	})
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (s *Server) setMerchant(c *fiber.Ctx, m welfare.Merchant, action string) error {
	r, err := s.deps.Engine.Submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetMerchant, Merchant: m})
	if err != nil {
		return err
	}
	if err := s.auditFederation(c, 0, action, "merchant:"+strconv.FormatUint(uint64(m.ID), 10), r.Code.String(), m); err != nil {
		return err
	}
	if r.Code != welfare.OK {
		return engineFail(r.Code, "the merchant was refused")
	}
	return nil
}

func (s *Server) fedRegisterMerchant(c *fiber.Ctx) error {
	var b MerchantRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	if err := validID("id", b.ID); err != nil {
		return err
	}
	name, err := checkText("name", b.Name, merchantNameRunesMax)
	if err != nil {
		return err
	}
	m, found, err := s.readMerchant(welfare.MerchantID(b.ID))
	if err != nil {
		return err
	}
	// Registering again renames; it keeps an approval already given, and the same name again
	// changes nothing.
	if !found || m.Name != name {
		m.ID, m.Name = welfare.MerchantID(b.ID), name
		if err := s.setMerchant(c, m, "register_merchant"); err != nil {
			return err
		}
	}
	c.Status(http.StatusCreated)
	return c.JSON(MerchantBody{ID: uint64(m.ID), Name: m.Name, Approved: m.Approved})
}

func (s *Server) fedApproveMerchant(c *fiber.Ctx) error {
	id, err := idParam(c, "merchant")
	if err != nil {
		return err
	}
	m, found, err := s.readMerchant(welfare.MerchantID(id))
	if err != nil {
		return err
	}
	if !found {
		return fail(http.StatusNotFound, fedCodeUnknownMerchant, "no such merchant: register it first")
	}
	m.Approved = true
	if err := s.setMerchant(c, m, "approve_merchant"); err != nil {
		return err
	}
	return c.JSON(MerchantBody{ID: uint64(m.ID), Name: m.Name, Approved: m.Approved})
}

func (s *Server) fedPickupPoint(c *fiber.Ctx) error {
	var b PickupPointBody
	if err := s.decode(c, &b); err != nil {
		return err
	}
	if err := validID("id", b.ID); err != nil {
		return err
	}
	name, err := checkText("name", b.Name, pickupNameRunesMax)
	if err != nil {
		return err
	}
	if err := checkIDList("unions", b.Unions, pickupListMax); err != nil {
		return err
	}
	if err := checkIDList("keepers", b.Keepers, pickupListMax); err != nil {
		return err
	}
	for _, u := range b.Unions {
		if _, found, err := s.deps.Engine.UnionSummary(welfare.UnionID(u)); err != nil {
			return err
		} else if !found {
			return fail(http.StatusNotFound, welfare.UnknownUnion.String(), fmt.Sprintf("no union %d", u))
		}
	}
	p := welfare.PickupPoint{ID: welfare.PickupPointID(b.ID), Name: name}
	for _, u := range b.Unions {
		p.Unions = append(p.Unions, welfare.UnionID(u))
	}
	for _, k := range b.Keepers {
		p.Keepers = append(p.Keepers, welfare.OfficerID(k))
	}
	r, err := s.deps.Engine.Submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetPickupPoint, PickupPoint: p})
	if err != nil {
		return err
	}
	if err := s.auditFederation(c, 0, "set_pickup_point", "pickup_point:"+strconv.FormatUint(b.ID, 10), r.Code.String(), b); err != nil {
		return err
	}
	if r.Code != welfare.OK {
		return engineFail(r.Code, "the pickup point was refused")
	}
	c.Status(http.StatusCreated)
	return c.JSON(PickupPointBody{ID: b.ID, Name: name, Unions: idsAsUint64(p.Unions), Keepers: idsAsUint64(p.Keepers)})
}

func dashboardFigures(f *mall.Figures) DashboardFigures {
	out := DashboardFigures{MembersReached: f.MembersReached, Orders: map[string]int{}, Value: mall.FormatYuan(f.ValueFen)}
	for s, n := range f.Orders {
		out.Orders[s.String()] = n
	}
	return out
}

func (s *Server) fedDashboard(c *fiber.Ctx) error {
	d, err := s.deps.Engine.Dashboard()
	if err != nil {
		return err
	}
	out := DashboardResponse{DashboardFigures: dashboardFigures(&d.Figures), Unions: make([]DashboardUnion, 0, len(d.Unions))}
	for i := range d.Unions {
		u := &d.Unions[i]
		out.Unions = append(out.Unions, DashboardUnion{UnionID: uint64(u.UnionID), Name: u.Name, DashboardFigures: dashboardFigures(&u.Figures)})
	}
	return c.JSON(out)
}
