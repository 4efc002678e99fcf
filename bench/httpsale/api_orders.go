package httpsale

import (
	"encoding/json"
	"fmt"
	"net/http"

	"huigong/bench/workload"
)

// apiAnswer is the part of the API's answer that says how the order ended: an order
// (api.WorkerOrder) with its state, or a problem with its code.
type apiAnswer struct {
	State string `json:"state"`
	Code  string `json:"code"`
}

// classifyAPI reads an answer of POST OrdersPath: 201 with the placed order; 409 sold_out
// (answered at the edge or by the SKU's shard); another 4xx problem from the engine (limit,
// points) is a refusal. Anything else, including 503 order_pending (the outcome not known in
// time) and 429 (rate limited: each member tries once, so it must not happen), is an error.
func classifyAPI(status int, body []byte) (workload.Outcome, error) {
	var a apiAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return workload.Failed, fmt.Errorf("status %d: %s", status, body)
	}
	switch {
	case status == http.StatusCreated && a.State == "placed":
		return workload.Placed, nil
	case a.Code == "sold_out":
		return workload.SoldOut, nil
	case status >= 400 && status < 500 && status != http.StatusTooManyRequests && a.Code != "":
		return workload.Refused, nil
	}
	return workload.Failed, fmt.Errorf("status %d: %s", status, body)
}
