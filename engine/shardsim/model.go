package shardsim

import (
	"fmt"
	"slices"

	"huigong/engine/ledger"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// The model is what the simulation knows for certain: what every acknowledged command did,
// and what every request that survived a crash unanswered did where that is deterministic. It
// predicts the answers that do not depend on the timing of messages between shards (unions,
// registrations, fundings, programs, approvals, revocations, SKUs and stock received) and
// bounds the others to the codes they may take. Saga outcomes are not predicted: the checks at
// each settle point (check.go) hold them to the invariants instead.

type unionInfo struct {
	id       welfare.UnionID
	shard    uint32
	name     string
	officers []welfare.OfficerID
}

type memberInfo struct {
	id    welfare.MemberID
	union welfare.UnionID
	shard uint32
	dues  bool
	// moving is set by an acknowledged move to another shard, until a settle finds the
	// member there; uncertain, when a move's request survived a crash unanswered, until a
	// settle reads where the member is and in which union.
	moving    bool
	uncertain bool
	// holdings is what the last settle saw, for the workload.
	holdings []holdingView
}

type holdingView struct {
	program  welfare.ProgramID
	availFen int64
}

type programInfo struct {
	def        welfare.Program // as created
	shard      uint32
	approvedBy welfare.OfficerID
	revoked    bool
	// issuedFen is what acknowledged issues gave; unknown once an issue's request survived
	// a crash unanswered.
	issuedFen       int64
	issuedUncertain bool
}

// activeAt reports whether the owner's copy of the program is active in a batch at now: the
// batch's tick closes every program whose window has ended before any command is decided.
func (p *programInfo) activeAt(now int64) bool { return !p.revoked && p.def.ToNanos > now }

type skuInfo struct {
	def              stock.SKU
	shard            uint32
	receivedUnits    int64
	restockedUnits   int64
	restockUncertain bool
	// units is what the last settle saw, for the workload.
	units stock.Units
}

type fundingInfo struct {
	shard     uint32
	union     welfare.UnionID
	amountFen int64
}

type orderInfo struct {
	id      welfare.OrderID
	member  welfare.MemberID
	shard   uint32
	lines   []welfare.OrderLine
	cashFen int64
	// exists: acknowledged (placed as reserving, or exists on a retry) or found after a
	// recovery; maybe: its request survived a crash unanswered, so it exists if found.
	exists, maybe bool
	// known are states the order was in durably: acknowledged results and notes.
	known []welfare.OrderState
	// placed: acknowledged placed (a note, or a confirmed payment's answer).
	placed bool
	// state is the latest state seen, for the workload.
	state welfare.OrderState
}

func (o *orderInfo) know(st welfare.OrderState) {
	if !slices.Contains(o.known, st) {
		o.known = append(o.known, st)
	}
	if st == welfare.OrderPlaced {
		o.placed = true
	}
	if o.state == 0 || reachable(o.state, st) {
		o.state = st
	}
}

type awardInfo struct {
	id        uint64
	program   welfare.ProgramID
	member    welfare.MemberID
	shard     uint32
	kind      string
	amountFen int64
	exists    bool
	maybe     bool
	reversed  bool
}

type issuedPair struct {
	program welfare.ProgramID
	member  welfare.MemberID
}

type model struct {
	shards   int
	config   welfare.Config
	unions   map[welfare.UnionID]*unionInfo
	members  map[welfare.MemberID]*memberInfo
	programs map[welfare.ProgramID]*programInfo
	skus     map[stock.SKUID]*skuInfo
	fundings map[ledger.TransferID]*fundingInfo
	orders   map[welfare.OrderID]*orderInfo
	awards   map[uint64]*awardInfo
	issued   []issuedPair
	// Lists in creation order, so the workload draws from them in a known order.
	unionList   [][]welfare.UnionID // by shard
	memberList  []welfare.MemberID
	programList []welfare.ProgramID
	skuList     []stock.SKUID
	orderList   []welfare.OrderID
	awardList   []uint64
	// open lists by shard the orders the workload may move on: refreshed at each settle,
	// and added to as orders are placed.
	open [][]welfare.OrderID
	// linesByShard lists by SKU shard every order line ever drawn, for the checks to read
	// the reservations there.
	linesByShard [][]orderLineRef
	fundedFen    int64
	// lateRefunds are late payments acknowledged, whose refund notes must have come.
	lateRefunds []lateRefund
}

type orderLineRef struct {
	order  welfare.OrderID
	member welfare.MemberID
	sku    stock.SKUID
}

type lateRefund struct {
	order      welfare.OrderID
	paymentRef uint64
}

func newModel(shards int, cfg welfare.Config) *model {
	return &model{
		shards: shards, config: cfg,
		unions: map[welfare.UnionID]*unionInfo{}, members: map[welfare.MemberID]*memberInfo{},
		programs: map[welfare.ProgramID]*programInfo{}, skus: map[stock.SKUID]*skuInfo{},
		fundings: map[ledger.TransferID]*fundingInfo{}, orders: map[welfare.OrderID]*orderInfo{},
		awards: map[uint64]*awardInfo{}, unionList: make([][]welfare.UnionID, shards), open: make([][]welfare.OrderID, shards),
		linesByShard: make([][]orderLineRef, shards),
	}
}

// lifecycle lists the states an order may go to from each state.
var lifecycle = map[welfare.OrderState][]welfare.OrderState{
	welfare.OrderReserving:       {welfare.OrderAwaitingPayment, welfare.OrderPlaced, welfare.OrderRefused, welfare.OrderCancelled},
	welfare.OrderAwaitingPayment: {welfare.OrderPlaced, welfare.OrderRefused, welfare.OrderCancelled},
	welfare.OrderPlaced:          {welfare.OrderShipped, welfare.OrderCancelled},
	welfare.OrderShipped:         {welfare.OrderReady},
	welfare.OrderReady:           {welfare.OrderHandedOut, welfare.OrderUncollected},
	welfare.OrderHandedOut:       {welfare.OrderReturned},
}

// reachable reports whether an order in state from may later be in state to.
func reachable(from, to welfare.OrderState) bool {
	if from == to {
		return true
	}
	for _, n := range lifecycle[from] {
		if reachable(n, to) {
			return true
		}
	}
	return false
}

// stateOfResult is the state an order command's ok leaves the order in.
var stateOfResult = map[welfare.CommandKind]welfare.OrderState{
	welfare.PlaceOrder: welfare.OrderReserving, welfare.ConfirmPayment: welfare.OrderPlaced,
	welfare.CancelOrder: welfare.OrderCancelled, welfare.ShipOrder: welfare.OrderShipped,
	welfare.ArriveOrder: welfare.OrderReady, welfare.HandOutOrder: welfare.OrderHandedOut,
	welfare.ReturnOrder: welfare.OrderReturned,
}

// expect checks an answer against the one code the model predicts; r nil means unknown.
func expect(r *welfare.Result, want welfare.Code) error {
	if r != nil && r.Code != want {
		return fmt.Errorf("answered %s, model says %s", r.Code, want)
	}
	return nil
}

// expectOneOf checks an answer against the codes the command may take.
func expectOneOf(r *welfare.Result, codes ...welfare.Code) error {
	if r != nil && !slices.Contains(codes, r.Code) {
		return fmt.Errorf("answered %s, want one of %v", r.Code, codes)
	}
	return nil
}

// overlapsFestival is the FestivalCalendar rule, restated.
func overlapsFestival(cfg *welfare.Config, fromNanos, toNanos int64) bool {
	for _, f := range cfg.Festivals {
		if fromNanos < welfare.DayStartNanos(f.ToDay+1) && welfare.DayStartNanos(f.FromDay) < toNanos {
			return true
		}
	}
	return false
}

// step checks the answer r to command c, decided on shard at batch time now (r nil: its
// request survived a crash unanswered), and applies what the command did to the model.
func (m *model) step(shard uint32, now int64, c *welfare.Command, r *welfare.Result) error {
	switch c.Kind {
	case welfare.FundUnion:
		if _, seen := m.fundings[c.TransferID]; seen {
			if err := expect(r, welfare.Exists); err != nil {
				return err
			}
			if r != nil && r.Ledger != ledger.Exists {
				return fmt.Errorf("ledger answered %s to a retried funding", r.Ledger)
			}
			return nil
		}
		if err := expect(r, welfare.OK); err != nil {
			return err
		}
		m.fundings[c.TransferID] = &fundingInfo{shard: shard, union: c.UnionID, amountFen: c.AmountFen}
		m.fundedFen += c.AmountFen
	case welfare.CreateUnion:
		if _, ok := m.unions[c.Union.ID]; ok {
			return expect(r, welfare.Exists)
		}
		if err := expect(r, welfare.OK); err != nil {
			return err
		}
		u := &unionInfo{id: c.Union.ID, shard: shard, name: c.Union.Name}
		for _, o := range c.Union.Officers {
			if !slices.Contains(u.officers, o) {
				u.officers = append(u.officers, o)
			}
		}
		m.unions[u.id] = u
		m.unionList[shard] = append(m.unionList[shard], u.id)
	case welfare.AddOfficer:
		u := m.unions[c.UnionID]
		if slices.Contains(u.officers, c.Officer) {
			return expect(r, welfare.Exists)
		}
		if err := expect(r, welfare.OK); err != nil {
			return err
		}
		u.officers = append(u.officers, c.Officer)
	case welfare.RegisterMember:
		mi, ok := m.members[c.MemberID]
		if !ok {
			if err := expect(r, welfare.OK); err != nil {
				return err
			}
			m.members[c.MemberID] = &memberInfo{id: c.MemberID, union: c.UnionID, shard: shard, dues: c.DuesPaid}
			m.memberList = append(m.memberList, c.MemberID)
			return nil
		}
		if mi.dues == c.DuesPaid {
			return expect(r, welfare.Exists)
		}
		if err := expect(r, welfare.OK); err != nil {
			return err
		}
		mi.dues = c.DuesPaid
	case welfare.CreateProgram:
		return m.createProgram(shard, now, c, r)
	case welfare.SetConfig, welfare.SetPickupPoint, welfare.SetMerchant:
		return expect(r, welfare.OK)
	case welfare.ApproveProgram:
		p := m.programs[c.ProgramID]
		if p == nil {
			return expect(r, welfare.UnknownProgram) // its creation in the same request was refused
		}
		want := welfare.OK
		switch {
		case p.approvedBy == c.Officer:
			want = welfare.Exists
		case !p.activeAt(now):
			want = welfare.ProgramNotActive
		case c.Officer == p.def.CreatedBy:
			want = welfare.SameOfficer
		case p.approvedBy != 0:
			want = welfare.ExistsWithDifferentFields
		}
		if err := expect(r, want); err != nil {
			return err
		}
		if want == welfare.OK {
			p.approvedBy = c.Officer
		}
	case welfare.RevokeProgram:
		p := m.programs[c.ProgramID]
		want := welfare.OK
		switch {
		case p.revoked:
			want = welfare.Exists
		case !p.activeAt(now):
			want = welfare.ProgramNotActive
		}
		if err := expect(r, want); err != nil {
			return err
		}
		if want == welfare.OK {
			p.revoked = true
		}
	case welfare.Issue:
		return m.issue(shard, now, c, r)
	case welfare.MoveMember:
		mi := m.members[c.MemberID]
		if c.ToShard == shard {
			if err := expect(r, welfare.OK); err != nil {
				return err
			}
			mi.union = c.ToUnion
			return nil
		}
		if err := expectOneOf(r, welfare.OK, welfare.MemberHasHolds); err != nil {
			return err
		}
		switch {
		case r == nil:
			mi.uncertain = true
		case r.Code == welfare.OK:
			mi.moving, mi.shard, mi.union = true, c.ToShard, c.ToUnion
		}
	case welfare.SetSKU:
		if err := expect(r, welfare.OK); err != nil {
			return err
		}
		if sk, ok := m.skus[c.SKU.ID]; ok {
			sk.def = c.SKU
			return nil
		}
		m.skus[c.SKU.ID] = &skuInfo{def: c.SKU, shard: shard}
		m.skuList = append(m.skuList, c.SKU.ID)
	case welfare.ReceiveStock:
		if err := expect(r, welfare.OK); err != nil {
			return err
		}
		m.skus[c.SKU.ID].receivedUnits += c.Quantity
	case welfare.RestockSKU:
		if err := expectOneOf(r, welfare.OK, welfare.InvalidQuantity); err != nil {
			return err
		}
		sk := m.skus[c.SKU.ID]
		switch {
		case r == nil:
			sk.restockUncertain = true
		case r.Code == welfare.OK:
			sk.restockedUnits += c.Quantity
		}
	case welfare.PlaceOrder, welfare.ConfirmPayment, welfare.CancelOrder, welfare.ShipOrder,
		welfare.ArriveOrder, welfare.HandOutOrder, welfare.ReturnOrder:
		return m.orderCommand(shard, c, r)
	case welfare.AwardPoints:
		a := m.awards[c.AwardID]
		if a.exists {
			return expect(r, welfare.Exists)
		}
		if err := expectOneOf(r, welfare.OK, welfare.CapExceeded, welfare.BudgetInsufficient, welfare.NotRegistered,
			welfare.ProgramNotActive, welfare.OutsideWindow, welfare.Exists); err != nil {
			return err
		}
		if r != nil && r.Code == welfare.Exists && !a.maybe {
			return fmt.Errorf("award %d answered exists, but no award of that id was made", c.AwardID)
		}
		if r != nil && !m.programs[c.ProgramID].activeAt(now) && r.Code != welfare.ProgramNotActive && r.Code != welfare.Exists {
			return fmt.Errorf("award of a closed program answered %s", r.Code)
		}
		switch {
		case r == nil:
			a.maybe = true
		case r.Code == welfare.OK || r.Code == welfare.Exists:
			if r.Code == welfare.OK && r.IssuedFen != c.AmountFen {
				return fmt.Errorf("award of %d answered %d issued", c.AmountFen, r.IssuedFen)
			}
			a.exists, a.maybe = true, false
		}
	case welfare.ReverseAward:
		a := m.awards[c.AwardID]
		switch {
		case a.exists:
			if err := expectOneOf(r, welfare.OK, welfare.Exists); err != nil {
				return err
			}
		case a.maybe:
			if err := expectOneOf(r, welfare.OK, welfare.Exists, welfare.UnknownAward); err != nil {
				return err
			}
		default:
			return expect(r, welfare.UnknownAward)
		}
		if r != nil && (r.Code == welfare.OK || r.Code == welfare.Exists) {
			if r.TakenBackFen < 0 || r.SpentFen < 0 || r.OwedFen < 0 || r.TakenBackFen+r.SpentFen+r.OwedFen != a.amountFen {
				return fmt.Errorf("reversal of an award of %d: taken back %d, spent %d, owed %d", a.amountFen, r.TakenBackFen, r.SpentFen, r.OwedFen)
			}
			a.reversed = true
		}
	default:
		return fmt.Errorf("model: command kind %d not simulated", c.Kind)
	}
	return nil
}

func (m *model) createProgram(shard uint32, now int64, c *welfare.Command, r *welfare.Result) error {
	p := &c.Program
	if e, ok := m.programs[p.ID]; ok {
		d := &e.def
		if d.UnionID == p.UnionID && d.Name == p.Name && d.Category == p.Category && d.AmountPerMemberFen == p.AmountPerMemberFen &&
			d.FromNanos == p.FromNanos && d.ToNanos == p.ToNanos {
			return expect(r, welfare.Exists)
		}
		return expect(r, welfare.ExistsWithDifferentFields)
	}
	want := welfare.OK
	switch {
	case p.FromNanos >= p.ToNanos:
		want = welfare.InvalidWindow
	case p.ToNanos <= now:
		want = welfare.OutsideWindow
	case p.Category == welfare.CategoryFestival && !overlapsFestival(&m.config, p.FromNanos, p.ToNanos):
		want = welfare.OutsideCalendar
	}
	if err := expect(r, want); err != nil {
		return err
	}
	if want == welfare.OK {
		def := *p
		def.CreatedBy = c.Officer
		m.programs[p.ID] = &programInfo{def: def, shard: shard}
		m.programList = append(m.programList, p.ID)
	}
	return nil
}

func (m *model) issue(shard uint32, now int64, c *welfare.Command, r *welfare.Result) error {
	p := m.programs[c.ProgramID]
	if !p.activeAt(now) {
		return expect(r, welfare.ProgramNotActive)
	}
	if r == nil {
		p.issuedUncertain = true
		return nil
	}
	if err := expectOneOf(r, welfare.OK, welfare.NothingToIssue, welfare.ApprovalRequired, welfare.BudgetInsufficient); err != nil {
		return err
	}
	if r.Code == welfare.ApprovalRequired && p.approvedBy != 0 {
		return fmt.Errorf("approval_required for a program approved by officer %d", p.approvedBy)
	}
	if r.Code == welfare.BudgetInsufficient && r.RoomLeftFen < 0 {
		return fmt.Errorf("budget_insufficient with %d left", r.RoomLeftFen)
	}
	amountOf := func(i int) int64 {
		if len(c.Amounts) > 0 {
			return c.Amounts[i]
		}
		return p.def.AmountPerMemberFen
	}
	refused := map[welfare.MemberID]welfare.MemberResult{}
	for _, mr := range r.Refused {
		if _, dup := refused[mr.MemberID]; dup {
			return fmt.Errorf("member %d refused twice", mr.MemberID)
		}
		refused[mr.MemberID] = mr
		switch mr.Code {
		case welfare.NotRegistered, welfare.AlreadyIssued:
		case welfare.CapExceeded:
			i := slices.Index(c.Members, mr.MemberID)
			amount := p.def.AmountPerMemberFen
			if i >= 0 {
				amount = amountOf(i)
			}
			capFen := m.config.CapsFen[p.def.Category]
			if capFen < 0 || mr.RoomLeftFen < 0 || mr.RoomLeftFen >= amount || mr.RoomLeftFen > capFen {
				return fmt.Errorf("member %d refused cap_exceeded with %d left of a cap of %d, for %d", mr.MemberID, mr.RoomLeftFen, capFen, amount)
			}
		default:
			return fmt.Errorf("member %d refused %s", mr.MemberID, mr.Code)
		}
	}
	// Listed members the model knows cannot receive: not dues-paid, or not of the union here.
	for _, id := range c.Members {
		mi, ok := m.members[id]
		if !ok || mi.moving || mi.uncertain {
			continue
		}
		if !mi.dues || mi.union != p.def.UnionID || mi.shard != shard {
			if mr, ok := refused[id]; !ok || mr.Code != welfare.NotRegistered {
				return fmt.Errorf("member %d (dues paid %v, union %d on shard %d) was not refused not_registered: %+v",
					id, mi.dues, mi.union, mi.shard, mr)
			}
		}
	}
	if r.Code != welfare.OK {
		return nil
	}
	if r.IssuedCount < 1 {
		return fmt.Errorf("issue ok with %d members issued", r.IssuedCount)
	}
	if len(c.Members) == 0 {
		if r.IssuedFen != int64(r.IssuedCount)*p.def.AmountPerMemberFen {
			return fmt.Errorf("issue to all: %d members, %d fen, at %d each", r.IssuedCount, r.IssuedFen, p.def.AmountPerMemberFen)
		}
	} else {
		var count int
		var fen int64
		for i, id := range c.Members {
			if _, no := refused[id]; !no {
				count++
				fen += amountOf(i)
				m.issued = append(m.issued, issuedPair{program: p.def.ID, member: id})
			}
		}
		if count != r.IssuedCount || fen != r.IssuedFen {
			return fmt.Errorf("issue to %d listed, %d refused: answered %d members, %d fen; listed less refused is %d, %d fen",
				len(c.Members), len(r.Refused), r.IssuedCount, r.IssuedFen, count, fen)
		}
	}
	p.issuedFen += r.IssuedFen
	return nil
}

// orderCommand bounds the answer of an order command: which codes it may take depends on
// messages between shards, so the model checks only that the code fits and that an ok moves
// the order where the command says.
func (m *model) orderCommand(shard uint32, c *welfare.Command, r *welfare.Result) error {
	id := c.OrderID
	if c.Kind == welfare.PlaceOrder {
		id = c.Order.ID
	}
	o := m.orders[id]
	if o.shard != shard {
		return fmt.Errorf("order %d of shard %d sent to shard %d", id, o.shard, shard)
	}
	var codes []welfare.Code
	switch c.Kind {
	case welfare.PlaceOrder:
		if o.exists {
			codes = []welfare.Code{welfare.Exists}
		} else {
			codes = []welfare.Code{welfare.OK, welfare.NotRegistered, welfare.InvalidOrder, welfare.InvalidAmount,
				welfare.NotEligible, welfare.InsufficientPoints}
			if o.maybe {
				codes = append(codes, welfare.Exists)
			}
			if mi := m.members[o.member]; r != nil && !mi.dues && !mi.uncertain && !mi.moving && r.Code != welfare.NotRegistered {
				return fmt.Errorf("order %d of member %d, not dues-paid, answered %s", id, o.member, r.Code)
			}
		}
	case welfare.ConfirmPayment:
		codes = []welfare.Code{welfare.OK, welfare.Exists, welfare.LatePayment, welfare.WrongOrderState}
	case welfare.CancelOrder, welfare.ShipOrder, welfare.ArriveOrder, welfare.HandOutOrder:
		codes = []welfare.Code{welfare.OK, welfare.Exists, welfare.WrongOrderState}
	case welfare.ReturnOrder:
		codes = []welfare.Code{welfare.OK, welfare.Exists, welfare.NotHandedOut, welfare.ReturnWindowClosed}
	}
	if c.Kind != welfare.PlaceOrder {
		switch {
		case o.maybe:
			codes = append(codes, welfare.UnknownOrder)
		case !o.exists:
			codes = []welfare.Code{welfare.UnknownOrder}
		}
	}
	if err := expectOneOf(r, codes...); err != nil {
		return err
	}
	if r == nil {
		if c.Kind == welfare.PlaceOrder && !o.exists {
			o.maybe = true
		}
		return nil
	}
	switch r.Code {
	case welfare.OK:
		if want := stateOfResult[c.Kind]; r.Order != want {
			return fmt.Errorf("ok leaves order %d %s, want %s", id, r.Order, want)
		}
		if c.Kind == welfare.PlaceOrder {
			m.open[shard] = append(m.open[shard], id)
		}
		o.exists, o.maybe = true, false
		o.know(r.Order)
	case welfare.Exists:
		o.exists, o.maybe = true, false
		if r.Order != 0 {
			o.know(r.Order)
		}
	case welfare.LatePayment:
		m.lateRefunds = append(m.lateRefunds, lateRefund{order: id, paymentRef: c.PaymentRef})
		o.know(r.Order)
	case welfare.WrongOrderState, welfare.NotHandedOut, welfare.ReturnWindowClosed:
		// The state an answer reports was decided in a batch durable before the answer.
		o.know(r.Order)
	}
	return nil
}
