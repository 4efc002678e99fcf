package journal

import "sync"

// SyncTrigger wraps a FaultFS and lets a fault strike at the n-th fsync (of a file or of a
// directory) after it is armed, just before that fsync runs: between the write of a group
// and its fsync, inside a segment rotation, a snapshot save or an archive. A crash there is
// where durability bugs live; a crash at a moment chosen from outside mostly finds the
// journal idle.
type SyncTrigger struct {
	fs *FaultFS

	mu        sync.Mutex
	countdown int    // fsyncs to let through before the fault; armed while positive
	action    func() // the fault
	fired     bool
}

var _ FS = (*SyncTrigger)(nil)

// NewSyncTrigger wraps fs; hand the SyncTrigger to the journal and the snapshot store as their FS.
func NewSyncTrigger(fs *FaultFS) *SyncTrigger { return &SyncTrigger{fs: fs} }

// Arm makes the fault strike just before the n-th fsync from now (n >= 1).
func (t *SyncTrigger) Arm(n int, action func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.countdown, t.action, t.fired = n, action, false
}

// Disarm stops the countdown and reports whether the fault struck.
func (t *SyncTrigger) Disarm() (fired bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.countdown, t.action = 0, nil
	return t.fired
}

// beforeSync counts an fsync and strikes when the count comes. The FaultFS's own lock is not
// held here, so the fault (a Crash, say) runs before the fsync, which then fails.
func (t *SyncTrigger) beforeSync() {
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

func (t *SyncTrigger) OpenDir(path string) (Dir, error) {
	d, err := t.fs.OpenDir(path)
	if err != nil {
		return nil, err
	}
	return &syncTriggerDir{Dir: d, t: t}, nil
}

type syncTriggerDir struct {
	Dir
	t *SyncTrigger
}

func (d *syncTriggerDir) wrap(f File, err error) (File, error) {
	if err != nil {
		return nil, err
	}
	return &syncTriggerFile{File: f, t: d.t}, nil
}

func (d *syncTriggerDir) Create(name string) (File, error) { return d.wrap(d.Dir.Create(name)) }
func (d *syncTriggerDir) Open(name string) (File, error)   { return d.wrap(d.Dir.Open(name)) }
func (d *syncTriggerDir) OpenAppend(name string) (File, error) {
	return d.wrap(d.Dir.OpenAppend(name))
}

func (d *syncTriggerDir) SyncDir(name string) error {
	d.t.beforeSync()
	return d.Dir.SyncDir(name)
}

type syncTriggerFile struct {
	File
	t *SyncTrigger
}

func (f *syncTriggerFile) Sync() error {
	f.t.beforeSync()
	return f.File.Sync()
}
