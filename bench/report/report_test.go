package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"huigong/bench/report"
	"huigong/bench/workload"
)

func TestJSONHasTheContractFields(t *testing.T) {
	cfg := workload.Config{Members: 100, SKUs: 1, Units: 10, Clients: 2, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Second}
	r := report.New(cfg, t.TempDir())
	d := &fixed{}
	st := workload.Drive(t.Context(), d, cfg, nil, time.Second)
	r.Add(report.NewRow("huigong-inprocess", cfg, st, workload.Verification{Committed: 10}))
	st.Elapsed *= 4
	r.Add(report.NewRow("sql-rowlock", cfg, st, workload.Verification{Committed: 11, Oversold: 1}))
	r.Finish()
	path := filepath.Join(t.TempDir(), "results", "latest.json")
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if m, _ := doc["machine"].(string); !strings.Contains(m, "cores") {
		t.Fatalf("machine %q", doc["machine"])
	}
	if _, err := time.Parse(time.RFC3339, doc["date"].(string)); err != nil {
		t.Fatal(err)
	}
	designs := doc["designs"].([]any)
	if len(designs) != 2 {
		t.Fatalf("designs %v", designs)
	}
	for _, x := range designs {
		row := x.(map[string]any)
		for _, k := range []string{"name", "orders_per_s", "p50_ms", "p99_ms", "sold", "oversold", "lost"} {
			if _, ok := row[k]; !ok {
				t.Fatalf("row without %s: %v", k, row)
			}
		}
	}
	if row := designs[0].(map[string]any); row["sold"].(float64) != 10 || row["ratio_to_huigong_inprocess"].(float64) != 1 {
		t.Fatalf("row %v", row)
	}
	if row := designs[1].(map[string]any); row["oversold"].(float64) != 1 || row["ratio_to_huigong_inprocess"].(float64) > 0.3 {
		t.Fatalf("row %v", row)
	}
	var out bytes.Buffer
	r.WriteTable(&out)
	if !strings.Contains(out.String(), "OVERSOLD 1 units") || !strings.Contains(out.String(), "orders/s") {
		t.Fatalf("table:\n%s", out.String())
	}
}

// fixed places the first 10 members' orders and refuses the rest.
type fixed struct{}

func (*fixed) Name() string                                 { return "fixed" }
func (*fixed) Setup(context.Context, workload.Config) error { return nil }
func (*fixed) Close() error                                 { return nil }
func (*fixed) Attempt(_ context.Context, _ int, m int) (workload.Outcome, error) {
	if m < 10 {
		return workload.Placed, nil
	}
	return workload.SoldOut, nil
}
func (*fixed) Verify(context.Context, workload.Config, []workload.Outcome) (workload.Verification, error) {
	return workload.Verification{}, nil
}

func TestMachineAndFS(t *testing.T) {
	if m := report.Machine(); !strings.HasSuffix(m, "cores") {
		t.Fatalf("machine %q", m)
	}
	if fs := report.FSType(t.TempDir()); fs == "" || fs == "unknown" {
		t.Fatalf("fs %q", fs)
	}
}
