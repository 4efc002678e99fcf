package welfare

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"huigong/engine/ledger"
	"huigong/engine/stock"
)

// Output collects what a batch decided: the encoded events, and messages for other shards.
type Output struct {
	Events   []byte
	Outgoing []Outgoing
	// Notes are for the edge, once the batch is durable; they are not journaled.
	Notes []OrderNote
	// arena holds the payloads of Outgoing; Reset reuses it.
	arena []byte
}

// Reset empties the output. Payloads of Outgoing are invalid afterwards.
func (o *Output) Reset() {
	o.Events = o.Events[:0]
	o.Outgoing = o.Outgoing[:0]
	o.Notes = o.Notes[:0]
	o.arena = o.arena[:0]
}

// decider is the working set of one call: the state, the batch time and the output.
type decider struct {
	s   *State
	now int64
	out *Output
	one [1]ledger.Result
}

// Execute decides cmds in order at batch time nowNanos and writes one result per command.
func (s *State) Execute(nowNanos int64, cmds []Command, results []Result, out *Output) {
	if len(results) != len(cmds) {
		panic(fmt.Sprintf("welfare: %d results for %d commands", len(results), len(cmds)))
	}
	d := decider{s: s, now: nowNanos, out: out}
	for i := range cmds {
		results[i] = d.decide(&cmds[i])
	}
}

// Tick expires the programs whose window has ended and runs the ledger's own deadlines.
func (s *State) Tick(nowNanos int64, out *Output) {
	d := decider{s: s, now: nowNanos, out: out}
	s.ledgerEv = s.ledger.Execute(nowNanos, nil, nil, s.ledgerEv[:0])
	d.emitLedger()
	for e, ok := s.expiries.Peek(); ok && e.At <= nowNanos; e, ok = s.expiries.Peek() {
		s.expiries.Pop()
		p, ok := s.programs[e.ID]
		if !ok || p.Status != ProgramActive || p.ToNanos != e.At {
			continue
		}
		d.closeProgram(p, ProgramExpired, 0)
	}
	d.tickOrders()
}

// NextDeadlineNanos is the earliest program expiry or ledger deadline.
func (s *State) NextDeadlineNanos() (int64, bool) {
	next, ok := s.ledger.NextDeadlineNanos()
	if at, due := s.orders.nextDeadline(); due && (!ok || at < next) {
		next, ok = at, true
	}
	for s.expiries.Len() > 0 {
		e, _ := s.expiries.Peek()
		if p, live := s.programs[e.ID]; live && p.Status == ProgramActive && p.ToNanos == e.At {
			if !ok || e.At < next {
				next, ok = e.At, true
			}
			break
		}
		s.expiries.Pop()
	}
	return next, ok
}

func (d *decider) emit(e Event) {
	d.s.apply(&e)
	d.out.Events = AppendEvent(d.out.Events, &e)
}

func (d *decider) emitLedger() {
	for i := range d.s.ledgerEv {
		d.out.Events = ledger.AppendEvent(d.out.Events, &d.s.ledgerEv[i])
	}
	d.s.ledgerEv = d.s.ledgerEv[:0]
}

// engine runs one ledger command the decider made and checked; a refusal is a bug.
func (d *decider) engine(c ledger.Command) {
	c.Engine = true
	d.s.ledgerEv = d.s.ledger.Execute(d.now, []ledger.Command{c}, d.one[:], d.s.ledgerEv[:0])
	if d.one[0] != ledger.OK {
		panic(fmt.Sprintf("welfare: ledger refused the decider's own %+v: %v", c, d.one[0]))
	}
	d.emitLedger()
}

func (d *decider) newID() uint64 {
	id := d.s.nextID
	d.s.nextID++
	return id
}

func (d *decider) transfer(debit, credit ledger.AccountID, amountFen int64, code ledger.TransferCode, userData uint64) {
	d.engine(ledger.TransferCommand(ledger.Transfer{
		ID: ledger.TransferID(d.newID()), DebitAccountID: debit, CreditAccountID: credit,
		AmountFen: amountFen, Code: code, UserData: userData,
	}))
}

func (d *decider) openAccount(kind ledger.AccountKind, flags ledger.AccountFlags, owner uint64) ledger.AccountID {
	id := ledger.AccountID(d.newID())
	d.engine(ledger.AccountCommand(ledger.Account{ID: id, Kind: kind, Flags: flags, UserData: owner}))
	return id
}

func (d *decider) decide(c *Command) Result {
	switch c.Kind {
	case SetConfig:
		return d.setConfig(c.Config, true)
	case CreateUnion:
		return d.createUnion(&c.Union)
	case AddOfficer:
		return d.addOfficer(c.UnionID, c.Officer)
	case RegisterMember:
		return d.registerMember(c)
	case FundUnion:
		return d.fundUnion(c)
	case CreateProgram:
		return d.createProgram(&c.Program, c.Officer)
	case ApproveProgram:
		return d.approveProgram(c.ProgramID, c.Officer)
	case Issue:
		return d.issue(c)
	case RevokeProgram:
		return d.revokeProgram(c.ProgramID, c.Officer)
	case ClaimGift:
		return d.claimGift(c)
	case MoveMember:
		return d.moveMember(c)
	case SetPickupPoint:
		if c.PickupPoint.ID == 0 {
			return Result{Code: InvalidID}
		}
		pp := c.PickupPoint
		d.emit(Event{Kind: EventPickupPointSet, PickupPoint: &pp})
		return Result{}
	case SetMerchant:
		if c.Merchant.ID == 0 {
			return Result{Code: InvalidID}
		}
		m := c.Merchant
		d.emit(Event{Kind: EventMerchantSet, Merchant: &m})
		return Result{}
	case PlaceOrder:
		return d.placeOrder(c)
	case ConfirmPayment:
		return d.confirmPayment(c)
	case CancelOrder:
		return d.cancelOrder(c)
	case ShipOrder:
		return d.advance(c, OrderPlaced, OrderShipped)
	case ArriveOrder:
		return d.advance(c, OrderShipped, OrderReady)
	case HandOutOrder:
		return d.advance(c, OrderReady, OrderHandedOut)
	case ReturnOrder:
		return d.returnOrder(c)
	case SetSKU:
		return Result{Code: fromStock(d.s.stock.SetSKU(c.SKU, d.stockEmitter()))}
	case ReceiveStock:
		return Result{Code: fromStock(d.s.stock.Receive(c.SKU.ID, c.Quantity, d.stockEmitter()))}
	case RestockSKU:
		return Result{Code: fromStock(d.s.stock.Restock(c.SKU.ID, c.Quantity, d.stockEmitter()))}
	case AwardPoints:
		return d.award(c)
	case ReverseAward:
		return d.reverseAward(c)
	case UpdateProgram:
		return d.updateProgram(&c.Program, c.Officer)
	case AddFederationOfficer:
		if c.Officer == 0 {
			return Result{Code: InvalidID}
		}
		if slices.Contains(d.s.federationOfficers, c.Officer) {
			return Result{Code: Exists}
		}
		d.emit(Event{Kind: EventFederationOfficerAdded, Officer: c.Officer})
		return Result{}
	}
	panic(fmt.Sprintf("welfare: unknown command kind %d", c.Kind))
}

func (d *decider) setConfig(cfg *Config, broadcast bool) Result {
	if cfg == nil || cfg.ApprovalThresholdFen < 0 {
		return Result{Code: InvalidConfig}
	}
	for _, f := range cfg.Festivals {
		if f.FromDay > f.ToDay || f.Name == "" {
			return Result{Code: InvalidConfig}
		}
	}
	switch {
	case cfg.Version == d.s.config.Version && !sameConfig(cfg, &d.s.config):
		// Another setting under the version in force: answering exists would let the caller
		// believe it took effect.
		return Result{Code: ExistsWithDifferentFields}
	case cfg.Version == d.s.config.Version:
		return Result{Code: Exists}
	case cfg.Version < d.s.config.Version:
		return Result{Code: ConfigOutdated}
	}
	c := *cfg
	c.Festivals = slices.Clone(cfg.Festivals)
	d.emit(Event{Kind: EventConfigSet, Config: &c})
	if broadcast {
		payload := appendMessage(nil, messageConfig, &c)
		for shard := uint32(0); shard < d.s.shardsCount; shard++ {
			if shard != d.s.shard {
				d.out.Outgoing = append(d.out.Outgoing, Outgoing{ToShard: shard, Payload: payload})
			}
		}
	}
	return Result{}
}

// sameConfig compares two configurations by their encoding, which covers every field.
func sameConfig(a, b *Config) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

func (d *decider) createUnion(u *Union) Result {
	if u.ID == 0 {
		return Result{Code: InvalidID}
	}
	if e, ok := d.s.unions[u.ID]; ok {
		if e.Name == u.Name && e.ParentID == u.ParentID {
			return Result{Code: Exists}
		}
		return Result{Code: ExistsWithDifferentFields}
	}
	nu := Union{ID: u.ID, ParentID: u.ParentID, Name: u.Name}
	// No history flag: an issuance to a whole county would journal a balance record per member.
	// The budget's running balance is the running sum of its entries in the journal's projection.
	nu.BudgetAccountID = d.openAccount(ledger.KindUnionBudget, ledger.AccountNoOverdraft, uint64(u.ID))
	d.emit(Event{Kind: EventUnionCreated, Union: &nu})
	for _, o := range u.Officers {
		d.addOfficer(u.ID, o)
	}
	return Result{}
}

func (d *decider) addOfficer(union UnionID, officer OfficerID) Result {
	u, ok := d.s.unions[union]
	switch {
	case !ok:
		return Result{Code: UnknownUnion}
	case officer == 0:
		return Result{Code: InvalidID}
	case slices.Contains(u.Officers, officer):
		return Result{Code: Exists}
	}
	d.emit(Event{Kind: EventOfficerAdded, UnionID: union, Officer: officer})
	return Result{}
}

func (d *decider) registerMember(c *Command) Result {
	if c.MemberID == 0 {
		return Result{Code: InvalidID}
	}
	if _, ok := d.s.unions[c.UnionID]; !ok {
		return Result{Code: UnknownUnion}
	}
	if m, ok := d.s.members[c.MemberID]; ok {
		if m.UnionID != c.UnionID {
			return Result{Code: ExistsWithDifferentFields} // A change of union is a move.
		}
		if m.Registered == c.Registered && m.DuesPaid == c.DuesPaid {
			return Result{Code: Exists}
		}
	}
	d.emit(Event{Kind: EventMemberRegistered, MemberID: c.MemberID, UnionID: c.UnionID, Registered: c.Registered, DuesPaid: c.DuesPaid})
	return Result{}
}

func (d *decider) fundUnion(c *Command) Result {
	u, ok := d.s.unions[c.UnionID]
	if !ok {
		return Result{Code: UnknownUnion}
	}
	if c.AmountFen <= 0 {
		return Result{Code: InvalidAmount}
	}
	d.s.ledgerEv = d.s.ledger.Execute(d.now, []ledger.Command{ledger.TransferCommand(ledger.Transfer{
		ID: c.TransferID, DebitAccountID: FundingAccountID(d.s.shard), CreditAccountID: u.BudgetAccountID,
		AmountFen: c.AmountFen, Code: ledger.CodeFund, UserData: uint64(c.UnionID),
	})}, d.one[:], d.s.ledgerEv[:0])
	d.emitLedger()
	r := Result{Ledger: d.one[0]}
	switch d.one[0] {
	case ledger.OK:
	case ledger.Exists:
		r.Code = Exists
	case ledger.IDMustNotBeZero, ledger.IDReserved:
		r.Code = InvalidID
	default:
		if d.one[0].IsExistsWithDifferent() {
			r.Code = ExistsWithDifferentFields
		} else {
			r.Code = InvalidAmount
		}
	}
	return r
}

func (d *decider) isOfficer(u *Union, officer OfficerID) bool {
	return officer != 0 && slices.Contains(u.Officers, officer)
}

func (d *decider) createProgram(p *Program, officer OfficerID) Result {
	u, ok := d.s.unions[p.UnionID]
	switch {
	case p.ID == 0:
		return Result{Code: InvalidID}
	case !ok:
		return Result{Code: UnknownUnion}
	case !d.isOfficer(u, officer):
		return Result{Code: UnknownOfficer}
	}
	if e, ok := d.s.programs[p.ID]; ok {
		if e.UnionID == p.UnionID && e.Name == p.Name && e.Category == p.Category &&
			e.AmountPerMemberFen == p.AmountPerMemberFen && e.FromNanos == p.FromNanos && e.ToNanos == p.ToNanos {
			return Result{Code: Exists}
		}
		return Result{Code: ExistsWithDifferentFields}
	}
	if p.Category == 0 || p.Category > categoryLast {
		return Result{Code: InvalidCategory}
	}
	if code := d.checkTerms(p.Category, p); code != OK {
		return Result{Code: code}
	}
	if g := p.Gift; g != nil {
		if g.Choose < 1 || g.Choose > len(g.Options) {
			return Result{Code: InvalidGift}
		}
		for i, o := range g.Options {
			if o == 0 || slices.Contains(g.Options[:i], o) {
				return Result{Code: InvalidGift}
			}
		}
	}
	np := Program{
		ID: p.ID, UnionID: p.UnionID, Name: p.Name, Category: p.Category, AmountPerMemberFen: p.AmountPerMemberFen,
		FromNanos: p.FromNanos, ToNanos: p.ToNanos, Status: ProgramActive, CreatedBy: officer, OwnerShard: d.s.shard,
		Whitelist: p.Whitelist.clone(),
	}
	if p.Gift != nil {
		np.Gift = &Gift{Choose: p.Gift.Choose, Options: slices.Clone(p.Gift.Options)}
	}
	d.emit(Event{Kind: EventProgramCreated, Program: &np})
	return Result{}
}

// ownProgram returns a program this shard's union owns.
func (d *decider) ownProgram(id ProgramID) (*Program, *Union, Result) {
	p, ok := d.s.programs[id]
	if !ok || p.OwnerShard != d.s.shard {
		return nil, nil, Result{Code: UnknownProgram}
	}
	return p, d.s.unions[p.UnionID], Result{}
}

func (d *decider) approveProgram(id ProgramID, officer OfficerID) Result {
	p, u, r := d.ownProgram(id)
	switch {
	case p == nil:
		return r
	case !d.isOfficer(u, officer):
		return Result{Code: UnknownOfficer}
	case p.ApprovedBy == officer:
		return Result{Code: Exists}
	case p.Status != ProgramActive:
		return Result{Code: ProgramNotActive}
	case officer == p.CreatedBy:
		return Result{Code: SameOfficer}
	case p.ApprovedBy != 0:
		return Result{Code: ExistsWithDifferentFields}
	}
	d.emit(Event{Kind: EventProgramApproved, ProgramID: id, Officer: officer})
	return Result{}
}

// issuedBytesPerGrant is about what one member's grant adds to the journal.
const issuedBytesPerGrant = 192

func (d *decider) issue(c *Command) Result {
	p, u, r := d.ownProgram(c.ProgramID)
	switch {
	case p == nil:
		return r
	case !d.isOfficer(u, c.Officer):
		return Result{Code: UnknownOfficer}
	case p.Status != ProgramActive:
		return Result{Code: ProgramNotActive}
	case d.now >= p.ToNanos:
		return Result{Code: OutsideWindow}
	case len(c.Amounts) > 0 && len(c.Amounts) != len(c.Members):
		return Result{Code: InvalidAmount}
	case len(c.Amounts) == 0 && p.AmountPerMemberFen <= 0:
		return Result{Code: InvalidAmount}
	}
	for _, a := range c.Amounts {
		if a <= 0 || a > 1<<53 {
			return Result{Code: InvalidAmount}
		}
	}
	members := c.Members
	if len(members) == 0 {
		members = d.s.UnionMembers(u.ID)
	}
	year := YearOf(d.now)
	capFen := d.s.config.CapsFen[p.Category]
	type grant struct {
		member    *Member
		amountFen int64
	}
	grants := make([]grant, 0, len(members))
	var refused []MemberResult
	// A listed member may be listed twice; the union's own list, when issuing to all, has each
	// member once and needs no map of thousands of entries.
	var seen map[MemberID]struct{}
	if len(c.Members) > 0 {
		seen = make(map[MemberID]struct{}, len(members))
	}
	var totalFen int64
	for i, id := range members {
		amountFen := p.AmountPerMemberFen
		if len(c.Amounts) > 0 {
			amountFen = c.Amounts[i]
		}
		m, ok := d.s.members[id]
		_, dup := seen[id]
		if seen != nil {
			seen[id] = struct{}{}
		}
		switch {
		case !ok || m.UnionID != u.ID || !m.Registered || !m.DuesPaid:
			if len(c.Members) > 0 { // Unregistered members are skipped silently when issuing to all.
				refused = append(refused, MemberResult{MemberID: id, Code: NotRegistered})
			}
			continue
		case dup:
			refused = append(refused, MemberResult{MemberID: id, Code: AlreadyIssued})
			continue
		}
		if _, held := m.Holding(p.ID); held {
			refused = append(refused, MemberResult{MemberID: id, Code: AlreadyIssued})
			continue
		}
		if capFen >= 0 {
			// Compared as room left, so that a huge amount cannot wrap around past the cap.
			if counted := m.CountedFen(p.Category, year); amountFen > capFen-counted {
				refused = append(refused, MemberResult{MemberID: id, Code: CapExceeded, RoomLeftFen: max(0, capFen-counted)})
				continue
			}
		}
		grants = append(grants, grant{member: m, amountFen: amountFen})
		// The total saturates: past MaxInt64 it fits no budget, and it must not wrap around to a
		// small or negative total that would pass the checks below.
		totalFen += min(amountFen, math.MaxInt64-totalFen)
	}
	if len(grants) == 0 {
		return Result{Code: NothingToIssue, Refused: refused}
	}
	if totalFen > d.s.config.ApprovalThresholdFen-p.IssuedFen && p.ApprovedBy == 0 {
		return Result{Code: ApprovalRequired, Refused: refused}
	}
	budget, _ := d.s.ledger.Account(u.BudgetAccountID)
	if totalFen == math.MaxInt64 || totalFen > budget.AvailableFen() {
		return Result{Code: BudgetInsufficient, RoomLeftFen: budget.AvailableFen(), Refused: refused}
	}
	// Each grant journals an account, a transfer and the holding: room for them all at once, so
	// the batch's buffer does not double its way up through megabytes.
	d.out.Events = slices.Grow(d.out.Events, len(grants)*issuedBytesPerGrant)
	for _, g := range grants {
		account := d.openAccount(ledger.KindMemberPoints, ledger.AccountNoOverdraft, uint64(g.member.ID))
		d.transfer(u.BudgetAccountID, account, g.amountFen, ledger.CodeIssue, uint64(p.ID))
		d.emit(Event{Kind: EventMemberIssued, ProgramID: p.ID, MemberID: g.member.ID, AmountFen: g.amountFen, Year: year,
			AccountID: account, TimeNanos: d.now, Officer: c.Officer})
	}
	return Result{IssuedCount: len(grants), IssuedFen: totalFen, Refused: refused}
}

func (d *decider) revokeProgram(id ProgramID, officer OfficerID) Result {
	p, u, r := d.ownProgram(id)
	switch {
	case p == nil:
		return r
	case !d.isOfficer(u, officer):
		return Result{Code: UnknownOfficer}
	case p.Status == ProgramRevoked:
		return Result{Code: Exists}
	case p.Status != ProgramActive:
		return Result{Code: ProgramNotActive}
	}
	d.closeProgram(p, ProgramRevoked, officer)
	// Members who moved away took copies of the program with them: revoke those too.
	payload := appendMessage(nil, messageRevoke, &revokeMessage{ProgramID: id, Officer: officer})
	for shard := uint32(0); shard < d.s.shardsCount; shard++ {
		if shard != d.s.shard {
			d.out.Outgoing = append(d.out.Outgoing, Outgoing{ToShard: shard, Payload: payload})
		}
	}
	return Result{}
}

// closeProgram returns every unspent, unheld balance of the program on this shard to the
// union's budget (through in-transit for a copy whose union is on another shard), releases the
// members' cap counts by that much, and marks the program closed.
func (d *decider) closeProgram(p *Program, status ProgramStatus, officer OfficerID) {
	for _, mid := range p.Members {
		m, ok := d.s.members[mid]
		if !ok {
			continue // Moved away; the copy on the member's new shard closes there.
		}
		d.closeHolding(p, m)
	}
	d.emit(Event{Kind: EventProgramClosed, ProgramID: p.ID, Status: status, Officer: officer})
}

// closeHolding returns a member's unspent, unheld balance of a program to the budget and
// releases its cap count by that much, unless the holding is closed already.
func (d *decider) closeHolding(p *Program, m *Member) {
	h, ok := m.Holding(p.ID)
	if !ok || h.Closed {
		return
	}
	a, _ := d.s.ledger.Account(h.AccountID)
	unspentFen := max(0, a.AvailableFen())
	if unspentFen > 0 {
		d.returnToBudget(p, h.AccountID, unspentFen)
	}
	d.emit(Event{Kind: EventHoldingClosed, ProgramID: p.ID, MemberID: m.ID, AmountFen: unspentFen})
}

func (d *decider) returnToBudget(p *Program, from ledger.AccountID, amountFen int64) {
	if p.OwnerShard == d.s.shard {
		d.transfer(from, d.s.unions[p.UnionID].BudgetAccountID, amountFen, ledger.CodeExpire, uint64(p.ID))
		return
	}
	d.transfer(from, InTransitAccountID(d.s.shard), amountFen, ledger.CodeExpire, uint64(p.ID))
	d.out.Outgoing = append(d.out.Outgoing, Outgoing{ToShard: p.OwnerShard, Payload: appendMessage(nil, messageReturn,
		&returnMessage{UnionID: p.UnionID, ProgramID: p.ID, AmountFen: amountFen})})
}

func (d *decider) claimGift(c *Command) Result {
	p, ok := d.s.programs[c.ProgramID]
	if !ok {
		return Result{Code: UnknownProgram}
	}
	m, ok := d.s.members[c.MemberID]
	if !ok {
		return Result{Code: UnknownMember}
	}
	h, ok := m.Holding(p.ID)
	claimed := d.s.GiftChoices(m.ID, p.ID)
	switch {
	case p.Gift == nil:
		return Result{Code: NotAGift}
	case !ok:
		return Result{Code: NotRegistered}
	case len(claimed) > 0 && slices.Equal(claimed, c.Choices):
		return Result{Code: Exists}
	case len(claimed) > 0:
		return Result{Code: GiftAlreadyClaimed}
	case h.Closed || p.Status != ProgramActive:
		return Result{Code: ProgramNotActive}
	case d.now < p.FromNanos || d.now >= p.ToNanos:
		return Result{Code: OutsideWindow}
	case len(c.Choices) != p.Gift.Choose:
		return Result{Code: InvalidGift}
	}
	for i, o := range c.Choices {
		if !slices.Contains(p.Gift.Options, o) || slices.Contains(c.Choices[:i], o) {
			return Result{Code: InvalidGift}
		}
	}
	d.emit(Event{Kind: EventGiftClaimed, ProgramID: p.ID, MemberID: m.ID, Choices: slices.Clone(c.Choices)})
	return Result{}
}

// Messages between shards.
const (
	messageConfig   = 1
	messageRevoke   = 2
	messageReturn   = 3
	messageMoveIn   = 4
	messageMoveBack = 5
)

type revokeMessage struct {
	ProgramID ProgramID `json:"program_id"`
	Officer   OfficerID `json:"officer"`
}

type returnMessage struct {
	UnionID   UnionID   `json:"union_id"`
	ProgramID ProgramID `json:"program_id"`
	AmountFen int64     `json:"amount_fen"`
}

// moveMessage carries a member to another shard: the register entry, the cap counts, and each
// open holding with its balance and a copy of its program.
type moveMessage struct {
	Member    Member                `json:"member"`
	ToUnion   UnionID               `json:"to_union"`
	FromUnion UnionID               `json:"from_union"`
	FromShard uint32                `json:"from_shard"`
	Balances  []int64               `json:"balances"`
	Programs  []Program             `json:"programs"`
	Gifts     map[ProgramID][]SKUID `json:"gifts,omitempty"`
}

func appendMessage(dst []byte, kind byte, body any) []byte {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return append(append(dst, kind), b...)
}

func (d *decider) moveMember(c *Command) Result {
	m, ok := d.s.members[c.MemberID]
	switch {
	case !ok:
		return Result{Code: UnknownMember}
	case c.ToShard >= d.s.shardsCount:
		return Result{Code: UnknownUnion}
	case c.ToShard == d.s.shard && c.ToUnion == m.UnionID:
		return Result{Code: SameUnion}
	}
	if c.ToShard == d.s.shard {
		if _, ok := d.s.unions[c.ToUnion]; !ok {
			return Result{Code: UnknownUnion}
		}
		d.emit(Event{Kind: EventMemberRegistered, MemberID: m.ID, UnionID: c.ToUnion, Registered: m.Registered, DuesPaid: m.DuesPaid})
		return Result{}
	}
	msg := moveMessage{ToUnion: c.ToUnion, FromUnion: m.UnionID, FromShard: d.s.shard}
	msg.Member = Member{ID: m.ID, UnionID: c.ToUnion, Registered: m.Registered, DuesPaid: m.DuesPaid, Counted: slices.Clone(m.Counted)}
	for _, h := range m.Holdings {
		a, _ := d.s.ledger.Account(h.AccountID)
		if a.DebitsPendingFen != 0 {
			return Result{Code: MemberHasHolds}
		}
	}
	// A return within its window refunds points to the accounts the member would leave behind
	// here, where nothing would ever reach them: the member moves once the window has passed.
	// (The scan decides only yes or no, so the map's order does not matter.)
	for _, o := range d.s.orders.forms {
		if o.MemberID == m.ID && o.State == OrderHandedOut && d.now < o.HandedNanos+d.s.config.ReturnWindowNanos &&
			slices.ContainsFunc(o.Holds, func(h Hold) bool { return h.ProgramID != 0 }) {
			return Result{Code: MemberHasHolds}
		}
	}
	for _, h := range m.Holdings {
		a, _ := d.s.ledger.Account(h.AccountID)
		if h.Closed && a.BalanceFen() == 0 {
			continue
		}
		if bal := a.BalanceFen(); bal > 0 {
			d.transfer(h.AccountID, InTransitAccountID(d.s.shard), bal, ledger.CodeMove, uint64(m.ID))
		}
		msg.Member.Holdings = append(msg.Member.Holdings, h)
		if g := d.s.GiftChoices(m.ID, h.ProgramID); len(g) > 0 {
			if msg.Gifts == nil {
				msg.Gifts = map[ProgramID][]SKUID{}
			}
			msg.Gifts[h.ProgramID] = g
		}
		msg.Balances = append(msg.Balances, a.BalanceFen())
		msg.Programs = append(msg.Programs, *d.s.programs[h.ProgramID])
	}
	for i := range msg.Programs {
		msg.Programs[i].Members = nil
	}
	d.emit(Event{Kind: EventMemberMovedOut, MemberID: m.ID})
	d.out.Outgoing = append(d.out.Outgoing, Outgoing{ToShard: c.ToShard, Payload: appendMessage(nil, messageMoveIn, &msg)})
	return Result{}
}

// Receive decides a message from another shard.
func (s *State) Receive(nowNanos int64, from uint32, payload []byte, out *Output) error {
	if len(payload) == 0 {
		return fmt.Errorf("welfare: empty message from shard %d", from)
	}
	d := decider{s: s, now: nowNanos, out: out}
	body := payload[1:]
	if kind := payload[0] &^ (compactStock | hintedStock); kind >= messageReserve && kind <= messageUncollected {
		compact := payload[0]&compactStock != 0
		if compact && kind == messageReserve {
			return fmt.Errorf("welfare: a reservation without its prices from shard %d", from)
		}
		m, err := s.decodeStockMessage(body, compact, payload[0]&hintedStock != 0)
		if err != nil {
			return err
		}
		d.receiveStock(kind, from, &m)
		return nil
	}
	switch payload[0] {
	case messageConfig:
		var c Config
		if err := json.Unmarshal(body, &c); err != nil {
			return err
		}
		if c.Version > s.config.Version {
			d.setConfig(&c, false)
		}
	case messageRevoke:
		var m revokeMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		if p, ok := s.programs[m.ProgramID]; ok && p.OwnerShard != s.shard && p.Status == ProgramActive {
			d.closeProgram(p, ProgramRevoked, m.Officer)
		}
	case messageReturn:
		var m returnMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		u := s.unions[m.UnionID]
		d.transfer(InTransitAccountID(s.shard), u.BudgetAccountID, m.AmountFen, ledger.CodeExpire, uint64(m.ProgramID))
	case messageMoveIn, messageMoveBack:
		var m moveMessage
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		d.receiveMove(payload[0], from, &m)
	default:
		return fmt.Errorf("welfare: message kind %d from shard %d", payload[0], from)
	}
	return nil
}

func (d *decider) receiveMove(kind byte, from uint32, m *moveMessage) {
	s := d.s
	_, unionHere := s.unions[m.Member.UnionID]
	_, memberHere := s.members[m.Member.ID]
	if kind == messageMoveIn && (!unionHere || memberHere) {
		// Refused: send the member back as it came, to its old union.
		back := *m
		d.out.Outgoing = append(d.out.Outgoing, Outgoing{ToShard: from, Payload: appendMessage(nil, messageMoveBack, &back)})
		return
	}
	nm := Member{ID: m.Member.ID, UnionID: m.Member.UnionID, Registered: m.Member.Registered, DuesPaid: m.Member.DuesPaid,
		Counted: slices.Clone(m.Member.Counted)}
	if kind == messageMoveBack {
		nm.UnionID = m.FromUnion
	}
	for i, h := range m.Member.Holdings {
		if _, ok := s.programs[h.ProgramID]; !ok {
			cp := m.Programs[i]
			cp.Members, cp.IssuedFen = nil, 0
			d.emit(Event{Kind: EventProgramCreated, Program: &cp})
		}
		account := d.openAccount(ledger.KindMemberPoints, ledger.AccountNoOverdraft, uint64(nm.ID))
		if bal := m.Balances[i]; bal > 0 {
			d.transfer(InTransitAccountID(s.shard), account, bal, ledger.CodeMove, uint64(nm.ID))
		}
		h.AccountID = account
		nm.Holdings = append(nm.Holdings, h)
	}
	d.emit(Event{Kind: EventMemberMovedIn, Member: &nm, Gifts: m.Gifts})
	// A program that expired or was revoked here while the member was on its way will not
	// close again: close the member's holdings of it now, as closing the program would have.
	for _, h := range nm.Holdings {
		if p := s.programs[h.ProgramID]; p.Status != ProgramActive && !h.Closed {
			d.closeHolding(p, s.members[nm.ID])
		}
	}
}

func fromStock(c stock.Code) Code {
	switch c {
	case stock.OK:
		return OK
	case stock.Exists:
		return Exists
	case stock.UnknownSKU:
		return UnknownSKU
	case stock.InvalidSKU:
		return InvalidSKU
	case stock.InvalidQuantity:
		return InvalidQuantity
	}
	return stockRefusal(c)
}

// activityKindBytesMax bounds an activity kind's name.
const activityKindBytesMax = 32

func (d *decider) award(c *Command) Result {
	if c.AwardID == 0 || c.ActivityKind == "" || len(c.ActivityKind) > activityKindBytesMax {
		return Result{Code: InvalidID}
	}
	if a, ok := d.s.awards[c.AwardID]; ok {
		if a.MemberID == c.MemberID && a.ProgramID == c.ProgramID && a.AmountFen == c.AmountFen && a.Kind == c.ActivityKind {
			return Result{Code: Exists}
		}
		return Result{Code: ExistsWithDifferentFields}
	}
	p, u, r := d.ownProgram(c.ProgramID)
	switch {
	case p == nil:
		return r
	case p.Category != CategoryActivity:
		return Result{Code: InvalidCategory}
	case p.Status != ProgramActive:
		return Result{Code: ProgramNotActive}
	case d.now < p.FromNanos || d.now >= p.ToNanos:
		return Result{Code: OutsideWindow}
	case c.AmountFen <= 0 || c.AmountFen > 1<<40:
		return Result{Code: InvalidAmount}
	}
	m, ok := d.s.members[c.MemberID]
	if !ok || m.UnionID != u.ID || !m.Registered || !m.DuesPaid {
		return Result{Code: NotRegistered}
	}
	day, year := DayOf(d.now), YearOf(d.now)
	if h, ok := m.Holding(p.ID); ok {
		// An award tops up the member's holding of the program and counts in the holding's
		// year, the one expiry and reversal release from: counted in the award's own year, an
		// award past New Year would be released from the wrong year, below zero.
		year = h.Year
	}
	capFen, capped := d.s.config.ActivityDailyCapsFen[c.ActivityKind]
	if !capped {
		capFen, capped = d.s.config.ActivityDailyCapsFen["*"]
	}
	if capped {
		if got := m.AwardedFen(c.ActivityKind, day); got+c.AmountFen > capFen {
			return Result{Code: CapExceeded, RoomLeftFen: max(0, capFen-got)}
		}
	}
	if yearCap := d.s.config.CapsFen[p.Category]; yearCap >= 0 {
		if counted := m.CountedFen(p.Category, year); counted+c.AmountFen > yearCap {
			return Result{Code: CapExceeded, RoomLeftFen: max(0, yearCap-counted)}
		}
	}
	budget, _ := d.s.ledger.Account(u.BudgetAccountID)
	if c.AmountFen > budget.AvailableFen() {
		return Result{Code: BudgetInsufficient, RoomLeftFen: budget.AvailableFen()}
	}
	var account ledger.AccountID
	if h, ok := m.Holding(p.ID); ok {
		if h.Closed {
			return Result{Code: ProgramNotActive}
		}
		account = h.AccountID
	} else {
		account = d.openAccount(ledger.KindMemberPoints, ledger.AccountNoOverdraft, uint64(m.ID))
	}
	tid := ledger.TransferID(d.newID())
	d.engine(ledger.TransferCommand(ledger.Transfer{
		ID: tid, DebitAccountID: u.BudgetAccountID, CreditAccountID: account, AmountFen: c.AmountFen,
		Code: ledger.CodeIssue, UserData: uint64(p.ID),
	}))
	a := Award{ID: c.AwardID, ProgramID: p.ID, MemberID: m.ID, Kind: c.ActivityKind, AmountFen: c.AmountFen, Day: day, TransferID: tid}
	d.emit(Event{Kind: EventAwarded, Award: &a, AccountID: account, Year: year, TimeNanos: d.now})
	return Result{IssuedFen: c.AmountFen, IssuedCount: 1}
}

// reverseAward takes back what is left of an award when its activity is cancelled: a refund of
// the award's transfer, as far as the member's points are unspent; the rest is reported spent.
func (d *decider) reverseAward(c *Command) Result {
	a, ok := d.s.awards[c.AwardID]
	if !ok {
		return Result{Code: UnknownAward}
	}
	if a.Reversed {
		// The same answer as the first: what was owed then is part of it.
		return Result{Code: Exists, TakenBackFen: a.ReversedFen, SpentFen: a.SpentFen, OwedFen: a.OwedFen}
	}
	m, ok := d.s.members[a.MemberID]
	var availFen int64
	if ok {
		if h, held := m.Holding(a.ProgramID); held {
			acct, _ := d.s.ledger.Account(h.AccountID)
			availFen = max(0, acct.AvailableFen())
		}
	}
	var heldFen int64
	if ok {
		if h, held := m.Holding(a.ProgramID); held {
			acct, _ := d.s.ledger.Account(h.AccountID)
			heldFen = acct.DebitsPendingFen
		}
	}
	take := min(a.AmountFen-a.ReversedFen, availFen)
	if take > 0 {
		d.engine(ledger.TransferCommand(ledger.Transfer{
			ID: ledger.TransferID(d.newID()), RefundOfID: a.TransferID, AmountFen: take, Code: ledger.CodeRefund, UserData: uint64(a.ProgramID),
		}))
	}
	// Points held by open orders are not spent yet: they are owed, and go back to the budget
	// when an order that holds them is cancelled, returned or left uncollected.
	owed := min(a.AmountFen-a.ReversedFen-take, heldFen)
	spent := a.AmountFen - a.ReversedFen - take - owed
	d.emit(Event{Kind: EventAwardReversed, Award: &Award{ID: a.ID, SpentFen: spent, OwedFen: owed}, AmountFen: take})
	return Result{TakenBackFen: take, SpentFen: spent, OwedFen: owed}
}

// collectOwed takes back, from points just released to a member's program account, what a
// reversed award still owes, and returns what it took: the rest of the release is the
// member's, or goes on to the budget if the program has closed (returnIfClosed).
func (d *decider) collectOwed(member MemberID, program ProgramID, account ledger.AccountID, releasedFen int64) int64 {
	m, ok := d.s.members[member]
	if !ok {
		return 0
	}
	h, ok := m.Holding(program)
	if !ok || h.OwedFen == 0 {
		return 0
	}
	take := min(h.OwedFen, releasedFen)
	if take <= 0 {
		return 0
	}
	p := d.s.programs[program]
	d.returnToBudget(p, account, take)
	d.emit(Event{Kind: EventOwedCollected, ProgramID: program, MemberID: member, AmountFen: take})
	return take
}

// checkTerms checks the terms a program is created or updated with: amount, window, and for a
// festival program the calendar.
func (d *decider) checkTerms(category Category, p *Program) Code {
	switch {
	case p.AmountPerMemberFen < 0:
		return InvalidAmount
	case p.FromNanos >= p.ToNanos:
		return InvalidWindow
	case p.ToNanos <= d.now:
		return OutsideWindow
	case category == CategoryFestival && !d.s.config.overlapsFestival(p.FromNanos, p.ToNanos):
		return OutsideCalendar
	}
	return OK
}
