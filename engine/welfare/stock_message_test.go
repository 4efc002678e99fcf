package welfare

import (
	"reflect"
	"testing"

	"huigong/engine/stock"
)

// A reservation travels with its lines whole; every other stock message with compact lines
// (SKU, quantity, code); the full form of those kinds, which older journals hold, still decodes.
func TestStockMessageForms(t *testing.T) {
	full := stockMessage{Order: 7, Member: 100, Union: 11, Lines: []stockLine{
		{SKU: 1, Quantity: 2, UnitPriceFen: 500, Code: stock.OK, MerchantID: 3, Category: "food"},
		{SKU: 2, Quantity: 1, UnitPriceFen: 800, Code: stock.SoldOut, MerchantID: 4, Category: "oil"},
	}}
	compact := stockMessage{Order: 7, Member: 100, Union: 11, Lines: []stockLine{
		{SKU: 1, Quantity: 2, Code: stock.OK}, {SKU: 2, Quantity: 1, Code: stock.SoldOut}}}
	s := &State{}
	for _, kind := range []byte{messageReserve, messageReserved, messageConfirm, messageRelease, messageHandOut, messageGoodsBack, messageUncollected} {
		b := appendStockMessage(nil, kind, &full)
		isCompact := b[0]&compactStock != 0
		if isCompact != (kind != messageReserve) || b[0]&^compactStock != kind {
			t.Fatalf("kind %d sent as %#x", kind, b[0])
		}
		got, err := s.decodeStockMessage(b[1:], isCompact)
		if err != nil {
			t.Fatalf("kind %d: %v", kind, err)
		}
		want := compact
		if !isCompact {
			want = full
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("kind %d: %+v, want %+v", kind, got, want)
		}
		for cut := 1; cut < len(b)-1; cut++ {
			if _, err := s.decodeStockMessage(b[1:cut], isCompact); err == nil {
				t.Fatalf("kind %d cut at %d decodes", kind, cut)
			}
		}
	}
	// The full form under a kind now sent compact: what an older journal's outbox holds.
	old := append([]byte{messageConfirm}, appendStockMessage(nil, messageReserve, &full)[1:]...)
	got, err := s.decodeStockMessage(old[1:], false)
	if err != nil || !reflect.DeepEqual(got, full) {
		t.Fatalf("an old confirm: %+v, %v", got, err)
	}
}
