package festival

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"huigong/api"
)

// Client speaks huigong's HTTP API.
type Client struct {
	base    string
	hc      *http.Client
	timeout time.Duration // per attempt
}

// NewClient returns a client for the API at base (http://127.0.0.1:8080) that keeps up to
// conns connections and gives each attempt timeout.
func NewClient(base string, conns int, timeout time.Duration) *Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &Client{base: strings.TrimRight(base, "/"), hc: &http.Client{Transport: tr}, timeout: timeout}
}

// Close drops the idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Answer is the outcome of one HTTP attempt.
type Answer struct {
	Status int
	Code   string // the problem's code, for a problem+json answer
	Body   []byte
	Err    error // a transport error or timeout; Status is 0
}

// TimedOut reports whether the attempt timed out.
func (a Answer) TimedOut() bool {
	var ne net.Error
	return a.Err != nil && (errors.Is(a.Err, context.DeadlineExceeded) || (errors.As(a.Err, &ne) && ne.Timeout()))
}

// do sends one request and reads the whole answer.
func (c *Client) do(ctx context.Context, method, pathAndQuery string, header http.Header, body []byte) Answer {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+pathAndQuery, rd)
	if err != nil {
		return Answer{Err: err}
	}
	req.Header = header
	resp, err := c.hc.Do(req)
	if err != nil {
		return Answer{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Answer{Err: err}
	}
	a := Answer{Status: resp.StatusCode, Body: b}
	if resp.StatusCode >= 400 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(b, &p)
		a.Code = p.Code
	}
	return a
}

// Get sends a member's GET.
func (c *Client) Get(ctx context.Context, auth, pathAndQuery string) Answer {
	return c.do(ctx, http.MethodGet, pathAndQuery, http.Header{"Authorization": {auth}}, nil)
}

// OrderBody is the JSON body of a one-line order.
func OrderBody(point, sku uint64, qty int64) []byte {
	return []byte(`{"pickup_point_id":` + strconv.FormatUint(point, 10) + `,"lines":[{"sku_id":` +
		strconv.FormatUint(sku, 10) + `,"quantity":` + strconv.FormatInt(qty, 10) + `}]}`)
}

// PostOrder sends a checkout with its Idempotency-Key.
func (c *Client) PostOrder(ctx context.Context, auth, key string, body []byte) Answer {
	return c.do(ctx, http.MethodPost, "/api/v1/orders", http.Header{
		"Authorization": {auth}, "Content-Type": {"application/json"}, "Idempotency-Key": {key},
	}, body)
}

// PartnerGet sends a merchant's signed GET; the signature covers the path without its query.
func (c *Client) PartnerGet(ctx context.Context, m Merchant, pathAndQuery string) Answer {
	path, _, _ := strings.Cut(pathAndQuery, "?")
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	n := hex.EncodeToString(nonce)
	return c.do(ctx, http.MethodGet, pathAndQuery, http.Header{
		api.HeaderKeyID: {m.KeyID}, api.HeaderTimestamp: {ts}, api.HeaderNonce: {n},
		api.HeaderSignature: {api.Sign([]byte(m.Secret), http.MethodGet, path, ts, n, nil)},
	}, nil)
}

// answerError describes an unexpected answer.
func answerError(what string, a Answer) error {
	if a.Err != nil {
		return fmt.Errorf("%s: %w", what, a.Err)
	}
	body := a.Body
	if len(body) > 300 {
		body = body[:300]
	}
	return fmt.Errorf("%s: HTTP %d: %s", what, a.Status, body)
}

// orderJSON is an order in the API's answers (api.WorkerOrder), the fields the checks need.
type orderJSON struct {
	OrderID uint64 `json:"order_id"`
	State   string `json:"state"`
	Lines   []Line `json:"lines"`
	Holds   []struct {
		Kind   string `json:"kind"`
		Amount string `json:"amount"`
	} `json:"holds"`
}

func (o *orderJSON) order() (Order, error) {
	out := Order{ID: o.OrderID, State: o.State, Lines: o.Lines}
	for _, h := range o.Holds {
		if h.Kind != "points" {
			continue
		}
		fen, err := parseYuan(h.Amount)
		if err != nil {
			return out, fmt.Errorf("order %d: hold %q: %w", o.OrderID, h.Amount, err)
		}
		out.PointsFen += fen
	}
	return out, nil
}

// parseOrder reads an order from a 201 answer.
func parseOrder(body []byte) (Order, error) {
	var o orderJSON
	if err := json.Unmarshal(body, &o); err != nil {
		return Order{}, err
	}
	if o.OrderID == 0 {
		return Order{}, errors.New("no order_id")
	}
	return o.order()
}

// Me reads a member's points available, over all its programs.
func (c *Client) Me(ctx context.Context, m *Member) (int64, error) {
	a := c.Get(ctx, m.Auth, "/api/v1/me")
	if a.Status != http.StatusOK {
		return 0, answerError(fmt.Sprintf("GET /api/v1/me of member %d", m.ID), a)
	}
	var me struct {
		MemberID uint64 `json:"member_id"`
		Balances []struct {
			Available string `json:"available"`
		} `json:"balances"`
	}
	if err := json.Unmarshal(a.Body, &me); err != nil {
		return 0, fmt.Errorf("GET /api/v1/me of member %d: %w", m.ID, err)
	}
	if me.MemberID != m.ID {
		return 0, fmt.Errorf("GET /api/v1/me of member %d answered member %d", m.ID, me.MemberID)
	}
	var total int64
	for _, b := range me.Balances {
		fen, err := parseYuan(b.Available)
		if err != nil {
			return 0, fmt.Errorf("GET /api/v1/me of member %d: %w", m.ID, err)
		}
		total += fen
	}
	return total, nil
}

// Orders reads all of a member's orders, every page.
func (c *Client) Orders(ctx context.Context, m *Member) ([]Order, error) {
	var out []Order
	cursor := ""
	for page := 0; ; page++ {
		q := "/api/v1/orders?limit=100"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		a := c.Get(ctx, m.Auth, q)
		if a.Status != http.StatusOK {
			return nil, answerError(fmt.Sprintf("GET /api/v1/orders of member %d", m.ID), a)
		}
		var list struct {
			Orders     []orderJSON `json:"orders"`
			NextCursor string      `json:"next_cursor"`
		}
		if err := json.Unmarshal(a.Body, &list); err != nil {
			return nil, fmt.Errorf("GET /api/v1/orders of member %d: %w", m.ID, err)
		}
		for i := range list.Orders {
			o, err := list.Orders[i].order()
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
		if list.NextCursor == "" || page > 1000 {
			return out, nil
		}
		cursor = list.NextCursor
	}
}

// skuJSON is a SKU of the partner API (api.PartnerSKU), the fields the checks need.
type skuJSON struct {
	SKUID          uint64 `json:"sku_id"`
	LimitPerMember int64  `json:"limit_per_member"`
	Units          Units  `json:"units"`
}

// MerchantSKUs reads the units and limits of a merchant's SKUs through its signed partner API.
func (c *Client) MerchantSKUs(ctx context.Context, m Merchant, units map[uint64]Units, limits map[uint64]int64) error {
	cursor := ""
	for page := 0; page < 1000; page++ {
		q := "/api/v1/partner/skus?limit=500"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		a := c.PartnerGet(ctx, m, q)
		if a.Status != http.StatusOK {
			return answerError(fmt.Sprintf("GET /api/v1/partner/skus of %s", m.KeyID), a)
		}
		var list struct {
			SKUs       []skuJSON `json:"skus"`
			NextCursor string    `json:"next_cursor"`
		}
		if err := json.Unmarshal(a.Body, &list); err != nil {
			return fmt.Errorf("GET /api/v1/partner/skus of %s: %w", m.KeyID, err)
		}
		for _, s := range list.SKUs {
			units[s.SKUID] = s.Units
			limits[s.SKUID] = s.LimitPerMember
		}
		if list.NextCursor == "" {
			return nil
		}
		cursor = list.NextCursor
	}
	return fmt.Errorf("GET /api/v1/partner/skus of %s: too many pages", m.KeyID)
}

// parseYuan parses the API's yuan amounts ("12.50", "-3.00", "7") to fen.
func parseYuan(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, fmt.Errorf("not a yuan amount: %q", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not a yuan amount: %q", s)
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("not a yuan amount: %q", s)
	}
	v := w*100 + f
	if neg {
		v = -v
	}
	return v, nil
}

// yuanString formats fen as yuan.
func yuanString(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}
