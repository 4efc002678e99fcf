package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"huigong/engine/welfare"
	"huigong/mall"
)

// Webhooks pushes each merchant's order events to the endpoint it registered.
//
// One dispatcher follows the order stream and queues each event a merchant sees (see
// mall.MerchantVisible) for every merchant with a line in the order. One worker per merchant
// POSTs its queue in stream order, one event at a time, so a slow or failing endpoint delays
// only its own merchant. An event is delivered when the endpoint answers 2xx. Otherwise it is
// retried after BaseDelay, doubling up to MaxDelay, AttemptsMax attempts in all; then it is
// given up (counted as failed) and the next event goes. Nothing is lost for the merchant: every
// event carries its stream offset, and the pull feed (GET /api/v1/partner/orders) serves any
// offset again.
//
// Each POST's body is a PartnerOrderEvent; its headers are X-Huigong-Timestamp,
// X-Huigong-Nonce, X-Huigong-Event-Offset and X-Huigong-Signature, the hex HMAC-SHA256 with the
// webhook's secret of the same string a merchant signs its own requests with (see Sign):
// "POST", the URL's path, the timestamp, the nonce and the hex SHA-256 of the body.
//
// URLs are limited to http and https, and redirects are not followed. The server POSTs wherever
// a merchant points it, so a production server should restrict hosts with
// WebhookOptions.AllowHost (the merchants' registered domains; never loopback, link-local or
// private addresses), which the embedded default leaves open for local demos and tests.
//
// Registrations live in memory: after a restart a merchant registers again and pulls the feed
// from the last offset it received.
type Webhooks struct {
	stream webhookStream
	opts   WebhookOptions

	mu      sync.Mutex
	hooks   map[welfare.MerchantID]*webhook
	ctx     context.Context // set while Run runs; workers start under it
	offset  uint64          // the next stream offset the dispatcher reads
	workers sync.WaitGroup
}

// webhookStream is the order stream the dispatcher follows; Len places a new registration.
type webhookStream interface {
	mall.OrderStream
	Len() uint64
}

// WebhookOptions tune delivery; zero fields take the defaults.
type WebhookOptions struct {
	// Client sends the POSTs; the default has a 10s timeout and follows no redirect.
	Client *http.Client
	// BaseDelay is the wait before the first retry (1s), doubling up to MaxDelay (1m).
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// AttemptsMax bounds the attempts of one event (8: about two minutes at the defaults).
	AttemptsMax int
	// QueueMax bounds a merchant's undelivered events (10,000); past it the oldest is dropped,
	// and stays in the pull feed.
	QueueMax int
	// AllowHost, when set, must accept a URL's host for it to be registered.
	AllowHost func(host string) bool
	// Now is the clock of the signature timestamps.
	Now    func() time.Time
	Logger *slog.Logger
}

type webhook struct {
	url    string
	secret []byte
	from   uint64
	queue  []mall.OrderEvent
	wake   chan struct{} // one slot: the queue grew or the worker should look again

	delivered, failed, dropped uint64
	lastError                  string
}

// NewWebhooks returns webhooks over the order stream; Run delivers.
func NewWebhooks(stream webhookStream, o WebhookOptions) *Webhooks {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = time.Second
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = time.Minute
	}
	if o.MaxDelay < o.BaseDelay {
		o.MaxDelay = o.BaseDelay
	}
	if o.AttemptsMax <= 0 {
		o.AttemptsMax = 8
	}
	if o.QueueMax <= 0 {
		o.QueueMax = 10_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Webhooks{stream: stream, opts: o, hooks: map[welfare.MerchantID]*webhook{}, offset: stream.Len()}
}

// checkWebhook validates a registration.
func (w *Webhooks) checkWebhook(raw string, secret []byte) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case len(raw) > partnerWebhookURLMax:
		return nil, fail(http.StatusUnprocessableEntity, codeInvalidWebhookURL, fmt.Sprintf("the url is over %d bytes", partnerWebhookURLMax))
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "":
		return nil, fail(http.StatusUnprocessableEntity, codeInvalidWebhookURL, "the url must be an absolute http or https URL")
	case u.User != nil || u.Fragment != "":
		return nil, fail(http.StatusUnprocessableEntity, codeInvalidWebhookURL, "the url may not hold credentials or a fragment")
	case w.opts.AllowHost != nil && !w.opts.AllowHost(u.Hostname()):
		return nil, fail(http.StatusUnprocessableEntity, codeWebhookHostRefused, "this server does not send webhooks to that host")
	case len(secret) < partnerWebhookSecretLo || len(secret) > partnerWebhookSecretHi:
		return nil, fail(http.StatusUnprocessableEntity, codeInvalidWebhookSecret,
			fmt.Sprintf("the secret must be %d to %d bytes", partnerWebhookSecretLo, partnerWebhookSecretHi))
	}
	return u, nil
}

// Register sets a merchant's endpoint and secret. A new registration is pushed the events from
// the stream's end on; a changed one keeps its queue and counts, and the next attempt goes to
// the new endpoint.
func (w *Webhooks) Register(m welfare.MerchantID, rawURL string, secret []byte) (PartnerWebhook, error) {
	u, err := w.checkWebhook(rawURL, secret)
	if err != nil {
		return PartnerWebhook{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.hooks[m]
	if !ok {
		h = &webhook{from: w.stream.Len(), wake: make(chan struct{}, 1)}
		w.hooks[m] = h
		if w.ctx != nil {
			w.startWorker(m, h)
		}
	}
	h.url, h.secret = u.String(), append([]byte(nil), secret...)
	return h.status(), nil
}

// Status returns a merchant's webhook.
func (w *Webhooks) Status(m welfare.MerchantID) (PartnerWebhook, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	h, ok := w.hooks[m]
	if !ok {
		return PartnerWebhook{}, false
	}
	return h.status(), true
}

func (h *webhook) status() PartnerWebhook {
	return PartnerWebhook{URL: h.url, FromOffset: h.from, Delivered: h.delivered, Failed: h.failed,
		Dropped: h.dropped, Pending: len(h.queue), LastError: h.lastError}
}

// Run follows the stream and delivers until ctx ends, then waits for the workers.
func (w *Webhooks) Run(ctx context.Context) {
	w.mu.Lock()
	if w.ctx != nil {
		w.mu.Unlock()
		return // Already running.
	}
	w.ctx = ctx
	for m, h := range w.hooks {
		w.startWorker(m, h)
	}
	w.mu.Unlock()
	defer func() {
		w.workers.Wait()
		w.mu.Lock()
		w.ctx = nil
		w.mu.Unlock()
	}()
	const readMax = 1024
	for {
		w.mu.Lock()
		from := w.offset
		w.mu.Unlock()
		events, next := w.stream.Read(from, readMax)
		if len(events) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-w.stream.Wait(from):
			}
			continue
		}
		w.mu.Lock()
		for _, ev := range events {
			if !mall.MerchantVisible(ev.Order.State) {
				continue
			}
			for _, m := range mall.OrderMerchants(ev.Order) {
				if h, ok := w.hooks[m]; ok && ev.Offset >= h.from {
					w.enqueue(h, ev)
				}
			}
		}
		w.offset = next
		w.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
	}
}

// enqueue adds an event to a merchant's queue; w.mu is held.
func (w *Webhooks) enqueue(h *webhook, ev mall.OrderEvent) {
	if len(h.queue) >= w.opts.QueueMax {
		h.queue = h.queue[1:]
		h.dropped++
	}
	h.queue = append(h.queue, ev)
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// startWorker starts a merchant's worker; w.mu is held and w.ctx set.
func (w *Webhooks) startWorker(m welfare.MerchantID, h *webhook) {
	ctx := w.ctx
	w.workers.Add(1)
	go func() {
		defer w.workers.Done()
		w.work(ctx, m, h)
	}()
}

// work delivers a merchant's queue in order until ctx ends.
func (w *Webhooks) work(ctx context.Context, m welfare.MerchantID, h *webhook) {
	for {
		w.mu.Lock()
		if len(h.queue) == 0 {
			w.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-h.wake:
			}
			continue
		}
		ev := h.queue[0]
		w.mu.Unlock()
		err := w.deliver(ctx, m, h, ev)
		if ctx.Err() != nil {
			return // Shutting down: the event stays queued, and in the pull feed.
		}
		w.mu.Lock()
		// A full queue may have dropped the head meanwhile.
		if len(h.queue) > 0 && h.queue[0].Offset == ev.Offset {
			h.queue = h.queue[1:]
		}
		if err != nil {
			h.failed++
			h.lastError = fmt.Sprintf("offset %d: %v", ev.Offset, err)
		} else {
			h.delivered++
		}
		w.mu.Unlock()
		if err != nil {
			w.opts.Logger.Warn("webhook given up", "merchant", uint64(m), "offset", ev.Offset, "err", err)
		}
	}
}

// retryDelay is the wait before attempt (1 is the first retry): BaseDelay doubling, capped.
func (w *Webhooks) retryDelay(attempt int) time.Duration {
	d := w.opts.BaseDelay
	for i := 1; i < attempt && d < w.opts.MaxDelay; i++ {
		d *= 2
	}
	return min(d, w.opts.MaxDelay)
}

// deliver POSTs one event until it is taken or the attempts run out.
func (w *Webhooks) deliver(ctx context.Context, m welfare.MerchantID, h *webhook, ev mall.OrderEvent) error {
	body, err := json.Marshal(partnerOrderEvent(ev, m))
	if err != nil {
		return err
	}
	var last error
	for attempt := 0; attempt < w.opts.AttemptsMax; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(w.retryDelay(attempt))
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		// Read the endpoint each attempt, so a merchant fixing its URL is heard at once.
		w.mu.Lock()
		target, secret := h.url, h.secret
		w.mu.Unlock()
		if last = w.post(ctx, target, secret, ev.Offset, attempt, body); last == nil {
			return nil
		}
	}
	return last
}

func (w *Webhooks) post(ctx context.Context, target string, secret []byte, offset uint64, attempt int, body []byte) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	ts := strconv.FormatInt(w.opts.Now().Unix(), 10)
	nonce := fmt.Sprintf("event-%d-%d", offset, attempt)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderNonce, nonce)
	req.Header.Set("X-Huigong-Event-Offset", strconv.FormatUint(offset, 10))
	req.Header.Set(HeaderSignature, Sign(secret, http.MethodPost, path, ts, nonce, body))
	resp, err := w.opts.Client.Do(req)
	if err != nil {
		return err
	}
	// Drain a little so the connection can be reused; a merchant's answer is not read further.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
