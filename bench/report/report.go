// Package report is bench/compare's output: one table, and the same figures as JSON
// (bench/results/latest.json).
package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"huigong/bench/workload"
)

// Baseline is the design every other is compared with.
const Baseline = "huigong-inprocess"

// Report is the JSON document. machine, date and designs (with name, orders_per_s, p50_ms,
// p99_ms, sold, oversold and lost) are the contract of issue 7; the other fields explain them.
type Report struct {
	Machine string `json:"machine"`
	Date    string `json:"date"`
	Designs []Row  `json:"designs"`

	GoVersion string `json:"go_version"`
	DataFS    string `json:"data_fs"`
	// LoadBefore and LoadAfter are /proc/loadavg's 1-minute load when the run began and ended:
	// other work on the machine takes CPU from every design.
	LoadBefore float64  `json:"load_before"`
	LoadAfter  float64  `json:"load_after"`
	Workload   Workload `json:"workload"`
	Notes      []string `json:"notes,omitempty"`
}

// Workload is the sale that was run.
type Workload struct {
	Members        int     `json:"members"`
	SKUs           int     `json:"skus"`
	UnitsPerSKU    int64   `json:"units_per_sku"`
	LimitPerMember int64   `json:"limit_per_member"`
	Clients        int     `json:"clients"`
	PriceFen       int64   `json:"price_fen"`
	PointsFen      int64   `json:"points_fen"`
	ExpectedSold   int64   `json:"expected_sold"`
	CapS           float64 `json:"cap_s"`
	// Tokens is what members sent as their bearer token over HTTP: "session" or "platform".
	Tokens string `json:"tokens"`
}

// Row is one design's figures.
type Row struct {
	Name       string  `json:"name"`
	OrdersPerS float64 `json:"orders_per_s"`
	P50ms      float64 `json:"p50_ms"`
	P99ms      float64 `json:"p99_ms"`
	Sold       int64   `json:"sold"`
	Oversold   int64   `json:"oversold"`
	Lost       int64   `json:"lost"`

	// RatioToBaseline is orders_per_s over huigong-inprocess's (0 when it did not run).
	RatioToBaseline float64 `json:"ratio_to_huigong_inprocess"`
	P999ms          float64 `json:"p999_ms"`
	// PlacedP50ms and PlacedP99ms are over the placed attempts only.
	PlacedP50ms float64  `json:"placed_p50_ms"`
	PlacedP99ms float64  `json:"placed_p99_ms"`
	MaxMs       float64  `json:"max_ms"`
	Attempts    int64    `json:"attempts"`
	SoldOut     int64    `json:"sold_out"`
	Refused     int64    `json:"refused"`
	Answered    int64    `json:"answered"`
	Failed      int64    `json:"failed"`
	Committed   int64    `json:"committed"`
	ElapsedS    float64  `json:"elapsed_s"`
	Capped      bool     `json:"capped"`
	FirstError  string   `json:"first_error,omitempty"`
	Notes       []string `json:"notes,omitempty"`
}

// New starts a report for a sale; dataDir is where the designs keep their data ("" for the
// system's temp dir).
func New(cfg workload.Config, dataDir string) *Report {
	if dataDir == "" {
		dataDir = os.TempDir()
	}
	return &Report{
		Machine:    Machine(),
		Date:       time.Now().Format(time.RFC3339),
		Designs:    []Row{},
		GoVersion:  runtime.Version(),
		DataFS:     FSType(dataDir),
		LoadBefore: LoadAverage(),
		Workload: Workload{Members: cfg.Members, SKUs: cfg.SKUs, UnitsPerSKU: cfg.Units, LimitPerMember: 1, Clients: cfg.Clients,
			PriceFen: cfg.PriceFen, PointsFen: cfg.PointsFen, ExpectedSold: cfg.ExpectedSold(), CapS: cfg.Cap.Seconds()},
	}
}

// NewRow makes a design's row from its measured attempts and its verification.
func NewRow(name string, cfg workload.Config, st *workload.Stats, v workload.Verification) Row {
	r := Row{
		Name: name, OrdersPerS: round(st.OrdersPerS(), 0), P50ms: round(st.QuantileMs(50), 3), P99ms: round(st.QuantileMs(99), 3),
		P999ms: round(st.QuantileMs(99.9), 3), MaxMs: round(float64(st.Latency.Max())/1000, 3),
		PlacedP50ms: round(st.PlacedQuantileMs(50), 3), PlacedP99ms: round(st.PlacedQuantileMs(99), 3),
		Sold: st.Placed, Oversold: v.Oversold, Lost: v.Lost, Attempts: st.Attempts, SoldOut: st.SoldOut, Refused: st.Refused,
		Answered: st.Answered, Failed: st.Failed, Committed: v.Committed, ElapsedS: round(st.Elapsed.Seconds(), 3), Capped: st.Capped,
		Notes: v.Notes,
	}
	if st.FirstError != nil {
		r.FirstError = st.FirstError.Error()
	}
	if st.Capped {
		r.Notes = append(r.Notes, fmt.Sprintf("capped: %d of %d members tried within %v", st.Attempts, cfg.Members, cfg.Cap))
	} else if name != "fiber-bare" && st.Failed == 0 && st.Placed != cfg.ExpectedSold() {
		r.Notes = append(r.Notes, fmt.Sprintf("placed %d, a correct design places %d: %s", st.Placed, cfg.ExpectedSold(),
			map[bool]string{true: "undersold", false: "more than the stock"}[st.Placed < cfg.ExpectedSold()]))
	}
	return r
}

func round(x float64, digits int) float64 {
	p := 1.0
	for range digits {
		p *= 10
	}
	if x >= 0 {
		return float64(int64(x*p+0.5)) / p
	}
	return -float64(int64(-x*p+0.5)) / p
}

// Add appends a row.
func (r *Report) Add(row Row) { r.Designs = append(r.Designs, row) }

// Finish computes the ratios to the baseline.
func (r *Report) Finish() {
	r.LoadAfter = LoadAverage()
	var base float64
	for _, d := range r.Designs {
		if d.Name == Baseline {
			base = d.OrdersPerS
		}
	}
	for i := range r.Designs {
		if base > 0 {
			r.Designs[i].RatioToBaseline = round(r.Designs[i].OrdersPerS/base, 4)
		}
	}
}

// WriteTable prints the table, then the notes.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "\nflash sale: %d members, %d SKU(s) x %d units, limit 1, %d clients; %s; %s; data on %s; load %.2f before, %.2f after\n\n",
		r.Workload.Members, r.Workload.SKUs, r.Workload.UnitsPerSKU, r.Workload.Clients, r.Machine, r.Date, r.DataFS, r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "design\torders/s\tp50 ms\tp99 ms\tsold\toversold\tlost\tvs huigong-inprocess\t")
	for _, d := range r.Designs {
		ratio := "-"
		if d.RatioToBaseline > 0 {
			ratio = fmt.Sprintf("%.4gx", d.RatioToBaseline)
			if d.RatioToBaseline < 1 {
				ratio = fmt.Sprintf("%.4gx (1/%.3g)", d.RatioToBaseline, 1/d.RatioToBaseline)
			}
		}
		name := d.Name
		if d.Capped {
			name += " (capped)"
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.3f\t%.3f\t%d\t%d\t%d\t%s\t\n", name, d.OrdersPerS, d.P50ms, d.P99ms, d.Sold, d.Oversold, d.Lost, ratio)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, d := range r.Designs {
		if d.Sold > 0 {
			fmt.Fprintf(w, "  %s: the %d placed orders alone: p50 %.3f ms, p99 %.3f ms\n", d.Name, d.Sold, d.PlacedP50ms, d.PlacedP99ms)
		}
		for _, n := range d.Notes {
			fmt.Fprintf(w, "  %s: %s\n", d.Name, n)
		}
		if d.FirstError != "" {
			fmt.Fprintf(w, "  %s: %d failed attempts; the first: %s\n", d.Name, d.Failed, d.FirstError)
		}
		if d.Oversold > 0 {
			fmt.Fprintf(w, "  %s: OVERSOLD %d units\n", d.Name, d.Oversold)
		}
		if d.Lost > 0 {
			fmt.Fprintf(w, "  %s: LOST %d acknowledged orders\n", d.Name, d.Lost)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// WriteJSON writes the report to path, creating its directory.
func (r *Report) WriteJSON(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Machine describes the CPU from /proc/cpuinfo: its model and the number of cores.
func Machine() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return fmt.Sprintf("%s/%s, %d cores", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	}
	defer f.Close()
	model, cpus := "", 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "processor":
			cpus++
		case "model name":
			if model == "" {
				model = strings.Join(strings.Fields(v), " ")
			}
		}
	}
	if model == "" {
		model = runtime.GOARCH
	}
	if cpus == 0 {
		cpus = runtime.NumCPU()
	}
	return fmt.Sprintf("%s, %d cores", model, cpus)
}

// LoadAverage is the 1-minute load average (0 if unknown).
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

// FSType names the filesystem of dir (ext4, xfs, tmpfs...), since fsync's cost depends on it.
func FSType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "unknown"
	}
	switch uint64(st.Type) {
	case 0xEF53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683E:
		return "btrfs"
	case 0x01021994:
		return "tmpfs"
	case 0x794c7630:
		return "overlayfs"
	}
	return fmt.Sprintf("fs 0x%x", uint64(st.Type))
}
