package proc_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"huigong/bench/internal/proc"
)

func TestStopKillsAStubbornChild(t *testing.T) {
	log := filepath.Join(t.TempDir(), "log")
	// A shell that ignores SIGTERM, with a child of its own in its process group.
	c, err := proc.Start(exec.Command("sh", "-c", "trap '' TERM; sleep 60 & echo started; wait"), log)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.WaitReady(c, 5*time.Second, func() error {
		if !strings.Contains(proc.Tail(log, 100), "started") {
			return os.ErrNotExist
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.Stop(syscall.SIGTERM, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("Stop took %v", time.Since(start))
	}
	// The killed sleep is reaped by init a moment later; until then it is a zombie.
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(-c.Pid(), 0) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the process group still has members")
		}
	}
}

func TestMissingErrorNamesThePackage(t *testing.T) {
	err := &proc.MissingError{Binary: "redis-server", Package: "redis-server"}
	if !strings.Contains(err.Error(), "apt-get install -y redis-server") {
		t.Fatal(err)
	}
}
