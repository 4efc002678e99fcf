package ledger

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

var (
	propertySeed  = flag.Uint64("seed", 0, "seed of TestPropertyAgainstReference; 0 picks one at random and logs it")
	propertySteps = flag.Int("steps", 2500, "batches TestPropertyAgainstReference decides")
)

// Limits of the property test's workload.
const (
	// propertyRunBatchesMax is how many batches one ledger decides before the test starts afresh,
	// so the model's scans stay cheap and accounts saturated by near-overflow amounts do not
	// pile up.
	propertyRunBatchesMax = 250
	// propertyAccountIDsMax bounds account ids to 1..this: small, so creates collide.
	propertyAccountIDsMax = 24
	// propertyBatchCommandsMax is the longest batch; most are much shorter.
	propertyBatchCommandsMax = 40
	// propertyRestoresPerRun is how many times per run the live ledger is snapshotted and the
	// restored copy decides the rest of the run beside it.
	propertyRestoresPerRun = 2
	// propertyClassifyRecent is how many of the latest accepted transfers the generator sorts
	// into open holds, refundable movements and so on after each batch.
	propertyClassifyRecent = 400
	// propertyRejectedKept is how many rejected commands the generator keeps to send again.
	propertyRejectedKept = 64
	// Below propertyCoverageMinSteps batches the coverage of result codes is only logged.
	propertyCoverageMinSteps   = 1000
	propertyCoverageMinPercent = 80
	// propertyOKMinPercent is the least share of commands that must succeed, so that the test
	// cannot drift into exercising only rejections.
	propertyOKMinPercent = 30
)

// TestPropertyAgainstReference decides random batches on the ledger and on refModel and
// compares every result, every event and every balance, checks the invariants after every batch,
// checks that the journal replays to the live state, and that a snapshot taken mid-run decides
// the rest of the run as the live ledger does. A failure prints the seed and the step.
func TestPropertyAgainstReference(t *testing.T) {
	seed := *propertySeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	steps := *propertySteps
	t.Logf("seed %d, %d batches; replay with -run TestPropertyAgainstReference -seed=%d -steps=%d", seed, steps, seed, steps)
	rng := rand.New(rand.NewPCG(seed, 0x6c6564676572))

	var coverage [resultCount]int
	var chains, chainsOK int
	commands := 0
	for step := 0; step < steps; {
		batches := min(propertyRunBatchesMax, steps-step)
		p := &propertyRun{t: t, seed: seed, step: step, rng: rng,
			live: New(), model: newRefModel(), gen: newPropertyGen(rng)}
		p.gen.model = p.model
		p.run(batches, &coverage)
		chains += p.chains
		chainsOK += p.chainsOK
		step += batches
	}
	for _, n := range coverage {
		commands += n
	}

	var missing []string
	hit := 0
	for r, n := range coverage {
		if n == 0 {
			missing = append(missing, Result(r).String())
		} else {
			hit++
		}
	}
	okPercent := 100 * coverage[OK] / max(commands, 1)
	t.Logf("%d commands, %d%% ok; %d linked chains, %d of them ok; result codes hit %d of %d; missing: %s",
		commands, okPercent, chains, chainsOK, hit, resultCount, strings.Join(missing, " "))
	if testing.Verbose() {
		var b strings.Builder
		for r, n := range coverage {
			fmt.Fprintf(&b, "  %-48s %d\n", Result(r), n)
		}
		t.Logf("results by code:\n%s", b.String())
	}
	if steps < propertyCoverageMinSteps {
		return
	}
	if hit*100 < propertyCoverageMinPercent*int(resultCount) {
		t.Errorf("seed %d: only %d of %d result codes were hit (want %d%%); missing: %s",
			seed, hit, resultCount, propertyCoverageMinPercent, strings.Join(missing, " "))
	}
	if okPercent < propertyOKMinPercent {
		t.Errorf("seed %d: only %d%% of commands succeeded (want %d%%)", seed, okPercent, propertyOKMinPercent)
	}
}

// propertyRun is one fresh ledger and its model, run for some batches.
type propertyRun struct {
	t    *testing.T
	seed uint64
	step int // counts batches over the whole test, for the failure message
	rng  *rand.Rand

	live    *Ledger
	model   *refModel
	gen     *propertyGen
	journal []Event // every event the live ledger decided, in order
	// restored are ledgers restored from snapshots of live taken mid-run; each decides every
	// later batch too and must agree with live.
	restored []*Ledger
	cmds     []Command // the batch being checked, for the failure message

	chains, chainsOK int // linked chains decided, and those that succeeded
}

func (p *propertyRun) fatalf(format string, args ...any) {
	p.t.Helper()
	var b strings.Builder
	for i := range p.cmds {
		fmt.Fprintf(&b, "\n  %2d %s", i, formatCommand(&p.cmds[i]))
	}
	p.t.Fatalf("seed %d step %d (batch time %d): %s\nbatch:%s\nreplay: go test ./engine/ledger -run TestPropertyAgainstReference -seed=%d -steps=%d",
		p.seed, p.step, p.gen.now, fmt.Sprintf(format, args...), b.String(), p.seed, p.step+1)
}

func formatCommand(c *Command) string {
	if c.Kind == CreateAccount {
		return fmt.Sprintf("account %+v", c.Account)
	}
	return fmt.Sprintf("transfer %+v", c.Transfer)
}

func (p *propertyRun) run(batches int, coverage *[resultCount]int) {
	// Drawn from the longest run, so that a shorter -steps replays the same batches.
	restoreAt := make(map[int]bool)
	for range propertyRestoresPerRun {
		restoreAt[1+p.rng.IntN(propertyRunBatchesMax-1)] = true
	}
	first := p.step
	for i := range batches {
		p.step = first + i
		if restoreAt[i] {
			p.restore()
		}
		var cmds []Command
		if i == 0 {
			cmds = p.gen.setup()
		} else {
			p.gen.advance()
			cmds = p.gen.batch()
		}
		results := p.decide(cmds)
		for _, r := range results {
			coverage[r]++
		}
		p.gen.learn(cmds, results)
	}
	p.finish()
}

// decide runs one batch on the live ledger, the model and every restored ledger, and checks
// that they agree and that the invariants hold.
func (p *propertyRun) decide(cmds []Command) []Result {
	p.cmds = cmds
	now := p.gen.now
	results := make([]Result, len(cmds))
	events := p.live.Execute(now, slices.Clone(cmds), results, nil)
	wantResults, wantEvents := p.model.execute(now, slices.Clone(cmds))
	for i := range cmds {
		if results[i] != wantResults[i] {
			p.fatalf("command %d: ledger says %s, model says %s\nledger: %v\nmodel:  %v",
				i, results[i], wantResults[i], results, wantResults)
		}
	}
	p.compareEvents("model", events, wantEvents)
	for k, r := range p.restored {
		got := make([]Result, len(cmds))
		gotEvents := r.Execute(now, slices.Clone(cmds), got, nil)
		if !slices.Equal(got, results) {
			p.fatalf("ledger restored at snapshot %d says %v, live says %v", k, got, results)
		}
		p.compareEvents(fmt.Sprintf("restored ledger %d", k), gotEvents, events)
	}
	p.journal = append(p.journal, events...)
	p.checkState(cmds)
	p.countChains(cmds, results)
	return results
}

func (p *propertyRun) compareEvents(who string, got, want []Event) {
	p.t.Helper()
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			p.fatalf("event %d: ledger %+v, %s %+v", i, got[i], who, want[i])
		}
	}
	if len(got) != len(want) {
		p.fatalf("ledger decided %d events, %s %d", len(got), who, len(want))
	}
}

func (p *propertyRun) countChains(cmds []Command, results []Result) {
	ok, open := true, false
	for i := range cmds {
		linked := cmds[i].Kind == CreateAccount && cmds[i].Account.Flags&AccountLinked != 0 ||
			cmds[i].Kind == CreateTransfer && cmds[i].Transfer.Flags&Linked != 0
		if !linked && !open {
			continue
		}
		open = true
		ok = ok && results[i] == OK
		if !linked || i == len(cmds)-1 {
			p.chains++
			if ok {
				p.chainsOK++
			}
			ok, open = true, false
		}
	}
}

// checkState compares the accounts with the model's, checks the invariants of the package doc
// independently of CheckInvariants as well as through it, and compares what the ledger
// remembers of the transfers this batch named.
func (p *propertyRun) checkState(cmds []Command) {
	l, m := p.live, p.model
	if l.AccountsCount() != len(m.created) {
		p.fatalf("ledger has %d accounts, model %d", l.AccountsCount(), len(m.created))
	}
	var sums [4]big.Int // debits pending, debits posted, credits pending, credits posted
	i := 0
	l.ForEachAccount(func(a *Account) {
		if want := m.accounts[m.created[i]]; *a != want {
			p.fatalf("account %d of creation order:\nledger %+v\nmodel  %+v", i, *a, want)
		}
		i++
		for k, v := range [4]int64{a.DebitsPendingFen, a.DebitsPostedFen, a.CreditsPendingFen, a.CreditsPostedFen} {
			if v < 0 {
				p.fatalf("account %d has a negative balance field: %+v", a.ID, *a)
			}
			sums[k].Add(&sums[k], big.NewInt(v))
		}
		if a.Flags&AccountNoOverdraft != 0 {
			debits := new(big.Int).Add(big.NewInt(a.DebitsPendingFen), big.NewInt(a.DebitsPostedFen))
			if debits.Cmp(big.NewInt(a.CreditsPostedFen)) > 0 {
				p.fatalf("NoOverdraft: account %d: %+v", a.ID, *a)
			}
		}
	})
	if sums[0].Cmp(&sums[2]) != 0 || sums[1].Cmp(&sums[3]) != 0 {
		p.fatalf("DoubleEntry: debits pending %s posted %s, credits pending %s posted %s",
			&sums[0], &sums[1], &sums[2], &sums[3])
	}
	if err := l.CheckInvariants(); err != nil {
		p.fatalf("CheckInvariants: %v", err)
	}
	if l.TransfersCount() != len(m.transfers) {
		p.fatalf("ledger has %d transfers, model %d", l.TransfersCount(), len(m.transfers))
	}
	gotNext, gotOK := l.NextDeadlineNanos()
	wantNext, wantOK := m.nextDeadline()
	if gotNext != wantNext || gotOK != wantOK {
		p.fatalf("NextDeadlineNanos: ledger %d %v, model %d %v", gotNext, gotOK, wantNext, wantOK)
	}
	for i := range cmds {
		if cmds[i].Kind == CreateTransfer {
			t := &cmds[i].Transfer
			p.checkTransfer(t.ID)
			p.checkTransfer(t.PendingID)
			p.checkTransfer(t.RefundOfID)
		}
	}
}

func (p *propertyRun) checkTransfer(id TransferID) {
	p.t.Helper()
	got, gotOK := p.live.LookupTransfer(id)
	want, wantOK := p.model.transfers[id]
	if gotOK != wantOK {
		p.fatalf("LookupTransfer(%d): ledger found %v, model %v", id, gotOK, wantOK)
	}
	if wantOK && got != want.status() {
		p.fatalf("LookupTransfer(%d):\nledger %+v\nmodel  %+v", id, got, want.status())
	}
}

// restore snapshots the live ledger and keeps the restored copy deciding beside it.
func (p *propertyRun) restore() {
	r, err := restoreRoundTrip(p.live, nil)
	if err != nil {
		p.fatalf("%v", err)
	}
	p.restored = append(p.restored, r)
}

// finish checks the whole run: every transfer, the restored ledgers, and that the journal,
// through the codec and Apply, rebuilds the live state.
func (p *propertyRun) finish() {
	p.cmds = nil
	ids := make([]TransferID, 0, len(p.model.transfers))
	for id := range p.model.transfers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p.checkTransfer(id)
	}

	live := p.live.AppendSnapshot(nil)
	for k, r := range p.restored {
		if !bytes.Equal(r.AppendSnapshot(nil), live) {
			p.fatalf("ledger restored at snapshot %d ends in a different state from live", k)
		}
	}

	var journal []byte
	for i := range p.journal {
		journal = AppendEvent(journal, &p.journal[i])
	}
	replayed := New()
	for i := 0; len(journal) > 0; i++ {
		e, n, err := DecodeEvent(journal)
		if err != nil {
			p.fatalf("journal event %d: %v", i, err)
		}
		if e != p.journal[i] {
			p.fatalf("journal event %d decodes to %+v, live was %+v", i, e, p.journal[i])
		}
		journal = journal[n:]
		replayed.Apply(&e)
	}
	if !bytes.Equal(replayed.AppendSnapshot(nil), live) {
		p.fatalf("replaying the journal of %d events does not rebuild the live state", len(p.journal))
	}
	if err := replayed.CheckInvariants(); err != nil {
		p.fatalf("replayed ledger: %v", err)
	}
	gotNext, gotOK := replayed.NextDeadlineNanos()
	wantNext, wantOK := p.live.NextDeadlineNanos()
	if gotNext != wantNext || gotOK != wantOK {
		p.fatalf("replayed NextDeadlineNanos %d %v, live %d %v", gotNext, gotOK, wantNext, wantOK)
	}
}

// propertyGen makes random batches. It peeks at the model, as of the start of the batch, to
// aim most commands at transfers that exist and are in the right state, so that the deep paths
// (posts, voids, refunds, expiry, chains that succeed) are exercised and not only rejections.
type propertyGen struct {
	rng    *rand.Rand
	model  *refModel
	now    int64
	nextID TransferID

	// sent holds each accepted transfer command as it was sent, so it can be sent again
	// unchanged (exists) or with one field changed (exists_with_different_*).
	sent    map[TransferID]Transfer
	sentIDs []TransferID
	// rejected holds recent rejected commands, to be sent again and decided afresh.
	rejected []Command

	// Sorted from the latest accepted transfers after each batch.
	open       []TransferID // pending, still open
	closed     []TransferID // pending, posted or voided or expired
	refundable []TransferID // single-phase or post with something left to refund
	spent      []TransferID // voids, refunds, and movements refunded in full
	plainIDs   []TransferID // single-phase transfers and posts: not pending

	// What this batch has generated so far, so a chain can post or refund what it created.
	batchHolds []Transfer
	batchPlain []Transfer
	batchCmds  []Command
}

func newPropertyGen(rng *rand.Rand) *propertyGen {
	return &propertyGen{rng: rng, now: 1_000_000, nextID: 1, sent: make(map[TransferID]Transfer)}
}

func (g *propertyGen) chance(percent int) bool { return g.rng.IntN(100) < percent }

func (g *propertyGen) pick(ids []TransferID) (TransferID, bool) {
	if len(ids) == 0 {
		return 0, false
	}
	return ids[g.rng.IntN(len(ids))], true
}

// advance moves batch time on, sometimes not at all, so deadlines fall due at and between
// batches.
func (g *propertyGen) advance() {
	switch w := g.rng.IntN(100); {
	case w < 25:
	case w < 75:
		g.now += 1 + g.rng.Int64N(50)
	case w < 95:
		g.now += 50 + g.rng.Int64N(250)
	default:
		g.now += 300 + g.rng.Int64N(1000)
	}
}

func (g *propertyGen) freshID() TransferID {
	id := g.nextID
	g.nextID++
	return id
}

func (g *propertyGen) code() TransferCode { return TransferCode(1 + g.rng.IntN(10)) }
func (g *propertyGen) userData() uint64   { return uint64(g.rng.IntN(3)) }

func (g *propertyGen) amount() int64 {
	switch w := g.rng.IntN(100); {
	case w < 70:
		return 1 + g.rng.Int64N(500)
	case w < 90:
		return 1 + g.rng.Int64N(20_000)
	default:
		return 1 + g.rng.Int64N(3)
	}
}

// account returns an existing account id, now and then one that may not exist.
func (g *propertyGen) account() AccountID {
	if len(g.model.created) == 0 || g.chance(4) {
		return AccountID(1 + g.rng.IntN(propertyAccountIDsMax+3))
	}
	return g.model.created[g.rng.IntN(len(g.model.created))]
}

func (g *propertyGen) otherAccount(not AccountID) AccountID {
	for range 4 {
		if id := g.account(); id != not {
			return id
		}
	}
	return not%propertyAccountIDsMax + 1
}

// payer returns an account that can probably afford amount: one without NoOverdraft, or one
// with enough available.
func (g *propertyGen) payer(amount int64) AccountID {
	var id AccountID
	for range 4 {
		id = g.account()
		a, ok := g.model.accounts[id]
		if !ok || a.Flags&AccountNoOverdraft == 0 || a.AvailableFen() >= amount {
			return id
		}
	}
	return id
}

func (g *propertyGen) accountFlags() AccountFlags {
	var f AccountFlags
	if g.chance(40) {
		f |= AccountNoOverdraft
	}
	if g.chance(25) {
		f |= AccountHistory
	}
	return f
}

// setup is the first batch of a run: some accounts, and credits for those that may not
// overdraw, from those that may.
func (g *propertyGen) setup() []Command {
	var cmds []Command
	var payers, payees []AccountID
	for id := AccountID(1); id <= 12; id++ {
		a := Account{ID: id, Kind: AccountKind(1 + g.rng.IntN(int(kindLast))), UserData: g.userData()}
		if id%3 == 0 {
			a.Flags = AccountHistory * AccountFlags(g.rng.IntN(2))
			payers = append(payers, id)
		} else {
			a.Flags = g.accountFlags()
			payees = append(payees, id)
		}
		cmds = append(cmds, AccountCommand(a))
	}
	for _, id := range payees {
		cmds = append(cmds, TransferCommand(Transfer{ID: g.freshID(), DebitAccountID: payers[g.rng.IntN(len(payers))],
			CreditAccountID: id, AmountFen: 50_000 + g.rng.Int64N(50_000), Code: CodeFund}))
	}
	return cmds
}

func (g *propertyGen) batch() []Command {
	g.batchHolds, g.batchPlain, g.batchCmds = g.batchHolds[:0], g.batchPlain[:0], nil
	n := 1 + g.rng.IntN(12)
	if g.chance(5) {
		n = 1 + g.rng.IntN(propertyBatchCommandsMax)
	}
	for len(g.batchCmds) < n {
		if g.chance(20) {
			g.chain()
			continue
		}
		c := g.command()
		setLinked(&c, false)
		g.batchCmds = append(g.batchCmds, c)
	}
	if g.chance(6) {
		setLinked(&g.batchCmds[len(g.batchCmds)-1], true) // a chain left open at the end
	}
	return g.batchCmds
}

func setLinked(c *Command, linked bool) {
	if c.Kind == CreateAccount {
		c.Account.Flags &^= AccountLinked
		if linked {
			c.Account.Flags |= AccountLinked
		}
		return
	}
	c.Transfer.Flags &^= Linked
	if linked {
		c.Transfer.Flags |= Linked
	}
}

// chain appends a linked chain of two to five commands to the batch: random ones, ones that
// depend on each other, or ones with a bad command in the middle.
func (g *propertyGen) chain() {
	var cmds, after []Command // after: commands that follow the chain, not linked
	switch w := g.rng.IntN(100); {
	case w < 35:
		for range 2 + g.rng.IntN(4) {
			cmds = append(cmds, g.command())
		}
	case w < 55: // hold, then post or void it
		h := g.hold()
		cmds = append(cmds, TransferCommand(h))
		if g.chance(60) {
			cmds = append(cmds, TransferCommand(g.post()))
		} else {
			cmds = append(cmds, TransferCommand(g.void()))
		}
	case w < 70: // a new account, funded, spending
		a := g.createAccount()
		cmds = append(cmds, a)
		id := a.Account.ID
		fund := g.amount()
		cmds = append(cmds, TransferCommand(Transfer{ID: g.freshID(), DebitAccountID: g.payer(fund),
			CreditAccountID: id, AmountFen: fund, Code: CodeIssue}))
		cmds = append(cmds, TransferCommand(Transfer{ID: g.freshID(), DebitAccountID: id,
			CreditAccountID: g.otherAccount(id), AmountFen: 1 + g.rng.Int64N(fund+fund/4), Code: CodeSpendHold}))
	case w < 85: // a movement, then a refund of it
		cmds = append(cmds, TransferCommand(g.plain()), TransferCommand(g.refund()))
	case w < 93: // fails mid-way
		cmds = append(cmds, TransferCommand(g.plain()), TransferCommand(g.badTransfer()), TransferCommand(g.hold()))
	default: // a hold rolled back, then held again under the same id with another deadline
		h := g.hold()
		h.DeadlineNanos = g.deadline()
		bad := g.plain()
		bad.Code = 0
		cmds = append(cmds, TransferCommand(h), TransferCommand(bad))
		h.DeadlineNanos = 0
		if g.chance(60) {
			h.DeadlineNanos = g.deadline()
		}
		after = append(after, TransferCommand(h))
	}
	for i := range cmds {
		setLinked(&cmds[i], i < len(cmds)-1)
	}
	g.batchCmds = append(g.batchCmds, cmds...)
	g.batchCmds = append(g.batchCmds, after...)
}

func (g *propertyGen) command() Command {
	switch w := g.rng.IntN(1000); {
	case w < 60:
		return g.createAccount()
	case w < 80:
		return g.badAccount()
	case w < 310:
		return TransferCommand(g.plain())
	case w < 450:
		return TransferCommand(g.hold())
	case w < 570:
		return TransferCommand(g.post())
	case w < 630:
		return TransferCommand(g.void())
	case w < 720:
		return TransferCommand(g.refund())
	case w < 770:
		return TransferCommand(g.misdirected())
	case w < 860:
		return g.duplicate()
	case w < 920:
		return TransferCommand(g.badTransfer())
	case w < 950:
		return g.retry()
	case w < 958:
		return TransferCommand(g.nearOverflow())
	case w < 966:
		return g.reserved()
	case w < 990:
		return TransferCommand(g.spendAll())
	default:
		return TransferCommand(g.plain())
	}
}

func (g *propertyGen) createAccount() Command {
	id := AccountID(1 + g.rng.IntN(propertyAccountIDsMax))
	for range 3 {
		if _, ok := g.model.accounts[id]; !ok {
			break
		}
		id = AccountID(1 + g.rng.IntN(propertyAccountIDsMax))
	}
	return AccountCommand(Account{ID: id, Kind: AccountKind(1 + g.rng.IntN(int(kindLast))),
		Flags: g.accountFlags(), UserData: g.userData()})
}

func (g *propertyGen) badAccount() Command {
	c := g.createAccount()
	a := &c.Account
	switch g.rng.IntN(6) {
	case 0:
		a.TimestampNanos = 1 + g.rng.Int64N(100)
	case 1:
		a.ID = 0
	case 2:
		a.Flags |= AccountFlags(1) << (3 + g.rng.IntN(13))
	case 3:
		*[]*int64{&a.DebitsPendingFen, &a.DebitsPostedFen, &a.CreditsPendingFen, &a.CreditsPostedFen}[g.rng.IntN(4)] = 1
	case 4:
		a.Kind = 0
	case 5:
		a.Kind = kindLast + AccountKind(1+g.rng.IntN(200))
	}
	return c
}

func (g *propertyGen) plain() Transfer {
	amount := g.amount()
	debit := g.payer(amount)
	t := Transfer{ID: g.freshID(), DebitAccountID: debit, CreditAccountID: g.otherAccount(debit),
		AmountFen: amount, UserData: g.userData(), Code: g.code()}
	g.batchPlain = append(g.batchPlain, t)
	return t
}

func (g *propertyGen) hold() Transfer {
	t := g.plain()
	g.batchPlain = g.batchPlain[:len(g.batchPlain)-1]
	t.Flags = Pending
	switch w := g.rng.IntN(100); {
	case w < 45:
	case w < 95:
		t.DeadlineNanos = g.deadline()
	default:
		t.DeadlineNanos = g.now - g.rng.Int64N(5) // not in the future
	}
	g.batchHolds = append(g.batchHolds, t)
	return t
}

// deadline returns a deadline in the future, often on a multiple of 16 so that holds fall due
// together and expire in id order.
func (g *propertyGen) deadline() int64 {
	d := g.now + 1 + g.rng.Int64N(300)
	if g.chance(50) {
		d = (d + 15) &^ 15
	}
	return d
}

// openHold returns a hold to post or void: one created earlier in this batch, or one open at
// the start of it.
func (g *propertyGen) openHold() (Transfer, bool) {
	if len(g.batchHolds) > 0 && (len(g.open) == 0 || g.chance(30)) {
		return g.batchHolds[g.rng.IntN(len(g.batchHolds))], true
	}
	id, ok := g.pick(g.open)
	if !ok {
		return Transfer{}, false
	}
	return g.model.transfers[id].Transfer, true
}

// closeAccounts fills in the accounts of a post, void or refund that should move from debit to
// credit: mostly left zero, sometimes given, sometimes wrong.
func (g *propertyGen) closeAccounts(t *Transfer, debit, credit AccountID) {
	switch w := g.rng.IntN(100); {
	case w < 65:
	case w < 80:
		t.DebitAccountID, t.CreditAccountID = debit, credit
	case w < 85:
		t.DebitAccountID = debit
	case w < 90:
		t.CreditAccountID = credit
	case w < 95:
		t.DebitAccountID = g.otherAccount(debit)
	default:
		t.CreditAccountID = g.otherAccount(credit)
	}
}

func (g *propertyGen) post() Transfer {
	p, ok := g.openHold()
	if !ok {
		return g.misdirected()
	}
	t := Transfer{ID: g.freshID(), PendingID: p.ID, Flags: PostPending, UserData: g.userData(), Code: CodePost}
	switch w := g.rng.IntN(100); {
	case w < 35: // all
	case w < 60:
		if p.AmountFen > 1 {
			t.AmountFen = 1 + g.rng.Int64N(p.AmountFen-1)
		}
	case w < 80:
		t.AmountFen = p.AmountFen
	case w < 90:
		t.AmountFen = p.AmountFen + 1 + g.rng.Int64N(10)
	default:
		t.AmountFen = g.amount()
	}
	g.closeAccounts(&t, p.DebitAccountID, p.CreditAccountID)
	g.batchPlain = append(g.batchPlain, Transfer{ID: t.ID, DebitAccountID: p.DebitAccountID,
		CreditAccountID: p.CreditAccountID, AmountFen: max(t.AmountFen, 1)})
	return t
}

func (g *propertyGen) void() Transfer {
	p, ok := g.openHold()
	if !ok {
		return g.misdirected()
	}
	t := Transfer{ID: g.freshID(), PendingID: p.ID, Flags: VoidPending, UserData: g.userData(), Code: CodeVoid}
	switch w := g.rng.IntN(100); {
	case w < 60:
	case w < 85:
		t.AmountFen = p.AmountFen
	default:
		t.AmountFen = p.AmountFen + 1 + g.rng.Int64N(10)
	}
	g.closeAccounts(&t, p.DebitAccountID, p.CreditAccountID)
	return t
}

func (g *propertyGen) refund() Transfer {
	var o Transfer
	var left int64
	if len(g.batchPlain) > 0 && (len(g.refundable) == 0 || g.chance(25)) {
		o = g.batchPlain[g.rng.IntN(len(g.batchPlain))]
		left = o.AmountFen
	} else if id, ok := g.pick(g.refundable); ok {
		r := g.model.transfers[id]
		o, left = r.Transfer, r.AmountFen-r.refundedFen
	} else {
		return g.misdirected()
	}
	t := Transfer{ID: g.freshID(), RefundOfID: o.ID, UserData: g.userData(), Code: CodeRefund}
	switch w := g.rng.IntN(100); {
	case w < 40:
		t.AmountFen = 1 + g.rng.Int64N(max(left, 1))
	case w < 70:
		t.AmountFen = left
	case w < 85:
		t.AmountFen = left + 1 + g.rng.Int64N(10)
	default:
		t.AmountFen = 1 + g.rng.Int64N(3)
	}
	g.closeAccounts(&t, o.CreditAccountID, o.DebitAccountID)
	return t
}

// misdirected is a post, void or refund of a transfer that cannot take it.
func (g *propertyGen) misdirected() Transfer {
	t := Transfer{ID: g.freshID(), AmountFen: g.amount(), UserData: g.userData(), Code: g.code()}
	var target TransferID
	switch w := g.rng.IntN(100); {
	case w < 15:
		target = g.nextID + 1_000_000 // never created
	case w < 40:
		target, _ = g.pick(g.closed)
	case w < 55:
		target, _ = g.pick(g.plainIDs)
	case w < 70:
		target, _ = g.pick(g.open)
	default:
		target, _ = g.pick(g.spent)
	}
	if target == 0 {
		target = g.nextID + 1_000_000
	}
	switch g.rng.IntN(3) {
	case 0:
		t.Flags, t.PendingID, t.AmountFen = PostPending, target, 0
	case 1:
		t.Flags, t.PendingID, t.AmountFen = VoidPending, target, 0
	default:
		t.RefundOfID = target
	}
	return t
}

// duplicate sends an id that was already used: unchanged, or with one field changed.
func (g *propertyGen) duplicate() Command {
	if len(g.model.created) > 0 && g.chance(25) {
		a := g.model.accounts[g.model.created[g.rng.IntN(len(g.model.created))]]
		c := AccountCommand(Account{ID: a.ID, UserData: a.UserData, Kind: a.Kind, Flags: a.Flags})
		switch g.rng.IntN(5) {
		case 0:
			c.Account.Flags ^= AccountNoOverdraft
		case 1:
			c.Account.Flags ^= AccountHistory
		case 2:
			c.Account.Kind = c.Account.Kind%kindLast + 1
		case 3:
			c.Account.UserData++
		}
		return c
	}
	if len(g.batchCmds) > 0 && g.chance(10) {
		return g.batchCmds[g.rng.IntN(len(g.batchCmds))] // again within the batch
	}
	id, ok := g.pick(g.sentIDs)
	if !ok {
		return TransferCommand(g.plain())
	}
	t := g.sent[id]
	if g.chance(50) {
		return TransferCommand(t)
	}
	switch g.rng.IntN(10) {
	case 0:
		t.Flags ^= Pending
		t.DeadlineNanos = 0
	case 1:
		t.DebitAccountID = g.otherAccount(t.DebitAccountID)
	case 2:
		t.CreditAccountID = g.otherAccount(t.CreditAccountID)
	case 3:
		t.AmountFen++
	case 4:
		if t.PendingID != 0 {
			t.PendingID, _ = g.pick(g.closed)
		}
	case 5:
		if t.RefundOfID != 0 {
			t.RefundOfID, _ = g.pick(g.plainIDs)
		}
	case 6:
		t.UserData++
	case 7:
		t.Code = t.Code%10 + 1
	case 8:
		if t.Flags&Pending != 0 {
			t.DeadlineNanos = g.now + 1 + g.rng.Int64N(100)
		}
	case 9: // accounts as resolved rather than left zero: still the same transfer
		if r, ok := g.model.transfers[id]; ok {
			t.DebitAccountID, t.CreditAccountID = r.DebitAccountID, r.CreditAccountID
		}
	}
	return TransferCommand(t)
}

// badTransfer breaks one rule of a command that would otherwise be fine.
func (g *propertyGen) badTransfer() Transfer {
	var t Transfer
	switch g.rng.IntN(4) {
	case 0:
		t = g.hold()
	case 1:
		t = g.post()
	case 2:
		t = g.refund()
	default:
		t = g.plain()
	}
	switch g.rng.IntN(17) {
	case 0:
		t.TimestampNanos = 1 + g.rng.Int64N(100)
	case 1:
		t.ID = 0
	case 2:
		t.Flags |= TransferFlags(1) << (4 + g.rng.IntN(12))
	case 3:
		t.Flags |= Pending | PostPending
	case 4:
		t.Flags |= VoidPending
		t.RefundOfID = 1 + TransferID(g.rng.IntN(int(g.nextID)))
	case 5:
		t.Flags |= PostPending
		t.PendingID = 0
	case 6:
		t.Flags &^= PostPending | VoidPending
		t.PendingID = 1 + TransferID(g.rng.IntN(int(g.nextID)))
	case 7:
		t.Flags = t.Flags&^Pending | VoidPending
		t.PendingID, t.DeadlineNanos = t.ID, 0
	case 8:
		t.Flags &^= Pending | PostPending | VoidPending
		t.PendingID, t.DeadlineNanos, t.RefundOfID = 0, 0, t.ID
	case 9:
		t.DebitAccountID = 0
	case 10:
		t.CreditAccountID = 0
	case 11:
		t.CreditAccountID = t.DebitAccountID
		if t.DebitAccountID == 0 {
			t.DebitAccountID, t.CreditAccountID = 1, 1
		}
	case 12:
		t.Code = 0
	case 13:
		t.AmountFen = -1 - g.rng.Int64N(1000)
	case 14:
		t.AmountFen = 0
	case 15:
		t.Flags &^= Pending
		t.DeadlineNanos = g.now + 1 + g.rng.Int64N(100)
	case 16:
		t.AmountFen = math.MinInt64
	}
	return t
}

// retry sends a rejected command again: rejections leave nothing behind, so it is decided
// afresh, and an id freed by a failed chain can be used again.
func (g *propertyGen) retry() Command {
	if len(g.rejected) == 0 {
		return TransferCommand(g.plain())
	}
	c := g.rejected[g.rng.IntN(len(g.rejected))]
	if c.Kind == CreateTransfer && c.Transfer.Flags&Pending != 0 && g.chance(40) {
		// The same id, held again with another deadline: a deadline left behind by a rolled
		// back chain must not fire for it.
		c.Transfer.DeadlineNanos = 0
		if g.chance(70) {
			c.Transfer.DeadlineNanos = g.deadline()
		}
	}
	return c
}

// spendAll spends or holds about all that an account which may not overdraw has available,
// pending debits counted: just under, exactly, or just over.
func (g *propertyGen) spendAll() Transfer {
	t := g.plain()
	for range 4 {
		if a, ok := g.model.accounts[t.DebitAccountID]; ok && a.Flags&AccountNoOverdraft != 0 {
			t.AmountFen = max(a.AvailableFen()+g.rng.Int64N(3)-1, 1)
			break
		}
		t.DebitAccountID = g.account()
	}
	if t.DebitAccountID == t.CreditAccountID {
		t.CreditAccountID = g.otherAccount(t.DebitAccountID)
	}
	if g.chance(40) {
		t.Flags = Pending
	}
	return t
}

// nearOverflow moves an amount at or just past what an account's debits or credits can still
// take. Most are holds with a near deadline, so the accounts are usable again soon after.
func (g *propertyGen) nearOverflow() Transfer {
	t := g.plain()
	d, c := g.model.accounts[t.DebitAccountID], g.model.accounts[t.CreditAccountID]
	room := int64(math.MaxInt64) - d.DebitsPendingFen - d.DebitsPostedFen
	if g.chance(50) {
		room = int64(math.MaxInt64) - c.CreditsPendingFen - c.CreditsPostedFen
	}
	if delta := g.rng.Int64N(4) - 1; delta > 0 && room > math.MaxInt64-delta {
		t.AmountFen = math.MaxInt64
	} else {
		t.AmountFen = max(room+delta, 1)
	}
	if g.chance(75) {
		t.Flags = Pending
		if g.chance(50) {
			t.DeadlineNanos = g.now + 1 + g.rng.Int64N(20)
		}
	}
	return t
}

// reserved creates an id at or above ReservedIDMin, as the engine may and a client may not.
func (g *propertyGen) reserved() Command {
	var c Command
	if g.chance(30) {
		c = g.createAccount()
		c.Account.ID = ReservedIDMin + AccountID(g.rng.IntN(3))
	} else {
		c = TransferCommand(g.plain())
		c.Transfer.ID = ReservedIDMin + TransferID(g.rng.IntN(8))
	}
	c.Engine = g.chance(50)
	return c
}

// learn records what the batch did, for the next batches to aim at.
func (g *propertyGen) learn(cmds []Command, results []Result) {
	for i := range cmds {
		c := cmds[i]
		setLinked(&c, false)
		switch {
		case results[i] != OK:
			if len(g.rejected) < propertyRejectedKept {
				g.rejected = append(g.rejected, c)
			} else {
				g.rejected[g.rng.IntN(propertyRejectedKept)] = c
			}
		case c.Kind == CreateTransfer:
			g.sent[c.Transfer.ID] = c.Transfer
			g.sentIDs = append(g.sentIDs, c.Transfer.ID)
		}
	}
	g.open, g.closed, g.refundable, g.spent, g.plainIDs = g.open[:0], g.closed[:0], g.refundable[:0], g.spent[:0], g.plainIDs[:0]
	for _, id := range g.sentIDs[max(0, len(g.sentIDs)-propertyClassifyRecent):] {
		r := g.model.transfers[id]
		switch {
		case r.open:
			g.open = append(g.open, id)
		case r.Flags&Pending != 0:
			g.closed = append(g.closed, id)
		case r.Flags&VoidPending != 0 || r.RefundOfID != 0 || r.refundedFen == r.AmountFen:
			g.spent = append(g.spent, id)
		default:
			g.refundable = append(g.refundable, id)
		}
		if r.Flags&(Pending|VoidPending) == 0 && r.RefundOfID == 0 {
			g.plainIDs = append(g.plainIDs, id)
		}
	}
}
