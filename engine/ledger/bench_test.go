package ledger

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Limits of BenchmarkExecute.
const (
	benchAccountsCount = 1_000_000
	// benchTransfersMax bounds the transfers a ledger holds during the benchmark: past it, the
	// ledger is restored to its accounts-only snapshot (untimed), so memory stays bounded
	// however large b.N grows.
	benchTransfersMax = 2_000_000
	// benchPairsCount is how many random (debit, credit) pairs are drawn before timing starts.
	benchPairsCount = 1 << 20
	// benchBatchCommandsMax is the largest batch measured, TigerBeetle's 8190 per request.
	benchBatchCommandsMax = 8190
)

// BenchmarkExecute measures the pure decider alone, without journal or loop: batches of
// single-phase transfers between random accounts of a ledger of a million accounts.
func BenchmarkExecute(b *testing.B) {
	base := benchAccountsSnapshot(b)
	rng := rand.New(rand.NewPCG(1, 2))
	pairs := make([][2]AccountID, benchPairsCount)
	for i := range pairs {
		d := AccountID(1 + rng.IntN(benchAccountsCount))
		c := AccountID(1 + rng.IntN(benchAccountsCount-1))
		if c >= d {
			c++
		}
		pairs[i] = [2]AccountID{d, c}
	}

	for _, size := range []int{1, 100, benchBatchCommandsMax} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			l := benchRestore(b, base)
			cmds := make([]Command, size)
			results := make([]Result, size)
			events := make([]Event, 0, size)
			nextID, nextPair := TransferID(1), 0
			const nowNanos = 1_000_000
			transfers := 0
			b.ReportAllocs()
			for b.Loop() {
				if l.TransfersCount()+size > benchTransfersMax {
					b.StopTimer()
					l = benchRestore(b, base)
					b.StartTimer()
				}
				for i := range cmds {
					p := pairs[nextPair]
					nextPair = (nextPair + 1) % len(pairs)
					cmds[i] = TransferCommand(Transfer{ID: nextID, DebitAccountID: p[0], CreditAccountID: p[1],
						AmountFen: 100, Code: CodeMove})
					nextID++
				}
				events = l.Execute(nowNanos, cmds, results, events[:0])
				transfers += size
			}
			for i, r := range results {
				if r != OK {
					b.Fatalf("transfer %d of the last batch: %s", i, r)
				}
			}
			b.ReportMetric(float64(transfers)/b.Elapsed().Seconds(), "transfers/s")
		})
	}
}

// benchAccountsSnapshot returns the snapshot of a ledger holding benchAccountsCount accounts
// that may overdraw, so every transfer of the benchmark succeeds.
func benchAccountsSnapshot(b *testing.B) []byte {
	l := New()
	cmds := make([]Command, 0, benchBatchCommandsMax)
	results := make([]Result, benchBatchCommandsMax)
	var events []Event
	for id := AccountID(1); id <= benchAccountsCount; id++ {
		cmds = append(cmds, AccountCommand(Account{ID: id, Kind: KindMemberPoints, UserData: uint64(id)}))
		if len(cmds) == cap(cmds) || id == benchAccountsCount {
			events = l.Execute(1, cmds, results[:len(cmds)], events[:0])
			for i := range cmds {
				if results[i] != OK {
					b.Fatalf("account %d: %s", cmds[i].Account.ID, results[i])
				}
			}
			cmds = cmds[:0]
		}
	}
	return l.AppendSnapshot(nil)
}

func benchRestore(b *testing.B, snap []byte) *Ledger {
	l, _, err := RestoreSnapshot(snap)
	if err != nil {
		b.Fatal(err)
	}
	return l
}
