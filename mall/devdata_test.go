package mall

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

func TestDevDataFiles(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := LoadDevKey(dir); ok || err != nil {
		t.Fatalf("no dev key: ok %v, err %v", ok, err)
	}
	if _, ok, err := ReadDemoData(dir); ok || err != nil {
		t.Fatalf("no demo data: ok %v, err %v", ok, err)
	}

	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, DevKeyFileName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	got, ok, err := LoadDevKey(dir)
	if err != nil || !ok || !priv.Equal(got) {
		t.Fatalf("dev key read back: ok %v, err %v", ok, err)
	}

	plan := Demo{Seed: 1, NowNanos: 1_790_000_000_000_000_000, Unions: 3, Members: 40, Merchants: 2, SKUs: 20}.Plan()
	b, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, DemoFileName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	d, ok, err := ReadDemoData(dir)
	if err != nil || !ok || len(d.Members()) != 40 || len(d.FlashSaleSKUs) != len(plan.FlashSaleSKUs) || d.Merchants[0].KeyID != DemoKeyID(1) {
		t.Fatalf("demo data read back: ok %v, err %v", ok, err)
	}

	if err := os.WriteFile(filepath.Join(dir, DevKeyFileName), []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadDevKey(dir); err == nil {
		t.Error("a dev key that is not PEM was read")
	}
	if err := os.WriteFile(filepath.Join(dir, DemoFileName), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadDemoData(dir); err == nil {
		t.Error("malformed demo data was read")
	}
}
