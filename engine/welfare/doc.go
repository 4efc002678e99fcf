// Package welfare is the per-union welfare configuration of huigong as a pure decider: the
// organisation (unions, members on the real-name register, officers, pickup points, merchants),
// union budgets funded by the federation, welfare programs with their policy category, window,
// whitelist and gift package, the federation's yearly caps and festival calendar, issuance,
// expiry, revocation and moving a member to another union.
//
// A State holds one shard's welfare tables and that shard's ledger. Each union lives on one
// shard, with its budget, its members, their points accounts (one per member per program) and
// its programs, so issuing and spending never cross shards. The federation's settings (caps,
// calendar, the maker-checker threshold) are set on one shard and broadcast to every shard as
// messages, so that each shard decides with its own copy.
//
// Like the ledger, the package reads no clock, draws no randomness and does no IO: batch time
// comes in with each call, and everything decided leaves as encoded events (applied at once, and
// replayed by Apply) and as messages for other shards.
//
// # Rules (MISSION.md, "the rules a union must keep")
//
//   - BudgetNeverNegative: a union budget account is no-overdraft; an issuance that does not fit
//     the budget is refused whole with budget_insufficient.
//   - RegisteredOnly: only members on the register with dues paid receive points (not_registered).
//   - OncePerMember: a program issues to a member at most once (already_issued).
//   - CapPerYear: per member, per policy category, per calendar year in Asia/Shanghai time, what
//     was issued less what expired or was revoked unspent never exceeds the federation's cap; a
//     refusal says cap_exceeded with the room left. The count moves with the member.
//   - FestivalCalendar: a festival program's window overlaps a statutory festival of the
//     federation's calendar.
//   - MakerChecker: a program whose issuance, counted over all its issue commands, exceeds the
//     federation's threshold needs approval by a second officer of the union first; both are
//     recorded.
//   - NoCashOut: points leave a member's program account only by spending, by expiry or
//     revocation back to the budget, or by moving with the member; never to another member.
//   - ExpiryPerProgram: expiry and revocation touch only that program's accounts, and only
//     their unheld balance.
//   - Conserved: every shard's ledger sums to zero, in-transit included.
package welfare
