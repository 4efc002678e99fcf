package ledger_test

// Known failures: each test reproduces the shape of a failure that has been published against
// other ledgers and wallets (a credit lost under concurrent transfers, a hold not counted
// against the balance, a refund or a void applied twice, a capture larger than its
// authorisation) and shows that it cannot happen here. Each asserts exact results and exact
// balances, and every batch goes through checkBatch: invariants, codec round trip and replay.

import (
	"fmt"
	"testing"

	"huigong/engine/ledger"
)

// ledgerRun drives a live ledger and its replay, one checked batch at a time.
type ledgerRun struct {
	t      *testing.T
	live   *ledger.Ledger
	replay *ledger.Ledger
}

func newLedgerRun(t *testing.T) *ledgerRun {
	return &ledgerRun{t: t, live: ledger.New(), replay: ledger.New()}
}

// execute runs one batch at nowNanos and returns its results.
func (r *ledgerRun) execute(nowNanos int64, cmds ...ledger.Command) []ledger.Result {
	r.t.Helper()
	got := make([]ledger.Result, len(cmds))
	events := r.live.Execute(nowNanos, cmds, got, nil)
	if err := checkBatch(r.live, r.replay, got, events); err != nil {
		r.t.Fatalf("batch at %d: %v", nowNanos, err)
	}
	return got
}

// expect runs one batch and fails unless its results are want.
func (r *ledgerRun) expect(nowNanos int64, want []ledger.Result, cmds ...ledger.Command) {
	r.t.Helper()
	got := r.execute(nowNanos, cmds...)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		r.t.Fatalf("batch at %d: results %v, want %v", nowNanos, got, want)
	}
}

// kfBalances is an account's four balances, for exact comparison.
type kfBalances struct {
	debitsPosted, debitsPending, creditsPosted, creditsPending int64
}

func (r *ledgerRun) expectBalances(id ledger.AccountID, want kfBalances) {
	r.t.Helper()
	a, ok := r.live.Account(id)
	if !ok {
		r.t.Fatalf("account %d not found", id)
	}
	got := kfBalances{a.DebitsPostedFen, a.DebitsPendingFen, a.CreditsPostedFen, a.CreditsPendingFen}
	if got != want {
		r.t.Fatalf("account %d: balances %+v, want %+v", id, got, want)
	}
}

func kfResults(rs ...ledger.Result) []ledger.Result { return rs }

func kfAccount(id ledger.AccountID, kind ledger.AccountKind, flags ledger.AccountFlags) ledger.Command {
	return ledger.AccountCommand(ledger.Account{ID: id, Kind: kind, Flags: flags})
}

func kfTransfer(id ledger.TransferID, debit, credit ledger.AccountID, amountFen int64, code ledger.TransferCode) ledger.Transfer {
	return ledger.Transfer{ID: id, DebitAccountID: debit, CreditAccountID: credit, AmountFen: amountFen, Code: code}
}

func kfCmd(t ledger.Transfer) ledger.Command { return ledger.TransferCommand(t) }

func kfHold(id ledger.TransferID, debit, credit ledger.AccountID, amountFen int64) ledger.Command {
	t := kfTransfer(id, debit, credit, amountFen, ledger.CodeSpendHold)
	t.Flags = ledger.Pending
	return kfCmd(t)
}

func kfPost(id, pendingID ledger.TransferID, amountFen int64) ledger.Command {
	return kfCmd(ledger.Transfer{ID: id, PendingID: pendingID, AmountFen: amountFen, Code: ledger.CodePost, Flags: ledger.PostPending})
}

func kfVoid(id, pendingID ledger.TransferID) ledger.Command {
	return kfCmd(ledger.Transfer{ID: id, PendingID: pendingID, Code: ledger.CodeVoid, Flags: ledger.VoidPending})
}

func kfRefund(id, refundOfID ledger.TransferID, amountFen int64) ledger.Command {
	return kfCmd(ledger.Transfer{ID: id, RefundOfID: refundOfID, AmountFen: amountFen, Code: ledger.CodeRefund})
}

const (
	kfFunding  ledger.AccountID = 1
	kfBudget   ledger.AccountID = 2
	kfMember   ledger.AccountID = 3
	kfMerchant ledger.AccountID = 4
)

// newKFRun creates the four accounts above and gives the member memberFen points.
func newKFRun(t *testing.T, memberFen int64) *ledgerRun {
	r := newLedgerRun(t)
	r.expect(1, kfResults(ledger.OK, ledger.OK, ledger.OK, ledger.OK),
		kfAccount(kfFunding, ledger.KindFederationFunding, 0),
		kfAccount(kfBudget, ledger.KindUnionBudget, ledger.AccountNoOverdraft),
		kfAccount(kfMember, ledger.KindMemberPoints, ledger.AccountNoOverdraft|ledger.AccountHistory),
		kfAccount(kfMerchant, ledger.KindMerchantReceivable, 0))
	r.expect(2, kfResults(ledger.OK, ledger.OK),
		kfCmd(kfTransfer(1, kfFunding, kfBudget, memberFen, ledger.CodeFund)),
		kfCmd(kfTransfer(2, kfBudget, kfMember, memberFen, ledger.CodeIssue)))
	return r
}

// A credit is lost when concurrent read-modify-write updates of one hot balance overwrite each
// other, or when a failed multi-leg operation rolls back a balance to a stale value that
// overwrites later credits. Here many distinct sources credit one destination in one batch and
// across batches, in linked chains of which some fail; the destination's credits are exactly the
// sum of the transfers that were ok, and every source lost exactly what it sent.
func TestKnownFailure_LostCredit(t *testing.T) {
	const (
		destination   ledger.AccountID = 9
		sourcesCount                   = 60
		chainLength                    = 3
		firstSourceID ledger.AccountID = 100
	)
	r := newLedgerRun(t)
	r.expect(1, kfResults(ledger.OK, ledger.OK, ledger.OK),
		kfAccount(kfFunding, ledger.KindFederationFunding, 0),
		kfAccount(kfBudget, ledger.KindUnionBudget, ledger.AccountNoOverdraft),
		kfAccount(destination, ledger.KindMerchantReceivable, 0))

	// Each source gets its own balance, 1.00 to 60.00 yuan.
	fundedFen := func(i int) int64 { return int64(i+1) * 100 }
	var setup []ledger.Command
	var setupResults []ledger.Result
	var totalFen int64
	for i := range sourcesCount {
		setup = append(setup, kfAccount(firstSourceID+ledger.AccountID(i), ledger.KindMemberPoints, ledger.AccountNoOverdraft))
		totalFen += fundedFen(i)
	}
	setup = append(setup, kfCmd(kfTransfer(1, kfFunding, kfBudget, totalFen, ledger.CodeFund)))
	for i := range sourcesCount {
		setup = append(setup, kfCmd(kfTransfer(ledger.TransferID(10+i), kfBudget, firstSourceID+ledger.AccountID(i), fundedFen(i), ledger.CodeIssue)))
	}
	for range setup {
		setupResults = append(setupResults, ledger.OK)
	}
	r.expect(2, setupResults, setup...)

	sentFen := make([]int64, sourcesCount) // what each source has sent, by the test's own count
	var wantCreditsFen int64

	// round sends from every source to the destination in chains of chainLength. In every
	// chain whose index is in failing, the middle source asks for more than it has, so the
	// whole chain fails; the other chains send sendFen(i).
	round := func(nowNanos int64, firstID ledger.TransferID, sendFen func(i int) int64, failing map[int]bool) {
		t.Helper()
		amountsFen := make([]int64, sourcesCount)
		var cmds []ledger.Command
		var want []ledger.Result
		for i := range sourcesCount {
			chain, position := i/chainLength, i%chainLength
			source := firstSourceID + ledger.AccountID(i)
			amountsFen[i] = sendFen(i)
			tr := kfTransfer(firstID+ledger.TransferID(i), source, destination, amountsFen[i], ledger.CodeSettle)
			if position < chainLength-1 {
				tr.Flags = ledger.Linked
			}
			switch {
			case failing[chain] && position == 1:
				tr.AmountFen = fundedFen(i) - sentFen[i] + 1
				want = append(want, ledger.ExceedsCredits)
			case failing[chain]:
				want = append(want, ledger.LinkedEventFailed)
			default:
				want = append(want, ledger.OK)
			}
			cmds = append(cmds, kfCmd(tr))
		}
		r.expect(nowNanos, want, cmds...)
		for i := range sourcesCount {
			if !failing[i/chainLength] {
				sentFen[i] += amountsFen[i]
				wantCreditsFen += amountsFen[i]
			}
		}
	}

	// One batch: each source sends half of what it has; chains 1, 5, 6 and 19 fail.
	failedFirst := map[int]bool{1: true, 5: true, 6: true, 19: true}
	half := func(i int) int64 { return fundedFen(i) / 2 }
	round(3, 1000, half, failedFirst)
	r.expectBalances(destination, kfBalances{creditsPosted: wantCreditsFen})

	// The same batch again, with the failing amounts corrected. A chain that was ok starts with
	// a transfer that exists, and exists is not ok, so the chain fails and credits nothing
	// twice. A chain that failed was never created, so it is decided afresh and is ok now.
	var retry []ledger.Command
	var retryWant []ledger.Result
	for i := range sourcesCount {
		tr := kfTransfer(ledger.TransferID(1000+i), firstSourceID+ledger.AccountID(i), destination, half(i), ledger.CodeSettle)
		if i%chainLength < chainLength-1 {
			tr.Flags = ledger.Linked
		}
		switch {
		case failedFirst[i/chainLength]:
			retryWant = append(retryWant, ledger.OK)
		case i%chainLength == 0:
			retryWant = append(retryWant, ledger.Exists)
		default:
			retryWant = append(retryWant, ledger.LinkedEventFailed)
		}
		retry = append(retry, kfCmd(tr))
	}
	r.expect(4, retryWant, retry...)
	for i := range sourcesCount {
		if failedFirst[i/chainLength] {
			sentFen[i] += half(i)
			wantCreditsFen += half(i)
		}
	}
	r.expectBalances(destination, kfBalances{creditsPosted: wantCreditsFen})

	// A third batch: each source sends all it has left; chains 0, 7 and 12 fail.
	rest := func(i int) int64 { return fundedFen(i) - sentFen[i] }
	round(5, 2000, rest, map[int]bool{0: true, 7: true, 12: true})
	r.expectBalances(destination, kfBalances{creditsPosted: wantCreditsFen})

	// The same total by hand: every source sent all it had (1.00 + 2.00 + ... + 60.00 =
	// 1830.00), except that sources 0-2, 21-23 and 36-38 sent only their first half
	// ((1+2+3 + 22+23+24 + 37+38+39) / 2 = 94.50 kept).
	const wantTotalFen = 1830_00 - 94_50
	var sourcesDebitsFen int64
	for i := range sourcesCount {
		id := firstSourceID + ledger.AccountID(i)
		r.expectBalances(id, kfBalances{debitsPosted: sentFen[i], creditsPosted: fundedFen(i)})
		a, _ := r.live.Account(id)
		sourcesDebitsFen += a.DebitsPostedFen
	}
	if sourcesDebitsFen != wantTotalFen {
		t.Fatalf("sources sent %d fen, want %d", sourcesDebitsFen, wantTotalFen)
	}
	r.expectBalances(destination, kfBalances{creditsPosted: wantTotalFen})
}

// A hold (an authorisation) that is not subtracted from the spendable balance lets a customer
// spend the same points twice: once through the hold, once directly. Here a spend that fits the
// posted balance but not the balance less the hold is refused, and so is a second hold.
func TestKnownFailure_PendingNotCounted(t *testing.T) {
	r := newKFRun(t, 100_00)
	r.expect(10, kfResults(ledger.OK), kfHold(10, kfMember, kfMerchant, 60_00))
	r.expectBalances(kfMember, kfBalances{debitsPending: 60_00, creditsPosted: 100_00})

	spend := kfCmd(kfTransfer(11, kfMember, kfMerchant, 50_00, ledger.CodeSettle))
	r.expect(11, kfResults(ledger.ExceedsCredits, ledger.ExceedsCredits),
		spend, kfHold(12, kfMember, kfMerchant, 50_00))
	r.expectBalances(kfMember, kfBalances{debitsPending: 60_00, creditsPosted: 100_00})

	// Exactly the balance less the hold fits, and then not one fen more, held or spent.
	r.expect(12, kfResults(ledger.OK, ledger.ExceedsCredits, ledger.ExceedsCredits),
		kfCmd(kfTransfer(13, kfMember, kfMerchant, 40_00, ledger.CodeSettle)),
		kfHold(14, kfMember, kfMerchant, 1),
		kfCmd(kfTransfer(15, kfMember, kfMerchant, 1, ledger.CodeSettle)))
	r.expectBalances(kfMember, kfBalances{debitsPosted: 40_00, debitsPending: 60_00, creditsPosted: 100_00})
	r.expectBalances(kfMerchant, kfBalances{creditsPosted: 40_00, creditsPending: 60_00})

	// Voiding the hold gives its points back to spend.
	r.expect(13, kfResults(ledger.OK, ledger.OK), kfVoid(16, 10), kfCmd(kfTransfer(11, kfMember, kfMerchant, 50_00, ledger.CodeSettle)))
	r.expectBalances(kfMember, kfBalances{debitsPosted: 90_00, creditsPosted: 100_00})
}

// A refund applied twice (a retried request, or two refund requests racing) pays the customer
// back twice. Here the same refund id again is exists and moves nothing, and a second refund id
// for the full amount exceeds what remains refundable.
func TestKnownFailure_RefundTwice(t *testing.T) {
	r := newKFRun(t, 50_00)
	r.expect(10, kfResults(ledger.OK), kfCmd(kfTransfer(10, kfMember, kfMerchant, 30_00, ledger.CodeSettle)))
	r.expect(11, kfResults(ledger.OK, ledger.Exists), kfRefund(20, 10, 30_00), kfRefund(20, 10, 30_00))
	r.expect(12, kfResults(ledger.Exists, ledger.ExceedsRefundableAmount, ledger.ExceedsRefundableAmount),
		kfRefund(20, 10, 30_00), kfRefund(21, 10, 30_00), kfRefund(22, 10, 1))
	r.expectBalances(kfMember, kfBalances{debitsPosted: 30_00, creditsPosted: 80_00})
	r.expectBalances(kfMerchant, kfBalances{debitsPosted: 30_00, creditsPosted: 30_00})
	if st, _ := r.live.LookupTransfer(10); st.RefundedFen != 30_00 {
		t.Fatalf("transfer 10 refunded %d, want %d", st.RefundedFen, 30_00)
	}
}

// A void applied twice releases a hold twice, so the available balance grows from nothing.
// Here a second void with a new id is refused as already voided, the same void id again is
// exists, and the hold is released exactly once.
func TestKnownFailure_VoidTwice(t *testing.T) {
	r := newKFRun(t, 50_00)
	r.expect(10, kfResults(ledger.OK), kfHold(10, kfMember, kfMerchant, 25_00))
	r.expectBalances(kfMember, kfBalances{debitsPending: 25_00, creditsPosted: 50_00})
	r.expect(11, kfResults(ledger.OK, ledger.PendingTransferAlreadyVoided), kfVoid(20, 10), kfVoid(21, 10))
	r.expect(12, kfResults(ledger.PendingTransferAlreadyVoided, ledger.Exists, ledger.PendingTransferAlreadyVoided),
		kfVoid(21, 10), kfVoid(20, 10), kfPost(22, 10, 0))
	r.expectBalances(kfMember, kfBalances{creditsPosted: 50_00})
	r.expectBalances(kfMerchant, kfBalances{})
	if a, _ := r.live.Account(kfMember); a.AvailableFen() != 50_00 {
		t.Fatalf("member available %d, want %d", a.AvailableFen(), 50_00)
	}
}

// A capture for more than was authorised moves value nobody agreed to, and a capture applied
// twice moves it twice. Here a post for more than held is refused and moves nothing, and a
// second post of the same hold is refused as already posted.
func TestKnownFailure_PostMoreThanHeld(t *testing.T) {
	r := newKFRun(t, 50_00)
	r.expect(10, kfResults(ledger.OK), kfHold(10, kfMember, kfMerchant, 10_00))
	r.expect(11, kfResults(ledger.ExceedsPendingTransferAmount), kfPost(20, 10, 10_01))
	r.expectBalances(kfMember, kfBalances{debitsPending: 10_00, creditsPosted: 50_00})
	r.expectBalances(kfMerchant, kfBalances{creditsPending: 10_00})
	if st, _ := r.live.LookupTransfer(10); !st.Open {
		t.Fatalf("transfer 10 is closed after a refused post: %+v", st)
	}

	r.expect(12, kfResults(ledger.OK, ledger.PendingTransferAlreadyPosted), kfPost(20, 10, 10_00), kfPost(21, 10, 1))
	r.expect(13, kfResults(ledger.PendingTransferAlreadyPosted, ledger.Exists), kfPost(22, 10, 0), kfPost(20, 10, 0))
	r.expectBalances(kfMember, kfBalances{debitsPosted: 10_00, creditsPosted: 50_00})
	r.expectBalances(kfMerchant, kfBalances{creditsPosted: 10_00})
}
