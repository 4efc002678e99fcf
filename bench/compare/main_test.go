package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	o, err := parse(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.Members != 100_000 || o.cfg.SKUs != 1 || o.cfg.Units != 10_000 || o.cfg.Clients != 64 || len(o.only) != len(designNames) {
		t.Fatalf("defaults %+v", o)
	}
	o, err = parse([]string{"--skus", "100", "--units", "1000", "--only", "sql-rowlock, redis-lua"}, &bytes.Buffer{})
	if err != nil || o.cfg.SKUs != 100 || !o.only["redis-lua"] || o.only["huigong-inprocess"] {
		t.Fatalf("%+v %v", o, err)
	}
	if _, err := parse([]string{"--only", "mysql"}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "unknown design") {
		t.Fatalf("unknown design: %v", err)
	}
	if _, err := parse([]string{"--clients", "0"}, &bytes.Buffer{}); err == nil {
		t.Fatal("0 clients accepted")
	}
}

// A small run of every design, end to end: servers started and stopped, the table printed and
// the JSON written, with nothing oversold or lost.
func TestSmallRunOfEveryDesign(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and Redis")
	}
	out := filepath.Join(t.TempDir(), "latest.json")
	var stdout, stderr bytes.Buffer
	err := run([]string{"--members", "3000", "--units", "300", "--clients", "8", "--out", out, "--dir", t.TempDir(), "--shards", "4"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	t.Log("\n" + stdout.String())
	var doc struct {
		Machine string
		Designs []struct {
			Name       string
			OrdersPerS float64 `json:"orders_per_s"`
			Sold       int64
			Oversold   int64
			Lost       int64
		}
	}
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, d := range doc.Designs {
		seen[d.Name] = true
		if d.OrdersPerS <= 0 || d.Oversold != 0 || d.Lost != 0 {
			t.Errorf("%+v", d)
		}
		if d.Name != "fiber-bare" && d.Sold != 300 {
			t.Errorf("%s sold %d, want 300", d.Name, d.Sold)
		}
	}
	for _, n := range []string{"huigong-inprocess", "fiber-bare", "sql-rowlock", "redis-lua"} {
		if !seen[n] {
			t.Errorf("%s did not run", n)
		}
	}
	if !seen["huigong-http"] && !strings.Contains(stdout.String(), "huigong-http was not run") {
		t.Error("huigong-http neither ran nor was said not to")
	}
}
