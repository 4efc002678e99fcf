// Package projection holds read models projected from the journal: stores that the engine's
// loops never wait on, that serve what the shards deliberately do not keep in memory, and that
// can be thrown away and rebuilt.
//
// History is the first: every account's transfers, oldest first, served a page at a time. The
// ledger keeps only a compact transfer index for idempotency (ARCHITECTURE.md, "Memory"); the
// full history lives in the journal, and History projects it to a bbolt file on disk, keyed so
// that one page of one account is one range scan.
//
// # Contract
//
// The invariants below are named so that tests can cite them.
//
//   - Rebuildable: History holds nothing that is not in the journal. Deleting its file and
//     following the journal from LSN 1 (archived segments included) rebuilds it, entry for
//     entry, byte for byte in what Page returns.
//   - Idempotent: History stores the LSN of the last record it applied in the same bbolt
//     transaction as the record's entries, and skips any record at or below it. Catching up
//     after a crash or a restart, from any LSN at or below LastApplied()+1, neither duplicates
//     nor loses an entry.
//   - DurableOnly: Follow and CatchUp read only records the journal has made durable
//     (journal.FileJournal.ReadDurable), so History never shows a transfer that a crash of the
//     engine could take back.
//   - OrderedKeys: an entry's key is (shard, account, LSN, position in the record), big-endian,
//     so an account's entries sort oldest first and a page is a cursor's range scan; the cursor
//     a page returns is the key of the next entry.
//   - BoundedMemory: memory use does not grow with the history. Entries go to disk in batches
//     of at most catchUpRecordsMax records and catchUpEventsMax events per bbolt transaction,
//     the journal is read in bounded chunks, a page holds at most PageLimitMax entries, and the
//     only index kept besides the entries (pending transfers with a deadline, for expiries) is
//     on disk and shrinks as holds close.
//
// # On disk
//
// One bbolt file with three buckets:
//
//	entries  key: shard u32 | account u64 | LSN u64 | position u32   (24 bytes, big-endian)
//	         value: one Entry, entryFormatVersion first (see entry.go)
//	pending  key: shard u32 | pending transfer id u64
//	         value: debit, credit, amount, user data, code of an open pending transfer with a
//	         deadline, so that its expiry (which names only the transfer) can be written to
//	         both accounts; deleted when the hold is posted, voided or expires
//	meta     "last_lsn": the LSN of the last applied record; "format": historyFormatVersion
package projection
