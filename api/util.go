package api

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	fastjson "github.com/segmentio/encoding/json"

	"huigong/mall"
)

func hmacEqual(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

func parseUnix(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(n, 0), nil
}

// decodeFast decodes a JSON body with segmentio/encoding/json, which accepts what encoding/json does in a
// fraction of the CPU (on a festival morning the order's JSON was the handler's largest cost),
// and reports whether the body was one valid value with known fields only. On false, v is to
// be decoded again by the standard library, which explains the refusal.
func decodeFast(body []byte, v any) bool {
	rest, err := fastjson.Parse(body, v, fastjson.DisallowUnknownFields)
	if err != nil {
		return false
	}
	// Only JSON's white space may follow the value.
	for _, b := range rest {
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			return false
		}
	}
	return true
}

// decode reads a JSON body strictly: the content type must be JSON, unknown fields and trailing
// data are refused, and the body must fit the limit.
func (s *Server) decode(c *fiber.Ctx, v any) error {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(c.Get(fiber.HeaderContentType), ";")[0]))
	if ct != fiber.MIMEApplicationJSON {
		return fail(http.StatusUnsupportedMediaType, codeBadContentType, "the body must be application/json")
	}
	body := c.Body()
	if len(body) > s.deps.BodyBytesMax {
		return fail(http.StatusRequestEntityTooLarge, codeTooLarge, fmt.Sprintf("the body is over %d bytes", s.deps.BodyBytesMax))
	}
	if decodeFast(body, v) {
		return nil
	}
	// The standard library's decoder says what is wrong, in the words the problem codes were
	// written for, starting again from a zero value.
	rv := reflect.ValueOf(v).Elem()
	rv.Set(reflect.Zero(rv.Type()))
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return fail(http.StatusBadRequest, codeUnknownField, err.Error())
		case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
			return fail(http.StatusBadRequest, codeBadJSON, "the body is not valid JSON")
		case errors.As(err, &typ):
			return fail(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("field %q must be a %s", typ.Field, typ.Type))
		}
		return fail(http.StatusBadRequest, codeBadJSON, err.Error())
	}
	// Only white space may follow the value. dec.More would let a stray ']' or '}' through: it
	// reports the end of an enclosing array or object there.
	if _, err := dec.Token(); err != io.EOF {
		return fail(http.StatusBadRequest, codeBadJSON, "the body has data after the JSON value")
	}
	return nil
}

// yuan parses a yuan amount field; positive amounts only unless allowZero.
func yuan(field, s string, allowZero bool) (int64, error) {
	fen, err := mall.ParseYuan(s)
	if err == nil && (fen < 0 || (fen == 0 && !allowZero)) {
		err = fmt.Errorf("must be more than zero")
	}
	if err != nil {
		return 0, fail(http.StatusUnprocessableEntity, codeBadAmount, fmt.Sprintf("%s: %v", field, err))
	}
	return fen, nil
}

// idParam reads a numeric path parameter.
func idParam(c *fiber.Ctx, name string) (uint64, error) {
	n, err := strconv.ParseUint(c.Params(name), 10, 64)
	if err != nil || n == 0 || n >= 1<<53 {
		return 0, fail(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("path parameter %q must be a positive integer below 2^53", name))
	}
	return n, nil
}

// validID checks an id from a body.
func validID(field string, n uint64) error {
	if n == 0 || n >= 1<<53 {
		return fail(http.StatusUnprocessableEntity, "invalid_id", fmt.Sprintf("%s must be a positive integer below 2^53", field))
	}
	return nil
}

// idempotencyID turns an Idempotency-Key into an engine id: stable, below the engine's
// reserved range and 2^53, never zero.
func idempotencyID(scope, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(scope))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum64()&(1<<53-1) | 1
}

// requireIdempotencyKey returns the request's Idempotency-Key.
func requireIdempotencyKey(c *fiber.Ctx) (string, error) {
	k := c.Get("Idempotency-Key")
	if k == "" || len(k) > 128 {
		return "", fail(http.StatusBadRequest, codeIdempotencyKey, "an Idempotency-Key header of 1 to 128 characters is required")
	}
	return k, nil
}

// idemEntry is the first response to an Idempotency-Key, returned again on a retry.
type idemEntry struct {
	status int
	body   []byte
	ctype  string
	seq    uint64
}

const idempotentResponsesMax = 100_000

// replay answers a retried request with the first response, if there is one.
func (s *Server) replay(c *fiber.Ctx, scope string) (bool, error) {
	s.idemMu.Lock()
	e, ok := s.idem[scope]
	s.idemMu.Unlock()
	if !ok {
		return false, nil
	}
	c.Status(e.status)
	c.Set(fiber.HeaderContentType, e.ctype)
	c.Set("Idempotent-Replayed", "true")
	return true, c.Send(e.body)
}

// remember keeps the response just written for scope.
func (s *Server) remember(c *fiber.Ctx, scope string) {
	s.idemMu.Lock()
	defer s.idemMu.Unlock()
	if len(s.idem) >= idempotentResponsesMax {
		// Forget the older half; the engine stays the authority on what exists.
		for k, e := range s.idem {
			if e.seq < s.idemSeq-idempotentResponsesMax/2 {
				delete(s.idem, k)
			}
		}
	}
	s.idemSeq++
	s.idem[scope] = idemEntry{status: c.Response().StatusCode(), body: append([]byte(nil), c.Response().Body()...),
		ctype: string(c.Response().Header.ContentType()), seq: s.idemSeq}
}

// rateLimiter is a token bucket per key.
type rateLimiter struct {
	mu      sync.Mutex
	perSec  float64
	buckets map[uint64]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newRateLimiter(perSecond int) *rateLimiter {
	return &rateLimiter{perSec: float64(perSecond), buckets: map[uint64]*bucket{}}
}

const rateBucketsMax = 1_000_000

// allow takes a token for key at now.
func (r *rateLimiter) allow(key uint64, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.buckets[key]
	if !ok {
		if len(r.buckets) >= rateBucketsMax {
			clear(r.buckets)
		}
		b = &bucket{tokens: r.perSec, at: now}
		r.buckets[key] = b
	}
	b.tokens = min(r.perSec, b.tokens+now.Sub(b.at).Seconds()*r.perSec)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// page reads ?limit= (1 to most, def when absent) and ?cursor= (a number below 2^53, from an
// earlier answer's next_cursor; empty at the start). zeroCursor admits 0, for cursors that are
// stream offsets rather than ids.
func page(c *fiber.Ctx, def, most int, zeroCursor bool) (cursor uint64, limit int, err error) {
	limit = def
	if v := c.Query("limit"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > most {
			return 0, 0, fail(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("limit must be from 1 to %d", most))
		}
		limit = n
	}
	if v := c.Query("cursor"); v != "" {
		n, perr := strconv.ParseUint(v, 10, 64)
		if perr != nil || (n == 0 && !zeroCursor) || n >= 1<<53 {
			return 0, 0, fail(http.StatusBadRequest, codeInvalidCursor, "cursor must be a next_cursor from an earlier answer")
		}
		cursor = n
	}
	return cursor, limit, nil
}
