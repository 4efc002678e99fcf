package journal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"path"
	"slices"
	"strings"
	"sync"
)

// ErrCrashed is returned by every handle (Dir or File) of a FaultFS that was opened before the
// last Crash: the process that held it is, in the model, dead.
var ErrCrashed = errors.New("journal: fault filesystem crashed; handle is stale")

// FaultFS is an in-memory FS that loses what a real disk may lose in a crash, for tests.
//
// What it models:
//   - File data: each file has durable bytes (as of its last Sync) and the bytes written or cut
//     since. Crash drops everything not synced; a Truncate below the synced size is undone by
//     a crash unless synced.
//   - Directory entries: a Create, Mkdir, Rename or Remove changes the live namespace at once but
//     survives a crash only after SyncDir of the directory concerned. A new file whose entry was
//     never synced vanishes in a crash even if its data was synced; a Rename synced in only one
//     of its two directories leaves the file in both, or in neither.
//   - Torn writes: CrashTorn keeps a random prefix of the unsynced bytes of the last written
//     file and may flip one byte inside that prefix, as a disk that wrote sectors out of order.
//   - Fencing: Crash makes every Dir and File opened before it fail with ErrCrashed, so a
//     journal that was running cannot write into the state a new journal recovers.
//   - Injected errors: SetSyncError makes Sync and SyncDir fail, to test the sticky failure.
//
// What it does not model: directories made by OpenDir are durable at once; there are no
// permissions, no size limits, no partial Write calls and no reordering of synced data.
//
// All methods are safe for concurrent use. Everything random comes from the seed, so a sequence
// of calls made in the same order gives the same result.
type FaultFS struct {
	mu          sync.Mutex
	random      *rand.Rand
	root        *faultNode
	generation  uint64
	lastWritten *faultNode
	syncErr     error
}

// faultNode is a file or a directory.
type faultNode struct {
	isDir bool

	// Directory: the live entries and the entries as of the last SyncDir.
	entries        map[string]*faultNode
	durableEntries map[string]*faultNode

	// File: data is the live content; data[:syncedBytes] is durable unless truncated is set, in
	// which case a Truncate cut into synced bytes and durable holds the whole durable content.
	data        []byte
	syncedBytes int
	truncated   bool
	durable     []byte
}

func newFaultDir() *faultNode {
	return &faultNode{isDir: true, entries: map[string]*faultNode{}, durableEntries: map[string]*faultNode{}}
}

// NewFaultFS returns an empty FaultFS whose random choices come from seed.
func NewFaultFS(seed int64) *FaultFS {
	return &FaultFS{
		random: rand.New(rand.NewPCG(uint64(seed), 0x6875_6967_6f6e_67)),
		root:   newFaultDir(),
	}
}

// OpenDir opens (and creates, durably) the directory at path.
func (f *FaultFS) OpenDir(dirPath string) (Dir, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	node := f.root
	for _, part := range splitPath(dirPath) {
		child, ok := node.entries[part]
		if !ok {
			child = newFaultDir()
			node.entries[part] = child
			node.durableEntries[part] = child
		} else if !child.isDir {
			return nil, fmt.Errorf("journal: open directory %s: not a directory", part)
		}
		node = child
	}
	return &faultDir{fs: f, node: node, generation: f.generation}, nil
}

// SetSyncError makes every later Sync and SyncDir fail with err (nil restores them).
func (f *FaultFS) SetSyncError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncErr = err
}

// Crash drops everything not durable and fences off every handle opened before it.
func (f *FaultFS) Crash() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.crashLocked()
}

// TornWrite says what CrashTorn did to the last written file.
type TornWrite struct {
	UnsyncedBytes int  // bytes written but not synced when the crash came
	KeptBytes     int  // how many of them were kept
	FlippedOffset int  // offset in the file of the flipped byte, -1 if none
	Flipped       bool // whether a byte was flipped
}

// CrashTorn crashes like Crash, except that the last written file keeps a random prefix of its
// unsynced bytes, with one byte of that prefix flipped half of the time.
func (f *FaultFS) CrashTorn() TornWrite {
	f.mu.Lock()
	defer f.mu.Unlock()
	torn := TornWrite{FlippedOffset: -1}
	if n := f.lastWritten; n != nil && !n.truncated {
		torn.UnsyncedBytes = len(n.data) - n.syncedBytes
		torn.KeptBytes = f.random.IntN(torn.UnsyncedBytes + 1)
		n.data = n.data[:n.syncedBytes+torn.KeptBytes]
		if torn.KeptBytes > 0 && f.random.IntN(2) == 0 {
			torn.Flipped = true
			torn.FlippedOffset = n.syncedBytes + f.random.IntN(torn.KeptBytes)
			n.data[torn.FlippedOffset] ^= byte(1 + f.random.IntN(255))
		}
		n.syncedBytes = len(n.data)
	}
	f.crashLocked()
	return torn
}

func (f *FaultFS) crashLocked() {
	f.generation++
	f.lastWritten = nil
	crashNode(f.root)
}

func crashNode(n *faultNode) {
	if !n.isDir {
		if n.truncated {
			n.data = n.durable
		} else {
			n.data = n.data[:n.syncedBytes]
		}
		n.syncedBytes = len(n.data)
		n.truncated = false
		n.durable = nil
		return
	}
	n.entries = maps.Clone(n.durableEntries)
	for _, child := range n.entries {
		crashNode(child)
	}
}

// ReadFile returns a copy of the live content of the file at name, for tests.
func (f *FaultFS) ReadFile(name string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parent, base, err := f.lookupParent(f.root, name)
	if err != nil {
		return nil, err
	}
	n, ok := parent.entries[base]
	if !ok || n.isDir {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(n.data), nil
}

// WriteFile replaces the content of the file at name, durably, for tests that damage a journal.
// The directory holding it must exist.
func (f *FaultFS) WriteFile(name string, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	parent, base, err := f.lookupParent(f.root, name)
	if err != nil {
		return err
	}
	n, ok := parent.entries[base]
	if !ok {
		n = &faultNode{}
		parent.entries[base] = n
		parent.durableEntries[base] = n
	}
	if n.isDir {
		return &fs.PathError{Op: "write", Path: name, Err: errors.New("is a directory")}
	}
	n.data = slices.Clone(data)
	n.syncedBytes = len(n.data)
	n.truncated = false
	n.durable = nil
	return nil
}

func splitPath(p string) []string {
	p = strings.Trim(path.Clean("/"+p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// lookupParent resolves name below dir to its parent directory and base name.
func (f *FaultFS) lookupParent(dir *faultNode, name string) (*faultNode, string, error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return nil, "", &fs.PathError{Op: "lookup", Path: name, Err: fs.ErrInvalid}
	}
	node := dir
	for _, part := range parts[:len(parts)-1] {
		child, ok := node.entries[part]
		if !ok || !child.isDir {
			return nil, "", &fs.PathError{Op: "lookup", Path: name, Err: fs.ErrNotExist}
		}
		node = child
	}
	return node, parts[len(parts)-1], nil
}

// lookupDir resolves name below dir to a directory ("." is dir itself).
func (f *FaultFS) lookupDir(dir *faultNode, name string) (*faultNode, error) {
	node := dir
	for _, part := range splitPath(name) {
		child, ok := node.entries[part]
		if !ok || !child.isDir {
			return nil, &fs.PathError{Op: "lookup", Path: name, Err: fs.ErrNotExist}
		}
		node = child
	}
	return node, nil
}

type faultDir struct {
	fs         *FaultFS
	node       *faultNode
	generation uint64
}

// lock takes the filesystem lock and checks the handle is from the current generation.
func (d *faultDir) lock() error {
	d.fs.mu.Lock()
	if d.generation != d.fs.generation {
		d.fs.mu.Unlock()
		return ErrCrashed
	}
	return nil
}

// lockParent takes the filesystem lock, checks the handle and resolves name to its parent
// directory and base name. On success the caller holds the lock and must unlock.
func (d *faultDir) lockParent(name string) (*faultNode, string, error) {
	if err := d.lock(); err != nil {
		return nil, "", err
	}
	parent, base, err := d.fs.lookupParent(d.node, name)
	if err != nil {
		d.fs.mu.Unlock()
		return nil, "", err
	}
	return parent, base, nil
}

// lockDir is lockParent for a name that must be a directory ("." for this one).
func (d *faultDir) lockDir(name string) (*faultNode, error) {
	if err := d.lock(); err != nil {
		return nil, err
	}
	node, err := d.fs.lookupDir(d.node, name)
	if err != nil {
		d.fs.mu.Unlock()
		return nil, err
	}
	return node, nil
}

func (d *faultDir) openFile(name string, create, writable bool) (File, error) {
	parent, base, err := d.lockParent(name)
	if err != nil {
		return nil, err
	}
	defer d.fs.mu.Unlock()
	n, exists := parent.entries[base]
	switch {
	case create && exists:
		return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrExist}
	case create:
		n = &faultNode{}
		parent.entries[base] = n
	case !exists:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case n.isDir:
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("is a directory")}
	}
	return &faultFile{fs: d.fs, node: n, name: name, writable: writable, generation: d.generation}, nil
}

func (d *faultDir) Create(name string) (File, error)     { return d.openFile(name, true, true) }
func (d *faultDir) Open(name string) (File, error)       { return d.openFile(name, false, false) }
func (d *faultDir) OpenAppend(name string) (File, error) { return d.openFile(name, false, true) }

func (d *faultDir) Rename(oldName, newName string) error {
	oldParent, oldBase, err := d.lockParent(oldName)
	if err != nil {
		return err
	}
	defer d.fs.mu.Unlock()
	newParent, newBase, err := d.fs.lookupParent(d.node, newName)
	if err != nil {
		return err
	}
	n, ok := oldParent.entries[oldBase]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldName, Err: fs.ErrNotExist}
	}
	if existing, ok := newParent.entries[newBase]; ok && existing.isDir {
		return &fs.PathError{Op: "rename", Path: newName, Err: fs.ErrExist}
	}
	delete(oldParent.entries, oldBase)
	newParent.entries[newBase] = n
	return nil
}

func (d *faultDir) Remove(name string) error {
	parent, base, err := d.lockParent(name)
	if err != nil {
		return err
	}
	defer d.fs.mu.Unlock()
	if _, ok := parent.entries[base]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(parent.entries, base)
	return nil
}

func (d *faultDir) List(name string) ([]string, error) {
	node, err := d.lockDir(name)
	if err != nil {
		return nil, err
	}
	defer d.fs.mu.Unlock()
	return slices.Sorted(maps.Keys(node.entries)), nil
}

func (d *faultDir) Mkdir(name string) error {
	parent, base, err := d.lockParent(name)
	if err != nil {
		return err
	}
	defer d.fs.mu.Unlock()
	if existing, ok := parent.entries[base]; ok {
		if existing.isDir {
			return nil
		}
		return &fs.PathError{Op: "mkdir", Path: name, Err: fs.ErrExist}
	}
	parent.entries[base] = newFaultDir()
	return nil
}

func (d *faultDir) SyncDir(name string) error {
	node, err := d.lockDir(name)
	if err != nil {
		return err
	}
	defer d.fs.mu.Unlock()
	if d.fs.syncErr != nil {
		return d.fs.syncErr
	}
	node.durableEntries = maps.Clone(node.entries)
	return nil
}

func (d *faultDir) Close() error { return nil }

type faultFile struct {
	fs         *FaultFS
	node       *faultNode
	name       string
	writable   bool
	closed     bool
	generation uint64
}

// lock takes the filesystem lock and checks the handle is open and of the current generation.
func (h *faultFile) lock() error {
	h.fs.mu.Lock()
	switch {
	case h.generation != h.fs.generation:
		h.fs.mu.Unlock()
		return ErrCrashed
	case h.closed:
		h.fs.mu.Unlock()
		return fs.ErrClosed
	}
	return nil
}

func (h *faultFile) Write(p []byte) (int, error) {
	if err := h.lock(); err != nil {
		return 0, err
	}
	defer h.fs.mu.Unlock()
	if !h.writable {
		return 0, &fs.PathError{Op: "write", Path: h.name, Err: fs.ErrPermission}
	}
	h.node.data = append(h.node.data, p...)
	h.fs.lastWritten = h.node
	return len(p), nil
}

func (h *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if err := h.lock(); err != nil {
		return 0, err
	}
	defer h.fs.mu.Unlock()
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: h.name, Err: fs.ErrInvalid}
	}
	if off >= int64(len(h.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, h.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (h *faultFile) Sync() error {
	if err := h.lock(); err != nil {
		return err
	}
	defer h.fs.mu.Unlock()
	if h.fs.syncErr != nil {
		return h.fs.syncErr
	}
	n := h.node
	n.syncedBytes = len(n.data)
	n.truncated = false
	n.durable = nil
	return nil
}

func (h *faultFile) Truncate(size int64) error {
	if err := h.lock(); err != nil {
		return err
	}
	defer h.fs.mu.Unlock()
	if !h.writable || size < 0 {
		return &fs.PathError{Op: "truncate", Path: h.name, Err: fs.ErrInvalid}
	}
	n := h.node
	if int(size) < n.syncedBytes && !n.truncated {
		n.durable = slices.Clone(n.data[:n.syncedBytes])
		n.truncated = true
	}
	if int(size) <= len(n.data) {
		n.data = n.data[:size]
	} else {
		n.data = append(n.data, make([]byte, int(size)-len(n.data))...)
	}
	n.syncedBytes = min(n.syncedBytes, len(n.data))
	return nil
}

func (h *faultFile) Size() (int64, error) {
	if err := h.lock(); err != nil {
		return 0, err
	}
	defer h.fs.mu.Unlock()
	return int64(len(h.node.data)), nil
}

func (h *faultFile) Close() error {
	h.fs.mu.Lock()
	defer h.fs.mu.Unlock()
	h.closed = true
	return nil
}
