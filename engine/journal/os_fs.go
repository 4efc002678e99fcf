package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// OSFS is the real filesystem.
type OSFS struct{}

// OpenDir opens path, creating it if missing and then syncing its parent so the new directory
// itself survives a crash.
func (OSFS) OpenDir(path string) (Dir, error) {
	info, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(path, 0o755); err != nil {
			return nil, fmt.Errorf("journal: create directory: %w", err)
		}
		if err := syncDirPath(filepath.Dir(filepath.Clean(path))); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("journal: open directory: %w", err)
	case !info.IsDir():
		return nil, fmt.Errorf("journal: open directory %s: not a directory", filepath.Base(path))
	}
	return &osDir{root: path}, nil
}

type osDir struct {
	root string
}

func (d *osDir) path(name string) string { return filepath.Join(d.root, filepath.FromSlash(name)) }

func (d *osDir) Create(name string) (File, error) {
	f, err := os.OpenFile(d.path(name), os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f}, nil
}

func (d *osDir) Open(name string) (File, error) {
	f, err := os.Open(d.path(name))
	if err != nil {
		return nil, err
	}
	return &osFile{f: f}, nil
}

func (d *osDir) OpenAppend(name string) (File, error) {
	f, err := os.OpenFile(d.path(name), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f}, nil
}

func (d *osDir) Rename(oldName, newName string) error {
	return os.Rename(d.path(oldName), d.path(newName))
}

func (d *osDir) Remove(name string) error { return os.Remove(d.path(name)) }

func (d *osDir) List(name string) ([]string, error) {
	entries, err := os.ReadDir(d.path(name))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

func (d *osDir) Mkdir(name string) error {
	err := os.Mkdir(d.path(name), 0o755)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	return err
}

func (d *osDir) SyncDir(name string) error { return syncDirPath(d.path(name)) }

func (d *osDir) Close() error { return nil }

func syncDirPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("journal: sync directory: %w", err)
	}
	err = f.Sync()
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("journal: sync directory: %w", err)
	}
	return nil
}

type osFile struct {
	f *os.File
}

func (f *osFile) Write(p []byte) (int, error)             { return f.f.Write(p) }
func (f *osFile) ReadAt(p []byte, off int64) (int, error) { return f.f.ReadAt(p, off) }
func (f *osFile) Sync() error                             { return fdatasync(f.f) }
func (f *osFile) Truncate(size int64) error               { return f.f.Truncate(size) }
func (f *osFile) Close() error                            { return f.f.Close() }

func (f *osFile) Size() (int64, error) {
	info, err := f.f.Stat()
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}
