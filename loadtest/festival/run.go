package festival

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config is a festival run.
type Config struct {
	Target string        // the API, http://127.0.0.1:8080
	Data   string        // the server's data directory: demo.json, dev.key, merchants.json
	Out    string        // where latest.json and latest.html go; empty writes nothing
	Rate   float64       // target arrivals per second after the ramp
	Ramp   time.Duration // from 0 to Rate
	// Duration bounds the schedule; MaxRequests (when > 0) caps the requests scheduled.
	Duration    time.Duration
	MaxRequests int64
	SaleAt      time.Duration // when the flash sale opens, from the start
	Members     int           // participating members (0: every eligible member)
	FlashSKUs   int           // the flash-sale SKUs of the rush (0: all)
	Workers     int           // requests in flight at most
	Timeout     time.Duration // per attempt; a timed-out order is retried once with its key
	Seed        uint64
	// FlashShare of members try the flash sale, RepeatShare of them click twice, and
	// ReplayShare of the placed orders are sent again with their key to check the server
	// answers the same.
	FlashShare, RepeatShare, ReplayShare float64
	// Progress receives a line per second and the steps of the run (stderr).
	Progress io.Writer
}

// Defaults are the flags' defaults (CONTRACTS.md: target, duration, rate).
func Defaults() Config {
	return Config{Target: "http://127.0.0.1:8080", Data: "./data", Out: filepath.Join("loadtest", "results"), Rate: 2000,
		Ramp: 5 * time.Second, Duration: 60 * time.Second, SaleAt: 10 * time.Second, Members: 10_000, Workers: 256,
		Timeout: 2 * time.Second, Seed: 1, FlashShare: 0.9, RepeatShare: 0.05, ReplayShare: 0.02}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	switch {
	case c.Rate <= 0:
		return fmt.Errorf("--rate %v: want > 0", c.Rate)
	case c.Duration <= 0:
		return fmt.Errorf("--duration %v: want > 0", c.Duration)
	case c.Ramp < 0 || c.SaleAt < 0 || c.MaxRequests < 0 || c.Members < 0 || c.FlashSKUs < 0:
		return fmt.Errorf("--ramp, --sale-at, --max-requests, --members and --flash-skus must not be negative")
	case c.Workers < 1:
		return fmt.Errorf("--workers %d: want >= 1", c.Workers)
	case c.Timeout <= 0:
		return fmt.Errorf("--timeout %v: want > 0", c.Timeout)
	case c.FlashShare < 0 || c.FlashShare > 1 || c.RepeatShare < 0 || c.RepeatShare > 1 || c.ReplayShare < 0 || c.ReplayShare > 1:
		return fmt.Errorf("the shares are fractions from 0 to 1")
	case !strings.HasPrefix(c.Target, "http://") && !strings.HasPrefix(c.Target, "https://"):
		return fmt.Errorf("--target %q: want http://HOST:PORT", c.Target)
	}
	return nil
}

// job is a scheduled request.
type job struct {
	req Request
	due time.Time
	seq int64
}

// runner is one run's state.
type runner struct {
	cfg    Config
	w      *World
	client *Client
	rec    *Recorder
	start  time.Time

	offered  atomic.Int64
	finished atomic.Int64

	mu           sync.Mutex
	acked        []Acked
	soldOut      map[uint64]int64
	refusals     map[string]int64
	errors       map[string]int64
	errorSamples []string
	timeouts     int64
	retries      int64
	unknown      int64
	replays      int64
	replayBad    int64
}

const errorSamplesMax = 20

func (r *runner) fail(cause, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors[cause]++
	if len(r.errorSamples) < errorSamplesMax {
		r.errorSamples = append(r.errorSamples, cause+": "+detail)
	}
}

// errorCause names an unexpected answer for the error counts.
func errorCause(a Answer) (string, string) {
	switch {
	case a.TimedOut():
		return "timeout", a.Err.Error()
	case a.Err != nil:
		return "transport", a.Err.Error()
	case a.Code != "":
		return fmt.Sprintf("http_%d_%s", a.Status, a.Code), truncate(string(a.Body), 200)
	}
	return fmt.Sprintf("http_%d", a.Status), truncate(string(a.Body), 200)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// businessRefusals are the 409 codes an order may meet in a rush without anything being wrong.
var businessRefusals = map[string]Outcome{
	"sold_out": OutcomeSoldOut, "limit_exceeded": OutcomeLimit, "insufficient_points": OutcomeRefused,
	"price_changed": OutcomeRefused, "checkout_timeout": OutcomeRefused, "outside_window": OutcomeRefused,
	"not_listed": OutcomeRefused,
}

// retryable reports whether an order attempt has no outcome yet: a timeout or a transport
// error, or the server saying the order is still being decided.
func retryable(a Answer) bool {
	return a.Err != nil || (a.Status == http.StatusServiceUnavailable && a.Code == "order_pending")
}

// execute sends one scheduled request and records it.
func (r *runner) execute(j job) {
	sent := time.Now()
	var o Outcome
	m := &r.w.Members[j.req.Member]
	ctx := context.Background()
	switch j.req.Kind {
	case KindMe:
		o = r.read(r.client.Get(ctx, m.Auth, "/api/v1/me"), "me")
	case KindCatalog:
		o = r.read(r.client.Get(ctx, m.Auth, "/api/v1/catalog?"+j.req.Query), "catalog")
	case KindMyOrders:
		o = r.read(r.client.Get(ctx, m.Auth, "/api/v1/orders?limit=20"), "my_orders")
	default:
		o = r.order(ctx, j, m)
	}
	r.rec.Record(j.req.Kind, j.due, sent, time.Now(), o)
	r.finished.Add(1)
}

func (r *runner) read(a Answer, what string) Outcome {
	if a.Status == http.StatusOK {
		return OutcomeOK
	}
	cause, detail := errorCause(a)
	r.fail(cause, what+": "+detail)
	return OutcomeError
}

// order places an order; an attempt without an outcome is retried once with the same key,
// which the server must answer as it answered (or would have answered) the first.
func (r *runner) order(ctx context.Context, j job, m *Member) Outcome {
	body := OrderBody(j.req.Point, j.req.SKU, j.req.Quantity)
	a := r.client.PostOrder(ctx, m.Auth, j.req.Key, body)
	if retryable(a) {
		r.mu.Lock()
		r.retries++
		if a.TimedOut() {
			r.timeouts++
		}
		r.mu.Unlock()
		a = r.client.PostOrder(ctx, m.Auth, j.req.Key, body)
		if retryable(a) {
			r.mu.Lock()
			r.unknown++
			r.mu.Unlock()
		}
	}
	switch {
	case a.Status == http.StatusCreated:
		ord, err := parseOrder(a.Body)
		if err != nil {
			r.fail("bad_answer", fmt.Sprintf("order %s: %v", j.req.Key, err))
			return OutcomeError
		}
		r.mu.Lock()
		r.acked = append(r.acked, Acked{Member: m.ID, Order: ord})
		r.mu.Unlock()
		if r.replayProbe(j.seq) {
			r.replay(ctx, j, m, body, ord)
		}
		return OutcomePlaced
	case a.Status == http.StatusConflict:
		if o, ok := businessRefusals[a.Code]; ok {
			r.mu.Lock()
			r.refusals[a.Code]++
			if o == OutcomeSoldOut {
				r.soldOut[j.req.SKU] += j.req.Quantity
			}
			r.mu.Unlock()
			return o
		}
	case a.Status == http.StatusTooManyRequests && a.Code == "rate_limited":
		r.mu.Lock()
		r.refusals[a.Code]++
		r.mu.Unlock()
		return OutcomeRateLimited
	}
	cause, detail := errorCause(a)
	r.fail(cause, "order "+j.req.Key+": "+detail)
	return OutcomeError
}

// replayProbe picks the placed orders sent again: a fixed share, by sequence number.
func (r *runner) replayProbe(seq int64) bool {
	if r.cfg.ReplayShare <= 0 {
		return false
	}
	h := fnv.New64a()
	fmt.Fprint(h, seq)
	return float64(h.Sum64()%10_000) < r.cfg.ReplayShare*10_000
}

// replay sends a placed order again with its key: the answer must be the same order.
func (r *runner) replay(ctx context.Context, j job, m *Member, body []byte, first Order) {
	a := r.client.PostOrder(ctx, m.Auth, j.req.Key, body)
	r.mu.Lock()
	r.replays++
	r.mu.Unlock()
	if a.Status == http.StatusCreated {
		if again, err := parseOrder(a.Body); err == nil && again.ID == first.ID && slices.Equal(again.Lines, first.Lines) && again.PointsFen == first.PointsFen {
			return
		}
	}
	r.mu.Lock()
	r.replayBad++
	r.mu.Unlock()
	_, detail := errorCause(a)
	r.fail("replay_mismatch", fmt.Sprintf("order %s (id %d) sent again answered HTTP %d: %s", j.req.Key, first.ID, a.Status, detail))
}

// Run runs the festival load test: it reads the world, takes a snapshot through the API, runs
// the open-loop load, takes another snapshot, checks and writes the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	logf := func(format string, args ...any) { fmt.Fprintf(progress, format+"\n", args...) }
	var phases []Phase
	phase := func(name string, since time.Time) {
		phases = append(phases, Phase{Name: name, Seconds: time.Since(since).Seconds()})
	}

	t0 := time.Now()
	w, err := LoadWorld(cfg.Data, cfg.Members, cfg.FlashSKUs, cfg.Seed)
	if err != nil {
		return nil, err
	}
	phase("tokens", t0)
	logf("festival: %d members with dev tokens, %d flash-sale SKUs, %d ordinary SKUs (%.1fs)", len(w.Members), len(w.Flash), len(w.Ordinary), time.Since(t0).Seconds())

	client := NewClient(cfg.Target, cfg.Workers, cfg.Timeout)
	defer client.Close()
	if a := client.do(ctx, http.MethodGet, "/readyz", http.Header{}, nil); a.Status != http.StatusOK {
		return nil, answerError("GET "+cfg.Target+"/readyz (is the server running? `make run`)", a)
	}

	// Before: the units of every SKU, and each member's points and orders.
	t1 := time.Now()
	snapConc := min(cfg.Workers, 32)
	unitsBefore, limits, err := snapshotUnits(ctx, client, w.Merchants)
	if err != nil {
		return nil, err
	}
	before, err := snapshotMembers(ctx, client, w.Members, snapConc)
	if err != nil {
		return nil, err
	}
	phase("snapshot before", t1)
	logf("festival: before: units of %d SKUs and %d members' points and orders read (%.1fs)", len(unitsBefore), len(before), time.Since(t1).Seconds())

	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	planner := NewPlanner(w, PlanConfig{SaleAt: cfg.SaleAt, FlashShare: cfg.FlashShare, RepeatShare: cfg.RepeatShare, RunID: runID, Seed: cfg.Seed})
	sched := Schedule{Rate: cfg.Rate, Ramp: cfg.Ramp}
	start := time.Now().Add(50 * time.Millisecond)
	cpuBefore := sampleCPU()
	r := &runner{cfg: cfg, w: w, client: client, rec: NewRecorder(start), start: start,
		soldOut: map[uint64]int64{}, refusals: map[string]int64{}, errors: map[string]int64{}}
	logf("festival: %s for %v at %.0f requests/s (ramp %v), flash sale at %v: %d flash-sale tries by %d members; %d workers",
		cfg.Target, cfg.Duration, cfg.Rate, cfg.Ramp, cfg.SaleAt, planner.FlashTries(), len(w.Members), cfg.Workers)

	// Workers take scheduled requests; the queue holds what is due while all are busy.
	jobs := make(chan job, 1<<16)
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r.execute(j)
			}
		}()
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go r.progress(progress, stopProgress, progressDone)

	scheduled := sched.Run(ctx, start, cfg.Duration, cfg.MaxRequests, func(k int64, due time.Time) bool {
		req := planner.Next(due.Sub(start))
		r.rec.Offered(due)
		r.offered.Add(1)
		select {
		case jobs <- job{req: req, due: due, seq: k}:
			return true
		case <-ctx.Done():
			return false
		}
	})
	loadEnd := time.Now()
	close(jobs)
	wg.Wait()
	drained := time.Now()
	cpu := cpuBetween(cpuBefore, sampleCPU())
	close(stopProgress)
	<-progressDone
	phases = append(phases, Phase{Name: "load", Seconds: loadEnd.Sub(start).Seconds()}, Phase{Name: "drain", Seconds: drained.Sub(loadEnd).Seconds()})
	logf("festival: %d requests scheduled in %.1fs, the last answered %.2fs later; CPU: load generator %.1fs, server and others %.1fs of %.1fs on %d cores (load average %.1f before, %.1f after)",
		scheduled, loadEnd.Sub(start).Seconds(), drained.Sub(loadEnd).Seconds(), cpu.LoadgenSeconds, cpu.OthersSeconds,
		cpu.WallSeconds*float64(cpu.Cores), cpu.Cores, cpu.LoadAvgBefore, cpu.LoadAvgAfter)

	// After: wait until no checkout holds units, then read everything again.
	t2 := time.Now()
	checkCtx := context.WithoutCancel(ctx)
	var checked []uint64
	for _, s := range w.Flash {
		checked = append(checked, s.ID)
	}
	unitsAfter, _, err := settleUnits(checkCtx, client, w.Merchants, 10*time.Second)
	var checkErrors []string
	if err != nil {
		checkErrors = append(checkErrors, err.Error())
	}
	after, err := snapshotMembers(checkCtx, client, w.Members, snapConc)
	if err != nil {
		checkErrors = append(checkErrors, err.Error())
	}
	phase("snapshot after", t2)

	t3 := time.Now()
	r.mu.Lock()
	checks := Check(CheckInput{Limits: limits, SKUs: checked, UnitsBefore: unitsBefore, UnitsAfter: unitsAfter,
		Acked: r.acked, SoldOut: r.soldOut, Before: before, After: after})
	r.mu.Unlock()
	phase("checks", t3)
	for _, e := range checkErrors {
		checks.Passed = false
		checks.Problems = append(checks.Problems, "could not check: "+e)
	}
	logf("festival: checks %s: %d orders of %d members, %d SKUs (%.1fs)", passWord(checks.Passed), checks.OrdersChecked, checks.MembersChecked, len(checks.SKUs), time.Since(t2).Seconds())
	for _, p := range checks.Problems {
		logf("festival: check: %s", p)
	}

	rep := r.report(scheduled, loadEnd, checks, phases, len(checkErrors))
	phases = append(phases, Phase{Name: "total", Seconds: time.Since(t0).Seconds()})
	rep.Phases = phases
	rep.CPU = cpu
	if cfg.Out != "" {
		if err := rep.Write(cfg.Out); err != nil {
			return rep, err
		}
		logf("festival: wrote %s and %s", filepath.Join(cfg.Out, "latest.json"), filepath.Join(cfg.Out, "latest.html"))
	}
	return rep, nil
}

func passWord(ok bool) string {
	if ok {
		return "passed"
	}
	return "FAILED"
}

// progress prints a line per second of the run.
func (r *runner) progress(out io.Writer, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	next := r.start.Add(time.Second)
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(time.Until(next)):
		}
		inFlight := r.offered.Load() - r.finished.Load()
		r.rec.SampleInFlight(i, inFlight)
		p := r.rec.Second(i)
		t := r.rec.Totals()
		fmt.Fprintf(out, "[%3ds] offered %5d/s achieved %5d/s in flight %4d p50 %7.2fms p99 %7.2fms | placed %6d sold_out %6d errors %d\n",
			i+1, p.Offered, p.Completed, inFlight, p.P50, p.P99, t.Outcomes[OutcomePlaced], t.Outcomes[OutcomeSoldOut], t.Outcomes[OutcomeError])
		next = next.Add(time.Second)
	}
}

// snapshotUnits reads every merchant's SKUs through the partner API.
func snapshotUnits(ctx context.Context, c *Client, merchants []Merchant) (map[uint64]Units, map[uint64]int64, error) {
	units, limits := map[uint64]Units{}, map[uint64]int64{}
	for _, m := range merchants {
		if err := c.MerchantSKUs(ctx, m, units, limits); err != nil {
			return nil, nil, err
		}
	}
	return units, limits, nil
}

// settleUnits reads the units until no SKU has units reserved (checkouts still open), for
// at most wait.
func settleUnits(ctx context.Context, c *Client, merchants []Merchant, wait time.Duration) (map[uint64]Units, map[uint64]int64, error) {
	deadline := time.Now().Add(wait)
	for {
		units, limits, err := snapshotUnits(ctx, c, merchants)
		if err != nil {
			return units, limits, err
		}
		reserved := false
		for _, u := range units {
			if u.Reserved > 0 {
				reserved = true
			}
		}
		if !reserved || time.Now().After(deadline) {
			return units, limits, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// snapshotMembers reads each member's points and orders, conc at a time; a read that fails
// is tried again twice.
func snapshotMembers(ctx context.Context, c *Client, members []Member, conc int) (map[uint64]MemberView, error) {
	out := make([]MemberView, len(members))
	errs := make([]error, len(members))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(members) {
					return
				}
				m := &members[i]
				for try := 0; try < 3; try++ {
					var v MemberView
					v.AvailableFen, errs[i] = c.Me(ctx, m)
					if errs[i] == nil {
						v.Orders, errs[i] = c.Orders(ctx, m)
					}
					if errs[i] == nil {
						out[i] = v
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	views := make(map[uint64]MemberView, len(members))
	var failed []string
	for i, m := range members {
		if errs[i] != nil {
			failed = append(failed, errs[i].Error())
			continue
		}
		views[m.ID] = out[i]
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return views, fmt.Errorf("%d members could not be read, first: %s", len(failed), failed[0])
	}
	return views, nil
}

// WriteLine writes the final line: the summary as one JSON object.
func WriteLine(w io.Writer, rep *Report) error {
	b, err := rep.SummaryJSON()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
