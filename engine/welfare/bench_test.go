package welfare_test

import (
	"syscall"
	"testing"

	"huigong/engine/welfare"
)

// BenchmarkIssue is the decider's part of engine/shard's BenchmarkIssueCounty: one program
// issued to all 28,000 members of one union, with no runtime and no journal around it.
func BenchmarkIssue(b *testing.B) {
	const membersCount = 28_000
	st := welfare.New(0, 1)
	var out welfare.Output
	now := dateNanos(2026, 3, 2)
	cmds := []welfare.Command{
		{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Name: "Huian", Officers: []welfare.OfficerID{7}}},
		{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: 1_000_000_000_00},
	}
	for i := 0; i < membersCount; i++ {
		cmds = append(cmds, welfare.Command{Kind: welfare.RegisterMember, MemberID: welfare.MemberID(1_000_000 + i),
			UnionID: 1, Registered: true, DuesPaid: true})
	}
	st.Execute(now, cmds, make([]welfare.Result, len(cmds)), &out)
	b.ReportAllocs()
	cpuStart := cpuNanos(b)
	results := make([]welfare.Result, 2)
	program := welfare.ProgramID(0)
	for b.Loop() {
		program++
		out.Reset()
		st.Execute(now, []welfare.Command{
			{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{ID: program, UnionID: 1,
				Category: welfare.CategoryGeneral, AmountPerMemberFen: 1_00, FromNanos: dateNanos(2026, 3, 1), ToNanos: dateNanos(2026, 12, 1)}},
			{Kind: welfare.Issue, ProgramID: program, Officer: 7},
		}, results, &out)
		if results[1].IssuedCount != membersCount {
			b.Fatalf("issued %d: %+v", results[1].IssuedCount, results[1])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/issue")
	b.ReportMetric(float64(len(out.Events))/membersCount, "event-bytes/member")
	b.ReportMetric(float64(cpuNanos(b)-cpuStart)/1e6/float64(b.N), "cpu-ms/issue")
}

// cpuNanos is the user and system CPU time the process has used, the garbage collector's
// included: on a loaded machine it moves much less than the wall time.
func cpuNanos(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
