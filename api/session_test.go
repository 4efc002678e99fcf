package api_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"huigong/api"
)

// A session says what the token it was made from said, for every role, and nothing else.
func TestSessionRoundTrip(t *testing.T) {
	s, err := api.NewSessions(testSessionSecret, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 2, 10, 9, 58, 0, 0, time.UTC)
	for _, c := range []api.Claims{
		{Role: api.RoleMember, Union: 11, RegisteredClaims: jwtSubject(100)},
		{Role: api.RoleOfficer, Union: 11, RegisteredClaims: jwtSubject(8)},
		{Role: api.RoleFederation, RegisteredClaims: jwtSubject(1)},
		{Role: api.RoleKeeper, Point: 3, RegisteredClaims: jwtSubject(50)},
		{Role: api.RoleModule, RegisteredClaims: jwtSubject(1<<63 + 5), Key: 1<<64 - 1},
	} {
		tok, exp, err := s.Mint(&c, now)
		if err != nil {
			t.Fatalf("%s: %v", c.Role, err)
		}
		if !api.IsSession(tok) || !exp.Equal(now.Add(time.Hour)) {
			t.Fatalf("%s: %q expires %v", c.Role, tok, exp)
		}
		got, err := s.Check(tok, now.Add(59*time.Minute))
		if err != nil {
			t.Fatalf("%s: %v", c.Role, err)
		}
		if got.Role != c.Role || got.Subject != c.Subject || got.Union != c.Union || got.Point != c.Point || got.Key != c.Key || !got.ExpiresAt.Time.Equal(exp) {
			t.Fatalf("%s: got %+v, want %+v", c.Role, got, c)
		}
		if _, err := s.Check(tok, now.Add(time.Hour)); !errors.Is(err, api.ErrTokenExpired) {
			t.Fatalf("%s at expiry: %v, want expired", c.Role, err)
		}
	}
}

// A session never outlives the token it was made from.
func TestSessionExpiresWithItsToken(t *testing.T) {
	s, _ := api.NewSessions(testSessionSecret, 12*time.Hour)
	now := time.Date(2026, 2, 10, 9, 58, 0, 0, time.UTC)
	c := api.Claims{Role: api.RoleMember, Union: 11, RegisteredClaims: jwtSubject(100)}
	c.ExpiresAt = jwt.NewNumericDate(now.Add(20 * time.Minute))
	_, exp, err := s.Mint(&c, now)
	if err != nil || !exp.Equal(now.Add(20*time.Minute)) {
		t.Fatalf("expires %v, %v; want the token's %v", exp, err, now.Add(20*time.Minute))
	}
}

// Anything but a session minted with this secret is refused: a changed body, a changed or cut
// signature, another server's secret, claims a role does not allow, a short secret.
func TestSessionRefusesForgeries(t *testing.T) {
	s, _ := api.NewSessions(testSessionSecret, time.Hour)
	other, _ := api.NewSessions(bytes.Repeat([]byte{6}, api.SessionSecretBytesMin), time.Hour)
	now := time.Date(2026, 2, 10, 9, 58, 0, 0, time.UTC)
	member := api.Claims{Role: api.RoleMember, Union: 11, RegisteredClaims: jwtSubject(100)}
	tok, _, _ := s.Mint(&member, now)
	foreign, _, _ := other.Mint(&member, now)
	noUnion, _, _ := s.Mint(&api.Claims{Role: api.RoleMember, RegisteredClaims: jwtSubject(100)}, now)
	dot := strings.LastIndexByte(tok, '.')
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for name, bad := range map[string]string{
		"body changed":      flip(tok, len("hgs1.")+3),
		"signature changed": flip(tok, dot+5),
		"signature cut":     tok[:len(tok)-4],
		"no signature":      tok[:dot],
		"another secret":    foreign,
		"member no union":   noUnion,
		"prefix only":       "hgs1.",
		"empty body":        "hgs1..abc",
		"long signature":    tok + "AAAAAAAA",
		"long body":         tok[:dot] + "AAAA" + tok[dot:],
		"signature respelt": tok[:len(tok)-1] + string(respell(tok[len(tok)-1])),
	} {
		if _, err := s.Check(bad, now); !errors.Is(err, api.ErrTokenInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if _, _, err := s.Mint(&api.Claims{Role: "root", RegisteredClaims: jwtSubject(1)}, now); !errors.Is(err, api.ErrTokenInvalid) {
		t.Errorf("mint of an unknown role: %v", err)
	}
	if _, err := api.NewSessions(make([]byte, api.SessionSecretBytesMin-1), 0); err == nil {
		t.Error("a short secret was accepted")
	}
	// A verifier without sessions refuses them.
	v := api.NewVerifier(nil, nil, func() time.Time { return now })
	if _, err := v.Verify(tok); !errors.Is(err, api.ErrTokenInvalid) {
		t.Errorf("verifier without sessions: %v", err)
	}
}

// respell returns another base64url digit with the same top 4 bits: the last digit of a 32-byte
// MAC carries 2 bits that a lax decoder ignores.
func respell(c byte) byte {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(digits, c)
	return digits[i^1]
}

// A session lives no longer than the server's trust in the key of the token it was made from:
// once that key is refused or gone, so are its sessions; a session made with the right secret
// from a token of a key the server never knew is refused too.
func TestSessionFollowsItsKey(t *testing.T) {
	now := time.Date(2026, 2, 10, 9, 58, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sessions, _ := api.NewSessions(testSessionSecret, time.Hour)
	newVerifier := func(keys map[string]ed25519.PublicKey, refused []string) *api.Verifier {
		return api.NewVerifier(keys, refused, clock).WithSessions(sessions)
	}
	pub, priv, _ := ed25519.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{3}, 64)))
	tok, err := api.NewIssuer("sso-1", priv).Sign(api.Claims{Role: api.RoleMember, Union: 11, RegisteredClaims: jwtSubject(100)}, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	trusting := newVerifier(map[string]ed25519.PublicKey{"sso-1": pub}, nil)
	claims, err := trusting.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	session, _, err := sessions.Mint(claims, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trusting.Verify(session); err != nil {
		t.Fatalf("the session of a trusted key: %v", err)
	}
	for name, v := range map[string]*api.Verifier{
		"key refused": newVerifier(map[string]ed25519.PublicKey{"sso-1": pub}, []string{"sso-1"}),
		"key gone":    newVerifier(map[string]ed25519.PublicKey{}, nil),
		"key renamed": newVerifier(map[string]ed25519.PublicKey{"sso-2": pub}, nil),
	} {
		if _, err := v.Verify(session); !errors.Is(err, api.ErrTokenInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	unknown, _, _ := sessions.Mint(&api.Claims{Role: api.RoleMember, Union: 11, RegisteredClaims: jwtSubject(100)}, now)
	if _, err := trusting.Verify(unknown); !errors.Is(err, api.ErrTokenInvalid) {
		t.Errorf("a session of no known key: %v, want invalid", err)
	}
}

// Through the API: a member trades the platform token for a session and acts with it as with
// the token, within the same role and union; an expired session answers token_expired.
func TestSessionThroughAPI(t *testing.T) {
	h := newShop(t)
	tok := h.token(api.RoleMember, shopMember, shopUnion, 0)
	res := h.do(http.MethodPost, "/api/v1/session", tok, nil)
	if res.Status != http.StatusCreated {
		t.Fatalf("POST /api/v1/session: %d %s", res.Status, res.Body)
	}
	var sess api.SessionResponse
	res.JSON(t, &sess)
	exp, err := time.Parse(time.RFC3339, sess.ExpiresAt)
	if err != nil || !api.IsSession(sess.Token) {
		t.Fatalf("session %+v: %v", sess, err)
	}
	// The platform token was signed for an hour, so the session ends with it.
	if want := h.wall().Add(time.Hour).Truncate(time.Second); !exp.Equal(want) {
		t.Fatalf("session expires %v, want %v", exp, want)
	}
	// The session is the member: it sees the member's points and is refused what an officer
	// may do, with the same answers a platform token gets.
	for _, bearer := range []string{tok, sess.Token} {
		var me api.MeResponse
		h.do(http.MethodGet, "/api/v1/me", bearer, nil).must(t, http.StatusOK).JSON(t, &me)
		if me.MemberID != shopMember || len(me.Balances) != 2 || me.Balances[0].Balance != "300.00" {
			t.Fatalf("me %+v", me)
		}
		h.do(http.MethodGet, "/api/v1/unions/11/members", bearer, nil).must(t, http.StatusForbidden)
	}
	// A session of a session expires no later than the first.
	res = h.do(http.MethodPost, "/api/v1/session", sess.Token, nil)
	var again api.SessionResponse
	res.JSON(t, &again)
	if again.ExpiresAt != sess.ExpiresAt {
		t.Fatalf("session of a session expires %s, want %s", again.ExpiresAt, sess.ExpiresAt)
	}
	h.now.Add(int64(time.Hour))
	res = h.do(http.MethodGet, "/api/v1/me", sess.Token, nil)
	if p := res.Problem(t); res.Status != http.StatusUnauthorized || p.Code != "token_expired" {
		t.Fatalf("expired session: %d %+v", res.Status, p)
	}
	// A forged session is refused before any handler runs.
	forged := sess.Token[:len(sess.Token)-2] + "AA"
	if forged == sess.Token {
		forged = sess.Token[:len(sess.Token)-2] + "BB"
	}
	h.now.Add(-int64(time.Hour))
	res = h.do(http.MethodGet, "/api/v1/me", forged, nil)
	if p := res.Problem(t); res.Status != http.StatusUnauthorized || p.Code != "unauthenticated" {
		t.Fatalf("forged session: %d %+v", res.Status, p)
	}
}

// Whatever a caller sends as a session, checking it answers an error or valid claims, and never
// panics: it runs before any handler, for anyone.
func FuzzSessionCheck(f *testing.F) {
	s, _ := api.NewSessions(testSessionSecret, time.Hour)
	now := time.Date(2026, 2, 10, 9, 58, 0, 0, time.UTC)
	tok, _, _ := s.Mint(&api.Claims{Role: api.RoleMember, Union: 11, RegisteredClaims: jwtSubject(100)}, now)
	for _, seed := range []string{tok, tok + "A", "hgs1.", "hgs1..", "hgs1.a.b", "hgs1." + strings.Repeat("A", 100) + "." + strings.Repeat("B", 100), "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.Check(token, now)
		if (err == nil) != (c != nil) {
			t.Fatalf("%q: claims %v with error %v", token, c, err)
		}
		if err == nil && token != tok {
			t.Fatalf("%q: accepted, and it is not the minted session", token)
		}
	})
}
