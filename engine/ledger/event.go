package ledger

// EventKind says what an event records. The values are journaled: never renumber them.
type EventKind uint8

const (
	// EventAccountCreated carries the new account in Event.Account.
	EventAccountCreated EventKind = 1
	// EventTransferCreated carries the transfer as decided in Event.Transfer: account ids and
	// amount resolved (a post names its accounts and the amount posted; a void the amount
	// released), and the batch time set.
	EventTransferCreated EventKind = 2
	// EventPendingExpired records that the ledger voided the pending transfer
	// Event.Transfer.PendingID at its deadline, at batch time Event.Transfer.TimestampNanos.
	EventPendingExpired EventKind = 3
	// EventBalanceRecorded records, for an account flagged AccountHistory, the account's balances
	// in Event.Account right after transfer Event.Transfer.ID was created or, when the record
	// follows a pending_expired event, expired. Applying it changes nothing: it is there for
	// projections.
	EventBalanceRecorded EventKind = 4
)

func (k EventKind) String() string {
	switch k {
	case EventAccountCreated:
		return "account_created"
	case EventTransferCreated:
		return "transfer_created"
	case EventPendingExpired:
		return "pending_expired"
	case EventBalanceRecorded:
		return "balance_recorded"
	}
	return "invalid_event"
}

// Event is one decision of the ledger. Only the fields its kind names are set.
type Event struct {
	Kind     EventKind
	Account  Account
	Transfer Transfer
}

// CommandKind says what a command asks for.
type CommandKind uint8

const (
	CreateAccount  CommandKind = 1
	CreateTransfer CommandKind = 2
)

// Command is one request to the ledger: Account is read for CreateAccount, Transfer for
// CreateTransfer.
type Command struct {
	Kind     CommandKind
	Account  Account
	Transfer Transfer
	// Engine marks a command the engine makes itself (a leg of a cross-shard move, say); only
	// such a command may create an id at or above ReservedIDMin.
	Engine bool
}

// ReservedIDMin is the first account and transfer id reserved for the engine's own accounts and
// transfers, so that they never collide with a client's ids. A client's create of such an id is
// refused with id_reserved (after the exists checks, so that a retry still answers exists).
const ReservedIDMin = 1 << 62

func (c *Command) linked() bool {
	switch c.Kind {
	case CreateAccount:
		return c.Account.Flags&AccountLinked != 0
	case CreateTransfer:
		return c.Transfer.Flags&Linked != 0
	}
	return false
}

// AccountCommand and TransferCommand wrap one create as a command.
func AccountCommand(a Account) Command   { return Command{Kind: CreateAccount, Account: a} }
func TransferCommand(t Transfer) Command { return Command{Kind: CreateTransfer, Transfer: t} }
