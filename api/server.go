package api

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	fastjson "github.com/segmentio/encoding/json"

	"huigong/mall"
)

// Deps are what the API needs; cmd/huigong wires them.
type Deps struct {
	Engine     *mall.Engine
	Fulfilment *mall.Fulfilment
	Codes      *mall.PickupCodes
	Tokens     *Verifier
	Merchants  MerchantKeys
	Nonces     *Nonces
	Audit      AuditLog
	Webhooks   *Webhooks
	Logger     *slog.Logger
	Metrics    *Metrics
	// Now is the wall clock; tests set their own.
	Now func() time.Time
	// BodyBytesMax bounds request bodies; roster imports may be larger (RosterBytesMax).
	BodyBytesMax   int
	RosterBytesMax int
	// OrdersPerMemberPerSecond rate-limits order placement per member.
	OrdersPerMemberPerSecond int
	// Pprof serves /debug/pprof when set.
	Pprof bool
}

// Server is the API.
type Server struct {
	deps   Deps
	app    *fiber.App
	routes []Route
	limits *rateLimiter

	idemMu  sync.Mutex
	idem    map[string]idemEntry // first response per Idempotency-Key and caller
	idemSeq uint64
}

// Route is one endpoint: registered with Fiber and described in the OpenAPI document.
type Route struct {
	Method  string
	Path    string // Fiber form: /api/v1/unions/:union
	Summary string
	Tag     string
	// Roles may call it with a token; Merchant with a merchant signature; Public anyone.
	Roles    []Role
	Merchant bool
	Public   bool
	// Request and Response are zero values of the body types, for the document; nil for none.
	Request  any
	Response any
	// Status is the success status (200 if zero).
	Status int
	// Produces is the content type of the success body, if not JSON.
	Produces string
	// Params describes query parameters: name to description.
	Query   map[string]string
	Handler fiber.Handler
}

const (
	bodyBytesMaxDefault   = 64 << 10
	rosterBytesMaxDefault = 8 << 20
)

// New builds the API.
func New(d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.BodyBytesMax == 0 {
		d.BodyBytesMax = bodyBytesMaxDefault
	}
	if d.RosterBytesMax == 0 {
		d.RosterBytesMax = rosterBytesMaxDefault
	}
	if d.OrdersPerMemberPerSecond == 0 {
		d.OrdersPerMemberPerSecond = 5
	}
	if d.Nonces == nil {
		d.Nonces = NewNonces()
	}
	if d.Audit == nil {
		d.Audit = DiscardAudit{}
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	s := &Server{deps: d, idem: map[string]idemEntry{}, limits: newRateLimiter(d.OrdersPerMemberPerSecond)}
	s.app = fiber.New(fiber.Config{
		ErrorHandler:          s.errorHandler,
		BodyLimit:             max(d.BodyBytesMax, d.RosterBytesMax),
		DisableStartupMessage: true,
		// Values from the context are copied, so a handler or a cache may keep them: fasthttp
		// reuses its buffers across requests.
		Immutable: true,
		// segmentio/encoding/json writes what encoding/json writes, for less CPU: every answer
		// is JSON.
		JSONEncoder:  fastjson.Marshal,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
	})
	s.app.Use(s.observe)
	// A handler that panics is answered 500 (and logged by the error handler); fasthttp does not
	// recover, so without this one bad request would stop the whole server.
	s.app.Use(recover.New())
	s.registerOps()
	s.registerSession()
	s.registerWorker()
	s.registerOfficer()
	s.registerFederation()
	s.registerKeeper()
	s.registerMerchant()
	s.registerEarning()
	// The document describes itself too, so that every route served is in it.
	s.add(Route{Method: fiber.MethodGet, Path: "/api/openapi.json", Summary: "This OpenAPI 3 document.", Tag: "operations", Public: true,
		Response: map[string]any{}, Handler: s.openAPIHandler})
	s.app.Use(func(c *fiber.Ctx) error {
		return fail(http.StatusNotFound, codeNotFound, "no such route: "+c.Method()+" "+c.Path())
	})
	return s
}

// App is the Fiber app, for serving and for tests (app.Test).
func (s *Server) App() *fiber.App { return s.app }

// Routes lists the routes, for the OpenAPI test.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// add registers a route: the auth check first, then the handler.
func (s *Server) add(r Route) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	s.routes = append(s.routes, r)
	handlers := []fiber.Handler{}
	switch {
	case r.Public:
	case r.Merchant:
		handlers = append(handlers, s.requireMerchant)
	default:
		handlers = append(handlers, s.requireRoles(r.Roles))
	}
	handlers = append(handlers, r.Handler)
	s.app.Add(r.Method, r.Path, handlers...)
}

// Caller is who is calling: the token's claims, or the merchant of a signed request.
type Caller struct {
	Claims   *Claims
	Merchant uint64
}

const callerKey = "huigong.caller"

func caller(c *fiber.Ctx) *Caller {
	v, _ := c.Locals(callerKey).(*Caller)
	if v == nil {
		return &Caller{}
	}
	return v
}

func (s *Server) requireRoles(roles []Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := c.Get(fiber.HeaderAuthorization)
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || token == "" {
			return fail(http.StatusUnauthorized, codeUnauthenticated, "an Authorization: Bearer token is required")
		}
		claims, err := s.deps.Tokens.Verify(token)
		switch {
		case err == ErrTokenExpired:
			return fail(http.StatusUnauthorized, codeTokenExpired, "the token has expired")
		case err != nil:
			return fail(http.StatusUnauthorized, codeUnauthenticated, "the token is not valid")
		}
		for _, r := range roles {
			if claims.Role == r {
				c.Locals(callerKey, &Caller{Claims: claims})
				return c.Next()
			}
		}
		return fail(http.StatusForbidden, codeForbidden, "role "+string(claims.Role)+" may not call this")
	}
}

func (s *Server) requireMerchant(c *fiber.Ctx) error {
	keyID, ts, nonce, sig := c.Get(HeaderKeyID), c.Get(HeaderTimestamp), c.Get(HeaderNonce), c.Get(HeaderSignature)
	if keyID == "" || ts == "" || nonce == "" || sig == "" || len(nonce) > nonceBytesMax {
		return fail(http.StatusUnauthorized, codeBadSignature, "merchant requests need "+HeaderKeyID+", "+HeaderTimestamp+", "+HeaderNonce+" and "+HeaderSignature)
	}
	key, ok := s.deps.Merchants.Lookup(keyID)
	if !ok {
		return fail(http.StatusUnauthorized, codeBadSignature, "unknown key")
	}
	want := Sign(key.Secret, c.Method(), c.Path(), ts, nonce, c.Body())
	if !hmacEqual(want, sig) {
		return fail(http.StatusUnauthorized, codeBadSignature, "the signature does not match")
	}
	sec, err := parseUnix(ts)
	now := s.deps.Now()
	if err != nil || sec.Before(now.Add(-signatureSkew)) || sec.After(now.Add(signatureSkew)) {
		return fail(http.StatusUnauthorized, codeStaleSignature, "the timestamp is more than 5 minutes from the server's clock")
	}
	if !s.deps.Nonces.Use(keyID, nonce, now) {
		return fail(http.StatusUnauthorized, codeReplayed, "this nonce was used already")
	}
	c.Locals(callerKey, &Caller{Merchant: key.MerchantID})
	return c.Next()
}
