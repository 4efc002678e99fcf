package api

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"
	"time"

	fastjson "github.com/segmentio/encoding/json"
)

// stdStrict is what decode accepted before the fast path: the standard library's strict decode.
func stdStrict(body []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if dec.Decode(v) != nil {
		return false
	}
	_, err := dec.Token()
	return err == io.EOF
}

// The fast decoder accepts only what the standard library's strict decoder accepts, and
// decodes it to the same value; what it refuses goes to the standard library anyway.
func FuzzDecodeFastAgreesWithStdlib(f *testing.F) {
	for _, s := range []string{
		`{"pickup_point_id": 3, "lines": [{"sku_id": 901, "quantity": 2}]}`,
		`{"pickup_point_id": 3, "cash": "1.50", "lines": [{"sku_id": 901, "quantity": 2}, {"sku_id": 902, "quantity": 1}]}`,
		`{"PICKUP_POINT_ID": 3, "Lines": [{"SKU_ID": 1, "quantity": 1}]}`,
		`{"pickup_point_id": 3, "lines": [{"sku_id": 901, "quantity": 2.5}]}`,
		`{"pickup_point_id": -3}`, `{"pickup_point_id": 1e2}`, `{"pickup_point_id": 18446744073709551616}`,
		`{"pickup_point_id": 3, "extra": 1}`, `{"lines": null}`, `{"cash": null}`, `{"cash": 5}`,
		`{"pickup_point_id": 3} {}`, `{"pickup_point_id": 3}]`, `[1]`, `null`, `"x"`, ``, ` `, `{`,
		`{"pickup_point_id": 3, "pickup_point_id": 4}`, "{\"cash\": \"\xff\"}", `{"cash": "\ud800"}`,
		`{"lines": [{"sku_id": 1, "quantity": 1, "x": 0}]}`, `{"lines": {}}`, `{"lines": [null]}`,
	} {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"caps": {"festival": "1300.00", "birthday": null}}`, `{"caps": {"festival": 5}}`, `{"caps": null}`,
		`{"name": "New Year", "amount": "300.00", "to": null}`, `{"name": null}`, `{"whitelist": {"skus": [1, 2]}}`,
	} {
		f.Add([]byte(s))
	}
	// Every request type of the API, from the route table.
	var types []reflect.Type
	seen := map[reflect.Type]bool{}
	for _, r := range New(Deps{Tokens: NewVerifier(nil, nil, time.Now)}).Routes() {
		if r.Request == nil {
			continue
		}
		if t := reflect.TypeOf(r.Request); !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	if len(types) < 15 {
		f.Fatalf("only %d request types in the route table", len(types))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, typ := range types {
			fast, std := reflect.New(typ).Interface(), reflect.New(typ).Interface()
			fastOK := decodeFast(body, fast)
			stdOK := stdStrict(body, std)
			if fastOK && !stdOK {
				t.Fatalf("%q into %T: the fast path accepts what the standard library refuses", body, fast)
			}
			if fastOK && !reflect.DeepEqual(fast, std) {
				t.Fatalf("%q: fast %+v, standard %+v", body, fast, std)
			}
		}
	})
}

// Answers are encoded by segmentio/encoding/json: byte for byte what encoding/json writes,
// HTML-sensitive characters and line separators included.
func TestEncodeAgreesWithStdlib(t *testing.T) {
	tricky := "<b>&amp;</b> \u2028\u2029 \"quoted\" \\ \x01 粮油 \xff"
	for _, v := range []any{
		WorkerOrder{OrderID: 1<<63 + 1, State: "placed", Reason: tricky, PickupPointID: 3, PickupPointName: tricky,
			Lines: []WorkerOrderLine{{SKUID: 9, Quantity: 2}}},
		Problem{Type: "https://huigong.dev/problems/x", Title: tricky, Status: 409, Code: "sold_out", Detail: tricky, RoomLeft: "1.00"},
		map[string]any{"z": 1, "a": []any{nil, 1.5, "x", true}, "m": map[string]int{"b": 2, "a": 1}},
		SessionResponse{Token: tricky, ExpiresAt: "2026-02-10T10:00:00Z"},
		[]WorkerOrder(nil), WorkerOrderList{},
	} {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fastjson.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%T:\n got %s\nwant %s", v, got, want)
		}
	}
}
