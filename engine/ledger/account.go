package ledger

// AccountID names an account. Zero is never a valid id.
type AccountID uint64

// AccountKind is what an account stands for in the welfare economy.
type AccountKind uint8

// The account kinds of ARCHITECTURE.md. The values are journaled: never renumber them.
const (
	KindFederationFunding  AccountKind = 1 // external; may go negative
	KindUnionBudget        AccountKind = 2
	KindMemberPoints       AccountKind = 3 // one per member per program
	KindClearing           AccountKind = 4
	KindMerchantReceivable AccountKind = 5
	KindInTransit          AccountKind = 6 // value moving between shards
	KindExternalCash       AccountKind = 7 // the cash part of an order
	kindLast                           = KindExternalCash
)

var kindNames = [...]string{
	KindFederationFunding:  "federation_funding",
	KindUnionBudget:        "union_budget",
	KindMemberPoints:       "member_points",
	KindClearing:           "clearing",
	KindMerchantReceivable: "merchant_receivable",
	KindInTransit:          "in_transit",
	KindExternalCash:       "external_cash",
}

func (k AccountKind) String() string {
	if k == 0 || k > kindLast {
		return "invalid"
	}
	return kindNames[k]
}

// ParseAccountKind returns the kind named s, as printed by String.
func ParseAccountKind(s string) (AccountKind, bool) {
	for k := AccountKind(1); k <= kindLast; k++ {
		if kindNames[k] == s {
			return k, true
		}
	}
	return 0, false
}

// AccountFlags change how an account is checked and recorded.
type AccountFlags uint16

const (
	// AccountLinked links this command with the next one of the batch into a chain that
	// succeeds or fails as a whole.
	AccountLinked AccountFlags = 1 << iota
	// AccountNoOverdraft refuses any debit that would take posted plus pending debits above
	// posted credits.
	AccountNoOverdraft
	// AccountHistory records the balance after each transfer as a BalanceRecorded event, so a
	// projection of the journal can print a running balance.
	AccountHistory

	accountFlagsAll = AccountLinked | AccountNoOverdraft | AccountHistory
)

// Account is a ledger account. The four balance fields are kept by the ledger; a create command
// must leave them zero.
type Account struct {
	ID       AccountID
	UserData uint64 // the owner: a member, union, program or merchant id, as the caller defines
	Kind     AccountKind
	Flags    AccountFlags

	DebitsPendingFen  int64
	DebitsPostedFen   int64
	CreditsPendingFen int64
	CreditsPostedFen  int64
	TimestampNanos    int64 // the batch time at creation
}

// BalanceFen is posted credits less posted debits: what a credit-normal account such as a
// member's points account holds.
func (a *Account) BalanceFen() int64 { return a.CreditsPostedFen - a.DebitsPostedFen }

// AvailableFen is the balance less pending debits: what may still be spent or held.
func (a *Account) AvailableFen() int64 {
	return a.CreditsPostedFen - a.DebitsPostedFen - a.DebitsPendingFen
}
