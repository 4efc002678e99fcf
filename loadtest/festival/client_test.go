package festival

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"huigong/mall"
)

// testWorld is a world of n members without a data directory.
func testWorld(n int) *World {
	w := &World{SKUs: map[uint64]mall.DemoSKU{}, Categories: []string{"food", "tea"}}
	for i := 0; i < 3; i++ {
		s := mall.DemoSKU{ID: uint64(10490 + i), Category: "tea", FlashSale: true, Limit: 1, Stock: 100}
		w.Flash = append(w.Flash, s)
		w.SKUs[s.ID] = s
	}
	for i := 0; i < 20; i++ {
		s := mall.DemoSKU{ID: uint64(10001 + i), Category: "food", Stock: 1000}
		w.Ordinary = append(w.Ordinary, s)
		w.SKUs[s.ID] = s
	}
	for i := 0; i < n; i++ {
		w.Members = append(w.Members, Member{ID: uint64(1_000_001 + i), Union: 1001, Points: []uint64{11001, 20101}, Auth: "Bearer t"})
	}
	return w
}

func testRunner(t *testing.T, url string, timeout time.Duration) *runner {
	t.Helper()
	cfg := Defaults()
	cfg.Timeout = timeout
	c := NewClient(url, 4, timeout)
	t.Cleanup(c.Close)
	return &runner{cfg: cfg, w: testWorld(1), client: c, rec: NewRecorder(time.Now()), start: time.Now(),
		soldOut: map[uint64]int64{}, refusals: map[string]int64{}, errors: map[string]int64{}}
}

const placedAnswer = `{"order_id":42,"state":"placed","lines":[{"sku_id":10490,"quantity":1,"unit_price":"55.71"}],"holds":[{"kind":"points","program_id":10011,"amount":"55.71"}]}`

// A timed-out order is sent again once, with the same Idempotency-Key and body, and the
// second answer counts.
func TestOrderTimeoutIsRetriedWithTheSameKey(t *testing.T) {
	var mu sync.Mutex
	var keys, bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		bodies = append(bodies, string(b))
		first := len(keys) == 1
		mu.Unlock()
		if first {
			time.Sleep(300 * time.Millisecond) // longer than the client's timeout
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, placedAnswer)
	}))
	defer srv.Close()
	r := testRunner(t, srv.URL, 100*time.Millisecond)
	r.cfg.ReplayShare = 0
	req := Request{Kind: KindFlashOrder, Member: 0, SKU: 10490, Quantity: 1, Point: 11001, Key: "festival-x-1"}
	o := r.order(context.Background(), job{req: req, due: time.Now()}, &r.w.Members[0])
	if o != OutcomePlaced {
		t.Fatalf("outcome %v, want placed after the retry", o)
	}
	if len(keys) != 2 || keys[0] != "festival-x-1" || keys[1] != keys[0] || bodies[1] != bodies[0] {
		t.Fatalf("attempts with keys %q and bodies %q, want two identical", keys, bodies)
	}
	if r.retries != 1 || r.timeouts != 1 || r.unknown != 0 || len(r.errors) != 0 {
		t.Errorf("retries %d, timeouts %d, unknown %d, errors %v", r.retries, r.timeouts, r.unknown, r.errors)
	}
	if len(r.acked) != 1 || r.acked[0].Order.ID != 42 || r.acked[0].Order.PointsFen != 55_71 || r.acked[0].Member != 1_000_001 {
		t.Errorf("acked %+v", r.acked)
	}
}

// Two timeouts leave the outcome unknown: an error, and only one retry.
func TestOrderTimeoutTwiceIsAnError(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		time.Sleep(300 * time.Millisecond)
	}))
	defer srv.Close()
	r := testRunner(t, srv.URL, 50*time.Millisecond)
	o := r.order(context.Background(), job{req: Request{Kind: KindOrder, SKU: 10001, Quantity: 1, Point: 11001, Key: "k"}}, &r.w.Members[0])
	if o != OutcomeError || r.unknown != 1 || r.errors["timeout"] != 1 {
		t.Errorf("outcome %v, unknown %d, errors %v", o, r.unknown, r.errors)
	}
	mu.Lock()
	defer mu.Unlock()
	if n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
}

// Business refusals are outcomes, not errors; other answers are errors.
func TestOrderAnswersAreClassified(t *testing.T) {
	answers := map[string]struct {
		status int
		body   string
	}{
		"sold":  {409, `{"status":409,"code":"sold_out"}`},
		"limit": {409, `{"status":409,"code":"limit_exceeded"}`},
		"poor":  {409, `{"status":409,"code":"insufficient_points"}`},
		"slow":  {429, `{"status":429,"code":"rate_limited"}`},
		"reuse": {409, `{"status":409,"code":"idempotency_key_reused"}`},
		"gone":  {404, `{"status":404,"code":"unknown_sku"}`},
		"boom":  {500, `{"status":500,"code":"internal"}`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[r.Header.Get("Idempotency-Key")]
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	defer srv.Close()
	r := testRunner(t, srv.URL, time.Second)
	want := map[string]Outcome{"sold": OutcomeSoldOut, "limit": OutcomeLimit, "poor": OutcomeRefused, "slow": OutcomeRateLimited,
		"reuse": OutcomeError, "gone": OutcomeError, "boom": OutcomeError}
	for key, w := range want {
		o := r.order(context.Background(), job{req: Request{Kind: KindFlashOrder, SKU: 10490, Quantity: 1, Point: 11001, Key: key}}, &r.w.Members[0])
		if o != w {
			t.Errorf("%s: outcome %v, want %v", key, o, w)
		}
	}
	if r.soldOut[10490] != 1 || r.refusals["insufficient_points"] != 1 {
		t.Errorf("sold out %v, refusals %v", r.soldOut, r.refusals)
	}
	if r.errors["http_409_idempotency_key_reused"] != 1 || r.errors["http_404_unknown_sku"] != 1 || r.errors["http_500_internal"] != 1 {
		t.Errorf("errors %v", r.errors)
	}
}

// A placed order sent again with its key must be answered with the same order.
func TestReplayMismatchIsAnError(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		again := n > 1
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if again {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"status":409,"code":"sold_out"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, placedAnswer)
	}))
	defer srv.Close()
	r := testRunner(t, srv.URL, time.Second)
	r.cfg.ReplayShare = 1
	o := r.order(context.Background(), job{req: Request{Kind: KindFlashOrder, SKU: 10490, Quantity: 1, Point: 11001, Key: "k"}}, &r.w.Members[0])
	if o != OutcomePlaced || r.replays != 1 || r.replayBad != 1 || r.errors["replay_mismatch"] != 1 {
		t.Errorf("outcome %v, replays %d, mismatches %d, errors %v", o, r.replays, r.replayBad, r.errors)
	}
}

func TestParseYuan(t *testing.T) {
	for s, want := range map[string]int64{"600.00": 600_00, "55.71": 55_71, "0.5": 50, "7": 7_00, "-3.20": -3_20, "0.00": 0} {
		if got, err := parseYuan(s); err != nil || got != want {
			t.Errorf("parseYuan(%q) = %d, %v; want %d", s, got, err, want)
		}
		if s != "0.5" && s != "7" {
			if got := yuanString(want); got != s {
				t.Errorf("yuanString(%d) = %q, want %q", want, got, s)
			}
		}
	}
	for _, bad := range []string{"", "1.234", "abc", "1.x", ".5"} {
		if _, err := parseYuan(bad); err == nil {
			t.Errorf("parseYuan(%q) accepted", bad)
		}
	}
}
