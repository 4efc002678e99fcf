package festival

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Summary is the final line of a run: one JSON object.
type Summary struct {
	OfferedRPS  float64 `json:"offered_rps"`
	AchievedRPS float64 `json:"achieved_rps"`
	TargetRPS   float64 `json:"target_rps"`
	DurationS   float64 `json:"duration_s"`
	Requests    int64   `json:"requests"`
	Completed   int64   `json:"completed"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	P999        float64 `json:"p999_ms"`
	Max         float64 `json:"max_ms"`
	// Order outcomes: placed (201), refused sold out, refused over the per-member limit,
	// refused otherwise (insufficient points...), rate limited.
	Placed        int64 `json:"placed"`
	SoldOut       int64 `json:"sold_out"`
	LimitExceeded int64 `json:"limit_exceeded"`
	Refused       int64 `json:"refused"`
	RateLimited   int64 `json:"rate_limited"`
	// Errors are 5xx answers, transport errors, unexpected 4xx, answers that differ on a
	// replay of the same key, and members or SKUs the checks could not read.
	Errors   int64 `json:"errors"`
	Timeouts int64 `json:"timeouts"`
	Retries  int64 `json:"retries"`
	// The checks after the run.
	Oversold       int64 `json:"oversold"`
	Undersold      int64 `json:"undersold"`
	Lost           int64 `json:"lost"`
	OverLimit      int64 `json:"over_limit"`
	PointsMismatch int64 `json:"points_mismatch"`
	ChecksPassed   bool  `json:"checks_passed"`
}

// KindStats are the outcomes and latency of one kind of request.
type KindStats struct {
	Outcomes map[string]int64 `json:"outcomes"`
	Latency  Percentiles      `json:"latency"`
}

// Phase is where the time of a run went.
type Phase struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
}

// Report is latest.json.
type Report struct {
	Tool      string  `json:"tool"`
	StartedAt string  `json:"started_at"`
	Machine   string  `json:"machine"`
	Config    RunInfo `json:"config"`
	Summary   Summary `json:"summary"`
	// Latency is measured from when each request was due (corrected for coordinated
	// omission); ServiceTime from when it was actually sent, for comparison.
	Latency     Percentiles          `json:"latency"`
	ServiceTime Percentiles          `json:"service_time"`
	ByKind      map[string]KindStats `json:"by_kind"`
	Refusals    map[string]int64     `json:"refusals"`
	Errors      map[string]int64     `json:"errors"`
	ErrorSample []string             `json:"error_samples,omitempty"`
	Replays     int64                `json:"replays"`
	ReplayBad   int64                `json:"replay_mismatches"`
	Unknown     int64                `json:"unknown_outcomes"`
	FlashTries  int                  `json:"flash_tries"`
	Checks      CheckReport          `json:"checks"`
	Phases      []Phase              `json:"phases"`
	CPU         CPU                  `json:"cpu"`
	Series      []SecondPoint        `json:"series"`
}

// RunInfo is the run's configuration in the report.
type RunInfo struct {
	Target      string  `json:"target"`
	Rate        float64 `json:"rate"`
	Ramp        string  `json:"ramp"`
	Duration    string  `json:"duration"`
	SaleAt      string  `json:"sale_at"`
	MaxRequests int64   `json:"max_requests"`
	Members     int     `json:"members"`
	FlashSKUs   int     `json:"flash_skus"`
	Workers     int     `json:"workers"`
	Timeout     string  `json:"timeout"`
	Seed        uint64  `json:"seed"`
}

func (r *runner) report(scheduled int64, loadEnd time.Time, checks CheckReport, phases []Phase, checkErrors int) *Report {
	t := r.rec.Totals()
	lat := r.rec.Latency()
	span := loadEnd.Sub(r.start).Seconds()
	if d := r.cfg.Duration.Seconds(); span > d {
		span = d // the scheduler returns when the next arrival would be past the end
	}
	achievedSpan := t.Last.Sub(r.start).Seconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs int64
	for _, n := range r.errors {
		errs += n
	}
	errs += int64(checkErrors)
	s := Summary{
		TargetRPS: r.cfg.Rate, DurationS: round(span, 3), Requests: scheduled, Completed: t.Completed,
		P50: lat.P50, P90: lat.P90, P99: lat.P99, P999: lat.P999, Max: lat.Max,
		Placed: t.Outcomes[OutcomePlaced], SoldOut: t.Outcomes[OutcomeSoldOut], LimitExceeded: t.Outcomes[OutcomeLimit],
		Refused: t.Outcomes[OutcomeRefused], RateLimited: t.Outcomes[OutcomeRateLimited],
		Errors: errs, Timeouts: r.timeouts, Retries: r.retries,
		Oversold: checks.Oversold, Undersold: checks.Undersold, Lost: checks.Lost, OverLimit: checks.OverLimit,
		PointsMismatch: checks.PointsMismatch, ChecksPassed: checks.Passed,
	}
	if span > 0 {
		s.OfferedRPS = round(float64(scheduled)/span, 1)
	}
	if achievedSpan > 0 {
		s.AchievedRPS = round(float64(t.Completed)/achievedSpan, 1)
	}
	rep := &Report{
		Tool: "go run ./loadtest festival", StartedAt: r.start.UTC().Format(time.RFC3339), Machine: machine(),
		Config: RunInfo{Target: r.cfg.Target, Rate: r.cfg.Rate, Ramp: r.cfg.Ramp.String(), Duration: r.cfg.Duration.String(),
			SaleAt: r.cfg.SaleAt.String(), MaxRequests: r.cfg.MaxRequests, Members: len(r.w.Members), FlashSKUs: len(r.w.Flash),
			Workers: r.cfg.Workers, Timeout: r.cfg.Timeout.String(), Seed: r.cfg.Seed},
		Summary: s, Latency: lat, ServiceTime: r.rec.ServiceTime(), ByKind: map[string]KindStats{},
		Refusals: r.refusals, Errors: r.errors, ErrorSample: r.errorSamples, Replays: r.replays, ReplayBad: r.replayBad,
		Unknown: r.unknown, Checks: checks, Phases: phases, Series: r.rec.Series(),
	}
	for k := range kindCount {
		ks := KindStats{Outcomes: map[string]int64{}, Latency: r.rec.KindLatency(k)}
		for o, n := range t.ByKind[k] {
			if n > 0 {
				ks.Outcomes[Outcome(o).String()] = n
			}
		}
		if ks.Latency.Count > 0 {
			rep.ByKind[k.String()] = ks
		}
	}
	return rep
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// machine names the CPU and its cores, for comparing runs.
func machine() string {
	model := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	if model == "" {
		model = runtime.GOARCH
	}
	return fmt.Sprintf("%s, %d cores (server and load generator share them)", model, runtime.NumCPU())
}

// SummaryJSON is the final line's object.
func (rep *Report) SummaryJSON() ([]byte, error) { return json.Marshal(rep.Summary) }

// Write writes latest.json and latest.html to dir.
func (rep *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	h, err := rep.HTML()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "latest.html"), h, 0o644)
}

// chart is an inline SVG line chart of per-second values.
type chart struct {
	Title  string
	YLabel string
	Log    bool
	Lines  []chartLine
	Marks  []chartMark
}

type chartLine struct {
	Name   string
	Color  string
	Dash   bool
	Values []float64
}

type chartMark struct {
	At   float64
	Name string
}

const (
	chartW, chartH             = 900.0, 300.0
	padL, padR, padT, padB     = 70.0, 20.0, 30.0, 40.0
	plotW, plotH               = chartW - padL - padR, chartH - padT - padB
	chartTicks             int = 5
)

// svg renders the chart.
func (c chart) svg() template.HTML {
	n := 0
	hi, lo := 0.0, math.Inf(1)
	for _, l := range c.Lines {
		n = max(n, len(l.Values))
		for _, v := range l.Values {
			hi = max(hi, v)
			if v > 0 {
				lo = min(lo, v)
			}
		}
	}
	if n < 2 {
		n = 2
	}
	if hi <= 0 {
		hi = 1
	}
	y := func(v float64) float64 { return padT + plotH - v/hi*plotH }
	var ticks []float64
	if c.Log {
		if math.IsInf(lo, 1) {
			lo = hi / 10
		}
		lo = math.Pow(10, math.Floor(math.Log10(lo)))
		hi = math.Pow(10, math.Ceil(math.Log10(hi)))
		if hi <= lo {
			hi = lo * 10
		}
		y = func(v float64) float64 {
			v = max(v, lo)
			return padT + plotH - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*plotH
		}
		for t := lo; t <= hi*1.0001; t *= 10 {
			ticks = append(ticks, t)
		}
	} else {
		hi = niceCeil(hi)
		for i := 0; i <= chartTicks; i++ {
			ticks = append(ticks, hi*float64(i)/float64(chartTicks))
		}
	}
	x := func(i float64) float64 { return padL + i/float64(n-1)*plotW }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`, chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<text x="%.0f" y="18" font-size="14" font-weight="bold">%s</text>`, padL, template.HTMLEscapeString(c.Title))
	fmt.Fprintf(&b, `<text x="14" y="%.0f" transform="rotate(-90 14 %.0f)" text-anchor="middle">%s</text>`, padT+plotH/2, padT+plotH/2, template.HTMLEscapeString(c.YLabel))
	for _, t := range ticks {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`, padL, y(t), padL+plotW, y(t))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`, padL-6, y(t)+4, tickLabel(t))
	}
	step := max(1, (n-1)/10)
	for i := 0; i < n; i += step {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%ds</text>`, x(float64(i)), padT+plotH+16, i)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds from the start</text>`, padL+plotW/2, chartH-4)
	for i, m := range c.Marks {
		if m.At < 0 || m.At > float64(n-1) {
			continue
		}
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888" stroke-dasharray="4 3"/>`, x(m.At), padT, x(m.At), padT+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#555">%s</text>`, x(m.At)+4, padT+12+float64(i)*14, template.HTMLEscapeString(m.Name))
	}
	fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`, padL, padT, plotW, plotH)
	for li, l := range c.Lines {
		var pts []string
		for i, v := range l.Values {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(i)), y(v)))
		}
		dash := ""
		if l.Dash {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="1.8"%s points="%s"/>`, l.Color, dash, strings.Join(pts, " "))
		lx := padL + plotW - 150
		ly := padT + 14 + float64(li)*16
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="3"/><text x="%.0f" y="%.0f">%s</text>`,
			lx, ly-4, lx+20, ly-4, l.Color, lx+26, ly, template.HTMLEscapeString(l.Name))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func tickLabel(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%gk", v/1000)
	case v >= 1 || v == 0:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", v)
}

var htmlPage = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>huigong festival load test</title>
<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}
.ok{color:#070}.bad{color:#b00;font-weight:bold}</style></head><body>
<h1>Festival rush: huigong under open-loop load</h1>
<p>{{.R.StartedAt}} &middot; {{.R.Machine}} &middot; target {{.R.Config.Target}} &middot; {{.R.Config.Rate}} requests/s (ramp {{.R.Config.Ramp}}) for {{.R.Config.Duration}}, flash sale at {{.R.Config.SaleAt}}, {{.R.Config.Members}} members, {{.R.Config.Workers}} workers</p>
<p>Checks after the run: <span class="{{if .R.Checks.Passed}}ok{{else}}bad{{end}}">{{if .R.Checks.Passed}}passed{{else}}FAILED{{end}}</span>
&middot; oversold {{.R.Summary.Oversold}} &middot; undersold {{.R.Summary.Undersold}} &middot; lost {{.R.Summary.Lost}} &middot; over limit {{.R.Summary.OverLimit}} &middot; points mismatches {{.R.Summary.PointsMismatch}} &middot; errors {{.R.Summary.Errors}}</p>
<table><tr><th>offered</th><th>achieved</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>placed</th><th>sold out</th><th>limit</th><th>refused</th><th>rate limited</th></tr>
<tr><td>{{.R.Summary.OfferedRPS}}/s</td><td>{{.R.Summary.AchievedRPS}}/s</td><td>{{.R.Summary.P50}} ms</td><td>{{.R.Summary.P90}} ms</td><td>{{.R.Summary.P99}} ms</td><td>{{.R.Summary.P999}} ms</td><td>{{.R.Summary.Max}} ms</td><td>{{.R.Summary.Placed}}</td><td>{{.R.Summary.SoldOut}}</td><td>{{.R.Summary.LimitExceeded}}</td><td>{{.R.Summary.Refused}}</td><td>{{.R.Summary.RateLimited}}</td></tr></table>
<p>Latency is measured from when each request was due by the schedule (corrected for coordinated omission). Measured from the actual send instead: p50 {{.R.ServiceTime.P50}} ms, p99 {{.R.ServiceTime.P99}} ms, p99.9 {{.R.ServiceTime.P999}} ms.</p>
{{.Throughput}}
{{.Latency}}
{{.Orders}}
<h2>By kind</h2>
<table><tr><th class="l">kind</th><th>requests</th><th>p50</th><th>p99</th><th>p99.9</th><th class="l">outcomes</th></tr>
{{range $k, $v := .R.ByKind}}<tr><td class="l">{{$k}}</td><td>{{$v.Latency.Count}}</td><td>{{$v.Latency.P50}} ms</td><td>{{$v.Latency.P99}} ms</td><td>{{$v.Latency.P999}} ms</td><td class="l">{{range $o, $n := $v.Outcomes}}{{$o}} {{$n}} {{end}}</td></tr>
{{end}}</table>
<h2>Stock after the run</h2>
<table><tr><th class="l">SKU</th><th>stock</th><th>committed in run</th><th>placed units</th><th>sold-out refusals</th><th>demand &ge; stock</th><th>oversold</th><th>undersold</th><th class="l">problem</th></tr>
{{range .R.Checks.SKUs}}{{if or .SoldOutUnits .Problem .Exact}}<tr><td class="l">{{.SKU}}</td><td>{{.Stock}}</td><td>{{.CommittedInRun}}</td><td>{{.PlacedUnits}}</td><td>{{.SoldOutUnits}}</td><td>{{.Exact}}</td><td>{{.Oversold}}</td><td>{{.Undersold}}</td><td class="l">{{.Problem}}</td></tr>
{{end}}{{end}}</table>
<p>{{len .R.Checks.SKUs}} SKUs checked, {{.R.Checks.OrdersChecked}} orders of {{.R.Checks.MembersChecked}} members; the table lists the SKUs whose demand reached the stock, and any with a problem.</p>
{{if .R.Checks.Problems}}<h2>Problems</h2><ul>{{range .R.Checks.Problems}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .R.ErrorSample}}<h2>Errors</h2><ul>{{range .R.ErrorSample}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Where the time went</h2>
<table>{{range .R.Phases}}<tr><td class="l">{{.Name}}</td><td>{{printf "%.1f" .Seconds}} s</td></tr>{{end}}</table>
<p>CPU during the load ({{.R.CPU.WallSeconds}} s on {{.R.CPU.Cores}} cores): load generator {{.R.CPU.LoadgenSeconds}} s, server and anything else {{.R.CPU.OthersSeconds}} s; 1-minute load average {{.R.CPU.LoadAvgBefore}} before, {{.R.CPU.LoadAvgAfter}} after.</p>
</body></html>
`))

// HTML renders latest.html: self-contained, with inline SVG charts.
func (rep *Report) HTML() ([]byte, error) {
	var offered, achieved, p50, p99, mx, placed, soldOut, errs []float64
	series := rep.Series
	// The seconds after the schedule ended hold only the last answers: leave them out of
	// the charts (they are in latest.json).
	for len(series) > 1 && series[len(series)-1].Offered == 0 {
		series = series[:len(series)-1]
	}
	for _, p := range series {
		offered = append(offered, float64(p.Offered))
		achieved = append(achieved, float64(p.Completed))
		p50 = append(p50, p.P50)
		p99 = append(p99, p.P99)
		mx = append(mx, p.Max)
		placed = append(placed, float64(p.Placed))
		soldOut = append(soldOut, float64(p.SoldOut))
		errs = append(errs, float64(p.Errors))
	}
	var marks []chartMark
	if d, err := time.ParseDuration(rep.Config.Ramp); err == nil && d > 0 {
		marks = append(marks, chartMark{At: d.Seconds(), Name: "ramped up"})
	}
	if d, err := time.ParseDuration(rep.Config.SaleAt); err == nil {
		marks = append(marks, chartMark{At: d.Seconds(), Name: "flash sale opens"})
	}
	tp := chart{Title: "Throughput per second", YLabel: "requests/s", Marks: marks, Lines: []chartLine{
		{Name: "achieved (answered)", Color: "#1f77b4", Values: achieved}, {Name: "offered (due)", Color: "#555", Dash: true, Values: offered}}}
	lt := chart{Title: "Latency per second (from when due), log scale", YLabel: "ms", Log: true, Marks: marks, Lines: []chartLine{
		{Name: "p50", Color: "#2ca02c", Values: p50}, {Name: "p99", Color: "#ff7f0e", Values: p99}, {Name: "max", Color: "#d62728", Values: mx}}}
	oc := chart{Title: "Orders per second", YLabel: "answers/s", Marks: marks, Lines: []chartLine{
		{Name: "placed", Color: "#2ca02c", Values: placed}, {Name: "sold out", Color: "#9467bd", Values: soldOut}, {Name: "errors", Color: "#d62728", Values: errs}}}
	var b bytes.Buffer
	err := htmlPage.Execute(&b, map[string]any{"R": rep, "Throughput": tp.svg(), "Latency": lt.svg(), "Orders": oc.svg()})
	return b.Bytes(), err
}
