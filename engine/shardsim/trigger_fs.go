package shardsim

// Copied from engine/sim (owned apart): the same fsync trigger, so that faults strike between
// a journal group's write and its fsync, or inside a snapshot save.

import (
	"sync"

	"huigong/engine/journal"
)

// triggerFS wraps the FaultFS and lets a fault strike at the n-th fsync (of a file or of a
// directory) after it is armed, just before that fsync runs: between the write of a group
// and its fsync, inside a segment rotation, a snapshot save or an archive. A crash there is
// where durability bugs live; a crash at a moment chosen from outside mostly finds the
// journal idle.
type triggerFS struct {
	fs *journal.FaultFS

	mu        sync.Mutex
	countdown int    // fsyncs to let through before the fault; armed while positive
	action    func() // the fault
	fired     bool
}

var _ journal.FS = (*triggerFS)(nil)

// arm makes the fault strike just before the n-th fsync from now (n >= 1).
func (t *triggerFS) arm(n int, action func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.countdown, t.action, t.fired = n, action, false
}

// disarm stops the countdown and reports whether the fault struck.
func (t *triggerFS) disarm() (fired bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.countdown, t.action = 0, nil
	return t.fired
}

// beforeSync counts an fsync and strikes when the count comes. The FaultFS's own lock is not
// held here, so the fault (a Crash, say) runs before the fsync, which then fails.
func (t *triggerFS) beforeSync() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.countdown <= 0 {
		return
	}
	t.countdown--
	if t.countdown == 0 {
		t.action()
		t.fired, t.action = true, nil
	}
}

func (t *triggerFS) OpenDir(path string) (journal.Dir, error) {
	d, err := t.fs.OpenDir(path)
	if err != nil {
		return nil, err
	}
	return &triggerDir{Dir: d, t: t}, nil
}

type triggerDir struct {
	journal.Dir
	t *triggerFS
}

func (d *triggerDir) wrap(f journal.File, err error) (journal.File, error) {
	if err != nil {
		return nil, err
	}
	return &triggerFile{File: f, t: d.t}, nil
}

func (d *triggerDir) Create(name string) (journal.File, error) { return d.wrap(d.Dir.Create(name)) }
func (d *triggerDir) Open(name string) (journal.File, error)   { return d.wrap(d.Dir.Open(name)) }
func (d *triggerDir) OpenAppend(name string) (journal.File, error) {
	return d.wrap(d.Dir.OpenAppend(name))
}

func (d *triggerDir) SyncDir(name string) error {
	d.t.beforeSync()
	return d.Dir.SyncDir(name)
}

type triggerFile struct {
	journal.File
	t *triggerFS
}

func (f *triggerFile) Sync() error {
	f.t.beforeSync()
	return f.File.Sync()
}
