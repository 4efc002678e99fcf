package shardledger_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/runtime"
	"huigong/engine/shardledger"
)

// clock is a settable batch clock for tests.
type clock struct{ nanos atomic.Int64 }

func (c *clock) now() int64 { return c.nanos.Load() }

const shardsCount = 4

func open(t *testing.T, fs *journal.FaultFS, c *clock) *runtime.Runtime[shardledger.Command, shardledger.Result] {
	t.Helper()
	j, err := journal.Open("journal", journal.Options{FS: fs, SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatalf("open journal: %v", err)
	}
	snapDir, err := fs.OpenDir("snapshots")
	if err != nil {
		t.Fatalf("open snapshots: %v", err)
	}
	rt, err := runtime.Open(runtime.Options{
		ShardsCount: shardsCount, Clock: c.now, Journal: j,
		Snapshots: runtime.NewDirSnapshotStore(snapDir), Invariants: true,
	}, func(shard uint32) runtime.Machine[shardledger.Command, shardledger.Result] {
		return shardledger.New(shard)
	})
	if err != nil {
		t.Fatalf("open runtime: %v", err)
	}
	return rt
}

func account(id ledger.AccountID, flags ledger.AccountFlags) shardledger.Command {
	return shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.AccountCommand(ledger.Account{
		ID: id, Kind: ledger.KindMemberPoints, Flags: flags,
	})}
}

func transfer(id ledger.TransferID, debit, credit ledger.AccountID, amountFen int64) shardledger.Command {
	return shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.TransferCommand(ledger.Transfer{
		ID: id, DebitAccountID: debit, CreditAccountID: credit, AmountFen: amountFen, Code: ledger.CodeIssue,
	})}
}

func balance(t *testing.T, rt *runtime.Runtime[shardledger.Command, shardledger.Result], shard uint32, id ledger.AccountID) int64 {
	t.Helper()
	var got int64
	found := false
	err := rt.Inspect(shard, func(m runtime.Machine[shardledger.Command, shardledger.Result]) {
		a, ok := m.(*shardledger.Machine).Ledger().Account(id)
		got, found = a.BalanceFen(), ok
	})
	if err != nil || !found {
		t.Fatalf("account %d on shard %d: found %v, %v", id, shard, found, err)
	}
	return got
}

func mustOK(t *testing.T, r shardledger.Result, err error) {
	t.Helper()
	if err != nil || r != ledger.OK {
		t.Fatalf("got %v, %v; want ok", r, err)
	}
}

// A move between shards arrives, survives a crash and a restart, and a move to a missing
// account comes back.
func TestMoveAcrossShardsSurvivesCrash(t *testing.T) {
	fs := journal.NewFaultFS(1)
	c := &clock{}
	c.nanos.Store(1_000)
	rt := open(t, fs, c)

	// Shard 0: budget 10 (may go negative) and member 11; shard 1: member 21.
	r, err := rt.Submit(0, shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.AccountCommand(ledger.Account{ID: 10, Kind: ledger.KindUnionBudget})})
	mustOK(t, r, err)
	r, err = rt.Submit(0, account(11, ledger.AccountNoOverdraft))
	mustOK(t, r, err)
	r, err = rt.Submit(1, account(21, ledger.AccountNoOverdraft))
	mustOK(t, r, err)
	r, err = rt.Submit(0, transfer(100, 10, 11, 5_000))
	mustOK(t, r, err)

	move := func(id ledger.TransferID, to ledger.AccountID, amountFen int64) (shardledger.Result, error) {
		return rt.Submit(0, shardledger.Command{Kind: shardledger.MoveCommand, Move: shardledger.Move{
			ID: id, FromAccountID: 11, ToShard: 1, ToAccountID: to, AmountFen: amountFen,
		}})
	}
	r, err = move(200, 21, 1_200)
	mustOK(t, r, err)
	r, err = move(201, 99, 300) // No account 99 on shard 1: the points come back.
	mustOK(t, r, err)
	r, err = move(202, 21, 9_000)
	if err != nil || r != ledger.ExceedsCredits {
		t.Fatalf("move beyond the balance: %v, %v", r, err)
	}

	waitFor(t, func() bool {
		return balance(t, rt, 1, 21) == 1_200 && balance(t, rt, 0, 11) == 3_800 &&
			balance(t, rt, 0, shardledger.InTransitAccountID(0))+balance(t, rt, 1, shardledger.InTransitAccountID(1)) == 0
	})
	rt.Snapshot()
	r, err = move(203, 21, 800)
	mustOK(t, r, err)

	fs.Crash()
	fs2 := fs // The same disk after the crash.
	rt2 := open(t, fs2, c)
	defer rt2.Close()
	waitFor(t, func() bool {
		return balance(t, rt2, 1, 21) == 2_000 && balance(t, rt2, 0, 11) == 3_000
	})
	in0 := balance(t, rt2, 0, shardledger.InTransitAccountID(0))
	in1 := balance(t, rt2, 1, shardledger.InTransitAccountID(1))
	if in0+in1 != 0 {
		t.Fatalf("in transit after the moves settle: %d + %d", in0, in1)
	}
	// Retrying an acknowledged move answers exists and moves nothing more.
	r, err = rt2.Submit(0, shardledger.Command{Kind: shardledger.MoveCommand, Move: shardledger.Move{
		ID: 203, FromAccountID: 11, ToShard: 1, ToAccountID: 21, AmountFen: 800,
	}})
	if err != nil || r != ledger.Exists {
		t.Fatalf("retry: %v, %v", r, err)
	}
}

// Clients may not create ids in the engine's reserved range.
func TestReservedIDsRefused(t *testing.T) {
	rt := open(t, journal.NewFaultFS(2), &clock{})
	defer rt.Close()
	r, err := rt.Submit(0, account(ledger.ReservedIDMin+5, 0))
	if err != nil || r != ledger.IDReserved {
		t.Fatalf("got %v, %v", r, err)
	}
	cmd := account(7, 0)
	cmd.Ledger.Engine = true // A client cannot set it: the machine clears it.
	cmd.Ledger.Account.ID = ledger.ReservedIDMin + 6
	r, err = rt.Submit(0, cmd)
	if err != nil || r != ledger.IDReserved {
		t.Fatalf("engine flag from a client: %v, %v", r, err)
	}
}

// Many submitters on many shards: every acknowledged transfer is in the ledger after a clean
// restart, and the balances add up.
func TestConcurrentSubmittersThenRestart(t *testing.T) {
	fs := journal.NewFaultFS(3)
	c := &clock{}
	rt := open(t, fs, c)
	for s := uint32(0); s < shardsCount; s++ {
		cmds := []shardledger.Command{
			{Kind: shardledger.LedgerCommand, Ledger: ledger.AccountCommand(ledger.Account{ID: ledger.AccountID(1000 + s), Kind: ledger.KindFederationFunding})},
			account(ledger.AccountID(2000+s), ledger.AccountNoOverdraft),
		}
		results := make([]shardledger.Result, len(cmds))
		if err := rt.SubmitBatch(s, cmds, results); err != nil || results[0] != ledger.OK || results[1] != ledger.OK {
			t.Fatalf("accounts on shard %d: %v %v", s, results, err)
		}
	}
	const perSubmitter = 200
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			s := uint32(g % shardsCount)
			for i := 0; i < perSubmitter; i++ {
				id := ledger.TransferID(g*perSubmitter + i + 1)
				r, err := rt.Submit(s, transfer(id, ledger.AccountID(1000+s), ledger.AccountID(2000+s), 1))
				if err != nil || r != ledger.OK {
					t.Errorf("transfer %d: %v %v", id, r, err)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	rt2 := open(t, fs, c)
	defer rt2.Close()
	for s := uint32(0); s < shardsCount; s++ {
		if got, want := balance(t, rt2, s, ledger.AccountID(2000+s)), int64(2*perSubmitter); got != want {
			t.Errorf("shard %d: balance %d, want %d", s, got, want)
		}
	}
}

// A move to a shard that does not exist is refused as a move to a missing account; it must
// never reach the runtime, which would stop the shard.
func TestMoveToMissingShardRefused(t *testing.T) {
	rt := open(t, journal.NewFaultFS(5), &clock{})
	defer rt.Close()
	r, err := rt.Submit(0, account(11, 0))
	mustOK(t, r, err)
	r, err = rt.Submit(0, shardledger.Command{Kind: shardledger.MoveCommand, Move: shardledger.Move{
		ID: 300, FromAccountID: 11, ToShard: shardsCount + 3, ToAccountID: 21, AmountFen: 1,
	}})
	if err != nil || r != ledger.CreditAccountNotFound {
		t.Fatalf("move to shard %d: %v, %v", shardsCount+3, r, err)
	}
	r, err = rt.Submit(0, transfer(301, 11, 11, 1)) // The shard still answers.
	if err != nil || r != ledger.AccountsMustBeDifferent {
		t.Fatalf("after the refused move: %v, %v", r, err)
	}
}
