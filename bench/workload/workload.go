// Package workload is the flash sale that bench/compare runs against every design: the same
// members, SKUs, stock, price and points, the same attempts from the same number of concurrent
// clients, each attempt timed from submit to answer, then a check of what the design's durable
// store holds.
//
// The sale (issue 7, CONTRACTS.md's BenchmarkFlashSale): Members members each try once to buy
// one unit of one SKU. With one SKU every member tries it; with more, each member tries one
// chosen by a fixed hash of the member, so every design sees the same choices. Each member has
// PointsFen points, each unit costs PriceFen, and the limit is one unit per member per SKU.
package workload

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Config is the sale.
type Config struct {
	Members int
	SKUs    int
	Units   int64 // per SKU
	Clients int
	// PriceFen is the price of a unit; PointsFen the points each member holds.
	PriceFen  int64
	PointsFen int64
	// Cap bounds the attempts phase of one design; the attempts not made by then are left out.
	Cap time.Duration
}

// Default is the sale of issue 7: 100,000 members, 1 SKU of 10,000 units, 64 clients.
func Default() Config {
	return Config{Members: 100_000, SKUs: 1, Units: 10_000, Clients: 64, PriceFen: 10_00, PointsFen: 100_00, Cap: 120 * time.Second}
}

// Validate reports a configuration that cannot run.
func (c Config) Validate() error {
	switch {
	case c.Members < 1:
		return fmt.Errorf("workload: %d members", c.Members)
	case c.SKUs < 1:
		return fmt.Errorf("workload: %d SKUs", c.SKUs)
	case c.Units < 0:
		return fmt.Errorf("workload: %d units", c.Units)
	case c.Clients < 1:
		return fmt.Errorf("workload: %d clients", c.Clients)
	case c.PriceFen < 1 || c.PointsFen < c.PriceFen:
		return fmt.Errorf("workload: price %d fen with %d points: a member must afford one unit", c.PriceFen, c.PointsFen)
	case c.Cap <= 0:
		return fmt.Errorf("workload: cap %v", c.Cap)
	}
	return nil
}

// SKUOf is the index (0 to SKUs-1) of the SKU that member m tries.
func (c Config) SKUOf(m int) int {
	if c.SKUs == 1 {
		return 0
	}
	return int(mix(uint64(m)+0x9e3779b97f4a7c15) % uint64(c.SKUs))
}

// Demand is the number of members trying each SKU.
func (c Config) Demand() []int64 {
	d := make([]int64, c.SKUs)
	for m := 0; m < c.Members; m++ {
		d[c.SKUOf(m)]++
	}
	return d
}

// ExpectedSold is what a correct design sells when every member tries: per SKU, the lesser of
// its demand and its units.
func (c Config) ExpectedSold() int64 {
	var n int64
	for _, d := range c.Demand() {
		n += min(d, c.Units)
	}
	return n
}

// SKUID is the id of SKU index k; MemberID and OrderID those of member m (one order each);
// UnionID member m's union, out of UnionsCount.
func SKUID(k int) int64    { return 9000 + int64(k) }
func MemberID(m int) int64 { return 1_000_000 + int64(m) }
func OrderID(m int) int64  { return int64(m) + 1 }
func UnionID(m int) int64  { return 1 + int64(m%UnionsCount) }

// UnionsCount is the number of unions the members are spread over.
const UnionsCount = 64

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Outcome is the answer to one attempt, as the client saw it.
type Outcome uint8

const (
	NotTried Outcome = iota // the cap came first
	Placed                  // the order was acknowledged
	SoldOut                 // refused: no stock left
	Refused                 // refused for another reason (limit, points)
	Answered                // answered by a design that places nothing (the bare HTTP endpoint)
	Failed                  // an error: no answer, or an answer that is neither
)

func (o Outcome) String() string {
	switch o {
	case NotTried:
		return "not_tried"
	case Placed:
		return "placed"
	case SoldOut:
		return "sold_out"
	case Refused:
		return "refused"
	case Answered:
		return "answered"
	case Failed:
		return "failed"
	}
	return "invalid"
}

// Design is one way of building the flash sale.
//
// Setup prepares the members, points and stock (not timed). Attempt is one member's try, made
// by one of the clients (0 to Clients-1); the design may keep per-client resources. Verify
// reads the design's durable store after the attempts: outcomes[m] is what member m was told.
// Close releases everything, and is called even when Setup failed.
type Design interface {
	Name() string
	Setup(ctx context.Context, cfg Config) error
	Attempt(ctx context.Context, client int, member int) (Outcome, error)
	Verify(ctx context.Context, cfg Config, outcomes []Outcome) (Verification, error)
	Close() error
}

// Verification is what the durable store holds after the sale.
type Verification struct {
	// Committed is the units in the store's orders (or its committed stock, whichever is
	// larger); Oversold the units committed beyond each SKU's stock, added up.
	Committed int64
	Oversold  int64
	// Lost is the orders acknowledged to a member that the store does not have.
	Lost int64
	// Notes say anything else the check found (undersell, inconsistent counters).
	Notes []string
}

// OversoldOf adds up, over the SKUs, the units committed beyond the stock.
func OversoldOf(committedPerSKU []int64, units int64) int64 {
	var n int64
	for _, c := range committedPerSKU {
		n += max(0, c-units)
	}
	return n
}

// Stats are the measured attempts of one design.
type Stats struct {
	Attempts int64
	Placed   int64
	SoldOut  int64
	Refused  int64
	Answered int64
	Failed   int64
	Elapsed  time.Duration
	Capped   bool
	// Latency holds each attempt's time from submit to answer, in microseconds; PlacedLatency
	// only the placed ones'.
	Latency       *hdrhistogram.Histogram
	PlacedLatency *hdrhistogram.Histogram
	// Outcomes is what each member was told.
	Outcomes []Outcome
	// FirstError is the first error an attempt returned.
	FirstError error
}

// OrdersPerS is the attempts answered per second (placed or refused, as BenchmarkFlashSale
// counts them; errors are not counted).
func (s *Stats) OrdersPerS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Attempts-s.Failed) / s.Elapsed.Seconds()
}

// QuantileMs is a latency quantile (0 to 100) in milliseconds.
func (s *Stats) QuantileMs(q float64) float64 {
	return float64(s.Latency.ValueAtQuantile(q)) / 1000
}

// PlacedQuantileMs is a latency quantile of the placed attempts only.
func (s *Stats) PlacedQuantileMs(q float64) float64 {
	return float64(s.PlacedLatency.ValueAtQuantile(q)) / 1000
}

const latencyMaxMicros = 10 * 60 * 1_000_000

func newHistogram() *hdrhistogram.Histogram { return hdrhistogram.New(1, latencyMaxMicros, 3) }

// Drive makes every member try once, from cfg.Clients concurrent clients that each take the next
// member, until all have tried or cfg.Cap has passed. A progress line goes to progress every
// interval (none if progress is nil).
func Drive(ctx context.Context, d Design, cfg Config, progress io.Writer, interval time.Duration) *Stats {
	ctx, cancel := context.WithTimeout(ctx, cfg.Cap)
	defer cancel()
	st := &Stats{Latency: newHistogram(), PlacedLatency: newHistogram(), Outcomes: make([]Outcome, cfg.Members)}
	var next atomic.Int64
	var counts [Failed + 1]atomic.Int64
	var errOnce sync.Once
	hists := make([]*hdrhistogram.Histogram, cfg.Clients)
	placedHists := make([]*hdrhistogram.Histogram, cfg.Clients)
	var wg sync.WaitGroup
	start := time.Now()
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if progress == nil {
			<-stopProgress
			return
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		var last int64
		lastAt := start
		for {
			select {
			case <-stopProgress:
				return
			case now := <-t.C:
				var done int64
				for i := range counts {
					done += counts[i].Load()
				}
				fmt.Fprintf(progress, "  %-17s %7d/%d attempts, %d placed, %d sold out, %d refused, %d answered, %d failed, %.0f/s now\n",
					d.Name(), done, cfg.Members, counts[Placed].Load(), counts[SoldOut].Load(), counts[Refused].Load(),
					counts[Answered].Load(), counts[Failed].Load(), float64(done-last)/now.Sub(lastAt).Seconds())
				last, lastAt = done, now
			}
		}
	}()
	for c := 0; c < cfg.Clients; c++ {
		h, ph := newHistogram(), newHistogram()
		hists[c], placedHists[c] = h, ph
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for ctx.Err() == nil {
				m := int(next.Add(1) - 1)
				if m >= cfg.Members {
					return
				}
				t0 := time.Now()
				o, err := d.Attempt(ctx, c, m)
				lat := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil && o == NotTried {
						return // the cap ended the attempt: it is not counted
					}
					o = Failed
					errOnce.Do(func() { st.FirstError = fmt.Errorf("member %d: %w", m, err) })
				}
				if o == NotTried {
					o = Failed
				}
				st.Outcomes[m] = o
				counts[o].Add(1)
				_ = h.RecordValue(max(1, lat.Microseconds()))
				if o == Placed {
					_ = ph.RecordValue(max(1, lat.Microseconds()))
				}
			}
		}(c)
	}
	wg.Wait()
	st.Elapsed = time.Since(start)
	close(stopProgress)
	<-progressDone
	st.Capped = next.Load() < int64(cfg.Members) || ctx.Err() != nil && countAll(&counts) < int64(cfg.Members)
	for c := range hists {
		st.Latency.Merge(hists[c])
		st.PlacedLatency.Merge(placedHists[c])
	}
	st.Placed, st.SoldOut, st.Refused = counts[Placed].Load(), counts[SoldOut].Load(), counts[Refused].Load()
	st.Answered, st.Failed = counts[Answered].Load(), counts[Failed].Load()
	st.Attempts = countAll(&counts)
	return st
}

func countAll(counts *[Failed + 1]atomic.Int64) int64 {
	var n int64
	for i := range counts {
		n += counts[i].Load()
	}
	return n
}
