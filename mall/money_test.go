package mall

import (
	"errors"
	"testing"

	"huigong/engine/stock"
)

func TestParseYuan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		fen  int64
		fail bool
	}{
		{"12.50", 1250, false}, {"3", 300, false}, {"0.07", 7, false}, {"0.070", 7, false}, {"-1.00", -100, false},
		{"1.005", 0, true}, {"1e3", 0, true}, {"", 0, true}, {"abc", 0, true}, {"1,00", 0, true}, {" 1", 0, true},
		{"+1", 0, true}, {"99999999999999999999", 0, true}, {"1000000000000", 100000000000000, false},
		{"1000000000000.01", 0, true},
	} {
		fen, err := ParseYuan(tc.in)
		if tc.fail {
			if !errors.Is(err, ErrBadAmount) {
				t.Errorf("ParseYuan(%q) = %d, %v; want an error", tc.in, fen, err)
			}
			continue
		}
		if err != nil || fen != tc.fen {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", tc.in, fen, err, tc.fen)
		}
	}
	if _, err := ParsePositiveYuan("0.00"); err == nil {
		t.Error("zero accepted as a positive amount")
	}
	for _, fen := range []int64{0, 1, 99, 100, 1250, -5, 123456789} {
		back, err := ParseYuan(FormatYuan(fen))
		if err != nil || back != fen {
			t.Errorf("FormatYuan(%d) = %q does not parse back: %d, %v", fen, FormatYuan(fen), back, err)
		}
	}
	if got := FormatYuan(1250); got != "12.50" {
		t.Errorf("FormatYuan(1250) = %q", got)
	}
}

// SamePrice: the mall's decimal price and the SKU shard's integer price agree for every price
// up to 2,000 yuan at the seed's 7% and at other discounts.
func TestDiscountSamePrice(t *testing.T) {
	for _, bps := range []int64{0, 1, 50, 700, 750, 1234, 5000, 9999, 10000} {
		for price := int64(0); price <= 200_000; price += 7 {
			if a, b := DiscountedUnitFen(price, bps), stock.DiscountedFen(price, bps); a != b {
				t.Fatalf("price %d at %d bps: decimal %d, integer %d", price, bps, a, b)
			}
		}
	}
	// 12.99 yuan at 7% is 12.0807, which rounds to 12.08; 0.50 at 7% is 0.465, half-up 0.47.
	if got := DiscountedUnitFen(1299, 700); got != 1208 {
		t.Errorf("12.99 at 7%%: %d", got)
	}
	if got := DiscountedUnitFen(50, 700); got != 47 {
		t.Errorf("0.50 at 7%%: %d", got)
	}
}

func TestPickupCodes(t *testing.T) {
	if _, err := NewPickupCodes([]byte("short")); err == nil {
		t.Fatal("a short secret accepted")
	}
	p, _ := NewPickupCodes([]byte("0123456789abcdef0123456789abcdef"))
	q, _ := NewPickupCodes([]byte("fedcba9876543210fedcba9876543210"))
	code := p.Code(42)
	if len(code) != 8 || !p.Check(42, code) {
		t.Fatalf("code %q does not check", code)
	}
	if p.Check(43, code) || p.Check(42, code[:7]) || p.Check(42, "") || q.Check(42, code) {
		t.Fatal("a wrong code, order or secret checked")
	}
	seen := map[string]bool{}
	for id := uint64(0); id < 1000; id++ {
		seen[p.Code(id)] = true
	}
	if len(seen) < 995 {
		t.Fatalf("only %d distinct codes for 1000 orders", len(seen))
	}
}
