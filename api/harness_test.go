package api_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"huigong/api"
	"huigong/engine/journal"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/welfare"
	"huigong/mall"
)

// The shared test harness of the API: a real engine (runtime over the fault-injecting journal),
// the real Fiber app (driven through app.Test, no network), tokens signed with a test key, and
// every response checked against the OpenAPI document.

const testShards = 4

type harness struct {
	t       testing.TB
	server  *api.Server
	engine  *mall.Engine
	issuer  *api.Issuer
	audit   *api.MemoryAudit
	codes   *mall.PickupCodes
	now     atomic.Int64 // wall clock and batch clock, nanos
	secrets map[uint64][]byte
	doc     *openapi3.T
	nonce   atomic.Uint64
}

var (
	testKeyOnce sync.Once
	testPub     ed25519.PublicKey
	testPriv    ed25519.PrivateKey
)

func newHarness(t testing.TB) *harness {
	t.Helper()
	testKeyOnce.Do(func() {
		testPub, testPriv, _ = ed25519.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	})
	h := &harness{t: t, audit: &api.MemoryAudit{}, secrets: map[uint64][]byte{}}
	h.now.Store(welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 10)) + 10*3600*1e9)
	h.engine = mall.NewEngine(testShards, mall.NewStream())
	j, err := journal.Open("j", journal.Options{FS: journal.NewFaultFS(1), GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: testShards, Journal: j, Invariants: true,
		OnNotes: h.engine.OnNotes, Clock: h.now.Load}, shard.Factory(testShards))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	h.engine.Attach(rt)
	h.codes, _ = mall.NewPickupCodes(bytes.Repeat([]byte{9}, 32))
	keys := api.StaticMerchantKeys{}
	for m := uint64(1); m <= 3; m++ {
		secret := bytes.Repeat([]byte{byte(m)}, 32)
		h.secrets[m] = secret
		keys["merchant-"+strconv.FormatUint(m, 10)] = api.MerchantKey{KeyID: "merchant-" + strconv.FormatUint(m, 10), MerchantID: m, Secret: secret}
	}
	h.issuer = api.NewIssuer("test", testPriv)
	h.server = api.New(api.Deps{
		Engine: h.engine, Fulfilment: mall.NewFulfilment(h.engine, h.codes), Codes: h.codes,
		Tokens:    h.verifier(),
		Merchants: keys, Audit: h.audit, Now: h.wall,
	})
	loader := openapi3.NewLoader()
	b, _ := json.Marshal(h.server.OpenAPI())
	doc, err := loader.LoadFromData(b)
	if err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	h.doc = doc
	return h
}

// testSessionSecret is the harness server's session secret.
var testSessionSecret = bytes.Repeat([]byte{5}, api.SessionSecretBytesMin)

// verifier checks the harness issuer's tokens and the sessions made from them.
func (h *harness) verifier() *api.Verifier {
	sessions, err := api.NewSessions(testSessionSecret, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return api.NewVerifier(map[string]ed25519.PublicKey{"test": testPub}, nil, h.wall).WithSessions(sessions)
}

func (h *harness) wall() time.Time { return time.Unix(0, h.now.Load()) }

// token signs a token for a role.
func (h *harness) token(role api.Role, subject, union, point uint64) string {
	tok, err := h.issuer.Sign(api.Claims{Role: role, Union: union, Point: point,
		RegisteredClaims: jwtSubject(subject)}, h.wall(), time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// response is a decoded answer.
type response struct {
	Status int
	Body   []byte
	Header http.Header
}

// JSON decodes the body into v.
func (r response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
}

// Problem decodes a problem body.
func (r response) Problem(t *testing.T) api.Problem {
	t.Helper()
	var p api.Problem
	r.JSON(t, &p)
	return p
}

// do sends a request with a bearer token (none if empty) and a JSON body (none if nil; a
// []byte or string is sent as is), and checks the response against the OpenAPI document.
func (h *harness) do(method, path, token string, body any, headers ...string) response {
	h.t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req := httptest.NewRequest(method, path, rd)
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := h.server.App().Test(req, -1)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	out, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Body: out, Header: resp.Header}
	h.checkAgainstDoc(method, path, r)
	return r
}

// signed sends a merchant-signed request.
func (h *harness) signed(merchant uint64, method, path string, body any) response {
	h.t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	ts := strconv.FormatInt(h.wall().Unix(), 10)
	nonce := fmt.Sprintf("n-%d", h.nonce.Add(1))
	pathOnly := path
	if i := bytes.IndexByte([]byte(path), '?'); i >= 0 {
		pathOnly = path[:i]
	}
	sig := api.Sign(h.secrets[merchant], method, pathOnly, ts, nonce, raw)
	var b any
	if raw != nil {
		b = raw
	}
	return h.do(method, path, "", b, api.HeaderKeyID, "merchant-"+strconv.FormatUint(merchant, 10),
		api.HeaderTimestamp, ts, api.HeaderNonce, nonce, api.HeaderSignature, sig)
}

// checkAgainstDoc validates a JSON response body against the route's documented schema.
func (h *harness) checkAgainstDoc(method, path string, r response) {
	h.t.Helper()
	ct := r.Header.Get("Content-Type")
	if r.Status >= 400 {
		if ct != "application/problem+json" {
			h.t.Errorf("%s %s: status %d with content type %q, want application/problem+json: %s", method, path, r.Status, ct, r.Body)
		}
		return
	}
	validateResponse(h.t, h.doc, method, path, r)
}

// must fails the test unless the status is want.
func (r response) must(t *testing.T, want int) response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}

// engine submits a command straight to the engine, for setting up state.
func (h *harness) submit(s uint32, c shard.Command) shard.Result {
	h.t.Helper()
	r, err := h.engine.Submit(s, c)
	if err != nil || (r.Code != welfare.OK && r.Code != welfare.Exists) {
		h.t.Fatalf("setup command %d: %v %+v", c.Kind, err, r)
	}
	return r
}
