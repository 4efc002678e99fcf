// Package runtime runs deterministic state machines on shards: each shard decides a batch of
// commands, journals the decision, then answers.
//
// A Runtime owns a fixed number of shards. One goroutine owns each shard: it drains the shard's
// bounded queue into a batch, takes the batch time from a clock outside the machine, lets the
// Machine decide every command (later commands see earlier ones), and hands the batch's events to
// the Journal as one record. Callers are answered only after the journal reports the record
// durable; meanwhile the loop goes on deciding the next batch, so fsyncs overlap with decisions.
// A single journal writer group-commits the records of all shards.
//
// Cross-shard work goes as messages. A machine sends a message by naming a target shard; the
// message is part of the sender's batch record and sits in the sender's outbox, which is shard
// state and part of its snapshot. After the record is durable (or, with a journal that makes
// records durable strictly in the order it sequenced them, as soon as the record is sequenced:
// see SequencedJournal), the router hands the message to the target's inbox without blocking; the target decides it in its next batch as a command. The
// target deduplicates by a per-(sender, receiver) sequence number, journals what it applied, and
// acknowledges, and the acknowledgement trims the sender's outbox in the sender's next batch.
// After a restart every message still in an outbox is delivered again.
//
// # Invariants
//
//   - AnswerAfterDurable: no caller sees a result before the record of its batch, and of every
//     earlier batch of its shard, is durable.
//   - DeterministicBatch: a machine sees only the commands, messages and batch time recorded for
//     the batch; replaying the journal over the newest snapshot yields the live state.
//   - IndexContiguous: a shard's records carry indexes 1, 2, 3, ... with no gap; recovery refuses a
//     journal where a shard's index jumps.
//   - MessageAfterSender: a target's record that applied a message is durable only if the
//     sender's record that sent it is.
//   - ExactlyOnceMessages: a message is applied by its target exactly once, in the order sent,
//     however often it is delivered.
//   - MonotoneTime: a shard's batch time never goes backwards, across restarts too.
//   - LoopNeverBlocksOnPeer: a loop never waits on another shard's queue; inboxes are unbounded
//     in code and bounded in practice by the senders' outboxes.
package runtime
