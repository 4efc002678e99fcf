package httpsale

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"huigong/api"
	"huigong/bench/hgsale"
	"huigong/bench/workload"
	"huigong/mall"
)

// APIHasOrders reports whether huigong's API places orders (POST OrdersPath).
func APIHasOrders() bool {
	s := api.New(api.Deps{Tokens: api.NewVerifier(nil, nil, time.Now), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, r := range s.Routes() {
		if r.Method == http.MethodPost && r.Path == OrdersPath {
			return true
		}
	}
	return false
}

// API is huigong over HTTP: the engine of hgsale (file journal, fdatasync) behind the real
// Fiber app of api/, serving on a loopback port, with members placing orders with their tokens
// (signed with a benchmark key that the server's verifier trusts) and an Idempotency-Key each.
// Every request pays for what a real one does: the check of the member's session (or, with
// PlatformTokens, of the platform token's signature: each member comes once, so the verifier's
// cache does not help), the JSON, the rate limiter, the idempotency table and the checkout's
// wait for durability.
type API struct {
	// Dir is where the journal's temporary directory is made; Shards the engine's shards.
	Dir    string
	Shards int
	// Tokens are the members' tokens. Nil signs its own.
	Tokens *Tokens
	// TokenMode is what members send: a session (the default) or the platform's token.
	TokenMode TokenMode

	cfg    workload.Config
	tmp    string
	node   *hgsale.Node
	server *api.Server
	client *client
	tokens []string
	bodies [][]byte
	keys   []string
	served chan error
}

// Name is the design's name in the comparison.
func (d *API) Name() string { return "huigong-http" }

// Setup opens the engine, loads the sale, and serves the API on a loopback port.
func (d *API) Setup(ctx context.Context, cfg workload.Config) error {
	d.cfg = cfg
	if d.Shards == 0 {
		d.Shards = hgsale.ShardsDefault
	}
	if d.Tokens == nil {
		d.Tokens = NewTokens("api")
	}
	var err error
	if d.TokenMode == "" {
		d.TokenMode = SessionTokens
	}
	if d.tokens, err = d.Tokens.Bearer(cfg, d.TokenMode); err != nil {
		return err
	}
	sessions, err := d.Tokens.Sessions()
	if err != nil {
		return err
	}
	if d.tmp, err = os.MkdirTemp(d.Dir, "huigong-journal-"); err != nil {
		return err
	}
	if d.node, err = hgsale.Open(d.tmp, d.Shards); err != nil {
		return err
	}
	if err := d.node.Load(cfg); err != nil {
		return err
	}
	codes, err := mall.NewPickupCodes(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		return err
	}
	verifier := api.NewVerifier(map[string]ed25519.PublicKey{d.Tokens.KeyID: d.Tokens.Public}, nil, time.Now).WithSessions(sessions)
	d.server = api.New(api.Deps{
		Engine: d.node.Engine, Fulfilment: mall.NewFulfilment(d.node.Engine, codes), Codes: codes,
		Tokens:    verifier,
		Merchants: api.StaticMerchantKeys{}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	d.bodies, d.keys = orderBodies(cfg), idempotencyKeys(cfg)
	ln, err := listen()
	if err != nil {
		return err
	}
	d.served = make(chan error, 1)
	go func() { d.served <- d.server.App().Listener(ln) }()
	d.client = newClient(ln.Addr().String(), cfg.Clients)
	d.client.warm(cfg.Clients, "/api/openapi.json")
	d.node.ResetFsyncs()
	return nil
}

// Attempt places one order.
func (d *API) Attempt(ctx context.Context, _ int, m int) (workload.Outcome, error) {
	return d.client.post(ctx, d.tokens[m], d.keys[m], d.bodies[m], classifyAPI)
}

// Verify stops serving, then recovers the engine from its journal and checks the recovered
// state.
func (d *API) Verify(ctx context.Context, cfg workload.Config, outcomes []workload.Outcome) (workload.Verification, error) {
	if err := d.stopServing(); err != nil {
		return workload.Verification{}, err
	}
	count, median := d.node.Fsyncs()
	v, err := d.node.Recover(cfg, outcomes)
	v.Notes = append(v.Notes, fmt.Sprintf("journal: %d fdatasyncs during the sale (median %.2f ms); checked after recovery from the journal", count, float64(median)/1e6))
	return v, err
}

func (d *API) stopServing() error {
	if d.client != nil {
		d.client.close()
		d.client = nil
	}
	if d.server == nil {
		return nil
	}
	err := d.server.App().ShutdownWithTimeout(10 * time.Second)
	if d.served != nil {
		if serr := <-d.served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		d.served = nil
	}
	d.server = nil
	return err
}

// Close stops serving, closes the engine and removes the journal.
func (d *API) Close() error {
	err := d.stopServing()
	if d.node != nil {
		if cerr := d.node.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
	return err
}
