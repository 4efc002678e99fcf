package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"huigong/api"
	"huigong/mall"
)

// newFlagSet returns a flag set that reports errors as usage errors, printed by the flag package.
func newFlagSet(name string, stderr io.Writer, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: %s\n\nflags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &exitError{code: 2, err: err, quiet: true}
	}
	return nil
}

// dataFlag is the --data flag of the CLI commands, defaulting like serve's.
func dataFlag(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) *string {
	def := defaultData
	if lookupEnv != nil {
		if v, ok := lookupEnv(envData); ok && v != "" {
			def = v
		}
	}
	return fs.String("data", def, "data directory (env "+envData+")")
}

// devTokenTTL is how long a dev token is valid: a working day of trying the API.
const devTokenTTL = 12 * time.Hour

// runToken is `huigong token`: a dev token for a demo member, officer, keeper, the federation
// or a platform module, signed with the dev key of the data directory.
func runToken(args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := newFlagSet("huigong token", stderr,
		"huigong token [--data DIR] (--member ID | --officer UNION [--second] | --keeper POINT | --federation | --module) [--ttl 12h]")
	data := dataFlag(fs, lookupEnv)
	member := fs.Uint64("member", 0, "a token for this demo member (its union comes from the demo data)")
	officer := fs.Uint64("officer", 0, "a token for the first officer of this union")
	second := fs.Bool("second", false, "with --officer: the union's second officer (maker-checker approvals)")
	keeper := fs.Uint64("keeper", 0, "a token for the keeper of this pickup point")
	federation := fs.Bool("federation", false, "a token for a federation officer")
	module := fs.Bool("module", false, "a token for a platform module (the earning API)")
	ttl := fs.Duration("ttl", devTokenTTL, "how long the token is valid")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf("unexpected arguments: %q", fs.Args())
	}
	chosen := 0
	for _, set := range []bool{*member != 0, *officer != 0, *keeper != 0, *federation, *module} {
		if set {
			chosen++
		}
	}
	if chosen != 1 {
		return usageErrorf("give exactly one of --member, --officer, --keeper, --federation, --module")
	}
	if *second && *officer == 0 {
		return usageErrorf("--second goes with --officer")
	}
	if *ttl <= 0 || *ttl > 30*24*time.Hour {
		return usageErrorf("--ttl %v: want up to 720h", *ttl)
	}
	key, ok, err := mall.LoadDevKey(*data)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s has no dev key (%s): dev tokens exist only for a data directory made by `huigong serve --demo`, and only a --demo server accepts them",
			*data, devKeyFileName)
	}
	claims := api.Claims{}
	if *module {
		claims.Role, claims.Subject = api.RoleModule, "1"
	} else {
		demo, ok, err := mall.ReadDemoData(*data)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s has no demo data (%s): start `huigong serve --demo --data %s` once first", *data, demoFileName, *data)
		}
		switch {
		case *member != 0:
			m, ok := demo.Member(*member)
			if !ok {
				return fmt.Errorf("member %d is not in the demo data (see `huigong demo members`)", *member)
			}
			if !m.Eligible() {
				fmt.Fprintf(stderr, "note: member %d is not eligible (registered %v, dues paid %v): the API will say so\n", m.ID, m.Registered, m.DuesPaid)
			}
			claims.Role, claims.Subject, claims.Union = api.RoleMember, strconv.FormatUint(m.ID, 10), m.Union
		case *officer != 0:
			u, ok := demo.Union(*officer)
			if !ok || len(u.Officers) < 2 {
				return fmt.Errorf("union %d is not in the demo data", *officer)
			}
			id := u.Officers[0]
			if *second {
				id = u.Officers[1]
			}
			fmt.Fprintf(stderr, "officer %d of union %d (%s)\n", id, u.ID, u.Name)
			claims.Role, claims.Subject, claims.Union = api.RoleOfficer, strconv.FormatUint(id, 10), u.ID
		case *keeper != 0:
			p, ok := demo.PickupPoint(*keeper)
			if !ok || len(p.Keepers) == 0 {
				return fmt.Errorf("pickup point %d is not in the demo data", *keeper)
			}
			fmt.Fprintf(stderr, "keeper %d of pickup point %d (%s)\n", p.Keepers[0], p.ID, p.Name)
			claims.Role, claims.Subject, claims.Point = api.RoleKeeper, strconv.FormatUint(p.Keepers[0], 10), p.ID
		case *federation:
			fmt.Fprintf(stderr, "federation officer %d\n", demo.FederationOfficers[0])
			claims.Role, claims.Subject = api.RoleFederation, strconv.FormatUint(demo.FederationOfficers[0], 10)
		}
	}
	claims.RegisteredClaims = jwt.RegisteredClaims{Subject: claims.Subject, Issuer: "huigong-dev"}
	tok, err := api.NewIssuer(devKeyID, key).Sign(claims, time.Now(), *ttl)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// runSign is `huigong sign`: the signature headers of a merchant request, for curl.
func runSign(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("huigong sign", stderr, "huigong sign --key-id K --secret S [--headers] METHOD PATH [BODY | @FILE]")
	keyID := fs.String("key-id", "", "the merchant's key id")
	secret := fs.String("secret", "", "the merchant's secret")
	plain := fs.Bool("headers", false, "print plain \"Name: value\" lines, for curl -H @-")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *keyID == "" || *secret == "" {
		return usageErrorf("--key-id and --secret are required")
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		return usageErrorf("want METHOD PATH [BODY], got %q", fs.Args())
	}
	method, path := strings.ToUpper(fs.Arg(0)), fs.Arg(1)
	if !strings.HasPrefix(path, "/") {
		return usageErrorf("PATH %q must start with / (the path only, no scheme or host)", path)
	}
	// The signature covers the path without its query, as the server sees it.
	path, _, _ = strings.Cut(path, "?")
	var body []byte
	if fs.NArg() == 3 {
		body = []byte(fs.Arg(2))
		if name, ok := strings.CutPrefix(fs.Arg(2), "@"); ok {
			b, err := os.ReadFile(name)
			if err != nil {
				return err
			}
			body = b
		}
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	n := hex.EncodeToString(nonce)
	headers := [][2]string{
		{api.HeaderKeyID, *keyID}, {api.HeaderTimestamp, ts}, {api.HeaderNonce, n},
		{api.HeaderSignature, api.Sign([]byte(*secret), method, path, ts, n, body)},
	}
	for _, h := range headers {
		if *plain {
			fmt.Fprintf(stdout, "%s: %s\n", h[0], h[1])
		} else {
			fmt.Fprintf(stdout, "-H '%s: %s'\n", h[0], h[1])
		}
	}
	return nil
}

// runDemo is `huigong demo members|merchants|skus|points`: what the demo created.
func runDemo(args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) error {
	const usage = "huigong demo (members | merchants | skus | points) [--data DIR]"
	if len(args) == 0 {
		return usageErrorf("usage: %s", usage)
	}
	what := args[0]
	fs := newFlagSet("huigong demo "+what, stderr, usage)
	data := dataFlag(fs, lookupEnv)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf("unexpected arguments: %q", fs.Args())
	}
	switch what {
	case "members", "merchants", "skus", "points":
	default:
		return usageErrorf("unknown demo listing %q; usage: %s", what, usage)
	}
	demo, ok, err := mall.ReadDemoData(*data)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s has no demo data (%s): start `huigong serve --demo --data %s` once first", *data, demoFileName, *data)
	}
	var out bytes.Buffer
	switch what {
	case "members":
		// MEMBER UNION STATUS, one per line, for scripts (the load test reads it).
		for _, m := range demo.Members() {
			status := "eligible"
			switch {
			case !m.Registered:
				status = "not_registered"
			case !m.DuesPaid:
				status = "dues_unpaid"
			}
			fmt.Fprintf(&out, "%d %d %s\n", m.ID, m.Union, status)
		}
	case "merchants":
		keys, err := mall.LoadMerchantKeys(filepath.Join(*data, merchantsFileName))
		if err != nil {
			return err
		}
		for _, m := range demo.Merchants {
			k, _ := keys.Lookup(m.KeyID)
			fmt.Fprintf(&out, "%d %s %s %s\n", m.ID, m.KeyID, k.Secret, m.Name)
		}
	case "skus":
		for _, s := range demo.SKUs {
			kind := "regular"
			if s.FlashSale {
				kind = "flash_sale"
			}
			fmt.Fprintf(&out, "%d %s %s %d %s %s\n", s.ID, mall.FormatYuan(s.PriceFen), s.Category, s.Merchant, kind, s.Name)
		}
	case "points":
		for _, p := range demo.PickupPoints {
			unions := make([]string, len(p.Unions))
			for i, u := range p.Unions {
				unions[i] = strconv.FormatUint(u, 10)
			}
			fmt.Fprintf(&out, "%d %d %s %s\n", p.ID, p.Keepers[0], strings.Join(unions, ","), p.Name)
		}
	}
	_, err = stdout.Write(out.Bytes())
	return err
}

// runField is `huigong field PATH`: one value of the JSON document on stdin, so shell scripts
// need no jq. PATH is dot-separated keys and array indexes (items.0.sku_id). Strings print
// bare, numbers as written, objects and arrays as JSON.
func runField(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] == "" || strings.HasPrefix(args[0], "-") {
		return usageErrorf("usage: huigong field PATH < document.json (PATH like items.0.sku_id)")
	}
	dec := json.NewDecoder(stdin)
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("stdin is not JSON: %w", err)
	}
	for _, part := range strings.Split(args[0], ".") {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[part]
			if !ok {
				return fmt.Errorf("no field %q in %s", part, abbreviate(x))
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return fmt.Errorf("no index %q in an array of %d", part, len(x))
			}
			v = x[i]
		default:
			return fmt.Errorf("%q: %v has no fields", part, v)
		}
	}
	switch x := v.(type) {
	case string:
		fmt.Fprintln(stdout, x)
	case json.Number:
		fmt.Fprintln(stdout, x.String())
	default:
		b, _ := json.Marshal(x)
		fmt.Fprintln(stdout, string(b))
	}
	return nil
}

func abbreviate(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// selfInvocation is how the user ran this binary, for the hints printed at start: `go run
// ./cmd/huigong` when it was built by go run (a temporary executable), else its path.
func selfInvocation() string {
	exe, err := os.Executable()
	if err != nil || strings.Contains(exe, "go-build") || strings.HasSuffix(exe, ".test") {
		return "go run ./cmd/huigong"
	}
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, exe); err == nil && !strings.HasPrefix(rel, "..") {
			return "./" + rel
		}
	}
	return exe
}

// printDemoHints prints, at the start of a demo server, how to get a token and place an order.
func printDemoHints(w io.Writer, demo *mall.DemoData, data, addr string) {
	hg := selfInvocation()
	dataArg := data
	if dataArg != defaultData {
		dataArg = shellQuote(data)
	}
	u := demo.Unions[0]
	for _, x := range demo.Unions {
		if x.Level == "grassroots" {
			u = x
			break
		}
	}
	sku := demo.SKUs[0]
	for _, s := range demo.SKUs {
		if !s.FlashSale && slices.Contains(demo.FestivalProgram.Categories, s.Category) {
			sku = s
			break
		}
	}
	fmt.Fprintf(w, `
Demo data: %d unions, %d members, %d merchants, %d SKUs; program %q, campaign %q.
Try it (the README has the whole walkthrough):

  TOKEN=$(%s token --data %s --member %d)
  curl -s -H "Authorization: Bearer $TOKEN" http://%s/api/v1/me
  curl -s -H "Authorization: Bearer $TOKEN" 'http://%s/api/v1/catalog?limit=3'
  curl -s -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: order-$(date +%%s)" \
    -d '{"pickup_point_id":%d,"lines":[{"sku_id":%d,"quantity":1}]}' http://%s/api/v1/orders

`, len(demo.Unions), len(demo.Members()), len(demo.Merchants), len(demo.SKUs), demo.FestivalProgram.Name, demo.Campaign.Name,
		hg, dataArg, u.FirstMember, addr, addr, u.PickupPoints[0], sku.ID, addr)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(strings.ContainsRune("/.-_:,@%+=", r) || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
