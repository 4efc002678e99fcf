package festival

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 5 minutes, with 3 significant digits
// for the whole run and 2 for each second of the series.
const (
	latencyMaxMicros   = int64(5 * time.Minute / time.Microsecond)
	latencyDigits      = 3
	latencySecondDigit = 2
)

// Outcome is what became of one scheduled request.
type Outcome uint8

const (
	OutcomeOK          Outcome = iota // a read answered 200
	OutcomePlaced                     // an order answered 201
	OutcomeSoldOut                    // an order refused: sold_out
	OutcomeLimit                      // an order refused: limit_exceeded (a repeated click)
	OutcomeRefused                    // an order refused for another business reason (insufficient_points...)
	OutcomeRateLimited                // 429 rate_limited
	OutcomeError                      // transport error, timeout after the retry, 5xx, unexpected 4xx
	outcomeCount
)

var outcomeNames = [outcomeCount]string{"ok", "placed", "sold_out", "limit_exceeded", "refused", "rate_limited", "error"}

func (o Outcome) String() string {
	if o >= outcomeCount {
		return "invalid"
	}
	return outcomeNames[o]
}

// Kind is a kind of request of the mix.
type Kind uint8

const (
	KindMe         Kind = iota // GET /api/v1/me
	KindCatalog                // GET /api/v1/catalog
	KindMyOrders               // GET /api/v1/orders
	KindFlashOrder             // POST /api/v1/orders, a flash-sale SKU
	KindOrder                  // POST /api/v1/orders, ordinary SKUs
	kindCount
)

var kindNames = [kindCount]string{"me", "catalog", "my_orders", "flash_order", "order"}

func (k Kind) String() string {
	if k >= kindCount {
		return "invalid"
	}
	return kindNames[k]
}

// IsOrder reports whether the kind places an order.
func (k Kind) IsOrder() bool { return k == KindFlashOrder || k == KindOrder }

func newHistogram(digits int) *hdrhistogram.Histogram {
	return hdrhistogram.New(1, latencyMaxMicros, digits)
}

// micros is a latency in whole microseconds, within the histograms' range.
func micros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	return min(max(us, 1), latencyMaxMicros)
}

// Recorder keeps the latencies of a run in HdrHistograms, with counts per outcome and kind and
// a series per second. Latency is measured from the time a request was due by the schedule,
// not from when it was sent: a request that waited for a connection, or for an earlier
// request of a stalled server, is charged that wait. This is the correction for coordinated
// omission of an open-loop generator. The uncorrected service time, from the actual send, is
// kept beside it to show how much the correction matters.
type Recorder struct {
	start time.Time

	mu        sync.Mutex
	corrected *hdrhistogram.Histogram
	service   *hdrhistogram.Histogram
	byKind    [kindCount]*hdrhistogram.Histogram
	outcomes  [kindCount][outcomeCount]int64
	seconds   []*secondStats
	last      time.Time // the last completion
}

// secondStats are one second of the run: arrivals due in it, and completions in it.
type secondStats struct {
	offered   int64
	completed int64
	outcomes  [outcomeCount]int64
	latency   *hdrhistogram.Histogram // of the completions, corrected
	inFlight  int64                   // sampled at the end of the second
}

// NewRecorder returns a recorder for a run starting at start.
func NewRecorder(start time.Time) *Recorder {
	r := &Recorder{start: start, corrected: newHistogram(latencyDigits), service: newHistogram(latencyDigits)}
	for i := range r.byKind {
		r.byKind[i] = newHistogram(latencyDigits)
	}
	return r
}

func (r *Recorder) second(at time.Time) *secondStats {
	i := int(at.Sub(r.start) / time.Second)
	if i < 0 {
		i = 0
	}
	for len(r.seconds) <= i {
		r.seconds = append(r.seconds, &secondStats{latency: newHistogram(latencySecondDigit)})
	}
	return r.seconds[i]
}

// Offered counts a request due at due.
func (r *Recorder) Offered(due time.Time) {
	r.mu.Lock()
	r.second(due).offered++
	r.mu.Unlock()
}

// Record records a finished request: due by the schedule, sent at sent (its first attempt),
// done when its final answer came.
func (r *Recorder) Record(kind Kind, due, sent, done time.Time, o Outcome) {
	lat, svc := micros(done.Sub(due)), micros(done.Sub(sent))
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.corrected.RecordValue(lat)
	_ = r.service.RecordValue(svc)
	_ = r.byKind[kind].RecordValue(lat)
	r.outcomes[kind][o]++
	s := r.second(done)
	s.completed++
	s.outcomes[o]++
	_ = s.latency.RecordValue(lat)
	if done.After(r.last) {
		r.last = done
	}
}

// SampleInFlight notes the requests due but not finished at the end of second i.
func (r *Recorder) SampleInFlight(i int, n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.seconds) <= i {
		r.seconds = append(r.seconds, &secondStats{latency: newHistogram(latencySecondDigit)})
	}
	r.seconds[i].inFlight = n
}

// Percentiles are latencies in milliseconds.
type Percentiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func ms(us int64) float64 { return float64(us) / 1000 }

func percentiles(h *hdrhistogram.Histogram) Percentiles {
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	return Percentiles{Count: h.TotalCount(), P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)),
		P99: ms(h.ValueAtQuantile(99)), P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()), Mean: h.Mean() / 1000}
}

// SecondPoint is one second of the series.
type SecondPoint struct {
	T         int     `json:"t"`
	Offered   int64   `json:"offered"`
	Completed int64   `json:"completed"`
	InFlight  int64   `json:"in_flight"`
	P50       float64 `json:"p50_ms"`
	P99       float64 `json:"p99_ms"`
	Max       float64 `json:"max_ms"`
	Placed    int64   `json:"placed"`
	SoldOut   int64   `json:"sold_out"`
	Errors    int64   `json:"errors"`
}

func (r *Recorder) point(i int) SecondPoint {
	s := r.seconds[i]
	p := SecondPoint{T: i, Offered: s.offered, Completed: s.completed, InFlight: s.inFlight,
		Placed: s.outcomes[OutcomePlaced], SoldOut: s.outcomes[OutcomeSoldOut], Errors: s.outcomes[OutcomeError]}
	if s.latency.TotalCount() > 0 {
		p.P50, p.P99, p.Max = ms(s.latency.ValueAtQuantile(50)), ms(s.latency.ValueAtQuantile(99)), ms(s.latency.Max())
	}
	return p
}

// Second returns second i of the series (zero if nothing happened in it yet).
func (r *Recorder) Second(i int) SecondPoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i < 0 || i >= len(r.seconds) {
		return SecondPoint{T: i}
	}
	return r.point(i)
}

// Series returns every second of the run.
func (r *Recorder) Series() []SecondPoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]SecondPoint, len(r.seconds))
	for i := range r.seconds {
		out[i] = r.point(i)
	}
	return out
}

// Totals are the counts of a run.
type Totals struct {
	Completed int64
	Outcomes  [outcomeCount]int64
	ByKind    [kindCount][outcomeCount]int64
	Last      time.Time
}

// Totals returns the counts so far.
func (r *Recorder) Totals() Totals {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := Totals{ByKind: r.outcomes, Last: r.last}
	for k := range r.outcomes {
		for o, n := range r.outcomes[k] {
			t.Outcomes[o] += n
			t.Completed += n
		}
	}
	return t
}

// Latency returns the corrected latency of every request (from when it was due).
func (r *Recorder) Latency() Percentiles {
	r.mu.Lock()
	defer r.mu.Unlock()
	return percentiles(r.corrected)
}

// ServiceTime returns the uncorrected latency (from when each request was actually sent).
func (r *Recorder) ServiceTime() Percentiles {
	r.mu.Lock()
	defer r.mu.Unlock()
	return percentiles(r.service)
}

// KindLatency returns the corrected latency of one kind of request.
func (r *Recorder) KindLatency(k Kind) Percentiles {
	r.mu.Lock()
	defer r.mu.Unlock()
	return percentiles(r.byKind[k])
}
