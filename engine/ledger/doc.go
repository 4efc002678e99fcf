// Package ledger is the double-entry points ledger of huigong, written as a pure decider.
//
// The ledger holds accounts and transfers in int64 fen (0.01 yuan; 1 point = 1 yuan). It is
// modelled on TigerBeetle: every transfer debits one account and credits another by the same
// amount, transfers are idempotent by id, a pending transfer holds an amount until it is posted
// (in whole or in part) or voided, and a linked chain of commands succeeds or fails as a whole.
//
// # Decide, then apply
//
// Ledger.Execute decides a batch of commands at a batch time given as data. Each command gets
// exactly one result, a value and never an error. A command that succeeds produces events, and
// each event is applied to the state at once, so that later commands of the batch see it.
// Ledger.Apply applies one event; replaying the events of a journal through Apply rebuilds the
// state of the live run. Rejections produce no events, so a retried rejected command is decided
// afresh. The package does no IO, reads no clock, has no randomness and starts no goroutines;
// TestDeciderImports enforces the imports.
//
// # Invariants
//
// These hold at every batch boundary. Ledger.CheckInvariants verifies them; the expensive
// per-batch check runs under the invariants build tag.
//
//   - DoubleEntry: the sum of posted debits equals the sum of posted credits over all accounts,
//     and likewise for pending amounts; so all balances sum to zero.
//   - NoOverdraft: for an account flagged NoOverdraft, posted debits plus pending debits never
//     exceed posted credits.
//   - PendingCounted: each account's pending debits and credits equal the sums of the open
//     pending transfers that name it.
//   - HoldNotExceeded: a post never moves more than its pending transfer held, and a pending
//     transfer is posted, voided or expired at most once.
//   - RefundBounded: the refunds of a transfer never add up to more than its amount, and only a
//     posted movement (a single-phase transfer or a post) can be refunded.
//   - Idempotent: a transfer or account id is created at most once; the same id again returns
//     exists, or exists_with_different_<field> when a field differs.
//   - LinkedAtomic: the commands of a linked chain all succeed, or none of their events remain.
package ledger
