package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The binary form of events, as the journal stores them. Each event starts with its kind and a
// format version, so a journal written by older code replays under newer code: a decoder keeps
// reading every version it ever wrote.
const (
	eventFormatVersion = 1

	accountCreatedBytes  = 2 + 8 + 8 + 1 + 2 + 8
	transferCreatedBytes = 2 + 8*9 + 2 + 2
	pendingExpiredBytes  = 2 + 8 + 8
	balanceRecordedBytes = 2 + 8*7
)

// ErrBadEvent is wrapped by every decoding error.
var ErrBadEvent = errors.New("ledger: bad event encoding")

var le = binary.LittleEndian

// AppendEvent appends the binary form of e to dst.
func AppendEvent(dst []byte, e *Event) []byte {
	dst = append(dst, byte(e.Kind), eventFormatVersion)
	switch e.Kind {
	case EventAccountCreated:
		a := &e.Account
		dst = le.AppendUint64(dst, uint64(a.ID))
		dst = le.AppendUint64(dst, a.UserData)
		dst = append(dst, byte(a.Kind))
		dst = le.AppendUint16(dst, uint16(a.Flags))
		dst = le.AppendUint64(dst, uint64(a.TimestampNanos))
	case EventTransferCreated:
		t := &e.Transfer
		dst = le.AppendUint64(dst, uint64(t.ID))
		dst = le.AppendUint64(dst, uint64(t.DebitAccountID))
		dst = le.AppendUint64(dst, uint64(t.CreditAccountID))
		dst = le.AppendUint64(dst, uint64(t.AmountFen))
		dst = le.AppendUint64(dst, uint64(t.PendingID))
		dst = le.AppendUint64(dst, uint64(t.RefundOfID))
		dst = le.AppendUint64(dst, t.UserData)
		dst = le.AppendUint64(dst, uint64(t.DeadlineNanos))
		dst = le.AppendUint64(dst, uint64(t.TimestampNanos))
		dst = le.AppendUint16(dst, uint16(t.Code))
		dst = le.AppendUint16(dst, uint16(t.Flags))
	case EventPendingExpired:
		dst = le.AppendUint64(dst, uint64(e.Transfer.PendingID))
		dst = le.AppendUint64(dst, uint64(e.Transfer.TimestampNanos))
	case EventBalanceRecorded:
		a := &e.Account
		dst = le.AppendUint64(dst, uint64(a.ID))
		dst = le.AppendUint64(dst, uint64(e.Transfer.ID))
		dst = le.AppendUint64(dst, uint64(a.DebitsPendingFen))
		dst = le.AppendUint64(dst, uint64(a.DebitsPostedFen))
		dst = le.AppendUint64(dst, uint64(a.CreditsPendingFen))
		dst = le.AppendUint64(dst, uint64(a.CreditsPostedFen))
		dst = le.AppendUint64(dst, uint64(a.TimestampNanos))
	default:
		panic(fmt.Sprintf("ledger: cannot encode event kind %d", e.Kind))
	}
	return dst
}

// DecodeEvent decodes the event at the start of src and returns it with the number of bytes
// it took.
func DecodeEvent(src []byte) (Event, int, error) {
	if len(src) < 2 {
		return Event{}, 0, fmt.Errorf("%w: %d bytes, want a header", ErrBadEvent, len(src))
	}
	kind, version := EventKind(src[0]), src[1]
	if version != eventFormatVersion {
		return Event{}, 0, fmt.Errorf("%w: %s version %d is unknown", ErrBadEvent, kind, version)
	}
	var size int
	switch kind {
	case EventAccountCreated:
		size = accountCreatedBytes
	case EventTransferCreated:
		size = transferCreatedBytes
	case EventPendingExpired:
		size = pendingExpiredBytes
	case EventBalanceRecorded:
		size = balanceRecordedBytes
	default:
		return Event{}, 0, fmt.Errorf("%w: kind %d is unknown", ErrBadEvent, kind)
	}
	if len(src) < size {
		return Event{}, 0, fmt.Errorf("%w: %s needs %d bytes, has %d", ErrBadEvent, kind, size, len(src))
	}
	b := src[2:size]
	u64 := func() uint64 { v := le.Uint64(b); b = b[8:]; return v }
	u16 := func() uint16 { v := le.Uint16(b); b = b[2:]; return v }
	e := Event{Kind: kind}
	switch kind {
	case EventAccountCreated:
		a := &e.Account
		a.ID = AccountID(u64())
		a.UserData = u64()
		a.Kind = AccountKind(b[0])
		b = b[1:]
		a.Flags = AccountFlags(u16())
		a.TimestampNanos = int64(u64())
	case EventTransferCreated:
		t := &e.Transfer
		t.ID = TransferID(u64())
		t.DebitAccountID = AccountID(u64())
		t.CreditAccountID = AccountID(u64())
		t.AmountFen = int64(u64())
		t.PendingID = TransferID(u64())
		t.RefundOfID = TransferID(u64())
		t.UserData = u64()
		t.DeadlineNanos = int64(u64())
		t.TimestampNanos = int64(u64())
		t.Code = TransferCode(u16())
		t.Flags = TransferFlags(u16())
	case EventPendingExpired:
		e.Transfer.PendingID = TransferID(u64())
		e.Transfer.TimestampNanos = int64(u64())
	case EventBalanceRecorded:
		a := &e.Account
		a.ID = AccountID(u64())
		e.Transfer.ID = TransferID(u64())
		a.DebitsPendingFen = int64(u64())
		a.DebitsPostedFen = int64(u64())
		a.CreditsPendingFen = int64(u64())
		a.CreditsPostedFen = int64(u64())
		a.TimestampNanos = int64(u64())
	}
	return e, size, nil
}

// Snapshots: the whole decision state at a batch boundary, in a deterministic byte form
// (accounts and transfers in creation order), so two equal states give equal bytes.

const snapshotFormatVersion = 1

const transferRecordBytes = 8*8 + 2 + 2 + 1 + 1

// AppendSnapshot appends the ledger's state to dst.
func (l *Ledger) AppendSnapshot(dst []byte) []byte {
	dst = append(dst, snapshotFormatVersion)
	dst = le.AppendUint64(dst, uint64(l.accounts.len()))
	for i := 0; i < l.accounts.len(); i++ {
		a := l.accounts.at(int32(i))
		dst = le.AppendUint64(dst, uint64(a.ID))
		dst = le.AppendUint64(dst, a.UserData)
		dst = append(dst, byte(a.Kind))
		dst = le.AppendUint16(dst, uint16(a.Flags))
		for _, v := range [5]int64{a.DebitsPendingFen, a.DebitsPostedFen, a.CreditsPendingFen, a.CreditsPostedFen, a.TimestampNanos} {
			dst = le.AppendUint64(dst, uint64(v))
		}
	}
	// Transfers in the order they were created, which replay reproduces exactly.
	dst = le.AppendUint64(dst, uint64(l.transfers.len()))
	l.transfers.each(func(r *transferRecord) {
		id := r.id
		for _, v := range [8]uint64{uint64(id), uint64(r.debit), uint64(r.credit), uint64(r.amountFen),
			uint64(r.referenceID), r.userData, uint64(r.deadline), uint64(r.settledFen)} {
			dst = le.AppendUint64(dst, v)
		}
		dst = le.AppendUint16(dst, uint16(r.code))
		dst = le.AppendUint16(dst, uint16(r.flags))
		refund := byte(0)
		if r.refund {
			refund = 1
		}
		dst = append(dst, byte(r.state), refund)
	})
	return dst
}

// RestoreSnapshot rebuilds a ledger from the bytes of AppendSnapshot and returns it with the
// number of bytes read.
func RestoreSnapshot(src []byte) (*Ledger, int, error) {
	const accountBytes = 8 + 8 + 1 + 2 + 5*8
	bad := func(what string) (*Ledger, int, error) {
		return nil, 0, fmt.Errorf("%w: snapshot %s", ErrBadEvent, what)
	}
	if len(src) < 9 || src[0] != snapshotFormatVersion {
		return bad("header")
	}
	b := src[1:]
	n := le.Uint64(b)
	b = b[8:]
	if n > uint64(len(b))/accountBytes {
		return bad("account count")
	}
	l := New()
	for i := 0; i < int(n); i++ {
		var acc Account
		a := &acc
		a.ID = AccountID(le.Uint64(b))
		a.UserData = le.Uint64(b[8:])
		a.Kind = AccountKind(b[16])
		a.Flags = AccountFlags(le.Uint16(b[17:]))
		a.DebitsPendingFen = int64(le.Uint64(b[19:]))
		a.DebitsPostedFen = int64(le.Uint64(b[27:]))
		a.CreditsPendingFen = int64(le.Uint64(b[35:]))
		a.CreditsPostedFen = int64(le.Uint64(b[43:]))
		a.TimestampNanos = int64(le.Uint64(b[51:]))
		b = b[accountBytes:]
		if _, dup := l.accountPos(a.ID); dup {
			return bad("duplicate account")
		}
		l.addAccount(acc)
	}
	if len(b) < 8 {
		return bad("transfer count")
	}
	n = le.Uint64(b)
	b = b[8:]
	if n > uint64(len(b))/transferRecordBytes {
		return bad("transfer count")
	}
	for range n {
		id := TransferID(le.Uint64(b))
		r := transferRecord{
			debit: AccountID(le.Uint64(b[8:])), credit: AccountID(le.Uint64(b[16:])),
			amountFen: int64(le.Uint64(b[24:])), referenceID: TransferID(le.Uint64(b[32:])),
			userData: le.Uint64(b[40:]), deadline: int64(le.Uint64(b[48:])), settledFen: int64(le.Uint64(b[56:])),
			code: TransferCode(le.Uint16(b[64:])), flags: TransferFlags(le.Uint16(b[66:])),
			state: transferState(b[68]), refund: b[69] == 1,
		}
		b = b[transferRecordBytes:]
		if l.transfers.has(id) {
			return bad("duplicate transfer")
		}
		l.transfers.insert(id, r)
		if r.state == statePending && r.deadline != 0 {
			l.deadlines.Push(r.deadline, id)
		}
	}
	return l, len(src) - len(b), nil
}
