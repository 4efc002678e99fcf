package shardsim

import (
	"bytes"
	"errors"
	"fmt"
	"huigong/engine/internal/simkit"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// Named limits of a run.
const (
	ShardsCountDefault = 8
	StepsDefault       = 250

	// settleEveryRoundsMax bounds the rounds between two settle points without a fault.
	settleEveryRoundsMax = 6

	segmentBytes = 128 << 10

	roundTimeout  = 20 * time.Second
	closeTimeout  = 30 * time.Second
	settleTimeout = 10 * time.Second

	// windDownPasses move every order on at the end: ship, arrive, hand out.
	windDownPasses = 3
)

// Config configures a run. Zero fields take the defaults.
type Config struct {
	Seed   int64
	Steps  int // rounds of requests after the setup, retries included
	Shards int
	// Logf, if set, receives progress every LogEveryRounds rounds and a summary at the end.
	Logf           func(format string, args ...any)
	LogEveryRounds int
}

// Stats says what a run did.
type Stats struct {
	Rounds, RetryRounds, Commands      int
	Requests, Acknowledged             int
	Unacknowledged                     int
	ResolvedDurable, ResolvedLost      int
	Crashes, TornCrashes, SyncFailures int
	RecoveryCrashes, CleanRestarts     int
	Snapshots, Settles                 int
	Notes                              int
	OrdersPlaced                       int // acknowledged placed
	Orders                             map[welfare.OrderState]int
	OrderCodes                         map[welfare.Code]int // why orders were refused or cancelled
	Results                            map[welfare.CommandKind]map[welfare.Code]int
	Clock                              string // the fake clock at the end
}

var kindNames = map[welfare.CommandKind]string{
	welfare.SetConfig: "set_config", welfare.CreateUnion: "create_union", welfare.AddOfficer: "add_officer",
	welfare.RegisterMember: "register", welfare.FundUnion: "fund", welfare.CreateProgram: "create_program",
	welfare.ApproveProgram: "approve", welfare.Issue: "issue", welfare.RevokeProgram: "revoke",
	welfare.MoveMember: "move", welfare.SetPickupPoint: "set_pickup_point", welfare.SetMerchant: "set_merchant",
	welfare.PlaceOrder: "place", welfare.ConfirmPayment: "confirm_payment", welfare.CancelOrder: "cancel",
	welfare.ShipOrder: "ship", welfare.ArriveOrder: "arrive", welfare.HandOutOrder: "hand_out",
	welfare.ReturnOrder: "return", welfare.SetSKU: "set_sku", welfare.ReceiveStock: "receive_stock",
	welfare.RestockSKU: "restock", welfare.AwardPoints: "award", welfare.ReverseAward: "reverse_award",
}

func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rounds=%d (retries %d) commands=%d requests=%d acked=%d unacked=%d (durable %d, lost %d) "+
		"crashes=%d torn=%d syncfail=%d recovery-crashes=%d clean-restarts=%d snapshots=%d settles=%d notes=%d placed=%d clock=%s",
		s.Rounds, s.RetryRounds, s.Commands, s.Requests, s.Acknowledged, s.Unacknowledged, s.ResolvedDurable, s.ResolvedLost,
		s.Crashes, s.TornCrashes, s.SyncFailures, s.RecoveryCrashes, s.CleanRestarts, s.Snapshots, s.Settles, s.Notes, s.OrdersPlaced, s.Clock)
	fmt.Fprintf(&b, "\norders at the end:")
	for _, st := range sortedKeys(s.Orders) {
		fmt.Fprintf(&b, " %s=%d", st, s.Orders[st])
	}
	fmt.Fprintf(&b, "; ended by:")
	for _, c := range sortedKeys(s.OrderCodes) {
		fmt.Fprintf(&b, " %s=%d", c, s.OrderCodes[c])
	}
	for _, k := range sortedKeys(s.Results) {
		fmt.Fprintf(&b, "\n  %s:", kindNames[k])
		for _, c := range sortedKeys(s.Results[k]) {
			fmt.Fprintf(&b, " %s=%d", c, s.Results[k][c])
		}
	}
	return b.String()
}

type (
	rtType      = runtime.Runtime[shard.Command, shard.Result]
	machineType = runtime.Machine[shard.Command, shard.Result]
)

// fault is what a round does to the process and its disk.
type fault uint8

const (
	faultNone fault = iota
	faultCrash
	faultCrashTorn
	faultSyncFailure // fsyncs fail, then the process restarts with the disk as it is
	faultCleanRestart
)

func (f fault) String() string {
	return [...]string{"none", "crash", "crash-torn", "sync-failure", "clean-restart"}[f]
}

// request is one SubmitBatch: its first command is a funding with a fresh transfer id, the
// marker that says after a crash whether the request survived.
type request struct {
	shard uint32
	cmds  []welfare.Command
}

func (r *request) marker() ledger.TransferID { return r.cmds[0].TransferID }

// noteBook collects the runtime's notes: delivered once their batch is durable, from the
// journal's completion path.
type noteBook struct {
	mu      sync.Mutex
	orders  map[welfare.OrderID][]welfare.OrderState
	refunds map[welfare.OrderID][]welfare.OrderNote
	soldOut map[stock.SKUID]bool
	// soldOutValid is false after a restart until a settle has read the stock again.
	soldOutValid bool
	count        int
}

func (n *noteBook) on(_ uint32, notes []any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for note := range shard.OrderNotes(notes) {
		n.count++
		switch note.Kind {
		case welfare.NoteOrder:
			n.orders[note.OrderID] = append(n.orders[note.OrderID], note.State)
		case welfare.NoteSoldOut:
			n.soldOut[note.SKU] = true
		case welfare.NoteBackInStock:
			n.soldOut[note.SKU] = false
		case welfare.NoteRefundPayment:
			n.refunds[note.OrderID] = append(n.refunds[note.OrderID], *note)
		}
	}
}

type sim struct {
	cfg    Config
	faults *rand.Rand // the fault schedule, apart from the workload
	fs     *journal.FaultFS
	tfs    *journal.SyncTrigger // the FaultFS as the engine sees it
	clock  atomic.Int64
	rt     *rtType
	notes  *noteBook
	m      *model
	w      *workload
	round  int
	stats  Stats
}

// Start of the fake clock: a month before the Spring Festival of 2026, Asia/Shanghai.
var startNanos = welfare.DayStartNanos(welfare.DaysFromCivil(2026, 1, 12)) + 9*nanosPerHour

func day(nanos int64) string {
	y, mo, d := welfare.CivilFromDays(welfare.DayOf(nanos))
	secs := (nanos - welfare.DayStartNanos(welfare.DayOf(nanos))) / nanosPerSecond
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, secs/3600, secs/60%60, secs%60)
}

// simConfig is the federation's configuration for the run: the defaults, with a
// maker-checker threshold low enough to matter and a festival sale around the Spring Festival.
func simConfig() welfare.Config {
	c := welfare.DefaultConfig()
	c.Version = 2
	c.ApprovalThresholdFen = 3_000_00
	c.Campaigns = []stock.Campaign{{
		ID: 1, Name: "spring festival sale", DiscountBps: 700,
		FromNanos: welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 10)),
		ToNanos:   welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 24)),
		Unions:    []stock.UnionID{stock.UnionID(unionID(0, 1)), stock.UnionID(unionID(1, 1)), stock.UnionID(unionID(2, 2))},
	}}
	return c
}

// Run runs one simulation. Its error names the seed and the round.
func Run(cfg Config) (Stats, error) {
	if cfg.Steps == 0 {
		cfg.Steps = StepsDefault
	}
	if cfg.Shards == 0 {
		cfg.Shards = ShardsCountDefault
	}
	if cfg.Shards < 3 {
		return Stats{}, fmt.Errorf("shardsim: %d shards, want at least 3", cfg.Shards)
	}
	if cfg.LogEveryRounds == 0 {
		cfg.LogEveryRounds = 50
	}
	s := &sim{
		cfg:    cfg,
		faults: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x4641_554c_5453)),
		fs:     journal.NewFaultFS(cfg.Seed),
		notes: &noteBook{orders: map[welfare.OrderID][]welfare.OrderState{}, refunds: map[welfare.OrderID][]welfare.OrderNote{},
			soldOut: map[stock.SKUID]bool{}, soldOutValid: true},
		m:     newModel(cfg.Shards, simConfig()),
		stats: Stats{Orders: map[welfare.OrderState]int{}, OrderCodes: map[welfare.Code]int{}, Results: map[welfare.CommandKind]map[welfare.Code]int{}},
	}
	s.w = newWorkload(cfg.Seed, s.m)
	s.tfs = journal.NewSyncTrigger(s.fs)
	s.clock.Store(startNanos)
	err := s.run()
	s.stats.Clock = day(s.now())
	s.notes.mu.Lock()
	s.stats.Notes = s.notes.count
	s.notes.mu.Unlock()
	if s.rt != nil {
		if cerr := simkit.Within(closeTimeout, s.rt.Close); err == nil && cerr != nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}
	if err != nil {
		return s.stats, fmt.Errorf("seed=%d round=%d clock=%s: %w", cfg.Seed, s.round, day(s.now()), err)
	}
	return s.stats, nil
}

func (s *sim) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

func (s *sim) now() int64 { return s.clock.Load() }

// open opens the journal and the runtime over the disk; the journal may first meet a crash
// during its recovery (simkit.OpenJournal).
func (s *sim) open() error {
	j, crashed, err := simkit.OpenJournal(s.tfs, s.fs, s.faults, segmentBytes)
	if crashed {
		s.stats.RecoveryCrashes++
	}
	if err != nil {
		return err
	}
	return s.openRuntime(j)
}

func (s *sim) openRuntime(j *journal.FileJournal) error {
	snapDir, err := s.tfs.OpenDir("snapshots")
	if err != nil {
		j.Close()
		return fmt.Errorf("open snapshots: %w", err)
	}
	every := []uint64{0, 0, 16, 64}[s.faults.IntN(4)]
	rt, err := runtime.Open(runtime.Options{
		ShardsCount: s.cfg.Shards, Clock: s.now, Journal: j, OnNotes: s.notes.on,
		Snapshots: runtime.NewDirSnapshotStore(snapDir), SnapshotEveryBatches: every, Invariants: true,
	}, shard.Factory(s.cfg.Shards))
	if err != nil {
		j.Close()
		return fmt.Errorf("open runtime: %w", err)
	}
	s.rt = rt
	return nil
}

// advanceClock moves the fake clock on, mostly by seconds, sometimes past the deadlines of a
// checkout (30 s), a cash payment (15 min), a pickup or a return (7 days), and programs' ends.
func (s *sim) advanceClock() {
	r := s.w.rng
	var step int64
	switch x := r.IntN(100); {
	case x < 45:
		step = r.Int64N(5 * nanosPerSecond)
	case x < 70:
		step = 5*nanosPerSecond + r.Int64N(55*nanosPerSecond)
	case x < 83:
		step = nanosPerMinute + r.Int64N(20*nanosPerMinute)
	case x < 94:
		step = nanosPerHour + r.Int64N(36*nanosPerHour)
	default:
		step = 2*nanosPerDay + r.Int64N(7*nanosPerDay)
	}
	s.clock.Add(step)
	s.rt.Wake()
}

func (s *sim) run() error {
	if err := s.open(); err != nil {
		return err
	}
	// Setup: every shard's unions, members, SKUs and funding, and the configuration; no
	// faults, then a settle so that every shard has the configuration.
	var reqs []request
	for i := range s.cfg.Shards {
		reqs = append(reqs, request{shard: uint32(i), cmds: s.w.setup(uint32(i), s.now(), &s.m.config)})
	}
	if _, err := s.runRound(reqs, roundPlan{}); err != nil {
		return err
	}
	if err := s.settle(false); err != nil {
		return err
	}

	var retry []request
	sinceSettle, settleEvery := 0, 1
	for s.round < s.cfg.Steps {
		s.round++
		s.stats.Rounds++
		s.advanceClock()
		now := s.now()
		if retry != nil {
			reqs, retry = s.retryable(retry), nil
			s.stats.RetryRounds++
		} else {
			s.w.startRound()
			reqs = reqs[:0]
			for i := range s.cfg.Shards {
				reqs = append(reqs, request{shard: uint32(i), cmds: s.w.request(uint32(i), now)})
			}
		}
		for i := range reqs {
			s.stats.Commands += len(reqs[i].cmds)
		}
		p := s.planRound(len(reqs))
		var err error
		if retry, err = s.runRound(reqs, p); err != nil {
			return err
		}
		sinceSettle++
		if p.fault != faultNone || sinceSettle >= settleEvery {
			if err := s.settle(false); err != nil {
				return err
			}
			sinceSettle, settleEvery = 0, 1+s.faults.IntN(settleEveryRoundsMax)
		}
		if s.cfg.LogEveryRounds > 0 && s.round%s.cfg.LogEveryRounds == 0 {
			s.logf("round %d of %d: clock %s, %d members, %d programs, %d orders", s.round, s.cfg.Steps, day(s.now()),
				len(s.m.memberList), len(s.m.programList), len(s.m.orderList))
		}
	}
	for retry != nil {
		var err error
		if retry, err = s.runRound(s.retryable(retry), roundPlan{}); err != nil {
			return err
		}
	}
	return s.finish()
}

// roundPlan is what a round does besides its requests.
type roundPlan struct {
	fault           fault
	atSync          int // strike just before the n-th fsync of the round; 0: after acks
	acksBeforeFault int
	snapshot        bool
}

func (s *sim) planRound(requests int) roundPlan {
	p := roundPlan{snapshot: s.faults.IntN(100) < 10}
	switch x := s.faults.IntN(100); {
	case x < 4:
		p.fault = faultCrash
	case x < 8:
		p.fault = faultCrashTorn
	case x < 13:
		p.fault = faultSyncFailure // unsynced records stay on the disk: requests unanswered but durable
	case x < 15:
		p.fault = faultCleanRestart
	}
	if p.fault != faultNone && p.fault != faultCleanRestart {
		if s.faults.IntN(3) > 0 {
			p.atSync = 1 + s.faults.IntN(16)
		} else {
			p.acksBeforeFault = s.faults.IntN(requests)
		}
	}
	return p
}

var errInjected = errors.New("shardsim: injected fsync failure")

func (s *sim) faultAction(f fault) func() {
	switch f {
	case faultCrash:
		return s.fs.Crash
	case faultCrashTorn:
		return func() { s.fs.CrashTorn() }
	case faultSyncFailure:
		return func() { s.fs.SetSyncError(errInjected) }
	}
	return nil
}

type driven struct {
	index   int
	results []welfare.Result
	err     error
}

// runRound submits every request at once, each from its own goroutine, strikes the planned
// fault while they are in flight, audits the answers, restarts after a fault and resolves the
// requests not answered. It returns the requests to send again: after a crash a client
// retries what it sent, as far as that is safe to repeat.
func (s *sim) runRound(reqs []request, p roundPlan) ([]request, error) {
	now := s.now()
	if p.snapshot {
		s.rt.Snapshot()
		s.stats.Snapshots++
	}
	action := s.faultAction(p.fault)
	if action != nil && p.atSync > 0 {
		s.tfs.Arm(p.atSync, action)
	}
	rt := s.rt
	done := make(chan driven, len(reqs))
	for i := range reqs {
		go func(i int) {
			results := make([]welfare.Result, len(reqs[i].cmds))
			err := rt.SubmitBatch(reqs[i].shard, reqs[i].cmds, results)
			done <- driven{index: i, results: results, err: err}
		}(i)
	}
	outcomes := make([]driven, len(reqs))
	acked, returned := 0, 0
	injected := action == nil
	inject := func() {
		injected = true
		if !s.tfs.Disarm() {
			action()
		}
	}
	timeout := time.NewTimer(roundTimeout)
	defer timeout.Stop()
	for returned < len(reqs) {
		if !injected && p.atSync == 0 && acked >= p.acksBeforeFault {
			inject()
		}
		select {
		case d := <-done:
			outcomes[d.index] = d
			returned++
			if d.err == nil {
				acked++
			}
		case <-timeout.C:
			return nil, fmt.Errorf("round: %d of %d requests answered after %v (fault %s)\n%s", returned, len(reqs), roundTimeout, p.fault, simkit.Goroutines())
		}
	}
	if !injected {
		inject()
	}
	switch p.fault {
	case faultCrash:
		s.stats.Crashes++
	case faultCrashTorn:
		s.stats.TornCrashes++
	case faultSyncFailure:
		s.stats.SyncFailures++
	}

	// Audit every answered request. Requests of one round go to different shards, and what
	// the model predicts of one shard's request does not depend on another's.
	for i, d := range outcomes {
		s.stats.Requests++
		if d.err != nil {
			if p.fault == faultNone || p.fault == faultCleanRestart {
				return nil, fmt.Errorf("shard %d: request failed without a fault: %w", reqs[i].shard, d.err)
			}
			s.stats.Unacknowledged++
			continue
		}
		s.stats.Acknowledged++
		if err := s.audit(&reqs[i], now, d.results); err != nil {
			return nil, err
		}
	}
	if err := s.absorbNotes(); err != nil {
		return nil, err
	}
	if p.fault == faultNone {
		return nil, nil
	}

	// Restart. After a crash the old runtime's handles are fenced off the disk and its journal
	// fails; Close must still return, though with that failure.
	if err := simkit.Within(closeTimeout, rt.Close); errors.Is(err, simkit.ErrTimeout) || (err != nil && p.fault == faultCleanRestart) {
		return nil, fmt.Errorf("close before restart (%s): %w", p.fault, err)
	}
	s.rt = nil
	if p.fault == faultSyncFailure {
		s.fs.SetSyncError(nil)
	}
	if p.fault == faultCleanRestart {
		s.stats.CleanRestarts++
	}
	s.notes.mu.Lock()
	s.notes.soldOutValid = false
	s.notes.mu.Unlock()
	if err := s.open(); err != nil {
		return nil, fmt.Errorf("restart after %s: %w", p.fault, err)
	}
	// Every answered request survived (AnswerAfterDurable); an unanswered one survived whole
	// or not at all, as its marker says.
	var retry []request
	for i, d := range outcomes {
		r := &reqs[i]
		survived, err := s.hasTransfer(r.shard, r.marker())
		if err != nil {
			return nil, err
		}
		if d.err == nil {
			if !survived {
				return nil, fmt.Errorf("shard %d: a request answered before the %s is gone (its marker funding %d is missing)", r.shard, p.fault, r.marker())
			}
		} else if survived {
			s.stats.ResolvedDurable++
			for j := range r.cmds {
				if err := s.m.step(r.shard, now, &r.cmds[j], nil); err != nil {
					return nil, fmt.Errorf("shard %d: command %d of %d (%s) of a request that survived unanswered: %w", r.shard, j, len(r.cmds), describe(&r.cmds[j]), err)
				}
			}
		} else {
			s.stats.ResolvedLost++
		}
		if p.fault == faultCleanRestart {
			continue
		}
		again := request{shard: r.shard, cmds: []welfare.Command{s.w.marker(r.shard)}}
		for _, c := range r.cmds {
			if survived && (c.Kind == welfare.ReceiveStock || c.Kind == welfare.RestockSKU || c.Kind == welfare.MoveMember) {
				continue // not idempotent: a client that saw it done does not repeat it
			}
			again.cmds = append(again.cmds, c)
		}
		retry = append(retry, again)
	}
	return retry, nil
}

// retryable drops from requests sent again the registrations of members that a request which
// survived moved since, to another union or shard (the settle after the restart says where):
// registering a member on a shard it has left would register it anew there.
func (s *sim) retryable(reqs []request) []request {
	for i := range reqs {
		r := &reqs[i]
		r.cmds = slices.DeleteFunc(r.cmds, func(c welfare.Command) bool {
			mi, ok := s.m.members[c.MemberID]
			return c.Kind == welfare.RegisterMember && ok && (mi.shard != r.shard || mi.union != c.UnionID || mi.moving || mi.uncertain)
		})
	}
	return reqs
}

func (s *sim) hasTransfer(shardID uint32, id ledger.TransferID) (bool, error) {
	var found bool
	err := s.rt.Inspect(shardID, func(mm machineType) {
		_, found = mm.(*shard.Machine).State().Ledger().LookupTransfer(id)
	})
	return found, err
}

// audit checks an answered request against the model, command by command.
func (s *sim) audit(r *request, now int64, results []welfare.Result) error {
	for i := range r.cmds {
		c := &r.cmds[i]
		byCode := s.stats.Results[c.Kind]
		if byCode == nil {
			byCode = map[welfare.Code]int{}
			s.stats.Results[c.Kind] = byCode
		}
		byCode[results[i].Code]++
		if err := s.m.step(r.shard, now, c, &results[i]); err != nil {
			return fmt.Errorf("shard %d: command %d of %d (%s): %w", r.shard, i, len(r.cmds), describe(c), err)
		}
	}
	return nil
}

// absorbNotes adds what the notes said of orders to the model, and checks that every late
// payment acknowledged was followed by a note to refund it: the note's batch was durable
// before the answer, and notes are delivered before answers.
func (s *sim) absorbNotes() error {
	s.notes.mu.Lock()
	defer s.notes.mu.Unlock()
	for _, id := range sortedKeys(s.notes.orders) {
		o := s.m.orders[id]
		if o == nil {
			return fmt.Errorf("a note about order %d, never placed", id)
		}
		for _, st := range s.notes.orders[id] {
			if st == welfare.OrderPlaced && !o.placed {
				s.stats.OrdersPlaced++
			}
			o.know(st)
		}
	}
	clear(s.notes.orders)
	for _, lr := range s.m.lateRefunds {
		if !slices.ContainsFunc(s.notes.refunds[lr.order], func(n welfare.OrderNote) bool { return n.PaymentRef == lr.paymentRef }) {
			return fmt.Errorf("late payment %d of order %d was refused, and no note asks to refund it", lr.paymentRef, lr.order)
		}
	}
	s.m.lateRefunds = s.m.lateRefunds[:0]
	return nil
}

// settle waits until nothing moves between the shards, then checks every invariant over all
// of them and refreshes the workload's view.
func (s *sim) settle(final bool) error {
	s.stats.Settles++
	deadline := time.Now().Add(settleTimeout)
	var prev uint64
	have := false
	pause := 50 * time.Microsecond
	for {
		s.rt.Wake()
		obs, err := s.observe()
		if err != nil {
			return err
		}
		if err := s.absorbNotes(); err != nil {
			return err
		}
		why := s.quiet(obs)
		if len(why) == 0 && have && obs.digest == prev {
			if err := s.check(obs, final); err != nil {
				return err
			}
			s.refresh(obs)
			return nil
		}
		prev, have = obs.digest, true
		if time.Now().After(deadline) {
			if len(why) == 0 {
				why = []string{"the shards kept changing"}
			}
			return fmt.Errorf("not settled after %v:\n  %s", settleTimeout, strings.Join(why, "\n  "))
		}
		time.Sleep(pause)
		pause = min(2*pause, 5*time.Millisecond)
	}
}

// finish winds the run down: every order moved on to its end, the clock past every deadline
// and every program's window, a last check that everything is over, and a clean restart that
// must recover exactly the state the live run had.
func (s *sim) finish() error {
	for pass := range windDownPasses {
		var reqs []request
		for i := range s.cfg.Shards {
			r := request{shard: uint32(i), cmds: []welfare.Command{s.w.marker(uint32(i))}}
			for _, id := range s.m.open[i] {
				o := s.m.orders[id]
				c := welfare.Command{OrderID: id}
				switch o.state {
				case welfare.OrderPlaced:
					c.Kind = welfare.ShipOrder
					if s.w.chance(20) {
						c.Kind, c.MemberID = welfare.CancelOrder, o.member
					}
				case welfare.OrderShipped:
					c.Kind = welfare.ArriveOrder
				case welfare.OrderReady:
					if pass == windDownPasses-1 && s.w.chance(30) {
						continue // left at the pickup point: returned uncollected
					}
					c.Kind = welfare.HandOutOrder
				default:
					continue
				}
				r.cmds = append(r.cmds, c)
			}
			reqs = append(reqs, r)
		}
		s.clock.Add(nanosPerSecond)
		if _, err := s.runRound(reqs, roundPlan{}); err != nil {
			return fmt.Errorf("wind-down: %w", err)
		}
		if err := s.settle(false); err != nil {
			return fmt.Errorf("wind-down: %w", err)
		}
	}
	// Past every pickup, payment and return deadline; then past every program's window.
	s.clock.Add(8 * nanosPerDay)
	if err := s.settle(false); err != nil {
		return fmt.Errorf("after the deadlines: %w", err)
	}
	last := s.now()
	for _, id := range s.m.programList {
		last = max(last, s.m.programs[id].def.ToNanos)
	}
	s.clock.Store(last + nanosPerDay)
	if err := s.settle(true); err != nil {
		return fmt.Errorf("at the end: %w", err)
	}
	if err := s.checkEnd(); err != nil {
		return err
	}
	// Replay equals live: a clean restart recovers, from snapshots and the journal, exactly
	// the state the run had.
	before, err := s.snapshots()
	if err != nil {
		return err
	}
	if err := simkit.Within(closeTimeout, s.rt.Close); err != nil {
		return fmt.Errorf("last close: %w", err)
	}
	s.rt = nil
	j, err := simkit.Journal(s.tfs, segmentBytes)
	if err != nil {
		return err
	}
	if err := s.openRuntime(j); err != nil {
		return err
	}
	after, err := s.snapshots()
	if err != nil {
		return err
	}
	for i := range before {
		if !bytes.Equal(before[i], after[i]) {
			return fmt.Errorf("shard %d recovered a state other than the live run's (%d and %d bytes)", i, len(before[i]), len(after[i]))
		}
	}
	if err := s.settle(true); err != nil {
		return fmt.Errorf("after the last restart: %w", err)
	}
	return nil
}

func (s *sim) snapshots() ([][]byte, error) {
	out := make([][]byte, s.cfg.Shards)
	for i := range out {
		if err := s.rt.Inspect(uint32(i), func(mm machineType) { out[i] = mm.AppendSnapshot(nil) }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkEnd checks what holds once every order is over and every program has closed: no hold
// is left anywhere, and every member's points went back to the budgets or were spent.
func (s *sim) checkEnd() error {
	obs, err := s.observe()
	if err != nil {
		return err
	}
	var p problems
	for i := range obs.shards {
		so := &obs.shards[i]
		for _, a := range so.accounts {
			if a.DebitsPendingFen != 0 || a.CreditsPendingFen != 0 {
				p.add("shard %d: account %d (%s) still has pending %d/%d", i, a.ID, a.Kind, a.DebitsPendingFen, a.CreditsPendingFen)
			}
			if a.Kind == ledger.KindMemberPoints && a.BalanceFen() != 0 {
				p.add("shard %d: points account %d of member %d still holds %d after every program closed (%s)",
					i, a.ID, a.UserData, a.BalanceFen(), strandedWhy(so, a.ID, welfare.MemberID(a.UserData)))
			}
		}
		for _, od := range so.orders {
			s.stats.Orders[od.State]++
			if od.Code != welfare.OK {
				s.stats.OrderCodes[od.Code]++
			}
		}
	}
	return p.err("end of run")
}

// describe names a command with the fields its kind reads.
// strandedWhy says what holds a points account: the member's holding of it, if the member is
// still on the shard, and the orders whose holds were on it.
func strandedWhy(so *shardObs, account ledger.AccountID, member welfare.MemberID) string {
	var b strings.Builder
	if mo, ok := so.members[member]; !ok {
		b.WriteString("member no longer on the shard")
	} else {
		found := false
		for _, h := range mo.holdings {
			if h.account.ID == account {
				found = true
				st := "missing"
				if pr := so.programs[h.program]; pr != nil {
					st = fmt.Sprintf("%s, owner shard %d", pr.Status, pr.OwnerShard)
				}
				fmt.Fprintf(&b, "holding of program %d (%s), closed %v, owed %d", h.program, st, h.closed, h.owedFen)
			}
		}
		if !found {
			fmt.Fprintf(&b, "member on the shard in union %d, no holding in this account", mo.union)
		}
	}
	for _, id := range sortedKeys(so.orders) {
		o := so.orders[id]
		for _, h := range o.Holds {
			if h.AccountID == account {
				fmt.Fprintf(&b, "; order %d %s hold %d of program %d", id, o.State, h.AmountFen, h.ProgramID)
			}
		}
	}
	return b.String()
}

func describe(c *welfare.Command) string {
	name := kindNames[c.Kind]
	switch c.Kind {
	case welfare.PlaceOrder:
		return fmt.Sprintf("%s member %d %+v", name, c.MemberID, *c.Order)
	case welfare.CreateProgram:
		return fmt.Sprintf("%s by %d %+v", name, c.Officer, c.Program)
	case welfare.CreateUnion:
		return fmt.Sprintf("%s %+v", name, c.Union)
	case welfare.SetSKU, welfare.ReceiveStock, welfare.RestockSKU:
		return fmt.Sprintf("%s %+v quantity %d", name, c.SKU, c.Quantity)
	case welfare.FundUnion:
		return fmt.Sprintf("%s union %d transfer %d amount %d", name, c.UnionID, c.TransferID, c.AmountFen)
	case welfare.RegisterMember:
		return fmt.Sprintf("%s member %d union %d dues %v", name, c.MemberID, c.UnionID, c.DuesPaid)
	case welfare.Issue:
		return fmt.Sprintf("%s program %d by %d members %v amounts %v", name, c.ProgramID, c.Officer, c.Members, c.Amounts)
	case welfare.MoveMember:
		return fmt.Sprintf("%s member %d to union %d on shard %d", name, c.MemberID, c.ToUnion, c.ToShard)
	case welfare.AwardPoints, welfare.ReverseAward:
		return fmt.Sprintf("%s award %d program %d member %d amount %d kind %q", name, c.AwardID, c.ProgramID, c.MemberID, c.AmountFen, c.ActivityKind)
	case welfare.ApproveProgram, welfare.RevokeProgram:
		return fmt.Sprintf("%s program %d by %d", name, c.ProgramID, c.Officer)
	}
	return fmt.Sprintf("%s order %d member %d payment %d", name, c.OrderID, c.MemberID, c.PaymentRef)
}
