// Package pgtest starts a throwaway PostgreSQL server on a free loopback port, for tests and
// benchmarks, and stops it by its pid.
//
// The server runs from Debian's binaries (/usr/lib/postgresql/VERSION/bin, the newest version
// there). PostgreSQL refuses to run as root, so as root the cluster directory is given to the
// postgres user and initdb and the server run with that user's credentials (what
// `runuser -u postgres --` does, without a runuser process between this one and the server, so
// that the server dies with this process and is stopped by its own pid). The server keeps
// PostgreSQL's default durability (fsync and synchronous_commit on): benchmarks compare durable
// commits.
//
// A missing binary is an error that names the Debian package to install, never a skip.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"huigong/bench/internal/proc"
)

// Options of a server. Zero values take the defaults.
type Options struct {
	// Dir is where the temporary cluster directory is made (default os.TempDir()). As root, Dir
	// and the directories above it are made traversable by every user (o+x).
	Dir string
	// Settings are extra `-c name=value` settings of the server.
	Settings map[string]string
	// StartTimeout bounds initdb and the wait for the server to answer (default 60 s).
	StartTimeout time.Duration
}

// Server is a running PostgreSQL server.
type Server struct {
	Port int
	Dir  string // the cluster's directory, removed by Stop
	User string // the superuser, also the database name
	Log  string // the server's log file

	child *proc.Child
}

// BinDir returns Debian's PostgreSQL binary directory of the newest installed version.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var found []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
				found = append(found, d)
			}
		}
	}
	if len(found) == 0 {
		return "", &proc.MissingError{Binary: "PostgreSQL (initdb and postgres under /usr/lib/postgresql/*/bin)", Package: "postgresql"}
	}
	sort.Slice(found, func(i, j int) bool { return version(found[i]) < version(found[j]) })
	return found[len(found)-1], nil
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start initialises a cluster in a new temporary directory and starts a server on a free
// loopback port. The caller must call Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.Dir, "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, User: "postgres", Log: filepath.Join(dir, "server.log")}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
		if err := traversable(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", s.User, "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %v: %s", err, out)
	}
	// A port found free may be taken before the server binds it: try a few.
	var lastErr error
	for try := 0; try < 3; try++ {
		port, err := proc.FreePort()
		if err != nil {
			return nil, err
		}
		args := []string{"-D", data, "-p", strconv.Itoa(port), "-k", dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c", "logging_collector=off"}
		for k, v := range opts.Settings {
			args = append(args, "-c", k+"="+v)
		}
		cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		child, err := proc.Start(cmd, s.Log)
		if err != nil {
			return nil, fmt.Errorf("pgtest: start postgres: %w", err)
		}
		s.child, s.Port = child, port
		err = proc.WaitReady(child, opts.StartTimeout, func() error {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			conn, err := pgx.Connect(cctx, s.URL())
			if err != nil {
				return err
			}
			defer conn.Close(cctx)
			return conn.Ping(cctx)
		})
		if err == nil {
			ok = true
			return s, nil
		}
		lastErr = fmt.Errorf("pgtest: postgres on port %d: %w\n%s", port, err, proc.Tail(s.Log, 2000))
		_ = child.Stop(syscall.SIGQUIT, 5*time.Second)
		s.child = nil
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

// traversable lets every user pass through dir and the directories above it (o+x, not
// listing), so that the postgres user reaches its cluster directory inside a root-only temporary
// directory such as a test's.
func traversable(dir string) error {
	for {
		fi, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dir, fi.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("pgtest: the postgres user cannot reach %s: %w", dir, err)
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
}

// credential is the postgres user's when this process is root, nil otherwise.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root needs the postgres user, which the Debian package \"postgresql\" creates: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// URL is a connection string for the server's postgres database.
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", s.User, s.Port, s.User)
}

// Pid is the server's process id (0 once stopped).
func (s *Server) Pid() int {
	if s.child == nil {
		return 0
	}
	return s.child.Pid()
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 10 s) and removes its
// directory. It may be called more than once.
func (s *Server) Stop() error {
	return proc.StopAndRemove(&s.child, &s.Dir, syscall.SIGINT, 10*time.Second)
}

// New starts a server for a test and stops it when the test ends. A missing PostgreSQL fails
// the test with the Debian package to install.
func New(tb testing.TB) *Server {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
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
