package projection_test

import (
	"testing"

	"huigong/engine/ledger"
	"huigong/engine/projection"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// WelfareEvents hands over the ledger events of a mixed stream, in order, and skips the welfare
// and stock events between them; LedgerEvents refuses such a stream.
func TestWelfareEventsSkipsOtherEvents(t *testing.T) {
	first := ledger.Event{Kind: ledger.EventTransferCreated, Transfer: ledger.Transfer{ID: 1, DebitAccountID: 2, CreditAccountID: 3, AmountFen: 4, Code: ledger.CodeIssue}}
	second := ledger.Event{Kind: ledger.EventBalanceRecorded, Transfer: ledger.Transfer{ID: 1}, Account: ledger.Account{ID: 3, CreditsPostedFen: 4}}
	var stream []byte
	stream = welfare.AppendEvent(stream, &welfare.Event{Kind: welfare.EventUnionCreated, Union: &welfare.Union{ID: 1, Name: "union"}})
	stream = ledger.AppendEvent(stream, &first)
	stream = welfare.AppendEvent(stream, &welfare.Event{Kind: welfare.EventMemberIssued, ProgramID: 5, MemberID: 6, AmountFen: 4, AccountID: 3})
	stream = stock.AppendEvent(stream, &stock.Event{Kind: stock.EventReserved, SKUID: 9, Order: 10, Member: 6, Quantity: 1})
	stream = ledger.AppendEvent(stream, &second)

	var got []ledger.Event
	if err := projection.WelfareEvents(stream, func(e *ledger.Event) { got = append(got, *e) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != first || got[1] != second {
		t.Fatalf("ledger events %+v", got)
	}
	if err := projection.LedgerEvents(stream, func(*ledger.Event) {}); err == nil {
		t.Fatal("LedgerEvents read a welfare stream")
	}
	if err := projection.WelfareEvents(stream[:len(stream)-1], func(*ledger.Event) {}); err == nil {
		t.Fatal("WelfareEvents read a truncated stream")
	}
	// The rule both decoders rely on: ledger kinds stay below the welfare kinds.
	if ledger.EventBalanceRecorded >= 32 || welfare.EventConfigSet < 32 || stock.IsEvent(byte(welfare.EventFederationOfficerAdded)) {
		t.Fatal("event kinds of ledger, welfare and stock overlap")
	}
}
