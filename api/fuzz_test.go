package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"huigong/api"
)

// Fuzz tests of the request decoders: arbitrary bytes as the body of a mutating route, sent
// through the Fiber app by an allowed caller over the fixtures of mxBase. Whatever the body,
// the answer is the route's success or a 4xx problem+json; never a panic, never a 5xx; and
// nothing that is not JSON succeeds.

// fuzzRig is a harness over mxBase, with long-lived tokens: a fuzzing run outlasts the
// harness's hour.
type fuzzRig struct {
	h    *harness
	keys atomic.Uint64
}

func newFuzzRig(f *testing.F) *fuzzRig {
	h := newHarness(f)
	mxBase(h)
	return &fuzzRig{h: h}
}

func (r *fuzzRig) token(role api.Role, subject, union, point uint64) string {
	tok, err := r.h.issuer.Sign(api.Claims{Role: role, Union: union, Point: point, RegisteredClaims: jwtSubject(subject)},
		r.h.wall(), 365*24*time.Hour)
	if err != nil {
		panic(err)
	}
	return tok
}

// send sends body with a fresh Idempotency-Key and headers, and checks the answer.
func (r *fuzzRig) send(t *testing.T, method, path string, body []byte, success int, headers ...string) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "fuzz-"+strconv.FormatUint(r.keys.Add(1), 10))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := r.h.server.App().Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	out, _ := io.ReadAll(resp.Body)
	ct := resp.Header.Get("Content-Type")
	switch {
	case resp.StatusCode == success:
		if ct != "application/json" || !json.Valid(out) {
			t.Fatalf("body %q: success %d with %q %s", body, resp.StatusCode, ct, out)
		}
		// Only JSON is taken (an empty body is no body, where the route allows none).
		if len(body) > 0 && !json.Valid(body) {
			t.Fatalf("body %q is not JSON but was taken: %d %s", body, resp.StatusCode, out)
		}
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		var p api.Problem
		if ct != "application/problem+json" || json.Unmarshal(out, &p) != nil || p.Status != resp.StatusCode || p.Code == "" {
			t.Fatalf("body %q: %d with %q %s", body, resp.StatusCode, ct, out)
		}
	default:
		t.Fatalf("body %q: %d %s", body, resp.StatusCode, out)
	}
}

// fuzzSeeds adds valid bodies, each also with a stray closing bracket after it, and near misses
// to the corpus.
func fuzzSeeds(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s + "]"))
	}
	for _, s := range append(seeds, "", "{}", "null", "[]", `{"`, "\x00", `{"a":1}`) {
		f.Add([]byte(s))
	}
}

func FuzzDecodeOrder(f *testing.F) {
	r := newFuzzRig(f)
	tok := r.token(api.RoleMember, mxMember, mxUnion, 0)
	fuzzSeeds(f,
		`{"pickup_point_id":3,"lines":[{"sku_id":902,"quantity":1}]}`,
		`{"pickup_point_id":3,"cash":"5.00","lines":[{"sku_id":901,"quantity":1},{"sku_id":902,"quantity":2}]}`,
		`{"pickup_point_id":4,"lines":[{"sku_id":902,"quantity":1}]}`,
		`{"pickup_point_id":3,"cash":"1e3","lines":[{"sku_id":902,"quantity":-1}]}`,
		`{"pickup_point_id":9007199254740993,"lines":[{"sku_id":902,"quantity":1.5}]}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		r.send(t, http.MethodPost, "/api/v1/orders", body, http.StatusCreated, "Authorization", "Bearer "+tok)
	})
}

func FuzzDecodeProgram(f *testing.F) {
	r := newFuzzRig(f)
	tok := r.token(api.RoleOfficer, mxOfficer, mxUnion, 0)
	fuzzSeeds(f,
		`{"name":"Spring","category":"festival","amount_per_member":"300.00","valid_from":"2026-02-01","valid_to":"2026-03-01"}`,
		`{"id":77,"name":"Oil","category":"general","amount_per_member":"0","valid_from":"2026-02-01T00:00:00+08:00","valid_to":"2026-02-20",`+
			`"whitelist":{"categories":["oil"],"sku_ids":[901],"merchant_ids":[1]}}`,
		`{"name":"Gift","category":"general","amount_per_member":"50.00","valid_from":"2026-02-01","valid_to":"2026-03-01",`+
			`"gift":{"choose":1,"options":[901,902]}}`,
		`{"name":"","category":"cash","amount_per_member":"-1","valid_from":"2026-03-01","valid_to":"2026-02-01"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		r.send(t, http.MethodPost, fmt.Sprintf("/api/v1/unions/%d/programs", mxUnion), body, http.StatusCreated, "Authorization", "Bearer "+tok)
	})
}

func FuzzDecodeIssue(f *testing.F) {
	r := newFuzzRig(f)
	tok := r.token(api.RoleOfficer, mxOfficer, mxUnion, 0)
	fuzzSeeds(f, `{"members":[101]}`, `{"members":[100,101],"amounts":["1.00","2.50"]}`, `{"members":[101,101]}`,
		`{"members":[0],"amounts":["x"]}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		r.send(t, http.MethodPost, fmt.Sprintf("/api/v1/unions/%d/programs/%d/issue", mxUnion, mxIssue), body, http.StatusOK, "Authorization", "Bearer "+tok)
	})
}

func FuzzDecodeSKU(f *testing.F) {
	r := newFuzzRig(f)
	path := fmt.Sprintf("/api/v1/partner/skus/%d", mxSKU)
	fuzzSeeds(f,
		`{"name":"Rice","category":"food","price":"10.00","listed":true}`,
		`{"name":"Rice","product_id":3,"product_name":"Rice","category":"food","price":"9.90","listed":true,"sale_from":"2026-02-10",`+
			`"sale_to":"2026-02-20T12:00:00+08:00","limit_per_member":2}`,
		`{"name":"a\u0000b","category":"food","price":"1,00","limit_per_member":-1}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		ts := strconv.FormatInt(r.h.wall().Unix(), 10)
		nonce := "fuzz-" + strconv.FormatUint(r.keys.Add(1), 10)
		r.send(t, http.MethodPut, path, body, http.StatusOK, api.HeaderKeyID, "merchant-1", api.HeaderTimestamp, ts, api.HeaderNonce, nonce,
			api.HeaderSignature, api.Sign(r.h.secrets[mxMerchant], http.MethodPut, path, ts, nonce, body))
	})
}

func FuzzDecodeAward(f *testing.F) {
	r := newFuzzRig(f)
	tok := r.token(api.RoleModule, mxModule, 0, 0)
	fuzzSeeds(f,
		`{"union_id":11,"member_id":100,"program_id":60,"activity":"quiz","amount":"1.00"}`,
		`{"union_id":11,"member_id":101,"program_id":60,"activity":"check-in_2","amount":"0.50"}`,
		`{"union_id":12,"member_id":200,"program_id":60,"activity":"Quiz","amount":"99999999999999999999"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		r.send(t, http.MethodPost, "/api/v1/awards", body, http.StatusCreated, "Authorization", "Bearer "+tok)
	})
}
