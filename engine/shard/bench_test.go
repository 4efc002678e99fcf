package shard_test

import (
	"syscall"
	"testing"

	"huigong/engine/journal"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/welfare"
)

// The county of MISSION.md: 28,000 members. BenchmarkIssueCounty puts them all in one union on
// one shard, the worst case for one issuance, and issues a new program to all of them per
// iteration through the runtime with the real file journal (fdatasync on): the answer comes
// once the batch is durable. Issue 4's target is under 100 ms per issuance.
const (
	countyMembersCount = 28_000
	// countySubmitChunk registers the members in batches below the runtime's BatchCommandsMax.
	countySubmitChunk = 4_000
	countyUnion       = welfare.UnionID(1)
)

func BenchmarkIssueCounty(b *testing.B) {
	j, err := journal.Open(b.TempDir(), journal.Options{GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	now := day(2026, 3, 2)
	rt, err := runtime.Open(runtime.Options{ShardsCount: 1, Journal: j, Clock: func() int64 { return now }}, shard.Factory(1))
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	submit := func(cmds []shard.Command) []shard.Result {
		results := make([]shard.Result, len(cmds))
		if err := rt.SubmitBatch(0, cmds, results); err != nil {
			b.Fatal(err)
		}
		for i, r := range results {
			if r.Code != welfare.OK {
				b.Fatalf("command %d: %v %+v", cmds[i].Kind, r.Code, r)
			}
		}
		return results
	}
	submit([]shard.Command{
		{Kind: welfare.CreateUnion, Union: welfare.Union{ID: countyUnion, Name: "Huian", Officers: []welfare.OfficerID{7, 8}}},
		// Enough for a billion yuan of issuances.
		{Kind: welfare.FundUnion, UnionID: countyUnion, TransferID: 1, AmountFen: 1_000_000_000_00},
	})
	register := make([]shard.Command, 0, countySubmitChunk)
	for i := 0; i < countyMembersCount; i++ {
		register = append(register, shard.Command{Kind: welfare.RegisterMember, MemberID: welfare.MemberID(1_000_000 + i),
			UnionID: countyUnion, Registered: true, DuesPaid: true})
		if len(register) == countySubmitChunk || i == countyMembersCount-1 {
			submit(register)
			register = register[:0]
		}
	}

	b.ReportAllocs()
	cpuStart := cpuNanos(b)
	program := welfare.ProgramID(0)
	for b.Loop() {
		program++
		// A general program has no yearly cap, so every iteration issues to every member; 28,000
		// yuan stays under the federation's default approval threshold of 100,000.
		results := submit([]shard.Command{
			{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{ID: program, UnionID: countyUnion,
				Category: welfare.CategoryGeneral, AmountPerMemberFen: 1_00, FromNanos: day(2026, 3, 1), ToNanos: day(2026, 12, 1)}},
			{Kind: welfare.Issue, ProgramID: program, Officer: 7},
		})
		if r := results[1]; r.IssuedCount != countyMembersCount || r.IssuedFen != countyMembersCount*1_00 {
			b.Fatalf("issued %d members, %d fen", r.IssuedCount, r.IssuedFen)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/issue")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/countyMembersCount, "ns/member")
	// The process's CPU time (every goroutine, the garbage collector's included) per issuance:
	// on a loaded machine it moves much less than the wall time, and the difference between the
	// two is mostly the wait for the disk.
	b.ReportMetric(float64(cpuNanos(b)-cpuStart)/1e6/float64(b.N), "cpu-ms/issue")
}

// cpuNanos is the user and system CPU time the process has used.
func cpuNanos(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
