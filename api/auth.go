package api

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Role is what a token's holder may do.
type Role string

const (
	RoleMember     Role = "member"
	RoleOfficer    Role = "union_officer"
	RoleFederation Role = "federation_officer"
	RoleKeeper     Role = "keeper"
	// RoleModule is another module of the platform (quizzes, lectures, check-ins) that awards
	// activity points.
	RoleModule Role = "platform_module"
)

// Claims are what a verified token says of its holder. Subject is the member's or officer's id
// from the platform's single sign-on; Union the union a member belongs to or an officer serves;
// Point the pickup point a keeper keeps.
type Claims struct {
	jwt.RegisteredClaims
	Role  Role   `json:"role"`
	Union uint64 `json:"union,omitempty"`
	Point uint64 `json:"point,omitempty"`
	// Key is the fingerprint (KeyFingerprint) of the platform key that signed the token, or the
	// token a session was made from; the verifier sets it, it is not part of the token.
	Key uint64 `json:"-"`
}

// SubjectID is the subject as a number.
func (c *Claims) SubjectID() uint64 {
	n, _ := strconv.ParseUint(c.Subject, 10, 64)
	return n
}

// Issuer signs tokens with an Ed25519 key; the demo's dev issuer keeps its key in the data
// directory.
type Issuer struct {
	KeyID string
	key   ed25519.PrivateKey
}

// NewIssuer returns an issuer for key.
func NewIssuer(keyID string, key ed25519.PrivateKey) *Issuer { return &Issuer{KeyID: keyID, key: key} }

// Sign returns a token for claims, valid for ttl from now.
func (i *Issuer) Sign(claims Claims, now time.Time, ttl time.Duration) (string, error) {
	claims.IssuedAt = jwt.NewNumericDate(now)
	claims.ExpiresAt = jwt.NewNumericDate(now.Add(ttl))
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = i.KeyID
	return t.SignedString(i.key)
}

// Verifier checks tokens against the platform's public keys, and keeps verified tokens in a
// bounded cache until they expire: a signature check costs more CPU than a whole bare request.
type Verifier struct {
	keys    map[string]ed25519.PublicKey
	refused map[string]bool // key ids this server refuses, such as the dev key outside --demo
	now     func() time.Time
	// sessions checks this server's own session tokens; nil refuses them.
	sessions *Sessions
	// accepted are the fingerprints of the keys accepted: a session made from a token of
	// another key is refused.
	accepted map[uint64]bool

	mu    sync.Mutex
	cache map[string]*Claims
}

// verifiedTokensMax bounds the cache; when full, it is emptied and refills with what is in use.
const verifiedTokensMax = 200_000

// NewVerifier verifies with keys by key id; refusedKeyIDs are known keys whose tokens are
// refused (the dev key on a production server).
func NewVerifier(keys map[string]ed25519.PublicKey, refusedKeyIDs []string, now func() time.Time) *Verifier {
	v := &Verifier{keys: keys, refused: map[string]bool{}, now: now, cache: map[string]*Claims{}, accepted: map[uint64]bool{}}
	for _, k := range refusedKeyIDs {
		v.refused[k] = true
	}
	for kid, k := range keys {
		if !v.refused[kid] {
			v.accepted[KeyFingerprint(kid, k)] = true
		}
	}
	return v
}

// Errors of token verification.
var (
	ErrTokenExpired = errors.New("token expired")
	ErrTokenInvalid = errors.New("token invalid")
)

// valid checks that the claims name a subject and what their role needs.
func (c *Claims) valid() error {
	if c.SubjectID() == 0 {
		return fmt.Errorf("%w: no subject", ErrTokenInvalid)
	}
	switch c.Role {
	case RoleMember, RoleOfficer:
		if c.Union == 0 {
			return fmt.Errorf("%w: %s without a union", ErrTokenInvalid, c.Role)
		}
	case RoleKeeper:
		if c.Point == 0 {
			return fmt.Errorf("%w: keeper without a pickup point", ErrTokenInvalid)
		}
	case RoleFederation, RoleModule:
	default:
		return fmt.Errorf("%w: role %q", ErrTokenInvalid, c.Role)
	}
	return nil
}

// WithSessions has the verifier accept this server's sessions as well, and POST
// /api/v1/session issue them; without it, sessions are refused.
func (v *Verifier) WithSessions(s *Sessions) *Verifier {
	v.sessions = s
	return v
}

// Verify returns the claims of a valid token: a platform token or a session.
func (v *Verifier) Verify(token string) (*Claims, error) {
	now := v.now()
	if IsSession(token) {
		if v.sessions == nil {
			return nil, fmt.Errorf("%w: this server issues no sessions", ErrTokenInvalid)
		}
		c, err := v.sessions.Check(token, now)
		if err == nil && !v.accepted[c.Key] {
			return nil, fmt.Errorf("%w: the session was made from a token of a key this server no longer accepts", ErrTokenInvalid)
		}
		return c, err
	}
	v.mu.Lock()
	c, ok := v.cache[token]
	v.mu.Unlock()
	if ok {
		if c.ExpiresAt == nil || !now.Before(c.ExpiresAt.Time) {
			v.mu.Lock()
			delete(v.cache, token)
			v.mu.Unlock()
			return nil, ErrTokenExpired
		}
		return c, nil
	}
	claims := &Claims{}
	parsed, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if v.refused[kid] {
			return nil, fmt.Errorf("key %q is not accepted by this server", kid)
		}
		k, ok := v.keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown key %q", kid)
		}
		claims.Key = KeyFingerprint(kid, k)
		return k, nil
	}, jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithTimeFunc(v.now), jwt.WithExpirationRequired())
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, ErrTokenExpired
		}
		return nil, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if !parsed.Valid {
		return nil, ErrTokenInvalid
	}
	if err := claims.valid(); err != nil {
		return nil, err
	}
	// One spelling of the subject ("007" is 7), as sessions carry it: scopes built from it then
	// agree whichever the caller sent.
	claims.Subject = strconv.FormatUint(claims.SubjectID(), 10)
	v.mu.Lock()
	if len(v.cache) >= verifiedTokensMax {
		clear(v.cache)
	}
	v.cache[strings.Clone(token)] = claims
	v.mu.Unlock()
	return claims, nil
}

// Merchant request signatures.
//
// A merchant signs each request with its secret: X-Huigong-Key (the key id),
// X-Huigong-Timestamp (unix seconds), X-Huigong-Nonce (unique per request) and
// X-Huigong-Signature, the hex HMAC-SHA256 of
//
//	METHOD "\n" PATH "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA-256(BODY))
//
// The timestamp must be within signatureSkew of the server's clock and a nonce is accepted once.
const (
	HeaderKeyID     = "X-Huigong-Key"
	HeaderTimestamp = "X-Huigong-Timestamp"
	HeaderNonce     = "X-Huigong-Nonce"
	HeaderSignature = "X-Huigong-Signature"

	signatureSkew = 5 * time.Minute
	nonceBytesMax = 64
)

// Sign returns the signature of a merchant request.
func Sign(secret []byte, method, path, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%s\n%s\n%s\n%s\n%s", method, path, timestamp, nonce, hex.EncodeToString(sum[:]))
	return hex.EncodeToString(mac.Sum(nil))
}

// MerchantKey is a merchant's signing key.
type MerchantKey struct {
	KeyID      string
	MerchantID uint64
	Secret     []byte
}

// MerchantKeys looks merchants' keys up by key id.
type MerchantKeys interface {
	Lookup(keyID string) (MerchantKey, bool)
}

// StaticMerchantKeys is a fixed set of keys.
type StaticMerchantKeys map[string]MerchantKey

func (k StaticMerchantKeys) Lookup(id string) (MerchantKey, bool) { m, ok := k[id]; return m, ok }

// Nonces remembers the nonces seen within the signature window, so a replayed request is
// refused. Entries older than the window are dropped: a replay that old fails the timestamp.
type Nonces struct {
	mu   sync.Mutex
	seen map[string]time.Time
	last time.Time
}

// NewNonces returns an empty nonce store.
func NewNonces() *Nonces { return &Nonces{seen: map[string]time.Time{}} }

// noncesMax bounds memory under a flood; past it, new nonces are refused until old ones expire.
const noncesMax = 1_000_000

// Use records a nonce of a key at now and reports whether it was fresh.
func (n *Nonces) Use(keyID, nonce string, now time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if now.Sub(n.last) > time.Minute {
		for k, t := range n.seen {
			if now.Sub(t) > 2*signatureSkew {
				delete(n.seen, k)
			}
		}
		n.last = now
	}
	k := keyID + "\x00" + nonce
	if _, dup := n.seen[k]; dup || len(n.seen) >= noncesMax {
		return false
	}
	n.seen[k] = now
	return true
}
