package ledger

import (
	"fmt"
	"math"
)

// Ledger is the state of one shard's ledger. It is not safe for concurrent use: one goroutine
// owns it, as the shard runtime's loop does.
type Ledger struct {
	accounts     accountStore
	accountIndex idIndex
	transfers    transferStore
	deadlines    Deadlines[TransferID]

	// undo is the log of pre-images kept while a linked chain is open, so a failed chain can be
	// rolled back. It is empty outside Execute.
	undo      []undoEntry
	undoing   bool
	chainOpen bool
}

// New returns an empty ledger.
func New() *Ledger {
	return &Ledger{
		accountIndex: newIDIndex(),
		transfers:    newTransferStore(),
	}
}

// accountPos is the position of account id in the store.
func (l *Ledger) accountPos(id AccountID) (int32, bool) {
	pos, ok := l.accountIndex.get(uint64(id))
	return int32(pos), ok
}

// mustAccountPos is the position of an account known to exist.
func (l *Ledger) mustAccountPos(id AccountID) int32 {
	pos, ok := l.accountPos(id)
	if !ok {
		panic("ledger: account missing from the index")
	}
	return pos
}

// addAccount stores a new account and indexes it.
func (l *Ledger) addAccount(a Account) {
	l.accountIndex.put(uint64(a.ID), uint32(l.accounts.add(a)))
}

// Account returns the account with the given id.
func (l *Ledger) Account(id AccountID) (Account, bool) {
	i, ok := l.accountPos(id)
	if !ok {
		return Account{}, false
	}
	return *l.accounts.at(i), true
}

// AccountsCount is the number of accounts.
func (l *Ledger) AccountsCount() int { return l.accounts.len() }

// TransfersCount is the number of transfers created, refunds, posts and voids included.
func (l *Ledger) TransfersCount() int { return l.transfers.len() }

// ForEachAccount calls fn for every account in creation order.
func (l *Ledger) ForEachAccount(fn func(a *Account)) {
	for i := 0; i < l.accounts.len(); i++ {
		fn(l.accounts.at(int32(i)))
	}
}

// TransferStatus is what the ledger remembers of a transfer.
type TransferStatus struct {
	Transfer
	// Open is true for a pending transfer not yet posted, voided or expired.
	Open bool
	// Posted, Voided and Expired say how a pending transfer was closed.
	Posted, Voided, Expired bool
	// PostedFen is what a closed pending transfer posted; RefundedFen what was refunded of a
	// posted movement.
	PostedFen, RefundedFen int64
}

// LookupTransfer returns what the ledger remembers of transfer id. The timestamp is not kept in
// memory and is zero.
func (l *Ledger) LookupTransfer(id TransferID) (TransferStatus, bool) {
	r, ok := l.transfers.get(id)
	if !ok {
		return TransferStatus{}, false
	}
	s := TransferStatus{Transfer: Transfer{
		ID: id, DebitAccountID: r.debit, CreditAccountID: r.credit, AmountFen: r.amountFen,
		UserData: r.userData, DeadlineNanos: r.deadline, Code: r.code, Flags: r.flags,
	}}
	if r.refund {
		s.RefundOfID = r.referenceID
	} else if r.flags&(PostPending|VoidPending) != 0 {
		s.PendingID = r.referenceID
	}
	switch r.state {
	case statePending:
		s.Open = true
	case statePendingPosted:
		s.Posted, s.PostedFen = true, r.settledFen
	case statePendingVoided:
		s.Voided = true
	case statePendingExpired:
		s.Expired = true
	case statePosted:
		s.RefundedFen = r.settledFen
	}
	return s, true
}

// NextDeadlineNanos returns the earliest deadline of an open pending transfer, so the loop
// around the ledger knows when to run a batch even if no command arrives.
func (l *Ledger) NextDeadlineNanos() (int64, bool) {
	for l.deadlines.Len() > 0 {
		d, _ := l.deadlines.Peek()
		if r, ok := l.transfers.get(d.ID); ok && r.state == statePending && r.deadline == d.At {
			return d.At, true
		}
		l.deadlines.Pop() // Stale: closed, or rolled back with its chain.
	}
	return 0, false
}

// Execute decides a batch of commands at batch time nowNanos. It first expires the pending
// transfers whose deadline has come, then decides each command in order, applying its events at
// once. It writes one result per command into results, which must be as long as cmds, and
// returns events with the batch's events appended.
func (l *Ledger) Execute(nowNanos int64, cmds []Command, results []Result, events []Event) []Event {
	if len(results) != len(cmds) {
		panic(fmt.Sprintf("ledger: %d results for %d commands", len(results), len(cmds)))
	}
	events = l.expire(nowNanos, events)

	chainStart := -1 // index of the first command of the open chain
	chainEvents := 0 // len(events) when the chain opened
	chainFailed := false
	for i := range cmds {
		c := &cmds[i]
		linked := c.linked()
		if linked && chainStart < 0 {
			chainStart, chainEvents, chainFailed = i, len(events), false
			l.chainOpen = true
		}
		if chainStart >= 0 && chainFailed {
			results[i] = LinkedEventFailed
		} else {
			var r Result
			if linked && i == len(cmds)-1 {
				r = LinkedEventChainOpen
			} else {
				r, events = l.decide(nowNanos, c, events)
			}
			results[i] = r
			if r != OK && chainStart >= 0 {
				chainFailed = true
				for j := chainStart; j < i; j++ {
					results[j] = LinkedEventFailed
				}
				events = events[:chainEvents]
				l.rollback()
			}
		}
		if chainStart >= 0 && !linked {
			// The chain ends with its first command that is not linked.
			chainStart = -1
			l.chainOpen = false
			l.undo = l.undo[:0]
		}
	}
	if chainStart >= 0 {
		// Only reachable when the last command was linked and its chain had already failed.
		l.chainOpen = false
		l.undo = l.undo[:0]
	}
	return events
}

// expire voids every open pending transfer whose deadline is at or before nowNanos, in
// deadline order then id order, so the events are the same on every run.
func (l *Ledger) expire(nowNanos int64, events []Event) []Event {
	for d, ok := l.deadlines.Peek(); ok && d.At <= nowNanos; d, ok = l.deadlines.Peek() {
		l.deadlines.Pop()
		r, ok := l.transfers.get(d.ID)
		if !ok || r.state != statePending || r.deadline != d.At {
			continue
		}
		e := Event{Kind: EventPendingExpired, Transfer: Transfer{PendingID: d.ID, TimestampNanos: nowNanos}}
		l.Apply(&e)
		events = append(events, e)
		events = l.recordHistory(nowNanos, d.ID, r.debit, r.credit, events)
	}
	return events
}

func (l *Ledger) decide(nowNanos int64, c *Command, events []Event) (Result, []Event) {
	switch c.Kind {
	case CreateAccount:
		r := l.decideAccount(&c.Account)
		if r == OK && c.Account.ID >= ReservedIDMin && !c.Engine {
			r = IDReserved
		}
		if r != OK {
			return r, events
		}
		e := Event{Kind: EventAccountCreated, Account: c.Account}
		e.Account.Flags &^= AccountLinked
		e.Account.TimestampNanos = nowNanos
		l.Apply(&e)
		return OK, append(events, e)
	case CreateTransfer:
		t, r := l.decideTransfer(nowNanos, &c.Transfer)
		if r == OK && c.Transfer.ID >= ReservedIDMin && !c.Engine {
			t, r = Transfer{}, IDReserved
		}
		if r != OK {
			return r, events
		}
		e := Event{Kind: EventTransferCreated, Transfer: t}
		l.Apply(&e)
		events = append(events, e)
		return OK, l.recordHistory(nowNanos, t.ID, t.DebitAccountID, t.CreditAccountID, events)
	}
	panic(fmt.Sprintf("ledger: unknown command kind %d", c.Kind))
}

func (l *Ledger) recordHistory(nowNanos int64, id TransferID, debit, credit AccountID, events []Event) []Event {
	for _, aid := range [2]AccountID{debit, credit} {
		a := l.accounts.at(l.mustAccountPos(aid))
		if a.Flags&AccountHistory == 0 {
			continue
		}
		// Only the fields the journal keeps, so that a replayed event equals the live one.
		e := Event{Kind: EventBalanceRecorded, Account: Account{
			ID:                a.ID,
			DebitsPendingFen:  a.DebitsPendingFen,
			DebitsPostedFen:   a.DebitsPostedFen,
			CreditsPendingFen: a.CreditsPendingFen,
			CreditsPostedFen:  a.CreditsPostedFen,
			TimestampNanos:    nowNanos,
		}}
		e.Transfer.ID = id
		events = append(events, e)
	}
	return events
}

func (l *Ledger) decideAccount(a *Account) Result {
	switch {
	case a.TimestampNanos != 0:
		return TimestampMustBeZero
	case a.ID == 0:
		return IDMustNotBeZero
	case a.Flags&^accountFlagsAll != 0:
		return FlagsInvalid
	case a.DebitsPendingFen != 0 || a.DebitsPostedFen != 0 || a.CreditsPendingFen != 0 || a.CreditsPostedFen != 0:
		return BalancesMustBeZero
	case a.Kind == 0 || a.Kind > kindLast:
		return KindInvalid
	}
	if i, ok := l.accountPos(a.ID); ok {
		e := l.accounts.at(i)
		switch {
		case e.Flags != a.Flags&^AccountLinked:
			return ExistsWithDifferentFlags
		case e.Kind != a.Kind:
			return ExistsWithDifferentKind
		case e.UserData != a.UserData:
			return ExistsWithDifferentUserData
		}
		return Exists
	}
	return OK
}

// decideTransfer validates t and returns it as it will be journaled: account ids and amount
// resolved, timestamp set.
func (l *Ledger) decideTransfer(nowNanos int64, t *Transfer) (Transfer, Result) {
	postOrVoid := t.Flags&(PostPending|VoidPending) != 0
	refund := t.RefundOfID != 0
	switch {
	case t.TimestampNanos != 0:
		return Transfer{}, TimestampMustBeZero
	case t.ID == 0:
		return Transfer{}, IDMustNotBeZero
	case t.Flags&^transferFlagsAll != 0:
		return Transfer{}, FlagsInvalid
	case countBits(uint16(t.Flags&(Pending|PostPending|VoidPending))) > 1,
		refund && t.Flags&(Pending|PostPending|VoidPending) != 0:
		return Transfer{}, FlagsAreMutuallyExclusive
	case postOrVoid && t.PendingID == 0:
		return Transfer{}, PendingIDMustNotBeZero
	case !postOrVoid && t.PendingID != 0:
		return Transfer{}, PendingIDMustBeZero
	case postOrVoid && t.PendingID == t.ID:
		return Transfer{}, PendingIDMustBeDifferent
	case refund && t.RefundOfID == t.ID:
		return Transfer{}, RefundOfIDMustBeDifferent
	case !postOrVoid && !refund && t.DebitAccountID == 0:
		return Transfer{}, DebitAccountIDMustNotBeZero
	case !postOrVoid && !refund && t.CreditAccountID == 0:
		return Transfer{}, CreditAccountIDMustNotBeZero
	case t.DebitAccountID != 0 && t.DebitAccountID == t.CreditAccountID:
		return Transfer{}, AccountsMustBeDifferent
	case t.Code == 0:
		return Transfer{}, CodeMustNotBeZero
	case t.AmountFen < 0:
		return Transfer{}, AmountMustNotBeNegative
	case !postOrVoid && t.AmountFen == 0:
		return Transfer{}, AmountMustBePositive
	case t.Flags&Pending == 0 && t.DeadlineNanos != 0:
		return Transfer{}, DeadlineMustBeZero
	}
	if r, ok := l.transfers.get(t.ID); ok {
		return Transfer{}, l.existsResult(&r, t)
	}
	if t.Flags&Pending != 0 && t.DeadlineNanos != 0 && t.DeadlineNanos <= nowNanos {
		return Transfer{}, DeadlineMustBeInFuture
	}

	out := *t
	out.Flags &^= Linked
	out.TimestampNanos = nowNanos
	var r Result
	switch {
	case postOrVoid:
		r = l.resolvePending(&out)
	case refund:
		r = l.resolveRefund(&out)
	}
	if r != OK {
		return Transfer{}, r
	}

	di, ok := l.accountPos(out.DebitAccountID)
	if !ok {
		return Transfer{}, DebitAccountNotFound
	}
	ci, ok := l.accountPos(out.CreditAccountID)
	if !ok {
		return Transfer{}, CreditAccountNotFound
	}
	if out.Flags&VoidPending != 0 {
		return out, OK // A void moves nothing: it can neither overflow nor overdraw.
	}
	d, c := l.accounts.at(di), l.accounts.at(ci)
	var heldFen int64 // What a post releases from pending: it no longer counts against the debit.
	if out.Flags&PostPending != 0 {
		held, _ := l.transfers.get(out.PendingID)
		heldFen = held.amountFen
	}
	switch {
	case addOverflows(d.DebitsPendingFen+d.DebitsPostedFen-heldFen, out.AmountFen):
		return Transfer{}, OverflowsDebits
	case addOverflows(c.CreditsPendingFen+c.CreditsPostedFen-heldFen, out.AmountFen):
		return Transfer{}, OverflowsCredits
	case d.Flags&AccountNoOverdraft != 0 &&
		d.DebitsPendingFen+d.DebitsPostedFen-heldFen+out.AmountFen > d.CreditsPostedFen:
		return Transfer{}, ExceedsCredits
	}
	return out, OK
}

// resolvePending checks a post or void against its pending transfer and fills in the accounts
// and the amount.
func (l *Ledger) resolvePending(t *Transfer) Result {
	p, ok := l.transfers.get(t.PendingID)
	switch {
	case !ok:
		return PendingTransferNotFound
	case p.flags&Pending == 0:
		return PendingTransferNotPending
	case t.DebitAccountID != 0 && t.DebitAccountID != p.debit:
		return PendingTransferHasDifferentDebitAccountID
	case t.CreditAccountID != 0 && t.CreditAccountID != p.credit:
		return PendingTransferHasDifferentCreditAccountID
	case p.state == statePendingPosted:
		return PendingTransferAlreadyPosted
	case p.state == statePendingVoided:
		return PendingTransferAlreadyVoided
	case p.state == statePendingExpired:
		return PendingTransferExpired
	case t.Flags&PostPending != 0 && t.AmountFen > p.amountFen:
		return ExceedsPendingTransferAmount
	case t.Flags&VoidPending != 0 && t.AmountFen != 0 && t.AmountFen != p.amountFen:
		return PendingTransferHasDifferentAmount
	}
	t.DebitAccountID, t.CreditAccountID = p.debit, p.credit
	if t.AmountFen == 0 || t.Flags&VoidPending != 0 {
		t.AmountFen = p.amountFen
	}
	return OK
}

// resolveRefund checks a refund against the transfer it refunds and fills in the accounts: a
// refund moves value back, from the original's credit account to its debit account.
func (l *Ledger) resolveRefund(t *Transfer) Result {
	o, ok := l.transfers.get(t.RefundOfID)
	switch {
	case !ok:
		return RefundOfNotFound
	case o.state == statePending:
		return RefundOfStillPending
	case o.refund, o.state != statePosted, o.flags&VoidPending != 0:
		// A refund, a void or a pending transfer moved no posted value of its own: refund the
		// post that did.
		return RefundOfNotRefundable
	case t.DebitAccountID != 0 && t.DebitAccountID != o.credit:
		return RefundHasDifferentDebitAccountID
	case t.CreditAccountID != 0 && t.CreditAccountID != o.debit:
		return RefundHasDifferentCreditAccountID
	case t.AmountFen > o.amountFen-o.settledFen:
		return ExceedsRefundableAmount
	}
	t.DebitAccountID, t.CreditAccountID = o.credit, o.debit
	return OK
}

// existsResult compares a transfer with the same id as one already created.
func (l *Ledger) existsResult(r *transferRecord, t *Transfer) Result {
	postOrVoid := r.flags&(PostPending|VoidPending) != 0
	var pendingID, refundOfID TransferID
	if r.refund {
		refundOfID = r.referenceID
	} else if postOrVoid {
		pendingID = r.referenceID
	}
	resolved := postOrVoid || r.refund // Accounts may be left zero.
	amountFen := t.AmountFen
	if postOrVoid && amountFen == 0 {
		// Zero asks for all that was held, as it did when the post was decided: a retry with
		// zero of a partial post asks for more than was posted.
		p, _ := l.transfers.get(r.referenceID)
		amountFen = p.amountFen
	}
	switch {
	case t.Flags&^Linked != r.flags:
		return ExistsWithDifferentFlags
	case (t.DebitAccountID != 0 || !resolved) && t.DebitAccountID != r.debit:
		return ExistsWithDifferentDebitAccountID
	case (t.CreditAccountID != 0 || !resolved) && t.CreditAccountID != r.credit:
		return ExistsWithDifferentCreditAccountID
	case amountFen != r.amountFen:
		return ExistsWithDifferentAmount
	case t.PendingID != pendingID:
		return ExistsWithDifferentPendingID
	case t.RefundOfID != refundOfID:
		return ExistsWithDifferentRefundOfID
	case t.UserData != r.userData:
		return ExistsWithDifferentUserData
	case t.Code != r.code:
		return ExistsWithDifferentCode
	case t.DeadlineNanos != r.deadline:
		return ExistsWithDifferentDeadline
	}
	return Exists
}

// Apply applies one event to the state. Execute applies each event as it decides it; replay
// applies the journaled events in order. An event that does not fit the state is a programmer
// error or a corrupt journal, and panics.
func (l *Ledger) Apply(e *Event) {
	switch e.Kind {
	case EventAccountCreated:
		if _, ok := l.accountPos(e.Account.ID); ok {
			panic(fmt.Sprintf("ledger: account %d created twice", e.Account.ID))
		}
		l.logUndo(undoEntry{kind: undoAccountCreated, accountID: e.Account.ID})
		l.addAccount(e.Account)
	case EventTransferCreated:
		l.applyTransfer(&e.Transfer)
	case EventPendingExpired:
		p := l.mustTransfer(e.Transfer.PendingID)
		if p.state != statePending {
			panic(fmt.Sprintf("ledger: expiry of transfer %d in state %d", e.Transfer.PendingID, p.state))
		}
		d, c := l.account(p.debit), l.account(p.credit)
		d.DebitsPendingFen -= p.amountFen
		c.CreditsPendingFen -= p.amountFen
		p.state = statePendingExpired
		l.transfers.set(e.Transfer.PendingID, p)
	case EventBalanceRecorded:
		// A record for projections; the state already holds these balances.
	default:
		panic(fmt.Sprintf("ledger: unknown event kind %d", e.Kind))
	}
}

func (l *Ledger) applyTransfer(t *Transfer) {
	if l.transfers.has(t.ID) {
		panic(fmt.Sprintf("ledger: transfer %d created twice", t.ID))
	}
	d, c := l.account(t.DebitAccountID), l.account(t.CreditAccountID)
	r := transferRecord{
		debit: t.DebitAccountID, credit: t.CreditAccountID, amountFen: t.AmountFen,
		userData: t.UserData, deadline: t.DeadlineNanos, code: t.Code, flags: t.Flags,
	}
	switch {
	case t.Flags&Pending != 0:
		d.DebitsPendingFen += t.AmountFen
		c.CreditsPendingFen += t.AmountFen
		r.state = statePending
		if t.DeadlineNanos != 0 {
			l.deadlines.Push(t.DeadlineNanos, t.ID)
		}
	case t.Flags&(PostPending|VoidPending) != 0:
		r.referenceID = t.PendingID
		p := l.mustTransfer(t.PendingID)
		if p.state != statePending {
			panic(fmt.Sprintf("ledger: transfer %d closes transfer %d in state %d", t.ID, t.PendingID, p.state))
		}
		d.DebitsPendingFen -= p.amountFen
		c.CreditsPendingFen -= p.amountFen
		if t.Flags&PostPending != 0 {
			d.DebitsPostedFen += t.AmountFen
			c.CreditsPostedFen += t.AmountFen
			p.state, p.settledFen = statePendingPosted, t.AmountFen
		} else {
			p.state = statePendingVoided
		}
		l.transfers.set(t.PendingID, p)
	case t.RefundOfID != 0:
		r.referenceID, r.refund = t.RefundOfID, true
		o := l.mustTransfer(t.RefundOfID)
		o.settledFen += t.AmountFen
		l.transfers.set(t.RefundOfID, o)
		d.DebitsPostedFen += t.AmountFen
		c.CreditsPostedFen += t.AmountFen
	default:
		d.DebitsPostedFen += t.AmountFen
		c.CreditsPostedFen += t.AmountFen
	}
	l.logUndo(undoEntry{kind: undoTransferCreated, transferID: t.ID})
	l.transfers.insert(t.ID, r)
}

// account returns the account for writing, logging its pre-image while a chain is open.
func (l *Ledger) account(id AccountID) *Account {
	i, ok := l.accountPos(id)
	if !ok {
		panic(fmt.Sprintf("ledger: account %d not found", id))
	}
	l.logUndo(undoEntry{kind: undoAccountChanged, index: i, account: *l.accounts.at(i)})
	return l.accounts.at(i)
}

// mustTransfer returns a transfer record for changing, logging its pre-image while a chain is
// open.
func (l *Ledger) mustTransfer(id TransferID) transferRecord {
	r, ok := l.transfers.get(id)
	if !ok {
		panic(fmt.Sprintf("ledger: transfer %d not found", id))
	}
	l.logUndo(undoEntry{kind: undoTransferChanged, transferID: id, transfer: r})
	return r
}

// CheckInvariants verifies the invariants of the package doc over the whole state. It costs
// time proportional to the state; the runtime calls it per batch only under the invariants
// build tag.
func (l *Ledger) CheckInvariants() error {
	var debitsPosted, creditsPosted, debitsPending, creditsPending int64
	for i := 0; i < l.accounts.len(); i++ {
		a := l.accounts.at(int32(i))
		debitsPosted += a.DebitsPostedFen
		creditsPosted += a.CreditsPostedFen
		debitsPending += a.DebitsPendingFen
		creditsPending += a.CreditsPendingFen
		if a.Flags&AccountNoOverdraft != 0 && a.DebitsPendingFen+a.DebitsPostedFen > a.CreditsPostedFen {
			return fmt.Errorf("NoOverdraft: account %d has debits %d+%d over credits %d",
				a.ID, a.DebitsPostedFen, a.DebitsPendingFen, a.CreditsPostedFen)
		}
	}
	if debitsPosted != creditsPosted || debitsPending != creditsPending {
		return fmt.Errorf("DoubleEntry: posted %d/%d, pending %d/%d", debitsPosted, creditsPosted, debitsPending, creditsPending)
	}
	pendingDebits := make(map[AccountID]int64)
	pendingCredits := make(map[AccountID]int64)
	var err error
	l.transfers.each(func(r *transferRecord) {
		id := r.id
		if err != nil {
			return
		}
		if r.state == statePending {
			pendingDebits[r.debit] += r.amountFen
			pendingCredits[r.credit] += r.amountFen
		}
		if r.state == statePendingPosted && r.settledFen > r.amountFen {
			err = fmt.Errorf("HoldNotExceeded: transfer %d posted %d of %d", id, r.settledFen, r.amountFen)
		}
		if r.state == statePosted && r.settledFen > r.amountFen {
			err = fmt.Errorf("RefundBounded: transfer %d refunded %d of %d", id, r.settledFen, r.amountFen)
		}
	})
	if err != nil {
		return err
	}
	for i := 0; i < l.accounts.len(); i++ {
		a := l.accounts.at(int32(i))
		if a.DebitsPendingFen != pendingDebits[a.ID] || a.CreditsPendingFen != pendingCredits[a.ID] {
			return fmt.Errorf("PendingCounted: account %d pending %d/%d, open transfers %d/%d",
				a.ID, a.DebitsPendingFen, a.CreditsPendingFen, pendingDebits[a.ID], pendingCredits[a.ID])
		}
	}
	return nil
}

func countBits(x uint16) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func addOverflows(a, b int64) bool { return b > 0 && a > math.MaxInt64-b }

// Undo log for linked chains.

type undoKind uint8

const (
	undoAccountCreated undoKind = iota
	undoAccountChanged
	undoTransferCreated
	undoTransferChanged
)

type undoEntry struct {
	kind       undoKind
	index      int32
	accountID  AccountID
	transferID TransferID
	account    Account
	transfer   transferRecord
}

func (l *Ledger) logUndo(u undoEntry) {
	if l.chainOpen && !l.undoing {
		l.undo = append(l.undo, u)
	}
}

// rollback restores the pre-images logged since the chain opened, newest first. Deadlines
// pushed by the chain stay in the heap and are skipped as stale when they come up.
func (l *Ledger) rollback() {
	l.undoing = true
	for i := len(l.undo) - 1; i >= 0; i-- {
		u := &l.undo[i]
		switch u.kind {
		case undoAccountCreated:
			l.accountIndex.remove(uint64(u.accountID))
			l.accounts.pop()
		case undoAccountChanged:
			*l.accounts.at(u.index) = u.account
		case undoTransferCreated:
			l.transfers.removeLast(u.transferID)
		case undoTransferChanged:
			l.transfers.set(u.transferID, u.transfer)
		}
	}
	l.undo = l.undo[:0]
	l.undoing = false
}
