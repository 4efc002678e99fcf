package mall

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// PickupCodes derives and checks the codes a member shows at the Workers e-Home. A code is an
// HMAC-SHA256 of the order id under a secret kept in the data directory, cut to pickupCodeDigits
// decimal digits: a keeper cannot guess another member's code, and nothing needs storing.
type PickupCodes struct {
	secret []byte
}

const pickupCodeDigits = 8

// NewPickupCodes uses secret, which must be at least 32 bytes.
func NewPickupCodes(secret []byte) (*PickupCodes, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("pickup code secret of %d bytes, want at least 32", len(secret))
	}
	return &PickupCodes{secret: append([]byte(nil), secret...)}, nil
}

// Code returns the pickup code of an order.
func (p *PickupCodes) Code(orderID uint64) string {
	mac := hmac.New(sha256.New, p.secret)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], orderID)
	mac.Write(b[:])
	sum := mac.Sum(nil)
	n := binary.BigEndian.Uint64(sum[:8]) % 100_000_000
	return fmt.Sprintf("%0*d", pickupCodeDigits, n)
}

// Check reports whether code is the order's pickup code, in constant time.
func (p *PickupCodes) Check(orderID uint64, code string) bool {
	want := p.Code(orderID)
	return len(code) == len(want) && subtle.ConstantTimeCompare([]byte(code), []byte(want)) == 1
}
