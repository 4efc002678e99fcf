// Package proc holds what bench/pgtest and bench/redistest share: free loopback ports, child
// processes that die with their parent and are stopped by pid, and errors that name the
// Debian package to install.
package proc

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// MissingError says that a server's binary is not installed, and which Debian package has it.
type MissingError struct {
	Binary  string
	Package string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s is not installed: install the Debian package %q (apt-get install -y %s)", e.Binary, e.Package, e.Package)
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Child is a started server process in its own process group, killed if this process dies.
type Child struct {
	Cmd    *exec.Cmd
	exited chan struct{}
	err    error // of Wait, once exited is closed
	log    *os.File
}

// Start starts cmd with its output appended to logPath.
func Start(cmd *exec.Cmd, logPath string) (*Child, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	c := &Child{Cmd: cmd, exited: make(chan struct{}), log: f}
	go func() {
		c.err = cmd.Wait()
		f.Close()
		close(c.exited)
	}()
	return c, nil
}

// Pid is the child's process id.
func (c *Child) Pid() int { return c.Cmd.Process.Pid }

// Exited is closed once the child has exited.
func (c *Child) Exited() <-chan struct{} { return c.exited }

// Stop sends sig to the child, waits up to grace for it to exit, then kills its process group.
func (c *Child) Stop(sig syscall.Signal, grace time.Duration) error {
	select {
	case <-c.exited:
		return nil
	default:
	}
	_ = c.Cmd.Process.Signal(sig)
	select {
	case <-c.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-c.Pid(), syscall.SIGKILL)
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
			return fmt.Errorf("process %d did not exit after SIGKILL", c.Pid())
		}
	}
	// Whatever of the group is left (a server's workers) goes too.
	_ = syscall.Kill(-c.Pid(), syscall.SIGKILL)
	return nil
}

// WaitReady calls ready until it returns nil, the child exits, or timeout passes.
func WaitReady(c *Child, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = ready(); err == nil {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("exited before it answered (%v): %w", c.err, err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("did not answer within %v: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Tail returns the last n bytes of a file, for error messages.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return strings.TrimSpace(string(b))
}

// StopAndRemove stops *child with sig (SIGKILL after grace) and removes *dir, then clears both,
// so a server's Stop may be called more than once.
func StopAndRemove(child **Child, dir *string, sig syscall.Signal, grace time.Duration) error {
	var err error
	if *child != nil {
		err = (*child).Stop(sig, grace)
		*child = nil
	}
	if *dir != "" {
		if rerr := os.RemoveAll(*dir); rerr != nil && err == nil {
			err = rerr
		}
		*dir = ""
	}
	return err
}
