package welfare

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"huigong/engine/ledger"
)

// snapshotTables is the welfare part of a snapshot, with every map as a list in id order so
// equal states give equal bytes.
type snapshotTables struct {
	Config             Config          `json:"config"`
	Unions             []*Union        `json:"unions"`
	Members            []*Member       `json:"members"`
	Programs           []*Program      `json:"programs"`
	PickupPoints       []*PickupPoint  `json:"pickup_points"`
	Merchants          []*Merchant     `json:"merchants"`
	FederationOfficers []OfficerID     `json:"federation_officers"`
	NextID             uint64          `json:"next_id"`
	Receivables        []receivable    `json:"receivables"`
	Stock              json.RawMessage `json:"stock"`
	Orders             []byte          `json:"orders"`
	Awards             []*Award        `json:"awards"`
	GiftChoices        []giftChoice    `json:"gift_choices,omitempty"`
}

type giftChoice struct {
	Member  MemberID  `json:"member"`
	Program ProgramID `json:"program"`
	Choices []SKUID   `json:"choices"`
}

type receivable struct {
	Merchant MerchantID       `json:"merchant"`
	Account  ledger.AccountID `json:"account"`
}

func sortedValues[K ~uint64, V any](m map[K]*V) []*V {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]*V, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// AppendSnapshot appends the whole state: the ledger's snapshot, then the welfare tables.
func (s *State) AppendSnapshot(dst []byte) []byte {
	l := s.ledger.AppendSnapshot(nil)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(len(l)))
	dst = append(dst, l...)
	st, err := s.stock.MarshalSnapshot()
	if err != nil {
		panic(err)
	}
	var orders []byte
	for _, o := range s.orders.sorted() {
		orders = appendOrder(orders, o)
	}
	var gifts []giftChoice
	for k, c := range s.giftChoices {
		gifts = append(gifts, giftChoice{Member: k.member, Program: k.program, Choices: c})
	}
	slices.SortFunc(gifts, func(a, b giftChoice) int {
		if a.Member != b.Member {
			return cmpInt64(int64(a.Member), int64(b.Member))
		}
		return cmpInt64(int64(a.Program), int64(b.Program))
	})
	var recv []receivable
	for m, a := range s.receivables {
		recv = append(recv, receivable{Merchant: m, Account: a})
	}
	slices.SortFunc(recv, func(a, b receivable) int { return cmpInt64(int64(a.Merchant), int64(b.Merchant)) })
	body, err := json.Marshal(snapshotTables{
		Config: s.config, Unions: sortedValues(s.unions), Members: sortedValues(s.members),
		Programs: sortedValues(s.programs), PickupPoints: sortedValues(s.pickupPoints),
		Merchants: sortedValues(s.merchants), FederationOfficers: s.federationOfficers, NextID: s.nextID,
		Receivables: recv, Stock: st, Orders: orders, Awards: sortedValues(s.awards), GiftChoices: gifts,
	})
	if err != nil {
		panic(err)
	}
	return append(dst, body...)
}

// Restore replaces the state with a snapshot's.
func (s *State) Restore(src []byte) error {
	if len(src) < 8 {
		return fmt.Errorf("%w: snapshot header", ErrBadEvent)
	}
	n := binary.LittleEndian.Uint64(src)
	if n > uint64(len(src)-8) {
		return fmt.Errorf("%w: snapshot ledger of %d bytes", ErrBadEvent, n)
	}
	l, used, err := ledger.RestoreSnapshot(src[8 : 8+n])
	if err != nil {
		return err
	}
	if uint64(used) != n {
		return fmt.Errorf("%w: snapshot ledger length", ErrBadEvent)
	}
	var t snapshotTables
	if err := json.Unmarshal(src[8+n:], &t); err != nil {
		return fmt.Errorf("%w: snapshot tables: %v", ErrBadEvent, err)
	}
	r := New(s.shard, s.shardsCount)
	r.ledger, r.config, r.nextID, r.federationOfficers = l, t.Config, t.NextID, t.FederationOfficers
	for _, u := range t.Unions {
		r.unions[u.ID] = u
	}
	for _, m := range t.Members {
		r.members[m.ID] = m
	}
	for _, p := range t.Programs {
		r.programs[p.ID] = p
		if p.Status == ProgramActive {
			r.expiries.Push(p.ToNanos, p.ID)
		}
	}
	for _, p := range t.PickupPoints {
		r.pickupPoints[p.ID] = p
	}
	for _, m := range t.Merchants {
		r.merchants[m.ID] = m
	}
	for _, a := range t.Awards {
		r.awards[a.ID] = a
	}
	for _, g := range t.GiftChoices {
		r.giftChoices[holdingKey{g.Member, g.Program}] = g.Choices
	}
	for _, rc := range t.Receivables {
		r.receivables[rc.Merchant] = rc.Account
	}
	if len(t.Stock) > 0 {
		if err := r.stock.UnmarshalSnapshot(t.Stock); err != nil {
			return err
		}
	}
	for b := t.Orders; len(b) > 0; {
		o, n, err := decodeOrder(b)
		if err != nil {
			return err
		}
		r.applyOrder(o)
		b = b[n:]
	}
	*s = *r
	return nil
}

// CheckInvariants verifies the ledger's invariants and the welfare rules of the package doc
// that the state can show: budgets never negative, no cap count above its cap, and each holding's
// account present.
func (s *State) CheckInvariants() error {
	if err := s.ledger.CheckInvariants(); err != nil {
		return err
	}
	if err := s.stock.CheckInvariants(); err != nil {
		return err
	}
	for _, u := range sortedValues(s.unions) {
		a, ok := s.ledger.Account(u.BudgetAccountID)
		if !ok || a.AvailableFen() < 0 {
			return fmt.Errorf("BudgetNeverNegative: union %d budget %+v", u.ID, a)
		}
	}
	for _, m := range sortedValues(s.members) {
		for _, c := range m.Counted {
			// CapPerYear is enforced when points are issued; a cap the federation lowers later
			// does not take back what was issued under the old one, so counts may exceed it.
			if c.CountedFen < 0 {
				return fmt.Errorf("CapPerYear: member %d counts %d of %s in %d", m.ID, c.CountedFen, c.Category, c.Year)
			}
		}
		for _, h := range m.Holdings {
			if _, ok := s.ledger.Account(h.AccountID); !ok {
				return fmt.Errorf("member %d holds program %d in missing account %d", m.ID, h.ProgramID, h.AccountID)
			}
		}
	}
	return nil
}
