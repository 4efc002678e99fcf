package sim

import (
	"math"
	"math/rand/v2"

	"huigong/engine/ledger"
	"huigong/engine/shardledger"
)

// The workload of one shard is a function of the seed alone: it is drawn from the shard's own
// random stream and from what it asked for before, never from what the engine answered, so a
// seed replays the same commands however the goroutines were scheduled and whatever a crash
// kept. The model, not the workload, knows what succeeded.
//
// Accounts of a shard, by role:
//   - funding: may go negative, so no answer depends on its balance. Moves that may bounce
//     (to missing accounts) start here or at a merchant, since a bounce credits the source at a
//     time the model cannot know.
//   - budgets and members: NoOverdraft, so answers depend on their balances. They are only ever
//     credited by their own shard's requests, never by a cross-shard move.
//   - merchants and clearing: no overdraft check; they take the credits of spends and holds,
//     and may receive moves.
//   - receivers: members that only moves ever credit and that nothing ever debits.
//   - the in-transit account: touched only by the machine's move legs.
const (
	fundingCount   = 2
	budgetsCount   = 2
	membersCount   = 24
	merchantsCount = 3
	receiversCount = 4

	// Account numbers within a shard's id space.
	receiverBase = 1 << 20 // receivers: receiverBase + k
	missingBase  = 1 << 24 // never created: move targets that bounce

	setupMemberFen = 60_000
	setupBudgetFen = 50_000_000

	// deadlineMaxNanos bounds how far ahead a hold's deadline lies; the clock moves up to
	// clockStepMaxNanos per round, so holds expire within a few rounds.
	deadlineMaxNanos  = 8_000_000_000
	clockStepMaxNanos = 2_000_000_000

	recentMax = 256 // commands kept for duplicates
	holdsMax  = 4096
)

func accountID(shard uint32, n uint64) ledger.AccountID {
	return ledger.AccountID(uint64(shard+1)<<32 | n)
}

func transferID(shard uint32, n uint64) ledger.TransferID {
	return ledger.TransferID(uint64(shard+1)<<40 | n)
}

// reservedBadID is an id in the engine's reserved range that no move leg can have: leg ids keep
// the move id's shard bits (40 and up), and these have none.
func reservedBadID(n uint64) uint64 { return ledger.ReservedIDMin | 1<<39 | n }

type hold struct {
	id            ledger.TransferID
	debit, credit ledger.AccountID
	amountFen     int64
}

type movement struct {
	id            ledger.TransferID
	debit, credit ledger.AccountID
	amountFen     int64
}

// workload draws the requests of one shard.
type workload struct {
	shard  uint32
	shards int
	rng    *rand.Rand

	nextTransfer uint64
	nextAccount  uint64

	funding, budgets, members, merchants []ledger.AccountID
	clearing                             ledger.AccountID

	holds     []hold
	movements []movement
	recent    []shardledger.Command
	recentAt  int

	// Cross-shard id collisions. A move whose id is collidable (see collidableID) is never
	// sent again by its own shard except as a retry of its whole request after a crash; once
	// that request is retired (answered in a round without a fault) and a settle point has
	// passed, one other shard, chosen by the id, may send a move with the same id to the same
	// target, so that two in-legs with the same id meet on the target in a known order.
	current    []collidableMove // collidable moves of the request being drawn
	collidable []collidableMove // moves of other shards this shard may collide with
}

// collidableMove is a move one shard asked for, as the workload knows it.
type collidableMove struct {
	move  shardledger.Move
	shard uint32
}

// request is one request of a shard, as drawn; a retry after a crash sends the same commands.
type request struct {
	cmds       []shardledger.Command
	collidable []collidableMove
}

func collidableID(id ledger.TransferID) bool { return uint64(id)&(1<<40-1)%8 == 0 }

// colliderOf is the one shard that may reuse the id of a collidable move of shard from.
func colliderOf(id ledger.TransferID, from uint32, shards int) uint32 {
	if shards < 2 {
		return from
	}
	counter := uint64(id) & (1<<40 - 1)
	return uint32((uint64(from) + 1 + counter/8%uint64(shards-1)) % uint64(shards))
}

func newWorkload(seed int64, shard uint32, shards int) *workload {
	w := &workload{
		shard: shard, shards: shards,
		rng: rand.New(rand.NewPCG(uint64(seed), 0x5348_4152_4400_0000|uint64(shard))),
	}
	return w
}

func (w *workload) newAccountID() ledger.AccountID {
	w.nextAccount++
	return accountID(w.shard, w.nextAccount)
}

func (w *workload) newTransferID() ledger.TransferID {
	w.nextTransfer++
	return transferID(w.shard, w.nextTransfer)
}

func ledgerCommand(c ledger.Command) shardledger.Command {
	return shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: c}
}

func accountCommand(a ledger.Account) shardledger.Command {
	return ledgerCommand(ledger.AccountCommand(a))
}

func transferCommand(t ledger.Transfer) shardledger.Command {
	return ledgerCommand(ledger.TransferCommand(t))
}

func receiverID(shard uint32, k int) ledger.AccountID {
	return accountID(shard, receiverBase+uint64(k))
}

// setup is the first request of the shard: its accounts, and money to spend.
func (w *workload) setup() []shardledger.Command {
	var cmds []shardledger.Command
	create := func(kind ledger.AccountKind, flags ledger.AccountFlags) ledger.AccountID {
		id := w.newAccountID()
		cmds = append(cmds, accountCommand(ledger.Account{ID: id, Kind: kind, Flags: flags, UserData: uint64(id) % 1000}))
		return id
	}
	for i := range fundingCount {
		flags := ledger.AccountFlags(0)
		if i == 1 {
			flags = ledger.AccountHistory
		}
		w.funding = append(w.funding, create(ledger.KindFederationFunding, flags))
	}
	for range budgetsCount {
		w.budgets = append(w.budgets, create(ledger.KindUnionBudget, ledger.AccountNoOverdraft))
	}
	for i := range membersCount {
		flags := ledger.AccountNoOverdraft
		if i%5 == 0 {
			flags |= ledger.AccountHistory
		}
		w.members = append(w.members, create(ledger.KindMemberPoints, flags))
	}
	for range merchantsCount {
		w.merchants = append(w.merchants, create(ledger.KindMerchantReceivable, 0))
	}
	w.clearing = create(ledger.KindClearing, 0)
	for k := range receiversCount {
		flags := ledger.AccountNoOverdraft
		if k == 0 {
			flags |= ledger.AccountHistory
		}
		cmds = append(cmds, accountCommand(ledger.Account{ID: receiverID(w.shard, k), Kind: ledger.KindMemberPoints, Flags: flags}))
	}
	for _, b := range w.budgets {
		cmds = append(cmds, transferCommand(ledger.Transfer{
			ID: w.newTransferID(), DebitAccountID: w.funding[0], CreditAccountID: b, AmountFen: setupBudgetFen, Code: ledger.CodeFund,
		}))
	}
	for i, m := range w.members {
		cmds = append(cmds, transferCommand(ledger.Transfer{
			ID: w.newTransferID(), DebitAccountID: w.budgets[i%budgetsCount], CreditAccountID: m, AmountFen: setupMemberFen, Code: ledger.CodeIssue,
		}))
	}
	return cmds
}

func (w *workload) intn(n int) int { return w.rng.IntN(n) }

func (w *workload) chance(percent int) bool { return w.rng.IntN(100) < percent }

func (w *workload) pick(ids []ledger.AccountID) ledger.AccountID { return ids[w.rng.IntN(len(ids))] }

func (w *workload) member() ledger.AccountID { return w.pick(w.members) }

func (w *workload) payee() ledger.AccountID {
	if w.chance(15) {
		return w.clearing
	}
	return w.pick(w.merchants)
}

// localAccount is any account of the shard that commands may debit or credit.
func (w *workload) localAccount() ledger.AccountID {
	switch w.intn(4) {
	case 0:
		return w.member()
	case 1:
		return w.pick(w.merchants)
	case 2:
		return w.pick(w.budgets)
	}
	return w.pick(w.funding)
}

func (w *workload) userData() uint64 { return uint64(w.intn(4)) }

func (w *workload) code() ledger.TransferCode {
	return ledger.TransferCode(1 + w.intn(int(ledger.CodeAdjust)))
}

// request draws one request of about size commands at batch time now.
func (w *workload) request(now int64, size int) request {
	w.current = nil
	cmds := make([]shardledger.Command, 0, size+8)
	for len(cmds) < size {
		cmds = w.next(now, cmds)
	}
	if w.chance(4) {
		// A chain still open at the end of the request fails as a whole.
		c := w.spend()
		c.Ledger.Transfer.Flags |= ledger.Linked
		w.remember(c)
		cmds = append(cmds, c)
	}
	return request{cmds: cmds, collidable: w.current}
}

// next appends one or more commands.
func (w *workload) next(now int64, cmds []shardledger.Command) []shardledger.Command {
	var c shardledger.Command
	switch n := w.intn(100); {
	case n < 17:
		c = w.spend()
	case n < 29:
		c = w.issue()
	case n < 41:
		c = w.pending(now)
	case n < 51:
		c = w.post()
	case n < 56:
		c = w.void()
	case n < 62:
		c = w.refund()
	case n < 70:
		return w.chain(now, cmds)
	case n < 77:
		c = w.duplicate()
	case n < 82:
		c = w.badInput(now)
	case n < 95:
		c = w.move()
	default:
		c = w.account()
	}
	w.remember(c)
	return append(cmds, c)
}

// remember keeps a command for duplicates; a move with a collidable id is kept apart instead,
// and a move with another shard's id is not kept at all.
func (w *workload) remember(c shardledger.Command) {
	if c.Kind == shardledger.MoveCommand {
		if uint64(c.Move.ID)>>40 != uint64(w.shard)+1 {
			return
		}
		if collidableID(c.Move.ID) {
			w.current = append(w.current, collidableMove{move: c.Move, shard: w.shard})
			return
		}
	}
	if len(w.recent) < recentMax {
		w.recent = append(w.recent, c)
		return
	}
	w.recent[w.recentAt] = c
	w.recentAt = (w.recentAt + 1) % recentMax
}

func (w *workload) addMovement(t ledger.Transfer) {
	w.movements = append(w.movements, movement{id: t.ID, debit: t.DebitAccountID, credit: t.CreditAccountID, amountFen: t.AmountFen})
	if len(w.movements) > holdsMax {
		w.movements = append(w.movements[:0], w.movements[len(w.movements)-holdsMax/2:]...)
	}
}

func (w *workload) spend() shardledger.Command {
	t := ledger.Transfer{
		ID: w.newTransferID(), DebitAccountID: w.member(), CreditAccountID: w.payee(),
		AmountFen: 1 + int64(w.intn(2_500)), UserData: w.userData(), Code: ledger.CodeSpendHold,
	}
	w.addMovement(t)
	return transferCommand(t)
}

func (w *workload) issue() shardledger.Command {
	t := ledger.Transfer{
		ID: w.newTransferID(), DebitAccountID: w.pick(w.budgets), CreditAccountID: w.member(),
		AmountFen: 100 + int64(w.intn(4_000)), UserData: w.userData(), Code: ledger.CodeIssue,
	}
	if w.chance(5) {
		t.DebitAccountID, t.CreditAccountID, t.AmountFen, t.Code = w.pick(w.funding), w.pick(w.budgets), 500_000, ledger.CodeFund
	}
	w.addMovement(t)
	return transferCommand(t)
}

func (w *workload) pending(now int64) shardledger.Command {
	t := ledger.Transfer{
		ID: w.newTransferID(), DebitAccountID: w.member(), CreditAccountID: w.payee(),
		AmountFen: 1 + int64(w.intn(3_000)), UserData: w.userData(), Code: ledger.CodeSpendHold, Flags: ledger.Pending,
	}
	switch n := w.intn(100); {
	case n < 50:
		t.DeadlineNanos = now + 1 + w.rng.Int64N(deadlineMaxNanos)
	case n < 53:
		t.DeadlineNanos = now - int64(w.intn(2)) // not in the future
	}
	w.holds = append(w.holds, hold{id: t.ID, debit: t.DebitAccountID, credit: t.CreditAccountID, amountFen: t.AmountFen})
	if len(w.holds) > holdsMax {
		w.holds = append(w.holds[:0], w.holds[len(w.holds)-holdsMax/2:]...)
	}
	return transferCommand(t)
}

// someHold picks a hold asked for, mostly a recent one.
func (w *workload) someHold() (hold, bool) {
	if len(w.holds) == 0 {
		return hold{}, false
	}
	if w.chance(70) {
		recent := min(len(w.holds), 40)
		return w.holds[len(w.holds)-1-w.intn(recent)], true
	}
	return w.holds[w.intn(len(w.holds))], true
}

// closeAccounts fills the accounts of a post or void: mostly left zero, sometimes named, now
// and then wrong.
func (w *workload) closeAccounts(t *ledger.Transfer, h hold) {
	switch n := w.intn(100); {
	case n < 20:
		t.DebitAccountID, t.CreditAccountID = h.debit, h.credit
	case n < 25:
		t.DebitAccountID = w.member()
	case n < 30:
		t.CreditAccountID = w.payee()
	}
}

func (w *workload) post() shardledger.Command {
	h, ok := w.someHold()
	if !ok {
		return w.spend()
	}
	t := ledger.Transfer{ID: w.newTransferID(), PendingID: h.id, Code: ledger.CodePost, Flags: ledger.PostPending, UserData: w.userData()}
	switch n := w.intn(100); {
	case n < 40: // all that was held
	case n < 80:
		t.AmountFen = 1 + w.rng.Int64N(h.amountFen)
	case n < 90:
		t.AmountFen = h.amountFen
	default:
		t.AmountFen = h.amountFen + 1
	}
	w.closeAccounts(&t, h)
	w.addMovement(ledger.Transfer{ID: t.ID, DebitAccountID: h.debit, CreditAccountID: h.credit, AmountFen: max(t.AmountFen, 1)})
	return transferCommand(t)
}

func (w *workload) void() shardledger.Command {
	h, ok := w.someHold()
	if !ok {
		return w.spend()
	}
	t := ledger.Transfer{ID: w.newTransferID(), PendingID: h.id, Code: ledger.CodeVoid, Flags: ledger.VoidPending}
	switch n := w.intn(100); {
	case n < 15:
		t.AmountFen = h.amountFen
	case n < 20:
		t.AmountFen = h.amountFen + 1
	}
	w.closeAccounts(&t, h)
	return transferCommand(t)
}

func (w *workload) refund() shardledger.Command {
	if len(w.movements) == 0 {
		return w.spend()
	}
	var o movement
	if w.chance(60) {
		o = w.movements[len(w.movements)-1-w.intn(min(len(w.movements), 60))]
	} else {
		o = w.movements[w.intn(len(w.movements))]
	}
	t := ledger.Transfer{ID: w.newTransferID(), RefundOfID: o.id, Code: ledger.CodeRefund, UserData: w.userData()}
	switch n := w.intn(100); {
	case n < 70:
		t.AmountFen = 1 + w.rng.Int64N(max(o.amountFen/2, 1))
	case n < 85:
		t.AmountFen = o.amountFen
	case n < 95:
		t.AmountFen = o.amountFen + 1
	}
	switch n := w.intn(100); {
	case n < 20:
		t.DebitAccountID, t.CreditAccountID = o.credit, o.debit
	case n < 24:
		t.DebitAccountID = o.debit
	case n < 28:
		t.CreditAccountID = o.credit
	}
	if w.chance(5) {
		if h, ok := w.someHold(); ok {
			t.RefundOfID = h.id // a hold: still pending, or not refundable
		}
	}
	return transferCommand(t)
}

// move draws a move. Members and budgets, whose balances decide answers, move only to accounts
// that exist on the target shard and take credits, so their moves never come back; only funding
// accounts and merchants move to accounts that refuse.
func (w *workload) move() shardledger.Command {
	to := uint32(w.intn(w.shards))
	mv := shardledger.Move{ID: w.newTransferID(), ToShard: to, UserData: w.userData()}
	if n := len(w.collidable); n > 0 && w.chance(20) {
		// Reuse the id of another shard's settled move: if that move's in-leg was made, its id
		// is taken on the target, and this move must come back. It starts at a funding account,
		// which may take the points back at any time.
		i := w.intn(n)
		c := w.collidable[i]
		w.collidable[i] = w.collidable[n-1]
		w.collidable = w.collidable[:n-1]
		mv = c.move
		mv.FromAccountID = w.pick(w.funding)
		mv.Flags = 0
		if mv.AmountFen <= 0 {
			mv.AmountFen = 1
		}
		if w.chance(30) {
			mv.AmountFen++ // a different in-leg
		}
		return shardledger.Command{Kind: shardledger.MoveCommand, Move: mv}
	}
	switch n := w.intn(100); {
	case n < 55:
		mv.FromAccountID, mv.AmountFen = w.member(), 1+int64(w.intn(1_500))
		mv.ToAccountID = w.creditableOn(to)
	case n < 65:
		mv.FromAccountID, mv.AmountFen = w.pick(w.budgets), 1+int64(w.intn(5_000))
		mv.ToAccountID = w.creditableOn(to)
	default:
		mv.FromAccountID, mv.AmountFen = w.pick(w.funding), 1+int64(w.intn(5_000))
		if w.chance(30) {
			mv.FromAccountID = w.pick(w.merchants)
		}
		switch k := w.intn(100); {
		case k < 40:
			mv.ToAccountID = w.creditableOn(to)
		case k < 85:
			mv.ToAccountID = accountID(to, missingBase+uint64(w.intn(1000)))
		case k < 93:
			mv.ToAccountID = shardledger.InTransitAccountID(to) // debit and credit the same
		default:
			mv.ToAccountID = 0
		}
	}
	return shardledger.Command{Kind: shardledger.MoveCommand, Move: mv}
}

// creditableOn is an account of shard to that takes moves at any time without changing an
// answer: a receiver, a merchant, the clearing account or a funding account. The first
// accounts of a shard are created by its setup request, in the order of setup.
func (w *workload) creditableOn(to uint32) ledger.AccountID {
	switch n := w.intn(100); {
	case n < 70:
		return receiverID(to, w.intn(receiversCount))
	case n < 85:
		return accountID(to, uint64(fundingCount+budgetsCount+membersCount+1+w.intn(merchantsCount)))
	case n < 92:
		return accountID(to, uint64(fundingCount+budgetsCount+membersCount+merchantsCount+1))
	}
	return accountID(to, uint64(1+w.intn(fundingCount)))
}

// chain appends a linked chain of two to five commands; some are meant to fail.
func (w *workload) chain(now int64, cmds []shardledger.Command) []shardledger.Command {
	n := 2 + w.intn(4)
	failAt := -1
	if w.chance(30) {
		failAt = w.intn(n)
	}
	for i := range n {
		var c shardledger.Command
		switch k := w.intn(7); k {
		case 0:
			c = w.spend()
		case 1:
			c = w.issue()
		case 2:
			c = w.pending(now)
		case 3:
			c = w.post()
		case 4:
			c = w.move()
		case 5:
			c = w.refund()
		default:
			c = w.account()
		}
		if i == failAt {
			// Refused whatever else the command says, so the whole chain fails.
			switch {
			case c.Kind == shardledger.MoveCommand:
				c.Move.AmountFen = 0
			case c.Ledger.Kind == ledger.CreateTransfer:
				c.Ledger.Transfer.Code = 0
			default:
				c.Ledger.Account.Kind = 0
			}
		}
		if i < n-1 {
			switch {
			case c.Kind == shardledger.MoveCommand:
				c.Move.Flags |= ledger.Linked
			case c.Ledger.Kind == ledger.CreateAccount:
				c.Ledger.Account.Flags |= ledger.AccountLinked
			default:
				c.Ledger.Transfer.Flags |= ledger.Linked
			}
		}
		w.remember(c)
		cmds = append(cmds, c)
	}
	return cmds
}

// duplicate sends a recent command again, as it was or with one field changed.
func (w *workload) duplicate() shardledger.Command {
	if len(w.recent) == 0 {
		return w.spend()
	}
	c := w.recent[w.intn(len(w.recent))]
	if w.chance(45) {
		return c
	}
	switch {
	case c.Kind == shardledger.MoveCommand:
		// Only fields that do not change where a move may go: see move.
		if w.chance(50) {
			c.Move.AmountFen++
		} else {
			c.Move.UserData++
		}
	case c.Ledger.Kind == ledger.CreateAccount:
		a := &c.Ledger.Account
		switch w.intn(3) {
		case 0:
			a.Flags ^= ledger.AccountHistory
		case 1:
			a.Kind = a.Kind%ledger.KindExternalCash + 1
		default:
			a.UserData++
		}
	default:
		t := &c.Ledger.Transfer
		switch w.intn(9) {
		case 0:
			t.Flags ^= ledger.Pending
		case 1:
			t.DebitAccountID = w.localAccount()
		case 2:
			t.CreditAccountID = w.localAccount()
		case 3:
			t.AmountFen++
		case 4:
			if t.PendingID != 0 {
				if h, ok := w.someHold(); ok {
					t.PendingID = h.id
				}
			}
		case 5:
			if t.RefundOfID != 0 && len(w.movements) > 0 {
				t.RefundOfID = w.movements[w.intn(len(w.movements))].id
			}
		case 6:
			t.UserData++
		case 7:
			t.Code = t.Code%ledger.CodeAdjust + 1
		default:
			if t.Flags&ledger.Pending != 0 {
				t.DeadlineNanos += 1 + int64(w.intn(1000))
			}
		}
	}
	return c
}

// badInput draws a command that breaks one rule.
func (w *workload) badInput(now int64) shardledger.Command {
	t := ledger.Transfer{
		ID: w.newTransferID(), DebitAccountID: w.member(), CreditAccountID: w.payee(),
		AmountFen: 1 + int64(w.intn(100)), Code: ledger.CodeAdjust,
	}
	switch w.intn(20) {
	case 0:
		t.ID = 0
	case 1:
		t.AmountFen = 0
	case 2:
		t.AmountFen = -5
	case 3:
		t.CreditAccountID = t.DebitAccountID
	case 4:
		t.Flags = 1 << 9
	case 5:
		t.Flags = ledger.Pending | ledger.PostPending
	case 6:
		t.PendingID = transferID(w.shard, uint64(1+w.intn(int(w.nextTransfer))))
	case 7:
		t.DeadlineNanos = now + 1
	case 8:
		t.ID = ledger.TransferID(reservedBadID(uint64(w.intn(8))))
	case 9:
		t.DebitAccountID = accountID(w.shard, missingBase+1)
	case 10:
		t.CreditAccountID = accountID(w.shard, missingBase+2)
	case 11:
		t.DebitAccountID = 0
	case 12:
		t.Code = 0
	case 13:
		t.TimestampNanos = now
	case 14:
		t.Flags, t.PendingID = ledger.PostPending, t.ID
	case 15:
		t.RefundOfID = t.ID
	case 16:
		// Overflows the first funding account's debits, which setup made nonzero. (A huge
		// amount must never reach an account that moves credit at times the model does not
		// know: its overflow check would then depend on them.)
		t.DebitAccountID, t.AmountFen = w.funding[0], math.MaxInt64
	case 17:
		t.Flags, t.RefundOfID = ledger.Pending, transferID(w.shard, 1)
	case 18:
		t.Flags, t.PendingID = ledger.VoidPending, 0
	default:
		c := transferCommand(t)
		c.Ledger.Engine = true // a client cannot claim to be the engine: the machine clears it
		c.Ledger.Transfer.ID = ledger.TransferID(reservedBadID(8 + uint64(w.intn(8))))
		return c
	}
	return transferCommand(t)
}

// account creates a new member now and then, or sends an existing account again.
func (w *workload) account() shardledger.Command {
	switch n := w.intn(100); {
	case n < 35:
		id := w.newAccountID()
		flags := ledger.AccountNoOverdraft
		if w.chance(20) {
			flags |= ledger.AccountHistory
		}
		w.members = append(w.members, id)
		return accountCommand(ledger.Account{ID: id, Kind: ledger.KindMemberPoints, Flags: flags, UserData: uint64(id) % 1000})
	case n < 75:
		// Setup's accounts again: exists, or exists_with_different_*.
		k := 1 + uint64(w.intn(int(min(w.nextAccount, fundingCount+budgetsCount+membersCount))))
		id := accountID(w.shard, k)
		a := ledger.Account{ID: id, UserData: uint64(id) % 1000, Kind: ledger.KindMemberPoints, Flags: ledger.AccountNoOverdraft}
		switch {
		case k <= fundingCount:
			a.Kind, a.Flags = ledger.KindFederationFunding, 0
		case k <= fundingCount+budgetsCount:
			a.Kind = ledger.KindUnionBudget
		case (k-fundingCount-budgetsCount-1)%5 == 0:
			a.Flags |= ledger.AccountHistory
		}
		switch w.intn(4) {
		case 0:
			a.UserData++
		case 1:
			a.Kind = ledger.KindClearing
		case 2:
			a.Flags ^= ledger.AccountNoOverdraft
		}
		return accountCommand(a)
	case n < 80:
		// This shard's in-transit account, as the machine made it: exists.
		return accountCommand(ledger.Account{ID: shardledger.InTransitAccountID(w.shard), Kind: ledger.KindInTransit, UserData: uint64(w.shard)})
	case n < 85:
		return accountCommand(ledger.Account{ID: ledger.AccountID(reservedBadID(uint64(w.intn(4)))), Kind: ledger.KindClearing})
	}
	a := ledger.Account{ID: w.newAccountID(), Kind: ledger.KindMemberPoints}
	switch w.intn(5) {
	case 0:
		a.ID = 0
	case 1:
		a.Kind = 0
	case 2:
		a.Flags = 1 << 7
	case 3:
		a.CreditsPostedFen = 5
	default:
		a.TimestampNanos = 1
	}
	return accountCommand(a)
}

// hashCommands folds commands into an FNV-1a digest, field by field.
func hashCommands(h uint64, cmds []shardledger.Command) uint64 {
	if h == 0 {
		h = fnvOffset
	}
	for i := range cmds {
		c := &cmds[i]
		t, a, mv := &c.Ledger.Transfer, &c.Ledger.Account, &c.Move
		for _, v := range [...]uint64{
			uint64(c.Kind), uint64(c.Ledger.Kind), boolBit(c.Ledger.Engine),
			uint64(a.ID), a.UserData, uint64(a.Kind), uint64(a.Flags), uint64(a.CreditsPostedFen), uint64(a.TimestampNanos),
			uint64(t.ID), uint64(t.DebitAccountID), uint64(t.CreditAccountID), uint64(t.AmountFen), uint64(t.PendingID),
			uint64(t.RefundOfID), t.UserData, uint64(t.DeadlineNanos), uint64(t.Code), uint64(t.Flags), uint64(t.TimestampNanos),
			uint64(mv.ID), uint64(mv.FromAccountID), uint64(mv.ToShard), uint64(mv.ToAccountID), uint64(mv.AmountFen), mv.UserData, uint64(mv.Flags),
		} {
			h = fnvWord(h, v)
		}
	}
	return h
}

func hashPlan(h uint64, p roundPlan, now int64) uint64 {
	if h == 0 {
		h = fnvOffset
	}
	for _, v := range [...]uint64{uint64(p.fault), uint64(p.atSync), uint64(p.acksBeforeFault), boolBit(p.snapshot), uint64(now)} {
		h = fnvWord(h, v)
	}
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvWord(h, v uint64) uint64 {
	for range 8 {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

func boolBit(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
