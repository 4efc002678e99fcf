package api_test

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"huigong/api"
	"huigong/engine/ledger"
	"huigong/engine/welfare"
)

// The bad-input table: refused input across the mutating endpoints, each answered with a 4xx
// problem+json of a stable code, and each leaving the engine, the deliveries, the webhooks and
// the audit trail as they were.

// biEndpoint is a mutating endpoint with a JSON body, the caller that may call it and a valid
// body.
type biEndpoint struct {
	caller  string // a name of mxCallers
	method  string
	path    string
	body    string
	headers []string
}

// biCase is one refused request. prepare, when set, runs before the state is taken (the first
// use of a nonce that the case replays).
type biCase struct {
	name    string
	send    func() response
	prepare func()
	status  int
	code    string
}

// biAmountValues are the bad amounts; zero is bad only where the field must be positive.
var biAmountValues = []string{"-1.00", "0.00", "99999999999999999999.00", "1.234", "abc", "1e3", ""}

func TestBadInputChangesNothing(t *testing.T) {
	r := newMxRig(t)
	callers := map[string]mxCaller{}
	for _, c := range mxCallers(r.harness) {
		callers[c.name] = c
	}
	u := fmt.Sprintf("/api/v1/unions/%d", mxUnion)
	program := `{"id":31,"name":"Bad input","category":"general","amount_per_member":"5.00","valid_from":"2026-02-01","valid_to":"2026-03-01"}`
	sku := `{"name":"Rice","category":"food","price":"10.00","listed":true}`
	key := []string{"Idempotency-Key", "bad-input"}
	endpoints := []biEndpoint{
		{"memA", http.MethodPost, "/api/v1/orders", `{"pickup_point_id":3,"lines":[{"sku_id":902,"quantity":1}]}`, key},
		{"memA", http.MethodPost, fmt.Sprintf("/api/v1/orders/%d/pay", mxOrderPay), `{"payment_ref":"wx-1"}`, nil},
		{"offA", http.MethodPost, u + "/programs", program, nil},
		{"offA", http.MethodPatch, fmt.Sprintf("%s/programs/%d", u, mxPatch), `{"name":"Patched"}`, nil},
		{"offA", http.MethodPost, fmt.Sprintf("%s/programs/%d/issue", u, mxIssue), `{"members":[101]}`, nil},
		{"fed", http.MethodPost, "/api/v1/federation/unions", `{"id":15,"name":"Union 15","officers":[16]}`, nil},
		{"fed", http.MethodPost, fmt.Sprintf("/api/v1/federation/unions/%d/fund", mxUnion), `{"amount":"1.00"}`, key},
		{"fed", http.MethodPut, "/api/v1/federation/caps", `{"caps":{"festival":"1300.00"}}`, nil},
		{"fed", http.MethodPut, "/api/v1/federation/calendar", `{"festivals":[{"name":"spring_festival","from":"2026-02-15","to":"2026-02-23"}]}`, nil},
		{"fed", http.MethodPut, "/api/v1/federation/approval-threshold", `{"amount":"100000.00"}`, nil},
		{"fed", http.MethodPost, "/api/v1/federation/campaigns", `{"name":"Sale","from":"2026-06-01","to":"2026-06-20","discount":"5"}`, nil},
		{"fed", http.MethodPost, "/api/v1/federation/merchants", `{"id":7,"name":"Merchant 7"}`, nil},
		{"fed", http.MethodPost, "/api/v1/federation/pickup-points", `{"id":8,"name":"Workers e-Home 8","unions":[11],"keepers":[]}`, nil},
		{"keepA", http.MethodPost, "/api/v1/pickup/check", fmt.Sprintf(`{"order_id":%d,"code":"%s"}`, mxOrderCheck, r.codes.Code(mxOrderCheck)), nil},
		{"keepA", http.MethodPost, fmt.Sprintf("/api/v1/pickup/orders/%d/hand-out", mxOrderHandOut), fmt.Sprintf(`{"code":"%s"}`, r.codes.Code(mxOrderHandOut)), nil},
		{"merA", http.MethodPut, fmt.Sprintf("/api/v1/partner/skus/%d", mxSKU), sku, nil},
		{"merA", http.MethodPost, fmt.Sprintf("/api/v1/partner/skus/%d/stock", mxSKU), `{"quantity":5}`, nil},
		{"merA", http.MethodPost, fmt.Sprintf("/api/v1/partner/skus/%d/restock", mxReturnSKU), `{"quantity":1}`, nil},
		{"merA", http.MethodPatch, fmt.Sprintf("/api/v1/partner/skus/%d/price", mxSKU), `{"price":"12.00"}`, nil},
		{"merA", http.MethodPut, "/api/v1/partner/webhook", fmt.Sprintf(`{"url":%q,"secret":"fedcba9876543210"}`, r.hookURL), nil},
		{"module", http.MethodPost, "/api/v1/awards", `{"union_id":11,"member_id":100,"program_id":60,"activity":"quiz","amount":"1.00"}`, key},
		{"module", http.MethodPost, fmt.Sprintf("/api/v1/awards/%d/reverse", r.award), `{"union_id":11}`, nil},
	}
	find := func(method, path string) biEndpoint {
		for _, e := range endpoints {
			if e.method == method && e.path == path {
				return e
			}
		}
		t.Fatalf("no endpoint %s %s", method, path)
		return biEndpoint{}
	}
	// send sends a body as the endpoint's caller, with more headers (a Content-Type among them
	// replaces the JSON one).
	send := func(e biEndpoint, body string, headers ...string) func() response {
		return func() response {
			c := callers[e.caller]
			hs := append(append([]string{}, e.headers...), headers...)
			if c.merchant != 0 {
				return r.biSigned(c.merchant, e.method, e.path, []byte(body), r.wall(), "", false, hs...)
			}
			return r.do(e.method, e.path, c.token, body, hs...)
		}
	}

	var cases []biCase
	add := func(name string, status int, code string, s func() response) {
		cases = append(cases, biCase{name: name, send: s, status: status, code: code})
	}
	// Bodies every JSON endpoint refuses before reading a field.
	over := `{"pad":"` + strings.Repeat("a", 64<<10) + `"}`
	for _, e := range endpoints {
		at := e.method + " " + e.path
		add(at+": malformed JSON", http.StatusBadRequest, "malformed_json", send(e, e.body[:len(e.body)-1]))
		add(at+": body over the limit", http.StatusRequestEntityTooLarge, "body_too_large", send(e, over))
		add(at+": unknown field", http.StatusBadRequest, "unknown_field", send(e, `{"unexpected":1,`+e.body[1:]))
		add(at+": a closing bracket after the value", http.StatusBadRequest, "malformed_json", send(e, e.body+"]"))
		add(at+": a closing brace after the value", http.StatusBadRequest, "malformed_json", send(e, e.body+"}"))
		add(at+": a second value", http.StatusBadRequest, "malformed_json", send(e, e.body+e.body))
		add(at+": text/plain", http.StatusUnsupportedMediaType, "unsupported_media_type", send(e, e.body, "Content-Type", "text/plain"))
		add(at+": form", http.StatusUnsupportedMediaType, "unsupported_media_type", send(e, e.body, "Content-Type", "application/x-www-form-urlencoded"))
	}
	roster := biEndpoint{"offA", http.MethodPost, u + "/roster", "member_id,name,registered,dues_paid\n106,Li,yes,yes\n", []string{"Content-Type", "text/csv"}}
	add("roster as JSON", http.StatusUnsupportedMediaType, "unsupported_media_type", send(roster, roster.body, "Content-Type", "application/json"))

	// Amounts: negative, zero where it must be positive, overflowing, and not decimal yuan.
	amounts := []struct {
		method, path string
		body         func(v string) string
		zeroAllowed  bool
	}{
		{http.MethodPost, "/api/v1/orders", func(v string) string {
			return fmt.Sprintf(`{"pickup_point_id":3,"cash":%q,"lines":[{"sku_id":902,"quantity":1}]}`, v)
		}, true},
		{http.MethodPost, u + "/programs", func(v string) string { return strings.Replace(program, `"5.00"`, strconv.Quote(v), 1) }, true},
		{http.MethodPost, fmt.Sprintf("%s/programs/%d/issue", u, mxIssue), func(v string) string { return fmt.Sprintf(`{"members":[101],"amounts":[%q]}`, v) }, false},
		{http.MethodPost, fmt.Sprintf("/api/v1/federation/unions/%d/fund", mxUnion), func(v string) string { return fmt.Sprintf(`{"amount":%q}`, v) }, false},
		{http.MethodPut, "/api/v1/federation/caps", func(v string) string { return fmt.Sprintf(`{"caps":{"festival":%q}}`, v) }, true},
		{http.MethodPut, "/api/v1/federation/approval-threshold", func(v string) string { return fmt.Sprintf(`{"amount":%q}`, v) }, true},
		{http.MethodPut, fmt.Sprintf("/api/v1/partner/skus/%d", mxSKU), func(v string) string { return strings.Replace(sku, `"10.00"`, strconv.Quote(v), 1) }, false},
		{http.MethodPatch, fmt.Sprintf("/api/v1/partner/skus/%d/price", mxSKU), func(v string) string { return fmt.Sprintf(`{"price":%q}`, v) }, false},
		{http.MethodPost, "/api/v1/awards", func(v string) string {
			return fmt.Sprintf(`{"union_id":11,"member_id":100,"program_id":60,"activity":"quiz","amount":%q}`, v)
		}, false},
	}
	for _, a := range amounts {
		e := find(a.method, a.path)
		for _, v := range biAmountValues {
			// Cash may be zero or absent (all in points); an amount per member may be zero
			// (amounts given at issuance), so may a cap and the threshold.
			if (v == "0.00" && a.zeroAllowed) || (v == "" && a.path == "/api/v1/orders") {
				continue
			}
			add(fmt.Sprintf("%s %s: amount %q", a.method, a.path, v), http.StatusUnprocessableEntity, "invalid_amount", send(e, a.body(v)))
		}
	}

	// Tokens: expired, signed by another key, tampered with, of an unknown key, and unsigned.
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, 32))
	tokenRoutes := []biEndpoint{
		{"memA", http.MethodPost, fmt.Sprintf("/api/v1/orders/%d/cancel", mxOrderCancel), "", nil},
		{"offA", http.MethodPost, fmt.Sprintf("%s/programs/%d/approve", u, mxApprove), "", nil},
		{"offA", http.MethodPost, fmt.Sprintf("%s/programs/%d/revoke", u, mxRevoke), "", nil},
		{"fed", http.MethodPost, fmt.Sprintf("/api/v1/federation/merchants/%d/approve", mxUnapprovedMerchant), "", nil},
		{"keepA", http.MethodPost, fmt.Sprintf("/api/v1/pickup/deliveries/%d/arrive", r.arriveDelivery), "", nil},
		roster,
	}
	for _, e := range endpoints {
		if callers[e.caller].merchant == 0 {
			tokenRoutes = append(tokenRoutes, e)
		}
	}
	for _, e := range tokenRoutes {
		c := callers[e.caller]
		claims := api.Claims{Role: api.Role(c.role), RegisteredClaims: jwtSubject(c.actor)}
		switch e.caller {
		case "memA", "offA":
			claims.Union = mxUnion
		case "keepA":
			claims.Point = mxPoint
		}
		for _, bad := range []struct{ name, token, code string }{
			{"expired token", r.biToken(claims, "test", testPriv, r.wall().Add(-2*time.Hour), jwt.SigningMethodEdDSA), "token_expired"},
			{"token of another key", r.biToken(claims, "test", other, r.wall(), jwt.SigningMethodEdDSA), "unauthenticated"},
			{"token of an unknown key id", r.biToken(claims, "elsewhere", other, r.wall(), jwt.SigningMethodEdDSA), "unauthenticated"},
			{"unsigned token", r.biToken(claims, "test", jwt.UnsafeAllowNoneSignatureType, r.wall(), jwt.SigningMethodNone), "unauthenticated"},
			{"tampered token", biTamper(t, c.token, `"sub":"`+itoa(c.actor)+`"`, `"sub":"`+itoa(c.actor+1)+`"`), "unauthenticated"},
		} {
			add(fmt.Sprintf("%s %s: %s", e.method, e.path, bad.name), http.StatusUnauthorized, bad.code, func() response {
				if e.body == "" {
					return r.do(e.method, e.path, bad.token, nil, e.headers...)
				}
				return r.do(e.method, e.path, bad.token, e.body, e.headers...)
			})
		}
	}

	// Merchant signatures: six minutes old, signed with another merchant's secret, and
	// replayed.
	signedRoutes := []biEndpoint{{"merA", http.MethodPost, fmt.Sprintf("/api/v1/partner/deliveries/%d/ship", r.shipDelivery), "", nil}}
	for _, e := range endpoints {
		if callers[e.caller].merchant != 0 {
			signedRoutes = append(signedRoutes, e)
		}
	}
	for i, e := range signedRoutes {
		body := []byte(e.body)
		at := e.method + " " + e.path
		add(at+": stale signature", http.StatusUnauthorized, "stale_signature", func() response {
			return r.biSigned(mxMerchant, e.method, e.path, body, r.wall().Add(-6*time.Minute), "", false)
		})
		add(at+": signature from the future", http.StatusUnauthorized, "stale_signature", func() response {
			return r.biSigned(mxMerchant, e.method, e.path, body, r.wall().Add(6*time.Minute), "", false)
		})
		add(at+": forged signature", http.StatusUnauthorized, "bad_signature", func() response {
			return r.biSigned(mxMerchant, e.method, e.path, body, r.wall(), "", true)
		})
		nonce := fmt.Sprintf("replayed-%d", i)
		sentAt := r.wall()
		cases = append(cases, biCase{name: at + ": replayed signature", status: http.StatusUnauthorized, code: "replayed_nonce",
			prepare: func() {
				if first := r.biSigned(mxMerchant, e.method, e.path, body, sentAt, nonce, false); first.Status >= 500 || first.Status == http.StatusUnauthorized {
					t.Errorf("%s: the first use of the nonce answered %d %s", at, first.Status, first.Body)
				}
			},
			send: func() response { return r.biSigned(mxMerchant, e.method, e.path, body, sentAt, nonce, false) }})
	}

	for _, c := range cases {
		if c.prepare != nil {
			c.prepare()
		}
		before, audits := r.fingerprint(), r.auditCount()
		res := c.send()
		if res.Status != c.status {
			t.Errorf("%s: %d %s, want %d %s", c.name, res.Status, res.Body, c.status, c.code)
		} else if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: content type %q", c.name, ct)
		} else if p := res.Problem(t); p.Code != c.code || p.Status != c.status || p.Detail == "" {
			t.Errorf("%s: problem %+v, want %d %s", c.name, p, c.status, c.code)
		}
		if after := r.fingerprint(); after != before {
			t.Errorf("%s changed the state:\n%s", c.name, biDiff(before, after))
		}
		if n := r.auditCount(); n != audits {
			t.Errorf("%s was audited as a change", c.name)
		}
	}
	t.Logf("%d refused requests", len(cases))
}

// biToken signs claims with a key (the none method takes its magic constant), issued at.
func (r *mxRig) biToken(c api.Claims, kid string, key any, at time.Time, method jwt.SigningMethod) string {
	c.IssuedAt = jwt.NewNumericDate(at)
	c.ExpiresAt = jwt.NewNumericDate(at.Add(time.Hour))
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// biTamper changes a token's claims, keeping its header and signature.
func biTamper(t *testing.T, token, from, to string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || !bytes.Contains(claims, []byte(from)) {
		t.Fatalf("claims %s: %v", claims, err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(bytes.Replace(claims, []byte(from), []byte(to), 1))
	return strings.Join(parts, ".")
}

// biSigned sends a request of merchant m signed at a time, with a nonce (a fresh one when
// empty), or a signature made with another merchant's secret when forged.
func (r *mxRig) biSigned(m uint64, method, path string, body []byte, at time.Time, nonce string, forged bool, headers ...string) response {
	r.t.Helper()
	if nonce == "" {
		nonce = "bi-" + strconv.FormatUint(r.nonce.Add(1), 10)
	}
	secret := r.secrets[m]
	if forged {
		secret = r.secrets[m%3+1]
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	hs := append([]string{api.HeaderKeyID, "merchant-" + itoa(m), api.HeaderTimestamp, ts, api.HeaderNonce, nonce,
		api.HeaderSignature, api.Sign(secret, method, path, ts, nonce, body)}, headers...)
	if len(body) == 0 {
		return r.do(method, path, "", nil, hs...)
	}
	return r.do(method, path, "", body, hs...)
}

// fingerprint is the state a refused request must leave as it was: every shard's ledger,
// unions, members, programs, orders, directory, configuration and stock, the deliveries and
// the webhooks.
func (r *mxRig) fingerprint() string {
	r.t.Helper()
	var b strings.Builder
	line := func(kind string, v any) {
		j, err := json.Marshal(v)
		if err != nil {
			r.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s\n", kind, j)
	}
	for s := 0; s < r.engine.ShardsCount(); s++ {
		err := r.engine.Read(uint32(s), func(st *welfare.State) {
			fmt.Fprintf(&b, "shard %d\n", s)
			line("config", st.Config())
			l := st.Ledger()
			fmt.Fprintf(&b, "ledger %d accounts %d transfers\n", l.AccountsCount(), l.TransfersCount())
			l.ForEachAccount(func(a *ledger.Account) { line("account", a) })
			for _, u := range st.Unions() {
				line("union", u)
			}
			for _, m := range st.Members() {
				line("member", m)
			}
			for _, p := range st.Programs() {
				line("program", p)
			}
			for _, o := range st.Orders() {
				fmt.Fprintf(&b, "order %d %v\n", o.ID, o.State)
			}
			for _, m := range st.Merchants() {
				line("merchant", m)
			}
			for _, p := range st.PickupPoints() {
				line("pickup point", p)
			}
			for _, id := range st.Stock().SKUs() {
				sk, _ := st.Stock().SKU(id)
				line("sku", sk)
			}
		})
		if err != nil {
			r.t.Fatal(err)
		}
	}
	for _, d := range r.ful.Deliveries(0, 0) {
		line("delivery", d)
	}
	for _, m := range []uint64{mxMerchant, mxOtherMerchant} {
		st, _ := r.hooks.Status(welfare.MerchantID(m))
		fmt.Fprintf(&b, "webhook %d %s\n", m, st.URL)
	}
	return b.String()
}

func (r *mxRig) auditCount() int {
	entries, _ := r.audit.Entries(0)
	return len(entries)
}

// biDiff shows the lines of two fingerprints that differ.
func biDiff(before, after string) string {
	was := map[string]bool{}
	for _, l := range strings.Split(before, "\n") {
		was[l] = true
	}
	is := map[string]bool{}
	var out []string
	for _, l := range strings.Split(after, "\n") {
		is[l] = true
		if !was[l] {
			out = append(out, "+ "+l)
		}
	}
	for _, l := range strings.Split(before, "\n") {
		if !is[l] {
			out = append(out, "- "+l)
		}
	}
	return strings.Join(out, "\n")
}

// A body over the server's own limit (the roster's, the largest) is refused by fasthttp before
// any handler runs; app.Test cannot send one, so this goes over a loopback listener. The
// answer is still problem+json.
func TestBodyOverServerLimit(t *testing.T) {
	h := newHarness(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.server.App().Listener(ln) }()
	t.Cleanup(func() { _ = h.server.App().Shutdown() })
	// A raw connection: the request announces a body over the limit and sends only its start.
	// The server answers from the Content-Length alone and closes; an HTTP client still
	// writing the body may see the close as a reset before it reads the answer.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /api/v1/unions/11/roster HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n" +
		"Authorization: Bearer " + h.token(api.RoleOfficer, 7, 11, 0) + "\r\n" +
		"Content-Length: " + strconv.Itoa(8<<20+1024) + "\r\n\r\n107,Wang,yes,yes\n"
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	var p api.Problem
	if resp.StatusCode != http.StatusRequestEntityTooLarge || resp.Header.Get("Content-Type") != "application/problem+json" ||
		json.Unmarshal(out, &p) != nil || p.Code != "body_too_large" {
		t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), out)
	}
	if all, _ := h.audit.Entries(0); len(all) != 0 {
		t.Fatalf("audited %+v", all)
	}
}
