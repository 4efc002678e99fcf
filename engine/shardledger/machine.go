package shardledger

import (
	"encoding/binary"
	"fmt"

	"huigong/engine/ledger"
	"huigong/engine/runtime"
)

// InTransitAccountID is the id of a shard's in-transit account, in the ledger's reserved range.
func InTransitAccountID(shard uint32) ledger.AccountID {
	return ledger.AccountID(ledger.ReservedIDMin | uint64(shard))
}

// The legs of a move take the move's id with a reserved bit set, so they never collide with
// client ids on the shard where they run.
const (
	inLegBit   = 1 << 63
	backLegBit = 1 << 62
)

// InLegID is the id of a move's transfer on the target shard.
func InLegID(id ledger.TransferID) ledger.TransferID { return id | inLegBit }

// BackLegID is the id of the transfer that returns a refused move to its source account.
func BackLegID(id ledger.TransferID) ledger.TransferID { return id | backLegBit }

// CommandKind selects the part of a Command that is read.
type CommandKind uint8

const (
	// LedgerCommand passes Ledger to the shard's ledger.
	LedgerCommand CommandKind = 1
	// MoveCommand starts the move in Move.
	MoveCommand CommandKind = 2
)

// Command is one request to a shard.
type Command struct {
	Kind   CommandKind
	Ledger ledger.Command
	Move   Move
}

// Move asks to move AmountFen from an account on this shard to an account on shard ToShard.
// Flags may carry ledger.Linked, to chain the move's first leg with the next command.
type Move struct {
	ID            ledger.TransferID
	FromAccountID ledger.AccountID
	ToShard       uint32
	ToAccountID   ledger.AccountID
	AmountFen     int64
	UserData      uint64
	Flags         ledger.TransferFlags
}

// Result is the ledger's result for the command; for a move, the result of its first leg.
type Result = ledger.Result

// Message kinds between shards.
const (
	messageMoveIn   = 1
	messageMoveBack = 2
	messageBytes    = 1 + 8 + 8 + 8 + 8 + 8 + 4
)

// move message: kind, id, from account, to account, amount, user data, from shard.
func appendMoveMessage(dst []byte, kind byte, m *Move, fromShard uint32) []byte {
	dst = append(dst, kind)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(m.ID))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(m.FromAccountID))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(m.ToAccountID))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(m.AmountFen))
	dst = binary.LittleEndian.AppendUint64(dst, m.UserData)
	dst = binary.LittleEndian.AppendUint32(dst, fromShard)
	return dst
}

func decodeMoveMessage(src []byte) (kind byte, m Move, fromShard uint32, err error) {
	if len(src) != messageBytes {
		return 0, Move{}, 0, fmt.Errorf("shardledger: message of %d bytes, want %d", len(src), messageBytes)
	}
	le := binary.LittleEndian
	kind = src[0]
	m = Move{
		ID: ledger.TransferID(le.Uint64(src[1:])), FromAccountID: ledger.AccountID(le.Uint64(src[9:])),
		ToAccountID: ledger.AccountID(le.Uint64(src[17:])), AmountFen: int64(le.Uint64(src[25:])),
		UserData: le.Uint64(src[33:]),
	}
	return kind, m, le.Uint32(src[41:]), nil
}

// Machine is one shard's ledger on the runtime.
type Machine struct {
	shard   uint32
	ledger  *ledger.Ledger
	cmds    []ledger.Command
	events  []ledger.Event
	one     [1]ledger.Result
	message []byte
}

var _ runtime.Machine[Command, Result] = (*Machine)(nil)

// New returns the machine of a shard, with its in-transit account.
func New(shard uint32) *Machine {
	m := &Machine{shard: shard, ledger: ledger.New()}
	m.ledger.Apply(&ledger.Event{Kind: ledger.EventAccountCreated, Account: ledger.Account{
		ID: InTransitAccountID(shard), Kind: ledger.KindInTransit, UserData: uint64(shard),
	}})
	return m
}

// Ledger gives read access to the shard's ledger, for queries between batches.
func (m *Machine) Ledger() *ledger.Ledger { return m.ledger }

func (m *Machine) Tick(b *runtime.Batch) {
	m.events = m.ledger.Execute(b.NowNanos, nil, nil, m.events[:0])
	m.emit(b)
}

func (m *Machine) Execute(b *runtime.Batch, cmds []Command, results []Result) {
	m.cmds = m.cmds[:0]
	for i := range cmds {
		c := &cmds[i]
		switch c.Kind {
		case MoveCommand:
			mv := &c.Move
			if mv.ToShard >= b.ShardsCount {
				// No such shard: a transfer that the ledger refuses keeps a linked chain's
				// outcome right, and the result is corrected to credit_account_not_found.
				m.cmds = append(m.cmds, ledger.TransferCommand(ledger.Transfer{ID: mv.ID, Flags: mv.Flags & ledger.Linked}))
				continue
			}
			m.cmds = append(m.cmds, ledger.TransferCommand(ledger.Transfer{
				ID: mv.ID, DebitAccountID: mv.FromAccountID, CreditAccountID: InTransitAccountID(m.shard),
				AmountFen: mv.AmountFen, UserData: mv.UserData, Code: ledger.CodeMove, Flags: mv.Flags & ledger.Linked,
			}))
		default:
			m.cmds = append(m.cmds, c.Ledger)
			m.cmds[len(m.cmds)-1].Engine = false
		}
	}
	m.events = m.ledger.Execute(b.NowNanos, m.cmds, results, m.events[:0])
	m.emit(b)
	for i := range cmds {
		if cmds[i].Kind == MoveCommand && cmds[i].Move.ToShard >= b.ShardsCount && results[i] != ledger.LinkedEventFailed {
			// Decided as a transfer to nowhere (below): the account it names cannot exist.
			results[i] = ledger.CreditAccountNotFound
		}
	}
	for i := range cmds {
		if cmds[i].Kind == MoveCommand && results[i] == ledger.OK {
			mv := &cmds[i].Move
			m.message = appendMoveMessage(m.message[:0], messageMoveIn, mv, m.shard)
			b.Send(mv.ToShard, m.message)
		}
	}
}

func (m *Machine) Receive(b *runtime.Batch, from uint32, payload []byte) {
	kind, mv, fromShard, err := decodeMoveMessage(payload)
	if err != nil {
		panic(err) // Messages come only from machines of this package, through the journal.
	}
	t := ledger.Transfer{
		DebitAccountID: InTransitAccountID(m.shard), AmountFen: mv.AmountFen,
		UserData: mv.UserData, Code: ledger.CodeMove,
	}
	switch kind {
	case messageMoveIn:
		t.ID, t.CreditAccountID = InLegID(mv.ID), mv.ToAccountID
	case messageMoveBack:
		t.ID, t.CreditAccountID = BackLegID(mv.ID), mv.FromAccountID
	default:
		panic(fmt.Sprintf("shardledger: message kind %d", kind))
	}
	m.cmds = append(m.cmds[:0], ledger.Command{Kind: ledger.CreateTransfer, Transfer: t, Engine: true})
	m.events = m.ledger.Execute(b.NowNanos, m.cmds, m.one[:], m.events[:0])
	m.emit(b)
	if kind == messageMoveIn && m.one[0] != ledger.OK {
		// The target refused the points: send them back to where they came from. Exists too
		// is a refusal: the runtime applies each message once, so an in-leg already there was
		// made by another move with the same id (from another shard), not by this one.
		m.message = appendMoveMessage(m.message[:0], messageMoveBack, &mv, fromShard)
		b.Send(fromShard, m.message)
	}
	// A back leg credits the account the points left, which exists and takes credits, so it
	// cannot be refused; CheckInvariants would show in-transit value left behind.
}

func (m *Machine) emit(b *runtime.Batch) {
	for i := range m.events {
		b.Events = ledger.AppendEvent(b.Events, &m.events[i])
	}
}

func (m *Machine) Apply(events []byte) error {
	for len(events) > 0 {
		e, n, err := ledger.DecodeEvent(events)
		if err != nil {
			return err
		}
		m.ledger.Apply(&e)
		events = events[n:]
	}
	return nil
}

func (m *Machine) NextDeadlineNanos() (int64, bool) { return m.ledger.NextDeadlineNanos() }

func (m *Machine) AppendSnapshot(dst []byte) []byte { return m.ledger.AppendSnapshot(dst) }

func (m *Machine) Restore(src []byte) error {
	l, n, err := ledger.RestoreSnapshot(src)
	if err != nil {
		return err
	}
	if n != len(src) {
		return fmt.Errorf("shardledger: %d bytes after the snapshot", len(src)-n)
	}
	m.ledger = l
	return nil
}

func (m *Machine) CheckInvariants() error { return m.ledger.CheckInvariants() }
