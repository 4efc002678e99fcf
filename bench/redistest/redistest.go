// Package redistest starts a throwaway Redis server on a free loopback port, for tests and
// benchmarks, and stops it by its pid.
//
// The server is `redis-server --port PORT --bind 127.0.0.1 --save ” --appendonly no`: no
// snapshots and no append-only file, so nothing it holds survives it. A missing redis-server is
// an error that names the Debian package to install, never a skip.
package redistest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"huigong/bench/internal/proc"
)

// Options of a server. Zero values take the defaults.
type Options struct {
	// Dir is where the server's temporary directory is made (default os.TempDir()).
	Dir string
	// Args are extra arguments of redis-server, such as "--maxmemory", "1gb".
	Args []string
	// StartTimeout bounds the wait for the server to answer (default 30 s).
	StartTimeout time.Duration
}

// Server is a running Redis server.
type Server struct {
	Port int
	Dir  string // its working directory, removed by Stop
	Log  string

	child *proc.Child
}

// Binary is the path of redis-server.
func Binary() (string, error) {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", &proc.MissingError{Binary: "redis-server", Package: "redis-server"}
	}
	return p, nil
}

// Start starts a server. The caller must call Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.Dir, "redistest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, Log: filepath.Join(dir, "server.log")}
	var lastErr error
	for try := 0; try < 3; try++ {
		port, err := proc.FreePort()
		if err != nil {
			s.Stop()
			return nil, err
		}
		args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--daemonize", "no"}, opts.Args...)
		child, err := proc.Start(exec.Command(bin, args...), s.Log)
		if err != nil {
			s.Stop()
			return nil, fmt.Errorf("redistest: start redis-server: %w", err)
		}
		s.child, s.Port = child, port
		err = proc.WaitReady(child, opts.StartTimeout, func() error {
			c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DialTimeout: time.Second})
			defer c.Close()
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return c.Ping(cctx).Err()
		})
		if err == nil {
			return s, nil
		}
		lastErr = fmt.Errorf("redistest: redis-server on port %d: %w\n%s", port, err, proc.Tail(s.Log, 2000))
		_ = child.Stop(syscall.SIGKILL, 5*time.Second)
		s.child = nil
		if ctx.Err() != nil {
			break
		}
	}
	s.Stop()
	return nil, lastErr
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Pid is the server's process id (0 once stopped).
func (s *Server) Pid() int {
	if s.child == nil {
		return 0
	}
	return s.child.Pid()
}

// Stop stops the server (SIGTERM, then SIGKILL after 10 s) and removes its directory. It may
// be called more than once.
func (s *Server) Stop() error {
	return proc.StopAndRemove(&s.child, &s.Dir, syscall.SIGTERM, 10*time.Second)
}

// New starts a server for a test and stops it when the test ends. A missing redis-server fails
// the test with the Debian package to install.
func New(tb testing.TB) *Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Stop(); err != nil {
			tb.Error(err)
		}
	})
	return s
}
