package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"huigong/api"
	"huigong/engine/welfare"
)

// hookReceiver is a merchant's webhook endpoint on loopback: it checks each POST's signature,
// records it, and answers with the status fail gives for the request's number (from 1).
type hookReceiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret []byte
	fail   func(n int) bool

	mu       sync.Mutex
	attempts []hookAttempt
}

type hookAttempt struct {
	at     time.Time
	offset string
	nonce  string
	event  api.PartnerOrderEvent
	status int
}

func newHookReceiver(t *testing.T, secret string, fail func(n int) bool) *hookReceiver {
	r := &hookReceiver{t: t, secret: []byte(secret), fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		body, _ := io.ReadAll(q.Body)
		ts, nonce := q.Header.Get(api.HeaderTimestamp), q.Header.Get(api.HeaderNonce)
		if want := api.Sign(r.secret, q.Method, q.URL.Path, ts, nonce, body); q.Header.Get(api.HeaderSignature) != want || q.Method != http.MethodPost {
			t.Errorf("webhook %s %s with a bad signature", q.Method, q.URL.Path)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var ev api.PartnerOrderEvent
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			t.Errorf("webhook body %s: %v", body, err)
		}
		r.mu.Lock()
		status := http.StatusNoContent
		if r.fail != nil && r.fail(len(r.attempts)+1) {
			status = http.StatusInternalServerError
		}
		r.attempts = append(r.attempts, hookAttempt{at: time.Now(), offset: q.Header.Get("X-Huigong-Event-Offset"), nonce: nonce, event: ev, status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) snapshot() []hookAttempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookAttempt(nil), r.attempts...)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func hookStatus(t *testing.T, h *harness, m uint64) api.PartnerWebhook {
	t.Helper()
	var st api.PartnerWebhook
	h.signed(m, http.MethodGet, "/api/v1/partner/webhook", nil).must(t, http.StatusOK).JSON(t, &st)
	return st
}

// Order events are pushed to each merchant, signed, in order, retried with a growing delay;
// a merchant whose endpoint fails gives up its events without delaying another, pulls them
// from the feed, and is heard again once it fixes its URL.
func TestWebhooks(t *testing.T) {
	const base = 10 * time.Millisecond
	r := newPartnerRig(t, api.WebhookOptions{BaseDelay: base, MaxDelay: 2 * base, AttemptsMax: 4})
	h := r.harness
	partnerApprove(h, true, 1, 2)
	partnerUnion(h)
	partnerPutSKU(t, h, 1, 9001, "50.00", 10)
	partnerPutSKU(t, h, 2, 9002, "80.00", 10)

	one := newHookReceiver(t, "merchant-one-webhook-secret", func(n int) bool { return n <= 2 })
	two := newHookReceiver(t, "merchant-two-webhook-secret", func(int) bool { return true })
	var st api.PartnerWebhook
	h.signed(1, http.MethodPut, "/api/v1/partner/webhook", api.PartnerWebhookRequest{URL: one.srv.URL + "/hooks/huigong", Secret: "merchant-one-webhook-secret"}).
		must(t, http.StatusOK).JSON(t, &st)
	if st.URL != one.srv.URL+"/hooks/huigong" || st.FromOffset != h.engine.Stream().Len() || st.Delivered != 0 {
		t.Fatalf("registration %+v", st)
	}
	h.signed(2, http.MethodPut, "/api/v1/partner/webhook", api.PartnerWebhookRequest{URL: two.srv.URL, Secret: "merchant-two-webhook-secret"}).must(t, http.StatusOK)
	if a := partnerAudits(h, "set_webhook"); len(a) != 2 || a[0].Role != "merchant" || a[0].Actor != 1 {
		t.Fatalf("webhook audits %+v", a)
	}
	problemCode(t, h.signed(3, http.MethodGet, "/api/v1/partner/webhook", nil), http.StatusNotFound, "webhook_not_registered")

	partnerCheckout(t, h, 100, 1000,
		welfare.OrderLine{SKU: 9001, Quantity: 1, UnitPriceFen: 50_00, MerchantID: 1, Category: "food"},
		welfare.OrderLine{SKU: 9002, Quantity: 1, UnitPriceFen: 80_00, MerchantID: 2, Category: "food"})
	partnerCheckout(t, h, 101, 1001, welfare.OrderLine{SKU: 9001, Quantity: 3, UnitPriceFen: 50_00, MerchantID: 1, Category: "food"})

	eventually(t, "merchant 1's two events", func() bool { return hookStatus(t, h, 1).Delivered == 2 })
	got := one.snapshot()
	if len(got) != 4 {
		t.Fatalf("merchant 1 had %d attempts, want 2 failures then 2 deliveries: %+v", len(got), got)
	}
	// The first event was tried three times, each retry later than the one before by the
	// growing delay, and only then the second event went.
	for i, want := range []struct {
		order  uint64
		status int
	}{{1000, 500}, {1000, 500}, {1000, 204}, {1001, 204}} {
		if got[i].event.OrderID != want.order || got[i].status != want.status {
			t.Fatalf("attempt %d: order %d status %d, want %+v", i, got[i].event.OrderID, got[i].status, want)
		}
	}
	if d := got[1].at.Sub(got[0].at); d < base {
		t.Fatalf("first retry after %v, want at least %v", d, base)
	}
	if d := got[2].at.Sub(got[1].at); d < 2*base {
		t.Fatalf("second retry after %v, want at least %v", d, 2*base)
	}
	nonces := map[string]bool{}
	for _, a := range got {
		nonces[a.nonce] = true
		if len(a.event.Lines) == 0 || a.event.State != "placed" {
			t.Fatalf("event %+v", a.event)
		}
		for _, l := range a.event.Lines {
			if l.SKUID != 9001 {
				t.Fatalf("merchant 1 was sent another merchant's line %+v", l)
			}
		}
		if a.offset != itoa(a.event.Offset) {
			t.Fatalf("offset header %s, body %d", a.offset, a.event.Offset)
		}
	}
	if len(nonces) != len(got) {
		t.Fatalf("nonces repeat across attempts: %v", nonces)
	}
	if got[0].event.Offset >= got[3].event.Offset || got[3].event.Amount != "150.00" {
		t.Fatalf("events out of order or wrong: %+v", got)
	}

	// Merchant 2's endpoint always fails: the event is given up after every attempt.
	eventually(t, "merchant 2 to give up", func() bool { return hookStatus(t, h, 2).Failed == 1 })
	st = hookStatus(t, h, 2)
	if st.Delivered != 0 || st.Pending != 0 || !strings.Contains(st.LastError, "status 500") {
		t.Fatalf("merchant 2 webhook %+v", st)
	}
	if n := len(two.snapshot()); n != 4 {
		t.Fatalf("merchant 2's endpoint had %d attempts, want 4", n)
	}
	// What the webhook gave up is in the feed.
	var feed api.PartnerOrderFeed
	h.signed(2, http.MethodGet, "/api/v1/partner/orders?cursor="+itoa(st.FromOffset), nil).must(t, http.StatusOK).JSON(t, &feed)
	if len(feed.Events) != 1 || feed.Events[0].OrderID != 1000 || feed.Events[0].Offset != two.snapshot()[0].event.Offset {
		t.Fatalf("merchant 2's feed %+v", feed)
	}

	// Merchant 2 fixes its URL; the next event reaches it.
	fixed := newHookReceiver(t, "merchant-two-new-secret!", nil)
	h.signed(2, http.MethodPut, "/api/v1/partner/webhook", api.PartnerWebhookRequest{URL: fixed.srv.URL + "/v2", Secret: "merchant-two-new-secret!"}).must(t, http.StatusOK)
	partnerCheckout(t, h, 101, 1002, welfare.OrderLine{SKU: 9002, Quantity: 1, UnitPriceFen: 80_00, MerchantID: 2, Category: "food"})
	eventually(t, "merchant 2's next event", func() bool { return hookStatus(t, h, 2).Delivered == 1 })
	if f := fixed.snapshot(); len(f) != 1 || f[0].event.OrderID != 1002 {
		t.Fatalf("fixed endpoint got %+v", f)
	}
	if st := hookStatus(t, h, 1); st.Delivered != 2 || st.Failed != 0 {
		t.Fatalf("merchant 1 got merchant 2's order: %+v", st)
	}
}

func TestWebhookRegistrationRefused(t *testing.T) {
	r := newPartnerRig(t, api.WebhookOptions{AllowHost: func(host string) bool { return host == "hooks.example.com" }})
	h := r.harness
	good := "0123456789abcdef"
	for _, tc := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"another scheme", api.PartnerWebhookRequest{URL: "ftp://hooks.example.com/x", Secret: good}, 422, "invalid_webhook_url"},
		{"not a URL", api.PartnerWebhookRequest{URL: "hooks", Secret: good}, 422, "invalid_webhook_url"},
		{"relative", api.PartnerWebhookRequest{URL: "/hooks", Secret: good}, 422, "invalid_webhook_url"},
		{"credentials", api.PartnerWebhookRequest{URL: "https://me:pw@hooks.example.com/", Secret: good}, 422, "invalid_webhook_url"},
		{"fragment", api.PartnerWebhookRequest{URL: "https://hooks.example.com/#x", Secret: good}, 422, "invalid_webhook_url"},
		{"long URL", api.PartnerWebhookRequest{URL: "https://hooks.example.com/" + strings.Repeat("a", 2048), Secret: good}, 422, "invalid_webhook_url"},
		{"host not allowed", api.PartnerWebhookRequest{URL: "http://127.0.0.1:9/hook", Secret: good}, 422, "webhook_host_not_allowed"},
		{"short secret", api.PartnerWebhookRequest{URL: "https://hooks.example.com/h", Secret: "short"}, 422, "invalid_webhook_secret"},
		{"unknown field", `{"url":"https://hooks.example.com/h","secret":"0123456789abcdef","events":"all"}`, 400, "unknown_field"},
		{"malformed", `{"url":`, 400, "malformed_json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, ok := tc.body.(string)
			if !ok {
				b, _ := json.Marshal(tc.body)
				raw = string(b)
			}
			problemCode(t, h.signedRaw(1, http.MethodPut, "/api/v1/partner/webhook", []byte(raw), []byte(raw), "Content-Type", "application/json"), tc.status, tc.code)
		})
	}
	problemCode(t, h.signed(1, http.MethodGet, "/api/v1/partner/webhook", nil), http.StatusNotFound, "webhook_not_registered")
	if a := partnerAudits(h, "set_webhook"); len(a) != 0 {
		t.Fatalf("refused registrations audited %+v", a)
	}
	h.signed(1, http.MethodPut, "/api/v1/partner/webhook", api.PartnerWebhookRequest{URL: "https://hooks.example.com/h", Secret: good}).must(t, http.StatusOK)
}
