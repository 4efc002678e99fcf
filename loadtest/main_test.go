package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a buffer written by a child process and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var listeningRE = regexp.MustCompile(`listening on http://(\S+),`)

// startDemoServer builds huigong and runs `huigong serve --demo` on a fresh data directory
// and a free loopback port; it is stopped (by its pid) when the test ends.
func startDemoServer(t *testing.T) (addr, data string) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "huigong")
	build := exec.Command(goTool, "build", "-o", bin, "./cmd/huigong")
	build.Dir = filepath.Join("..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/huigong: %v\n%s", err, out)
	}
	data = filepath.Join(dir, "data")
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	cmd := exec.Command(bin, "serve", "--demo", "--data", data, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "HUIGONG_DATA=", "HUIGONG_LISTEN=", "HUIGONG_DEMO=")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.After(45 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(stdout.String()); m != nil {
			return m[1], data
		}
		select {
		case <-done:
			t.Fatalf("the server exited before listening\nstdout %s\nstderr %s", stdout.String(), stderr.String())
		case <-deadline:
			t.Fatalf("the server did not listen within 45s\nstdout %s\nstderr %s", stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// A short festival run against a real demo server: the rush sells one flash-sale SKU out,
// nothing is oversold or lost, there are no errors, and the last line is the summary.
func TestFestivalAgainstDemoServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server and runs a load test")
	}
	began := time.Now()
	addr, data := startDemoServer(t)
	t.Logf("server built and demo created in %v", time.Since(began))

	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"festival", "--target", "http://" + addr, "--data", data, "--out", out,
		"--duration", "5s", "--rate", "200", "--ramp", "1s", "--sale-at", "1s",
		"--members", "400", "--flash-skus", "1", "--workers", "32", "--seed", "3"}, &stdout, &stderr)
	t.Logf("load test output:\n%s", stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	var sum struct {
		OfferedRPS  float64 `json:"offered_rps"`
		AchievedRPS float64 `json:"achieved_rps"`
		P50         float64 `json:"p50_ms"`
		P99         float64 `json:"p99_ms"`
		P999        float64 `json:"p999_ms"`
		Placed      int64   `json:"placed"`
		SoldOut     int64   `json:"sold_out"`
		Oversold    int64   `json:"oversold"`
		Undersold   int64   `json:"undersold"`
		Lost        int64   `json:"lost"`
		Errors      int64   `json:"errors"`
		Checks      bool    `json:"checks_passed"`
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(last), &raw); err != nil {
		t.Fatalf("the last line is not a JSON object: %q", last)
	}
	for _, k := range []string{"offered_rps", "achieved_rps", "p50_ms", "p99_ms", "p999_ms", "placed", "sold_out", "oversold", "lost", "errors"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("the last line has no %q: %s", k, last)
		}
	}
	_ = json.Unmarshal([]byte(last), &sum)
	if code != 0 || sum.Oversold != 0 || sum.Undersold != 0 || sum.Lost != 0 || sum.Errors != 0 || !sum.Checks {
		t.Errorf("exit %d: %s", code, last)
	}
	if sum.Placed == 0 || sum.SoldOut == 0 {
		t.Errorf("want orders placed and the flash-sale SKU sold out: %s", last)
	}
	if sum.OfferedRPS < 100 || sum.AchievedRPS < 100 || sum.P50 <= 0 || sum.P99 < sum.P50 {
		t.Errorf("rates and latencies: %s", last)
	}
	for _, f := range []string{"latest.json", "latest.html"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", f, err)
		}
		if f == "latest.html" && (!bytes.Contains(b, []byte("<svg")) || bytes.Contains(b, []byte("<script src")) || bytes.Contains(b, []byte("<link"))) {
			t.Errorf("latest.html is not a self-contained page with inline SVG")
		}
	}
	t.Logf("the whole test took %v", time.Since(began))
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "festival") {
		t.Errorf("no subcommand: exit %d, %q", code, stderr.String())
	}
	if code := run([]string{"festival", "--rate", "0"}, &stdout, &stderr); code != 2 {
		t.Errorf("--rate 0: exit %d", code)
	}
	cfg, _, err := parseFestival(nil, &stderr)
	if err != nil || cfg.Target != "http://127.0.0.1:8080" || cfg.Duration != time.Minute || cfg.Rate != 2000 || cfg.Data != "./data" {
		t.Errorf("defaults %+v, %v (CONTRACTS.md: http://127.0.0.1:8080, 60s, 2000/s, ./data)", cfg, err)
	}
}
