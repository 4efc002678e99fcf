package shard_test

import (
	"huigong/engine/ledger"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// The flash sale of CONTRACTS.md: 100,000 members each try once; one SKU of 10,000 units with a
// limit of 1, or 100 SKUs of 1,000 units each, every member trying a random one. The journal is
// on (fdatasync). The edge refuses attempts on a SKU flagged sold out without touching the
// engine, as the API does.
//
// The members' attempts reach each member shard from saleSubmitters concurrent submitters,
// each passing saleSubmitChunk attempts at a time and waiting for their answers: 2,048 attempts
// in flight per shard, where the edge of a rush has a request in flight per member clicking
// (and the runtime drains up to 8,190 commands into a batch).
const (
	saleShardsCount  = 16
	saleSubmitters   = 4
	saleSubmitChunk  = 512
	saleMembersCount = 100_000
	saleUnionsCount  = saleShardsCount * 4
	saleSKUFirst     = 9000
)

type saleBoard struct {
	// soldOut is the edge's flag per SKU, by SKU id less saleSKUFirst.
	soldOut []atomic.Bool
	placed  atomic.Int64
	refused atomic.Int64
	decided atomic.Int64
	done    chan struct{}
	target  int64
}

func (s *saleBoard) on(_ uint32, notes []any) {
	for n := range shard.OrderNotes(notes) {
		switch n.Kind {
		case welfare.NoteSoldOut, welfare.NoteBackInStock:
			s.soldOut[n.SKU-saleSKUFirst].Store(n.Kind == welfare.NoteSoldOut)
		case welfare.NoteOrder:
			switch n.State {
			case welfare.OrderPlaced:
				s.placed.Add(1)
			case welfare.OrderRefused:
				s.refused.Add(1)
			default:
				continue
			}
			s.decide(1)
		}
	}
}

func (s *saleBoard) decide(n int64) {
	if s.decided.Add(n) == s.target {
		close(s.done)
	}
}

func (s *saleBoard) isSoldOut(id stock.SKUID) bool { return s.soldOut[id-saleSKUFirst].Load() }

func saleMember(i int) welfare.MemberID  { return welfare.MemberID(1_000_000 + i) }
func saleUnion(i int) welfare.UnionID    { return welfare.UnionID(1 + i%saleUnionsCount) }
func saleShard(u welfare.UnionID) uint32 { return uint32(u-1) % saleShardsCount }

// setupSale opens a runtime with every member registered and issued 100 yuan, and the SKUs on
// their home shards.
func setupSale(b *testing.B, skus int, unitsPerSKU int64) (*runtime.Runtime[shard.Command, shard.Result], *saleBoard) {
	b.Helper()
	board := &saleBoard{soldOut: make([]atomic.Bool, skus), done: make(chan struct{}), target: saleMembersCount}
	j, err := journal.Open(b.TempDir(), journal.Options{GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	now := day(2026, 2, 10)
	rt, err := runtime.Open(runtime.Options{ShardsCount: saleShardsCount, Journal: j, OnNotes: board.on,
		Clock: func() int64 { return now }}, shard.Factory(saleShardsCount))
	if err != nil {
		b.Fatal(err)
	}
	submit := func(s uint32, cmds []shard.Command) {
		results := make([]shard.Result, len(cmds))
		if err := rt.SubmitBatch(s, cmds, results); err != nil {
			b.Fatal(err)
		}
		for i, r := range results {
			if r.Code != welfare.OK {
				b.Fatalf("setup command %d: %v %+v", cmds[i].Kind, r.Code, r)
			}
		}
	}
	for u := 1; u <= saleUnionsCount; u++ {
		id := welfare.UnionID(u)
		submit(saleShard(id), []shard.Command{
			{Kind: welfare.CreateUnion, Union: welfare.Union{ID: id, Officers: []welfare.OfficerID{7, 8}}},
			{Kind: welfare.FundUnion, UnionID: id, TransferID: ledgerID(u), AmountFen: 1_000_000_00},
			{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{ID: welfare.ProgramID(u), UnionID: id,
				Category: welfare.CategoryGeneral, AmountPerMemberFen: 100_00, FromNanos: day(2026, 2, 1), ToNanos: day(2026, 3, 1)}},
			{Kind: welfare.ApproveProgram, ProgramID: welfare.ProgramID(u), Officer: 8},
		})
	}
	byShard := map[uint32][]shard.Command{}
	for i := 0; i < saleMembersCount; i++ {
		u := saleUnion(i)
		byShard[saleShard(u)] = append(byShard[saleShard(u)], shard.Command{Kind: welfare.RegisterMember, MemberID: saleMember(i), UnionID: u, Registered: true, DuesPaid: true})
	}
	for s, cmds := range byShard {
		for len(cmds) > 0 {
			n := min(len(cmds), 8000)
			submit(s, cmds[:n])
			cmds = cmds[n:]
		}
	}
	for u := 1; u <= saleUnionsCount; u++ {
		id := welfare.UnionID(u)
		submit(saleShard(id), []shard.Command{{Kind: welfare.Issue, ProgramID: welfare.ProgramID(u), Officer: 7}})
	}
	for k := 0; k < skus; k++ {
		sku := stock.SKUID(saleSKUFirst + k)
		home := uint32(k) % saleShardsCount
		submit(home, []shard.Command{
			{Kind: welfare.SetSKU, SKU: stock.SKU{ID: sku, MerchantID: 3, Category: "food", PriceFen: 10_00, Listed: true, LimitPerMember: 1}},
			{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: sku}, Quantity: unitsPerSKU},
		})
	}
	return rt, board
}

// salePlan is, per submitter, its member shard, the members it submits, and a source of their
// random SKUs for the round.
type salePlan struct {
	parts  [][]int
	rngs   []*rand.Rand
	shards []uint32
}

func newSalePlan(round int) *salePlan {
	p := &salePlan{}
	p.parts, p.rngs, p.shards = saleSubmitterMembers(round)
	return p
}

func saleSubmitterMembers(round int) (parts [][]int, rngs []*rand.Rand, shards []uint32) {
	byShard := make([][]int, saleShardsCount)
	for i := 0; i < saleMembersCount; i++ {
		s := saleShard(saleUnion(i))
		byShard[s] = append(byShard[s], i)
	}
	for s, members := range byShard {
		for k := range saleSubmitters {
			parts = append(parts, members[len(members)*k/saleSubmitters:len(members)*(k+1)/saleSubmitters])
			rngs = append(rngs, rand.New(rand.NewPCG(uint64(s)<<8|uint64(k), uint64(round))))
			shards = append(shards, uint32(s))
		}
	}
	return parts, rngs, shards
}

// saleEdge is the edge's request buffers, one set per submitter, made before the sale as a
// server has them before a rush.
type saleEdge struct {
	cmds    [][]shard.Command
	results [][]shard.Result
	lines   [][]welfare.OrderLine
	reqs    [][]welfare.OrderRequest
}

func newSaleEdge() *saleEdge {
	e := &saleEdge{}
	for range saleShardsCount * saleSubmitters {
		e.cmds = append(e.cmds, make([]shard.Command, 0, saleSubmitChunk))
		e.results = append(e.results, make([]shard.Result, saleSubmitChunk))
		e.lines = append(e.lines, make([]welfare.OrderLine, saleSubmitChunk))
		e.reqs = append(e.reqs, make([]welfare.OrderRequest, saleSubmitChunk))
	}
	return e
}

// runSale makes every member try once, from concurrent submitters per member shard.
func runSale(b *testing.B, rt *runtime.Runtime[shard.Command, shard.Result], board *saleBoard, edgeBuffers *saleEdge, plan *salePlan, skus int, round int) {
	parts, rngs, shards := plan.parts, plan.rngs, plan.shards
	var wg sync.WaitGroup
	var edge atomic.Int64
	for p := range parts {
		wg.Add(1)
		go func(s uint32, members []int, rng *rand.Rand) {
			defer wg.Done()
			cmds, results, lines, reqs := edgeBuffers.cmds[p][:0], edgeBuffers.results[p], edgeBuffers.lines[p], edgeBuffers.reqs[p]
			flush := func() {
				if len(cmds) == 0 {
					return
				}
				if err := rt.SubmitBatch(s, cmds, results[:len(cmds)]); err != nil {
					b.Error(err)
				}
				for i := range cmds {
					if results[i].Code != welfare.OK {
						board.refused.Add(1)
						board.decide(1)
					}
				}
				cmds = cmds[:0]
			}
			for _, i := range members {
				k := 0
				if skus > 1 {
					k = rng.IntN(skus)
				}
				sku := stock.SKUID(saleSKUFirst + k)
				if board.isSoldOut(sku) {
					edge.Add(1)
					board.refused.Add(1)
					board.decide(1)
					continue
				}
				n := len(cmds)
				lines[n] = welfare.OrderLine{SKU: sku, Quantity: 1, UnitPriceFen: 10_00, Shard: uint32(k) % saleShardsCount, MerchantID: 3, Category: "food"}
				reqs[n] = welfare.OrderRequest{ID: welfare.OrderID(uint64(round)<<32 | uint64(i+1)), Lines: lines[n : n+1]}
				cmds = append(cmds, shard.Command{Kind: welfare.PlaceOrder, MemberID: saleMember(i), Order: &reqs[n]})
				if len(cmds) == saleSubmitChunk {
					flush()
				}
			}
			flush()
		}(shards[p], parts[p], rngs[p])
	}
	wg.Wait()
	select {
	case <-board.done:
	case <-time.After(60 * time.Second):
		b.Fatalf("only %d of %d attempts decided", board.decided.Load(), saleMembersCount)
	}
	b.ReportMetric(float64(edge.Load()), "edge_refused")
}

func BenchmarkFlashSale(b *testing.B) {
	for _, tc := range []struct {
		name  string
		skus  int
		units int64
	}{{"one-sku", 1, 10_000}, {"hundred-skus", 100, 1_000}} {
		b.Run(tc.name, func(b *testing.B) {
			var elapsed time.Duration
			var sold, want int64
			b.StopTimer()
			edge := newSaleEdge()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				rt, board := setupSale(b, tc.skus, tc.units)
				plan := newSalePlan(i)
				b.StartTimer()
				start := time.Now()
				runSale(b, rt, board, edge, plan, tc.skus, i)
				elapsed += time.Since(start)
				b.StopTimer()
				sold = board.placed.Load()
				want = tc.units * int64(tc.skus)
				if tc.skus > 1 {
					want = expectedHundred(i, tc.skus, tc.units)
				}
				if err := rt.Close(); err != nil {
					b.Fatal(err)
				}
				if sold != want {
					b.Fatalf("sold %d, want %d", sold, want)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(saleMembersCount)*float64(b.N)/elapsed.Seconds(), "orders/s")
			b.ReportMetric(float64(sold), "sold")
		})
	}
}

// expectedHundred is the sum over the SKUs of min(attempts, units) for round's random choices.
func expectedHundred(round, skus int, units int64) int64 {
	attempts := make([]int64, skus)
	plan := newSalePlan(round)
	for p := range plan.parts {
		for range plan.parts[p] {
			attempts[plan.rngs[p].IntN(skus)]++
		}
	}
	var sum int64
	for _, a := range attempts {
		sum += min(a, units)
	}
	return sum
}

func ledgerID(u int) ledger.TransferID { return ledger.TransferID(u) }
