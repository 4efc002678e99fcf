package mall

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"

	"huigong/engine/stock"
)

// ErrBadAmount is wrapped by every error about a money string.
var ErrBadAmount = errors.New("bad amount")

// amountFenMax bounds amounts the API accepts: a trillion yuan is far beyond any union's
// budget and far below int64 fen.
const amountFenMax = 1_000_000_000_000_00

var hundred = decimal.NewFromInt(100)

// ParseYuan parses a decimal yuan string ("12.50", "3", "0.07") to fen. It refuses more than
// two decimals, signs other than a plain number, exponents, and amounts beyond amountFenMax.
func ParseYuan(s string) (int64, error) {
	if s == "" || len(s) > 32 || strings.ContainsAny(s, "eE+ _") {
		return 0, fmt.Errorf("%w: %q is not a yuan amount like \"12.50\"", ErrBadAmount, s)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is not a yuan amount like \"12.50\"", ErrBadAmount, s)
	}
	if d.Exponent() < -2 && !d.Equal(d.Round(2)) {
		return 0, fmt.Errorf("%w: %q has more than two decimals", ErrBadAmount, s)
	}
	fen := d.Mul(hundred)
	if fen.Abs().GreaterThan(decimal.NewFromInt(amountFenMax)) {
		return 0, fmt.Errorf("%w: %q is too large", ErrBadAmount, s)
	}
	return fen.IntPart(), nil
}

// ParsePositiveYuan is ParseYuan for amounts that must be above zero.
func ParsePositiveYuan(s string) (int64, error) {
	fen, err := ParseYuan(s)
	if err != nil {
		return 0, err
	}
	if fen <= 0 {
		return 0, fmt.Errorf("%w: %q must be more than zero", ErrBadAmount, s)
	}
	return fen, nil
}

// FormatYuan formats fen as a yuan string with two decimals.
func FormatYuan(fen int64) string {
	return decimal.New(fen, -2).StringFixed(2)
}

// DiscountedUnitFen is a unit price less a campaign discount in basis points, computed with
// decimal and rounded half-up to the fen, as the mall shows it.
func DiscountedUnitFen(priceFen, discountBps int64) int64 {
	price := decimal.New(priceFen, -2)
	factor := decimal.NewFromInt(10_000 - discountBps).Div(decimal.NewFromInt(10_000))
	return price.Mul(factor).Round(2).Mul(hundred).IntPart()
}

// UnitPriceFen is what a member of union pays for one unit of sku at nowNanos.
func UnitPriceFen(sku *stock.SKU, union uint64, nowNanos int64, campaigns []stock.Campaign) int64 {
	for i := range campaigns {
		c := &campaigns[i]
		if nowNanos >= c.FromNanos && nowNanos < c.ToNanos &&
			(len(c.Unions) == 0 || containsUnion(c.Unions, union)) &&
			(len(c.SKUs) == 0 || containsSKU(c.SKUs, sku.ID)) {
			return DiscountedUnitFen(sku.PriceFen, c.DiscountBps)
		}
	}
	return sku.PriceFen
}

func containsUnion(list []stock.UnionID, u uint64) bool {
	for _, x := range list {
		if uint64(x) == u {
			return true
		}
	}
	return false
}

func containsSKU(list []stock.SKUID, id stock.SKUID) bool {
	for _, x := range list {
		if x == id {
			return true
		}
	}
	return false
}
