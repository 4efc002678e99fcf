// Package shardledger puts the ledger on the shard runtime: a runtime.Machine whose state is one
// shard's ledger, and whose one cross-shard use is moving points to an account on another shard.
//
// A move is a saga of journaled steps, each a local transfer, so that every shard's balances sum
// to zero at every batch boundary and value in flight sits in in-transit accounts:
//
//  1. On the source shard, transfer ID debits the source account and credits the source shard's
//     in-transit account, and a message goes to the target shard.
//  2. On the target shard, transfer InLegID(ID) debits the target shard's in-transit account and
//     credits the target account.
//  3. If the target refuses (the account is missing, say), it sends the move back, and on the
//     source shard transfer BackLegID(ID) debits the in-transit account and credits the source
//     account again.
//
// The runtime delivers each message at least once and the receiver applies it exactly once, so
// a crash anywhere resumes the saga.
//
// # Invariants
//
//   - ShardDoubleEntry: each shard's ledger, in-transit account included, sums to zero.
//   - MoveConserved: over all shards, the in-transit accounts sum to the value of moves in
//     flight, so all balances of all shards sum to zero.
//   - MoveOnce: a move's legs are created at most once each, by their reserved ids.
package shardledger
