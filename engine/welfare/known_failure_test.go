package welfare_test

// Known failures: each test reproduces the shape of a failure published against other points
// systems and shows that it cannot happen here. It drives welfare.State through the scenario
// harness's checks (invariants, codec round trip, replay after every step; snapshot and restore
// at the end) and asserts exact balances.

import (
	"testing"

	"huigong/engine/ledger"
	"huigong/engine/welfare"
)

// kfRun drives one shard of a scenario from Go rather than from a script.
type kfRun struct {
	t *testing.T
	s *scenario
}

func newKFRun(t *testing.T) *kfRun { return &kfRun{t: t, s: newScenario(1)} }

// exec decides one command at nowNanos and fails unless its code is want.
func (r *kfRun) exec(nowNanos int64, c welfare.Command, want welfare.Code) welfare.Result {
	r.t.Helper()
	results := make([]welfare.Result, 1)
	var out welfare.Output
	r.s.live[0].Execute(nowNanos, []welfare.Command{c}, results, &out)
	if _, err := r.s.record(0, &out); err != nil {
		r.t.Fatal(err)
	}
	if results[0].Code != want {
		r.t.Fatalf("command %d: %s (%+v), want %s", c.Kind, results[0].Code, results[0], want)
	}
	return results[0]
}

func (r *kfRun) tick(nowNanos int64) {
	r.t.Helper()
	var out welfare.Output
	r.s.live[0].Tick(nowNanos, &out)
	if _, err := r.s.record(0, &out); err != nil {
		r.t.Fatal(err)
	}
}

func (r *kfRun) spend(member welfare.MemberID, program welfare.ProgramID, amountFen int64, hold bool, want ledger.Result) {
	r.t.Helper()
	got, err := r.s.spendFen(0, member, program, amountFen, hold)
	if err != nil {
		r.t.Fatal(err)
	}
	if got != want {
		r.t.Fatalf("spend %d of member %d's program %d: %s, want %s", amountFen, member, program, got, want)
	}
}

// holdingFen is what the ledger and the holding say of a member's program account.
type holdingFen struct {
	balanceFen, heldFen int64
	closed              bool
}

func (r *kfRun) expectHolding(member welfare.MemberID, program welfare.ProgramID, want holdingFen) {
	r.t.Helper()
	m, ok := r.s.live[0].Member(member)
	if !ok {
		r.t.Fatalf("member %d not found", member)
	}
	h, ok := m.Holding(program)
	if !ok {
		r.t.Fatalf("member %d holds no program %d", member, program)
	}
	a, _ := r.s.live[0].Ledger().Account(h.AccountID)
	if got := (holdingFen{a.BalanceFen(), a.DebitsPendingFen, h.Closed}); got != want {
		r.t.Fatalf("member %d, program %d: %+v, want %+v", member, program, got, want)
	}
}

func (r *kfRun) expectCounted(member welfare.MemberID, c welfare.Category, wantFen int64) {
	r.t.Helper()
	m, _ := r.s.live[0].Member(member)
	if got := m.CountedFen(c, 2026); got != wantFen {
		r.t.Fatalf("member %d counts %d of %s, want %d", member, got, c, wantFen)
	}
}

func (r *kfRun) expectBudget(wantFen int64) {
	r.t.Helper()
	if got, _ := r.s.live[0].BudgetFen(1); got != wantFen {
		r.t.Fatalf("budget %d, want %d", got, wantFen)
	}
}

// TestKnownFailure_ExpiryWipesValid: points systems that expire "the member's points" rather
// than one award's have wiped out valid points, because spends were not tied to the award they
// drew from. Here each program is its own ledger account per member: expiring or revoking one
// program returns only that program's unspent, unheld points to the budget, and every other
// program's points stay exactly as they were, with the same category, another window, or a hold
// on them for an order, and whether or not the member spent some of the expiring program first.
func TestKnownFailure_ExpiryWipesValid(t *testing.T) {
	const (
		spring    welfare.ProgramID = 10 // festival, 1 Feb to 1 Mar: the one that ends
		labourDay welfare.ProgramID = 11 // festival too, 10 Feb to 6 May
		birthday  welfare.ProgramID = 12 // birthday, 20 Jan to 1 Dec
		hardship  welfare.ProgramID = 13 // general, ends a day after spring
		alice     welfare.MemberID  = 100
		bob       welfare.MemberID  = 101
	)
	for _, tc := range []struct {
		name       string
		spentFen   int64 // of spring, by alice, before it ends
		revoke     bool  // revoke spring early instead of letting it expire
		endedNanos int64
	}{
		{name: "expire", endedNanos: dateNanos(2026, 3, 1)},
		{name: "expire_after_spending", spentFen: 120_00, endedNanos: dateNanos(2026, 3, 1)},
		{name: "expire_all_spent", spentFen: 500_00, endedNanos: dateNanos(2026, 3, 1)},
		{name: "revoke", revoke: true, endedNanos: dateNanos(2026, 2, 15)},
		{name: "revoke_after_spending", spentFen: 120_00, revoke: true, endedNanos: dateNanos(2026, 2, 15)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newKFRun(t)
			start := dateNanos(2026, 1, 20)
			r.exec(start, welfare.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Name: "Chongwu", Officers: []welfare.OfficerID{7}}}, welfare.OK)
			for _, m := range []welfare.MemberID{alice, bob} {
				r.exec(start, welfare.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: 1, Registered: true, DuesPaid: true}, welfare.OK)
			}
			r.exec(start, welfare.Command{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: 10_000_00}, welfare.OK)
			for _, p := range []welfare.Program{
				{ID: spring, Category: welfare.CategoryFestival, AmountPerMemberFen: 500_00, FromNanos: dateNanos(2026, 2, 1), ToNanos: dateNanos(2026, 3, 1)},
				{ID: labourDay, Category: welfare.CategoryFestival, AmountPerMemberFen: 300_00, FromNanos: dateNanos(2026, 2, 10), ToNanos: dateNanos(2026, 5, 6)},
				{ID: birthday, Category: welfare.CategoryBirthday, AmountPerMemberFen: 200_00, FromNanos: start, ToNanos: dateNanos(2026, 12, 1)},
				{ID: hardship, Category: welfare.CategoryGeneral, AmountPerMemberFen: 1_000_00, FromNanos: start, ToNanos: dateNanos(2026, 3, 2)},
			} {
				p.UnionID = 1
				r.exec(start, welfare.Command{Kind: welfare.CreateProgram, Program: p, Officer: 7}, welfare.OK)
			}
			issued := dateNanos(2026, 2, 10)
			r.exec(issued, welfare.Command{Kind: welfare.Issue, ProgramID: spring, Officer: 7}, welfare.OK)
			r.exec(issued, welfare.Command{Kind: welfare.Issue, ProgramID: labourDay, Officer: 7}, welfare.OK)
			r.exec(issued, welfare.Command{Kind: welfare.Issue, ProgramID: birthday, Officer: 7, Members: []welfare.MemberID{alice}}, welfare.OK)
			r.exec(issued, welfare.Command{Kind: welfare.Issue, ProgramID: hardship, Officer: 7, Members: []welfare.MemberID{alice}}, welfare.OK)
			// 2 x 500 + 2 x 300 + 200 + 1,000 issued.
			r.expectBudget(10_000_00 - 2_800_00)

			// Alice spends some of several programs, and holds 30 of labour day's for an order.
			if tc.spentFen > 0 {
				r.spend(alice, spring, tc.spentFen, false, ledger.OK)
			}
			r.spend(alice, labourDay, 50_00, false, ledger.OK)
			r.spend(alice, labourDay, 30_00, true, ledger.OK)
			r.spend(alice, birthday, 20_00, false, ledger.OK)

			if tc.revoke {
				r.exec(tc.endedNanos, welfare.Command{Kind: welfare.RevokeProgram, ProgramID: spring, Officer: 7}, welfare.OK)
			} else {
				r.tick(tc.endedNanos - 1) // The last nanosecond of the window: nothing is due.
				r.expectHolding(alice, spring, holdingFen{balanceFen: 500_00 - tc.spentFen})
				r.tick(tc.endedNanos)
			}

			// Spring's unspent points are back in the budget, and spring only.
			r.expectHolding(alice, spring, holdingFen{closed: true})
			r.expectHolding(bob, spring, holdingFen{closed: true})
			r.expectBudget(10_000_00 - 2_800_00 + (500_00 - tc.spentFen) + 500_00)
			// Every other program's points are exactly as they were, holds included.
			r.expectHolding(alice, labourDay, holdingFen{balanceFen: 250_00, heldFen: 30_00})
			r.expectHolding(alice, birthday, holdingFen{balanceFen: 180_00})
			r.expectHolding(alice, hardship, holdingFen{balanceFen: 1_000_00})
			r.expectHolding(bob, labourDay, holdingFen{balanceFen: 300_00})
			// The festival count drops by spring's unspent points only: what was spent stays
			// counted, labour day's 300 stay counted.
			r.expectCounted(alice, welfare.CategoryFestival, 300_00+tc.spentFen)
			r.expectCounted(bob, welfare.CategoryFestival, 300_00)
			r.expectCounted(alice, welfare.CategoryBirthday, 200_00)
			r.expectCounted(alice, welfare.CategoryGeneral, 1_000_00)

			// The valid points are spendable to the last fen, and not one fen more.
			r.spend(alice, labourDay, 220_00+1, false, ledger.ExceedsCredits)
			r.spend(alice, labourDay, 220_00, false, ledger.OK)
			r.spend(alice, birthday, 180_00, false, ledger.OK)
			r.expectHolding(alice, labourDay, holdingFen{balanceFen: 30_00, heldFen: 30_00})

			// A day later hardship ends too, and takes nothing but its own.
			r.tick(dateNanos(2026, 3, 2))
			r.expectHolding(alice, hardship, holdingFen{closed: true})
			r.expectHolding(alice, labourDay, holdingFen{balanceFen: 30_00, heldFen: 30_00})
			r.expectHolding(bob, labourDay, holdingFen{balanceFen: 300_00})
			r.expectCounted(alice, welfare.CategoryGeneral, 0)
			r.expectCounted(alice, welfare.CategoryFestival, 300_00+tc.spentFen)

			if err := r.s.checkEnd(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
