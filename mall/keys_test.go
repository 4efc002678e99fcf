package mall_test

import (
	"os"
	"path/filepath"
	"testing"

	"huigong/mall"
)

func TestMerchantKeysFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "merchants.json")
	keys, err := mall.LoadMerchantKeys(path)
	if err != nil || len(keys.Keys()) != 0 {
		t.Fatalf("a missing file: %v %v", keys.Keys(), err)
	}
	secret, err := mall.NewMerchantSecret()
	if err != nil || len(secret) != 64 {
		t.Fatalf("secret %q %v", secret, err)
	}
	if other, _ := mall.NewMerchantSecret(); other == secret {
		t.Fatal("two secrets are equal")
	}
	if err := keys.Put(mall.MerchantKey{KeyID: "merchant-02", MerchantID: 2, Secret: secret},
		mall.MerchantKey{KeyID: "merchant-01", MerchantID: 1, Secret: "0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the file holds secrets: mode %v, %v", st.Mode(), err)
	}
	again, err := mall.LoadMerchantKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	got := again.Keys()
	if len(got) != 2 || got[0].KeyID != "merchant-01" || got[1].MerchantID != 2 || got[1].Secret != secret {
		t.Fatalf("reloaded %+v", got)
	}
	if k, ok := again.Lookup("merchant-02"); !ok || k.Secret != secret {
		t.Errorf("lookup: %+v %v", k, ok)
	}
	if _, ok := again.Lookup("merchant-03"); ok {
		t.Error("an unknown key id was found")
	}
	// Bad keys are refused and change nothing.
	for _, bad := range []mall.MerchantKey{{KeyID: "", MerchantID: 1, Secret: secret}, {KeyID: "x", Secret: secret}, {KeyID: "x", MerchantID: 3, Secret: "short"}} {
		if err := again.Put(bad); err == nil {
			t.Errorf("put %+v", bad)
		}
	}
	if len(again.Keys()) != 2 {
		t.Error("a refused put changed the keys")
	}
	for _, content := range []string{"not json", `{"k": {"merchant_id": 0, "secret": "0123456789abcdef"}}`, `{"k": {"merchant_id": 1, "secret": "short"}}`} {
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := mall.LoadMerchantKeys(path); err == nil {
			t.Errorf("loaded %s", content)
		}
	}
}
