package ledger

// transferStore is the compact index of transfers: an index from id to a position (a map with
// small slots for client ids, pages for the engine's own), and the records in fixed-size chunks,
// which never move once written.
type transferStore struct {
	index  idIndex
	chunks [][]transferRecord
	count  int
}

// transferChunkRecords is the number of records per chunk; a power of two so positions split
// with a shift and a mask.
const (
	transferChunkShift   = 12
	transferChunkRecords = 1 << transferChunkShift
	// transfersCountMax bounds one shard's transfers by the index's uint32 positions.
	transfersCountMax = 1<<32 - 1
)

func newTransferStore() transferStore {
	return transferStore{index: newIDIndex()}
}

func (s *transferStore) len() int { return s.count }

func (s *transferStore) at(pos uint32) *transferRecord {
	return &s.chunks[pos>>transferChunkShift][pos&(transferChunkRecords-1)]
}

// get returns a copy of the record of id.
func (s *transferStore) get(id TransferID) (transferRecord, bool) {
	pos, ok := s.index.get(uint64(id))
	if !ok {
		return transferRecord{}, false
	}
	return *s.at(pos), true
}

func (s *transferStore) has(id TransferID) bool {
	_, ok := s.index.get(uint64(id))
	return ok
}

// set replaces the record of an existing id.
func (s *transferStore) set(id TransferID, r transferRecord) {
	pos, _ := s.index.get(uint64(id))
	*s.at(pos) = r
}

// insert adds the record of a new id at the end.
func (s *transferStore) insert(id TransferID, r transferRecord) {
	if s.count == transfersCountMax {
		panic("ledger: transfer store full")
	}
	if s.count&(transferChunkRecords-1) == 0 && s.count>>transferChunkShift == len(s.chunks) {
		s.chunks = append(s.chunks, make([]transferRecord, transferChunkRecords))
	}
	pos := uint32(s.count)
	r.id = id
	*s.at(pos) = r
	s.index.put(uint64(id), pos)
	s.count++
}

// removeLast takes back the newest insert, which must be of id: a linked chain's rollback
// undoes inserts newest first.
func (s *transferStore) removeLast(id TransferID) {
	pos, ok := s.index.get(uint64(id))
	if !ok || int(pos) != s.count-1 {
		panic("ledger: rollback of a transfer that is not the newest")
	}
	s.index.remove(uint64(id))
	s.count--
	*s.at(pos) = transferRecord{}
}

// each calls fn for every record, oldest first.
func (s *transferStore) each(fn func(r *transferRecord)) {
	for pos := 0; pos < s.count; pos++ {
		fn(s.at(uint32(pos)))
	}
}
