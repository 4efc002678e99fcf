package welfare_test

import (
	"bytes"
	"testing"

	"huigong/engine/welfare"
)

// TestUpdateProgram is a scenario of UpdateProgram, step by step on one shard: each step is a
// command at a batch time with the code it must give. After every step the live state passes
// CheckInvariants, and a replay of all events so far gives the same snapshot, byte for byte.
func TestUpdateProgram(t *testing.T) {
	day := func(y, m, d int) int64 { return welfare.DayStartNanos(welfare.DaysFromCivil(y, m, d)) }
	live, replay := welfare.New(0, 1), welfare.New(0, 1)
	var out welfare.Output
	run := func(now int64, c welfare.Command) welfare.Result {
		t.Helper()
		out.Reset()
		res := make([]welfare.Result, 1)
		live.Execute(now, []welfare.Command{c}, res, &out)
		if err := live.CheckInvariants(); err != nil {
			t.Fatalf("command %d: %v", c.Kind, err)
		}
		if err := replay.Apply(out.Events); err != nil {
			t.Fatalf("replay: %v", err)
		}
		if !bytes.Equal(live.AppendSnapshot(nil), replay.AppendSnapshot(nil)) {
			t.Fatalf("command %d: the replay's snapshot differs from the live one", c.Kind)
		}
		return res[0]
	}
	program := func(id welfare.ProgramID) welfare.Program {
		p, ok := live.Program(id)
		if !ok {
			t.Fatalf("no program %d", id)
		}
		return *p
	}
	// The spring festival program of union 1, made by officer 7 on 2026-01-10.
	base := welfare.Program{ID: 5, UnionID: 1, Name: "Spring", Category: welfare.CategoryFestival, AmountPerMemberFen: 300_00,
		FromNanos: day(2026, 2, 1), ToNanos: day(2026, 3, 1)}
	now := day(2026, 1, 10)
	for _, c := range []welfare.Command{
		{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Officers: []welfare.OfficerID{7, 8}}},
		{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 2, Officers: []welfare.OfficerID{9}}},
		{Kind: welfare.RegisterMember, MemberID: 100, UnionID: 1, Registered: true, DuesPaid: true},
		{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: 10_000_00},
		{Kind: welfare.CreateProgram, Officer: 7, Program: base},
		{Kind: welfare.ApproveProgram, ProgramID: 5, Officer: 8},
	} {
		if r := run(now, c); r.Code != welfare.OK {
			t.Fatalf("setup %d: %v", c.Kind, r.Code)
		}
	}
	with := func(f func(p *welfare.Program)) welfare.Program {
		p := base
		f(&p)
		return p
	}
	update := func(p welfare.Program, officer welfare.OfficerID) welfare.Command {
		return welfare.Command{Kind: welfare.UpdateProgram, Program: p, Officer: officer}
	}
	steps := []struct {
		name string
		cmd  welfare.Command
		want welfare.Code
	}{
		{"no id", update(with(func(p *welfare.Program) { p.ID = 0 }), 7), welfare.InvalidID},
		{"unknown program", update(with(func(p *welfare.Program) { p.ID = 6 }), 7), welfare.UnknownProgram},
		{"another union's id", update(with(func(p *welfare.Program) { p.UnionID = 2 }), 9), welfare.UnknownProgram},
		{"an officer of another union", update(with(func(p *welfare.Program) { p.Name = "x" }), 9), welfare.UnknownOfficer},
		{"the category stays", update(with(func(p *welfare.Program) { p.Category = welfare.CategoryBirthday }), 7), welfare.InvalidCategory},
		{"unchanged", update(base, 7), welfare.Exists},
		{"negative amount", update(with(func(p *welfare.Program) { p.AmountPerMemberFen = -1 }), 7), welfare.InvalidAmount},
		{"window reversed", update(with(func(p *welfare.Program) { p.FromNanos, p.ToNanos = p.ToNanos, p.FromNanos }), 7), welfare.InvalidWindow},
		{"window over", update(with(func(p *welfare.Program) { p.FromNanos, p.ToNanos = day(2025, 12, 1), day(2026, 1, 5) }), 7), welfare.OutsideWindow},
		{"no festival in the window", update(with(func(p *welfare.Program) { p.FromNanos, p.ToNanos = day(2026, 3, 1), day(2026, 3, 20) }), 7), welfare.OutsideCalendar},
		{"new terms", update(with(func(p *welfare.Program) {
			p.Name, p.AmountPerMemberFen, p.ToNanos = "Spring festival", 500_00, day(2026, 2, 20)
			p.Whitelist = welfare.Whitelist{Categories: []string{"food"}, Merchants: []welfare.MerchantID{3}}
		}), 8), welfare.OK},
	}
	for _, s := range steps {
		if r := run(now, s.cmd); r.Code != s.want {
			t.Fatalf("%s: %v, want %v", s.name, r.Code, s.want)
		}
	}
	p := program(5)
	if p.Name != "Spring festival" || p.AmountPerMemberFen != 500_00 || p.ToNanos != day(2026, 2, 20) ||
		len(p.Whitelist.Categories) != 1 || p.Whitelist.Merchants[0] != 3 || p.Category != welfare.CategoryFestival || p.CreatedBy != 7 {
		t.Fatalf("program after the update %+v", p)
	}
	// The approval was of the old terms: issuing above the threshold needs a new one.
	if p.ApprovedBy != 0 {
		t.Fatalf("the approval survived the update: %+v", p)
	}
	threshold := welfare.DefaultConfig()
	threshold.Version, threshold.ApprovalThresholdFen = 2, 100_00
	if r := run(now, welfare.Command{Kind: welfare.SetConfig, Config: &threshold}); r.Code != welfare.OK {
		t.Fatalf("config: %v", r.Code)
	}
	if r := run(now, welfare.Command{Kind: welfare.Issue, ProgramID: 5, Officer: 7}); r.Code != welfare.ApprovalRequired {
		t.Fatalf("issue without the new approval: %v", r.Code)
	}
	if r := run(now, welfare.Command{Kind: welfare.ApproveProgram, ProgramID: 5, Officer: 8}); r.Code != welfare.OK {
		t.Fatalf("approve again: %v", r.Code)
	}
	// Issued at the new amount; from then on the terms are fixed, though a retry of the update
	// that set them is still answered exists.
	if r := run(now, welfare.Command{Kind: welfare.Issue, ProgramID: 5, Officer: 7}); r.Code != welfare.OK || r.IssuedFen != 500_00 {
		t.Fatalf("issue: %+v", r)
	}
	if r := run(now, update(with(func(p *welfare.Program) { p.Name = "Later" }), 7)); r.Code != welfare.ProgramHasIssued {
		t.Fatalf("update after issuance: %v", r.Code)
	}
	if r := run(now, update(program(5), 7)); r.Code != welfare.Exists {
		t.Fatalf("retried update after issuance: %v", r.Code)
	}

	// The program expires at its new end, not its old one.
	if next, ok := live.NextDeadlineNanos(); !ok || next != day(2026, 2, 20) {
		t.Fatalf("next deadline %d %v, want the new end %d", next, ok, day(2026, 2, 20))
	}
	out.Reset()
	live.Tick(day(2026, 2, 20), &out)
	if err := replay.Apply(out.Events); err != nil {
		t.Fatal(err)
	}
	if p := program(5); p.Status != welfare.ProgramExpired {
		t.Fatalf("status at the new end: %v", p.Status)
	}
	if b, _ := live.BudgetFen(1); b != 10_000_00 {
		t.Fatalf("budget after expiry %d, want it whole again", b)
	}
	if !bytes.Equal(live.AppendSnapshot(nil), replay.AppendSnapshot(nil)) {
		t.Fatal("the replay's snapshot differs after expiry")
	}
	// A revoked or expired program is not updated.
	if r := run(day(2026, 2, 21), update(with(func(p *welfare.Program) { p.ToNanos = day(2026, 4, 1) }), 7)); r.Code != welfare.ProgramNotActive {
		t.Fatalf("update of an expired program: %v", r.Code)
	}

	// An update that moves the end later: the old end passes without expiring the program.
	later := welfare.Program{ID: 6, UnionID: 1, Name: "Birthday", Category: welfare.CategoryBirthday, AmountPerMemberFen: 100_00,
		FromNanos: day(2026, 3, 1), ToNanos: day(2026, 4, 1)}
	now = day(2026, 2, 21)
	if r := run(now, welfare.Command{Kind: welfare.CreateProgram, Officer: 7, Program: later}); r.Code != welfare.OK {
		t.Fatalf("create: %v", r.Code)
	}
	later.ToNanos = day(2026, 5, 1)
	if r := run(now, update(later, 7)); r.Code != welfare.OK {
		t.Fatalf("update: %v", r.Code)
	}
	out.Reset()
	live.Tick(day(2026, 4, 2), &out)
	if err := replay.Apply(out.Events); err != nil {
		t.Fatal(err)
	}
	if p := program(6); p.Status != welfare.ProgramActive {
		t.Fatalf("expired at its old end: %v", p.Status)
	}
	// Restore of a snapshot keeps the new end.
	restored := welfare.New(0, 1)
	if err := restored.Restore(live.AppendSnapshot(nil)); err != nil {
		t.Fatal(err)
	}
	if next, ok := restored.NextDeadlineNanos(); !ok || next != day(2026, 5, 1) {
		t.Fatalf("restored next deadline %d %v", next, ok)
	}
}
