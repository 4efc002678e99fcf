package sim

import (
	"errors"
	"fmt"
	"huigong/engine/internal/simkit"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/runtime"
	"huigong/engine/shardledger"
)

// Named limits of a run.
const (
	ShardsCountDefault = 16
	CommandsDefault    = 800_000

	requestCommandsMin = 20
	requestCommandsMax = 400

	// settleEveryRounds is how often, in rounds without a fault, the run waits for the moves
	// to settle and compares every shard with the model.
	settleEveryRounds = 8

	segmentBytes = 256 << 10

	// compareSample is how many transfers, besides those changed, a periodic compare looks up.
	compareSample = 512

	roundTimeout  = 20 * time.Second
	closeTimeout  = 30 * time.Second
	settleTimeout = 10 * time.Second
)

// Config configures a run. Zero fields take the defaults.
type Config struct {
	Seed     int64
	Commands int // fresh commands to draw, retries not counted
	Shards   int
	// Logf, if set, receives progress every LogEveryRounds rounds and a summary at the end.
	Logf           func(format string, args ...any)
	LogEveryRounds int
}

// Stats says what a run did.
type Stats struct {
	Rounds, Commands, Retried     int
	Requests, Acknowledged        int
	Unacknowledged                int
	ResolvedDurable, ResolvedLost int
	ResolvedMoot                  int                           // would have created nothing
	Resolved                      [faultCleanRestart + 1][2]int // by fault: lost, durable
	Crashes, TornCrashes          int
	RecoveryCrashes               int
	SyncFailures, CleanRestarts   int
	Snapshots, Settles            int
	Moves, MovesBounced           int
	Collisions                    int
	WorkloadHash                  uint64 // the same for the same seed and commands
	Results                       map[ledger.Result]int
}

func (s Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rounds=%d commands=%d retried=%d requests=%d acked=%d unacked=%d (durable %d, lost %d, moot %d) "+
		"workload=%016x crashes=%d torn=%d recovery-crashes=%d syncfail=%d clean-restarts=%d snapshots=%d settles=%d moves=%d bounced=%d collisions=%d",
		s.Rounds, s.Commands, s.Retried, s.Requests, s.Acknowledged, s.Unacknowledged, s.ResolvedDurable, s.ResolvedLost, s.ResolvedMoot,
		s.WorkloadHash, s.Crashes, s.TornCrashes, s.RecoveryCrashes, s.SyncFailures, s.CleanRestarts, s.Snapshots, s.Settles, s.Moves, s.MovesBounced, s.Collisions)
	fmt.Fprintf(&b, "\nunanswered requests by fault (lost/durable):")
	for f := faultCrash; f < faultCleanRestart; f++ {
		fmt.Fprintf(&b, " %s=%d/%d", f, s.Resolved[f][0], s.Resolved[f][1])
	}
	results := make([]ledger.Result, 0, len(s.Results))
	for r := range s.Results {
		results = append(results, r)
	}
	slices.Sort(results)
	fmt.Fprintf(&b, "\nresults seen (%d of %d):", len(results), len(ledger.Results()))
	for _, r := range results {
		fmt.Fprintf(&b, " %s=%d", r, s.Results[r])
	}
	return b.String()
}

type (
	rtType      = runtime.Runtime[shardledger.Command, shardledger.Result]
	machineType = runtime.Machine[shardledger.Command, shardledger.Result]
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

// inFlightMove is a move whose first leg the model applied; its in-leg or back-leg is applied
// at the next settle point.
type inFlightMove struct {
	from uint32
	move shardledger.Move
}

type sim struct {
	cfg    Config
	faults *rand.Rand // the fault schedule, apart from the workloads
	fs     *journal.FaultFS
	tfs    *journal.SyncTrigger // the FaultFS as the engine sees it
	clock  atomic.Int64
	rt     *rtType
	// round is the round being run, for error messages.
	round int

	models    []*model
	workloads []*workload
	inFlight  []inFlightMove
	// retired are collidable moves of requests that will not be sent again, waiting for the
	// next settle point to become candidates.
	retired []collidableMove
	stats   Stats
	// workloadHash digests the commands drawn and the faults planned, which depend on the
	// seed alone.
	workloadHash uint64
	lastFault    fault
}

// Run runs one simulation. Its error names the seed and the round.
func Run(cfg Config) (Stats, error) {
	if cfg.Commands == 0 {
		cfg.Commands = CommandsDefault
	}
	if cfg.Shards == 0 {
		cfg.Shards = ShardsCountDefault
	}
	if cfg.LogEveryRounds == 0 {
		cfg.LogEveryRounds = 25
	}
	s := &sim{
		cfg:    cfg,
		faults: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x4641_554c_5453)),
		fs:     journal.NewFaultFS(cfg.Seed),
		stats:  Stats{Results: make(map[ledger.Result]int)},
	}
	s.tfs = journal.NewSyncTrigger(s.fs)
	s.clock.Store(1_000_000_000_000)
	err := s.run()
	s.stats.WorkloadHash = s.workloadHash
	if s.rt != nil {
		if cerr := simkit.Within(closeTimeout, s.rt.Close); err == nil && cerr != nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}
	if err != nil {
		return s.stats, fmt.Errorf("seed=%d round=%d: %w", cfg.Seed, s.round, err)
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
		ShardsCount: s.cfg.Shards, Clock: s.now, Journal: j,
		Snapshots: runtime.NewDirSnapshotStore(snapDir), SnapshotEveryBatches: every, Invariants: true,
	}, func(shard uint32) machineType { return shardledger.New(shard) })
	if err != nil {
		j.Close()
		return fmt.Errorf("open runtime: %w", err)
	}
	s.rt = rt
	return nil
}

func (s *sim) run() error {
	shards := s.cfg.Shards
	for i := range shards {
		s.models = append(s.models, newModel(uint32(i), shardledger.InTransitAccountID(uint32(i))))
		s.workloads = append(s.workloads, newWorkload(s.cfg.Seed, uint32(i), shards))
	}
	if err := s.open(); err != nil {
		return err
	}

	// Round 0: every shard's accounts, without faults, so moves find their targets.
	reqs := make([]request, shards)
	for i, w := range s.workloads {
		reqs[i] = request{cmds: w.setup()}
	}
	if err := s.runRound(reqs, roundPlan{}); err != nil {
		return err
	}

	var retry []request // the requests of a round that crashed, sent again in the next
	sinceSettle := 0
	for s.stats.Commands < s.cfg.Commands {
		s.round++
		s.stats.Rounds++
		s.clock.Add(s.faults.Int64N(clockStepMaxNanos + 1))
		s.rt.Wake()
		now := s.now()

		if retry != nil {
			reqs, retry = retry, nil
			for i := range reqs {
				s.stats.Retried += len(reqs[i].cmds)
			}
		} else {
			for i, w := range s.workloads {
				size := requestCommandsMin + int(float64(requestCommandsMax-requestCommandsMin)*w.rng.Float64()*w.rng.Float64())
				reqs[i] = w.request(now, size)
				s.stats.Commands += len(reqs[i].cmds)
				s.workloadHash = hashCommands(s.workloadHash, reqs[i].cmds)
			}
		}

		p := s.planRound()
		s.workloadHash = hashPlan(s.workloadHash, p, now)
		if err := s.runRound(reqs, p); err != nil {
			return err
		}
		switch f := p.fault; f {
		case faultCrash, faultCrashTorn, faultSyncFailure:
			retry = slices.Clone(reqs)
		default:
			for i := range reqs {
				s.retired = append(s.retired, reqs[i].collidable...)
			}
		}
		sinceSettle++
		if p.fault != faultNone || sinceSettle >= settleEveryRounds {
			if err := s.settle(p.fault != faultNone); err != nil {
				return err
			}
			sinceSettle = 0
		}
		if s.cfg.LogEveryRounds > 0 && s.round%s.cfg.LogEveryRounds == 0 {
			s.logf("round %d: %d of %d commands, clock %d", s.round, s.stats.Commands, s.cfg.Commands, s.now())
		}
	}
	if retry != nil {
		s.round++
		if err := s.runRound(retry, roundPlan{}); err != nil {
			return err
		}
	}
	if err := s.settle(true); err != nil {
		return err
	}
	if err := s.checkEnd(); err != nil {
		return err
	}
	// A last clean restart: the recovered state must equal the model once more.
	if err := simkit.Within(closeTimeout, s.rt.Close); err != nil {
		return fmt.Errorf("final close: %w", err)
	}
	s.rt = nil
	if err := s.open(); err != nil {
		return err
	}
	return s.settle(true)
}

// driven is the outcome of one shard's request in a round.
type driven struct {
	shard   int
	results []shardledger.Result
	err     error
}

// roundPlan is what a round does besides its requests. It comes from the seed.
type roundPlan struct {
	fault fault
	// The fault strikes just before the atSync-th fsync of the round if atSync > 0, else once
	// acksBeforeFault requests were answered; at the end of the round if neither came.
	atSync          int
	acksBeforeFault int
	snapshot        bool
}

func (s *sim) planRound() roundPlan {
	var p roundPlan
	n := s.faults.IntN(100)
	if s.lastFault == faultSyncFailure && n < 50 {
		// Faults come in clusters: a crash soon after a restart over a disk whose fsync
		// failed finds what that restart took for durable and was not.
		n = 0
	}
	switch {
	case n < 7:
		p.fault = faultCrash
	case n < 12:
		p.fault = faultCrashTorn
	case n < 15:
		p.fault = faultSyncFailure
	case n < 18:
		p.fault = faultCleanRestart
	}
	if s.faults.IntN(100) < 70 {
		p.atSync = 1 + s.faults.IntN(2*s.cfg.Shards)
	}
	p.acksBeforeFault = s.faults.IntN(s.cfg.Shards + 1)
	p.snapshot = s.faults.IntN(100) < 15
	s.lastFault = p.fault
	return p
}

// faultAction is what a fault does to the disk.
func (s *sim) faultAction(f fault) func() {
	switch f {
	case faultCrash:
		return s.fs.Crash
	case faultCrashTorn:
		return func() { s.fs.CrashTorn() }
	case faultSyncFailure:
		return func() { s.fs.SetSyncError(errors.New("sim: injected fsync failure")) }
	}
	return nil
}

// runRound submits one request per shard, each from its own goroutine, injects the planned
// fault, audits every answer against the model and, after a fault, restarts and resolves the
// requests that were not answered.
func (s *sim) runRound(reqs []request, p roundPlan) error {
	f := p.fault
	now := s.now()
	if p.snapshot {
		s.rt.Snapshot()
		s.stats.Snapshots++
	}
	action := s.faultAction(f)
	if action != nil && p.atSync > 0 {
		s.tfs.Arm(p.atSync, action)
	}
	rt := s.rt
	done := make(chan driven, len(reqs))
	for i := range reqs {
		go func(i int) {
			results := make([]shardledger.Result, len(reqs[i].cmds))
			err := rt.SubmitBatch(uint32(i), reqs[i].cmds, results)
			done <- driven{shard: i, results: results, err: err}
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
			outcomes[d.shard] = d
			returned++
			if d.err == nil {
				acked++
			}
		case <-timeout.C:
			return fmt.Errorf("round: %d of %d requests answered after %v (fault %s)\n%s", returned, len(reqs), roundTimeout, f, simkit.Goroutines())
		}
	}
	if !injected {
		inject()
	}
	switch f {
	case faultCrash:
		s.stats.Crashes++
	case faultCrashTorn:
		s.stats.TornCrashes++
	case faultSyncFailure:
		s.stats.SyncFailures++
	}

	// Audit every answered request, in each shard's order (one request per shard per round).
	for i, d := range outcomes {
		s.stats.Requests++
		if d.err != nil {
			if f == faultNone || f == faultCleanRestart {
				return fmt.Errorf("shard %d: request failed without a fault: %w", i, d.err)
			}
			s.stats.Unacknowledged++
			continue
		}
		s.stats.Acknowledged++
		if err := s.audit(uint32(i), now, reqs[i].cmds, d.results); err != nil {
			return err
		}
	}
	if f == faultNone {
		return nil
	}

	// Restart. After a crash the old runtime's handles are fenced off the disk and its journal
	// fails; Close must still return, though with that failure.
	if err := simkit.Within(closeTimeout, rt.Close); errors.Is(err, simkit.ErrTimeout) || (err != nil && f == faultCleanRestart) {
		return fmt.Errorf("close before restart (%s): %w", f, err)
	}
	s.rt = nil
	if f == faultSyncFailure {
		s.fs.SetSyncError(nil)
	}
	if f == faultCleanRestart {
		s.stats.CleanRestarts++
	}
	if err := s.open(); err != nil {
		return fmt.Errorf("restart after %s: %w", f, err)
	}
	// Every answered request must have survived (AnswerAfterDurable); an unanswered one
	// survived whole or not at all.
	for i, d := range outcomes {
		if d.err != nil {
			if err := s.resolve(uint32(i), now, reqs[i].cmds, f); err != nil {
				return err
			}
			continue
		}
		found, total, err := s.surviving(uint32(i), reqs[i].cmds, d.results)
		if err != nil {
			return err
		}
		if found != total {
			return fmt.Errorf("shard %d: a request answered before the %s lost %d of the %d ids it created",
				i, f, total-found, total)
		}
	}
	return nil
}

// surviving counts the ids that the commands answered ok created and that the shard's ledger
// holds now.
func (s *sim) surviving(shard uint32, cmds []shardledger.Command, results []ledger.Result) (found, total int, err error) {
	var accounts []ledger.AccountID
	var transfers []ledger.TransferID
	for i := range cmds {
		if results[i] != ledger.OK {
			continue
		}
		lc := toLedger(shard, &cmds[i])
		if lc.Kind == ledger.CreateAccount {
			accounts = append(accounts, lc.Account.ID)
		} else {
			transfers = append(transfers, lc.Transfer.ID)
		}
	}
	err = s.rt.Inspect(shard, func(mm machineType) {
		l := mm.(*shardledger.Machine).Ledger()
		for _, id := range accounts {
			if _, ok := l.Account(id); ok {
				found++
			}
		}
		for _, id := range transfers {
			if _, ok := l.LookupTransfer(id); ok {
				found++
			}
		}
	})
	if err != nil {
		return 0, 0, fmt.Errorf("inspect shard %d: %w", shard, err)
	}
	return found, len(accounts) + len(transfers), nil
}

// toLedger is the ledger command the machine makes of a shard command, and whether it is a move.
func toLedger(shard uint32, c *shardledger.Command) ledger.Command {
	if c.Kind == shardledger.MoveCommand {
		mv := &c.Move
		return ledger.TransferCommand(ledger.Transfer{
			ID: mv.ID, DebitAccountID: mv.FromAccountID, CreditAccountID: shardledger.InTransitAccountID(shard),
			AmountFen: mv.AmountFen, UserData: mv.UserData, Code: ledger.CodeMove, Flags: mv.Flags & ledger.Linked,
		})
	}
	lc := c.Ledger
	lc.Engine = false // the machine clears it: only its own legs are the engine's
	return lc
}

// predict applies a request to the model and returns the results it expects.
func (s *sim) predict(shard uint32, now int64, cmds []shardledger.Command) []ledger.Result {
	lcmds := make([]ledger.Command, len(cmds))
	for i := range cmds {
		lcmds[i] = toLedger(shard, &cmds[i])
	}
	results := make([]ledger.Result, len(cmds))
	s.models[shard].execute(now, lcmds, results)
	return results
}

// sent records the moves whose first leg the model made.
func (s *sim) sent(shard uint32, cmds []shardledger.Command, results []ledger.Result) {
	for i := range cmds {
		if cmds[i].Kind == shardledger.MoveCommand && results[i] == ledger.OK {
			s.inFlight = append(s.inFlight, inFlightMove{from: shard, move: cmds[i].Move})
			s.stats.Moves++
		}
	}
}

// audit checks an answered request against the model, command by command.
func (s *sim) audit(shard uint32, now int64, cmds []shardledger.Command, got []shardledger.Result) error {
	want := s.predict(shard, now, cmds)
	for i := range cmds {
		s.stats.Results[got[i]]++
		if got[i] != want[i] {
			return fmt.Errorf("shard %d: command %d of %d (%s) answered %s, model says %s",
				shard, i, len(cmds), describe(&cmds[i]), got[i], want[i])
		}
	}
	s.sent(shard, cmds, want)
	return nil
}

// resolve decides whether a request that was not answered before a fault survived it. The
// request went into one batch record, so it survived whole or not at all: it survived if the
// ids it would have created (on the model as it was before it) are in the recovered ledger.
func (s *sim) resolve(shard uint32, now int64, cmds []shardledger.Command, f fault) error {
	m := s.models[shard]
	m.begin()
	results := s.predict(shard, now, cmds)
	found, total, err := s.surviving(shard, cmds, results)
	if err != nil {
		m.abort()
		return err
	}
	switch {
	case total == 0:
		m.abort() // it would have changed nothing (but expiries, which the next batch makes)
		s.stats.ResolvedMoot++
	case found == 0:
		m.abort()
		s.stats.ResolvedLost++
		s.stats.Resolved[f][0]++
	case found == total:
		m.commit()
		s.sent(shard, cmds, results)
		s.stats.ResolvedDurable++
		s.stats.Resolved[f][1]++
	default:
		m.abort()
		return fmt.Errorf("shard %d: %d of the %d ids an unanswered request creates survived: a request is one record", shard, found, total)
	}
	return nil
}

// settle applies the legs of the moves in flight to the model, waits until the engine has no
// move in flight either, and compares every shard with the model.
func (s *sim) settle(full bool) error {
	s.stats.Settles++
	type leg struct {
		shard uint32
		id    ledger.TransferID
		move  inFlightMove
	}
	var legs []leg // the leg each move in flight ends with, to name the missing ones
	for _, f := range s.inFlight {
		mv := &f.move
		in := ledger.Command{Kind: ledger.CreateTransfer, Engine: true, Transfer: ledger.Transfer{
			ID: shardledger.InLegID(mv.ID), DebitAccountID: shardledger.InTransitAccountID(mv.ToShard),
			CreditAccountID: mv.ToAccountID, AmountFen: mv.AmountFen, UserData: mv.UserData, Code: ledger.CodeMove,
		}}
		if uint64(mv.ID)>>40 != uint64(f.from)+1 {
			s.stats.Collisions++
		}
		if s.models[mv.ToShard].decide(s.now(), &in) == ledger.OK {
			legs = append(legs, leg{shard: mv.ToShard, id: in.Transfer.ID, move: f})
			continue
		}
		s.stats.MovesBounced++
		back := ledger.Command{Kind: ledger.CreateTransfer, Engine: true, Transfer: ledger.Transfer{
			ID: shardledger.BackLegID(mv.ID), DebitAccountID: shardledger.InTransitAccountID(f.from),
			CreditAccountID: mv.FromAccountID, AmountFen: mv.AmountFen, UserData: mv.UserData, Code: ledger.CodeMove,
		}}
		if r := s.models[f.from].decide(s.now(), &back); r != ledger.OK {
			return fmt.Errorf("model: back leg of move %d on shard %d refused: %s", mv.ID, f.from, r)
		}
		legs = append(legs, leg{shard: f.from, id: back.Transfer.ID, move: f})
	}
	s.inFlight = s.inFlight[:0]

	// Collidable moves retired before this point may now be reused by their colliders.
	for _, c := range s.retired {
		to := colliderOf(c.move.ID, c.shard, s.cfg.Shards)
		if to != c.shard {
			s.workloads[to].collidable = append(s.workloads[to].collidable, c)
		}
	}
	s.retired = s.retired[:0]

	now := s.now()
	for _, m := range s.models {
		m.expire(now)
	}
	if err := s.waitMovesSettled(); err != nil {
		var missing []string
		for _, l := range legs {
			found := false
			if ierr := s.rt.Inspect(l.shard, func(mm machineType) {
				_, found = mm.(*shardledger.Machine).Ledger().LookupTransfer(l.id)
			}); ierr != nil {
				return errors.Join(err, ierr)
			}
			if !found && len(missing) < 8 {
				missing = append(missing, fmt.Sprintf("move from shard %d %+v: leg %d on shard %d missing", l.move.from, l.move.move, l.id, l.shard))
			}
		}
		// The legs are there, so something else holds value in transit: compare everything.
		for i := range s.models {
			if cerr := s.compare(uint32(i), true); cerr != nil {
				missing = append(missing, cerr.Error())
			}
		}
		return fmt.Errorf("%w\n%s", err, strings.Join(missing, "\n"))
	}
	for i := range s.models {
		if err := s.compare(uint32(i), full); err != nil {
			return err
		}
	}
	return nil
}

// waitMovesSettled waits until the in-transit accounts of all shards sum to zero. No request
// is running, so no move starts; a move in flight holds its amount in its source's in-transit
// account until its in-leg or back-leg, so the sum cannot be zero while one is in flight.
func (s *sim) waitMovesSettled() error {
	deadline := time.Now().Add(settleTimeout)
	for {
		var sum, pending int64
		for i := range s.models {
			err := s.rt.Inspect(uint32(i), func(mm machineType) {
				a, _ := mm.(*shardledger.Machine).Ledger().Account(shardledger.InTransitAccountID(uint32(i)))
				sum += a.CreditsPostedFen - a.DebitsPostedFen
				pending += a.CreditsPendingFen + a.DebitsPendingFen
			})
			if err != nil {
				return err
			}
		}
		if sum == 0 && pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("moves did not settle in %v: in-transit accounts sum to %d (pending %d)", settleTimeout, sum, pending)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// compare checks a shard's ledger against its model: every account with its balances, in
// creation order, and the transfers as LookupTransfer reports them: all of them if full (after
// a restart and at the end), else those the model changed since the last compare and a sample.
func (s *sim) compare(shard uint32, full bool) error {
	m := s.models[shard]
	var problems []string
	report := func(format string, args ...any) {
		if len(problems) < 8 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	var ids []ledger.TransferID
	if full {
		ids = make([]ledger.TransferID, 0, len(m.transfers))
		for id := range m.transfers {
			ids = append(ids, id)
		}
	} else {
		ids = make([]ledger.TransferID, 0, len(m.dirty)+compareSample)
		for id := range m.dirty {
			ids = append(ids, id)
		}
		n := 0
		for id := range m.transfers { // map order: a different sample each time
			if n++; n > compareSample {
				break
			}
			ids = append(ids, id)
		}
	}
	clear(m.dirty)
	err := s.rt.Inspect(shard, func(mm machineType) {
		l := mm.(*shardledger.Machine).Ledger()
		if got, want := l.AccountsCount(), len(m.order); got != want {
			report("%d accounts, model has %d", got, want)
		}
		i := 0
		l.ForEachAccount(func(a *ledger.Account) {
			if i < len(m.order) {
				if want := m.accounts[m.order[i]]; *a != want {
					report("account #%d:\n  got   %+v\n  model %+v", i, *a, want)
				}
			}
			i++
		})
		if got, want := l.TransfersCount(), len(m.transfers); got != want {
			report("%d transfers, model has %d", got, want)
		}
		for _, id := range ids {
			mt, inModel := m.transfers[id]
			got, ok := l.LookupTransfer(id)
			switch {
			case !inModel && ok:
				report("transfer %d exists; the model has none: %+v", id, got)
			case !inModel:
			case !ok:
				report("transfer %d missing; model %+v", id, mt.status())
			case got != mt.status():
				report("transfer %d:\n  got   %+v\n  model %+v", id, got, mt.status())
			}
		}
	})
	if err != nil {
		return fmt.Errorf("inspect shard %d: %w", shard, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("shard %d differs from the model:\n%s", shard, strings.Join(problems, "\n"))
	}
	return nil
}

// checkEnd checks what must hold over all shards once the moves have settled: double entry
// over the whole engine, in-transit included, and no NoOverdraft account below zero.
func (s *sim) checkEnd() error {
	var debitsPosted, creditsPosted, debitsPending, creditsPending int64
	var problems []string
	for i := range s.models {
		err := s.rt.Inspect(uint32(i), func(mm machineType) {
			l := mm.(*shardledger.Machine).Ledger()
			if err := l.CheckInvariants(); err != nil {
				problems = append(problems, fmt.Sprintf("shard %d: %v", i, err))
			}
			l.ForEachAccount(func(a *ledger.Account) {
				debitsPosted += a.DebitsPostedFen
				creditsPosted += a.CreditsPostedFen
				debitsPending += a.DebitsPendingFen
				creditsPending += a.CreditsPendingFen
				if a.Flags&ledger.AccountNoOverdraft != 0 && a.DebitsPostedFen+a.DebitsPendingFen > a.CreditsPostedFen {
					problems = append(problems, fmt.Sprintf("shard %d: account %d overdrawn: %+v", i, a.ID, *a))
				}
			})
		})
		if err != nil {
			return err
		}
	}
	if debitsPosted != creditsPosted || debitsPending != creditsPending {
		problems = append(problems, fmt.Sprintf("all shards: posted debits %d, credits %d; pending debits %d, credits %d",
			debitsPosted, creditsPosted, debitsPending, creditsPending))
	}
	if len(problems) > 0 {
		return fmt.Errorf("end of run:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}

func describe(c *shardledger.Command) string {
	if c.Kind == shardledger.MoveCommand {
		return fmt.Sprintf("move %+v", c.Move)
	}
	if c.Ledger.Kind == ledger.CreateAccount {
		return fmt.Sprintf("account %+v", c.Ledger.Account)
	}
	return fmt.Sprintf("transfer %+v", c.Ledger.Transfer)
}
