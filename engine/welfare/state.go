package welfare

import (
	"slices"

	"huigong/engine/ledger"
	"huigong/engine/stock"
)

// Ids. Member ids come from the platform's single sign-on; the others from the callers.
type (
	UnionID       uint64
	MemberID      uint64
	ProgramID     uint64
	OfficerID     uint64
	PickupPointID uint64
	MerchantID    uint64
	SKUID         uint64
)

// Union is a union on this shard.
type Union struct {
	ID       UnionID     `json:"id"`
	ParentID UnionID     `json:"parent_id"` // zero: directly under the federation
	Name     string      `json:"name"`
	Officers []OfficerID `json:"officers"`
	// BudgetAccountID is the union's welfare budget in the shard's ledger.
	BudgetAccountID ledger.AccountID `json:"budget_account_id"`
}

// Member is a member on the real-name register of a union on this shard.
type Member struct {
	ID         MemberID `json:"id"`
	UnionID    UnionID  `json:"union_id"`
	Registered bool     `json:"registered"`
	DuesPaid   bool     `json:"dues_paid"`
	// Counted is the cap count: per category and year, what was issued less what expired or was
	// revoked unspent.
	Counted []CapCount `json:"counted"`
	// Awarded counts activity awards per kind and day, for the daily caps.
	Awarded []AwardCount `json:"awarded,omitempty"`
	// Holdings are the member's program accounts, in the order they were opened.
	Holdings []Holding `json:"holdings"`
}

// memberBox is a member with room for its first holding and cap count: a checkout reads the
// member and its holdings, and a member of one program then reads one object, not two.
type memberBox struct {
	member  Member
	holding [1]Holding
	counted [1]CapCount
}

func newMember(id MemberID) *Member {
	b := &memberBox{member: Member{ID: id}}
	b.member.Holdings, b.member.Counted = b.holding[:0:1], b.counted[:0:1]
	return &b.member
}

// CapCount is a member's count towards one category's cap in one year.
type CapCount struct {
	Category   Category `json:"category"`
	Year       int32    `json:"year"`
	CountedFen int64    `json:"counted_fen"`
}

// AwardCount is what a member was awarded for one kind of activity on one day.
type AwardCount struct {
	Kind       string `json:"kind"`
	Day        int32  `json:"day"`
	AwardedFen int64  `json:"awarded_fen"`
}

// Award is points awarded for an activity by another module of the platform.
type Award struct {
	ID          uint64            `json:"id"`
	ProgramID   ProgramID         `json:"program_id"`
	MemberID    MemberID          `json:"member_id"`
	Kind        string            `json:"kind"`
	AmountFen   int64             `json:"amount_fen"`
	Day         int32             `json:"day"`
	TransferID  ledger.TransferID `json:"transfer_id"`
	ReversedFen int64             `json:"reversed_fen"`
	SpentFen    int64             `json:"spent_fen"`
	// OwedFen is what was held by open orders at the reversal, taken back as they end.
	OwedFen  int64 `json:"owed_fen,omitempty"`
	Reversed bool  `json:"reversed"`
}

// Holding is a member's points account for one program.
type Holding struct {
	ProgramID ProgramID        `json:"program_id"`
	AccountID ledger.AccountID `json:"account_id"`
	// IssuedFen and Year are what the program issued to the member and the year it counts in.
	IssuedFen int64 `json:"issued_fen"`
	Year      int32 `json:"year"`
	// IssuedNanos and IssuedBy say when and by which officer the points were issued, for the
	// audit pack.
	IssuedNanos int64     `json:"issued_nanos,omitempty"`
	IssuedBy    OfficerID `json:"issued_by,omitempty"`
	// Closed is set once the program expired or was revoked for this member.
	Closed bool `json:"closed,omitempty"`
	// OwedFen is what reversed awards still take back from this account when holds release.
	OwedFen int64 `json:"owed_fen,omitempty"`
}

// ProgramStatus is where a program is in its life.
type ProgramStatus uint8

const (
	ProgramActive  ProgramStatus = 1
	ProgramRevoked ProgramStatus = 2
	ProgramExpired ProgramStatus = 3
)

func (s ProgramStatus) String() string {
	switch s {
	case ProgramActive:
		return "active"
	case ProgramRevoked:
		return "revoked"
	case ProgramExpired:
		return "expired"
	}
	return "invalid"
}

// Program is a welfare program of a union: who gets how much, what it may buy, and when.
type Program struct {
	ID                 ProgramID `json:"id"`
	UnionID            UnionID   `json:"union_id"`
	Name               string    `json:"name"`
	Category           Category  `json:"category"`
	AmountPerMemberFen int64     `json:"amount_per_member_fen"`
	FromNanos          int64     `json:"from_nanos"`
	ToNanos            int64     `json:"to_nanos"`
	Whitelist          Whitelist `json:"whitelist"`
	Gift               *Gift     `json:"gift,omitempty"`

	Status     ProgramStatus `json:"status"`
	CreatedBy  OfficerID     `json:"created_by"`
	ApprovedBy OfficerID     `json:"approved_by,omitempty"`
	// OwnerShard is the shard of the union that owns the program; a program on another shard
	// is a copy that came with a member who moved, and its expiry returns points to the owner.
	OwnerShard uint32 `json:"owner_shard"`
	// IssuedFen is what the program issued on this shard in all (nothing, on a copy). The
	// maker-checker threshold is compared with it, so that issuing in several smaller commands
	// does not avoid the second officer's approval.
	IssuedFen int64 `json:"issued_fen,omitempty"`
	// Members lists who the program issued to on this shard, in issue order.
	Members []MemberID `json:"members"`
}

// Whitelist says what a program may buy: a purchase must match every list that is not empty.
type Whitelist struct {
	Categories []string     `json:"categories,omitempty"`
	SKUs       []SKUID      `json:"skus,omitempty"`
	Merchants  []MerchantID `json:"merchants,omitempty"`
}

// Allows reports whether the whitelist lets a program buy sku of a category from a merchant.
func (w *Whitelist) Allows(category string, sku SKUID, merchant MerchantID) bool {
	return (len(w.Categories) == 0 || contains(w.Categories, category)) &&
		(len(w.SKUs) == 0 || contains(w.SKUs, sku)) &&
		(len(w.Merchants) == 0 || contains(w.Merchants, merchant))
}

func (w Whitelist) clone() Whitelist {
	return Whitelist{Categories: slices.Clone(w.Categories), SKUs: slices.Clone(w.SKUs), Merchants: slices.Clone(w.Merchants)}
}

// Gift is a gift package: the member chooses Choose of Options.
type Gift struct {
	Choose  int     `json:"choose"`
	Options []SKUID `json:"options"`
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Directory entries: federation-wide, kept on the shard the callers send them to.
type PickupPoint struct {
	ID      PickupPointID `json:"id"`
	Name    string        `json:"name"`
	Unions  []UnionID     `json:"unions"`
	Keepers []OfficerID   `json:"keepers"`
}

type Merchant struct {
	ID       MerchantID `json:"id"`
	Name     string     `json:"name"`
	Approved bool       `json:"approved"`
}

// State is one shard's welfare tables and ledger.
type State struct {
	shard       uint32
	shardsCount uint32
	ledger      *ledger.Ledger
	config      Config

	unions             map[UnionID]*Union
	members            map[MemberID]*Member
	programs           map[ProgramID]*Program
	pickupPoints       map[PickupPointID]*PickupPoint
	merchants          map[MerchantID]*Merchant
	federationOfficers []OfficerID

	// expiries are the active programs by window end, for Tick.
	expiries ledger.Deadlines[ProgramID]

	stock       *stock.State
	orders      orderTable
	receivables map[MerchantID]ledger.AccountID
	awards      map[uint64]*Award
	// giftChoices are members' claimed options of gift packages, by member and program. They
	// live outside Holding so that a holding has no pointer: members' holdings are the bulk of
	// an issuance's allocations, and pointer-free ones cost the collector nothing.
	giftChoices map[holdingKey][]SKUID
	// nextID numbers the accounts and transfers the welfare decider makes, in the ledger's
	// reserved range.
	nextID uint64

	// Scratch space of the deciders, not state: reused from call to call, since a sale decides
	// every order in several calls and fresh buffers for each were most of its allocations.
	ledgerEv   []ledger.Event
	stockLines []stockLine
	// categories interns the category names read from stock messages.
	categories map[string]string
	// stockEmit is the stock emitter of this state (stockEmitOf), writing to stockOut.
	stockEmit   stock.Emitter
	stockEmitOf *State
	stockOut    *Output
	// dueOrders are the orders a tick finds due, to decide in id order.
	dueOrders []*Order
	// prevForm keeps what an order's form was before it changed in place (nextForm).
	prevForm  Order
	prevLines []OrderLine
	prevHolds []Hold
}

// welfareIDBase starts the ids the decider makes, above the in-transit accounts.
const welfareIDBase = ledger.ReservedIDMin + 1<<40

// FundingAccountID and InTransitAccountID are the shard's own accounts.
func FundingAccountID(shard uint32) ledger.AccountID {
	return ledger.AccountID(ledger.ReservedIDMin + 1<<32 + uint64(shard))
}

func InTransitAccountID(shard uint32) ledger.AccountID {
	return ledger.AccountID(ledger.ReservedIDMin + uint64(shard))
}

// ExternalCashAccountID is where the cash part of orders comes from.
func ExternalCashAccountID(shard uint32) ledger.AccountID {
	return ledger.AccountID(ledger.ReservedIDMin + 2<<32 + uint64(shard))
}

// New returns the empty state of a shard, with its funding and in-transit accounts and the
// default configuration.
func New(shard, shardsCount uint32) *State {
	s := &State{
		shard: shard, shardsCount: shardsCount, ledger: ledger.New(), config: DefaultConfig(),
		unions: map[UnionID]*Union{}, members: map[MemberID]*Member{}, programs: map[ProgramID]*Program{},
		pickupPoints: map[PickupPointID]*PickupPoint{}, merchants: map[MerchantID]*Merchant{},
		nextID: welfareIDBase, stock: stock.New(), orders: newOrderTable(), receivables: map[MerchantID]ledger.AccountID{},
		awards: map[uint64]*Award{}, giftChoices: map[holdingKey][]SKUID{},
	}
	for _, a := range []ledger.Account{
		{ID: FundingAccountID(shard), Kind: ledger.KindFederationFunding, UserData: uint64(shard)},
		{ID: InTransitAccountID(shard), Kind: ledger.KindInTransit, UserData: uint64(shard)},
		{ID: ExternalCashAccountID(shard), Kind: ledger.KindExternalCash, UserData: uint64(shard)},
	} {
		s.ledger.Apply(&ledger.Event{Kind: ledger.EventAccountCreated, Account: a})
	}
	return s
}

// Read access, for queries between batches.

func (s *State) Ledger() *ledger.Ledger                { return s.ledger }
func (s *State) Config() *Config                       { return &s.config }
func (s *State) Union(id UnionID) (*Union, bool)       { u, ok := s.unions[id]; return u, ok }
func (s *State) Member(id MemberID) (*Member, bool)    { m, ok := s.members[id]; return m, ok }
func (s *State) Program(id ProgramID) (*Program, bool) { p, ok := s.programs[id]; return p, ok }
func (s *State) PickupPoint(id PickupPointID) (*PickupPoint, bool) {
	p, ok := s.pickupPoints[id]
	return p, ok
}
func (s *State) Merchant(id MerchantID) (*Merchant, bool) { m, ok := s.merchants[id]; return m, ok }

// BudgetFen returns a union's available budget.
func (s *State) BudgetFen(id UnionID) (int64, bool) {
	u, ok := s.unions[id]
	if !ok {
		return 0, false
	}
	a, _ := s.ledger.Account(u.BudgetAccountID)
	return a.AvailableFen(), true
}

// Holding returns a member's holding of a program.
func (m *Member) Holding(p ProgramID) (*Holding, bool) {
	for i := range m.Holdings {
		if m.Holdings[i].ProgramID == p {
			return &m.Holdings[i], true
		}
	}
	return nil, false
}

// CountedFen returns the member's count towards category's cap in year.
func (m *Member) CountedFen(c Category, year int32) int64 {
	for _, cc := range m.Counted {
		if cc.Category == c && cc.Year == year {
			return cc.CountedFen
		}
	}
	return 0
}

func (m *Member) addCounted(c Category, year int32, fen int64) {
	for i := range m.Counted {
		if m.Counted[i].Category == c && m.Counted[i].Year == year {
			m.Counted[i].CountedFen += fen
			return
		}
	}
	m.Counted = append(m.Counted, CapCount{Category: c, Year: year, CountedFen: fen})
}

// Members calls fn for each member of a union on this shard, in id order.
func (s *State) UnionMembers(id UnionID) []MemberID {
	var ids []MemberID
	for mid, m := range s.members {
		if m.UnionID == id {
			ids = append(ids, mid)
		}
	}
	sortIDs(ids)
	return ids
}

func sortIDs[T ~uint64](ids []T) {
	// Insertion sort for short lists, otherwise a simple heap-free quicksort from slices.
	slicesSort(ids)
}

// Award returns an activity award.
func (s *State) Award(id uint64) (*Award, bool) { a, ok := s.awards[id]; return a, ok }

// Programs lists the programs on this shard, in id order.
func (s *State) Programs() []*Program { return sortedValues(s.programs) }

// Unions lists the unions on this shard, in id order.
func (s *State) Unions() []*Union { return sortedValues(s.unions) }

// Members lists the members on this shard, in id order.
func (s *State) Members() []*Member { return sortedValues(s.members) }

// Orders lists the orders on this shard, in id order.
// The forms returned never change; a later change of an order makes a new form.
func (s *State) Orders() []*Order {
	forms := s.orders.sorted()
	for _, o := range forms {
		o.share()
	}
	return forms
}

// PickupPoints and Merchants list the directory kept on this shard.
func (s *State) PickupPoints() []*PickupPoint { return sortedValues(s.pickupPoints) }
func (s *State) Merchants() []*Merchant       { return sortedValues(s.merchants) }

// FederationOfficers lists the federation's officers kept on this shard.
func (s *State) FederationOfficers() []OfficerID {
	return append([]OfficerID(nil), s.federationOfficers...)
}

// Receivable returns this shard's receivable account of a merchant.
func (s *State) Receivable(m MerchantID) (ledger.AccountID, bool) {
	a, ok := s.receivables[m]
	return a, ok
}

// addAwarded counts an award towards the daily cap; counts of earlier days are dropped.
func (m *Member) addAwarded(kind string, day int32, fen int64) {
	kept := m.Awarded[:0]
	found := false
	for _, a := range m.Awarded {
		if a.Day < day {
			continue
		}
		if a.Kind == kind && a.Day == day {
			a.AwardedFen += fen
			found = true
		}
		kept = append(kept, a)
	}
	if !found {
		kept = append(kept, AwardCount{Kind: kind, Day: day, AwardedFen: fen})
	}
	m.Awarded = kept
}

// AwardedFen is what the member was awarded for kind on day.
func (m *Member) AwardedFen(kind string, day int32) int64 {
	for _, a := range m.Awarded {
		if a.Kind == kind && a.Day == day {
			return a.AwardedFen
		}
	}
	return 0
}

type holdingKey struct {
	member  MemberID
	program ProgramID
}

// GiftChoices returns a member's claimed options of a program's gift package.
func (s *State) GiftChoices(member MemberID, program ProgramID) []SKUID {
	return s.giftChoices[holdingKey{member, program}]
}
