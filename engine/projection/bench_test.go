package projection_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/projection"
	"huigong/engine/runtime"
	"huigong/engine/shardledger"
)

// BenchmarkCatchUp measures a projection catching up with a journal of transfersCount transfers
// spread over membersCount accounts per shard (two entries each), from LSN 1, the way a rebuild
// or a restart after a long stop does. The journal is written once, outside the timing.
func BenchmarkCatchUp(b *testing.B) {
	const (
		shards         = 4
		membersCount   = 1000
		transfersCount = 200_000
		batchTransfers = 1000
	)
	for _, history := range []bool{false, true} {
		b.Run(fmt.Sprintf("history=%v", history), func(b *testing.B) {
			dir := b.TempDir()
			j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
			if err != nil {
				b.Fatal(err)
			}
			rt, err := runtime.Open(runtime.Options{ShardsCount: shards, Journal: j},
				func(shard uint32) runtime.Machine[shardledger.Command, shardledger.Result] {
					return shardledger.New(shard)
				})
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close()
			var flags ledger.AccountFlags
			if history {
				flags = ledger.AccountHistory
			}
			submit := func(shard uint32, cmds []shardledger.Command) {
				results := make([]shardledger.Result, len(cmds))
				if err := rt.SubmitBatch(shard, cmds, results); err != nil {
					b.Fatal(err)
				}
				for i, r := range results {
					if r != ledger.OK {
						b.Fatalf("command %d: %v", i, r)
					}
				}
			}
			for s := uint32(0); s < shards; s++ {
				cmds := []shardledger.Command{{Kind: shardledger.LedgerCommand, Ledger: ledger.AccountCommand(ledger.Account{ID: 1, Kind: ledger.KindFederationFunding})}}
				for m := range membersCount {
					cmds = append(cmds, shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.AccountCommand(ledger.Account{
						ID: ledger.AccountID(100 + m), Kind: ledger.KindMemberPoints, Flags: flags,
					})})
				}
				submit(s, cmds)
			}
			cmds := make([]shardledger.Command, batchTransfers)
			for n := 0; n < transfersCount; n += batchTransfers {
				shard := uint32(n / batchTransfers % shards)
				for i := range cmds {
					id := n + i + 1
					cmds[i] = shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.TransferCommand(ledger.Transfer{
						ID: ledger.TransferID(id), DebitAccountID: 1, CreditAccountID: ledger.AccountID(100 + id%membersCount),
						AmountFen: 1, Code: ledger.CodeIssue,
					})}
				}
				submit(shard, cmds)
			}

			b.ReportAllocs()
			entries, run := 0, 0
			for b.Loop() {
				h, err := projection.Open(filepath.Join(dir, fmt.Sprintf("history-%d.db", run)))
				if err != nil {
					b.Fatal(err)
				}
				stats, err := h.CatchUp(j, projection.LedgerEvents)
				if err != nil {
					b.Fatal(err)
				}
				if stats.Entries != 2*transfersCount {
					b.Fatalf("caught up %+v, want %d entries", stats, 2*transfersCount)
				}
				entries += stats.Entries
				if err := h.Close(); err != nil {
					b.Fatal(err)
				}
				run++
			}
			b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
