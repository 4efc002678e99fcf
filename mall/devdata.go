package mall

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// What a --demo data directory holds for tools outside the server (the load test): the demo's
// plan, its merchants' keys and the dev token key. The names and formats are those of
// cmd/huigong (README.md, "The data directory holds"); these helpers read them the same way
// `huigong token` and `huigong demo` do.
const (
	// DevKeyID is the key id of dev tokens, which only a --demo server accepts.
	DevKeyID = "dev"
	// DevKeyFileName is the dev token key: an Ed25519 private key, PKCS#8 in PEM.
	DevKeyFileName = "dev.key"
	// DemoFileName is what the demo created (DemoData as JSON).
	DemoFileName = "demo.json"
	// MerchantKeysFileName is the merchants' signing keys (LoadMerchantKeys).
	MerchantKeysFileName = "merchants.json"
	// DevTokenIssuer is the issuer claim of dev tokens.
	DevTokenIssuer = "huigong-dev"
)

// LoadDevKey reads the dev token key of a data directory; ok is false when it has none (a
// directory not made with --demo).
func LoadDevKey(dir string) (key ed25519.PrivateKey, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, DevKeyFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, false, fmt.Errorf("%s is not a PEM file", DevKeyFileName)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", DevKeyFileName, err)
	}
	priv, isEd := k.(ed25519.PrivateKey)
	if !isEd {
		return nil, false, fmt.Errorf("%s is not an Ed25519 key", DevKeyFileName)
	}
	return priv, true, nil
}

// ReadDemoData reads demo.json of a data directory; ok is false when there is none.
func ReadDemoData(dir string) (d *DemoData, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, DemoFileName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	d = &DemoData{}
	if err := json.Unmarshal(data, d); err != nil {
		return nil, false, fmt.Errorf("%s: %w", DemoFileName, err)
	}
	return d, true, nil
}
