package httpsale

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	fastjson "github.com/segmentio/encoding/json"

	"huigong/api"
	"huigong/bench/hgsale"
	"huigong/bench/workload"
)

// bareAnswer is what the bare endpoint answers: a short order.
type bareAnswer struct {
	OrderID string `json:"order_id"`
	State   string `json:"state"`
	SKUID   uint64 `json:"sku_id"`
}

// FiberBare is a Fiber app with one endpoint that decodes the order's JSON (the API's
// WorkerOrderRequest, the same bytes the API gets) and answers: no token check, no engine, with the API's JSON library. It is the most any HTTP design can do on this machine, measured in the
// same run with the same clients and requests. It places nothing: its sold, oversold and lost
// are zero by construction.
type FiberBare struct {
	// Tokens are sent in the requests, as to the API (not checked). Nil signs its own.
	Tokens *Tokens
	// TokenMode is what members send, as to the API: sessions (the default) or platform tokens.
	TokenMode TokenMode

	cfg    workload.Config
	app    *fiber.App
	client *client
	tokens []string
	bodies [][]byte
	keys   []string
	served chan error
}

// Name is the design's name in the comparison.
func (d *FiberBare) Name() string { return "fiber-bare" }

// Setup starts the app on a loopback port and prepares the requests.
func (d *FiberBare) Setup(ctx context.Context, cfg workload.Config) error {
	d.cfg = cfg
	if d.Tokens == nil {
		d.Tokens = NewTokens("bare")
	}
	var err error
	if d.TokenMode == "" {
		d.TokenMode = SessionTokens
	}
	if d.tokens, err = d.Tokens.Bearer(cfg, d.TokenMode); err != nil {
		return err
	}
	d.bodies, d.keys = orderBodies(cfg), idempotencyKeys(cfg)
	// The same JSON library as the API's, both ways: the ceiling is the best this machine does.
	d.app = fiber.New(fiber.Config{DisableStartupMessage: true, JSONEncoder: fastjson.Marshal})
	d.app.Post(OrdersPath, func(c *fiber.Ctx) error {
		var b api.WorkerOrderRequest
		if err := fastjson.Unmarshal(c.Body(), &b); err != nil || len(b.Lines) != 1 || b.Lines[0].Quantity < 1 {
			return c.Status(http.StatusBadRequest).JSON(fiber.Map{"code": "invalid_request"})
		}
		return c.Status(http.StatusCreated).JSON(bareAnswer{OrderID: c.Get("Idempotency-Key"), State: "answered", SKUID: b.Lines[0].SKUID})
	})
	ln, err := listen()
	if err != nil {
		return err
	}
	d.served = make(chan error, 1)
	go func() { d.served <- d.app.Listener(ln) }()
	d.client = newClient(ln.Addr().String(), cfg.Clients)
	d.client.warm(cfg.Clients, "/")
	return nil
}

// orderBodies are the members' orders (api.WorkerOrderRequest): one unit of their SKU, all in
// points, collected at the pickup point.
func orderBodies(cfg workload.Config) [][]byte {
	bodies := make([][]byte, cfg.Members)
	for m := range bodies {
		bodies[m], _ = json.Marshal(api.WorkerOrderRequest{PickupPointID: uint64(hgsale.PickupPoint),
			Lines: []api.WorkerOrderLineRequest{{SKUID: uint64(workload.SKUID(cfg.SKUOf(m))), Quantity: 1}}})
	}
	return bodies
}

func idempotencyKeys(cfg workload.Config) []string {
	keys := make([]string, cfg.Members)
	for m := range keys {
		keys[m] = "flash-" + strconv.FormatInt(workload.OrderID(m), 10)
	}
	return keys
}

// Attempt sends one order.
func (d *FiberBare) Attempt(ctx context.Context, _ int, m int) (workload.Outcome, error) {
	return d.client.post(ctx, d.tokens[m], d.keys[m], d.bodies[m], func(status int, body []byte) (workload.Outcome, error) {
		if status != http.StatusCreated {
			return workload.Failed, fmt.Errorf("status %d: %s", status, body)
		}
		return workload.Answered, nil
	})
}

// Verify has nothing to check: nothing was sold.
func (d *FiberBare) Verify(ctx context.Context, cfg workload.Config, outcomes []workload.Outcome) (workload.Verification, error) {
	return workload.Verification{Notes: []string{"the HTTP ceiling: decodes the order and answers, places nothing"}}, nil
}

// Close stops the app.
func (d *FiberBare) Close() error {
	if d.client != nil {
		d.client.close()
		d.client = nil
	}
	if d.app == nil {
		return nil
	}
	err := d.app.ShutdownWithTimeout(10 * time.Second)
	if d.served != nil {
		if serr := <-d.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		d.served = nil
	}
	d.app = nil
	return err
}
