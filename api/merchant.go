package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

// The merchant partner API. Every request is signed (see Sign); the caller is the merchant of
// the signing key, and it acts only on its own SKUs, deliveries and orders: another merchant's
// answer "not found", so a merchant learns nothing of another's catalog. Every change is
// audited with the role "merchant".

// Codes of the partner API's own refusals.
const (
	codeSKUOwnedByAnother    = "sku_owned_by_another_merchant"
	codeMerchantNotApproved  = "merchant_not_approved"
	codeUnknownDelivery      = "unknown_delivery"
	codeWrongDeliveryState   = "wrong_delivery_state"
	codeInvalidCursor        = "invalid_cursor"
	codeInvalidText          = "invalid_text"
	codeInvalidWebhookURL    = "invalid_webhook_url"
	codeInvalidWebhookSecret = "invalid_webhook_secret"
	codeWebhookHostRefused   = "webhook_host_not_allowed"
	codeWebhookNotRegistered = "webhook_not_registered"
)

// roleMerchant is the audit role of merchant changes; merchants sign requests instead of
// holding a token, so it is not a token Role.
const roleMerchant = "merchant"

// Limits of partner requests.
const (
	partnerPageDefault     = 100
	partnerPageMax         = 500
	partnerTextBytesMax    = 200
	partnerCategoryMax     = 64
	partnerQuantityMax     = 1 << 40 // the engine's bound on units received at once
	partnerLimitPerMember  = 1_000_000
	statementRangeDaysMax  = 366
	partnerWebhookURLMax   = 2048
	partnerWebhookSecretLo = 16
	partnerWebhookSecretHi = 256
)

// PartnerSKURequest creates or replaces a SKU's catalog fields.
type PartnerSKURequest struct {
	Name        string `json:"name"`
	ProductID   uint64 `json:"product_id,omitempty"`
	ProductName string `json:"product_name,omitempty"`
	Category    string `json:"category"`
	// Price is the list price in yuan ("12.50").
	Price  string `json:"price"`
	Listed bool   `json:"listed,omitempty"`
	// SaleFrom and SaleTo bound a flash sale (RFC 3339 or a date in Asia/Shanghai); empty is
	// no bound.
	SaleFrom       string `json:"sale_from,omitempty"`
	SaleTo         string `json:"sale_to,omitempty"`
	LimitPerMember int64  `json:"limit_per_member,omitempty"`
}

// PartnerQuantity is a number of units.
type PartnerQuantity struct {
	Quantity int64 `json:"quantity"`
}

// PartnerPrice is a new list price in yuan.
type PartnerPrice struct {
	Price string `json:"price"`
}

// PartnerUnits are a SKU's units by state; they add up to what was received.
type PartnerUnits struct {
	Received  int64 `json:"received"`
	Available int64 `json:"available"`
	Reserved  int64 `json:"reserved"`
	Sold      int64 `json:"sold"`
	HandedOut int64 `json:"handed_out"`
	Returned  int64 `json:"returned"`
}

// PartnerSKU is one of the merchant's SKUs.
type PartnerSKU struct {
	SKUID          uint64       `json:"sku_id"`
	Name           string       `json:"name"`
	ProductID      uint64       `json:"product_id"`
	ProductName    string       `json:"product_name"`
	Category       string       `json:"category"`
	Price          string       `json:"price"`
	Listed         bool         `json:"listed"`
	SaleFrom       string       `json:"sale_from,omitempty"`
	SaleTo         string       `json:"sale_to,omitempty"`
	LimitPerMember int64        `json:"limit_per_member"`
	Units          PartnerUnits `json:"units"`
}

// PartnerSKUList is a page of the merchant's SKUs.
type PartnerSKUList struct {
	SKUs       []PartnerSKU `json:"skus"`
	NextCursor string       `json:"next_cursor"`
}

// PartnerOrderLine is a line of an order that is the merchant's.
type PartnerOrderLine struct {
	SKUID     uint64 `json:"sku_id"`
	Quantity  int64  `json:"quantity"`
	UnitPrice string `json:"unit_price"`
	Amount    string `json:"amount"`
	Category  string `json:"category"`
}

// PartnerOrderEvent is one order state from the order stream, as the merchant sees it: only
// its own lines, and no member.
type PartnerOrderEvent struct {
	// Offset is the event's position in the stream; pull from Offset+1 to go on after it.
	Offset        uint64 `json:"offset"`
	OrderID       uint64 `json:"order_id"`
	State         string `json:"state"`
	PickupPointID uint64 `json:"pickup_point_id"`
	// Amount is the total of the merchant's lines.
	Amount   string             `json:"amount"`
	Lines    []PartnerOrderLine `json:"lines"`
	PlacedAt string             `json:"placed_at,omitempty"`
	// At is when the order reached this state, where the engine records it.
	At string `json:"at,omitempty"`
}

// PartnerOrderFeed is a page of the order feed.
type PartnerOrderFeed struct {
	Events []PartnerOrderEvent `json:"events"`
	// NextCursor is always the offset to resume from, also at the end of the stream: the feed
	// is a tail that grows, not a list that ends.
	NextCursor string `json:"next_cursor"`
	// CaughtUp says the stream had nothing more when read.
	CaughtUp bool `json:"caught_up"`
}

// PartnerDelivery is a consolidated delivery: the merchant's goods for one pickup point.
type PartnerDelivery struct {
	DeliveryID    uint64   `json:"delivery_id"`
	PickupPointID uint64   `json:"pickup_point_id"`
	State         string   `json:"state"`
	Orders        []uint64 `json:"orders"`
}

// PartnerDeliveryList is a page of the merchant's deliveries.
type PartnerDeliveryList struct {
	Deliveries []PartnerDelivery `json:"deliveries"`
	NextCursor string            `json:"next_cursor"`
}

// PartnerStatementLine is one order's part in a statement; returns are negative.
type PartnerStatementLine struct {
	OrderID uint64 `json:"order_id"`
	At      string `json:"at"`
	Kind    string `json:"kind"`
	Amount  string `json:"amount"`
}

// PartnerStatement is the merchant's settlement for a period.
type PartnerStatement struct {
	MerchantID uint64                 `json:"merchant_id"`
	From       string                 `json:"from"`
	To         string                 `json:"to"`
	Invoice    string                 `json:"invoice"`
	Lines      []PartnerStatementLine `json:"lines"`
	Total      string                 `json:"total"`
}

// PartnerWebhookRequest registers the merchant's webhook endpoint.
type PartnerWebhookRequest struct {
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// PartnerWebhook is the state of the merchant's webhook.
type PartnerWebhook struct {
	URL string `json:"url"`
	// FromOffset is the first stream offset pushed; pull the feed for what came before.
	FromOffset uint64 `json:"from_offset"`
	Delivered  uint64 `json:"delivered"`
	// Failed counts events given up after every attempt; Dropped events pushed out of a full
	// queue. Both are in the pull feed.
	Failed    uint64 `json:"failed"`
	Dropped   uint64 `json:"dropped"`
	Pending   int    `json:"pending"`
	LastError string `json:"last_error,omitempty"`
}

func (s *Server) registerMerchant() {
	page := map[string]string{"cursor": "where the previous page ended (empty for the first page)",
		"limit": fmt.Sprintf("the page size, 1 to %d (default %d)", partnerPageMax, partnerPageDefault)}
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/partner/skus", Summary: "The merchant's SKUs with price, listing, sale window, limit and units by state.",
		Tag: "merchants", Merchant: true, Query: page, Response: PartnerSKUList{}, Handler: s.partnerSKUs})
	s.add(Route{Method: fiber.MethodPut, Path: "/api/v1/partner/skus/:sku", Summary: "Create or replace one of the merchant's SKUs (the merchant must be approved).",
		Tag: "merchants", Merchant: true, Request: PartnerSKURequest{}, Response: PartnerSKU{}, Handler: s.partnerSetSKU})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/partner/skus/:sku/stock", Summary: "Receive units of a SKU into stock (an optional Idempotency-Key makes a retry safe).",
		Tag: "merchants", Merchant: true, Request: PartnerQuantity{}, Response: PartnerSKU{}, Handler: s.partnerStock(welfare.ReceiveStock)})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/partner/skus/:sku/restock", Summary: "Move returned units of a SKU back to available (an optional Idempotency-Key makes a retry safe).",
		Tag: "merchants", Merchant: true, Request: PartnerQuantity{}, Response: PartnerSKU{}, Handler: s.partnerStock(welfare.RestockSKU)})
	s.add(Route{Method: fiber.MethodPatch, Path: "/api/v1/partner/skus/:sku/price", Summary: "Change a SKU's list price.",
		Tag: "merchants", Merchant: true, Request: PartnerPrice{}, Response: PartnerSKU{}, Handler: s.partnerPrice})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/partner/orders", Summary: "The order feed: events of orders with the merchant's lines, from a stream offset; pull to recover what a webhook missed.",
		Tag: "merchants", Merchant: true, Query: page, Response: PartnerOrderFeed{}, Handler: s.partnerOrders})
	s.add(Route{Method: fiber.MethodPut, Path: "/api/v1/partner/webhook", Summary: "Register the merchant's webhook: order events are POSTed to it, signed, retried with backoff.",
		Tag: "merchants", Merchant: true, Request: PartnerWebhookRequest{}, Response: PartnerWebhook{}, Handler: s.partnerSetWebhook})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/partner/webhook", Summary: "The merchant's webhook and its delivery counts.",
		Tag: "merchants", Merchant: true, Response: PartnerWebhook{}, Handler: s.partnerWebhook})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/partner/deliveries", Summary: "The merchant's consolidated deliveries, one per pickup point.",
		Tag: "merchants", Merchant: true, Response: PartnerDeliveryList{}, Handler: s.partnerDeliveries,
		Query: map[string]string{"state": "open, shipped or arrived (empty for all)", "cursor": page["cursor"], "limit": page["limit"]}})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/partner/deliveries/:delivery/ship", Summary: "Ship a consolidated delivery.",
		Tag: "merchants", Merchant: true, Response: PartnerDelivery{}, Handler: s.partnerShip})
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/partner/statements", Summary: "The merchant's settlement statement for a period, with its invoice reference.",
		Tag: "merchants", Merchant: true, Response: PartnerStatement{}, Handler: s.partnerStatement,
		Query: map[string]string{"from": "the first day (2026-02-01) or instant (RFC 3339), included", "to": "the end, excluded"}})
}

// partnerPage reads the paging of the order feed and the SKU list: a cursor of 0 is a stream
// offset like any other.
func partnerPage(c *fiber.Ctx) (cursor uint64, limit int, err error) {
	return page(c, partnerPageDefault, partnerPageMax, true)
}

// partnerText checks a text field: valid UTF-8, no control characters, within maxBytes.
func partnerText(field, v string, required bool, maxBytes int) error {
	switch {
	case required && v == "":
		return fail(http.StatusUnprocessableEntity, codeInvalidText, field+" is required")
	case len(v) > maxBytes:
		return fail(http.StatusUnprocessableEntity, codeInvalidText, fmt.Sprintf("%s is over %d bytes", field, maxBytes))
	case !utf8.ValidString(v):
		return fail(http.StatusUnprocessableEntity, codeInvalidText, field+" is not valid UTF-8")
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return fail(http.StatusUnprocessableEntity, codeInvalidText, field+" has a control character")
		}
	}
	return nil
}

func (s *Server) merchantOf(c *fiber.Ctx) welfare.MerchantID {
	return welfare.MerchantID(caller(c).Merchant)
}

// auditMerchant records a merchant's change; a change whose audit entry cannot be written is
// answered as failed, so nothing is acknowledged that the audit trail does not hold.
func (s *Server) auditMerchant(c *fiber.Ctx, action, target, outcome string, detail any) error {
	return s.deps.Audit.Record(AuditEntry{Time: s.deps.Now(), Role: roleMerchant, Actor: caller(c).Merchant,
		Action: action, Target: target, Outcome: outcome, Detail: detail})
}

// partnerSKUError answers the mall's errors and the engine's refusal of a SKU command.
func partnerSKUError(err error, code welfare.Code) error {
	switch {
	case errors.Is(err, mall.ErrNotMerchantSKU):
		return fail(http.StatusNotFound, welfare.UnknownSKU.String(), "the merchant has no such SKU")
	case errors.Is(err, mall.ErrSKUOwnedByAnother):
		return fail(http.StatusConflict, codeSKUOwnedByAnother, "this SKU id belongs to another merchant")
	case err != nil:
		return err
	}
	return engineFail(code, "the engine refused the SKU command")
}

// requireApproved refuses a merchant the federation has not approved.
func (s *Server) requireApproved(m welfare.MerchantID) error {
	ok, err := s.deps.Engine.MerchantApproved(m)
	if err != nil {
		return err
	}
	if !ok {
		return fail(http.StatusForbidden, codeMerchantNotApproved, "the federation has not approved this merchant")
	}
	return nil
}

func partnerSKU(sk *stock.SKU) PartnerSKU {
	u := sk.Units
	return PartnerSKU{SKUID: uint64(sk.ID), Name: sk.Name, ProductID: sk.ProductID, ProductName: sk.ProductName,
		Category: sk.Category, Price: mall.FormatYuan(sk.PriceFen), Listed: sk.Listed,
		SaleFrom: rfc3339(sk.SaleFromNanos), SaleTo: rfc3339(sk.SaleToNanos), LimitPerMember: sk.LimitPerMember,
		Units: PartnerUnits{Received: u.Received, Available: u.Available, Reserved: u.Reserved, Sold: u.Sold,
			HandedOut: u.HandedOut, Returned: u.Returned}}
}

func skuTarget(id uint64) string { return "sku:" + strconv.FormatUint(id, 10) }

func (s *Server) partnerSKUs(c *fiber.Ctx) error {
	cursor, limit, err := partnerPage(c)
	if err != nil {
		return err
	}
	skus, more, err := s.deps.Engine.MerchantSKUs(s.merchantOf(c), stock.SKUID(cursor), limit)
	if err != nil {
		return err
	}
	out := PartnerSKUList{SKUs: make([]PartnerSKU, 0, len(skus))}
	for i := range skus {
		out.SKUs = append(out.SKUs, partnerSKU(&skus[i]))
	}
	if more {
		out.NextCursor = strconv.FormatUint(uint64(skus[len(skus)-1].ID), 10)
	}
	return c.JSON(out)
}

// skuFromRequest validates a SKU request into the engine's catalog fields.
func skuFromRequest(id uint64, b *PartnerSKURequest) (stock.SKU, error) {
	for _, f := range []struct {
		name, v  string
		required bool
		max      int
	}{{"name", b.Name, true, partnerTextBytesMax}, {"product_name", b.ProductName, false, partnerTextBytesMax},
		{"category", b.Category, true, partnerCategoryMax}} {
		if err := partnerText(f.name, f.v, f.required, f.max); err != nil {
			return stock.SKU{}, err
		}
	}
	if b.ProductID >= 1<<53 {
		return stock.SKU{}, validID("product_id", b.ProductID)
	}
	priceFen, err := yuan("price", b.Price, false)
	if err != nil {
		return stock.SKU{}, err
	}
	if b.LimitPerMember < 0 || b.LimitPerMember > partnerLimitPerMember {
		return stock.SKU{}, fail(http.StatusUnprocessableEntity, welfare.InvalidQuantity.String(),
			fmt.Sprintf("limit_per_member must be from 0 (no limit) to %d", partnerLimitPerMember))
	}
	sk := stock.SKU{ID: stock.SKUID(id), Name: b.Name, ProductID: b.ProductID, ProductName: b.ProductName,
		Category: b.Category, PriceFen: priceFen, Listed: b.Listed, LimitPerMember: b.LimitPerMember}
	for _, w := range []struct {
		field string
		v     string
		to    *int64
	}{{"sale_from", b.SaleFrom, &sk.SaleFromNanos}, {"sale_to", b.SaleTo, &sk.SaleToNanos}} {
		if w.v == "" {
			continue
		}
		n, ok := parseTime(w.v)
		if !ok || n <= 0 {
			return stock.SKU{}, fail(http.StatusUnprocessableEntity, welfare.InvalidWindow.String(), w.field+" must be an RFC 3339 time or a date like 2026-02-01")
		}
		*w.to = n
	}
	if sk.SaleToNanos != 0 && sk.SaleToNanos <= sk.SaleFromNanos {
		return stock.SKU{}, fail(http.StatusUnprocessableEntity, welfare.InvalidWindow.String(), "sale_to must be after sale_from")
	}
	return sk, nil
}

func (s *Server) partnerSetSKU(c *fiber.Ctx) error {
	id, err := idParam(c, "sku")
	if err != nil {
		return err
	}
	var b PartnerSKURequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	sk, err := skuFromRequest(id, &b)
	if err != nil {
		return err
	}
	m := s.merchantOf(c)
	if err := s.requireApproved(m); err != nil {
		return err
	}
	now, code, err := s.deps.Engine.SetMerchantSKU(m, sk)
	if err == nil && code == welfare.OK {
		if err := s.auditMerchant(c, "set_sku", skuTarget(id), "ok", b); err != nil {
			return err
		}
		return c.JSON(partnerSKU(&now))
	}
	if errors.Is(err, mall.ErrSKUOwnedByAnother) {
		// A merchant trying another's SKU id is worth a trace even though nothing changed.
		if aerr := s.auditMerchant(c, "set_sku", skuTarget(id), codeSKUOwnedByAnother, nil); aerr != nil {
			return aerr
		}
	}
	return partnerSKUError(err, code)
}

// partnerIdempotency returns the replay scope of a partner request with an Idempotency-Key
// (empty without one), and answers it if it was seen. The scope holds the merchant, the route
// and the body's hash, so another body under the same key is a new request.
func (s *Server) partnerIdempotency(c *fiber.Ctx) (string, bool, error) {
	k := c.Get("Idempotency-Key")
	if k == "" {
		return "", false, nil
	}
	if len(k) > 128 {
		return "", false, fail(http.StatusBadRequest, codeIdempotencyKey, "an Idempotency-Key is at most 128 characters")
	}
	sum := sha256.Sum256(c.Body())
	scope := fmt.Sprintf("partner\x00%d\x00%s %s\x00%s\x00%s", caller(c).Merchant, c.Method(), c.Path(), k, hex.EncodeToString(sum[:]))
	done, err := s.replay(c, scope)
	return scope, done, err
}

func (s *Server) partnerStock(kind welfare.CommandKind) fiber.Handler {
	action := "receive_stock"
	if kind == welfare.RestockSKU {
		action = "restock"
	}
	return func(c *fiber.Ctx) error {
		id, err := idParam(c, "sku")
		if err != nil {
			return err
		}
		var b PartnerQuantity
		if err := s.decode(c, &b); err != nil {
			return err
		}
		if b.Quantity <= 0 || b.Quantity > partnerQuantityMax {
			return fail(http.StatusUnprocessableEntity, welfare.InvalidQuantity.String(), "quantity must be a positive number of units")
		}
		scope, done, err := s.partnerIdempotency(c)
		if done || err != nil {
			return err
		}
		m := s.merchantOf(c)
		var now stock.SKU
		var code welfare.Code
		if kind == welfare.RestockSKU {
			now, code, err = s.deps.Engine.RestockMerchantSKU(m, stock.SKUID(id), b.Quantity)
		} else {
			now, code, err = s.deps.Engine.ReceiveMerchantStock(m, stock.SKUID(id), b.Quantity)
		}
		if err != nil || code != welfare.OK {
			return partnerSKUError(err, code)
		}
		if err := s.auditMerchant(c, action, skuTarget(id), "ok", b); err != nil {
			return err
		}
		if err := c.JSON(partnerSKU(&now)); err != nil {
			return err
		}
		if scope != "" {
			s.remember(c, scope)
		}
		return nil
	}
}

func (s *Server) partnerPrice(c *fiber.Ctx) error {
	id, err := idParam(c, "sku")
	if err != nil {
		return err
	}
	var b PartnerPrice
	if err := s.decode(c, &b); err != nil {
		return err
	}
	priceFen, err := yuan("price", b.Price, false)
	if err != nil {
		return err
	}
	m := s.merchantOf(c)
	if err := s.requireApproved(m); err != nil {
		return err
	}
	var oldFen int64
	now, code, err := s.deps.Engine.UpdateMerchantSKU(m, stock.SKUID(id), func(sk *stock.SKU) {
		oldFen, sk.PriceFen = sk.PriceFen, priceFen
	})
	if err != nil || code != welfare.OK {
		return partnerSKUError(err, code)
	}
	if err := s.auditMerchant(c, "set_price", skuTarget(id), "ok",
		map[string]string{"from": mall.FormatYuan(oldFen), "to": mall.FormatYuan(priceFen)}); err != nil {
		return err
	}
	return c.JSON(partnerSKU(&now))
}

// partnerOrderEvent is an order event as merchant m sees it.
func partnerOrderEvent(ev mall.OrderEvent, m welfare.MerchantID) PartnerOrderEvent {
	o := ev.Order
	out := PartnerOrderEvent{Offset: ev.Offset, OrderID: uint64(o.ID), State: o.State.String(),
		PickupPointID: uint64(o.PickupPointID), Lines: []PartnerOrderLine{}, PlacedAt: rfc3339(o.PlacedNanos)}
	var totalFen int64
	for _, l := range o.Lines {
		if l.MerchantID != m {
			continue
		}
		totalFen += l.AmountFen()
		out.Lines = append(out.Lines, PartnerOrderLine{SKUID: uint64(l.SKU), Quantity: l.Quantity,
			UnitPrice: mall.FormatYuan(l.UnitPriceFen), Amount: mall.FormatYuan(l.AmountFen()), Category: l.Category})
	}
	out.Amount = mall.FormatYuan(totalFen)
	switch o.State {
	case welfare.OrderPlaced:
		out.At = rfc3339(o.PlacedNanos)
	case welfare.OrderReady:
		out.At = rfc3339(o.ReadyNanos)
	case welfare.OrderHandedOut:
		out.At = rfc3339(o.HandedNanos)
	case welfare.OrderReturned, welfare.OrderUncollected:
		out.At = rfc3339(o.ReturnedNanos)
	}
	return out
}

func (s *Server) partnerOrders(c *fiber.Ctx) error {
	cursor, limit, err := partnerPage(c)
	if err != nil {
		return err
	}
	m := s.merchantOf(c)
	events, next, caughtUp := s.deps.Engine.MerchantOrderEvents(m, cursor, limit)
	out := PartnerOrderFeed{Events: make([]PartnerOrderEvent, 0, len(events)), NextCursor: strconv.FormatUint(next, 10), CaughtUp: caughtUp}
	for _, ev := range events {
		out.Events = append(out.Events, partnerOrderEvent(ev, m))
	}
	return c.JSON(out)
}

func (s *Server) partnerSetWebhook(c *fiber.Ctx) error {
	if s.deps.Webhooks == nil {
		return fail(http.StatusServiceUnavailable, codeUnavailable, "webhooks are not enabled on this server; pull the order feed")
	}
	var b PartnerWebhookRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	st, err := s.deps.Webhooks.Register(s.merchantOf(c), b.URL, []byte(b.Secret))
	if err != nil {
		return err
	}
	if err := s.auditMerchant(c, "set_webhook", "webhook", "ok", map[string]string{"url": st.URL}); err != nil {
		return err
	}
	return c.JSON(st)
}

func (s *Server) partnerWebhook(c *fiber.Ctx) error {
	if s.deps.Webhooks == nil {
		return fail(http.StatusServiceUnavailable, codeUnavailable, "webhooks are not enabled on this server; pull the order feed")
	}
	st, ok := s.deps.Webhooks.Status(s.merchantOf(c))
	if !ok {
		return fail(http.StatusNotFound, codeWebhookNotRegistered, "the merchant has no webhook")
	}
	return c.JSON(st)
}

func partnerDelivery(d *mall.Delivery) PartnerDelivery {
	out := PartnerDelivery{DeliveryID: d.ID, PickupPointID: uint64(d.PickupPointID), State: string(d.State), Orders: make([]uint64, 0, len(d.Orders))}
	for _, o := range d.Orders {
		out.Orders = append(out.Orders, uint64(o))
	}
	return out
}

func (s *Server) requireFulfilment() error {
	if s.deps.Fulfilment == nil {
		return fail(http.StatusServiceUnavailable, codeUnavailable, "fulfilment is not running on this server")
	}
	return nil
}

func (s *Server) partnerDeliveries(c *fiber.Ctx) error {
	if err := s.requireFulfilment(); err != nil {
		return err
	}
	state := mall.DeliveryState(c.Query("state"))
	switch state {
	case "", mall.DeliveryOpen, mall.DeliveryShipped, mall.DeliveryArrived:
	default:
		return fail(http.StatusBadRequest, codeBadRequest, "state must be open, shipped or arrived")
	}
	cursor, limit, err := partnerPage(c)
	if err != nil {
		return err
	}
	out := PartnerDeliveryList{Deliveries: []PartnerDelivery{}}
	for _, d := range s.deps.Fulfilment.Deliveries(s.merchantOf(c), 0) {
		if d.ID <= cursor || (state != "" && d.State != state) {
			continue
		}
		if len(out.Deliveries) == limit {
			out.NextCursor = strconv.FormatUint(out.Deliveries[limit-1].DeliveryID, 10)
			break
		}
		out.Deliveries = append(out.Deliveries, partnerDelivery(&d))
	}
	return c.JSON(out)
}

func (s *Server) partnerShip(c *fiber.Ctx) error {
	if err := s.requireFulfilment(); err != nil {
		return err
	}
	id, err := idParam(c, "delivery")
	if err != nil {
		return err
	}
	target := "delivery:" + strconv.FormatUint(id, 10)
	switch err := s.deps.Fulfilment.Ship(s.merchantOf(c), id); {
	case errors.Is(err, mall.ErrUnknownDelivery):
		return fail(http.StatusNotFound, codeUnknownDelivery, "the merchant has no such delivery")
	case errors.Is(err, mall.ErrDeliveryState):
		return fail(http.StatusConflict, codeWrongDeliveryState, "the delivery has shipped already")
	case err != nil:
		// The delivery is marked shipped but an order's state could not be moved: audit what
		// happened before answering the failure.
		_ = s.auditMerchant(c, "ship_delivery", target, codeInternal, err.Error())
		return err
	}
	d, _ := s.deps.Fulfilment.Delivery(id)
	if err := s.auditMerchant(c, "ship_delivery", target, "ok", map[string]any{"orders": len(d.Orders)}); err != nil {
		return err
	}
	return c.JSON(partnerDelivery(&d))
}

func (s *Server) partnerStatement(c *fiber.Ctx) error {
	from, okFrom := parseTime(c.Query("from"))
	to, okTo := parseTime(c.Query("to"))
	switch {
	case !okFrom || !okTo || from < 0:
		return fail(http.StatusBadRequest, codeBadRequest, "from and to are required, as dates (2026-02-01) or RFC 3339 times")
	case to <= from:
		return fail(http.StatusUnprocessableEntity, welfare.InvalidWindow.String(), "to must be after from")
	case time.Duration(to-from) > statementRangeDaysMax*24*time.Hour:
		return fail(http.StatusUnprocessableEntity, welfare.InvalidWindow.String(), fmt.Sprintf("a statement covers at most %d days", statementRangeDaysMax))
	}
	m := s.merchantOf(c)
	st := s.deps.Engine.Statement(m, from, to)
	out := PartnerStatement{MerchantID: uint64(m), From: rfc3339(from), To: rfc3339(to),
		Invoice: fmt.Sprintf("INV-%d-%s", m, time.Unix(0, from).In(shanghai).Format("200601")),
		Lines:   make([]PartnerStatementLine, 0, len(st.Lines)), Total: mall.FormatYuan(st.TotalFen)}
	for _, l := range st.Lines {
		out.Lines = append(out.Lines, PartnerStatementLine{OrderID: uint64(l.OrderID), At: rfc3339(l.AtNanos), Kind: l.Kind, Amount: mall.FormatYuan(l.AmountFen)})
	}
	return c.JSON(out)
}
