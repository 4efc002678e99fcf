// Package sim is a deterministic simulation of the engine in the manner of TigerBeetle's VOPR:
// one seed drives a random workload over many shards of the ledger machine (engine/shardledger
// on engine/runtime, journaled by engine/journal on the fault-injecting FaultFS), with
// cross-shard moves, crashes, torn writes, failed fsyncs, snapshots and restarts, and an
// auditor checks every answer against a simple reference model of the ledger (model.go).
//
// # How a run goes
//
// The run goes in rounds until the planned number of commands is drawn (800,000 by default;
// -sim.commands). In each round every shard gets one request of 20 to 400 commands, submitted
// from its own goroutine; shards decide concurrently, but each decides its requests in a known
// order, so the model predicts every answer. The batch clock is a fake one, moved only between
// rounds, so deadlines fall at known batch times. The workload and the fault schedule come from
// the seed alone: a workload never looks at an answer (workload.go), and faults are planned per
// round; scheduling decides only which requests had been answered when a fault struck.
//
// A fault strikes just before the n-th fsync of the round (a journal group, a segment rotation,
// a snapshot save or an archive: the engine sees the FaultFS through journal.SyncTrigger), or else once a
// planned number of the round's requests were answered:
//   - crash (FaultFS.Crash): unsynced writes are lost; every request still unanswered fails;
//   - torn crash (FaultFS.CrashTorn): the last write keeps a random prefix, perhaps damaged;
//   - fsync failure: the journal fails stickily, then the process restarts over the disk as it
//     is; faults come in clusters, so a crash often follows in the next round;
//   - clean restart: Close, then open again.
//
// Now and then a crash also strikes during the journal's recovery at the next open.
//
// After a fault the runtime is opened again over the same FaultFS. A request that was not
// answered went into one batch record or none, so it is resolved by looking up the ids it would
// have created: the model keeps it if they are all there and drops it if none is (and fails the
// run otherwise). The next round sends the same requests again, as a client retries; for the
// requests that had been answered, that checks idempotency.
//
// # What is checked
//
//   - Every answered command gets the result the model predicts.
//   - After a fault, every answered request of the round is still there (AnswerAfterDurable),
//     and an unanswered one is there whole or not at all.
//   - After every restart every shard equals the model: every account (all four balances, in
//     creation order) and every transfer as LookupTransfer reports it, once no move is in
//     flight. Every few rounds the same compare runs on the accounts, the transfers changed
//     since the last compare, and a sample of the others.
//   - The machine's invariants hold at every batch boundary (the runtime runs with Invariants)
//     and after recovery; at the end all balances of all shards, in-transit included, sum to
//     zero, no NoOverdraft account is below zero, and a last clean restart equals the model.
//   - The same seed draws the same workload and fault plan (Stats.WorkloadHash).
//
// # Keeping answers predictable
//
// A move's in-leg (or its back-leg, when the target refuses) is decided on another shard at a
// time no one controls. The workload keeps that from changing any answer: moves credit only
// accounts whose balance no answer depends on (receivers, which nothing debits; merchants,
// clearing and funding accounts, which have no overdraft check, and are never given amounts
// that could overflow), and moves that may come back start only at such accounts. The model
// applies the legs at the next settle point, when the in-transit accounts of all shards sum to
// zero again.
//
// Two moves from different shards may carry the same id (a client's mistake, or two clients'):
// their in-legs then have the same id on the target. The workload makes such collisions only
// once the first move was answered for good and has settled, and only from one shard, so the
// order in which the two in-legs meet is known.
package sim
