package ledger

import (
	"cmp"
	"maps"
	"math"
	"math/big"
	"slices"
)

// refModel is a deliberately naive ledger that TestPropertyAgainstReference checks the real one
// against. It shares no code with ledger.go beyond the public types: it keeps every transfer as
// the full Transfer that was journaled, rolls a failed linked chain back by restoring a clone of
// the whole model taken when the chain opened, finds expired holds by scanning every transfer,
// and checks for overflow with big integers. It is slow on purpose: each step should be obviously
// right when read next to the package doc.
//
// It follows the same precedence of results as the ledger (the order of the Result constants),
// because that order is part of the contract: a client sees the first check that fails.
type refModel struct {
	accounts  map[AccountID]Account
	created   []AccountID // in creation order
	transfers map[TransferID]refTransfer
}

// refTransfer is one created transfer, as journaled, and what has happened to it since.
type refTransfer struct {
	Transfer // accounts and amount resolved, Linked cleared, timestamp set

	// For a pending transfer: whether it is still open, and how it was closed.
	open                    bool
	posted, voided, expired bool
	postedFen               int64
	// For a single-phase transfer or a post: what was refunded of it so far.
	refundedFen int64
}

func newRefModel() *refModel {
	return &refModel{
		accounts:  make(map[AccountID]Account),
		transfers: make(map[TransferID]refTransfer),
	}
}

func (m *refModel) clone() *refModel {
	return &refModel{
		accounts:  maps.Clone(m.accounts),
		created:   slices.Clone(m.created),
		transfers: maps.Clone(m.transfers),
	}
}

func refPending(t *Transfer) bool { return t.Flags&Pending != 0 }
func refPost(t *Transfer) bool    { return t.Flags&PostPending != 0 }
func refVoid(t *Transfer) bool    { return t.Flags&VoidPending != 0 }
func refRefund(t *Transfer) bool  { return t.RefundOfID != 0 }

func refLinked(c *Command) bool {
	if c.Kind == CreateAccount {
		return c.Account.Flags&AccountLinked != 0
	}
	return c.Transfer.Flags&Linked != 0
}

// execute decides a batch the naive way and returns one result per command and the events.
func (m *refModel) execute(now int64, cmds []Command) ([]Result, []Event) {
	events := m.expire(now, nil)
	results := make([]Result, len(cmds))
	for i := 0; i < len(cmds); {
		if !refLinked(&cmds[i]) {
			var r Result
			r, events = m.decide(now, &cmds[i], events)
			results[i] = r
			i++
			continue
		}
		// A chain runs from i to its first command that is not linked, or to the end of the
		// batch if every command after i is linked.
		end := i
		for end < len(cmds)-1 && refLinked(&cmds[end]) {
			end++
		}
		// A command after the one that failed reports linked_event_failed, even the last of the
		// batch (testdata/linked.txt; TigerBeetle would report linked_event_chain_open there).
		saved, savedEvents := m.clone(), len(events)
		failed := false
		for k := i; k <= end; k++ {
			if failed {
				results[k] = LinkedEventFailed
				continue
			}
			var r Result
			if k == len(cmds)-1 && refLinked(&cmds[k]) {
				r = LinkedEventChainOpen
			} else {
				r, events = m.decide(now, &cmds[k], events)
			}
			results[k] = r
			if r != OK {
				failed = true
				*m = *saved
				events = events[:savedEvents]
				for j := i; j < k; j++ {
					results[j] = LinkedEventFailed
				}
			}
		}
		i = end + 1
	}
	return results, events
}

// expire closes every open hold whose deadline has come, earliest deadline first, then by id.
func (m *refModel) expire(now int64, events []Event) []Event {
	var due []refTransfer
	for _, t := range m.transfers {
		if t.open && t.DeadlineNanos != 0 && t.DeadlineNanos <= now {
			due = append(due, t)
		}
	}
	slices.SortFunc(due, func(a, b refTransfer) int {
		if a.DeadlineNanos != b.DeadlineNanos {
			return cmp.Compare(a.DeadlineNanos, b.DeadlineNanos)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for _, p := range due {
		d, c := m.accounts[p.DebitAccountID], m.accounts[p.CreditAccountID]
		d.DebitsPendingFen -= p.AmountFen
		c.CreditsPendingFen -= p.AmountFen
		m.accounts[d.ID], m.accounts[c.ID] = d, c
		p.open, p.expired = false, true
		m.transfers[p.ID] = p
		events = append(events, Event{Kind: EventPendingExpired, Transfer: Transfer{PendingID: p.ID, TimestampNanos: now}})
		events = m.history(now, p.ID, p.DebitAccountID, p.CreditAccountID, events)
	}
	return events
}

// history appends a balance record for each of the two accounts flagged AccountHistory.
func (m *refModel) history(now int64, id TransferID, debit, credit AccountID, events []Event) []Event {
	for _, aid := range []AccountID{debit, credit} {
		a := m.accounts[aid]
		if a.Flags&AccountHistory == 0 {
			continue
		}
		events = append(events, Event{
			Kind: EventBalanceRecorded,
			Account: Account{
				ID:                a.ID,
				DebitsPendingFen:  a.DebitsPendingFen,
				DebitsPostedFen:   a.DebitsPostedFen,
				CreditsPendingFen: a.CreditsPendingFen,
				CreditsPostedFen:  a.CreditsPostedFen,
				TimestampNanos:    now,
			},
			Transfer: Transfer{ID: id},
		})
	}
	return events
}

// decide decides one command. A client's command may not create an id in the engine's reserved
// range; that is checked once all else passed, so that a retry of an existing id answers exists.
func (m *refModel) decide(now int64, c *Command, events []Event) (Result, []Event) {
	if c.Kind == CreateAccount {
		r := m.checkAccount(&c.Account)
		if r == OK && c.Account.ID >= ReservedIDMin && !c.Engine {
			r = IDReserved
		}
		if r != OK {
			return r, events
		}
		a := c.Account
		a.Flags &^= AccountLinked
		a.TimestampNanos = now
		m.accounts[a.ID] = a
		m.created = append(m.created, a.ID)
		return OK, append(events, Event{Kind: EventAccountCreated, Account: a})
	}
	t, r := m.checkTransfer(now, &c.Transfer)
	if r == OK && c.Transfer.ID >= ReservedIDMin && !c.Engine {
		r = IDReserved
	}
	if r != OK {
		return r, events
	}
	m.applyTransfer(t)
	events = append(events, Event{Kind: EventTransferCreated, Transfer: t})
	return OK, m.history(now, t.ID, t.DebitAccountID, t.CreditAccountID, events)
}

func (m *refModel) checkAccount(a *Account) Result {
	if a.TimestampNanos != 0 {
		return TimestampMustBeZero
	}
	if a.ID == 0 {
		return IDMustNotBeZero
	}
	if a.Flags&^(AccountLinked|AccountNoOverdraft|AccountHistory) != 0 {
		return FlagsInvalid
	}
	if a.DebitsPendingFen != 0 || a.DebitsPostedFen != 0 || a.CreditsPendingFen != 0 || a.CreditsPostedFen != 0 {
		return BalancesMustBeZero
	}
	if a.Kind < KindFederationFunding || a.Kind > KindExternalCash {
		return KindInvalid
	}
	old, ok := m.accounts[a.ID]
	if !ok {
		return OK
	}
	if old.Flags != a.Flags&^AccountLinked {
		return ExistsWithDifferentFlags
	}
	if old.Kind != a.Kind {
		return ExistsWithDifferentKind
	}
	if old.UserData != a.UserData {
		return ExistsWithDifferentUserData
	}
	return Exists
}

// checkTransfer returns the transfer as it would be journaled, or why it is refused.
func (m *refModel) checkTransfer(now int64, t *Transfer) (Transfer, Result) {
	// Checks of the command alone.
	mechanics := 0
	for _, f := range []TransferFlags{Pending, PostPending, VoidPending} {
		if t.Flags&f != 0 {
			mechanics++
		}
	}
	closes := refPost(t) || refVoid(t)
	takesAccounts := closes || refRefund(t) // accounts may be left zero and taken from another transfer
	if t.TimestampNanos != 0 {
		return Transfer{}, TimestampMustBeZero
	}
	if t.ID == 0 {
		return Transfer{}, IDMustNotBeZero
	}
	if t.Flags&^(Linked|Pending|PostPending|VoidPending) != 0 {
		return Transfer{}, FlagsInvalid
	}
	if mechanics > 1 || (refRefund(t) && mechanics > 0) {
		return Transfer{}, FlagsAreMutuallyExclusive
	}
	if closes && t.PendingID == 0 {
		return Transfer{}, PendingIDMustNotBeZero
	}
	if !closes && t.PendingID != 0 {
		return Transfer{}, PendingIDMustBeZero
	}
	if closes && t.PendingID == t.ID {
		return Transfer{}, PendingIDMustBeDifferent
	}
	if refRefund(t) && t.RefundOfID == t.ID {
		return Transfer{}, RefundOfIDMustBeDifferent
	}
	if !takesAccounts && t.DebitAccountID == 0 {
		return Transfer{}, DebitAccountIDMustNotBeZero
	}
	if !takesAccounts && t.CreditAccountID == 0 {
		return Transfer{}, CreditAccountIDMustNotBeZero
	}
	if t.DebitAccountID != 0 && t.DebitAccountID == t.CreditAccountID {
		return Transfer{}, AccountsMustBeDifferent
	}
	if t.Code == 0 {
		return Transfer{}, CodeMustNotBeZero
	}
	if t.AmountFen < 0 {
		return Transfer{}, AmountMustNotBeNegative
	}
	if !closes && t.AmountFen == 0 {
		return Transfer{}, AmountMustBePositive
	}
	if !refPending(t) && t.DeadlineNanos != 0 {
		return Transfer{}, DeadlineMustBeZero
	}

	// Idempotency: the same id again is compared with what was journaled.
	if old, ok := m.transfers[t.ID]; ok {
		return Transfer{}, m.exists(&old.Transfer, t)
	}
	if refPending(t) && t.DeadlineNanos != 0 && t.DeadlineNanos <= now {
		return Transfer{}, DeadlineMustBeInFuture
	}

	out := *t
	out.Flags &^= Linked
	out.TimestampNanos = now
	switch {
	case closes:
		p, ok := m.transfers[t.PendingID]
		switch {
		case !ok:
			return Transfer{}, PendingTransferNotFound
		case !refPending(&p.Transfer):
			return Transfer{}, PendingTransferNotPending
		case t.DebitAccountID != 0 && t.DebitAccountID != p.DebitAccountID:
			return Transfer{}, PendingTransferHasDifferentDebitAccountID
		case t.CreditAccountID != 0 && t.CreditAccountID != p.CreditAccountID:
			return Transfer{}, PendingTransferHasDifferentCreditAccountID
		case p.posted:
			return Transfer{}, PendingTransferAlreadyPosted
		case p.voided:
			return Transfer{}, PendingTransferAlreadyVoided
		case p.expired:
			return Transfer{}, PendingTransferExpired
		case refPost(t) && t.AmountFen > p.AmountFen:
			return Transfer{}, ExceedsPendingTransferAmount
		case refVoid(t) && t.AmountFen != 0 && t.AmountFen != p.AmountFen:
			return Transfer{}, PendingTransferHasDifferentAmount
		}
		out.DebitAccountID, out.CreditAccountID = p.DebitAccountID, p.CreditAccountID
		if refVoid(t) || t.AmountFen == 0 {
			out.AmountFen = p.AmountFen
		}
	case refRefund(t):
		o, ok := m.transfers[t.RefundOfID]
		switch {
		case !ok:
			return Transfer{}, RefundOfNotFound
		case o.open:
			return Transfer{}, RefundOfStillPending
		case refPending(&o.Transfer), refVoid(&o.Transfer), refRefund(&o.Transfer):
			return Transfer{}, RefundOfNotRefundable
		case t.DebitAccountID != 0 && t.DebitAccountID != o.CreditAccountID:
			return Transfer{}, RefundHasDifferentDebitAccountID
		case t.CreditAccountID != 0 && t.CreditAccountID != o.DebitAccountID:
			return Transfer{}, RefundHasDifferentCreditAccountID
		case t.AmountFen > o.AmountFen-o.refundedFen:
			return Transfer{}, ExceedsRefundableAmount
		}
		out.DebitAccountID, out.CreditAccountID = o.CreditAccountID, o.DebitAccountID
	}

	debit, ok := m.accounts[out.DebitAccountID]
	if !ok {
		return Transfer{}, DebitAccountNotFound
	}
	credit, ok := m.accounts[out.CreditAccountID]
	if !ok {
		return Transfer{}, CreditAccountNotFound
	}
	if refVoid(&out) {
		return out, OK
	}

	// Try the movement on copies of the two accounts in big integers, then look at the result.
	var released int64 // a post releases its whole hold and posts out.AmountFen of it
	if refPost(&out) {
		released = m.transfers[out.PendingID].AmountFen
	}
	debits := refSumBig(debit.DebitsPendingFen, debit.DebitsPostedFen, -released, out.AmountFen)
	credits := refSumBig(credit.CreditsPendingFen, credit.CreditsPostedFen, -released, out.AmountFen)
	switch {
	case debits.Cmp(refMaxInt64) > 0:
		return Transfer{}, OverflowsDebits
	case credits.Cmp(refMaxInt64) > 0:
		return Transfer{}, OverflowsCredits
	case debit.Flags&AccountNoOverdraft != 0 && debits.Cmp(big.NewInt(debit.CreditsPostedFen)) > 0:
		return Transfer{}, ExceedsCredits
	}
	return out, OK
}

var refMaxInt64 = big.NewInt(math.MaxInt64)

func refSumBig(values ...int64) *big.Int {
	s := new(big.Int)
	for _, v := range values {
		s.Add(s, big.NewInt(v))
	}
	return s
}

// exists compares a command with the transfer journaled under the same id. Accounts of a post,
// void or refund may be left zero in the command. A post or void sent with amount zero asks for
// all that was held, so it is compared as if it had named the hold's amount.
func (m *refModel) exists(old, t *Transfer) Result {
	takesAccounts := refPost(old) || refVoid(old) || refRefund(old)
	amount := t.AmountFen
	if (refPost(old) || refVoid(old)) && amount == 0 {
		amount = m.transfers[old.PendingID].AmountFen
	}
	switch {
	case t.Flags&^Linked != old.Flags:
		return ExistsWithDifferentFlags
	case t.DebitAccountID != old.DebitAccountID && !(takesAccounts && t.DebitAccountID == 0):
		return ExistsWithDifferentDebitAccountID
	case t.CreditAccountID != old.CreditAccountID && !(takesAccounts && t.CreditAccountID == 0):
		return ExistsWithDifferentCreditAccountID
	case amount != old.AmountFen:
		return ExistsWithDifferentAmount
	case t.PendingID != old.PendingID:
		return ExistsWithDifferentPendingID
	case t.RefundOfID != old.RefundOfID:
		return ExistsWithDifferentRefundOfID
	case t.UserData != old.UserData:
		return ExistsWithDifferentUserData
	case t.Code != old.Code:
		return ExistsWithDifferentCode
	case t.DeadlineNanos != old.DeadlineNanos:
		return ExistsWithDifferentDeadline
	}
	return Exists
}

// applyTransfer records t, which checkTransfer accepted, and moves its amounts.
func (m *refModel) applyTransfer(t Transfer) {
	d, c := m.accounts[t.DebitAccountID], m.accounts[t.CreditAccountID]
	rec := refTransfer{Transfer: t}
	switch {
	case refPending(&t):
		d.DebitsPendingFen += t.AmountFen
		c.CreditsPendingFen += t.AmountFen
		rec.open = true
	case refPost(&t) || refVoid(&t):
		p := m.transfers[t.PendingID]
		d.DebitsPendingFen -= p.AmountFen
		c.CreditsPendingFen -= p.AmountFen
		p.open = false
		if refPost(&t) {
			d.DebitsPostedFen += t.AmountFen
			c.CreditsPostedFen += t.AmountFen
			p.posted, p.postedFen = true, t.AmountFen
		} else {
			p.voided = true
		}
		m.transfers[p.ID] = p
	default: // single-phase, or a refund
		d.DebitsPostedFen += t.AmountFen
		c.CreditsPostedFen += t.AmountFen
		if refRefund(&t) {
			o := m.transfers[t.RefundOfID]
			o.refundedFen += t.AmountFen
			m.transfers[o.ID] = o
		}
	}
	m.accounts[d.ID], m.accounts[c.ID] = d, c
	m.transfers[t.ID] = rec
}

// nextDeadline is the earliest deadline of an open hold.
func (m *refModel) nextDeadline() (int64, bool) {
	var next int64
	found := false
	for _, t := range m.transfers {
		if t.open && t.DeadlineNanos != 0 && (!found || t.DeadlineNanos < next) {
			next, found = t.DeadlineNanos, true
		}
	}
	return next, found
}

// status is what Ledger.LookupTransfer should say of t.
func (t *refTransfer) status() TransferStatus {
	s := TransferStatus{Transfer: t.Transfer, Open: t.open, Posted: t.posted, Voided: t.voided, Expired: t.expired}
	s.TimestampNanos = 0 // not kept in memory
	if t.posted {
		s.PostedFen = t.postedFen
	}
	if !refPending(&t.Transfer) {
		s.RefundedFen = t.refundedFen
	}
	return s
}
