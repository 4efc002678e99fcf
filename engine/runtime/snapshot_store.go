package runtime

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"strings"

	"huigong/engine/journal"
)

// DirSnapshotStore keeps snapshots as files in a directory of a journal.FS, so the same code
// runs on the real disk and on the fault-injecting one. Each file is the snapshot followed by a
// CRC32C of it. A shard keeps its snapshotsKept newest files; Load falls back to an older one
// when the newest does not verify.
type DirSnapshotStore struct {
	dir journal.Dir
}

const (
	snapshotsKept     = 2
	snapshotFileExt   = ".snap"
	snapshotTempExt   = ".tmp"
	snapshotNameShard = "shard-%05d-"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewDirSnapshotStore uses dir, which holds nothing but snapshots.
func NewDirSnapshotStore(dir journal.Dir) *DirSnapshotStore {
	return &DirSnapshotStore{dir: dir}
}

func snapshotName(shard uint32, index uint64) string {
	return fmt.Sprintf(snapshotNameShard+"%020d"+snapshotFileExt, shard, index)
}

// Save writes a temporary file, syncs it, renames it into place and syncs the directory, then
// removes the shard's snapshots older than the kept ones.
func (st *DirSnapshotStore) Save(shard uint32, data []byte) error {
	index := le.Uint64(data[4+1+4:])
	name := snapshotName(shard, index)
	temp := name + snapshotTempExt
	_ = st.dir.Remove(temp) // Left by a crash during an earlier save, if at all.
	f, err := st.dir.Create(temp)
	if err != nil {
		return err
	}
	sum := le.AppendUint32(nil, crc32.Checksum(data, castagnoli))
	_, err = f.Write(data)
	if err == nil {
		_, err = f.Write(sum)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := st.dir.Rename(temp, name); err != nil {
		return err
	}
	if err := st.dir.SyncDir("."); err != nil {
		return err
	}
	names, err := st.shardFiles(shard)
	if err != nil {
		return err
	}
	for i := 0; i+snapshotsKept < len(names); i++ {
		if err := st.dir.Remove(names[i]); err != nil {
			return err
		}
	}
	return nil
}

// Load returns the newest snapshot of the shard that verifies.
func (st *DirSnapshotStore) Load(shard uint32) ([]byte, error) {
	// A Save whose directory fsync failed leaves its file listed but not durable. The runtime
	// recovers from what Load returns and archives the journal it covers, so make the listing
	// durable before trusting it.
	if err := st.dir.SyncDir("."); err != nil {
		return nil, err
	}
	names, err := st.shardFiles(shard)
	if err != nil {
		return nil, err
	}
	for i := len(names) - 1; i >= 0; i-- {
		data, err := readAll(st.dir, names[i])
		if err != nil {
			return nil, err
		}
		if n := len(data) - 4; n >= 0 && crc32.Checksum(data[:n], castagnoli) == le.Uint32(data[n:]) {
			return data[:n], nil
		}
		// A snapshot that does not verify was torn by a crash before its rename was durable
		// or was damaged since; an older one plus more of the journal recovers the same state.
	}
	return nil, nil
}

// shardFiles lists the shard's snapshot files, oldest first (the names sort by index).
func (st *DirSnapshotStore) shardFiles(shard uint32) ([]string, error) {
	all, err := st.dir.List(".")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	prefix := fmt.Sprintf(snapshotNameShard, shard)
	var names []string
	for _, n := range all {
		if strings.HasPrefix(n, prefix) && strings.HasSuffix(n, snapshotFileExt) {
			names = append(names, n)
		}
	}
	return names, nil
}

func readAll(dir journal.Dir, name string) ([]byte, error) {
	f, err := dir.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil && size > 0 {
		return nil, err
	}
	return data, nil
}
