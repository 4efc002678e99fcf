package welfare

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"slices"

	"huigong/engine/ledger"
	"huigong/engine/stock"
)

// OrderID is the caller's order id: the API's Idempotency-Key becomes it.
type OrderID = stock.OrderID

// OrderState is where an order is. Reserving and AwaitingPayment are open checkouts; Placed
// and later states are orders confirmed to the member.
type OrderState uint8

const (
	OrderReserving OrderState = iota + 1
	OrderAwaitingPayment
	OrderPlaced
	OrderShipped
	OrderReady
	OrderHandedOut
	OrderCancelled
	OrderRefused
	OrderUncollected
	OrderReturned
	orderStateLast = OrderReturned
)

var orderStateNames = [...]string{
	OrderReserving: "reserving", OrderAwaitingPayment: "awaiting_payment", OrderPlaced: "placed",
	OrderShipped: "shipped", OrderReady: "ready_for_pickup", OrderHandedOut: "handed_out",
	OrderCancelled: "cancelled", OrderRefused: "refused", OrderUncollected: "returned_uncollected",
	OrderReturned: "returned",
}

func (s OrderState) String() string {
	if s == 0 || s > orderStateLast {
		return "invalid"
	}
	return orderStateNames[s]
}

// Final reports whether the order is over: nothing more happens to it.
func (s OrderState) Final() bool {
	return s == OrderCancelled || s == OrderRefused || s == OrderUncollected || s == OrderReturned
}

// OrderLine is one SKU of an order, at the unit price the member was shown; the SKU's shard
// checks the price.
type OrderLine struct {
	SKU          stock.SKUID
	Quantity     int64
	UnitPriceFen int64
	Shard        uint32
	MerchantID   MerchantID
	Category     string
	// Code is the SKU shard's answer to the reservation.
	Code stock.Code
	// stockHint is where the SKU shard keeps the reservation, as it answered; it is not
	// journaled, so after a restart the SKU shard looks the reservation up instead.
	stockHint stock.Hint
}

// AmountFen is the line's total.
func (l *OrderLine) AmountFen() int64 { return l.Quantity * l.UnitPriceFen }

// Hold is one part of an order's payment: points of one program held for one merchant, or
// (ProgramID zero) the cash part for one merchant.
type Hold struct {
	TransferID ledger.TransferID // the pending transfer; zero for cash not yet paid
	AccountID  ledger.AccountID  // the member's program account, or the external cash account
	ProgramID  ProgramID
	MerchantID MerchantID
	AmountFen  int64
	// RefundID is the refund of the posted hold, after a return.
	RefundID ledger.TransferID
}

// Order is a member's order, kept on the member's shard.
type Order struct {
	ID            OrderID
	MemberID      MemberID
	UnionID       UnionID
	PickupPointID PickupPointID
	CashFen       int64
	State         OrderState
	// Code says why an order was refused or cancelled.
	Code Code
	// Awaiting is the number of SKU shards whose answer is still awaited.
	Awaiting      int
	DeadlineNanos int64 // of the open checkout, or of the pickup (ready) or the return window
	PlacedNanos   int64
	ReadyNanos    int64
	HandedNanos   int64
	ReturnedNanos int64
	PaymentRef    uint64
	Lines         []OrderLine
	Holds         []Hold

	// shared says the form was handed out, to a note or a reader; a shared form never changes.
	shared bool
	// row is the order's row in the shard's order table, which its forms carry along.
	row uint32
}

// TotalFen is the order's value.
func (o *Order) TotalFen() int64 {
	var t int64
	for i := range o.Lines {
		t += o.Lines[i].AmountFen()
	}
	return t
}

// OrderRequest is what a member asks to buy.
type OrderRequest struct {
	ID            OrderID
	PickupPointID PickupPointID
	CashFen       int64
	Lines         []OrderLine
}

// Limits of an order.
const (
	orderLinesMax     = 50
	orderQuantityMax  = 1_000
	orderUnitPriceMax = 1 << 40
	orderHoldsMax     = orderLinesMax * 8
	// orderCategoryBytesMax bounds a line's category: the order's binary form gives it one
	// length byte.
	orderCategoryBytesMax = 255
)

// Order codes are in command.go.

// Order returns an order of a member on this shard.
//
// The form returned never changes; a later change of the order makes a new form.
func (s *State) Order(id OrderID) (*Order, bool) {
	o, ok := s.orders.get(id)
	if ok {
		o.share()
	}
	return o, ok
}

// share marks a form handed out, once: the write happens before the form leaves the loop, and
// no write follows it.
func (o *Order) share() {
	if !o.shared {
		o.shared = true
	}
}

// Stock gives read access to the SKUs homed on this shard.
func (s *State) Stock() *stock.State { return s.stock }

// OrderNote is a notification for the edge, delivered once the batch that decided it is
// durable: an order reached a state a caller waits for, a SKU sold out or came back, or a late
// payment must be refunded.
type OrderNote struct {
	Kind    NoteKind
	OrderID OrderID
	Member  MemberID
	State   OrderState
	Code    Code
	SKU     stock.SKUID
	// RefundCashFen asks the platform to refund a cash payment.
	RefundCashFen int64
	PaymentRef    uint64
	// Order is the order as decided, for NoteOrder; the engine never changes it afterwards.
	Order *Order
}

type NoteKind uint8

const (
	NoteOrder NoteKind = iota + 1
	NoteSoldOut
	NoteBackInStock
	NoteRefundPayment
)

func (d *decider) note(n OrderNote) { d.out.Notes = append(d.out.Notes, n) }

func (d *decider) orderNote(o *Order) {
	o.share()
	d.note(OrderNote{Kind: NoteOrder, OrderID: o.ID, Member: o.MemberID, State: o.State, Code: o.Code, Order: o})
}

// emitOrder applies and journals o, the new form of an order that replaces prev (nil for a new
// order): as a patch of prev when only the state, times and line codes changed, whole
// otherwise. Every caller has prev at hand, so the order is not looked up again.
func (d *decider) emitOrder(prev, o *Order) {
	if p, ok := makeOrderPatch(prev, o); ok {
		d.out.Events = appendOrderPatch(d.out.Events, &p)
	} else {
		d.out.Events = appendOrderEvent(d.out.Events, o)
	}
	// What applying either event does.
	d.s.orders.store(prev, o)
}

func (d *decider) placeOrder(c *Command) Result {
	req := c.Order
	if req == nil || req.ID == 0 {
		return Result{Code: InvalidID}
	}
	if o, ok := d.s.orders.get(req.ID); ok {
		if o.MemberID != c.MemberID {
			return Result{Code: ExistsWithDifferentFields}
		}
		return Result{Code: Exists, Order: o.State, OrderCode: o.Code}
	}
	m, ok := d.s.members[c.MemberID]
	switch {
	case !ok || !m.Registered || !m.DuesPaid:
		return Result{Code: NotRegistered}
	case len(req.Lines) == 0 || len(req.Lines) > orderLinesMax:
		return Result{Code: InvalidOrder}
	}
	var totalFen int64
	for i := range req.Lines {
		l := &req.Lines[i]
		if l.SKU == 0 || l.Quantity <= 0 || l.Quantity > orderQuantityMax || l.UnitPriceFen < 0 ||
			l.UnitPriceFen > orderUnitPriceMax || l.Shard >= d.s.shardsCount || len(l.Category) > orderCategoryBytesMax {
			return Result{Code: InvalidOrder}
		}
		// A SKU's shard keeps one reservation per order and SKU: a second line of the same SKU
		// would be paid for but never reserved.
		for j := range i {
			if req.Lines[j].SKU == l.SKU {
				return Result{Code: InvalidOrder}
			}
		}
		totalFen += l.AmountFen()
	}
	if req.CashFen < 0 || req.CashFen > totalFen {
		return Result{Code: InvalidAmount}
	}
	var planBuf [4]Hold
	plan, code := d.allocate(m, req, totalFen, planBuf[:0])
	if code != OK {
		return Result{Code: code}
	}
	for i := range plan {
		if h := &plan[i]; h.ProgramID != 0 {
			h.TransferID = ledger.TransferID(d.newID())
			d.engine(ledger.TransferCommand(ledger.Transfer{
				ID: h.TransferID, DebitAccountID: h.AccountID, CreditAccountID: d.receivable(h.MerchantID),
				AmountFen: h.AmountFen, Code: ledger.CodeSpendHold, UserData: uint64(req.ID), Flags: ledger.Pending,
			}))
		}
	}
	// The new order's form gets its own copies of the lines and the plan (on the stack).
	o := cloneOrder(&Order{
		ID: req.ID, MemberID: m.ID, UnionID: m.UnionID, PickupPointID: req.PickupPointID, CashFen: req.CashFen,
		State: OrderReserving, DeadlineNanos: d.now + d.s.config.ReserveTimeoutNanos,
	})
	o.Lines = append(o.Lines, req.Lines...)
	o.Holds = append(o.Holds, plan...)
	for i := range o.Lines {
		o.Lines[i].Code = stock.OK
	}
	// The SKU shards answer with the row the order is about to take.
	o.Awaiting = d.sendToSKUShards(o, messageReserve, d.s.orders.nextHint(), nil)
	d.emitOrder(nil, o) // placeOrder looked: there is none
	return Result{Order: o.State}
}

// receivable returns this shard's receivable account for a merchant, opening it the first time.
func (d *decider) receivable(m MerchantID) ledger.AccountID {
	if a, ok := d.s.receivables[m]; ok {
		return a
	}
	a := d.openAccount(ledger.KindMerchantReceivable, 0, uint64(m))
	d.emit(Event{Kind: EventReceivableOpened, MerchantID: m, AccountID: a})
	return a
}

// candidate is a program the member may pay with, with its rank: earlier expiry first.
type candidate struct {
	programID ProgramID
	accountID ledger.AccountID
	availFen  int64
	program   *Program
	// gift is the member's claimed choice of a gift package, if any.
	gift []SKUID
}

// allows reports whether the program may pay for a line: its whitelist allows it, and for a
// gift package the SKU is one of the options, and the member's choice if it has claimed one.
func (c *candidate) allows(l *OrderLine) bool {
	p := c.program
	if !p.Whitelist.Allows(l.Category, SKUID(l.SKU), l.MerchantID) {
		return false
	}
	if p.Gift == nil {
		return true
	}
	if len(c.gift) > 0 {
		return slices.Contains(c.gift, SKUID(l.SKU))
	}
	return slices.Contains(p.Gift.Options, SKUID(l.SKU))
}

// allocate finds holds that pay for the order: the whole cash part, and points of programs
// whose whitelist allows each line, preferring the earliest-expiring points. It solves a small
// min-cost flow (lines to the cash part and the programs), so it finds an allocation whenever
// one exists, where a greedy choice would fail: the cash goes where the points cannot.
//
// The holds are appended to dst.
func (d *decider) allocate(m *Member, req *OrderRequest, totalFen int64, dst []Hold) ([]Hold, Code) {
	// A member holds a few programs at a time; the buffers keep the rush's usual cart off the heap.
	var candsBuf, spentBuf [4]candidate
	cands, spent := candsBuf[:0], spentBuf[:0]
	for i := range m.Holdings {
		h := &m.Holdings[i]
		p := d.s.programs[h.ProgramID]
		if h.Closed || p == nil || p.Status != ProgramActive || d.now < p.FromNanos || d.now >= p.ToNanos {
			continue
		}
		a, _ := d.s.ledger.Account(h.AccountID)
		c := candidate{programID: p.ID, accountID: h.AccountID, availFen: a.AvailableFen(), program: p}
		if p.Gift != nil {
			c.gift = d.s.GiftChoices(m.ID, p.ID)
		}
		if c.availFen > 0 {
			cands = append(cands, c)
		} else {
			// Spent out: it cannot pay, but a line it would allow is short of points, not
			// outside every whitelist.
			spent = append(spent, c)
		}
	}
	slices.SortFunc(cands, func(a, b candidate) int {
		if a.program.ToNanos != b.program.ToNanos {
			return cmpInt64(a.program.ToNanos, b.program.ToNanos)
		}
		return cmpInt64(int64(a.programID), int64(b.programID))
	})
	lines := req.Lines
	// One line and no cash, the festival rush's usual cart: taking the eligible programs in
	// expiry order is the min-cost allocation, with no flow network to build.
	if len(lines) == 1 && req.CashFen == 0 {
		l := &lines[0]
		need, any := l.AmountFen(), false
		holds := dst
		for j := range cands {
			if !cands[j].allows(l) {
				continue
			}
			any = true
			if take := min(need, cands[j].availFen); take > 0 {
				holds = append(holds, Hold{AccountID: cands[j].accountID, ProgramID: cands[j].programID, MerchantID: l.MerchantID, AmountFen: take})
				need -= take
			}
		}
		for j := range spent {
			any = any || spent[j].allows(l)
		}
		switch {
		case !any:
			return nil, NotEligible
		case need > 0:
			return nil, InsufficientPoints
		}
		return holds, OK
	}
	eligible := make([][]bool, len(lines))
	for i := range lines {
		eligible[i] = make([]bool, len(cands))
		any := false
		for j := range cands {
			ok := cands[j].allows(&lines[i])
			eligible[i][j] = ok
			any = any || ok
		}
		for j := range spent {
			any = any || spent[j].allows(&lines[i])
		}
		if !any && req.CashFen == 0 {
			return nil, NotEligible
		}
	}
	// The cash part is the first source, at the lowest cost and open to every line: a min-cost
	// flow uses all of it (it never exceeds the total), wherever the points cannot pay.
	sources := append([]candidate{{accountID: ExternalCashAccountID(d.s.shard), availFen: req.CashFen}}, cands...)
	need := make([]int64, len(lines))
	for i := range lines {
		need[i] = lines[i].AmountFen()
		eligible[i] = append([]bool{req.CashFen > 0}, eligible[i]...)
	}
	flow, ok := minCostFlow(need, sources, eligible)
	if !ok {
		return nil, InsufficientPoints
	}
	holds := dst
	var cashFen int64
	for i := range lines {
		for j := range sources {
			if f := flow[i][j]; f > 0 {
				holds = appendHold(holds, Hold{AccountID: sources[j].accountID, ProgramID: sources[j].programID, MerchantID: lines[i].MerchantID, AmountFen: f})
				if j == 0 {
					cashFen += f
				}
			}
		}
	}
	if cashFen != req.CashFen {
		panic(fmt.Sprintf("welfare: allocation takes %d of a cash part of %d", cashFen, req.CashFen))
	}
	if len(holds) > orderHoldsMax {
		return nil, InvalidOrder
	}
	return holds, OK
}

// appendHold merges holds of the same account and merchant.
func appendHold(holds []Hold, h Hold) []Hold {
	for i := range holds {
		if holds[i].AccountID == h.AccountID && holds[i].MerchantID == h.MerchantID {
			holds[i].AmountFen += h.AmountFen
			return holds
		}
	}
	return append(holds, h)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// minCostFlow sends need[i] from each line i to programs j it is eligible for, within each
// program's available points, at cost j (the expiry rank), by successive shortest paths. It
// returns the flow per line and program, or false when the lines cannot all be paid.
func minCostFlow(need []int64, cands []candidate, eligible [][]bool) ([][]int64, bool) {
	L, P := len(need), len(cands)
	// Nodes: 0 source, 1..L lines, L+1..L+P programs, L+P+1 sink.
	n := L + P + 2
	sink := n - 1
	type edge struct {
		to, rev int
		capFen  int64
		cost    int64
	}
	g := make([][]edge, n)
	add := func(u, v int, c, cost int64) {
		g[u] = append(g[u], edge{to: v, rev: len(g[v]), capFen: c, cost: cost})
		g[v] = append(g[v], edge{to: u, rev: len(g[u]) - 1, capFen: 0, cost: -cost})
	}
	var total int64
	for i := 0; i < L; i++ {
		if need[i] > 0 {
			add(0, 1+i, need[i], 0)
			total += need[i]
		}
		for j := 0; j < P; j++ {
			if eligible[i][j] {
				add(1+i, 1+L+j, need[i], int64(j+1))
			}
		}
	}
	for j := 0; j < P; j++ {
		add(1+L+j, sink, cands[j].availFen, 0)
	}
	var sent int64
	dist := make([]int64, n)
	prevNode := make([]int, n)
	prevEdge := make([]int, n)
	for sent < total {
		// Bellman-Ford: the graph is tiny and has negative residual costs.
		for i := range dist {
			dist[i] = 1 << 62
		}
		dist[0] = 0
		for changed, round := true, 0; changed && round < n; round++ {
			changed = false
			for u := 0; u < n; u++ {
				if dist[u] == 1<<62 {
					continue
				}
				for k, e := range g[u] {
					if e.capFen > 0 && dist[u]+e.cost < dist[e.to] {
						dist[e.to], prevNode[e.to], prevEdge[e.to], changed = dist[u]+e.cost, u, k, true
					}
				}
			}
		}
		if dist[sink] == 1<<62 {
			break
		}
		push := total - sent
		for v := sink; v != 0; v = prevNode[v] {
			push = min(push, g[prevNode[v]][prevEdge[v]].capFen)
		}
		for v := sink; v != 0; v = prevNode[v] {
			e := &g[prevNode[v]][prevEdge[v]]
			e.capFen -= push
			g[v][e.rev].capFen += push
		}
		sent += push
	}
	if sent < total {
		return nil, false
	}
	flow := make([][]int64, L)
	for i := 0; i < L; i++ {
		flow[i] = make([]int64, P)
		for _, e := range g[1+i] {
			if e.to > L && e.to <= L+P {
				flow[i][e.to-1-L] = g[e.to][e.rev].capFen // the reverse edge holds what was sent
			}
		}
	}
	return flow, true
}

// sendToSKUShards sends one message per SKU shard about the order's lines (all lines, or those
// whose index only keeps), and returns how many shards were sent to. hint is the order's row
// here, for the answers to a reservation.
func (d *decider) sendToSKUShards(o *Order, kind byte, hint uint32, only func(l *OrderLine) bool) int {
	// The SKU shards the lines name, in shard order: an order has a few lines, the engine may
	// have thousands of shards.
	var shardsBuf [8]uint32
	shards := shardsBuf[:0]
	for i := range o.Lines {
		if l := &o.Lines[i]; !slices.Contains(shards, l.Shard) && (only == nil || only(l)) {
			shards = append(shards, l.Shard)
		}
	}
	slices.Sort(shards)
	var linesBuf [8]stockLine
	for _, s := range shards {
		lines := linesBuf[:0]
		for i := range o.Lines {
			l := &o.Lines[i]
			if l.Shard == s && (only == nil || only(l)) {
				lines = append(lines, stockLine{SKU: l.SKU, Quantity: l.Quantity, UnitPriceFen: l.UnitPriceFen,
					MerchantID: l.MerchantID, Category: l.Category, Hint: l.stockHint})
			}
		}
		d.send(s, d.stockMessageBytes(kind, &stockMessage{Order: o.ID, Member: o.MemberID, Union: o.UnionID, Hint: hint, Lines: lines}))
	}
	return len(shards)
}

func (d *decider) send(to uint32, payload []byte) {
	d.out.Outgoing = append(d.out.Outgoing, Outgoing{ToShard: to, Payload: payload})
}

// stockMessageBytes encodes a stock message into the output's arena, so a rush of orders
// allocates no buffer per message. A payload stays valid until the output is reset.
func (d *decider) stockMessageBytes(kind byte, m *stockMessage) []byte {
	start := len(d.out.arena)
	d.out.arena = appendStockMessage(d.out.arena, kind, m)
	return d.out.arena[start:len(d.out.arena):len(d.out.arena)]
}

// receiveReserved records a SKU shard's answers for an order's lines.
func (d *decider) receiveReserved(from uint32, m *stockMessage) {
	o, ok := d.s.orders.getHinted(m.Order, m.Hint)
	if !ok {
		return
	}
	if o.State != OrderReserving {
		// The checkout is over (timed out or cancelled): give back what was reserved anyway.
		var keep []stockLine
		for _, l := range m.Lines {
			if l.Code == stock.OK || l.Code == stock.Exists {
				keep = append(keep, l)
			}
		}
		if len(keep) > 0 {
			d.send(from, d.stockMessageBytes(messageRelease, &stockMessage{Order: o.ID, Member: o.MemberID, Lines: keep}))
		}
		return
	}
	prev, n := d.nextForm(o)
	for _, l := range m.Lines {
		for i := range n.Lines {
			if n.Lines[i].Shard == from && n.Lines[i].SKU == l.SKU {
				n.Lines[i].Code, n.Lines[i].stockHint = l.Code, l.Hint
			}
		}
	}
	n.Awaiting--
	if n.Awaiting > 0 {
		d.emitOrder(prev, n)
		return
	}
	for i := range n.Lines {
		if c := n.Lines[i].Code; c != stock.OK && c != stock.Exists {
			d.endCheckout(prev, n, OrderRefused, stockRefusal(c))
			return
		}
	}
	if n.CashFen > 0 {
		n.State, n.DeadlineNanos = OrderAwaitingPayment, d.now+d.s.config.PaymentTimeoutNanos
		d.emitOrder(prev, n)
		d.orderNote(n)
		return
	}
	d.place(prev, n)
}

// nextForm returns the form that replaces o, and the form it replaces as a patch compares them.
// A form nobody was given changes in place, its old fields kept in the state's scratch, so a
// sale's checkout answered by its SKU shard allocates no new form. A shared form is copied.
func (d *decider) nextForm(o *Order) (prev, n *Order) {
	if o.shared {
		return o, cloneOrder(o)
	}
	s := d.s
	s.prevForm = *o
	s.prevLines = append(s.prevLines[:0], o.Lines...)
	s.prevHolds = append(s.prevHolds[:0], o.Holds...)
	s.prevForm.Lines, s.prevForm.Holds = s.prevLines, s.prevHolds
	return &s.prevForm, o
}

// place confirms the order o, the new form of prev: its units are sold and its points stay
// held until pickup.
func (d *decider) place(prev, o *Order) {
	o.State, o.PlacedNanos, o.DeadlineNanos = OrderPlaced, d.now, 0
	d.sendToSKUShards(o, messageConfirm, 0, nil)
	d.emitOrder(prev, o)
	d.orderNote(o)
}

// endCheckout ends an open checkout or a placed order: holds are voided, reserved or sold
// units go back, and the order ends in state with code.
//
// prev is the form o replaces.
func (d *decider) endCheckout(prev, o *Order, state OrderState, code Code) {
	for i := range o.Holds {
		d.voidHold(o, &o.Holds[i])
	}
	d.sendToSKUShards(o, messageRelease, 0, func(l *OrderLine) bool { return l.Code == stock.OK || l.Code == stock.Exists })
	o.State, o.Code, o.DeadlineNanos = state, code, 0
	d.emitOrder(prev, o)
	d.orderNote(o)
}

// voidHold releases a hold. Points voided back to a program that has closed since go on to
// the union's budget, as the program's expiry would have sent them.
func (d *decider) voidHold(o *Order, h *Hold) {
	if h.TransferID == 0 {
		return
	}
	d.engine(ledger.TransferCommand(ledger.Transfer{
		ID: ledger.TransferID(d.newID()), PendingID: h.TransferID, Flags: ledger.VoidPending, Code: ledger.CodeVoid, UserData: uint64(o.ID),
	}))
	if h.ProgramID == 0 {
		// Cash that was paid goes back to the member through the platform.
		d.note(OrderNote{Kind: NoteRefundPayment, OrderID: o.ID, Member: o.MemberID, RefundCashFen: h.AmountFen, PaymentRef: o.PaymentRef})
		return
	}
	// What an owed reversal takes is not returned a second time if the program has closed.
	owedFen := d.collectOwed(o.MemberID, h.ProgramID, h.AccountID, h.AmountFen)
	d.returnIfClosed(o.MemberID, h.ProgramID, h.AccountID, h.AmountFen-owedFen)
}

func (d *decider) returnIfClosed(member MemberID, program ProgramID, account ledger.AccountID, amountFen int64) {
	m, ok := d.s.members[member]
	if !ok {
		return
	}
	hd, ok := m.Holding(program)
	if !ok || !hd.Closed || amountFen <= 0 {
		return
	}
	d.returnToBudget(d.s.programs[program], account, amountFen)
	d.emit(Event{Kind: EventHoldingClosed, ProgramID: program, MemberID: member, AmountFen: amountFen})
}

func stockRefusal(c stock.Code) Code {
	switch c {
	case stock.SoldOut:
		return SoldOut
	case stock.LimitExceeded:
		return LimitExceeded
	case stock.OutsideWindow:
		return OutsideWindow
	case stock.PriceChanged:
		return PriceChanged
	case stock.NotListed, stock.UnknownSKU:
		return NotListed
	}
	return InvalidOrder
}

func (d *decider) confirmPayment(c *Command) Result {
	o, ok := d.s.orders.get(c.OrderID)
	switch {
	case !ok || o.MemberID != c.MemberID && c.MemberID != 0:
		return Result{Code: UnknownOrder}
	case o.State == OrderAwaitingPayment && d.now < o.DeadlineNanos:
	case o.PaymentRef == c.PaymentRef && c.PaymentRef != 0 && o.State != OrderRefused:
		return Result{Code: Exists, Order: o.State}
	case o.State == OrderRefused && o.Code == PaymentTimeout || o.State == OrderAwaitingPayment:
		// Too late: the platform must refund what it took.
		d.note(OrderNote{Kind: NoteRefundPayment, OrderID: o.ID, Member: o.MemberID, RefundCashFen: o.CashFen, PaymentRef: c.PaymentRef})
		return Result{Code: LatePayment, Order: o.State}
	default:
		return Result{Code: WrongOrderState, Order: o.State}
	}
	n := cloneOrder(o)
	n.PaymentRef = c.PaymentRef
	for i := range n.Holds {
		h := &n.Holds[i]
		if h.ProgramID == 0 {
			h.TransferID = ledger.TransferID(d.newID())
			d.engine(ledger.TransferCommand(ledger.Transfer{
				ID: h.TransferID, DebitAccountID: h.AccountID, CreditAccountID: d.receivable(h.MerchantID),
				AmountFen: h.AmountFen, Code: ledger.CodeSpendHold, UserData: uint64(o.ID), Flags: ledger.Pending,
			}))
		}
	}
	d.place(o, n)
	return Result{Order: n.State}
}

// cloneOrder returns a copy of o that shares nothing with it. Each form of an order is a new
// copy: notes and readers keep the forms they were given.
func cloneOrder(o *Order) *Order {
	if len(o.Lines) > 1 || len(o.Holds) > 1 {
		n := *o
		n.Lines = slices.Clone(o.Lines)
		n.Holds = slices.Clone(o.Holds)
		return &n
	}
	// The usual order, one line paid from one program, is one allocation: fewer objects for the
	// collector, and the order's lines are in the cache lines it reads anyway.
	b := new(orderBox)
	b.order = *o
	b.order.Lines = append(b.line[:0:1], o.Lines...)
	b.order.Holds = append(b.hold[:0:1], o.Holds...)
	return &b.order
}

// orderBox is an order with room for one line and one hold.
type orderBox struct {
	order Order
	line  [1]OrderLine
	hold  [1]Hold
}

func (d *decider) cancelOrder(c *Command) Result {
	o, ok := d.s.orders.get(c.OrderID)
	if !ok || (c.MemberID != 0 && o.MemberID != c.MemberID) {
		return Result{Code: UnknownOrder}
	}
	switch o.State {
	case OrderCancelled:
		return Result{Code: Exists, Order: o.State}
	case OrderReserving, OrderAwaitingPayment, OrderPlaced:
	default:
		return Result{Code: WrongOrderState, Order: o.State}
	}
	n := cloneOrder(o)
	if n.State == OrderReserving {
		// Lines not yet answered may still be reserved: release every line; a SKU shard
		// ignores a release of what it never reserved.
		for i := range n.Lines {
			n.Lines[i].Code = stock.OK
		}
	}
	d.endCheckout(o, n, OrderCancelled, Cancelled)
	return Result{Order: n.State}
}

// advance moves an order through fulfilment: shipped, arrived (ready for pickup), handed out.
func (d *decider) advance(c *Command, from, to OrderState) Result {
	o, ok := d.s.orders.get(c.OrderID)
	switch {
	case !ok:
		return Result{Code: UnknownOrder}
	case o.State == to:
		return Result{Code: Exists, Order: o.State}
	case o.State != from:
		return Result{Code: WrongOrderState, Order: o.State}
	}
	n := cloneOrder(o)
	n.State = to
	switch to {
	case OrderReady:
		n.ReadyNanos, n.DeadlineNanos = d.now, d.now+d.s.config.UncollectedNanos
	case OrderHandedOut:
		for i := range n.Holds {
			h := &n.Holds[i]
			postID := ledger.TransferID(d.newID())
			d.engine(ledger.TransferCommand(ledger.Transfer{
				ID: postID, PendingID: h.TransferID, Flags: ledger.PostPending, Code: ledger.CodePost, UserData: uint64(o.ID),
			}))
			h.TransferID = postID // The post is what a return refunds.
		}
		n.HandedNanos, n.DeadlineNanos = d.now, 0
		d.sendToSKUShards(n, messageHandOut, 0, nil)
	}
	d.emitOrder(o, n)
	d.orderNote(n)
	return Result{Order: n.State}
}

// returnOrder takes back goods already handed out, within the return window: the points are
// refunded to the program (or its union's budget if the program has closed) and the
// merchant's receivable is reversed.
func (d *decider) returnOrder(c *Command) Result {
	o, ok := d.s.orders.get(c.OrderID)
	switch {
	case !ok || (c.MemberID != 0 && o.MemberID != c.MemberID):
		return Result{Code: UnknownOrder}
	case o.State == OrderReturned:
		return Result{Code: Exists, Order: o.State}
	case o.State != OrderHandedOut:
		return Result{Code: NotHandedOut, Order: o.State}
	case d.now >= o.HandedNanos+d.s.config.ReturnWindowNanos:
		return Result{Code: ReturnWindowClosed, Order: o.State}
	}
	n := cloneOrder(o)
	for i := range n.Holds {
		h := &n.Holds[i]
		h.RefundID = ledger.TransferID(d.newID())
		d.engine(ledger.TransferCommand(ledger.Transfer{
			ID: h.RefundID, RefundOfID: h.TransferID, AmountFen: h.AmountFen, Code: ledger.CodeRefund, UserData: uint64(o.ID),
		}))
		if h.ProgramID == 0 {
			d.note(OrderNote{Kind: NoteRefundPayment, OrderID: o.ID, Member: o.MemberID, RefundCashFen: h.AmountFen, PaymentRef: o.PaymentRef})
		} else {
			owedFen := d.collectOwed(o.MemberID, h.ProgramID, h.AccountID, h.AmountFen)
			d.returnIfClosed(o.MemberID, h.ProgramID, h.AccountID, h.AmountFen-owedFen)
		}
	}
	n.State, n.ReturnedNanos = OrderReturned, d.now
	d.sendToSKUShards(n, messageGoodsBack, 0, nil)
	d.emitOrder(o, n)
	d.orderNote(n)
	return Result{Order: n.State}
}

// tickOrders ends open checkouts past their deadline and returns orders left uncollected.
//
// Orders due at the same time are decided in id order, as they always were: the table's rows,
// which its deadlines name, are numbered in arrival order live and in id order after a restore,
// and the same journal must make the same decisions either way.
func (d *decider) tickOrders() {
	s := d.s
	due := s.dueOrders[:0]
	for {
		o, ok := s.orders.popDue(d.now)
		if !ok {
			break
		}
		due = append(due, o)
	}
	slices.SortFunc(due, func(a, b *Order) int {
		if a.DeadlineNanos != b.DeadlineNanos {
			return cmpInt64(a.DeadlineNanos, b.DeadlineNanos)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	defer func() { clear(due); s.dueOrders = due[:0] }()
	for _, o := range due {
		switch o.State {
		case OrderReserving:
			n := cloneOrder(o)
			for i := range n.Lines {
				n.Lines[i].Code = stock.OK // Release whatever may have been reserved.
			}
			d.endCheckout(o, n, OrderRefused, CheckoutTimeout)
		case OrderAwaitingPayment:
			d.endCheckout(o, cloneOrder(o), OrderRefused, PaymentTimeout)
		case OrderReady:
			n := cloneOrder(o)
			for i := range n.Holds {
				d.voidHold(n, &n.Holds[i])
			}
			n.State, n.Code, n.DeadlineNanos, n.ReturnedNanos = OrderUncollected, Uncollected, 0, d.now
			d.sendToSKUShards(n, messageUncollected, 0, nil)
			d.emitOrder(o, n)
			d.orderNote(n)
		}
	}
}

// applyOrder stores an order's new form.
func (s *State) applyOrder(o *Order) {
	prev, _ := s.orders.get(o.ID)
	s.orders.store(prev, o)
}

// Stock messages between a member's shard and SKU shards.
const (
	messageReserve     = 10
	messageReserved    = 11
	messageConfirm     = 12
	messageRelease     = 13
	messageHandOut     = 14
	messageGoodsBack   = 15
	messageUncollected = 16
)

type stockLine struct {
	SKU          stock.SKUID
	Quantity     int64
	UnitPriceFen int64
	Code         stock.Code
	// MerchantID and Category are what the member's shard checked the whitelists against; the
	// SKU's shard refuses a line whose SKU is not that.
	MerchantID MerchantID
	Category   string
	// Hint is where the SKU shard keeps the line's reservation, in its answer and in what the
	// member's shard sends about it later.
	Hint stock.Hint
}

type stockMessage struct {
	Order  OrderID
	Member MemberID
	Union  UnionID
	// Hint is the order's row on the member's shard (plus one), in a reservation and its answer.
	Hint  uint32
	Lines []stockLine
}

// stockLineBytes is a line's fixed part; its category follows.
const stockLineBytes = 8 + 8 + 8 + 1 + 8 + 1

// compactStock marks a stock message whose lines carry only the SKU, quantity and code: every
// kind but the reservation, whose SKU shard checks the price, merchant and category too. Kinds
// without it are the full form, which journals written before it still hold.
const compactStock = 0x40

// compactLineBytes is a compact line: SKU, quantity and code.
const compactLineBytes = 8 + 8 + 1

// hintedStock marks a stock message with hints: the message's after its line count, and each
// line's after the line (four bytes each). Every stock message is sent with them now; kinds
// without it are the form older journals' outboxes hold.
const hintedStock = 0x20

func appendStockMessage(dst []byte, kind byte, m *stockMessage) []byte {
	le := binary.LittleEndian
	compact := kind != messageReserve
	if compact {
		kind |= compactStock
	}
	dst = append(dst, kind|hintedStock)
	dst = le.AppendUint64(dst, uint64(m.Order))
	dst = le.AppendUint64(dst, uint64(m.Member))
	dst = le.AppendUint64(dst, uint64(m.Union))
	dst = le.AppendUint16(dst, uint16(len(m.Lines)))
	dst = le.AppendUint32(dst, m.Hint)
	for _, l := range m.Lines {
		dst = le.AppendUint64(dst, uint64(l.SKU))
		dst = le.AppendUint64(dst, uint64(l.Quantity))
		if !compact {
			dst = le.AppendUint64(dst, uint64(l.UnitPriceFen))
		}
		dst = append(dst, byte(l.Code))
		if !compact {
			dst = le.AppendUint64(dst, uint64(l.MerchantID))
			dst = append(dst, byte(len(l.Category)))
			dst = append(dst, l.Category...)
		}
		dst = le.AppendUint32(dst, uint32(l.Hint))
	}
	return dst
}

// decodeStockMessage decodes a stock message into the state's scratch lines, valid until the
// next decode: the deciders that read them keep copies, never the slice.
func (s *State) decodeStockMessage(b []byte, compact, hinted bool) (stockMessage, error) {
	m, err := s.decodeStockLines(b, s.stockLines[:0], compact, hinted)
	s.stockLines = m.Lines[:0]
	return m, err
}

// intern returns the category named by b, allocating only the first time it is seen.
func (s *State) intern(b []byte) string {
	if c, ok := s.categories[string(b)]; ok {
		return c
	}
	if s.categories == nil || len(s.categories) >= categoriesInternedMax {
		s.categories = map[string]string{}
	}
	c := string(b)
	s.categories[c] = c
	return c
}

// categoriesInternedMax bounds the interned names: a merchant typing new categories cannot grow
// the map without end.
const categoriesInternedMax = 4096

// decodeStockLines decodes a stock message, its lines appended to lines.
func (s *State) decodeStockLines(b []byte, lines []stockLine, compact, hinted bool) (stockMessage, error) {
	le := binary.LittleEndian
	hintBytes := 0
	if hinted {
		hintBytes = 4
	}
	if len(b) < 26+hintBytes {
		return stockMessage{}, fmt.Errorf("welfare: short stock message")
	}
	m := stockMessage{Order: OrderID(le.Uint64(b)), Member: MemberID(le.Uint64(b[8:])), Union: UnionID(le.Uint64(b[16:])), Lines: lines}
	n := int(le.Uint16(b[24:]))
	if hinted {
		m.Hint = le.Uint32(b[26:])
	}
	b = b[26+hintBytes:]
	for i := 0; i < n; i++ {
		var l stockLine
		size := compactLineBytes
		if compact {
			if len(b) < size+hintBytes {
				return stockMessage{}, fmt.Errorf("welfare: stock message of %d lines is short at line %d", n, i)
			}
			l = stockLine{SKU: stock.SKUID(le.Uint64(b)), Quantity: int64(le.Uint64(b[8:])), Code: stock.Code(b[16])}
		} else {
			if len(b) < stockLineBytes || len(b) < stockLineBytes+int(b[stockLineBytes-1])+hintBytes {
				return stockMessage{}, fmt.Errorf("welfare: stock message of %d lines is short at line %d", n, i)
			}
			size = stockLineBytes + int(b[stockLineBytes-1])
			l = stockLine{
				SKU: stock.SKUID(le.Uint64(b)), Quantity: int64(le.Uint64(b[8:])), UnitPriceFen: int64(le.Uint64(b[16:])), Code: stock.Code(b[24]),
				MerchantID: MerchantID(le.Uint64(b[25:])), Category: s.intern(b[stockLineBytes:size]),
			}
		}
		if hinted {
			l.Hint = stock.Hint(le.Uint32(b[size:]))
		}
		m.Lines = append(m.Lines, l)
		b = b[size+hintBytes:]
	}
	if len(b) != 0 {
		return stockMessage{}, fmt.Errorf("welfare: stock message of %d lines has %d bytes more", n, len(b))
	}
	return m, nil
}

// receiveStock decides a stock message on the SKU's shard.
func (d *decider) receiveStock(kind byte, from uint32, m *stockMessage) {
	s := d.s
	emit := d.stockEmitter()
	switch kind {
	case messageReserve:
		var linesBuf [4]stockLine // the rush's carts, without a heap allocation per message
		reply := stockMessage{Order: m.Order, Member: m.Member, Hint: m.Hint, Lines: linesBuf[:0]}
		for _, l := range m.Lines {
			if catalogDiffers(s.stock, m.Order, &l) {
				// The member's shard checked the programs' whitelists against another category
				// or merchant than this SKU's: refused as an invalid order.
				l.Code = stock.InvalidSKU
			} else {
				l.Code = s.stock.Reserve(m.Order, stock.MemberID(m.Member), stock.UnionID(m.Union), l.SKU, l.Quantity, l.UnitPriceFen, d.now, s.config.Campaigns, emit)
			}
			l.Hint = 0
			if l.Code == stock.OK || l.Code == stock.Exists {
				l.Hint = s.stock.HintOf(m.Order, l.SKU)
			}
			reply.Lines = append(reply.Lines, l)
		}
		d.send(from, d.stockMessageBytes(messageReserved, &reply))
	case messageReserved:
		d.receiveReserved(from, m)
	case messageConfirm:
		for _, l := range m.Lines {
			s.stock.MoveHinted(m.Order, l.SKU, l.Hint, []stock.ReservationState{stock.StateReserved}, stock.StateSold, emit)
		}
	case messageRelease:
		for _, l := range m.Lines {
			s.stock.MoveHinted(m.Order, l.SKU, l.Hint, []stock.ReservationState{stock.StateReserved, stock.StateSold}, stock.StateReleased, emit)
		}
	case messageHandOut:
		for _, l := range m.Lines {
			s.stock.MoveHinted(m.Order, l.SKU, l.Hint, []stock.ReservationState{stock.StateSold}, stock.StateHandedOut, emit)
		}
	case messageGoodsBack:
		for _, l := range m.Lines {
			s.stock.MoveHinted(m.Order, l.SKU, l.Hint, []stock.ReservationState{stock.StateHandedOut}, stock.StateReturned, emit)
		}
	case messageUncollected:
		// Goods never collected go back on the shelf at once.
		for _, l := range m.Lines {
			if s.stock.MoveHinted(m.Order, l.SKU, l.Hint, []stock.ReservationState{stock.StateSold}, stock.StateReturned, emit) == stock.OK {
				s.stock.Restock(l.SKU, l.Quantity, emit)
			}
		}
	}
}

// catalogDiffers reports whether a line names another category or merchant than its SKU's,
// for a SKU the order has not reserved yet (a retried reservation answers as it did).
func catalogDiffers(st *stock.State, order OrderID, l *stockLine) bool {
	sk, ok := st.SKU(l.SKU)
	if !ok || (sk.Category == l.Category && MerchantID(sk.MerchantID) == l.MerchantID) {
		return false
	}
	_, _, _, reserved := st.Reservation(order, l.SKU)
	return !reserved
}

// stockEmitter journals stock events into the decider's output and turns sold-out changes into
// notes. The function is made once per state, not once per message: a function value that
// captured the decider would be allocated for each.
func (d *decider) stockEmitter() stock.Emitter {
	s := d.s
	s.stockOut = d.out
	if s.stockEmitOf != s {
		s.stockEmit, s.stockEmitOf = s.emitStock, s
	}
	return s.stockEmit
}

func (s *State) emitStock(e stock.Event) {
	out := s.stockOut
	out.Events = stock.AppendEvent(out.Events, &e)
	switch e.Kind {
	case stock.EventSoldOut:
		out.Notes = append(out.Notes, OrderNote{Kind: NoteSoldOut, SKU: e.SKUID})
	case stock.EventBackInStock:
		out.Notes = append(out.Notes, OrderNote{Kind: NoteBackInStock, SKU: e.SKUID})
	}
}
