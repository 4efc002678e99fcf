package mall

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// MerchantKey is a merchant's signing key for the partner API. The secret is a printable string
// (hex) that both sides use as the HMAC key as it is, so a merchant copies it without decoding.
type MerchantKey struct {
	KeyID      string `json:"-"`
	MerchantID uint64 `json:"merchant_id"`
	Secret     string `json:"secret"`
}

// MerchantKeys is the merchants' signing keys by key id, kept in a JSON file of the data
// directory ({"KEY_ID": {"merchant_id": 1, "secret": "..."}}), written with mode 0600 since it
// holds secrets.
type MerchantKeys struct {
	path string

	mu   sync.RWMutex
	keys map[string]MerchantKey
}

// merchantSecretBytes is the entropy of a new secret: 32 bytes, as HMAC-SHA256 keys should be.
const merchantSecretBytes = 32

// LoadMerchantKeys reads the key file at path; a missing file is an empty set of keys.
func LoadMerchantKeys(path string) (*MerchantKeys, error) {
	k := &MerchantKeys{path: path, keys: map[string]MerchantKey{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("merchant keys: %w", err)
	}
	var raw map[string]MerchantKey
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("merchant keys: %s: %w", path, err)
	}
	for id, key := range raw {
		if id == "" || key.MerchantID == 0 || len(key.Secret) < 16 {
			return nil, fmt.Errorf("merchant keys: %s: key %q needs a merchant_id and a secret of at least 16 characters", path, id)
		}
		key.KeyID = id
		k.keys[id] = key
	}
	return k, nil
}

// Lookup returns the key of a key id.
func (k *MerchantKeys) Lookup(keyID string) (MerchantKey, bool) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.keys[keyID]
	return key, ok
}

// Keys lists the keys in key id order.
func (k *MerchantKeys) Keys() []MerchantKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]MerchantKey, 0, len(k.keys))
	for _, key := range k.keys {
		out = append(out, key)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].KeyID < out[j].KeyID })
	return out
}

// Put adds or replaces keys and writes the file (temporary file, fsync, rename), so a crash
// leaves either the old file or the new one.
func (k *MerchantKeys) Put(keys ...MerchantKey) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	next := make(map[string]MerchantKey, len(k.keys)+len(keys))
	for id, key := range k.keys {
		next[id] = key
	}
	for _, key := range keys {
		if key.KeyID == "" || key.MerchantID == 0 || len(key.Secret) < 16 {
			return fmt.Errorf("merchant keys: key %q needs a merchant id and a secret of at least 16 characters", key.KeyID)
		}
		next[key.KeyID] = key
	}
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(k.path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("merchant keys: %w", err)
	}
	k.keys = next
	return nil
}

// NewMerchantSecret returns a fresh random secret.
func NewMerchantSecret() (string, error) {
	b := make([]byte, merchantSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// WriteFileAtomic writes data to path through a temporary file that is synced and renamed,
// then syncs the directory, so the file is either wholly old or wholly new after a crash.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // A no-op once renamed.
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
