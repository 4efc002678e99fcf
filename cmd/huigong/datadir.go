package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"huigong/mall"
)

// The files of a data directory (README.md describes each).
const (
	journalDirName    = "journal"
	snapshotsDirName  = "snapshots"
	engineFileName    = "engine.json"
	pickupKeyFileName = "pickup.key"
	sessionKeyName    = "session.key"
	devKeyFileName    = mall.DevKeyFileName
	platformKeysName  = "platform-keys.json"
	merchantsFileName = mall.MerchantKeysFileName
	demoFileName      = mall.DemoFileName
	auditFileName     = "audit.jsonl"

	secretFileMode     = 0o600
	publicDataFileMode = 0o644
)

const (
	// devKeyID is the key id of dev tokens; a server without --demo refuses it.
	devKeyID          = mall.DevKeyID
	pickupSecretBytes = 32
	// defaultShardsCount is the shards of a new data directory: enough to use a big machine's
	// cores, few enough that a laptop's journal groups stay full.
	defaultShardsCount = 16
	engineFileFormatV1 = 1
	// demoSeed makes every fresh demo the same, so the README can name its ids.
	demoSeed = 1
	// snapshotEveryBatches snapshots a busy shard after that many journaled batches.
	snapshotEveryBatches = 5000
)

// engineFile is DATA/engine.json: what must not change over the life of a data directory.
type engineFile struct {
	Format int `json:"format"`
	// Shards is the number of shards: unions and SKUs are routed by it, so a journal written
	// with one count cannot be read with another.
	Shards    int    `json:"shards"`
	CreatedAt string `json:"created_at"`
	// DemoNowNanos is the clock the demo's windows were derived from, recorded before the demo
	// is loaded so that a load interrupted by a crash resumes with the same windows.
	DemoNowNanos int64 `json:"demo_now_nanos,omitempty"`
	DemoSeed     int64 `json:"demo_seed,omitempty"`
}

func readEngineFile(dir string) (engineFile, bool, error) {
	var ef engineFile
	data, err := os.ReadFile(filepath.Join(dir, engineFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return ef, false, nil
	}
	if err != nil {
		return ef, false, err
	}
	if err := json.Unmarshal(data, &ef); err != nil {
		return ef, false, fmt.Errorf("%s: %w", engineFileName, err)
	}
	if ef.Shards < 1 {
		return ef, false, fmt.Errorf("%s: shards %d", engineFileName, ef.Shards)
	}
	return ef, true, nil
}

func writeEngineFile(dir string, ef engineFile) error {
	data, err := json.MarshalIndent(ef, "", "  ")
	if err != nil {
		return err
	}
	return mall.WriteFileAtomic(filepath.Join(dir, engineFileName), append(data, '\n'), publicDataFileMode)
}

// resolveShards returns the shard count of the data directory: the one recorded in
// engine.json, or, on first start, the one asked for (default 16), then recorded. A count
// that differs from the recorded one is refused: the journal's unions would be looked for on
// the wrong shards.
func resolveShards(dir string, asked int) (engineFile, error) {
	ef, ok, err := readEngineFile(dir)
	if err != nil {
		return ef, err
	}
	if ok {
		if asked != 0 && asked != ef.Shards {
			return ef, usageErrorf("the data directory %s was created with %d shards; --shards %d would look for unions and SKUs on the wrong shards (start with --shards %d, or without --shards)",
				dir, ef.Shards, asked, ef.Shards)
		}
		return ef, nil
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, journalDirName)); len(entries) > 0 {
		return ef, fmt.Errorf("the data directory %s has a journal but no %s: the shard count it was written with is unknown", dir, engineFileName)
	}
	ef = engineFile{Format: engineFileFormatV1, Shards: asked}
	if ef.Shards == 0 {
		ef.Shards = defaultShardsCount
	}
	return ef, nil
}

// ensureSecret returns the random secret in file name, creating it with n random bytes and mode
// 0600 on first use.
func ensureSecret(path string, n int) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil {
		if len(b) < n {
			return nil, fmt.Errorf("%s holds %d bytes, want %d", path, len(b), n)
		}
		return b, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := mall.WriteFileAtomic(path, b, secretFileMode); err != nil {
		return nil, err
	}
	return b, nil
}

// ensureDevKey returns the dev key, creating it on first use; only a --demo server does that.
func ensureDevKey(dir string) (ed25519.PrivateKey, error) {
	priv, ok, err := mall.LoadDevKey(dir)
	if err != nil || ok {
		return priv, err
	}
	_, priv, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := mall.WriteFileAtomic(filepath.Join(dir, devKeyFileName), data, secretFileMode); err != nil {
		return nil, err
	}
	return priv, nil
}

// loadPlatformKeys reads DATA/platform-keys.json: the single sign-on's Ed25519 public keys,
// {"KID": "BASE64"}. A missing file is no keys.
func loadPlatformKeys(dir string) (map[string]ed25519.PublicKey, error) {
	keys := map[string]ed25519.PublicKey{}
	path := filepath.Join(dir, platformKeysName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return keys, nil
	}
	if err != nil {
		return nil, err
	}
	var raw map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", platformKeysName, err)
	}
	for kid, b64 := range raw {
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%s: key %q is not a base64 Ed25519 public key", platformKeysName, kid)
		}
		keys[kid] = ed25519.PublicKey(b)
	}
	return keys, nil
}

func writeDemoData(dir string, d *mall.DemoData) error {
	data, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		return err
	}
	return mall.WriteFileAtomic(filepath.Join(dir, demoFileName), append(data, '\n'), publicDataFileMode)
}
