package shardsim

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"huigong/engine/ledger"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// The workload draws each shard's request from the seed and from what the simulation knows:
// the model, and the view the last settle refreshed (members' holdings, orders' states, stock).
// Unlike engine/sim's, it looks at answers: an order is shipped because a note said it was
// placed. The seed fixes every choice given what was seen; which of two racing orders got the
// last unit is up to the scheduler, so a replay follows the same plan until the sagas race.

const (
	nanosPerSecond = int64(1_000_000_000)
	nanosPerMinute = 60 * nanosPerSecond
	nanosPerHour   = 60 * nanosPerMinute
	nanosPerDay    = 24 * nanosPerHour

	merchantsCount      = 4
	pickupPointsCount   = 3
	membersMax          = 1_200 // registrations stop here, so a long run stays quick
	skusPerShardMax     = 6
	unionsPerShardMax   = 4
	orderLinesMax       = 3
	requestActionsMin   = 2
	requestActionsMax   = 24
	markerFundMaxFen    = 500_00
	fundingMaxFen       = 40_000_00
	fundingMinFen       = 2_000_00
	ordersFollowedUpMax = 6
)

var skuCategories = []string{"food", "daily", "books", "appliance"}

var activityKinds = []string{"quiz", "lecture", "checkin", "volunteer"}

type workload struct {
	rng *rand.Rand
	m   *model

	nextMember   welfare.MemberID
	nextProgram  welfare.ProgramID
	nextOrder    welfare.OrderID
	nextAward    uint64
	nextPayment  uint64
	nextTransfer ledger.TransferID
	nextSKU      []int // per shard
	nextUnion    []int // per shard

	// Per request.
	shard uint32
	now   int64
	busy  map[welfare.MemberID]bool
	cmds  []welfare.Command
}

func newWorkload(seed int64, m *model) *workload {
	return &workload{
		rng: rand.New(rand.NewPCG(uint64(seed), 0x5348_4152_4453_494d)), m: m,
		nextMember: 1, nextProgram: 1, nextOrder: 1, nextAward: 1, nextPayment: 1, nextTransfer: 1,
		nextSKU: make([]int, m.shards), nextUnion: make([]int, m.shards),
	}
}

func unionID(shard uint32, k int) welfare.UnionID { return welfare.UnionID((int(shard)+1)*1000 + k) }

func officers(u welfare.UnionID) []welfare.OfficerID {
	return []welfare.OfficerID{welfare.OfficerID(u)*10 + 1, welfare.OfficerID(u)*10 + 2}
}

func skuID(shard uint32, k int) stock.SKUID { return stock.SKUID((int(shard)+1)*100 + k) }

func (w *workload) chance(percent int) bool { return w.rng.IntN(100) < percent }

func (w *workload) between(lo, hi int64) int64 { return lo + w.rng.Int64N(hi-lo+1) }

func pick[T any](w *workload, list []T) T { return list[w.rng.IntN(len(list))] }

func (w *workload) add(c welfare.Command) { w.cmds = append(w.cmds, c) }

// setup is the first request of each shard: its unions with members, its SKUs with stock, and
// funding. Shard 0 also sets the federation's configuration, which it broadcasts.
func (w *workload) setup(shard uint32, now int64, cfg *welfare.Config) []welfare.Command {
	w.begin(shard, now)
	if shard == 0 {
		w.add(welfare.Command{Kind: welfare.SetConfig, Config: cfg})
		w.add(welfare.Command{Kind: welfare.SetPickupPoint, PickupPoint: welfare.PickupPoint{ID: 1, Name: "e-Home"}})
		for i := 1; i <= merchantsCount; i++ {
			w.add(welfare.Command{Kind: welfare.SetMerchant, Merchant: welfare.Merchant{ID: welfare.MerchantID(i), Approved: true}})
		}
	}
	for range 2 {
		u := w.createUnion()
		for range 6 + w.rng.IntN(6) {
			w.registerMember(u)
		}
		w.fund(u, w.between(fundingMinFen, fundingMaxFen))
	}
	for range 2 {
		w.newSKU()
	}
	return w.end()
}

func (w *workload) begin(shard uint32, now int64) {
	w.shard, w.now, w.cmds = shard, now, nil
	if w.busy == nil {
		w.busy = map[welfare.MemberID]bool{}
	}
}

// startRound forgets the members named by the last round's moves: the settle or the answers
// since say where they are.
func (w *workload) startRound() { clear(w.busy) }

func (w *workload) end() []welfare.Command {
	cmds := w.cmds
	w.cmds = nil
	return cmds
}

// marker is the first command of every request: a funding with a fresh transfer id, so that a
// request that was not answered before a crash is known to have survived (the funding is
// there) or not. A request is decided in one batch and journaled in one record, whole or not
// at all.
func (w *workload) marker(shard uint32) welfare.Command {
	u := w.m.unionList[shard][0]
	w.nextTransfer++
	return welfare.Command{Kind: welfare.FundUnion, UnionID: u, TransferID: w.nextTransfer, AmountFen: w.between(1_00, markerFundMaxFen)}
}

func (w *workload) fund(u welfare.UnionID, amountFen int64) {
	w.nextTransfer++
	w.add(welfare.Command{Kind: welfare.FundUnion, UnionID: u, TransferID: w.nextTransfer, AmountFen: amountFen})
}

func (w *workload) createUnion() welfare.UnionID {
	w.nextUnion[w.shard]++
	u := unionID(w.shard, w.nextUnion[w.shard])
	w.add(welfare.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: u, Name: fmt.Sprintf("union %d", u), Officers: officers(u)}})
	return u
}

func (w *workload) registerMember(u welfare.UnionID) {
	id := w.nextMember
	w.nextMember++
	w.busy[id] = true // Not in the model until answered: nothing else of this request names it.
	w.add(welfare.Command{Kind: welfare.RegisterMember, MemberID: id, UnionID: u, Registered: true, DuesPaid: w.chance(85)})
}

func (w *workload) newSKU() {
	if w.nextSKU[w.shard] >= skusPerShardMax {
		return
	}
	w.nextSKU[w.shard]++
	sku := stock.SKU{
		ID: skuID(w.shard, w.nextSKU[w.shard]), MerchantID: uint64(1 + w.rng.IntN(merchantsCount)),
		Category: pick(w, skuCategories), PriceFen: w.between(5_00, 150_00), Listed: w.chance(95),
	}
	if w.chance(40) {
		sku.LimitPerMember = w.between(1, 3)
	}
	if w.chance(20) {
		sku.SaleFromNanos = w.now - w.between(0, nanosPerDay)
		sku.SaleToNanos = w.now + w.between(nanosPerHour, 20*nanosPerDay)
	}
	sku.Name = fmt.Sprintf("sku %d", sku.ID)
	w.add(welfare.Command{Kind: welfare.SetSKU, SKU: sku})
	w.add(welfare.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: sku.ID}, Quantity: w.between(3, 40)})
}

// request draws a fresh request for shard: a marker, then a random mix of actions.
func (w *workload) request(shard uint32, now int64) []welfare.Command {
	w.begin(shard, now)
	w.add(w.marker(shard))
	n := requestActionsMin + int(float64(requestActionsMax-requestActionsMin)*w.rng.Float64()*w.rng.Float64())
	for range n {
		w.action()
	}
	return w.end()
}

// actions and their weights.
var actions = []struct {
	weight int
	fn     func(w *workload)
}{
	{6, (*workload).actRegister},
	{1, (*workload).actDues},
	{2, (*workload).actFund},
	{4, (*workload).actCreateProgram},
	{1, (*workload).actApprove},
	{5, (*workload).actIssue},
	{1, (*workload).actRevoke},
	{2, (*workload).actMove},
	{1, (*workload).actNewSKU},
	{1, (*workload).actPriceChange},
	{2, (*workload).actReceive},
	{1, (*workload).actRestock},
	{16, (*workload).actPlaceOrder},
	{12, (*workload).actFollowUp},
	{3, (*workload).actAward},
	{1, (*workload).actReverse},
	{1, (*workload).actOrganisation},
}

var actionsWeight = func() int {
	t := 0
	for _, a := range actions {
		t += a.weight
	}
	return t
}()

func (w *workload) action() {
	x := w.rng.IntN(actionsWeight)
	for _, a := range actions {
		if x < a.weight {
			a.fn(w)
			return
		}
		x -= a.weight
	}
}

// membersHere lists the members the model places on the request's shard for certain, not
// named yet by another request of the round.
func (w *workload) membersHere(union welfare.UnionID) []*memberInfo {
	var out []*memberInfo
	for _, id := range w.m.memberList {
		mi := w.m.members[id]
		if mi.shard == w.shard && !mi.moving && !mi.uncertain && !w.busy[id] && (union == 0 || mi.union == union) {
			out = append(out, mi)
		}
	}
	return out
}

// programsHere lists the programs of the shard's unions, active at the request's time.
func (w *workload) programsHere(filter func(p *programInfo) bool) []*programInfo {
	var out []*programInfo
	for _, id := range w.m.programList {
		p := w.m.programs[id]
		if p.shard == w.shard && p.activeAt(w.now) && (filter == nil || filter(p)) {
			out = append(out, p)
		}
	}
	return out
}

func (w *workload) skusHere() []*skuInfo {
	var out []*skuInfo
	for _, id := range w.m.skuList {
		if sk := w.m.skus[id]; sk.shard == w.shard {
			out = append(out, sk)
		}
	}
	return out
}

func (w *workload) actRegister() {
	if int(w.nextMember) > membersMax {
		return
	}
	w.registerMember(pick(w, w.m.unionList[w.shard]))
}

func (w *workload) actDues() {
	ms := w.membersHere(0)
	if len(ms) == 0 {
		return
	}
	mi := pick(w, ms)
	// Mostly paying the dues; now and then lapsing, or an update that changes nothing.
	dues := mi.dues
	if !mi.dues && w.chance(90) || mi.dues && w.chance(10) {
		dues = !dues
	}
	w.add(welfare.Command{Kind: welfare.RegisterMember, MemberID: mi.id, UnionID: mi.union, Registered: true, DuesPaid: dues})
}

func (w *workload) actFund() {
	w.fund(pick(w, w.m.unionList[w.shard]), w.between(fundingMinFen, fundingMaxFen))
}

// nextFestivalDay is the first festival of the calendar that has not ended at now.
func (w *workload) nextFestivalDay() (int32, bool) {
	for _, f := range w.m.config.Festivals {
		if welfare.DayStartNanos(f.ToDay+1) > w.now {
			return f.FromDay, true
		}
	}
	return 0, false
}

func (w *workload) actCreateProgram() {
	u := pick(w, w.m.unionList[w.shard])
	ofs := officers(u)
	p := welfare.Program{ID: w.nextProgram, UnionID: u, Name: fmt.Sprintf("program %d", w.nextProgram)}
	w.nextProgram++
	p.FromNanos = w.now - w.between(0, 2*nanosPerDay)
	p.ToNanos = w.now + w.between(2*nanosPerHour, 40*nanosPerDay)
	switch x := w.rng.IntN(100); {
	case x < 35:
		p.Category = welfare.CategoryFestival
		p.AmountPerMemberFen = w.between(2, 9) * 100_00
		if w.chance(10) {
			p.AmountPerMemberFen = 1_400_00 // above the cap on its own
		}
		if day, ok := w.nextFestivalDay(); ok && !w.chance(8) {
			// The window reaches a few days past the festival (8%: the short default window,
			// mostly outside the calendar).
			p.ToNanos = max(p.ToNanos, welfare.DayStartNanos(day)+w.between(nanosPerHour, 10*nanosPerDay))
		}
	case x < 50:
		p.Category = welfare.CategoryBirthday
		p.AmountPerMemberFen = w.between(1, 4) * 100_00
	case x < 60:
		p.Category = welfare.CategoryIllness
		p.AmountPerMemberFen = w.between(2, 6) * 100_00
	case x < 75:
		p.Category = welfare.CategoryActivity // paid by awards
	default:
		p.Category = welfare.CategoryGeneral
		p.AmountPerMemberFen = w.between(50_00, 500_00)
	}
	switch x := w.rng.IntN(100); {
	case x < 25:
		p.Whitelist.Categories = []string{pick(w, skuCategories)}
		if w.chance(50) {
			if c := pick(w, skuCategories); c != p.Whitelist.Categories[0] {
				p.Whitelist.Categories = append(p.Whitelist.Categories, c)
			}
		}
	case x < 35:
		p.Whitelist.Merchants = []welfare.MerchantID{welfare.MerchantID(1 + w.rng.IntN(merchantsCount))}
	case x < 42 && len(w.m.skuList) > 0:
		for range 1 + w.rng.IntN(3) {
			if id := welfare.SKUID(pick(w, w.m.skuList)); !slices.Contains(p.Whitelist.SKUs, id) {
				p.Whitelist.SKUs = append(p.Whitelist.SKUs, id)
			}
		}
	}
	if w.chance(3) {
		p.ToNanos = p.FromNanos // invalid_window
	}
	w.add(welfare.Command{Kind: welfare.CreateProgram, Officer: ofs[0], Program: p})
	switch x := w.rng.IntN(100); {
	case x < 55:
		w.add(welfare.Command{Kind: welfare.ApproveProgram, ProgramID: p.ID, Officer: ofs[1]})
	case x < 60:
		w.add(welfare.Command{Kind: welfare.ApproveProgram, ProgramID: p.ID, Officer: ofs[0]}) // same_officer
	}
}

func (w *workload) actApprove() {
	ps := w.programsHere(func(p *programInfo) bool { return p.approvedBy == 0 })
	if len(ps) == 0 {
		return
	}
	p := pick(w, ps)
	w.add(welfare.Command{Kind: welfare.ApproveProgram, ProgramID: p.def.ID, Officer: officers(p.def.UnionID)[1]})
}

func (w *workload) actIssue() {
	ps := w.programsHere(func(p *programInfo) bool { return p.def.Category != welfare.CategoryActivity })
	if len(ps) == 0 {
		return
	}
	p := pick(w, ps)
	c := welfare.Command{Kind: welfare.Issue, ProgramID: p.def.ID, Officer: officers(p.def.UnionID)[0]}
	if w.chance(40) {
		ms := w.membersHere(p.def.UnionID)
		for range 1 + w.rng.IntN(6) {
			if len(ms) == 0 {
				break
			}
			if id := pick(w, ms).id; !slices.Contains(c.Members, id) {
				c.Members = append(c.Members, id)
			}
		}
		if others := w.membersHere(0); len(others) > 0 && w.chance(20) {
			if id := pick(w, others).id; !slices.Contains(c.Members, id) {
				c.Members = append(c.Members, id) // perhaps of another union: not_registered
			}
		}
		if len(c.Members) == 0 {
			return
		}
		if w.chance(30) {
			for range c.Members {
				c.Amounts = append(c.Amounts, w.between(10_00, 700_00))
			}
		}
	}
	w.add(c)
}

func (w *workload) actRevoke() {
	if !w.chance(30) {
		return
	}
	ps := w.programsHere(nil)
	if len(ps) == 0 {
		return
	}
	p := pick(w, ps)
	w.add(welfare.Command{Kind: welfare.RevokeProgram, ProgramID: p.def.ID, Officer: officers(p.def.UnionID)[0]})
}

func (w *workload) actMove() {
	ms := w.membersHere(0)
	if len(ms) == 0 {
		return
	}
	mi := pick(w, ms)
	to := uint32(w.rng.IntN(w.m.shards))
	var targets []welfare.UnionID
	for _, u := range w.m.unionList[to] {
		if u != mi.union {
			targets = append(targets, u)
		}
	}
	if len(targets) == 0 {
		return
	}
	w.busy[mi.id] = true // Where it is after the move is known only at the next settle.
	w.add(welfare.Command{Kind: welfare.MoveMember, MemberID: mi.id, ToUnion: pick(w, targets), ToShard: to})
}

func (w *workload) actNewSKU() {
	if w.chance(40) {
		w.newSKU()
	}
}

func (w *workload) actPriceChange() {
	sks := w.skusHere()
	if len(sks) == 0 {
		return
	}
	sk := pick(w, sks).def
	sk.PriceFen = w.between(5_00, 150_00)
	if w.chance(10) {
		sk.Listed = !sk.Listed
	}
	w.add(welfare.Command{Kind: welfare.SetSKU, SKU: sk})
}

func (w *workload) actReceive() {
	sks := w.skusHere()
	if len(sks) == 0 {
		return
	}
	w.add(welfare.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: pick(w, sks).def.ID}, Quantity: w.between(1, 15)})
}

func (w *workload) actRestock() {
	var sks []*skuInfo
	for _, sk := range w.skusHere() {
		if sk.units.Returned > 0 {
			sks = append(sks, sk)
		}
	}
	if len(sks) == 0 {
		return
	}
	sk := pick(w, sks)
	w.add(welfare.Command{Kind: welfare.RestockSKU, SKU: stock.SKU{ID: sk.def.ID}, Quantity: w.between(1, sk.units.Returned+1)})
}

func (w *workload) actPlaceOrder() {
	ms := w.membersHere(0)
	if len(ms) == 0 || len(w.m.skuList) == 0 {
		return
	}
	var holders []*memberInfo
	for _, mi := range ms {
		if len(mi.holdings) > 0 {
			holders = append(holders, mi)
		}
	}
	mi := pick(w, ms)
	if len(holders) > 0 && w.chance(85) {
		mi = pick(w, holders)
	}
	req := &welfare.OrderRequest{ID: w.nextOrder, PickupPointID: welfare.PickupPointID(1 + w.rng.IntN(pickupPointsCount))}
	w.nextOrder++
	lines := 1
	if x := w.rng.IntN(100); x >= 55 {
		lines = 2
		if x >= 85 {
			lines = orderLinesMax
		}
	}
	// Mostly SKUs on sale as far as the run knows (listed, in their window, with units left at
	// the last settle), so that orders compete for stock; now and then any.
	var sellable []stock.SKUID
	for _, id := range w.m.skuList {
		d := &w.m.skus[id].def
		if d.Listed && (d.SaleFromNanos == 0 || d.SaleFromNanos <= w.now) && (d.SaleToNanos == 0 || w.now < d.SaleToNanos) &&
			w.m.skus[id].units.Available > 0 {
			sellable = append(sellable, id)
		}
	}
	if len(sellable) == 0 || w.chance(10) {
		sellable = w.m.skuList
	}
	var totalFen int64
	for range lines {
		sk := w.m.skus[pick(w, sellable)]
		if slices.ContainsFunc(req.Lines, func(l welfare.OrderLine) bool { return l.SKU == sk.def.ID }) {
			continue
		}
		l := welfare.OrderLine{
			SKU: sk.def.ID, Quantity: 1, Shard: sk.shard, MerchantID: welfare.MerchantID(sk.def.MerchantID), Category: sk.def.Category,
			UnitPriceFen: stock.UnitPriceFen(&sk.def, stock.UnionID(mi.union), w.now, w.m.config.Campaigns),
		}
		if x := w.rng.IntN(100); x >= 80 {
			l.Quantity = 2
			if x >= 95 {
				l.Quantity = 3
			}
		}
		switch x := w.rng.IntN(100); {
		case x < 2:
			l.UnitPriceFen++ // price_changed
		case x < 4:
			l.Category = pick(w, skuCategories) // perhaps not the SKU's: refused
		}
		totalFen += l.AmountFen()
		req.Lines = append(req.Lines, l)
	}
	switch x := w.rng.IntN(100); {
	case x < 15 && totalFen > 0:
		req.CashFen = w.between(1, totalFen)
	case x < 20:
		req.CashFen = totalFen
	}
	w.m.orders[req.ID] = &orderInfo{id: req.ID, member: mi.id, shard: w.shard, lines: req.Lines, cashFen: req.CashFen}
	for _, l := range req.Lines {
		w.m.linesByShard[l.Shard] = append(w.m.linesByShard[l.Shard], orderLineRef{order: req.ID, member: mi.id, sku: l.SKU})
	}
	w.m.orderList = append(w.m.orderList, req.ID)
	w.add(welfare.Command{Kind: welfare.PlaceOrder, MemberID: mi.id, Order: req})
}

// actFollowUp moves a few of the shard's orders on, by the state the simulation last saw.
func (w *workload) actFollowUp() {
	var open []*orderInfo
	for _, id := range w.m.open[w.shard] {
		open = append(open, w.m.orders[id])
	}
	if len(open) == 0 {
		return
	}
	for range 1 + w.rng.IntN(ordersFollowedUpMax) {
		o := pick(w, open)
		c := welfare.Command{OrderID: o.id}
		switch o.state {
		case welfare.OrderReserving:
			if w.chance(15) {
				c.Kind, c.MemberID = welfare.CancelOrder, o.member
			}
		case welfare.OrderAwaitingPayment:
			switch x := w.rng.IntN(100); {
			case x < 70:
				c.Kind, c.MemberID, c.PaymentRef = welfare.ConfirmPayment, o.member, w.nextPayment
				w.nextPayment++
			case x < 80:
				c.Kind, c.MemberID = welfare.CancelOrder, o.member
			}
		case welfare.OrderPlaced:
			switch x := w.rng.IntN(100); {
			case x < 50:
				c.Kind = welfare.ShipOrder
			case x < 62:
				c.Kind, c.MemberID = welfare.CancelOrder, o.member
			}
		case welfare.OrderShipped:
			if w.chance(60) {
				c.Kind = welfare.ArriveOrder
			}
		case welfare.OrderReady:
			if w.chance(50) {
				c.Kind = welfare.HandOutOrder
			}
		case welfare.OrderHandedOut:
			if w.chance(8) {
				c.Kind, c.MemberID = welfare.ReturnOrder, o.member
			}
		}
		if c.Kind == 0 && w.chance(5) {
			// A command the order is perhaps not ready for: wrong_order_state and the like.
			c.Kind = pick(w, []welfare.CommandKind{welfare.ShipOrder, welfare.ArriveOrder, welfare.HandOutOrder,
				welfare.CancelOrder, welfare.ReturnOrder, welfare.ConfirmPayment})
			if c.Kind == welfare.ConfirmPayment {
				c.PaymentRef = w.nextPayment
				w.nextPayment++
			}
		}
		if c.Kind != 0 {
			w.add(c)
		}
	}
}

func (w *workload) actAward() {
	ps := w.programsHere(func(p *programInfo) bool { return p.def.Category == welfare.CategoryActivity })
	if len(ps) == 0 {
		return
	}
	p := pick(w, ps)
	ms := w.membersHere(p.def.UnionID)
	if len(ms) == 0 {
		return
	}
	mi := pick(w, ms)
	a := &awardInfo{id: w.nextAward, program: p.def.ID, member: mi.id, shard: w.shard, kind: pick(w, activityKinds), amountFen: w.between(1_00, 15_00)}
	w.nextAward++
	w.m.awards[a.id] = a
	w.m.awardList = append(w.m.awardList, a.id)
	w.add(welfare.Command{Kind: welfare.AwardPoints, AwardID: a.id, ProgramID: a.program, MemberID: a.member, AmountFen: a.amountFen, ActivityKind: a.kind})
}

func (w *workload) actReverse() {
	var as []*awardInfo
	for _, id := range w.m.awardList {
		if a := w.m.awards[id]; a.shard == w.shard && a.exists && !a.reversed {
			as = append(as, a)
		}
	}
	if len(as) == 0 {
		return
	}
	w.add(welfare.Command{Kind: welfare.ReverseAward, AwardID: pick(w, as).id})
}

func (w *workload) actOrganisation() {
	switch x := w.rng.IntN(100); {
	case x < 30 && len(w.m.unionList[w.shard]) < unionsPerShardMax && w.nextUnion[w.shard] < unionsPerShardMax:
		u := w.createUnion()
		w.fund(u, w.between(fundingMinFen, fundingMaxFen))
	case x < 60:
		u := pick(w, w.m.unionList[w.shard])
		w.add(welfare.Command{Kind: welfare.AddOfficer, UnionID: u, Officer: welfare.OfficerID(u)*10 + 3})
	}
}
