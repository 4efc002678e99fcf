package pgtest_test

import (
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"

	"huigong/bench/pgtest"
)

func TestStartQueryStop(t *testing.T) {
	s := pgtest.New(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	var fsync, sc string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SHOW synchronous_commit").Scan(&sc); err != nil {
		t.Fatal(err)
	}
	if fsync != "on" || sc != "on" {
		t.Fatalf("fsync %s, synchronous_commit %s: the server must keep default durability", fsync, sc)
	}
	conn.Close(ctx)

	pid, dir := s.Pid(), s.Dir
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("postgres %d still runs after Stop", pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s still exists after Stop: %v", dir, err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestTwoServers(t *testing.T) {
	a, b := pgtest.New(t), pgtest.New(t)
	if a.Port == b.Port {
		t.Fatalf("both on port %d", a.Port)
	}
}

// A cluster inside a root-only directory (a test's TempDir) still starts.
func TestStartInAPrivateDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := pgtest.Start(context.Background(), pgtest.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
}
