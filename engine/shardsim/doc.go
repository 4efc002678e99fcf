// Package shardsim is a simulation of the welfare and order engine in the manner of
// TigerBeetle's VOPR, beside engine/sim's of the bare ledger: one seed drives a random
// workload over shards of the shard.Factory machine (engine/welfare on engine/runtime,
// journaled by engine/journal on the fault-injecting FaultFS, with snapshots in a directory of
// the same disk), with crashes, torn writes, failed fsyncs and restarts while requests are in
// flight, and the invariants of ARCHITECTURE.md and CONTRACTS.md are checked over all shards.
//
// # How a run goes
//
// A setup request per shard creates its unions with members (some not dues-paid), its SKUs
// with stock, and funding; shard 0 sets the federation's configuration (a maker-checker
// threshold that matters, a festival sale), which it broadcasts. Then the run goes in rounds
// (-shardsim.steps). Each round moves a fake clock on (mostly by seconds; sometimes past a
// checkout's 30 s, a payment's 15 min, a pickup's or a return's 7 days, or a program's end),
// wakes the runtime, and sends every shard one request, each from its own goroutine:
// registrations and dues, fundings, programs (festival windows that do or do not meet the
// calendar, other categories, short windows, amounts above the caps), approvals by the same or
// a second officer, issues to all or to listed members, revocations, moves to unions on other
// shards, SKUs with limits and sale windows, price changes, stock received and restocked,
// orders of one to three lines across SKU shards (some with a cash part, some at a stale price
// or with a wrong category), payments in time or late, cancels, shipping, arrival, hand-out,
// returns, activity awards and their reversals. The workload draws from the seed and from what
// the run has seen (the answers, the notes, the last settle's reading of the shards), so a
// replay of a seed follows the same plan until two sagas race differently.
//
// A planned fault strikes just before the n-th fsync of the round (a journal group, a segment
// rotation, a snapshot save) or once a number of requests were answered: a crash, a torn
// crash, an fsync failure (the process restarts over the disk as it is, so records written but
// never synced may survive unanswered), or a clean restart. Now and then a crash also strikes
// during the journal's recovery. Snapshots are taken every 16 or 64 batches or never, per
// opening, and on request at random rounds.
//
// Every request starts with a funding under a fresh transfer id, its marker: a request is
// decided in one batch and journaled in one record, so after a restart it survived whole if
// its marker is there, and not at all otherwise. An answered request's marker must be there
// (AnswerAfterDurable). The next round sends the crashed round's requests again, as a client
// retries: whole if they were lost; without stock receipts, restocks and moves if they
// survived, which must then answer exists where the engine is idempotent.
//
// # What is checked
//
// Every answer against the model (model.go): exactly where it is deterministic (unions,
// officers, registrations, fundings and their ledger results, programs and their window and
// calendar checks, approvals, revocations, SKUs, stock received, retried orders and awards),
// and bounded to the codes it may take where it depends on messages between shards (issues,
// orders and their steps, moves, awards). An issue's answer must add up: listed members less
// the refused, each refusal with its code and the room left under the cap, members known not
// to be dues-paid refused not_registered. A late payment's answer must follow a note that asks
// the platform to refund it.
//
// At settle points (after every restart, and every few rounds) the run waits until nothing
// moves: no value in transit, every member on exactly one shard, no checkout reserving, every
// reservation in the state its order's state implies, every revocation applied to the copies
// of a program, the configuration everywhere, the edge's sold-out flags as the stock says, and
// two readings in a row alike. Then, over all shards (check.go):
//   - every shard's CheckInvariants: double entry, no overdraft, budgets not below zero, caps,
//     the unit states of every SKU adding up, per-member limits;
//   - points conserved across all shards, and the federation's funding accounts holding minus
//     every funding acknowledged, each funding transfer present as it was made;
//   - no SKU oversold; its received units are the acknowledged receipts, and its reserved, sold
//     and handed-out units are exactly those of the orders on every member's shard in the states
//     that hold them; its returned units are the returned orders' less the restocks; each
//     member's count towards a limit is what its orders hold, within the limit;
//   - no cap count above its cap or below what the member's open holdings were issued (the
//     count moves with the member); every member where the model says, with its union and
//     dues; every program as created, approved, revoked or expired, its issued total the sum
//     of the acknowledged issues; every member a listed issue gave points still holding them;
//   - every order acknowledged (placed as reserving, a note, an answer) still there, in a state
//     reachable from every state it was durably in; one acknowledged placed never refused;
//     every order's holds paying its total; every member points and cash account's pending
//     debits exactly the open orders' holds on it, and every merchant receivable holding what
//     the orders handed out paid, with the open orders' holds pending.
//
// At the end every order is moved on (shipped or cancelled, arrived, mostly handed out) and the
// clock goes past every deadline and every program's window: every order is then handed out,
// cancelled, refused, returned or returned uncollected; no hold is left on any account; no
// member points account holds anything, since every program closed and sent its unspent
// points back to its budget; and a clean restart recovers, from snapshots and the journal,
// byte for byte the state the live run had (replay equals live).
//
// A failure names the seed (printed at the start too, since a panic in a shard goroutine ends
// the test binary): go test -run TestShardSimulation ./engine/shardsim -shardsim.seed=<seed>.
package shardsim
