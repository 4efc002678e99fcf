package runtime

import (
	"fmt"

	"huigong/engine/journal"
)

// recover loads each shard's newest snapshot and replays the journal's records after it.
func (rt *Runtime[C, R]) recover() error {
	if rt.opts.Snapshots != nil {
		for _, s := range rt.shards {
			data, err := rt.opts.Snapshots.Load(s.id)
			if err != nil {
				return fmt.Errorf("runtime: load snapshot of shard %d: %w", s.id, err)
			}
			if data != nil {
				if err := s.restoreSnapshot(data); err != nil {
					return err
				}
			}
		}
	}
	// Replay from the oldest record some shard's snapshot does not cover. The snapshot writer
	// archives only segments that every shard's snapshot covers, so starting at LSN 1 would
	// fail with journal.ErrArchived once a segment has been archived.
	from := uint64(0)
	for i, s := range rt.shards {
		if i == 0 || s.snapshotLSN < from {
			from = s.snapshotLSN
		}
	}
	from++
	var delta batchDelta
	err := rt.opts.Journal.Replay(from, func(lsn uint64, rec journal.Record) error {
		if int(rec.Shard) >= len(rt.shards) {
			return fmt.Errorf("%w: record %d names shard %d of %d", ErrCorrupt, lsn, rec.Shard, len(rt.shards))
		}
		s := rt.shards[rec.Shard]
		if rec.Index <= s.index {
			return nil // The shard's snapshot covers it.
		}
		if rec.Index != s.index+1 {
			return fmt.Errorf("%w: record %d of shard %d has index %d after %d (IndexContiguous)",
				ErrCorrupt, lsn, rec.Shard, rec.Index, s.index)
		}
		events, err := decodeRecordPayload(rec.Payload, &delta)
		if err != nil {
			return fmt.Errorf("record %d: %w", lsn, err)
		}
		if err := s.machine.Apply(events); err != nil {
			return fmt.Errorf("runtime: replay record %d of shard %d: %w", lsn, rec.Shard, err)
		}
		// Message payloads alias the replay buffer, which the journal may reuse.
		for i := range delta.sent {
			delta.sent[i].payload = append([]byte(nil), delta.sent[i].payload...)
		}
		if err := s.env.applyDelta(&delta); err != nil {
			return fmt.Errorf("record %d: %w", lsn, err)
		}
		s.index, s.lastNowNanos = rec.Index, max(s.lastNowNanos, rec.TimeNanos)
		s.durableIndex, s.durableLSN = rec.Index, lsn
		return nil
	})
	if err != nil {
		return fmt.Errorf("runtime: recovery: %w", err)
	}
	for _, s := range rt.shards {
		if err := s.machine.CheckInvariants(); err != nil {
			return fmt.Errorf("runtime: shard %d after recovery: %w", s.id, err)
		}
	}
	return nil
}
