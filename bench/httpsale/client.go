// Package httpsale drives the flash sale over loopback HTTP: real TCP connections, kept alive,
// one per client, from fasthttp's client (lighter on CPU than net/http's, which matters when
// the clients and the server share two cores). It has the bare Fiber endpoint (FiberBare), the
// ceiling of HTTP on this machine, and huigong's API (API).
package httpsale

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"

	"huigong/api"
	"huigong/bench/workload"
)

// OrdersPath is where orders are placed, on huigong's API and on the bare endpoint.
const OrdersPath = "/api/v1/orders"

// requestTimeout bounds one request.
const requestTimeout = 30 * time.Second

// client is the HTTP side of a design: a keep-alive connection per client to addr.
type client struct {
	hc  *fasthttp.HostClient
	url string
}

func newClient(addr string, clients int) *client {
	return &client{
		hc: &fasthttp.HostClient{Addr: addr, MaxConns: clients, MaxIdleConnDuration: time.Minute,
			ReadTimeout: requestTimeout, WriteTimeout: requestTimeout, MaxConnWaitTimeout: requestTimeout},
		url: "http://" + addr + OrdersPath,
	}
}

// warm opens the connections before the clock starts, with a GET each that may be refused.
func (c *client) warm(clients int, path string) {
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + c.hc.Addr + path)
			_ = c.hc.DoTimeout(req, resp, 5*time.Second)
		}()
	}
	wg.Wait()
}

// post sends one order: body with a member's token and an Idempotency-Key, and classifies the
// answer.
func (c *client) post(ctx context.Context, token, key string, body []byte, classify func(status int, body []byte) (workload.Outcome, error)) (workload.Outcome, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(c.url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	req.SetBodyRaw(body)
	timeout := requestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if timeout <= 0 {
		return workload.NotTried, ctx.Err()
	}
	if err := c.hc.DoTimeout(req, resp, timeout); err != nil {
		if ctx.Err() != nil {
			return workload.NotTried, err
		}
		return workload.Failed, err
	}
	return classify(resp.StatusCode(), resp.Body())
}

func (c *client) close() { c.hc.CloseIdleConnections() }

// listen returns a loopback listener on a free port.
func listen() (net.Listener, error) { return net.Listen("tcp4", "127.0.0.1:0") }

// Tokens are the members' bearer tokens, signed once with a benchmark key and shared by the
// designs that send them (the API verifies them; the bare endpoint only receives them).
type Tokens struct {
	KeyID  string
	Public ed25519.PublicKey
	issuer *api.Issuer
	// SessionSecret is the API server's session secret.
	SessionSecret []byte

	once   sync.Once
	tokens []string
	err    error
}

// NewTokens returns tokens signed with a key derived from seed, and sessions with a secret
// derived from it.
func NewTokens(seed string) *Tokens {
	s := sha256.Sum256([]byte("huigong bench key " + seed))
	priv := ed25519.NewKeyFromSeed(s[:])
	secret := sha256.Sum256([]byte("huigong bench session secret " + seed))
	return &Tokens{KeyID: "bench", Public: priv.Public().(ed25519.PublicKey), issuer: api.NewIssuer("bench", priv), SessionSecret: secret[:]}
}

// TokenMode is what members send as their bearer token.
type TokenMode string

const (
	// SessionTokens: each member opened a session before the sale (POST /api/v1/session, when
	// the app's mall page opened at 09:58); every order carries it, checked with a MAC.
	SessionTokens TokenMode = "session"
	// PlatformTokens: every order carries the platform's Ed25519 token, which the server has not
	// seen before (each member comes once), so each is a signature check.
	PlatformTokens TokenMode = "platform"
)

// ParseTokenMode checks a --tokens value.
func ParseTokenMode(s string) (TokenMode, error) {
	switch m := TokenMode(s); m {
	case SessionTokens, PlatformTokens:
		return m, nil
	}
	return "", fmt.Errorf("--tokens %q: want %q or %q", s, SessionTokens, PlatformTokens)
}

// Bearer returns what each member sends: its platform token, or a session made from it with
// the secret the API server is given (what POST /api/v1/session answers).
func (t *Tokens) Bearer(cfg workload.Config, mode TokenMode) ([]string, error) {
	if mode == PlatformTokens {
		return t.Sign(cfg)
	}
	sessions, err := t.Sessions()
	if err != nil {
		return nil, err
	}
	out := make([]string, cfg.Members)
	now := time.Now()
	key := api.KeyFingerprint(t.KeyID, t.Public)
	for m := range out {
		claims := memberClaims(m)
		claims.ExpiresAt = jwt.NewNumericDate(now.Add(tokenTTL))
		claims.Key = key
		if out[m], _, err = sessions.Mint(&claims, now); err != nil {
			return nil, fmt.Errorf("session of member %d: %w", m, err)
		}
	}
	return out, nil
}

// tokenTTL is how long the members' tokens last: longer than any run.
const tokenTTL = 2 * time.Hour

// memberClaims are what member m's platform token says.
func memberClaims(m int) api.Claims {
	return api.Claims{Role: api.RoleMember, Union: uint64(workload.UnionID(m)),
		RegisteredClaims: jwt.RegisteredClaims{Subject: strconv.FormatInt(workload.MemberID(m), 10)}}
}

// Sessions are the sessions of the API server the tokens are sent to.
func (t *Tokens) Sessions() (*api.Sessions, error) { return api.NewSessions(t.SessionSecret, 0) }

// Sign signs every member's token (once), valid for two hours, on every core.
func (t *Tokens) Sign(cfg workload.Config) ([]string, error) {
	t.once.Do(func() {
		t.tokens = make([]string, cfg.Members)
		now := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		workers := runtime.GOMAXPROCS(0)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for m := w; m < cfg.Members; m += workers {
					tok, err := t.issuer.Sign(memberClaims(m), now, tokenTTL)
					if err != nil {
						mu.Lock()
						t.err = fmt.Errorf("sign token of member %d: %w", m, err)
						mu.Unlock()
						return
					}
					t.tokens[m] = tok
				}
			}(w)
		}
		wg.Wait()
	})
	if t.err == nil && len(t.tokens) != cfg.Members {
		return nil, fmt.Errorf("tokens signed for %d members, the sale has %d", len(t.tokens), cfg.Members)
	}
	return t.tokens, t.err
}
