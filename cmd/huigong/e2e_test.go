package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"huigong/api"
	"huigong/mall"
)

// End-to-end tests of the real binary. The test binary itself is the huigong binary: TestMain
// runs main() when it is invoked under the name "huigong" (a symlink made here), so the server
// the tests start is built with the test's flags (-race under make test) and needs no second
// compilation of the whole module.

const binaryName = "huigong"

var (
	binOnce  sync.Once
	binPath  string
	binErr   error
	buildDir string
)

// huigongBinary returns the path of a "huigong" symlink to the test binary.
func huigongBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		var self string
		if self, binErr = os.Executable(); binErr != nil {
			return
		}
		if buildDir, binErr = os.MkdirTemp("", "huigong-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, binaryName)
		binErr = os.Symlink(self, binPath)
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// server is a running huigong serve child process.
type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

var listeningRE = regexp.MustCompile(`listening on http://(\S+),`)

// startServer runs `huigong serve --listen 127.0.0.1:0 ARGS...` and waits until it serves.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	s := &server{t: t, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(huigongBinary(t), append([]string{"serve", "--listen", "127.0.0.1:0"}, args...)...)
	s.cmd.Env = append(os.Environ(), "HUIGONG_DATA=", "HUIGONG_LISTEN=", "HUIGONG_DEMO=", "GORACE=atexit_sleep_ms=0")
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill() // harmless once it exited
		<-s.done
	})
	deadline := time.After(45 * time.Second)
	for {
		if m := listeningRE.FindStringSubmatch(s.stdout.String()); m != nil {
			s.addr = m[1]
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("server exited before listening (%v)\nstdout %s\nstderr %s", s.err, s.stdout.String(), s.stderr.String())
		case <-deadline:
			t.Fatalf("server did not listen within 45s\nstdout %s\nstderr %s", s.stdout.String(), s.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop sends sig and requires a clean exit with code 0.
func (s *server) stop(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.t.Fatalf("server did not exit within 20s of %v", sig)
	}
	if s.err != nil {
		s.t.Fatalf("server exit after %v: %v\nstderr %s", sig, s.err, s.stderr.String())
	}
	if !strings.Contains(s.stderr.String(), `"msg":"stopped"`) {
		s.t.Errorf("the log does not say the server stopped: %s", s.stderr.String())
	}
}

// do sends a request and returns the status and body.
func (s *server) do(method, path, token string, body any, headers ...string) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+s.addr+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// cli runs a huigong command in-process and returns its stdout; it must succeed.
func cli(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, envMap(nil), &stdout, &stderr); code != 0 {
		t.Fatalf("huigong %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// The demo server end to end: a first start creates the demo; a member's dev token is
// accepted; an order is placed; SIGTERM stops it with exit 0; a restart recovers the same
// state; another shard count is refused. (TestProductionRefusesDevKey covers the dev key
// without --demo.)
func TestServeDemoRestartAndProduction(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	huigongBinary(t)
	start := time.Now()
	s := startServer(t, "--demo", "--data", data)
	created := time.Since(start)
	t.Logf("first start with the county demo: %v", created)
	for _, want := range []string{"token --data", "--member 1000001", "/api/v1/orders", "Idempotency-Key"} {
		if !strings.Contains(s.stdout.String(), want) {
			t.Errorf("the start hints do not mention %q:\n%s", want, s.stdout.String())
		}
	}
	checkStatusOK(t, "http://"+s.addr+"/readyz")

	token := cli(t, "token", "--data", data, "--member", "1000001")
	status, me := s.do("GET", "/api/v1/me", token, nil)
	if status != 200 || !strings.Contains(string(me), `"balance":"600.00"`) {
		t.Fatalf("GET /api/v1/me: %d %s", status, me)
	}
	// An order, so the restart has more than the demo to recover.
	status, order := s.do("POST", "/api/v1/orders", token,
		map[string]any{"pickup_point_id": 11001, "lines": []map[string]any{{"sku_id": firstFestivalSKU(t, data), "quantity": 1}}},
		"Idempotency-Key", "e2e-order-1")
	if status != 201 || !strings.Contains(string(order), `"state":"placed"`) {
		t.Fatalf("POST /api/v1/orders: %d %s", status, order)
	}
	_, me = s.do("GET", "/api/v1/me", token, nil)
	_, orders := s.do("GET", "/api/v1/orders", token, nil)
	// A session of the member, which outlives a restart of the same server.
	status, body := s.do("POST", "/api/v1/session", token, nil)
	var session api.SessionResponse
	if err := json.Unmarshal(body, &session); status != 201 || err != nil || !api.IsSession(session.Token) {
		t.Fatalf("POST /api/v1/session: %d %s", status, body)
	}

	status, metrics := s.do("GET", "/metrics", "", nil)
	for _, name := range []string{"huigong_shard_queue_depth", "huigong_shard_batch_commands", "huigong_journal_fsync_seconds", "huigong_http_request_seconds"} {
		if status != 200 || !strings.Contains(string(metrics), name) {
			t.Errorf("/metrics (status %d) has no %s", status, name)
		}
	}
	s.stop(syscall.SIGTERM)

	// A restart recovers the same state and does not make the demo again.
	demoBefore, _ := os.ReadFile(filepath.Join(data, demoFileName))
	start = time.Now()
	s = startServer(t, "--demo", "--data", data)
	t.Logf("restart (recovery of the demo and one order): %v", time.Since(start))
	if _, again := s.do("GET", "/api/v1/me", token, nil); !bytes.Equal(again, me) {
		t.Errorf("after restart /api/v1/me is\n%s\nwant\n%s", again, me)
	}
	if _, again := s.do("GET", "/api/v1/orders", token, nil); !bytes.Equal(again, orders) {
		t.Errorf("after restart /api/v1/orders is\n%s\nwant\n%s", again, orders)
	}
	if _, again := s.do("GET", "/api/v1/me", session.Token, nil); !bytes.Equal(again, me) {
		t.Errorf("after restart /api/v1/me with the session is\n%s\nwant\n%s", again, me)
	}
	if demoAfter, _ := os.ReadFile(filepath.Join(data, demoFileName)); !bytes.Equal(demoBefore, demoAfter) {
		t.Error("the restart made the demo again")
	}
	if strings.Contains(s.stderr.String(), "demo: creating") {
		t.Error("the restart logged a demo creation")
	}
	s.stop(syscall.SIGINT)

	// The same directory served without --demo: the demo's session, made from a dev token, is
	// refused like the dev token itself.
	s = startServer(t, "--data", data)
	for name, bearer := range map[string]string{"dev token": token, "demo session": session.Token} {
		if status, body := s.do("GET", "/api/v1/me", bearer, nil); status != 401 {
			t.Errorf("production server, %s: %d %s, want 401", name, status, body)
		}
	}
	s.stop(syscall.SIGTERM)

	// Another shard count would route unions to the wrong shards: refused, nothing started.
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--data", data, "--shards", "8", "--listen", "127.0.0.1:0"}, envMap(nil), io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "created with 16 shards") {
		t.Errorf("--shards 8 on a 16-shard directory: exit %d, %s", code, stderr.String())
	}
}

// firstFestivalSKU is a SKU the demo's festival program can buy.
func firstFestivalSKU(t *testing.T, data string) uint64 {
	t.Helper()
	demo, ok, err := mall.ReadDemoData(data)
	if err != nil || !ok {
		t.Fatalf("demo data: %v %v", ok, err)
	}
	for _, s := range demo.SKUs {
		for _, c := range demo.FestivalProgram.Categories {
			if s.Category == c && !s.FlashSale {
				return s.ID
			}
		}
	}
	t.Fatal("no SKU the festival program can buy")
	return 0
}

// A production server (no --demo) makes no dev key, accepts tokens of the platform's keys, and
// refuses a token signed with a dev key found in its directory, even when platform-keys.json
// lists that key under another key id.
func TestProductionRefusesDevKey(t *testing.T) {
	data := t.TempDir()
	devKey, err := ensureDevKey(data)
	if err != nil {
		t.Fatal(err)
	}
	platformPub, platformKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := json.Marshal(map[string]string{
		"platform": base64.StdEncoding.EncodeToString(platformPub),
		"sneaky":   base64.StdEncoding.EncodeToString(devKey.Public().(ed25519.PublicKey)),
	})
	if err := os.WriteFile(filepath.Join(data, platformKeysName), keys, 0o644); err != nil {
		t.Fatal(err)
	}
	sign := func(kid string, key ed25519.PrivateKey) string {
		tok, err := api.NewIssuer(kid, key).Sign(api.Claims{Role: api.RoleMember, Union: 1001,
			RegisteredClaims: jwt.RegisteredClaims{Subject: "1000001"}}, time.Now(), time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	s := startServer(t, "--data", data)
	// The platform's key is accepted: the member is unknown here (no demo), but authenticated.
	if status, body := s.do("GET", "/api/v1/me", sign("platform", platformKey), nil); status != 404 {
		t.Errorf("a platform token: %d %s, want 404 (authenticated, no such member)", status, body)
	}
	for _, kid := range []string{"dev", "sneaky"} {
		if status, body := s.do("GET", "/api/v1/me", sign(kid, devKey), nil); status != 401 {
			t.Errorf("a dev-key token under kid %q: %d %s, want 401", kid, status, body)
		}
	}
	if status, body := s.do("GET", "/api/v1/me", "not-a-token", nil); status != 401 {
		t.Errorf("a forged token: %d %s", status, body)
	}
	if status, _ := s.do("GET", "/debug/pprof/cmdline", "", nil); status != 404 {
		t.Errorf("pprof without --pprof: %d, want 404", status)
	}
	s.stop(syscall.SIGTERM)

	fresh := t.TempDir()
	s = startServer(t, "--data", fresh, "--pprof")
	if status, body := s.do("GET", "/debug/pprof/cmdline", "", nil); status != 200 || !strings.Contains(string(body), "--pprof") {
		t.Errorf("pprof with --pprof: %d %q", status, body)
	}
	s.stop(syscall.SIGTERM)
	if _, err := os.Stat(filepath.Join(fresh, devKeyFileName)); err == nil {
		t.Fatal("a production server created a dev key")
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"token", "--data", fresh, "--member", "1000001"}, envMap(nil), io.Discard, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "no dev key") {
		t.Errorf("huigong token on a directory without a dev key: exit %d, %s", code, stderr.String())
	}
}
