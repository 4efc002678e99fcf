package journal

// FS is the small filesystem the file journal runs on, so that the same code runs over the real
// OS (OSFS) and over a fault-injecting in-memory one (FaultFS).
type FS interface {
	// OpenDir opens the directory at path, creating it (and making it durable) if it is missing.
	// The journal does every later operation through the returned Dir, the way a process holds
	// a directory descriptor; a FaultFS uses this to fence a crashed journal off the new state.
	OpenDir(path string) (Dir, error)
}

// Dir is an open directory. Names are slash-separated and relative to it ("archive/x.wal").
type Dir interface {
	// Create makes a new, empty file for appending; it fails if the name exists. The new entry
	// is durable only after SyncDir of its directory.
	Create(name string) (File, error)
	// Open opens an existing file for reading.
	Open(name string) (File, error)
	// OpenAppend opens an existing file for reading and appending.
	OpenAppend(name string) (File, error)
	// Rename moves a file, replacing any file at newName. Durable after SyncDir of both
	// directories.
	Rename(oldName, newName string) error
	// Remove deletes a file; durable after SyncDir. The journal never removes a segment
	// (Archive-not-delete); other stores on the same FS, such as snapshots, do.
	Remove(name string) error
	// List returns the names in the subdirectory name ("." for this directory), sorted. It
	// fails with an error matching fs.ErrNotExist when the subdirectory is missing.
	List(name string) ([]string, error)
	// Mkdir creates a subdirectory; it succeeds if it already exists.
	Mkdir(name string) error
	// SyncDir makes the entries of the subdirectory name ("." for this directory) durable.
	SyncDir(name string) error
	// Close releases the directory.
	Close() error
}

// File is an open file. Writes always append.
type File interface {
	Write(p []byte) (int, error)
	ReadAt(p []byte, off int64) (int, error)
	// Sync makes the written data durable (fdatasync: the data and the size, not the times).
	Sync() error
	// Truncate cuts (or extends) the file to size bytes; durable after Sync.
	Truncate(size int64) error
	// Size is the current size in bytes.
	Size() (int64, error)
	Close() error
}
