package ledger

// TransferID names a transfer. Zero is never a valid id. The API's Idempotency-Key and the
// engine's client ids become transfer ids.
type TransferID uint64

// TransferCode says what a transfer is for. The ledger requires a code but gives no code a
// meaning of its own: the flags and the refund field decide the mechanics.
type TransferCode uint16

// The transfer codes of ARCHITECTURE.md. The values are journaled: never renumber them.
const (
	CodeFund      TransferCode = 1
	CodeIssue     TransferCode = 2
	CodeSpendHold TransferCode = 3
	CodePost      TransferCode = 4
	CodeVoid      TransferCode = 5
	CodeRefund    TransferCode = 6
	CodeExpire    TransferCode = 7
	CodeSettle    TransferCode = 8
	CodeAdjust    TransferCode = 9
	CodeMove      TransferCode = 10
)

// TransferFlags select the mechanics of a transfer.
type TransferFlags uint16

const (
	// Linked links this command with the next one of the batch into a chain.
	Linked TransferFlags = 1 << iota
	// Pending holds the amount: it counts against the debit account's available balance but
	// moves nothing until a post.
	Pending
	// PostPending posts the pending transfer named by PendingID, in whole or in part.
	PostPending
	// VoidPending voids the pending transfer named by PendingID and releases its hold.
	VoidPending

	transferFlagsAll = Linked | Pending | PostPending | VoidPending
)

// Transfer moves AmountFen from the debit account to the credit account.
//
// A post or a void names its pending transfer in PendingID; it may leave the account ids zero
// (they are taken from the pending transfer), and a post may leave the amount zero to post all
// that was held. A refund names the transfer it refunds in RefundOfID; it moves value back, so
// its debit account is the original's credit account and the reverse. Only a pending transfer
// may carry a deadline, in batch time: a pending transfer still open at the first batch at or
// after its deadline is voided by the ledger.
type Transfer struct {
	ID              TransferID
	DebitAccountID  AccountID
	CreditAccountID AccountID
	AmountFen       int64
	PendingID       TransferID
	RefundOfID      TransferID
	UserData        uint64 // an order or program id, as the caller defines
	DeadlineNanos   int64
	Code            TransferCode
	Flags           TransferFlags
	TimestampNanos  int64 // set by the ledger to the batch time
}

// transferRecord is what the ledger keeps of a transfer for idempotency, posts, voids and
// refunds. It is deliberately smaller than a Transfer: the history (timestamps, balances after)
// lives in the journal and its projections, not in memory.
type transferRecord struct {
	id          TransferID
	debit       AccountID
	credit      AccountID
	amountFen   int64
	referenceID TransferID // PendingID for a post or void, RefundOfID for a refund
	userData    uint64
	deadline    int64
	// settledFen is, for a pending transfer, the amount posted once it is closed; for a posted
	// movement, the amount refunded so far.
	settledFen int64
	code       TransferCode
	flags      TransferFlags
	state      transferState
	refund     bool
}

type transferState uint8

const (
	// statePosted is a single-phase transfer, a post, a void or a refund: it is closed.
	statePosted transferState = iota
	statePending
	statePendingPosted
	statePendingVoided
	statePendingExpired
)
