package mall

import (
	"slices"

	"huigong/engine/welfare"
)

// Statement is a merchant's settlement for a period: what was handed out (and so is owed to
// the merchant) less what came back, from the order stream.
type Statement struct {
	MerchantID welfare.MerchantID
	FromNanos  int64
	ToNanos    int64
	Lines      []StatementLine
	TotalFen   int64
}

// StatementLine is one order's part for the merchant.
type StatementLine struct {
	OrderID   welfare.OrderID
	AtNanos   int64
	AmountFen int64 // negative for a return
	Kind      string
}

// Statement builds a merchant's statement for [fromNanos, toNanos) from the stream.
func (e *Engine) Statement(merchant welfare.MerchantID, fromNanos, toNanos int64) Statement {
	st := Statement{MerchantID: merchant, FromNanos: fromNanos, ToNanos: toNanos}
	seen := map[welfare.OrderID]welfare.OrderState{}
	for off := uint64(0); ; {
		events, next := e.stream.Read(off, 4096)
		if len(events) == 0 {
			break
		}
		off = next
		for _, ev := range events {
			o := ev.Order
			if seen[o.ID] == o.State {
				continue
			}
			seen[o.ID] = o.State
			var fen int64
			for _, h := range o.Holds {
				if h.MerchantID == merchant {
					fen += h.AmountFen
				}
			}
			if fen == 0 {
				continue
			}
			switch o.State {
			case welfare.OrderHandedOut:
				if o.HandedNanos >= fromNanos && o.HandedNanos < toNanos {
					st.Lines = append(st.Lines, StatementLine{OrderID: o.ID, AtNanos: o.HandedNanos, AmountFen: fen, Kind: "handed_out"})
				}
			case welfare.OrderReturned:
				if o.ReturnedNanos >= fromNanos && o.ReturnedNanos < toNanos {
					st.Lines = append(st.Lines, StatementLine{OrderID: o.ID, AtNanos: o.ReturnedNanos, AmountFen: -fen, Kind: "returned"})
				}
			}
		}
	}
	slices.SortStableFunc(st.Lines, func(a, b StatementLine) int {
		switch {
		case a.AtNanos < b.AtNanos:
			return -1
		case a.AtNanos > b.AtNanos:
			return 1
		}
		return 0
	})
	for _, l := range st.Lines {
		st.TotalFen += l.AmountFen
	}
	return st
}
