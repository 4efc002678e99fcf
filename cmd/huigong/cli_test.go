package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"huigong/api"
	"huigong/mall"
)

// demoDir writes a small demo's files (no engine): dev key, demo.json and merchant keys.
func demoDir(t *testing.T) (string, *mall.DemoData, ed25519.PublicKey) {
	t.Helper()
	dir := t.TempDir()
	key, err := ensureDevKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := mall.Demo{Seed: 5, NowNanos: time.Now().UnixNano(), Unions: 3, Members: 40, Merchants: 2, SKUs: 20}.Plan()
	if err := writeDemoData(dir, data); err != nil {
		t.Fatal(err)
	}
	keys, err := mall.LoadMerchantKeys(filepath.Join(dir, merchantsFileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range data.Merchants {
		if err := keys.Put(mall.MerchantKey{KeyID: m.KeyID, MerchantID: m.ID, Secret: "secret-of-" + m.KeyID}); err != nil {
			t.Fatal(err)
		}
	}
	return dir, data, key.Public().(ed25519.PublicKey)
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, envMap(nil), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestTokenCommand(t *testing.T) {
	dir, data, pub := demoDir(t)
	verifier := api.NewVerifier(map[string]ed25519.PublicKey{devKeyID: pub}, nil, time.Now)
	first := data.Unions[len(data.Unions)-1] // a grassroots union
	point := data.PickupPoints[0]
	tests := []struct {
		name   string
		args   []string
		role   api.Role
		sub    uint64
		union  uint64
		point  uint64
		stderr string
	}{
		{"member", []string{"--member", strconv.FormatUint(first.FirstMember, 10)}, api.RoleMember, first.FirstMember, first.ID, 0, ""},
		{"officer", []string{"--officer", strconv.FormatUint(first.ID, 10)}, api.RoleOfficer, first.Officers[0], first.ID, 0, "officer " + strconv.FormatUint(first.Officers[0], 10)},
		{"second officer", []string{"--officer", strconv.FormatUint(first.ID, 10), "--second"}, api.RoleOfficer, first.Officers[1], first.ID, 0, "officer " + strconv.FormatUint(first.Officers[1], 10)},
		{"keeper", []string{"--keeper", strconv.FormatUint(point.ID, 10)}, api.RoleKeeper, point.Keepers[0], 0, point.ID, "keeper"},
		{"federation", []string{"--federation"}, api.RoleFederation, data.FederationOfficers[0], 0, 0, "federation officer"},
		{"module", []string{"--module"}, api.RoleModule, 1, 0, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(append([]string{"token", "--data", dir}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			c, err := verifier.Verify(strings.TrimSpace(out))
			if err != nil {
				t.Fatalf("the token does not verify: %v", err)
			}
			if c.Role != tt.role || c.SubjectID() != tt.sub || c.Union != tt.union || c.Point != tt.point {
				t.Errorf("claims %+v, want role %s subject %d union %d point %d", c, tt.role, tt.sub, tt.union, tt.point)
			}
			if left := time.Until(c.ExpiresAt.Time); left < 11*time.Hour || left > 13*time.Hour {
				t.Errorf("expires in %v, want 12h", left)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q does not say %q", errOut, tt.stderr)
			}
		})
	}
	for name, args := range map[string][]string{
		"no role":           {},
		"two roles":         {"--member", "1000001", "--federation"},
		"second alone":      {"--second", "--federation"},
		"unknown member":    {"--member", "42"},
		"unknown union":     {"--officer", "42"},
		"unknown point":     {"--keeper", "42"},
		"extra argument":    {"--federation", "x"},
		"ttl out of bounds": {"--federation", "--ttl", "9000h"},
	} {
		if code, out, _ := runCLI(append([]string{"token", "--data", dir}, args...)...); code == 0 || out != "" {
			t.Errorf("%s: exit %d, stdout %q", name, code, out)
		}
	}
	// A data directory with a dev key but no demo data only mints module tokens.
	bare := t.TempDir()
	if _, err := ensureDevKey(bare); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI("token", "--data", bare, "--member", "1000001"); code != 1 || !strings.Contains(errOut, "no demo data") {
		t.Errorf("no demo data: exit %d, %s", code, errOut)
	}
}

func TestSignCommand(t *testing.T) {
	code, out, errOut := runCLI("sign", "--key-id", "merchant-01", "--secret", "s3cret", "post", "/api/v1/partner/skus/7?x=1", `{"a":1}`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	h := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		inner, ok := strings.CutPrefix(line, "-H '")
		inner, ok2 := strings.CutSuffix(inner, "'")
		name, value, ok3 := strings.Cut(inner, ": ")
		if !ok || !ok2 || !ok3 {
			t.Fatalf("line %q is not -H 'Name: value'", line)
		}
		h[name] = value
	}
	if h[api.HeaderKeyID] != "merchant-01" || len(h[api.HeaderNonce]) != 32 {
		t.Errorf("headers %v", h)
	}
	ts, _ := strconv.ParseInt(h[api.HeaderTimestamp], 10, 64)
	if d := time.Since(time.Unix(ts, 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("timestamp %d is not now", ts)
	}
	// The signature is the server's: method upper-cased, the path without its query.
	if want := api.Sign([]byte("s3cret"), "POST", "/api/v1/partner/skus/7", h[api.HeaderTimestamp], h[api.HeaderNonce], []byte(`{"a":1}`)); h[api.HeaderSignature] != want {
		t.Errorf("signature %s, want %s", h[api.HeaderSignature], want)
	}

	// --headers prints plain lines; @FILE reads the body.
	body := filepath.Join(t.TempDir(), "body.json")
	os.WriteFile(body, []byte(`{"b":2}`), 0o644)
	code, out, _ = runCLI("sign", "--key-id", "k", "--secret", "s", "--headers", "PUT", "/p", "@"+body)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], api.HeaderKeyID+": k") {
		t.Fatalf("--headers: exit %d, %q", code, out)
	}
	vals := map[string]string{}
	for _, l := range lines {
		n, v, _ := strings.Cut(l, ": ")
		vals[n] = v
	}
	if want := api.Sign([]byte("s"), "PUT", "/p", vals[api.HeaderTimestamp], vals[api.HeaderNonce], []byte(`{"b":2}`)); vals[api.HeaderSignature] != want {
		t.Error("the signature of an @FILE body is not over the file's bytes")
	}

	for name, args := range map[string][]string{
		"no key":       {"--secret", "s", "GET", "/p"},
		"no secret":    {"--key-id", "k", "GET", "/p"},
		"no path":      {"--key-id", "k", "--secret", "s", "GET"},
		"relative":     {"--key-id", "k", "--secret", "s", "GET", "http://x/p"},
		"too many":     {"--key-id", "k", "--secret", "s", "GET", "/p", "b", "c"},
		"missing file": {"--key-id", "k", "--secret", "s", "POST", "/p", "@/no/such/file"},
	} {
		if code, out, _ := runCLI(append([]string{"sign"}, args...)...); code == 0 || out != "" {
			t.Errorf("%s: exit %d, stdout %q", name, code, out)
		}
	}
}

func TestDemoCommand(t *testing.T) {
	dir, data, _ := demoDir(t)
	code, out, errOut := runCLI("demo", "members", "--data", dir)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 40 {
		t.Fatalf("demo members: exit %d, %d lines, %s", code, len(lines), errOut)
	}
	statuses := map[string]int{}
	for _, l := range lines {
		f := strings.Fields(l)
		m, _ := strconv.ParseUint(f[0], 10, 64)
		u, _ := strconv.ParseUint(f[1], 10, 64)
		want, ok := data.Member(m)
		if len(f) != 3 || !ok || want.Union != u {
			t.Fatalf("line %q; the data says %+v", l, want)
		}
		statuses[f[2]]++
	}
	if statuses["eligible"] != 40-len(data.NotEligible) {
		t.Errorf("statuses %v, %d not eligible", statuses, len(data.NotEligible))
	}

	code, out, _ = runCLI("demo", "merchants", "--data", dir)
	if code != 0 || !strings.HasPrefix(out, "1 merchant-01 secret-of-merchant-01 ") || strings.Count(out, "\n") != 2 {
		t.Errorf("demo merchants: exit %d, %q", code, out)
	}
	code, out, _ = runCLI("demo", "skus", "--data", dir)
	if code != 0 || strings.Count(out, "\n") != 20 || strings.Count(out, " flash_sale ") != len(data.FlashSaleSKUs) {
		t.Errorf("demo skus: exit %d, %q", code, out)
	}
	code, out, _ = runCLI("demo", "points", "--data", dir)
	if code != 0 || strings.Count(out, "\n") != len(data.PickupPoints) {
		t.Errorf("demo points: exit %d, %q", code, out)
	}
	for name, args := range map[string][]string{
		"nothing":       {"demo"},
		"unknown":       {"demo", "unions", "--data", dir},
		"extra":         {"demo", "members", "--data", dir, "x"},
		"not a demo":    {"demo", "members", "--data", t.TempDir()},
		"unknown flags": {"demo", "members", "--nope"},
	} {
		if code, out, _ := runCLI(args...); code == 0 || out != "" {
			t.Errorf("%s: exit %d, stdout %q", name, code, out)
		}
	}
}

func TestFieldCommand(t *testing.T) {
	doc := `{"items":[{"sku_id":10001,"name":"rice","price":"49.20","ok":true,"tags":["a"]}],"n":1e3,"next_cursor":""}`
	tests := []struct {
		path, want string
		code       int
	}{
		{"items.0.sku_id", "10001\n", 0},
		{"items.0.name", "rice\n", 0},
		{"items.0.price", "49.20\n", 0},
		{"items.0.ok", "true\n", 0},
		{"items.0.tags", `["a"]` + "\n", 0},
		{"n", "1e3\n", 0},
		{"next_cursor", "\n", 0},
		{"items.1.sku_id", "", 1},
		{"items.x", "", 1},
		{"missing", "", 1},
		{"items.0.name.deeper", "", 1},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := exitCode(runField([]string{tt.path}, strings.NewReader(doc), &out, &errOut), "huigong field", &errOut)
		if code != tt.code || out.String() != tt.want {
			t.Errorf("field %s: exit %d, %q (%s); want exit %d, %q", tt.path, code, out.String(), errOut.String(), tt.code, tt.want)
		}
	}
	var out bytes.Buffer
	if code := exitCode(runField([]string{"a"}, strings.NewReader("not json"), &out, &out), "f", &out); code != 1 {
		t.Errorf("not JSON: exit %d", code)
	}
	if code := exitCode(runField(nil, strings.NewReader("{}"), &out, &out), "f", &out); code != 2 {
		t.Errorf("no path: exit %d", code)
	}
}

// The shard count is fixed at the first start and a different one refused later; a journal
// without engine.json is refused rather than guessed.
func TestResolveShards(t *testing.T) {
	dir := t.TempDir()
	ef, err := resolveShards(dir, 0)
	if err != nil || ef.Shards != defaultShardsCount {
		t.Fatalf("first start: %+v %v", ef, err)
	}
	ef, err = resolveShards(dir, 8)
	if err != nil || ef.Shards != 8 {
		t.Fatalf("first start with --shards 8: %+v %v", ef, err)
	}
	if err := writeEngineFile(dir, ef); err != nil {
		t.Fatal(err)
	}
	if ef, err := resolveShards(dir, 0); err != nil || ef.Shards != 8 {
		t.Errorf("restart without --shards: %+v %v", ef, err)
	}
	if ef, err := resolveShards(dir, 8); err != nil || ef.Shards != 8 {
		t.Errorf("restart with the same --shards: %+v %v", ef, err)
	}
	if _, err := resolveShards(dir, 16); err == nil || !strings.Contains(err.Error(), "created with 8 shards") {
		t.Errorf("restart with --shards 16: %v", err)
	}
	orphan := t.TempDir()
	os.MkdirAll(filepath.Join(orphan, journalDirName), 0o755)
	os.WriteFile(filepath.Join(orphan, journalDirName, "00000000000000000001.wal"), []byte("x"), 0o644)
	if _, err := resolveShards(orphan, 0); err == nil {
		t.Error("a journal without engine.json was accepted")
	}
}
