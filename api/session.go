package api

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
)

// Sessions are the engine's own short tokens. The platform's single sign-on hands a member an
// Ed25519-signed token; checking that signature costs more CPU than the rest of a request, so a
// client that will call often (the mall page at 09:58 on the festival morning) trades it once,
// at POST /api/v1/session, for a session token that this server signs with a secret of its own
// (HMAC-SHA256). A session says exactly what the token it was made from said, and expires no
// later than that token did.
//
// The form is "hgs1." + base64url(body) + "." + base64url(HMAC-SHA256(secret, "hgs1." +
// base64url(body))), with the body in binary: role (1 byte), subject, union, point, the
// fingerprint of the platform key that signed the original token (8 bytes each, little-endian)
// and the expiry in unix seconds (8 bytes). Servers that share the secret accept each other's
// sessions; changing the secret ends every session, and a server that no longer accepts a
// platform key (removed from its keys, or refused) refuses the sessions made from its tokens.
type Sessions struct {
	secret []byte
	ttl    time.Duration
}

// SessionSecretBytesMin is the shortest secret accepted: 32 bytes, as HMAC-SHA256 keys should be.
const SessionSecretBytesMin = 32

// SessionTTLDefault is how long a session lasts at most (less if the token it was made from
// expires sooner): a working day.
const SessionTTLDefault = 12 * time.Hour

// NewSessions returns sessions signed with secret, lasting at most ttl (SessionTTLDefault if 0).
func NewSessions(secret []byte, ttl time.Duration) (*Sessions, error) {
	if len(secret) < SessionSecretBytesMin {
		return nil, fmt.Errorf("session secret: %d bytes, want at least %d", len(secret), SessionSecretBytesMin)
	}
	if ttl <= 0 {
		ttl = SessionTTLDefault
	}
	return &Sessions{secret: slices.Clone(secret), ttl: ttl}, nil
}

const (
	sessionPrefix    = "hgs1."
	sessionBodyBytes = 1 + 8 + 8 + 8 + 8 + 8
	// sessionMACChars is the base64url length of an HMAC-SHA256.
	sessionMACChars = (sha256.Size*8 + 5) / 6
)

// KeyFingerprint names a platform key in a session: the first 8 bytes of SHA-256 over its key
// id and public key.
func KeyFingerprint(keyID string, pub ed25519.PublicKey) uint64 {
	h := sha256.New()
	h.Write([]byte(keyID))
	h.Write([]byte{0})
	h.Write(pub)
	return binary.LittleEndian.Uint64(h.Sum(nil))
}

// sessionRoles numbers the roles in a session body; the order is part of the format.
var sessionRoles = [...]Role{RoleMember, RoleOfficer, RoleFederation, RoleKeeper, RoleModule}

// b64 is strict: a session has one spelling, so no two strings carry the same signature.
var b64 = base64.RawURLEncoding.Strict()

// IsSession reports whether a bearer token is a session rather than a platform token.
func IsSession(token string) bool { return strings.HasPrefix(token, sessionPrefix) }

// Mint returns a session for verified claims, and when it expires: now plus the TTL, or the
// claims' own expiry if that comes first.
func (s *Sessions) Mint(c *Claims, now time.Time) (string, time.Time, error) {
	role := slices.Index(sessionRoles[:], c.Role)
	if role < 0 {
		return "", time.Time{}, fmt.Errorf("%w: role %q", ErrTokenInvalid, c.Role)
	}
	exp := now.Add(s.ttl).Truncate(time.Second)
	if c.ExpiresAt != nil && c.ExpiresAt.Time.Before(exp) {
		exp = c.ExpiresAt.Time.Truncate(time.Second)
	}
	var body [sessionBodyBytes]byte
	body[0] = byte(role)
	binary.LittleEndian.PutUint64(body[1:], c.SubjectID())
	binary.LittleEndian.PutUint64(body[9:], c.Union)
	binary.LittleEndian.PutUint64(body[17:], c.Point)
	binary.LittleEndian.PutUint64(body[25:], c.Key)
	binary.LittleEndian.PutUint64(body[33:], uint64(exp.Unix()))
	signed := sessionPrefix + b64.EncodeToString(body[:])
	return signed + "." + b64.EncodeToString(s.mac(signed)), exp, nil
}

func (s *Sessions) mac(signed string) []byte {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(signed))
	return m.Sum(nil)
}

// Check returns the claims of a valid session.
func (s *Sessions) Check(token string, now time.Time) (*Claims, error) {
	dot := strings.LastIndexByte(token, '.')
	if !IsSession(token) || dot <= len(sessionPrefix) {
		return nil, fmt.Errorf("%w: not a session", ErrTokenInvalid)
	}
	signed, mac := token[:dot], token[dot+1:]
	var sum [sha256.Size]byte
	if len(mac) != sessionMACChars {
		return nil, fmt.Errorf("%w: session signature", ErrTokenInvalid)
	}
	if n, err := b64.Decode(sum[:], []byte(mac)); err != nil || n != len(sum) {
		return nil, fmt.Errorf("%w: session signature", ErrTokenInvalid)
	}
	if !hmac.Equal(sum[:], s.mac(signed)) {
		return nil, fmt.Errorf("%w: session signature", ErrTokenInvalid)
	}
	var body [sessionBodyBytes]byte
	if enc := signed[len(sessionPrefix):]; b64.DecodedLen(len(enc)) != len(body) {
		return nil, fmt.Errorf("%w: session body", ErrTokenInvalid)
	}
	if n, err := b64.Decode(body[:], []byte(signed[len(sessionPrefix):])); err != nil || n != len(body) {
		return nil, fmt.Errorf("%w: session body", ErrTokenInvalid)
	}
	if int(body[0]) >= len(sessionRoles) {
		return nil, fmt.Errorf("%w: session role", ErrTokenInvalid)
	}
	exp := time.Unix(int64(binary.LittleEndian.Uint64(body[33:])), 0)
	if !now.Before(exp) {
		return nil, ErrTokenExpired
	}
	c := &Claims{
		RegisteredClaims: jwt.RegisteredClaims{Subject: strconv.FormatUint(binary.LittleEndian.Uint64(body[1:]), 10), ExpiresAt: jwt.NewNumericDate(exp)},
		Role:             sessionRoles[body[0]],
		Union:            binary.LittleEndian.Uint64(body[9:]),
		Point:            binary.LittleEndian.Uint64(body[17:]),
		Key:              binary.LittleEndian.Uint64(body[25:]),
	}
	if err := c.valid(); err != nil {
		return nil, err
	}
	return c, nil
}

// SessionResponse is a new session.
type SessionResponse struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
}

var errNoSessions = errors.New("this server issues no sessions")

func (s *Server) registerSession() {
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/session",
		Summary: "Trade the platform's token for a session token of this server, with the same claims and an expiry no later than the token's. " +
			"A session is checked with a MAC instead of a signature: clients that call often (the mall page on a festival morning) send it as their bearer token.",
		Tag: "sessions", Roles: []Role{RoleMember, RoleOfficer, RoleFederation, RoleKeeper, RoleModule}, Response: SessionResponse{},
		Status: http.StatusCreated, Handler: s.openSession})
}

func (s *Server) openSession(c *fiber.Ctx) error {
	sessions := s.deps.Tokens.sessions
	if sessions == nil {
		return fail(http.StatusNotFound, codeNotFound, errNoSessions.Error())
	}
	token, exp, err := sessions.Mint(caller(c).Claims, s.deps.Now())
	if err != nil {
		return fail(http.StatusUnauthorized, codeUnauthenticated, "the token cannot open a session")
	}
	return c.Status(http.StatusCreated).JSON(SessionResponse{Token: token, ExpiresAt: exp.UTC().Format(time.RFC3339)})
}
