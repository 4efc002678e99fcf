package welfare

import (
	"huigong/engine/ledger"
	"huigong/engine/stock"
)

// CommandKind selects what a Command asks for and which of its fields are read.
type CommandKind uint8

const (
	// SetConfig sets the federation's configuration (Config) and broadcasts it to all shards.
	SetConfig CommandKind = iota + 1
	// CreateUnion creates Union on this shard, with its budget account.
	CreateUnion
	// AddOfficer makes Officer an officer of Union.
	AddOfficer
	// RegisterMember puts Member on Union's register, or updates its Registered and DuesPaid.
	RegisterMember
	// FundUnion moves AmountFen from the federation's funding to Union's budget, as ledger
	// transfer TransferID (the caller's idempotency key).
	FundUnion
	// CreateProgram creates Program (its ID, union, category, amount, window, whitelist, gift),
	// made by Officer.
	CreateProgram
	// ApproveProgram records Officer's approval of Program; the approver must be an officer of
	// the union other than the maker.
	ApproveProgram
	// Issue issues Program to Members (all registered members of the union when empty), each
	// AmountFen or, when Amounts is set, Amounts[i]. Officer is recorded.
	Issue
	// RevokeProgram expires Program early: unspent points go back to the budget.
	RevokeProgram
	// ClaimGift records Member's choice of Choices from Program's gift package.
	ClaimGift
	// MoveMember moves Member, with its balances and cap counts, to ToUnion on shard ToShard.
	MoveMember
	// SetPickupPoint, SetMerchant and AddFederationOfficer maintain the directory.
	SetPickupPoint
	SetMerchant
	AddFederationOfficer
	// PlaceOrder starts Member's checkout of Order: the points are held and the SKU shards
	// asked to reserve; the outcome comes as a NoteOrder.
	PlaceOrder
	// ConfirmPayment records the platform's payment PaymentRef of OrderID's cash part.
	ConfirmPayment
	// CancelOrder cancels OrderID before shipment (Member, when set, must own it).
	CancelOrder
	// ShipOrder, ArriveOrder and HandOutOrder move OrderID through fulfilment.
	ShipOrder
	ArriveOrder
	HandOutOrder
	// ReturnOrder takes back OrderID after pickup, within the return window.
	ReturnOrder
	// SetSKU creates or updates SKU, homed on this shard.
	SetSKU
	// ReceiveStock adds Quantity units of SKU.ID received from the merchant.
	ReceiveStock
	// RestockSKU moves Quantity returned units of SKU.ID back to available.
	RestockSKU
	// AwardPoints gives Member AmountFen of activity Program for an activity of ActivityKind, as
	// award AwardID (the caller's idempotency key), within the daily cap of that kind.
	AwardPoints
	// ReverseAward takes back what is left of award AwardID, and reports what was spent.
	ReverseAward
	// UpdateProgram changes Program's name, amount per member, window and whitelist, by
	// Officer, as long as the program has issued nothing; an approval given before is void.
	UpdateProgram
)

// Command is one request to the welfare decider.
type Command struct {
	Kind         CommandKind
	Config       *Config
	Union        Union
	Program      Program
	PickupPoint  PickupPoint
	Merchant     Merchant
	UnionID      UnionID
	ProgramID    ProgramID
	MemberID     MemberID
	Officer      OfficerID
	Registered   bool
	DuesPaid     bool
	TransferID   ledger.TransferID
	AmountFen    int64
	Members      []MemberID
	Amounts      []int64
	Choices      []SKUID
	ToUnion      UnionID
	ToShard      uint32
	Order        *OrderRequest
	OrderID      OrderID
	PaymentRef   uint64
	SKU          stock.SKU
	Quantity     int64
	AwardID      uint64
	ActivityKind string
}

// Code is the outcome of a command, or of one member of an issuance. Business outcomes are
// codes, never errors. The names are stable: the API's problem codes are these names.
type Code uint8

const (
	OK Code = iota
	Exists
	ExistsWithDifferentFields
	UnknownUnion
	UnknownMember
	UnknownProgram
	UnknownOfficer
	InvalidAmount
	InvalidWindow
	InvalidCategory
	InvalidGift
	InvalidConfig
	InvalidID
	NotRegistered
	AlreadyIssued
	CapExceeded
	BudgetInsufficient
	ApprovalRequired
	SameOfficer
	OutsideCalendar
	OutsideWindow
	ProgramNotActive
	ProgramHasIssued
	NotAGift
	GiftAlreadyClaimed
	NothingToIssue
	SameUnion
	MemberHasHolds
	ConfigOutdated
	InvalidOrder
	NotEligible
	InsufficientPoints
	SoldOut
	LimitExceeded
	PriceChanged
	NotListed
	UnknownOrder
	WrongOrderState
	LatePayment
	PaymentTimeout
	CheckoutTimeout
	Cancelled
	Uncollected
	NotHandedOut
	ReturnWindowClosed
	UnknownSKU
	InvalidSKU
	InvalidQuantity
	UnknownAward
	codeCount
)

var codeNames = [codeCount]string{
	OK: "ok", Exists: "exists", ExistsWithDifferentFields: "exists_with_different_fields",
	UnknownUnion: "unknown_union", UnknownMember: "unknown_member", UnknownProgram: "unknown_program",
	UnknownOfficer: "unknown_officer", InvalidAmount: "invalid_amount", InvalidWindow: "invalid_window",
	InvalidCategory: "invalid_category", InvalidGift: "invalid_gift", InvalidConfig: "invalid_config",
	InvalidID: "invalid_id", NotRegistered: "not_registered", AlreadyIssued: "already_issued",
	CapExceeded: "cap_exceeded", BudgetInsufficient: "budget_insufficient",
	ApprovalRequired: "approval_required", SameOfficer: "same_officer",
	OutsideCalendar: "outside_calendar", OutsideWindow: "outside_window",
	ProgramNotActive: "program_not_active", ProgramHasIssued: "program_has_issued",
	NotAGift: "not_a_gift", GiftAlreadyClaimed: "gift_already_claimed",
	NothingToIssue: "nothing_to_issue", SameUnion: "same_union", MemberHasHolds: "member_has_holds",
	ConfigOutdated: "config_outdated", InvalidOrder: "invalid_order", NotEligible: "not_eligible",
	InsufficientPoints: "insufficient_points", SoldOut: "sold_out", LimitExceeded: "limit_exceeded",
	PriceChanged: "price_changed", NotListed: "not_listed", UnknownOrder: "unknown_order",
	WrongOrderState: "wrong_order_state", LatePayment: "late_payment", PaymentTimeout: "payment_timeout",
	CheckoutTimeout: "checkout_timeout", Cancelled: "cancelled", Uncollected: "uncollected",
	NotHandedOut: "not_handed_out", ReturnWindowClosed: "return_window_closed", UnknownSKU: "unknown_sku",
	InvalidSKU: "invalid_sku", InvalidQuantity: "invalid_quantity", UnknownAward: "unknown_award",
}

func (c Code) String() string {
	if c >= codeCount {
		return "invalid_code"
	}
	return codeNames[c]
}

// Codes lists every code, for tests that must cover them all.
func Codes() []Code {
	all := make([]Code, codeCount)
	for i := range all {
		all[i] = Code(i)
	}
	return all
}

// Result is the outcome of one command.
type Result struct {
	Code Code
	// RoomLeftFen is, with cap_exceeded, what the cap still allows; with budget_insufficient,
	// what the budget has.
	RoomLeftFen int64
	// Ledger is the ledger's result, for FundUnion.
	Ledger ledger.Result
	// For Issue: the members issued, their total, and each refused member.
	IssuedCount int
	IssuedFen   int64
	Refused     []MemberResult
	// For orders: the order's state after the command, and why it ended if it did.
	Order     OrderState
	OrderCode Code
	// For ReverseAward: what was taken back, and what the member had already spent.
	TakenBackFen int64
	SpentFen     int64
	// OwedFen is held by open orders, and taken back as they are cancelled or returned.
	OwedFen int64
}

// MemberResult is the refusal of one member of an issuance.
type MemberResult struct {
	MemberID    MemberID
	Code        Code
	RoomLeftFen int64
}

// Outgoing is a message for another shard, which the runtime delivers after the batch is
// durable.
type Outgoing struct {
	ToShard uint32
	Payload []byte
}
