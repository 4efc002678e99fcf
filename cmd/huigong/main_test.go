package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// When this variable is set, the test binary acts as the huigong binary, so
// that tests can run main() in a child process and send it real signals.
const runMainEnv = "HUIGONG_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" || filepath.Base(os.Args[0]) == binaryName {
		main()
		return
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestParseServeConfigPrecedence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want serveConfig
	}{
		{
			name: "defaults",
			want: serveConfig{Data: "./data", Listen: "127.0.0.1:8080"},
		},
		{
			name: "env over defaults",
			env:  map[string]string{"HUIGONG_DATA": "/srv/hg", "HUIGONG_LISTEN": ":9090", "HUIGONG_DEMO": "1"},
			want: serveConfig{Data: "/srv/hg", Listen: ":9090", Demo: true},
		},
		{
			name: "flags over env",
			args: []string{"--data", "flagdata", "--listen", "127.0.0.1:7000", "--demo=false"},
			env:  map[string]string{"HUIGONG_DATA": "/srv/hg", "HUIGONG_LISTEN": ":9090", "HUIGONG_DEMO": "true"},
			want: serveConfig{Data: "flagdata", Listen: "127.0.0.1:7000"},
		},
		{
			name: "flags over defaults",
			args: []string{"-data=d", "--demo"},
			want: serveConfig{Data: "d", Listen: "127.0.0.1:8080", Demo: true},
		},
		{
			name: "one flag, other values from env",
			args: []string{"--listen", "127.0.0.1:1"},
			env:  map[string]string{"HUIGONG_DATA": "envdata", "HUIGONG_LISTEN": ":9090", "HUIGONG_DEMO": "false"},
			want: serveConfig{Data: "envdata", Listen: "127.0.0.1:1"},
		},
		{
			name: "empty env counts as unset",
			env:  map[string]string{"HUIGONG_DATA": "", "HUIGONG_LISTEN": "", "HUIGONG_DEMO": ""},
			want: serveConfig{Data: "./data", Listen: "127.0.0.1:8080"},
		},
		{
			name: "cluster flag",
			args: []string{"--cluster"},
			want: serveConfig{Data: "./data", Listen: "127.0.0.1:8080", Cluster: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseServeConfig(tt.args, envMap(tt.env), &stderr)
			if err != nil {
				t.Fatalf("parseServeConfig: %v (stderr %q)", err, stderr.String())
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseServeConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{name: "bad demo env", env: map[string]string{"HUIGONG_DEMO": "maybe"}},
		{name: "unknown flag", args: []string{"--nope"}},
		{name: "extra argument", args: []string{"extra"}},
		{name: "empty data flag", args: []string{"--data="}},
		{name: "flag without value", args: []string{"--listen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseServeConfig(tt.args, envMap(tt.env), io.Discard)
			var ee *exitError
			if !errors.As(err, &ee) || ee.code != 2 {
				t.Fatalf("got %v, want a usage error with exit code 2", err)
			}
		})
	}
}

func TestRunCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // substring expected on stdout
		stderr     string // substring expected on stderr
		noStdout   bool
		wantNoData bool
	}{
		{name: "no command", args: nil, code: 2, stderr: "usage: huigong", noStdout: true},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`, noStdout: true},
		{name: "version", args: []string{"version"}, code: 0, stdout: "huigong dev\n"},
		{name: "version with argument", args: []string{"version", "x"}, code: 2, noStdout: true},
		{name: "help", args: []string{"help"}, code: 0, stdout: "usage: huigong"},
		{name: "serve help", args: []string{"serve", "-h"}, code: 0, stderr: "-listen"},
		{name: "serve bad flag", args: []string{"serve", "--bogus"}, code: 2, stderr: "flag provided but not defined", noStdout: true},
		{name: "cluster refused", args: []string{"serve", "--cluster"}, code: 2, stderr: "cluster mode is not built yet", noStdout: true, wantNoData: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			env := envMap(map[string]string{"HUIGONG_DATA": data})
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, env, &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stdout %q, stderr %q)", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout.String(), tt.stdout)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tt.stderr)
			}
			if tt.noStdout && stdout.Len() != 0 {
				t.Errorf("stdout should be empty, got %q", stdout.String())
			}
			if tt.wantNoData {
				if _, err := os.Stat(data); !os.IsNotExist(err) {
					t.Errorf("data directory should not be created, stat: %v", err)
				}
			}
		})
	}
}

// checkStatusOK GETs url and requires 200 with body {"status":"ok"}.
func checkStatusOK(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %q", url, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %s: Content-Type %q, want application/json", url, ct)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("GET %s: body %q is not JSON: %v", url, body, err)
	}
	if len(got) != 1 || got["status"] != "ok" {
		t.Fatalf(`GET %s: body %q, want {"status":"ok"}`, url, body)
	}
}

func TestServeHealthAndShutdown(t *testing.T) {
	data := filepath.Join(t.TempDir(), "nested", "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	addrCh := make(chan string, 1)
	done := make(chan error, 1)
	var stdout, stderr syncBuffer
	go func() {
		done <- runServe(ctx, []string{"--listen", "127.0.0.1:0", "--data", data}, envMap(nil),
			&stdout, &stderr, nil, func(addr string) { addrCh <- addr })
	}()

	var addr string
	select {
	case addr = <-addrCh:
	case err := <-done:
		t.Fatalf("runServe returned before listening: %v; stderr %s", err, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start within 10s")
	}

	if st, err := os.Stat(data); err != nil || !st.IsDir() {
		t.Fatalf("data directory not created: %v", err)
	}
	if !strings.Contains(stdout.String(), "listening on http://"+addr) || !strings.Contains(stdout.String(), data) {
		t.Errorf("start line %q should name the address %s and the data directory", stdout.String(), addr)
	}

	checkStatusOK(t, "http://"+addr+"/healthz")
	checkStatusOK(t, "http://"+addr+"/readyz")

	resp, err := http.Get("http://" + addr + "/no-such-route")
	if err != nil {
		t.Fatalf("GET unknown route: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown route: status %d, want 404", resp.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServe after cancel: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within 15s of cancel")
	}

	// The port is released.
	client := &http.Client{Timeout: time.Second}
	if resp, err := client.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("server still answers after shutdown")
	}

	// The logs are JSON lines.
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
	}
}

func TestServeCancelledImmediately(t *testing.T) {
	// A shutdown that comes right after the start must not hang.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, []string{"--listen", "127.0.0.1:0", "--data", t.TempDir()}, envMap(nil),
			io.Discard, io.Discard, nil, func(string) { cancel() })
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runServe: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("server did not stop within 15s of an immediate cancel")
	}
}

func TestServeListenError(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--listen", "not-an-address", "--data", t.TempDir()},
		envMap(nil), io.Discard, &stderr)
	if code != 1 {
		t.Fatalf("exit code %d, want 1; stderr %q", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "listen") {
		t.Errorf("stderr %q should explain the listen failure", stderr.String())
	}
}

// TestServeSignal runs the real main() in a child process, sends SIGTERM and
// expects a graceful exit with code 0.
func TestServeSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			cmd := exec.Command(os.Args[0], "serve", "--data", data)
			cmd.Env = append(os.Environ(), runMainEnv+"=1", "HUIGONG_LISTEN=127.0.0.1:0", "GORACE=atexit_sleep_ms=0")
			var stdout, stderr syncBuffer
			cmd.Stdout = &stdout
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var waitErr error
			waitDone := make(chan struct{})
			go func() {
				waitErr = cmd.Wait()
				close(waitDone)
			}()
			t.Cleanup(func() {
				// Stop the child even when the test failed; harmless if it exited.
				_ = cmd.Process.Kill()
				<-waitDone
			})

			re := regexp.MustCompile(`listening on http://(\S+),`)
			var addr string
			deadline := time.Now().Add(20 * time.Second)
			for addr == "" {
				if m := re.FindStringSubmatch(stdout.String()); m != nil {
					addr = m[1]
					break
				}
				select {
				case <-waitDone:
					t.Fatalf("child exited before listening (%v); stdout %q stderr %s", waitErr, stdout.String(), stderr.String())
				case <-time.After(10 * time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatalf("child did not start listening; stdout %q stderr %s", stdout.String(), stderr.String())
				}
			}
			checkStatusOK(t, "http://"+addr+"/healthz")

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case <-waitDone:
				if waitErr != nil {
					t.Fatalf("child exit after %v: %v; stderr %s", sig, waitErr, stderr.String())
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("child did not exit within 20s of %v", sig)
			}
			if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
				t.Errorf("stderr should log the graceful stop; got %s", stderr.String())
			}
		})
	}
}
