package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

// The workers' endpoints. The caller is the member named by the token's subject, on the
// register of the token's union; a member sees and acts on its own orders only: another
// member's order answers "unknown order", so nothing is learnt of it.

// Codes of the workers' own refusals.
const (
	workerCodeKeyReused        = "idempotency_key_reused"
	workerCodeOrderPending     = "order_pending"
	workerCodeUnknownPoint     = "unknown_pickup_point"
	workerCodePointNotForUnion = "pickup_point_not_for_union"
	workerCodeInvalidQuery     = "invalid_query"
	workerCodeInvalidPayRef    = "invalid_payment_ref"
)

// Limits of the workers' requests.
const (
	catalogPageDefault = 50
	catalogPageMax     = 200
	ordersPageDefault  = 20
	ordersPageMax      = 100
	searchBytesMax     = 100
	categoryBytesMax   = 64
	// orderLinesMax and orderQuantityMax are the engine's bounds on an order (welfare's
	// orderLinesMax and orderQuantityMax), checked here to answer with the field at fault.
	orderLinesMax    = 50
	orderQuantityMax = 1_000
	paymentRefMax    = 64
	// checkoutTimeout bounds the wait for an order's outcome; the order goes on after it.
	checkoutTimeout = 5 * time.Second
)

// MeResponse is a member's register entry and points.
type MeResponse struct {
	MemberID   uint64           `json:"member_id"`
	UnionID    uint64           `json:"union_id"`
	Registered bool             `json:"registered"`
	DuesPaid   bool             `json:"dues_paid"`
	Balances   []ProgramBalance `json:"balances"`
}

// ProgramBalance is a member's points of one program.
type ProgramBalance struct {
	ProgramID uint64 `json:"program_id"`
	Name      string `json:"name"`
	Category  string `json:"category"`
	Balance   string `json:"balance"`
	Available string `json:"available"`
	Held      string `json:"held"`
	ValidFrom string `json:"valid_from"`
	ExpiresAt string `json:"expires_at"`
	Status    string `json:"status"`
}

// WorkerCatalog is a page of the catalog as one member sees it.
type WorkerCatalog struct {
	Items      []WorkerCatalogItem `json:"items"`
	NextCursor string              `json:"next_cursor"`
}

// WorkerCatalogItem is a SKU the member's points can pay for, at the price the member pays now.
type WorkerCatalogItem struct {
	SKUID       uint64 `json:"sku_id"`
	ProductID   uint64 `json:"product_id,omitempty"`
	Name        string `json:"name"`
	ProductName string `json:"product_name,omitempty"`
	MerchantID  uint64 `json:"merchant_id"`
	Category    string `json:"category"`
	// ListPrice is the merchant's price; Price what the member pays now, less the campaign
	// named in Campaign.
	ListPrice string `json:"list_price"`
	Price     string `json:"price"`
	Campaign  string `json:"campaign,omitempty"`
	// Stock is "available" or "sold_out"; Available the units left, as of a moment ago.
	Stock          string `json:"stock"`
	Available      int64  `json:"available"`
	LimitPerMember int64  `json:"limit_per_member,omitempty"`
	// OnSale says whether the sale window is open now; SaleFrom and SaleTo bound it.
	OnSale   bool   `json:"on_sale"`
	SaleFrom string `json:"sale_from,omitempty"`
	SaleTo   string `json:"sale_to,omitempty"`
	// Programs are the member's programs that may pay for it.
	Programs []uint64 `json:"programs"`
}

// WorkerOrderRequest is a checkout. Cash is the part paid in cash ("0.00" or absent: all in
// points).
type WorkerOrderRequest struct {
	PickupPointID uint64                   `json:"pickup_point_id"`
	Cash          string                   `json:"cash,omitempty"`
	Lines         []WorkerOrderLineRequest `json:"lines"`
}

// WorkerOrderLineRequest is one SKU of a checkout.
type WorkerOrderLineRequest struct {
	SKUID    uint64 `json:"sku_id"`
	Quantity int64  `json:"quantity"`
}

// WorkerOrder is a member's order.
type WorkerOrder struct {
	OrderID uint64 `json:"order_id"`
	State   string `json:"state"`
	// Reason is why an order was refused or ended (an engine code), if it was.
	Reason          string            `json:"reason,omitempty"`
	PickupPointID   uint64            `json:"pickup_point_id"`
	PickupPointName string            `json:"pickup_point_name,omitempty"`
	Lines           []WorkerOrderLine `json:"lines"`
	Total           string            `json:"total"`
	Cash            string            `json:"cash"`
	Points          string            `json:"points"`
	Holds           []WorkerOrderHold `json:"holds"`
	// PickupCode is shown once the order is placed, until it is handed out.
	PickupCode string `json:"pickup_code,omitempty"`
	// PayBy is the deadline of the cash payment; CollectBy of the pickup.
	PayBy       string `json:"pay_by,omitempty"`
	CollectBy   string `json:"collect_by,omitempty"`
	PlacedAt    string `json:"placed_at,omitempty"`
	ReadyAt     string `json:"ready_at,omitempty"`
	HandedOutAt string `json:"handed_out_at,omitempty"`
	ReturnedAt  string `json:"returned_at,omitempty"`
}

// WorkerOrderLine is one SKU of an order, at the unit price the member pays.
type WorkerOrderLine struct {
	SKUID      uint64 `json:"sku_id"`
	Name       string `json:"name,omitempty"`
	MerchantID uint64 `json:"merchant_id"`
	Category   string `json:"category"`
	Quantity   int64  `json:"quantity"`
	UnitPrice  string `json:"unit_price"`
	Amount     string `json:"amount"`
}

// WorkerOrderHold is one part of an order's payment: points of one program (Kind "points"),
// or cash (Kind "cash"), for one merchant.
type WorkerOrderHold struct {
	Kind       string `json:"kind"`
	ProgramID  uint64 `json:"program_id,omitempty"`
	MerchantID uint64 `json:"merchant_id"`
	Amount     string `json:"amount"`
}

// WorkerOrderList is a page of a member's orders, newest first.
type WorkerOrderList struct {
	Orders     []WorkerOrder `json:"orders"`
	NextCursor string        `json:"next_cursor"`
}

// WorkerPayRequest confirms the cash part of an order: the platform's payment reference.
type WorkerPayRequest struct {
	PaymentRef string `json:"payment_ref"`
}

func (s *Server) registerWorker() {
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/me", Summary: "The calling member, with points per program and their expiry.",
		Tag: "workers", Roles: []Role{RoleMember}, Response: MeResponse{}, Handler: s.me})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/catalog",
		Summary: "The listed SKUs the member's programs can pay for, at the price the member pays now, with search.",
		Tag:     "workers", Roles: []Role{RoleMember}, Response: WorkerCatalog{}, Handler: s.workerCatalog,
		Query: map[string]string{
			"q":        "search text, matched case-insensitively within the name, product name or category",
			"category": "only SKUs of this category",
			"cursor":   "the next_cursor of the previous page",
			"limit":    fmt.Sprintf("the page size, 1 to %d (default %d)", catalogPageMax, catalogPageDefault),
		}})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/orders",
		Summary: "Place an order, paid with the member's points (and cash, if asked). Requires an Idempotency-Key header: a retry with the same key and body returns the first answer.",
		Tag:     "workers", Roles: []Role{RoleMember}, Request: WorkerOrderRequest{}, Response: WorkerOrder{}, Status: http.StatusCreated,
		Handler: s.workerPlaceOrder})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/orders", Summary: "The member's orders, newest first.",
		Tag: "workers", Roles: []Role{RoleMember}, Response: WorkerOrderList{}, Handler: s.workerOrders,
		Query: map[string]string{
			"cursor": "the next_cursor of the previous page",
			"limit":  fmt.Sprintf("the page size, 1 to %d (default %d)", ordersPageMax, ordersPageDefault),
		}})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/orders/:order", Summary: "One of the member's orders.",
		Tag: "workers", Roles: []Role{RoleMember}, Response: WorkerOrder{}, Handler: s.workerOrder})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/orders/:order/cancel",
		Summary: "Cancel one of the member's orders before it ships: the points are released.",
		Tag:     "workers", Roles: []Role{RoleMember}, Response: WorkerOrder{}, Handler: s.workerCancel})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/orders/:order/pay",
		Summary: "Confirm the cash part of an order awaiting payment (stands in for the platform's payment callback).",
		Tag:     "workers", Roles: []Role{RoleMember}, Request: WorkerPayRequest{}, Response: WorkerOrder{}, Handler: s.workerPay})
}

// memberOf reads the calling member from the union's shard named in the token.
func (s *Server) memberOf(c *fiber.Ctx) (MeResponse, error) {
	cl := caller(c).Claims
	var out MeResponse
	found := false
	err := s.deps.Engine.Read(s.deps.Engine.UnionShard(welfare.UnionID(cl.Union)), func(st *welfare.State) {
		m, ok := st.Member(welfare.MemberID(cl.SubjectID()))
		if !ok || m.UnionID != welfare.UnionID(cl.Union) {
			return
		}
		found = true
		out = MeResponse{MemberID: uint64(m.ID), UnionID: uint64(m.UnionID), Registered: m.Registered, DuesPaid: m.DuesPaid, Balances: []ProgramBalance{}}
		for _, h := range m.Holdings {
			p, _ := st.Program(h.ProgramID)
			a, _ := st.Ledger().Account(h.AccountID)
			out.Balances = append(out.Balances, ProgramBalance{
				ProgramID: uint64(p.ID), Name: p.Name, Category: p.Category.String(),
				Balance: mall.FormatYuan(a.BalanceFen()), Available: mall.FormatYuan(a.AvailableFen()),
				Held: mall.FormatYuan(a.DebitsPendingFen), ValidFrom: rfc3339(p.FromNanos), ExpiresAt: rfc3339(p.ToNanos),
				Status: holdingStatus(p, &h),
			})
		}
	})
	if err != nil {
		return out, err
	}
	if !found {
		return out, errNotOnRegister()
	}
	return out, nil
}

func errNotOnRegister() error {
	return fail(http.StatusNotFound, welfare.UnknownMember.String(), "the member is not on the register of the union in the token")
}

func holdingStatus(p *welfare.Program, h *welfare.Holding) string {
	if h.Closed {
		return p.Status.String()
	}
	return p.Status.String()
}

func (s *Server) me(c *fiber.Ctx) error {
	out, err := s.memberOf(c)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// memberIDs returns the calling member and its union, from the token.
func memberIDs(c *fiber.Ctx) (welfare.MemberID, welfare.UnionID) {
	cl := caller(c).Claims
	return welfare.MemberID(cl.SubjectID()), welfare.UnionID(cl.Union)
}

// payer is one of the member's programs that can pay now: active, in its window, with points
// available. Its lists are copies, safe after the engine's read returns.
type payer struct {
	id        welfare.ProgramID
	whitelist welfare.Whitelist
	gift      []welfare.SKUID // a gift package buys only its options
	isGift    bool
}

func (p *payer) allows(sk *stock.SKU) bool {
	if !p.whitelist.Allows(sk.Category, welfare.SKUID(sk.ID), welfare.MerchantID(sk.MerchantID)) {
		return false
	}
	return !p.isGift || slices.Contains(p.gift, welfare.SKUID(sk.ID))
}

// payers reads the programs the calling member can pay with at nowNanos, as checkout would
// choose among them.
func (s *Server) payers(c *fiber.Ctx, nowNanos int64) ([]payer, error) {
	member, union := memberIDs(c)
	var out []payer
	found := false
	err := s.deps.Engine.Read(s.deps.Engine.UnionShard(union), func(st *welfare.State) {
		m, ok := st.Member(member)
		if !ok || m.UnionID != union {
			return
		}
		found = true
		for _, h := range m.Holdings {
			p, ok := st.Program(h.ProgramID)
			if h.Closed || !ok || p.Status != welfare.ProgramActive || nowNanos < p.FromNanos || nowNanos >= p.ToNanos {
				continue
			}
			if a, ok := st.Ledger().Account(h.AccountID); !ok || a.AvailableFen() <= 0 {
				continue
			}
			py := payer{id: p.ID, whitelist: welfare.Whitelist{
				Categories: slices.Clone(p.Whitelist.Categories), SKUs: slices.Clone(p.Whitelist.SKUs), Merchants: slices.Clone(p.Whitelist.Merchants)}}
			if p.Gift != nil {
				py.isGift, py.gift = true, slices.Clone(p.Gift.Options)
			}
			out = append(out, py)
		}
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errNotOnRegister()
	}
	return out, nil
}

// queryText checks a free-text query parameter.
func queryText(name, v string, maxBytes int) error {
	if len(v) > maxBytes || !utf8.ValidString(v) {
		return fail(http.StatusBadRequest, workerCodeInvalidQuery, fmt.Sprintf("%s must be valid UTF-8 of at most %d bytes", name, maxBytes))
	}
	return nil
}

func (s *Server) workerCatalog(c *fiber.Ctx) error {
	q, category := c.Query("q"), c.Query("category")
	if err := queryText("q", q, searchBytesMax); err != nil {
		return err
	}
	if err := queryText("category", category, categoryBytesMax); err != nil {
		return err
	}
	cursor, limit, err := page(c, catalogPageDefault, catalogPageMax, false)
	if err != nil {
		return err
	}
	nowNanos := s.deps.Now().UnixNano()
	payers, err := s.payers(c, nowNanos)
	if err != nil {
		return err
	}
	cat, err := s.deps.Engine.Catalog()
	if err != nil {
		return err
	}
	_, union := memberIDs(c)
	query := mall.SearchQuery(q)
	out := WorkerCatalog{Items: []WorkerCatalogItem{}}
	if len(payers) == 0 {
		return c.JSON(out)
	}
	start := sort.Search(len(cat.SKUs), func(i int) bool { return uint64(cat.SKUs[i].ID) > cursor })
	for i := start; i < len(cat.SKUs); i++ {
		sk := &cat.SKUs[i]
		if !sk.Listed || (sk.SaleToNanos != 0 && nowNanos >= sk.SaleToNanos) ||
			(category != "" && sk.Category != category) || !sk.Matches(query) {
			continue
		}
		programs := []uint64{}
		for j := range payers {
			if payers[j].allows(&sk.SKU) {
				programs = append(programs, uint64(payers[j].id))
			}
		}
		if len(programs) == 0 {
			continue
		}
		if len(out.Items) == limit {
			out.NextCursor = strconv.FormatUint(out.Items[limit-1].SKUID, 10)
			break
		}
		out.Items = append(out.Items, s.catalogItem(cat, sk, union, nowNanos, programs))
	}
	return c.JSON(out)
}

func (s *Server) catalogItem(cat *mall.Catalog, sk *mall.CatalogSKU, union welfare.UnionID, nowNanos int64, programs []uint64) WorkerCatalogItem {
	it := WorkerCatalogItem{
		SKUID: uint64(sk.ID), ProductID: sk.ProductID, Name: sk.Name, ProductName: sk.ProductName, MerchantID: sk.MerchantID,
		Category: sk.Category, ListPrice: mall.FormatYuan(sk.PriceFen), Price: mall.FormatYuan(cat.UnitPriceFen(&sk.SKU, union, nowNanos)),
		Stock: "available", Available: sk.Units.Available, LimitPerMember: sk.LimitPerMember,
		OnSale:   (sk.SaleFromNanos == 0 || nowNanos >= sk.SaleFromNanos) && (sk.SaleToNanos == 0 || nowNanos < sk.SaleToNanos),
		SaleFrom: rfc3339(sk.SaleFromNanos), SaleTo: rfc3339(sk.SaleToNanos), Programs: programs,
	}
	if cp, ok := cat.Campaign(&sk.SKU, union, nowNanos); ok {
		it.Campaign = cp.Name
	}
	// The board is live; the snapshot's units may be a moment old.
	if s.deps.Engine.SoldOut(sk.ID) || sk.Units.Available <= 0 {
		it.Stock, it.Available = "sold_out", 0
	}
	return it
}

// orderScope is the Idempotency-Key's scope of a member's checkout; the key within it becomes
// the order id.
func orderScope(member welfare.MemberID) string {
	return "order:" + strconv.FormatUint(uint64(member), 10)
}

func (s *Server) workerPlaceOrder(c *fiber.Ctx) error {
	member, union := memberIDs(c)
	key, err := requireIdempotencyKey(c)
	if err != nil {
		return err
	}
	var body WorkerOrderRequest
	if err := s.decode(c, &body); err != nil {
		return err
	}
	// The first answer is kept per key and body: the same body gets it again. Another body
	// under the same key reaches the engine, which holds the order under that id, and is
	// refused below as a reused key.
	sum := sha256.Sum256(c.Body())
	replayScope := orderScope(member) + ":" + key + ":" + hex.EncodeToString(sum[:16])
	if done, err := s.replay(c, replayScope); done {
		return err
	}
	req, err := checkOrderRequest(&body)
	if err != nil {
		return err
	}
	req.ID = welfare.OrderID(idempotencyID(orderScope(member), key))
	// Sold out is answered at the edge, from the board the engine keeps: a rush for a SKU
	// that is gone never reaches a shard.
	for _, l := range req.Lines {
		if s.deps.Engine.SoldOut(l.SKU) {
			return fail(http.StatusConflict, welfare.SoldOut.String(), fmt.Sprintf("SKU %d is sold out", l.SKU))
		}
	}
	now := s.deps.Now()
	if !s.limits.allow(uint64(member), now) {
		return fail(http.StatusTooManyRequests, codeRateLimited, "too many orders in a short time: wait a moment")
	}
	cat, err := s.deps.Engine.Catalog()
	if err != nil {
		return err
	}
	if err := s.checkPickupPoint(cat, req.PickupPointID, union); err != nil {
		return err
	}
	var totalFen int64
	for i := range req.Lines {
		l := &req.Lines[i]
		sk, err := s.catalogSKU(cat, l.SKU)
		if err != nil {
			return err
		}
		if !sk.Listed {
			return fail(http.StatusConflict, welfare.NotListed.String(), fmt.Sprintf("SKU %d is not for sale", l.SKU))
		}
		l.UnitPriceFen = cat.UnitPriceFen(&sk, union, now.UnixNano())
		l.MerchantID, l.Category = welfare.MerchantID(sk.MerchantID), sk.Category
		totalFen += l.AmountFen()
	}
	if req.CashFen > totalFen {
		return fail(http.StatusUnprocessableEntity, codeBadAmount, fmt.Sprintf("cash %s is more than the order's total %s", mall.FormatYuan(req.CashFen), mall.FormatYuan(totalFen)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), checkoutTimeout)
	defer cancel()
	out, err := s.deps.Engine.Checkout(ctx, member, union, req)
	switch {
	case errors.Is(err, mall.ErrOutcomeUnknown):
		return fail(http.StatusServiceUnavailable, workerCodeOrderPending,
			fmt.Sprintf("order %d is still being decided: read it at /api/v1/orders/%d, or retry with the same Idempotency-Key", req.ID, req.ID))
	case err != nil:
		return err
	case out.Code == welfare.ExistsWithDifferentFields || (out.Order != nil && !sameOrder(out.Order, req)):
		return fail(http.StatusConflict, workerCodeKeyReused, "this Idempotency-Key was used for another order: use a new key for a new order")
	}
	if out.State == welfare.OrderRefused || out.Order == nil {
		if out.Code == welfare.OK {
			return fmt.Errorf("checkout of order %d ended in %v without an order", req.ID, out.State)
		}
		if out.Code == welfare.PriceChanged {
			s.deps.Engine.InvalidateCatalog() // The next look sees the new price.
		}
		return s.answerOnce(c, replayScope, engineFail(out.Code, "the order was refused: "+out.Code.String()))
	}
	c.Status(http.StatusCreated)
	if err := c.JSON(s.workerOrderOf(cat, out.Order)); err != nil {
		return err
	}
	return s.answerOnce(c, replayScope, nil)
}

// answerOnce writes err as a problem (when set) and keeps the answer for the key's retries.
func (s *Server) answerOnce(c *fiber.Ctx, scope string, err error) error {
	if err != nil {
		if werr := s.errorHandler(c, err); werr != nil {
			return werr
		}
	}
	s.remember(c, scope)
	return nil
}

// checkOrderRequest validates a checkout's fields; prices, merchants and categories come later
// from the catalog.
func checkOrderRequest(b *WorkerOrderRequest) (*welfare.OrderRequest, error) {
	if err := validID("pickup_point_id", b.PickupPointID); err != nil {
		return nil, err
	}
	req := &welfare.OrderRequest{PickupPointID: welfare.PickupPointID(b.PickupPointID)}
	if b.Cash != "" {
		fen, err := yuan("cash", b.Cash, true)
		if err != nil {
			return nil, err
		}
		req.CashFen = fen
	}
	if len(b.Lines) == 0 || len(b.Lines) > orderLinesMax {
		return nil, fail(http.StatusUnprocessableEntity, welfare.InvalidOrder.String(), fmt.Sprintf("an order has 1 to %d lines", orderLinesMax))
	}
	for i, l := range b.Lines {
		if err := validID(fmt.Sprintf("lines[%d].sku_id", i), l.SKUID); err != nil {
			return nil, err
		}
		if l.Quantity < 1 || l.Quantity > orderQuantityMax {
			return nil, fail(http.StatusUnprocessableEntity, welfare.InvalidQuantity.String(),
				fmt.Sprintf("lines[%d].quantity must be from 1 to %d", i, orderQuantityMax))
		}
		for j := range i {
			if b.Lines[j].SKUID == l.SKUID {
				return nil, fail(http.StatusUnprocessableEntity, welfare.InvalidOrder.String(),
					fmt.Sprintf("SKU %d is on two lines: put its whole quantity on one", l.SKUID))
			}
		}
		req.Lines = append(req.Lines, welfare.OrderLine{SKU: stock.SKUID(l.SKUID), Quantity: l.Quantity})
	}
	return req, nil
}

// sameOrder reports whether an order the engine holds under a key is the one asked for again.
func sameOrder(o *welfare.Order, req *welfare.OrderRequest) bool {
	if o.PickupPointID != req.PickupPointID || o.CashFen != req.CashFen || len(o.Lines) != len(req.Lines) {
		return false
	}
	for i := range o.Lines {
		if o.Lines[i].SKU != req.Lines[i].SKU || o.Lines[i].Quantity != req.Lines[i].Quantity {
			return false
		}
	}
	return true
}

// catalogSKU finds a SKU in the snapshot, or on its shard when it is newer than the snapshot.
func (s *Server) catalogSKU(cat *mall.Catalog, id stock.SKUID) (stock.SKU, error) {
	if sk, ok := cat.SKU(id); ok {
		return sk.SKU, nil
	}
	if sk, ok := s.deps.Engine.SKU(id); ok {
		return sk, nil
	}
	return stock.SKU{}, engineFail(welfare.UnknownSKU, fmt.Sprintf("there is no SKU %d", id))
}

// checkPickupPoint checks the pickup point exists and serves the member's union (a point that
// lists no unions serves all).
func (s *Server) checkPickupPoint(cat *mall.Catalog, id welfare.PickupPointID, union welfare.UnionID) error {
	p, ok := cat.PickupPoint(id)
	if !ok {
		// A point newer than the snapshot.
		err := s.deps.Engine.Read(mall.DirectoryShard, func(st *welfare.State) {
			if q, found := st.PickupPoint(id); found {
				p, ok = welfare.PickupPoint{ID: q.ID, Name: q.Name, Unions: slices.Clone(q.Unions)}, true
			}
		})
		if err != nil {
			return err
		}
	}
	switch {
	case !ok:
		return fail(http.StatusUnprocessableEntity, workerCodeUnknownPoint, fmt.Sprintf("there is no pickup point %d", id))
	case len(p.Unions) > 0 && !slices.Contains(p.Unions, union):
		return fail(http.StatusUnprocessableEntity, workerCodePointNotForUnion, fmt.Sprintf("pickup point %d does not serve the member's union", id))
	}
	return nil
}

// pickupCodeShown reports whether the member is shown the pickup code: from placement until
// the goods are handed out.
func pickupCodeShown(st welfare.OrderState) bool {
	switch st {
	case welfare.OrderPlaced, welfare.OrderShipped, welfare.OrderReady, welfare.OrderHandedOut:
		return true
	}
	return false
}

// workerOrderOf renders an order for its member. The order must not change while it is read:
// the engine never changes an order it has stored, it stores a new one.
func (s *Server) workerOrderOf(cat *mall.Catalog, o *welfare.Order) WorkerOrder {
	total := o.TotalFen()
	out := WorkerOrder{
		OrderID: uint64(o.ID), State: o.State.String(), PickupPointID: uint64(o.PickupPointID),
		Lines: make([]WorkerOrderLine, 0, len(o.Lines)), Total: mall.FormatYuan(total), Cash: mall.FormatYuan(o.CashFen),
		Points: mall.FormatYuan(total - o.CashFen), Holds: make([]WorkerOrderHold, 0, len(o.Holds)),
		PlacedAt: rfc3339(o.PlacedNanos), ReadyAt: rfc3339(o.ReadyNanos), HandedOutAt: rfc3339(o.HandedNanos), ReturnedAt: rfc3339(o.ReturnedNanos),
	}
	if o.Code != welfare.OK {
		out.Reason = o.Code.String()
	}
	if p, ok := cat.PickupPoint(o.PickupPointID); ok {
		out.PickupPointName = p.Name
	}
	for i := range o.Lines {
		l := &o.Lines[i]
		line := WorkerOrderLine{SKUID: uint64(l.SKU), MerchantID: uint64(l.MerchantID), Category: l.Category, Quantity: l.Quantity,
			UnitPrice: mall.FormatYuan(l.UnitPriceFen), Amount: mall.FormatYuan(l.AmountFen())}
		if sk, ok := cat.SKU(l.SKU); ok {
			line.Name = sk.Name
		}
		out.Lines = append(out.Lines, line)
	}
	for _, h := range o.Holds {
		kind := "points"
		if h.ProgramID == 0 {
			kind = "cash"
		}
		out.Holds = append(out.Holds, WorkerOrderHold{Kind: kind, ProgramID: uint64(h.ProgramID), MerchantID: uint64(h.MerchantID), Amount: mall.FormatYuan(h.AmountFen)})
	}
	switch o.State {
	case welfare.OrderAwaitingPayment:
		out.PayBy = rfc3339(o.DeadlineNanos)
	case welfare.OrderReady:
		out.CollectBy = rfc3339(o.DeadlineNanos)
	}
	if pickupCodeShown(o.State) && s.deps.Codes != nil {
		out.PickupCode = s.deps.Codes.Code(uint64(o.ID))
	}
	return out
}

// copyOrder copies an order out of the engine's state.
func copyOrder(o *welfare.Order) *welfare.Order {
	n := *o
	n.Lines, n.Holds = slices.Clone(o.Lines), slices.Clone(o.Holds)
	return &n
}

// readMemberOrders reads the member's orders in its union, one read of the union's shard,
// keeping the order of ids; orders not found, or not the member's in that union, are left out.
func (s *Server) readMemberOrders(member welfare.MemberID, union welfare.UnionID, ids []welfare.OrderID) ([]*welfare.Order, error) {
	found := make([]*welfare.Order, 0, len(ids))
	err := s.deps.Engine.Read(s.deps.Engine.UnionShard(union), func(st *welfare.State) {
		for _, id := range ids {
			if o, ok := st.Order(id); ok && o.MemberID == member && o.UnionID == union {
				found = append(found, copyOrder(o))
			}
		}
	})
	return found, err
}

// memberOrder returns one of the calling member's orders in the token's union.
func (s *Server) memberOrder(c *fiber.Ctx, id welfare.OrderID) (*welfare.Order, error) {
	member, union := memberIDs(c)
	orders, err := s.readMemberOrders(member, union, []welfare.OrderID{id})
	if err != nil {
		return nil, err
	}
	if len(orders) == 0 {
		return nil, fail(http.StatusNotFound, welfare.UnknownOrder.String(), fmt.Sprintf("the member has no order %d", id))
	}
	return orders[0], nil
}

func (s *Server) workerOrders(c *fiber.Ctx) error {
	cursor, limit, err := page(c, ordersPageDefault, ordersPageMax, false)
	if err != nil {
		return err
	}
	member, union := memberIDs(c)
	refs, err := s.deps.Engine.MemberOrders(member)
	if err != nil {
		return err
	}
	// The member's orders in the token's union: orders kept under a union it has left are not
	// its business there.
	ids := make([]welfare.OrderID, 0, len(refs))
	for _, r := range refs {
		if r.UnionID == union {
			ids = append(ids, r.ID)
		}
	}
	if cursor != 0 {
		i := slices.Index(ids, welfare.OrderID(cursor))
		if i < 0 {
			return fail(http.StatusBadRequest, codeInvalidCursor, "cursor must be a next_cursor from an earlier answer")
		}
		ids = ids[i+1:]
	}
	out := WorkerOrderList{Orders: []WorkerOrder{}}
	if len(ids) > limit {
		out.NextCursor = strconv.FormatUint(uint64(ids[limit-1]), 10)
		ids = ids[:limit]
	}
	orders, err := s.readMemberOrders(member, union, ids)
	if err != nil {
		return err
	}
	cat, err := s.deps.Engine.Catalog()
	if err != nil {
		return err
	}
	for _, o := range orders {
		out.Orders = append(out.Orders, s.workerOrderOf(cat, o))
	}
	return c.JSON(out)
}

// respondOrder answers with the member's order as it now stands.
func (s *Server) respondOrder(c *fiber.Ctx, id welfare.OrderID) error {
	o, err := s.memberOrder(c, id)
	if err != nil {
		return err
	}
	cat, err := s.deps.Engine.Catalog()
	if err != nil {
		return err
	}
	return c.JSON(s.workerOrderOf(cat, o))
}

func (s *Server) workerOrder(c *fiber.Ctx) error {
	id, err := idParam(c, "order")
	if err != nil {
		return err
	}
	return s.respondOrder(c, welfare.OrderID(id))
}

func (s *Server) workerCancel(c *fiber.Ctx) error {
	id, err := idParam(c, "order")
	if err != nil {
		return err
	}
	return s.orderCommand(c, welfare.OrderID(id), shard.Command{Kind: welfare.CancelOrder})
}

func (s *Server) workerPay(c *fiber.Ctx) error {
	id, err := idParam(c, "order")
	if err != nil {
		return err
	}
	var body WorkerPayRequest
	if err := s.decode(c, &body); err != nil {
		return err
	}
	if body.PaymentRef == "" || len(body.PaymentRef) > paymentRefMax {
		return fail(http.StatusUnprocessableEntity, workerCodeInvalidPayRef, fmt.Sprintf("payment_ref must be 1 to %d characters", paymentRefMax))
	}
	for _, r := range body.PaymentRef {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_' || r == '.') {
			return fail(http.StatusUnprocessableEntity, workerCodeInvalidPayRef, "payment_ref may hold letters, digits, '-', '_' and '.' only")
		}
	}
	// The engine keeps a number per payment: the reference's hash, the same for a retry.
	return s.orderCommand(c, welfare.OrderID(id), shard.Command{Kind: welfare.ConfirmPayment, PaymentRef: idempotencyID("payment", body.PaymentRef)})
}

// orderCommand sends a member's command about one of its orders to the order's shard and
// answers with the order.
func (s *Server) orderCommand(c *fiber.Ctx, id welfare.OrderID, cmd shard.Command) error {
	member, _ := memberIDs(c)
	o, err := s.memberOrder(c, id)
	if err != nil {
		return err
	}
	cmd.OrderID, cmd.MemberID = id, member
	r, err := s.deps.Engine.Submit(s.deps.Engine.UnionShard(o.UnionID), cmd)
	if err != nil {
		return err
	}
	switch r.Code {
	case welfare.OK, welfare.Exists:
	case welfare.WrongOrderState:
		return engineFail(r.Code, fmt.Sprintf("order %d is %s", id, r.Order))
	default:
		return engineFail(r.Code, fmt.Sprintf("order %d: %s", id, r.Code))
	}
	return s.respondOrder(c, id)
}
