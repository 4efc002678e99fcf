package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"huigong/engine/welfare"
	"huigong/mall"
)

// The pickup-point keepers' endpoints. The caller keeps the Workers e-Home named by the
// token's Point, and sees and acts on that point's deliveries and orders only: another point's
// answer "unknown", so nothing is learnt of them. Arrivals and hand-outs are audited.
//
// Checking a code and handing out take a token of the rate limiter per keeper: a pickup code
// has 10^8 values, and at a few tries a second a keeper cannot find another member's code
// before the order is returned uncollected.

// Codes of the keepers' own refusals.
const (
	keeperCodeBadPickupCode     = "bad_pickup_code"
	keeperCodeInvalidPickupCode = "invalid_pickup_code"
)

// keeperRole is the audit role of keepers' changes.
const keeperRole = string(RoleKeeper)

const (
	deliveriesPageDefault = 50
	deliveriesPageMax     = 200
	// pickupCodeDigits is the length of the codes mall.PickupCodes makes.
	pickupCodeDigits = 8
	// keeperLimiterBit keeps keepers' rate-limiter buckets apart from members': member ids are
	// below 2^53.
	keeperLimiterBit = 1 << 63
)

// KeeperDeliveryList is a page of a pickup point's deliveries.
type KeeperDeliveryList struct {
	Deliveries []KeeperDelivery `json:"deliveries"`
	NextCursor string           `json:"next_cursor"`
}

// KeeperDelivery is one merchant's consolidated delivery to the keeper's pickup point.
type KeeperDelivery struct {
	DeliveryID    uint64        `json:"delivery_id"`
	MerchantID    uint64        `json:"merchant_id"`
	PickupPointID uint64        `json:"pickup_point_id"`
	State         string        `json:"state"`
	Orders        []KeeperOrder `json:"orders"`
}

// KeeperOrder is an order as the keeper sees it: who collects what, and where it is. The
// pickup code is never shown to the keeper: the member brings it.
type KeeperOrder struct {
	OrderID     uint64            `json:"order_id"`
	MemberID    uint64            `json:"member_id"`
	UnionID     uint64            `json:"union_id"`
	State       string            `json:"state"`
	Lines       []KeeperOrderLine `json:"lines"`
	ReadyAt     string            `json:"ready_at,omitempty"`
	CollectBy   string            `json:"collect_by,omitempty"`
	HandedOutAt string            `json:"handed_out_at,omitempty"`
}

// KeeperOrderLine is one SKU of an order to hand out.
type KeeperOrderLine struct {
	SKUID      uint64 `json:"sku_id"`
	Name       string `json:"name,omitempty"`
	MerchantID uint64 `json:"merchant_id"`
	Quantity   int64  `json:"quantity"`
}

// KeeperCheckRequest asks whether a code is an order's pickup code.
type KeeperCheckRequest struct {
	OrderID uint64 `json:"order_id"`
	Code    string `json:"code"`
}

// KeeperCheck answers a check; Order is there when the code is right.
type KeeperCheck struct {
	OrderID uint64       `json:"order_id"`
	Valid   bool         `json:"valid"`
	Order   *KeeperOrder `json:"order,omitempty"`
}

// KeeperHandOutRequest hands an order out against the member's pickup code.
type KeeperHandOutRequest struct {
	Code string `json:"code"`
}

func (s *Server) registerKeeper() {
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/pickup/deliveries",
		Summary: "The deliveries to the keeper's pickup point, with their orders.",
		Tag:     "keepers", Roles: []Role{RoleKeeper}, Response: KeeperDeliveryList{}, Handler: s.keeperDeliveries,
		Query: map[string]string{
			"state":  "shipped or arrived (default: both)",
			"cursor": "the next_cursor of the previous page",
			"limit":  fmt.Sprintf("the page size, 1 to %d (default %d)", deliveriesPageMax, deliveriesPageDefault),
		}})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/pickup/deliveries/:delivery/arrive",
		Summary: "Mark a shipped delivery arrived at the keeper's pickup point: its orders become ready for pickup.",
		Tag:     "keepers", Roles: []Role{RoleKeeper}, Response: KeeperDelivery{}, Handler: s.keeperArrive})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/pickup/check",
		Summary: "Check a member's pickup code for an order ready at the keeper's pickup point, without handing out.",
		Tag:     "keepers", Roles: []Role{RoleKeeper}, Request: KeeperCheckRequest{}, Response: KeeperCheck{}, Handler: s.keeperCheck})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/pickup/orders/:order/hand-out",
		Summary: "Hand an order out to its member against the pickup code: the points are spent.",
		Tag:     "keepers", Roles: []Role{RoleKeeper}, Request: KeeperHandOutRequest{}, Response: KeeperOrder{}, Handler: s.keeperHandOut})
}

// keeperPoint is the calling keeper's pickup point.
func keeperPoint(c *fiber.Ctx) welfare.PickupPointID {
	return welfare.PickupPointID(caller(c).Claims.Point)
}

// auditKeeper records a keeper's change; a change whose entry cannot be written is answered as
// failed, so nothing is acknowledged that the audit trail does not hold.
func (s *Server) auditKeeper(c *fiber.Ctx, action, target, outcome string, detail any) error {
	cl := caller(c).Claims
	return s.deps.Audit.Record(AuditEntry{Time: s.deps.Now(), Role: keeperRole, Actor: cl.SubjectID(),
		Action: action, Target: target, Outcome: outcome, Detail: detail})
}

func (s *Server) keeperFulfilment() (*mall.Fulfilment, error) {
	if s.deps.Fulfilment == nil {
		return nil, fail(http.StatusServiceUnavailable, codeUnavailable, "fulfilment is not running on this server")
	}
	return s.deps.Fulfilment, nil
}

// keeperOrderOf renders an order for the keeper.
func keeperOrderOf(cat *mall.Catalog, o *welfare.Order) KeeperOrder {
	out := KeeperOrder{OrderID: uint64(o.ID), MemberID: uint64(o.MemberID), UnionID: uint64(o.UnionID), State: o.State.String(),
		Lines: make([]KeeperOrderLine, 0, len(o.Lines)), ReadyAt: rfc3339(o.ReadyNanos), HandedOutAt: rfc3339(o.HandedNanos)}
	if o.State == welfare.OrderReady {
		out.CollectBy = rfc3339(o.DeadlineNanos)
	}
	for _, l := range o.Lines {
		line := KeeperOrderLine{SKUID: uint64(l.SKU), MerchantID: uint64(l.MerchantID), Quantity: l.Quantity}
		if sk, ok := cat.SKU(l.SKU); ok {
			line.Name = sk.Name
		}
		out.Lines = append(out.Lines, line)
	}
	return out
}

func (s *Server) keeperDelivery(f *mall.Fulfilment, cat *mall.Catalog, d *mall.Delivery) KeeperDelivery {
	out := KeeperDelivery{DeliveryID: d.ID, MerchantID: uint64(d.MerchantID), PickupPointID: uint64(d.PickupPointID),
		State: string(d.State), Orders: make([]KeeperOrder, 0, len(d.Orders))}
	for _, id := range d.Orders {
		if o, ok := f.Order(id); ok {
			out.Orders = append(out.Orders, keeperOrderOf(cat, &o))
		}
	}
	return out
}

func (s *Server) keeperDeliveries(c *fiber.Ctx) error {
	f, err := s.keeperFulfilment()
	if err != nil {
		return err
	}
	state := mall.DeliveryState(c.Query("state"))
	switch state {
	case "", mall.DeliveryShipped, mall.DeliveryArrived:
	default:
		return fail(http.StatusBadRequest, codeBadRequest, "state must be shipped or arrived")
	}
	cursor, limit, err := page(c, deliveriesPageDefault, deliveriesPageMax, false)
	if err != nil {
		return err
	}
	cat, err := s.deps.Engine.Catalog()
	if err != nil {
		return err
	}
	out := KeeperDeliveryList{Deliveries: []KeeperDelivery{}}
	// Deliveries still open are the merchant's business until they ship.
	for _, d := range f.Deliveries(0, keeperPoint(c)) {
		if d.ID <= cursor || d.State == mall.DeliveryOpen || (state != "" && d.State != state) {
			continue
		}
		if len(out.Deliveries) == limit {
			out.NextCursor = strconv.FormatUint(out.Deliveries[limit-1].DeliveryID, 10)
			break
		}
		out.Deliveries = append(out.Deliveries, s.keeperDelivery(f, cat, &d))
	}
	return c.JSON(out)
}

func (s *Server) keeperArrive(c *fiber.Ctx) error {
	f, err := s.keeperFulfilment()
	if err != nil {
		return err
	}
	id, err := idParam(c, "delivery")
	if err != nil {
		return err
	}
	point := keeperPoint(c)
	target := "delivery:" + strconv.FormatUint(id, 10)
	d, ok := f.Delivery(id)
	switch {
	case !ok || d.PickupPointID != point:
		return fail(http.StatusNotFound, codeUnknownDelivery, "the pickup point has no such delivery")
	case d.State == mall.DeliveryArrived:
		// A repeated tap: already done, answered as done.
	default:
		switch err := f.Arrive(point, id); {
		case errors.Is(err, mall.ErrUnknownDelivery):
			return fail(http.StatusNotFound, codeUnknownDelivery, "the pickup point has no such delivery")
		case errors.Is(err, mall.ErrDeliveryState):
			_ = s.auditKeeper(c, "arrive_delivery", target, codeWrongDeliveryState, map[string]any{"point": point})
			return fail(http.StatusConflict, codeWrongDeliveryState, "the delivery has not shipped yet")
		case err != nil:
			// The delivery is marked arrived but an order could not be moved: audit what
			// happened before answering the failure.
			_ = s.auditKeeper(c, "arrive_delivery", target, codeInternal, err.Error())
			return err
		}
		if err := s.auditKeeper(c, "arrive_delivery", target, "ok", map[string]any{"point": point, "orders": len(d.Orders)}); err != nil {
			return err
		}
	}
	d, _ = f.Delivery(id)
	cat, err := s.deps.Engine.Catalog()
	if err != nil {
		return err
	}
	return c.JSON(s.keeperDelivery(f, cat, &d))
}

// keeperOrderAt returns an order the keeper's point fulfils.
func keeperOrderAt(f *mall.Fulfilment, point welfare.PickupPointID, id uint64) (welfare.Order, error) {
	o, ok := f.Order(welfare.OrderID(id))
	if !ok || o.PickupPointID != point {
		return welfare.Order{}, fail(http.StatusNotFound, welfare.UnknownOrder.String(), "the pickup point has no such order")
	}
	return o, nil
}

// checkCodeFormat refuses what cannot be a pickup code.
func checkCodeFormat(code string) error {
	ok := len(code) == pickupCodeDigits
	for i := 0; ok && i < len(code); i++ {
		ok = code[i] >= '0' && code[i] <= '9'
	}
	if !ok {
		return fail(http.StatusUnprocessableEntity, keeperCodeInvalidPickupCode, fmt.Sprintf("a pickup code is %d digits", pickupCodeDigits))
	}
	return nil
}

func (s *Server) keeperLimit(c *fiber.Ctx) error {
	if !s.limits.allow(keeperLimiterBit|caller(c).Claims.SubjectID(), s.deps.Now()) {
		return fail(http.StatusTooManyRequests, codeRateLimited, "too many pickup codes tried in a short time: wait a moment")
	}
	return nil
}

func (s *Server) keeperCheck(c *fiber.Ctx) error {
	f, err := s.keeperFulfilment()
	if err != nil {
		return err
	}
	var body KeeperCheckRequest
	if err := s.decode(c, &body); err != nil {
		return err
	}
	if err := validID("order_id", body.OrderID); err != nil {
		return err
	}
	if err := checkCodeFormat(body.Code); err != nil {
		return err
	}
	if err := s.keeperLimit(c); err != nil {
		return err
	}
	o, err := keeperOrderAt(f, keeperPoint(c), body.OrderID)
	if err != nil {
		return err
	}
	if o.State != welfare.OrderReady {
		return engineFail(welfare.WrongOrderState, fmt.Sprintf("order %d is %s, not ready for pickup", o.ID, o.State))
	}
	out := KeeperCheck{OrderID: body.OrderID, Valid: s.deps.Codes.Check(body.OrderID, body.Code)}
	if out.Valid {
		cat, err := s.deps.Engine.Catalog()
		if err != nil {
			return err
		}
		ko := keeperOrderOf(cat, &o)
		out.Order = &ko
	}
	return c.JSON(out)
}

func (s *Server) keeperHandOut(c *fiber.Ctx) error {
	f, err := s.keeperFulfilment()
	if err != nil {
		return err
	}
	id, err := idParam(c, "order")
	if err != nil {
		return err
	}
	var body KeeperHandOutRequest
	if err := s.decode(c, &body); err != nil {
		return err
	}
	if err := checkCodeFormat(body.Code); err != nil {
		return err
	}
	if err := s.keeperLimit(c); err != nil {
		return err
	}
	point := keeperPoint(c)
	if _, err := keeperOrderAt(f, point, id); err != nil {
		return err
	}
	target := "order:" + strconv.FormatUint(id, 10)
	switch err := f.HandOut(point, welfare.OrderID(id), body.Code); {
	case errors.Is(err, mall.ErrUnknownOrder):
		return fail(http.StatusNotFound, welfare.UnknownOrder.String(), "the pickup point has no such order")
	case errors.Is(err, mall.ErrBadPickupCode):
		_ = s.auditKeeper(c, "hand_out_order", target, keeperCodeBadPickupCode, map[string]any{"point": point})
		return fail(http.StatusForbidden, keeperCodeBadPickupCode, "the pickup code is not this order's")
	case errors.Is(err, mall.ErrOrderState):
		_ = s.auditKeeper(c, "hand_out_order", target, welfare.WrongOrderState.String(), map[string]any{"point": point})
		return engineFail(welfare.WrongOrderState, err.Error())
	case err != nil:
		_ = s.auditKeeper(c, "hand_out_order", target, codeInternal, err.Error())
		return err
	}
	if err := s.auditKeeper(c, "hand_out_order", target, "ok", map[string]any{"point": point}); err != nil {
		return err
	}
	// The engine has decided the hand-out; read it there, as the stream may not have it yet.
	var handed *welfare.Order
	cur, _ := f.Order(welfare.OrderID(id))
	err = s.deps.Engine.Read(s.deps.Engine.UnionShard(cur.UnionID), func(st *welfare.State) {
		if o, ok := st.Order(welfare.OrderID(id)); ok {
			handed = copyOrder(o)
		}
	})
	if err != nil {
		return err
	}
	if handed == nil {
		return fmt.Errorf("order %d handed out but not found on its shard", id)
	}
	cat, err := s.deps.Engine.Catalog()
	if err != nil {
		return err
	}
	return c.JSON(keeperOrderOf(cat, handed))
}
