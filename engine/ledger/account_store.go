package ledger

// accountStore keeps accounts in fixed-size chunks, so that opening thousands of accounts at
// once (an issuance to a whole county) never copies the accounts already there and never
// zeroes a doubled slice; positions are stable.
type accountStore struct {
	chunks [][]Account
	count  int32
}

const (
	accountChunkShift   = 12
	accountChunkRecords = 1 << accountChunkShift
)

func (s *accountStore) len() int { return int(s.count) }

func (s *accountStore) at(i int32) *Account {
	return &s.chunks[i>>accountChunkShift][i&(accountChunkRecords-1)]
}

// add appends an account and returns its position.
func (s *accountStore) add(a Account) int32 {
	if int(s.count)>>accountChunkShift == len(s.chunks) {
		s.chunks = append(s.chunks, make([]Account, accountChunkRecords))
	}
	i := s.count
	*s.at(i) = a
	s.count++
	return i
}

// pop removes the newest account, for a linked chain's rollback.
func (s *accountStore) pop() {
	s.count--
	*s.at(s.count) = Account{}
}
