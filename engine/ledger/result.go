package ledger

// Result is the outcome of one command. Business outcomes are results, never errors: each
// command of a batch gets exactly one. The values are stable; the names are what the API and the
// scenario tests print.
type Result uint8

// Results shared by accounts and transfers come first, then account results, then transfer
// results, in the order in which the ledger checks them.
const (
	OK Result = iota
	LinkedEventFailed
	LinkedEventChainOpen
	IDMustNotBeZero
	FlagsInvalid
	BalancesMustBeZero
	TimestampMustBeZero
	Exists
	ExistsWithDifferentFlags
	ExistsWithDifferentUserData

	KindInvalid
	ExistsWithDifferentKind

	FlagsAreMutuallyExclusive
	DebitAccountIDMustNotBeZero
	CreditAccountIDMustNotBeZero
	AccountsMustBeDifferent
	PendingIDMustBeZero
	PendingIDMustNotBeZero
	PendingIDMustBeDifferent
	RefundOfIDMustBeDifferent
	CodeMustNotBeZero
	AmountMustNotBeNegative
	AmountMustBePositive
	DeadlineMustBeZero
	DeadlineMustBeInFuture
	ExistsWithDifferentDebitAccountID
	ExistsWithDifferentCreditAccountID
	ExistsWithDifferentAmount
	ExistsWithDifferentPendingID
	ExistsWithDifferentRefundOfID
	ExistsWithDifferentCode
	ExistsWithDifferentDeadline
	DebitAccountNotFound
	CreditAccountNotFound
	PendingTransferNotFound
	PendingTransferNotPending
	PendingTransferHasDifferentDebitAccountID
	PendingTransferHasDifferentCreditAccountID
	PendingTransferHasDifferentAmount
	ExceedsPendingTransferAmount
	PendingTransferAlreadyPosted
	PendingTransferAlreadyVoided
	PendingTransferExpired
	RefundOfNotFound
	RefundOfNotRefundable
	RefundOfStillPending
	RefundHasDifferentDebitAccountID
	RefundHasDifferentCreditAccountID
	ExceedsRefundableAmount
	OverflowsDebits
	OverflowsCredits
	ExceedsCredits
	IDReserved

	resultCount
)

var resultNames = [resultCount]string{
	OK:                                         "ok",
	LinkedEventFailed:                          "linked_event_failed",
	LinkedEventChainOpen:                       "linked_event_chain_open",
	IDMustNotBeZero:                            "id_must_not_be_zero",
	FlagsInvalid:                               "flags_invalid",
	BalancesMustBeZero:                         "balances_must_be_zero",
	TimestampMustBeZero:                        "timestamp_must_be_zero",
	Exists:                                     "exists",
	ExistsWithDifferentFlags:                   "exists_with_different_flags",
	ExistsWithDifferentUserData:                "exists_with_different_user_data",
	KindInvalid:                                "kind_invalid",
	ExistsWithDifferentKind:                    "exists_with_different_kind",
	FlagsAreMutuallyExclusive:                  "flags_are_mutually_exclusive",
	DebitAccountIDMustNotBeZero:                "debit_account_id_must_not_be_zero",
	CreditAccountIDMustNotBeZero:               "credit_account_id_must_not_be_zero",
	AccountsMustBeDifferent:                    "accounts_must_be_different",
	PendingIDMustBeZero:                        "pending_id_must_be_zero",
	PendingIDMustNotBeZero:                     "pending_id_must_not_be_zero",
	PendingIDMustBeDifferent:                   "pending_id_must_be_different",
	RefundOfIDMustBeDifferent:                  "refund_of_id_must_be_different",
	CodeMustNotBeZero:                          "code_must_not_be_zero",
	AmountMustNotBeNegative:                    "amount_must_not_be_negative",
	AmountMustBePositive:                       "amount_must_be_positive",
	DeadlineMustBeZero:                         "deadline_must_be_zero",
	DeadlineMustBeInFuture:                     "deadline_must_be_in_future",
	ExistsWithDifferentDebitAccountID:          "exists_with_different_debit_account_id",
	ExistsWithDifferentCreditAccountID:         "exists_with_different_credit_account_id",
	ExistsWithDifferentAmount:                  "exists_with_different_amount",
	ExistsWithDifferentPendingID:               "exists_with_different_pending_id",
	ExistsWithDifferentRefundOfID:              "exists_with_different_refund_of_id",
	ExistsWithDifferentCode:                    "exists_with_different_code",
	ExistsWithDifferentDeadline:                "exists_with_different_deadline",
	DebitAccountNotFound:                       "debit_account_not_found",
	CreditAccountNotFound:                      "credit_account_not_found",
	PendingTransferNotFound:                    "pending_transfer_not_found",
	PendingTransferNotPending:                  "pending_transfer_not_pending",
	PendingTransferHasDifferentDebitAccountID:  "pending_transfer_has_different_debit_account_id",
	PendingTransferHasDifferentCreditAccountID: "pending_transfer_has_different_credit_account_id",
	PendingTransferHasDifferentAmount:          "pending_transfer_has_different_amount",
	ExceedsPendingTransferAmount:               "exceeds_pending_transfer_amount",
	PendingTransferAlreadyPosted:               "pending_transfer_already_posted",
	PendingTransferAlreadyVoided:               "pending_transfer_already_voided",
	PendingTransferExpired:                     "pending_transfer_expired",
	RefundOfNotFound:                           "refund_of_not_found",
	RefundOfNotRefundable:                      "refund_of_not_refundable",
	RefundOfStillPending:                       "refund_of_still_pending",
	RefundHasDifferentDebitAccountID:           "refund_has_different_debit_account_id",
	RefundHasDifferentCreditAccountID:          "refund_has_different_credit_account_id",
	ExceedsRefundableAmount:                    "exceeds_refundable_amount",
	OverflowsDebits:                            "overflows_debits",
	OverflowsCredits:                           "overflows_credits",
	ExceedsCredits:                             "exceeds_credits",
	IDReserved:                                 "id_reserved",
}

func (r Result) String() string {
	if r >= resultCount {
		return "invalid_result"
	}
	return resultNames[r]
}

// ParseResult returns the result named s.
func ParseResult(s string) (Result, bool) {
	for r := Result(0); r < resultCount; r++ {
		if resultNames[r] == s {
			return r, true
		}
	}
	return 0, false
}

// Results returns every result, for tests that must cover them all.
func Results() []Result {
	all := make([]Result, resultCount)
	for r := range all {
		all[r] = Result(r)
	}
	return all
}

// IsExistsWithDifferent reports whether r says the id exists with some field different.
func (r Result) IsExistsWithDifferent() bool {
	switch r {
	case ExistsWithDifferentFlags, ExistsWithDifferentUserData, ExistsWithDifferentKind,
		ExistsWithDifferentDebitAccountID, ExistsWithDifferentCreditAccountID, ExistsWithDifferentAmount,
		ExistsWithDifferentPendingID, ExistsWithDifferentRefundOfID, ExistsWithDifferentCode,
		ExistsWithDifferentDeadline:
		return true
	}
	return false
}
