package shardledger_test

import (
	"math/rand/v2"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/runtime"
	"huigong/engine/shardledger"
)

// The workload of CONTRACTS.md: 1,000,000 accounts over all shards, concurrent submitters.
const (
	benchShardsCount   = 64
	benchAccountsCount = 1_000_000
	benchBatchCommands = 8190
)

type benchRuntime = runtime.Runtime[shardledger.Command, shardledger.Result]

func benchAccountID(shard uint32, i int) ledger.AccountID {
	return ledger.AccountID(uint64(shard)<<32 | uint64(i+1))
}

// openBench opens a runtime over j and creates the accounts.
func openBench(b *testing.B, j runtime.Journal) *benchRuntime {
	b.Helper()
	// The in-memory ceiling pays for no journal: its records are not packed either.
	_, memory := j.(*journal.MemoryJournal)
	rt, err := runtime.Open(runtime.Options{ShardsCount: benchShardsCount, Journal: j, Unpacked: memory},
		func(shard uint32) runtime.Machine[shardledger.Command, shardledger.Result] {
			return shardledger.New(shard)
		})
	if err != nil {
		b.Fatal(err)
	}
	perShard := benchAccountsCount / benchShardsCount
	var wg sync.WaitGroup
	for s := uint32(0); s < benchShardsCount; s++ {
		wg.Add(1)
		go func(s uint32) {
			defer wg.Done()
			cmds := make([]shardledger.Command, 0, benchBatchCommands)
			for i := 0; i < perShard; i++ {
				cmds = append(cmds, shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.AccountCommand(ledger.Account{
					ID: benchAccountID(s, i), Kind: ledger.KindMemberPoints,
				})})
				if len(cmds) == cap(cmds) || i == perShard-1 {
					results := make([]shardledger.Result, len(cmds))
					if err := rt.SubmitBatch(s, cmds, results); err != nil {
						b.Error(err)
						return
					}
					cmds = cmds[:0]
				}
			}
		}(s)
	}
	wg.Wait()
	return rt
}

func openDurableJournal(b *testing.B) *journal.FileJournal {
	b.Helper()
	j, err := journal.Open(b.TempDir(), journal.Options{GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	return j
}

// runTransfers runs b.N transfers from submitters goroutines, each sending requests of
// perRequest transfers, and reports transfers/s.
func runTransfers(b *testing.B, rt *benchRuntime, submitters, perRequest int) {
	var next atomic.Int64
	var refused atomic.Int64
	perShard := benchAccountsCount / benchShardsCount
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := 0; g < submitters; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			cmds := make([]shardledger.Command, perRequest)
			results := make([]shardledger.Result, perRequest)
			for {
				first := next.Add(int64(perRequest)) - int64(perRequest)
				if first >= int64(b.N) {
					return
				}
				n := min(int64(perRequest), int64(b.N)-first)
				shard := uint32(rng.IntN(benchShardsCount))
				for i := int64(0); i < n; i++ {
					debit := rng.IntN(perShard)
					credit := (debit + 1 + rng.IntN(perShard-1)) % perShard
					cmds[i] = shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.TransferCommand(ledger.Transfer{
						ID: ledger.TransferID(first + i + 1), DebitAccountID: benchAccountID(shard, debit),
						CreditAccountID: benchAccountID(shard, credit), AmountFen: 100, Code: ledger.CodeIssue,
					})}
				}
				if err := rt.SubmitBatch(shard, cmds[:n], results[:n]); err != nil {
					b.Error(err)
					return
				}
				for _, r := range results[:n] {
					if r != ledger.OK {
						refused.Add(1)
					}
				}
			}
		}(g)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if refused.Load() != 0 {
		b.Fatalf("%d transfers refused", refused.Load())
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "transfers/s")
}

// BenchmarkLedgerDurable: transfers with fdatasync on, answered only once durable.
func BenchmarkLedgerDurable(b *testing.B) {
	b.Run("batch", func(b *testing.B) {
		rt := openBench(b, openDurableJournal(b))
		defer rt.Close()
		runTransfers(b, rt, 4*goruntime.GOMAXPROCS(0), benchBatchCommands)
	})
	b.Run("single", func(b *testing.B) {
		rt := openBench(b, openDurableJournal(b))
		defer rt.Close()
		runTransfers(b, rt, 512, 1)
	})
}

// BenchmarkLedgerMemory is BenchmarkLedgerDurable/batch with the journal off: the ceiling.
func BenchmarkLedgerMemory(b *testing.B) {
	b.Run("batch", func(b *testing.B) {
		rt := openBench(b, journal.NewDiscard())
		defer rt.Close()
		runTransfers(b, rt, 4*goruntime.GOMAXPROCS(0), benchBatchCommands)
	})
}

// BenchmarkReplay measures recovery: opening a runtime over a journal of at least 1,000,000
// events (the accounts and the transfers), with no snapshot.
func BenchmarkReplay(b *testing.B) {
	dir := b.TempDir()
	j, err := journal.Open(dir, journal.Options{GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	rt := openBench(b, j)
	const transfersCount = 1_000_000
	submitTransfers(b, rt, transfersCount)
	if err := rt.Close(); err != nil {
		b.Fatal(err)
	}
	events := int64(benchAccountsCount + transfersCount)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		j, err := journal.Open(dir, journal.Options{GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 8 << 20})
		if err != nil {
			b.Fatal(err)
		}
		rt, err := runtime.Open(runtime.Options{ShardsCount: benchShardsCount, Journal: j},
			func(shard uint32) runtime.Machine[shardledger.Command, shardledger.Result] {
				return shardledger.New(shard)
			})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := rt.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(events)*float64(b.N)/time.Since(start).Seconds(), "events/s")
}

func submitTransfers(b *testing.B, rt *benchRuntime, count int) {
	perShard := benchAccountsCount / benchShardsCount
	var wg sync.WaitGroup
	per := count / benchShardsCount
	for s := uint32(0); s < benchShardsCount; s++ {
		wg.Add(1)
		go func(s uint32) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(s), 9))
			cmds := make([]shardledger.Command, 0, benchBatchCommands)
			for i := 0; i < per; i++ {
				debit := rng.IntN(perShard)
				cmds = append(cmds, shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.TransferCommand(ledger.Transfer{
					ID: ledger.TransferID(uint64(s)<<32 | uint64(i+1)), DebitAccountID: benchAccountID(s, debit),
					CreditAccountID: benchAccountID(s, (debit+1)%perShard), AmountFen: 100, Code: ledger.CodeIssue,
				})})
				if len(cmds) == cap(cmds) || i == per-1 {
					results := make([]shardledger.Result, len(cmds))
					if err := rt.SubmitBatch(s, cmds, results); err != nil {
						b.Error(err)
						return
					}
					cmds = cmds[:0]
				}
			}
		}(s)
	}
	wg.Wait()
}

// BenchmarkAccountMemory reports the heap that 1,000,000 accounts take in the ledgers of all
// shards, without transfers.
func BenchmarkAccountMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var before, after goruntime.MemStats
		goruntime.GC()
		goruntime.ReadMemStats(&before)
		machines := make([]*shardledger.Machine, benchShardsCount)
		results := make([]ledger.Result, benchBatchCommands)
		cmds := make([]ledger.Command, 0, benchBatchCommands)
		perShard := benchAccountsCount / benchShardsCount
		for s := range machines {
			machines[s] = shardledger.New(uint32(s))
			l := machines[s].Ledger()
			for a := 0; a < perShard; a++ {
				cmds = append(cmds, ledger.AccountCommand(ledger.Account{ID: benchAccountID(uint32(s), a), Kind: ledger.KindMemberPoints}))
				if len(cmds) == cap(cmds) || a == perShard-1 {
					l.Execute(1, cmds, results[:len(cmds)], nil)
					cmds = cmds[:0]
				}
			}
		}
		goruntime.GC()
		goruntime.ReadMemStats(&after)
		goruntime.KeepAlive(machines)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(benchAccountsCount), "bytes/account")
	}
}
