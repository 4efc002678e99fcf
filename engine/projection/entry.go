package projection

import (
	"encoding/binary"
	"fmt"

	"huigong/engine/ledger"
)

// EntryKind says what an entry records.
type EntryKind uint8

const (
	// EntryTransfer is a transfer that debits or credits the account: a single-phase transfer,
	// a pending hold, a post or a void of one, a refund.
	EntryTransfer EntryKind = 1
	// EntryPendingExpired records that the ledger voided the pending transfer TransferID at its
	// deadline: its hold on the account is released.
	EntryPendingExpired EntryKind = 2
)

func (k EntryKind) String() string {
	switch k {
	case EntryTransfer:
		return "transfer"
	case EntryPendingExpired:
		return "pending_expired"
	}
	return "invalid"
}

// Entry is one line of an account's history.
//
// AmountFen is signed by the account's side of the transfer: positive where the account is the
// credit account, negative where it is the debit account, whatever the mechanics. Flags and Kind
// say the mechanics: a pending hold (ledger.Pending) moves nothing posted yet, a post
// (ledger.PostPending) moves AmountFen, a void (ledger.VoidPending) or an expiry releases the
// hold of PendingID.
type Entry struct {
	LSN            uint64 // the journal record the entry was projected from
	Kind           EntryKind
	TransferID     ledger.TransferID // for an expiry, the pending transfer that expired
	OtherAccountID ledger.AccountID  // the transfer's account on the other side
	AmountFen      int64
	Code           ledger.TransferCode
	Flags          ledger.TransferFlags
	PendingID      ledger.TransferID // the pending transfer a post, void or expiry closes
	RefundOfID     ledger.TransferID // the transfer a refund refunds
	UserData       uint64
	TimeNanos      int64 // batch time of the decision

	// HasBalance says the balance fields are set: the ledger records them, right after the
	// transfer or expiry, only for accounts flagged ledger.AccountHistory.
	HasBalance        bool
	DebitsPendingFen  int64
	DebitsPostedFen   int64
	CreditsPendingFen int64
	CreditsPostedFen  int64
}

// BalanceFen is posted credits less posted debits after the entry; meaningful when HasBalance.
func (e *Entry) BalanceFen() int64 { return e.CreditsPostedFen - e.DebitsPostedFen }

// Key layout of the entries bucket: big-endian so that bytes sort as the numbers do.
const (
	accountPrefixBytes = 4 + 8
	entryKeyBytes      = accountPrefixBytes + 8 + 4
	pendingKeyBytes    = 4 + 8
)

var be = binary.BigEndian

func accountPrefix(shard uint32, account ledger.AccountID) [accountPrefixBytes]byte {
	var p [accountPrefixBytes]byte
	be.PutUint32(p[0:], shard)
	be.PutUint64(p[4:], uint64(account))
	return p
}

func entryKey(shard uint32, account ledger.AccountID, lsn uint64, position uint32) [entryKeyBytes]byte {
	var k [entryKeyBytes]byte
	be.PutUint32(k[0:], shard)
	be.PutUint64(k[4:], uint64(account))
	be.PutUint64(k[12:], lsn)
	be.PutUint32(k[20:], position)
	return k
}

func pendingKey(shard uint32, id ledger.TransferID) [pendingKeyBytes]byte {
	var k [pendingKeyBytes]byte
	be.PutUint32(k[0:], shard)
	be.PutUint64(k[4:], uint64(id))
	return k
}

// The value of an entry, little-endian like the journal's formats; the balances follow only
// when the entry has them.
const (
	entryFormatVersion = 1
	entryValueBytes    = 1 + 1 + 8 + 8 + 8 + 2 + 2 + 8 + 8 + 8 + 8 + 1
	entryBalanceBytes  = 4 * 8
)

var le = binary.LittleEndian

func appendEntryValue(dst []byte, e *Entry) []byte {
	dst = append(dst, entryFormatVersion, byte(e.Kind))
	dst = le.AppendUint64(dst, uint64(e.TransferID))
	dst = le.AppendUint64(dst, uint64(e.OtherAccountID))
	dst = le.AppendUint64(dst, uint64(e.AmountFen))
	dst = le.AppendUint16(dst, uint16(e.Code))
	dst = le.AppendUint16(dst, uint16(e.Flags))
	dst = le.AppendUint64(dst, uint64(e.PendingID))
	dst = le.AppendUint64(dst, uint64(e.RefundOfID))
	dst = le.AppendUint64(dst, e.UserData)
	dst = le.AppendUint64(dst, uint64(e.TimeNanos))
	if !e.HasBalance {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	for _, v := range [4]int64{e.DebitsPendingFen, e.DebitsPostedFen, e.CreditsPendingFen, e.CreditsPostedFen} {
		dst = le.AppendUint64(dst, uint64(v))
	}
	return dst
}

func decodeEntry(key, value []byte) (Entry, error) {
	if len(key) != entryKeyBytes || len(value) < entryValueBytes || value[0] != entryFormatVersion {
		return Entry{}, fmt.Errorf("%w: entry of %d key bytes, %d value bytes", ErrCorrupt, len(key), len(value))
	}
	e := Entry{LSN: be.Uint64(key[12:]), Kind: EntryKind(value[1])}
	b := value[2:]
	u64 := func() uint64 { v := le.Uint64(b); b = b[8:]; return v }
	u16 := func() uint16 { v := le.Uint16(b); b = b[2:]; return v }
	e.TransferID = ledger.TransferID(u64())
	e.OtherAccountID = ledger.AccountID(u64())
	e.AmountFen = int64(u64())
	e.Code = ledger.TransferCode(u16())
	e.Flags = ledger.TransferFlags(u16())
	e.PendingID = ledger.TransferID(u64())
	e.RefundOfID = ledger.TransferID(u64())
	e.UserData = u64()
	e.TimeNanos = int64(u64())
	e.HasBalance = b[0] == 1
	b = b[1:]
	switch {
	case !e.HasBalance && len(b) == 0:
	case e.HasBalance && len(b) == entryBalanceBytes:
		e.DebitsPendingFen = int64(u64())
		e.DebitsPostedFen = int64(u64())
		e.CreditsPendingFen = int64(u64())
		e.CreditsPostedFen = int64(u64())
	default:
		return Entry{}, fmt.Errorf("%w: entry value of %d bytes", ErrCorrupt, len(value))
	}
	return e, nil
}

// openPending is what the pending bucket keeps of an open pending transfer with a deadline.
type openPending struct {
	debit, credit ledger.AccountID
	amountFen     int64
	userData      uint64
	code          ledger.TransferCode
}

const openPendingBytes = 8 + 8 + 8 + 8 + 2

func appendOpenPending(dst []byte, p *openPending) []byte {
	dst = le.AppendUint64(dst, uint64(p.debit))
	dst = le.AppendUint64(dst, uint64(p.credit))
	dst = le.AppendUint64(dst, uint64(p.amountFen))
	dst = le.AppendUint64(dst, p.userData)
	return le.AppendUint16(dst, uint16(p.code))
}

func decodeOpenPending(v []byte) (openPending, error) {
	if len(v) != openPendingBytes {
		return openPending{}, fmt.Errorf("%w: pending value of %d bytes", ErrCorrupt, len(v))
	}
	return openPending{
		debit: ledger.AccountID(le.Uint64(v)), credit: ledger.AccountID(le.Uint64(v[8:])),
		amountFen: int64(le.Uint64(v[16:])), userData: le.Uint64(v[24:]), code: ledger.TransferCode(le.Uint16(v[32:])),
	}, nil
}
