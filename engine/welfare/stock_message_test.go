package welfare

import (
	"encoding/binary"
	"reflect"
	"testing"

	"huigong/engine/stock"
)

// A reservation travels with its lines whole; every other stock message with compact lines
// (SKU, quantity, code); all with their hints. The forms older journals' outboxes hold, without
// hints and with whole lines, still decode; nothing decodes cut short.
func TestStockMessageForms(t *testing.T) {
	full := stockMessage{Order: 7, Member: 100, Union: 11, Hint: 42, Lines: []stockLine{
		{SKU: 1, Quantity: 2, UnitPriceFen: 500, Code: stock.OK, MerchantID: 3, Category: "food", Hint: 9},
		{SKU: 2, Quantity: 1, UnitPriceFen: 800, Code: stock.SoldOut, MerchantID: 4, Category: "oil"},
	}}
	compact := stockMessage{Order: 7, Member: 100, Union: 11, Hint: 42, Lines: []stockLine{
		{SKU: 1, Quantity: 2, Code: stock.OK, Hint: 9}, {SKU: 2, Quantity: 1, Code: stock.SoldOut}}}
	unhinted := func(m stockMessage) stockMessage {
		m.Hint, m.Lines = 0, append([]stockLine(nil), m.Lines...)
		for i := range m.Lines {
			m.Lines[i].Hint = 0
		}
		return m
	}
	s := &State{}
	for _, kind := range []byte{messageReserve, messageReserved, messageConfirm, messageRelease, messageHandOut, messageGoodsBack, messageUncollected} {
		b := appendStockMessage(nil, kind, &full)
		isCompact := b[0]&compactStock != 0
		if isCompact != (kind != messageReserve) || b[0]&hintedStock == 0 || b[0]&^(compactStock|hintedStock) != kind {
			t.Fatalf("kind %d sent as %#x", kind, b[0])
		}
		want := compact
		if !isCompact {
			want = full
		}
		old := appendOldStockMessage(nil, b[0]&^hintedStock, &full)
		for name, tc := range map[string]struct {
			b    []byte
			want stockMessage
		}{"hinted": {b, want}, "old": {old, unhinted(want)}} {
			hinted := tc.b[0]&hintedStock != 0
			got, err := s.decodeStockMessage(tc.b[1:], isCompact, hinted)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("kind %d, %s form: %+v, %v; want %+v", kind, name, got, err, tc.want)
			}
			for cut := 1; cut < len(tc.b)-1; cut++ {
				if _, err := s.decodeStockMessage(tc.b[1:cut], isCompact, hinted); err == nil {
					t.Fatalf("kind %d, %s form cut at %d decodes", kind, name, cut)
				}
			}
		}
	}
	// Whole lines under a kind now sent compact: what the oldest journals' outboxes hold.
	old := appendOldStockMessage(nil, messageConfirm, &full)
	got, err := s.decodeStockMessage(old[1:], false, false)
	if err != nil || !reflect.DeepEqual(got, unhinted(full)) {
		t.Fatalf("an old confirm: %+v, %v", got, err)
	}
}

// appendOldStockMessage writes the form earlier builds sent: no hints.
func appendOldStockMessage(dst []byte, kind byte, m *stockMessage) []byte {
	le := binary.LittleEndian
	dst = append(dst, kind)
	dst = le.AppendUint64(dst, uint64(m.Order))
	dst = le.AppendUint64(dst, uint64(m.Member))
	dst = le.AppendUint64(dst, uint64(m.Union))
	dst = le.AppendUint16(dst, uint16(len(m.Lines)))
	for _, l := range m.Lines {
		dst = le.AppendUint64(dst, uint64(l.SKU))
		dst = le.AppendUint64(dst, uint64(l.Quantity))
		if kind&compactStock != 0 {
			dst = append(dst, byte(l.Code))
			continue
		}
		dst = le.AppendUint64(dst, uint64(l.UnitPriceFen))
		dst = append(dst, byte(l.Code))
		dst = le.AppendUint64(dst, uint64(l.MerchantID))
		dst = append(dst, byte(len(l.Category)))
		dst = append(dst, l.Category...)
	}
	return dst
}
