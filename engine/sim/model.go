package sim

import (
	"fmt"
	"math"
	"math/big"

	"huigong/engine/ledger"
)

// model is a deliberately simple reference of one shard's ledger, written from the ledger's
// package doc and result precedence (the order of the Result constants), and sharing no code
// with engine/ledger beyond its public types. It keeps every transfer whole, finds expired holds
// by scanning, and checks for overflow with big integers.
//
// It can undo: while a linked chain is open, or while a whole request is applied tentatively
// (to resolve a request whose answer a crash lost), it logs the pre-image of every account and
// transfer it changes, so a failed chain or a request that did not survive is rolled back.
type model struct {
	shard     uint32
	accounts  map[ledger.AccountID]ledger.Account
	order     []ledger.AccountID // in creation order, as Ledger.ForEachAccount visits them
	transfers map[ledger.TransferID]modelTransfer
	// deadlined lists the pending transfers created with a deadline; expire scans it and drops
	// the ones no longer open.
	deadlined []ledger.TransferID
	// dirty are the transfers changed since the last compare, which looks them all up.
	dirty map[ledger.TransferID]struct{}

	undo      []undoRecord
	chainOpen bool
	chainMark undoMark
	tentative bool
	tentMark  undoMark
}

// modelTransfer is a created transfer as journaled (accounts and amount resolved, Linked
// cleared) and what has happened to it since.
type modelTransfer struct {
	ledger.Transfer
	open, posted, voided, expired bool
	postedFen, refundedFen        int64
}

type undoRecord struct {
	isAccount   bool
	existed     bool
	accountID   ledger.AccountID
	transferID  ledger.TransferID
	oldAccount  ledger.Account
	oldTransfer modelTransfer
}

type undoMark struct {
	undo, order int
}

func newModel(shard uint32, inTransit ledger.AccountID) *model {
	m := &model{
		shard:     shard,
		accounts:  make(map[ledger.AccountID]ledger.Account),
		transfers: make(map[ledger.TransferID]modelTransfer),
		dirty:     make(map[ledger.TransferID]struct{}),
	}
	// The shard machine creates its in-transit account itself, outside any batch.
	a := ledger.Account{ID: inTransit, Kind: ledger.KindInTransit, UserData: uint64(shard)}
	m.accounts[a.ID] = a
	m.order = append(m.order, a.ID)
	return m
}

func (m *model) logging() bool { return m.chainOpen || m.tentative }

func (m *model) mark() undoMark { return undoMark{undo: len(m.undo), order: len(m.order)} }

func (m *model) putAccount(a ledger.Account) {
	if m.logging() {
		old, ok := m.accounts[a.ID]
		m.undo = append(m.undo, undoRecord{isAccount: true, existed: ok, accountID: a.ID, oldAccount: old})
	}
	m.accounts[a.ID] = a
}

func (m *model) putTransfer(t modelTransfer) {
	if m.logging() {
		old, ok := m.transfers[t.ID]
		m.undo = append(m.undo, undoRecord{existed: ok, transferID: t.ID, oldTransfer: old})
	}
	m.transfers[t.ID] = t
	m.dirty[t.ID] = struct{}{}
}

// rollbackTo restores the pre-images logged since mk, newest first.
func (m *model) rollbackTo(mk undoMark) {
	for i := len(m.undo) - 1; i >= mk.undo; i-- {
		u := &m.undo[i]
		switch {
		case u.isAccount && u.existed:
			m.accounts[u.accountID] = u.oldAccount
		case u.isAccount:
			delete(m.accounts, u.accountID)
		case u.existed:
			m.transfers[u.transferID] = u.oldTransfer
		default:
			delete(m.transfers, u.transferID)
		}
	}
	m.undo = m.undo[:mk.undo]
	m.order = m.order[:mk.order]
}

// begin starts applying a request tentatively; commit keeps it, abort rolls it back.
func (m *model) begin() {
	if m.tentative || m.chainOpen || len(m.undo) != 0 {
		panic("sim: model: nested tentative request")
	}
	m.tentative, m.tentMark = true, m.mark()
}

func (m *model) commit() {
	m.tentative = false
	m.undo = m.undo[:0]
}

func (m *model) abort() {
	m.rollbackTo(m.tentMark)
	m.tentative = false
}

func linkedCommand(c *ledger.Command) bool {
	if c.Kind == ledger.CreateAccount {
		return c.Account.Flags&ledger.AccountLinked != 0
	}
	return c.Transfer.Flags&ledger.Linked != 0
}

// execute decides one request's commands at batch time now, as Ledger.Execute does after the
// batch's expiries: a linked chain runs to its first command that is not linked, and fails as a
// whole; a chain still open at the end of the request fails with linked_event_chain_open.
func (m *model) execute(now int64, cmds []ledger.Command, results []ledger.Result) {
	m.expire(now)
	chainStart := -1
	chainFailed := false
	for i := range cmds {
		c := &cmds[i]
		linked := linkedCommand(c)
		if linked && chainStart < 0 {
			chainStart, chainFailed = i, false
			m.chainOpen, m.chainMark = true, m.mark()
		}
		if chainStart >= 0 && chainFailed {
			results[i] = ledger.LinkedEventFailed
		} else {
			r := ledger.LinkedEventChainOpen
			if !linked || i < len(cmds)-1 {
				r = m.decide(now, c)
			}
			results[i] = r
			if r != ledger.OK && chainStart >= 0 {
				chainFailed = true
				for j := chainStart; j < i; j++ {
					results[j] = ledger.LinkedEventFailed
				}
				m.rollbackTo(m.chainMark)
			}
		}
		if chainStart >= 0 && !linked {
			chainStart = -1
			m.endChain()
		}
	}
	if chainStart >= 0 {
		m.endChain()
	}
}

func (m *model) endChain() {
	m.chainOpen = false
	if !m.tentative {
		m.undo = m.undo[:0]
	}
}

// expire closes every open hold whose deadline has come. The order does not change the state.
func (m *model) expire(now int64) {
	compact := !m.logging() // an undo could reopen a hold, so keep every id while logging
	kept := m.deadlined[:0]
	for _, id := range m.deadlined {
		t, ok := m.transfers[id]
		if ok && t.open && t.DeadlineNanos != 0 && t.DeadlineNanos <= now {
			d, c := m.accounts[t.DebitAccountID], m.accounts[t.CreditAccountID]
			d.DebitsPendingFen -= t.AmountFen
			c.CreditsPendingFen -= t.AmountFen
			m.putAccount(d)
			m.putAccount(c)
			t.open, t.expired = false, true
			m.putTransfer(t)
			continue
		}
		if compact && ok && t.open && t.DeadlineNanos != 0 {
			kept = append(kept, id)
		}
	}
	if compact {
		m.deadlined = kept
	}
}

// decide decides one command; engine marks a command the engine makes itself.
func (m *model) decide(now int64, c *ledger.Command) ledger.Result {
	switch c.Kind {
	case ledger.CreateAccount:
		r := m.checkAccount(&c.Account)
		if r == ledger.OK && c.Account.ID >= ledger.ReservedIDMin && !c.Engine {
			r = ledger.IDReserved
		}
		if r != ledger.OK {
			return r
		}
		a := c.Account
		a.Flags &^= ledger.AccountLinked
		a.TimestampNanos = now
		m.putAccount(a)
		m.order = append(m.order, a.ID)
		return ledger.OK
	case ledger.CreateTransfer:
		t, r := m.checkTransfer(now, &c.Transfer)
		if r == ledger.OK && c.Transfer.ID >= ledger.ReservedIDMin && !c.Engine {
			r = ledger.IDReserved
		}
		if r != ledger.OK {
			return r
		}
		m.applyTransfer(t)
		return ledger.OK
	}
	panic(fmt.Sprintf("sim: model: command kind %d", c.Kind))
}

func (m *model) checkAccount(a *ledger.Account) ledger.Result {
	switch {
	case a.TimestampNanos != 0:
		return ledger.TimestampMustBeZero
	case a.ID == 0:
		return ledger.IDMustNotBeZero
	case a.Flags&^(ledger.AccountLinked|ledger.AccountNoOverdraft|ledger.AccountHistory) != 0:
		return ledger.FlagsInvalid
	case a.DebitsPendingFen != 0 || a.DebitsPostedFen != 0 || a.CreditsPendingFen != 0 || a.CreditsPostedFen != 0:
		return ledger.BalancesMustBeZero
	case a.Kind < ledger.KindFederationFunding || a.Kind > ledger.KindExternalCash:
		return ledger.KindInvalid
	}
	old, ok := m.accounts[a.ID]
	switch {
	case !ok:
		return ledger.OK
	case old.Flags != a.Flags&^ledger.AccountLinked:
		return ledger.ExistsWithDifferentFlags
	case old.Kind != a.Kind:
		return ledger.ExistsWithDifferentKind
	case old.UserData != a.UserData:
		return ledger.ExistsWithDifferentUserData
	}
	return ledger.Exists
}

func isPending(t *ledger.Transfer) bool { return t.Flags&ledger.Pending != 0 }
func isPost(t *ledger.Transfer) bool    { return t.Flags&ledger.PostPending != 0 }
func isVoid(t *ledger.Transfer) bool    { return t.Flags&ledger.VoidPending != 0 }
func isRefund(t *ledger.Transfer) bool  { return t.RefundOfID != 0 }

// checkTransfer returns the transfer as it would be journaled, or why it is refused.
func (m *model) checkTransfer(now int64, t *ledger.Transfer) (ledger.Transfer, ledger.Result) {
	mechanics := 0
	for _, f := range []ledger.TransferFlags{ledger.Pending, ledger.PostPending, ledger.VoidPending} {
		if t.Flags&f != 0 {
			mechanics++
		}
	}
	closes := isPost(t) || isVoid(t)
	takesAccounts := closes || isRefund(t)
	none := ledger.Transfer{}
	switch {
	case t.TimestampNanos != 0:
		return none, ledger.TimestampMustBeZero
	case t.ID == 0:
		return none, ledger.IDMustNotBeZero
	case t.Flags&^(ledger.Linked|ledger.Pending|ledger.PostPending|ledger.VoidPending) != 0:
		return none, ledger.FlagsInvalid
	case mechanics > 1 || (isRefund(t) && mechanics > 0):
		return none, ledger.FlagsAreMutuallyExclusive
	case closes && t.PendingID == 0:
		return none, ledger.PendingIDMustNotBeZero
	case !closes && t.PendingID != 0:
		return none, ledger.PendingIDMustBeZero
	case closes && t.PendingID == t.ID:
		return none, ledger.PendingIDMustBeDifferent
	case isRefund(t) && t.RefundOfID == t.ID:
		return none, ledger.RefundOfIDMustBeDifferent
	case !takesAccounts && t.DebitAccountID == 0:
		return none, ledger.DebitAccountIDMustNotBeZero
	case !takesAccounts && t.CreditAccountID == 0:
		return none, ledger.CreditAccountIDMustNotBeZero
	case t.DebitAccountID != 0 && t.DebitAccountID == t.CreditAccountID:
		return none, ledger.AccountsMustBeDifferent
	case t.Code == 0:
		return none, ledger.CodeMustNotBeZero
	case t.AmountFen < 0:
		return none, ledger.AmountMustNotBeNegative
	case !closes && t.AmountFen == 0:
		return none, ledger.AmountMustBePositive
	case !isPending(t) && t.DeadlineNanos != 0:
		return none, ledger.DeadlineMustBeZero
	}
	if old, ok := m.transfers[t.ID]; ok {
		return none, m.exists(&old.Transfer, t)
	}
	if isPending(t) && t.DeadlineNanos != 0 && t.DeadlineNanos <= now {
		return none, ledger.DeadlineMustBeInFuture
	}

	out := *t
	out.Flags &^= ledger.Linked
	out.TimestampNanos = now
	switch {
	case closes:
		p, ok := m.transfers[t.PendingID]
		switch {
		case !ok:
			return none, ledger.PendingTransferNotFound
		case !isPending(&p.Transfer):
			return none, ledger.PendingTransferNotPending
		case t.DebitAccountID != 0 && t.DebitAccountID != p.DebitAccountID:
			return none, ledger.PendingTransferHasDifferentDebitAccountID
		case t.CreditAccountID != 0 && t.CreditAccountID != p.CreditAccountID:
			return none, ledger.PendingTransferHasDifferentCreditAccountID
		case p.posted:
			return none, ledger.PendingTransferAlreadyPosted
		case p.voided:
			return none, ledger.PendingTransferAlreadyVoided
		case p.expired:
			return none, ledger.PendingTransferExpired
		case isPost(t) && t.AmountFen > p.AmountFen:
			return none, ledger.ExceedsPendingTransferAmount
		case isVoid(t) && t.AmountFen != 0 && t.AmountFen != p.AmountFen:
			return none, ledger.PendingTransferHasDifferentAmount
		}
		out.DebitAccountID, out.CreditAccountID = p.DebitAccountID, p.CreditAccountID
		if isVoid(t) || t.AmountFen == 0 {
			out.AmountFen = p.AmountFen
		}
	case isRefund(t):
		o, ok := m.transfers[t.RefundOfID]
		switch {
		case !ok:
			return none, ledger.RefundOfNotFound
		case o.open:
			return none, ledger.RefundOfStillPending
		case isPending(&o.Transfer), isVoid(&o.Transfer), isRefund(&o.Transfer):
			return none, ledger.RefundOfNotRefundable
		case t.DebitAccountID != 0 && t.DebitAccountID != o.CreditAccountID:
			return none, ledger.RefundHasDifferentDebitAccountID
		case t.CreditAccountID != 0 && t.CreditAccountID != o.DebitAccountID:
			return none, ledger.RefundHasDifferentCreditAccountID
		case t.AmountFen > o.AmountFen-o.refundedFen:
			return none, ledger.ExceedsRefundableAmount
		}
		out.DebitAccountID, out.CreditAccountID = o.CreditAccountID, o.DebitAccountID
	}

	debit, ok := m.accounts[out.DebitAccountID]
	if !ok {
		return none, ledger.DebitAccountNotFound
	}
	credit, ok := m.accounts[out.CreditAccountID]
	if !ok {
		return none, ledger.CreditAccountNotFound
	}
	if isVoid(&out) {
		return out, ledger.OK
	}
	var released int64 // a post releases its whole hold and posts out.AmountFen of it
	if isPost(&out) {
		released = m.transfers[out.PendingID].AmountFen
	}
	debits := sumBig(debit.DebitsPendingFen, debit.DebitsPostedFen, -released, out.AmountFen)
	credits := sumBig(credit.CreditsPendingFen, credit.CreditsPostedFen, -released, out.AmountFen)
	switch {
	case debits.Cmp(maxInt64) > 0:
		return none, ledger.OverflowsDebits
	case credits.Cmp(maxInt64) > 0:
		return none, ledger.OverflowsCredits
	case debit.Flags&ledger.AccountNoOverdraft != 0 && debits.Cmp(big.NewInt(debit.CreditsPostedFen)) > 0:
		return none, ledger.ExceedsCredits
	}
	return out, ledger.OK
}

var maxInt64 = big.NewInt(math.MaxInt64)

func sumBig(values ...int64) *big.Int {
	s := new(big.Int)
	for _, v := range values {
		s.Add(s, big.NewInt(v))
	}
	return s
}

// exists compares a command with the transfer journaled under the same id. A post, void or
// refund may leave its accounts zero; a post or void with amount zero asks for the whole hold.
func (m *model) exists(old, t *ledger.Transfer) ledger.Result {
	takesAccounts := isPost(old) || isVoid(old) || isRefund(old)
	amount := t.AmountFen
	if (isPost(old) || isVoid(old)) && amount == 0 {
		amount = m.transfers[old.PendingID].AmountFen
	}
	switch {
	case t.Flags&^ledger.Linked != old.Flags:
		return ledger.ExistsWithDifferentFlags
	case t.DebitAccountID != old.DebitAccountID && !(takesAccounts && t.DebitAccountID == 0):
		return ledger.ExistsWithDifferentDebitAccountID
	case t.CreditAccountID != old.CreditAccountID && !(takesAccounts && t.CreditAccountID == 0):
		return ledger.ExistsWithDifferentCreditAccountID
	case amount != old.AmountFen:
		return ledger.ExistsWithDifferentAmount
	case t.PendingID != old.PendingID:
		return ledger.ExistsWithDifferentPendingID
	case t.RefundOfID != old.RefundOfID:
		return ledger.ExistsWithDifferentRefundOfID
	case t.UserData != old.UserData:
		return ledger.ExistsWithDifferentUserData
	case t.Code != old.Code:
		return ledger.ExistsWithDifferentCode
	case t.DeadlineNanos != old.DeadlineNanos:
		return ledger.ExistsWithDifferentDeadline
	}
	return ledger.Exists
}

// applyTransfer records t, which checkTransfer accepted, and moves its amounts.
func (m *model) applyTransfer(t ledger.Transfer) {
	d, c := m.accounts[t.DebitAccountID], m.accounts[t.CreditAccountID]
	rec := modelTransfer{Transfer: t}
	switch {
	case isPending(&t):
		d.DebitsPendingFen += t.AmountFen
		c.CreditsPendingFen += t.AmountFen
		rec.open = true
		if t.DeadlineNanos != 0 {
			m.deadlined = append(m.deadlined, t.ID)
		}
	case isPost(&t) || isVoid(&t):
		p := m.transfers[t.PendingID]
		d.DebitsPendingFen -= p.AmountFen
		c.CreditsPendingFen -= p.AmountFen
		p.open = false
		if isPost(&t) {
			d.DebitsPostedFen += t.AmountFen
			c.CreditsPostedFen += t.AmountFen
			p.posted, p.postedFen = true, t.AmountFen
		} else {
			p.voided = true
		}
		m.putTransfer(p)
	default: // single-phase, or a refund
		d.DebitsPostedFen += t.AmountFen
		c.CreditsPostedFen += t.AmountFen
		if isRefund(&t) {
			o := m.transfers[t.RefundOfID]
			o.refundedFen += t.AmountFen
			m.putTransfer(o)
		}
	}
	m.putAccount(d)
	m.putAccount(c)
	m.putTransfer(rec)
}

// status is what Ledger.LookupTransfer should say of t: the timestamp is not kept in memory.
func (t *modelTransfer) status() ledger.TransferStatus {
	s := ledger.TransferStatus{Transfer: t.Transfer, Open: t.open, Posted: t.posted, Voided: t.voided, Expired: t.expired}
	s.TimestampNanos = 0
	if t.posted {
		s.PostedFen = t.postedFen
	}
	if !isPending(&t.Transfer) {
		s.RefundedFen = t.refundedFen
	}
	return s
}
