package shardsim

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"huigong/engine/ledger"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// An observation is a copy of what the checks need from every shard, read between batches on
// each shard's goroutine (one Inspect per shard). Shards are read one after the other, so an
// observation is consistent only once nothing moves: settle reads until two observations in a
// row are alike and quiet.

type holdingObs struct {
	program  welfare.ProgramID
	account  ledger.Account
	closed   bool
	owedFen  int64
	issueFen int64
	year     int32
}

type memberObs struct {
	union      welfare.UnionID
	registered bool
	dues       bool
	counted    []welfare.CapCount
	holdings   []holdingObs
}

func (mo *memberObs) countedFen(c welfare.Category, year int32) int64 {
	for _, cc := range mo.counted {
		if cc.Category == c && cc.Year == year {
			return cc.CountedFen
		}
	}
	return 0
}

type reservationKey struct {
	order welfare.OrderID
	sku   stock.SKUID
}

type reservationObs struct {
	member   stock.MemberID
	quantity int64
	state    stock.ReservationState
	found    bool
}

type memberSKU struct {
	member welfare.MemberID
	sku    stock.SKUID
}

type shardObs struct {
	invariants    error
	configVersion uint64
	caps          []int64
	accounts      []ledger.Account
	transfers     int
	unions        map[welfare.UnionID]ledger.Account // budget accounts
	members       map[welfare.MemberID]*memberObs
	programs      map[welfare.ProgramID]*welfare.Program
	orders        map[welfare.OrderID]*welfare.Order
	skus          map[stock.SKUID]stock.SKU
	reservations  map[reservationKey]reservationObs
	memberUnits   map[memberSKU]int64
	receivables   map[welfare.MerchantID]ledger.Account
	fundings      map[ledger.TransferID]ledger.TransferStatus
	awards        map[uint64]welfare.Award
}

type observation struct {
	now    int64
	shards []shardObs
	digest uint64
}

func (s *sim) observe() (*observation, error) {
	obs := &observation{now: s.now(), shards: make([]shardObs, s.cfg.Shards)}
	for i := range obs.shards {
		so := &obs.shards[i]
		if err := s.rt.Inspect(uint32(i), func(mm machineType) { s.read(uint32(i), mm.(*shard.Machine).State(), so) }); err != nil {
			return nil, fmt.Errorf("inspect shard %d: %w", i, err)
		}
	}
	obs.digest = obs.hash()
	return obs, nil
}

// read copies a shard's state; it runs on the shard's goroutine, while the simulation waits.
func (s *sim) read(shardID uint32, st *welfare.State, so *shardObs) {
	m := s.m
	so.invariants = st.CheckInvariants()
	cfg := st.Config()
	so.configVersion = cfg.Version
	caps := cfg.CapsFen
	so.caps = caps[:]
	l := st.Ledger()
	so.transfers = l.TransfersCount()
	l.ForEachAccount(func(a *ledger.Account) { so.accounts = append(so.accounts, *a) })
	so.unions = map[welfare.UnionID]ledger.Account{}
	for _, u := range st.Unions() {
		so.unions[u.ID], _ = l.Account(u.BudgetAccountID)
	}
	so.members = map[welfare.MemberID]*memberObs{}
	for _, mb := range st.Members() {
		mo := &memberObs{union: mb.UnionID, registered: mb.Registered, dues: mb.DuesPaid, counted: slices.Clone(mb.Counted)}
		for _, h := range mb.Holdings {
			a, _ := l.Account(h.AccountID)
			mo.holdings = append(mo.holdings, holdingObs{program: h.ProgramID, account: a, closed: h.Closed, owedFen: h.OwedFen, issueFen: h.IssuedFen, year: h.Year})
		}
		so.members[mb.ID] = mo
	}
	so.programs = map[welfare.ProgramID]*welfare.Program{}
	for _, p := range st.Programs() {
		cp := *p
		cp.Members = nil
		so.programs[p.ID] = &cp
	}
	so.orders = map[welfare.OrderID]*welfare.Order{}
	for _, o := range st.Orders() {
		cp := *o
		cp.Lines, cp.Holds = slices.Clone(o.Lines), slices.Clone(o.Holds)
		so.orders[o.ID] = &cp
	}
	stk := st.Stock()
	so.skus = map[stock.SKUID]stock.SKU{}
	for _, id := range stk.SKUs() {
		sk, _ := stk.SKU(id)
		so.skus[id] = *sk
	}
	so.reservations = map[reservationKey]reservationObs{}
	so.memberUnits = map[memberSKU]int64{}
	for _, ln := range m.linesByShard[shardID] {
		var r reservationObs
		r.member, r.quantity, r.state, r.found = stk.Reservation(ln.order, ln.sku)
		so.reservations[reservationKey{ln.order, ln.sku}] = r
		so.memberUnits[memberSKU{ln.member, ln.sku}] = stk.MemberUnits(stock.MemberID(ln.member), ln.sku)
	}
	so.receivables = map[welfare.MerchantID]ledger.Account{}
	for mc := welfare.MerchantID(1); mc <= merchantsCount; mc++ {
		if id, ok := st.Receivable(mc); ok {
			so.receivables[mc], _ = l.Account(id)
		}
	}
	so.fundings = map[ledger.TransferID]ledger.TransferStatus{}
	for id, f := range m.fundings {
		if f.shard == shardID {
			if t, ok := l.LookupTransfer(id); ok {
				so.fundings[id] = t
			}
		}
	}
	so.awards = map[uint64]welfare.Award{}
	for _, id := range m.awardList {
		if a := m.awards[id]; a.shard == shardID {
			if got, ok := st.Award(id); ok {
				so.awards[id] = *got
			}
		}
	}
}

// hash digests what changes whenever a shard decides anything, so two equal digests in a row,
// with nothing submitted in between, mean nothing was moving.
func (o *observation) hash() uint64 {
	h := fnv.New64a()
	put := func(vs ...int64) {
		var b [8]byte
		for _, v := range vs {
			for i := range b {
				b[i] = byte(v >> (8 * i))
			}
			h.Write(b[:])
		}
	}
	for i := range o.shards {
		so := &o.shards[i]
		put(int64(i), int64(so.transfers), int64(len(so.accounts)), int64(so.configVersion))
		for _, a := range so.accounts {
			put(a.DebitsPostedFen, a.CreditsPostedFen, a.DebitsPendingFen, a.CreditsPendingFen)
		}
		for _, id := range sortedKeys(so.members) {
			mo := so.members[id]
			put(int64(id), int64(mo.union), int64(len(mo.holdings)))
			for _, h := range mo.holdings {
				put(int64(h.program), boolInt(h.closed), h.owedFen)
			}
		}
		for _, id := range sortedKeys(so.programs) {
			put(int64(id), int64(so.programs[id].Status))
		}
		for _, id := range sortedKeys(so.orders) {
			od := so.orders[id]
			put(int64(id), int64(od.State), int64(od.Awaiting))
		}
		for _, id := range sortedKeys(so.skus) {
			u := so.skus[id].Units
			put(int64(id), u.Received, u.Available, u.Reserved, u.Sold, u.HandedOut, u.Returned)
		}
		for _, k := range sortedKeysFunc(so.reservations, func(a, b reservationKey) int {
			if a.order != b.order {
				return cmp.Compare(a.order, b.order)
			}
			return cmp.Compare(a.sku, b.sku)
		}) {
			put(int64(k.order), int64(k.sku), int64(so.reservations[k].state))
		}
	}
	return h.Sum64()
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[K ~uint64 | ~uint8, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedKeysFunc[K comparable, V any](m map[K]V, cmp func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	return keys
}

// problems collects what a check found, up to a bound.
type problems struct{ list []string }

func (p *problems) add(format string, args ...any) {
	if len(p.list) < 24 {
		p.list = append(p.list, fmt.Sprintf(format, args...))
	}
}

func (p *problems) err(what string) error {
	if len(p.list) == 0 {
		return nil
	}
	return fmt.Errorf("%s:\n  %s", what, strings.Join(p.list, "\n  "))
}

// foundOrder is an order where an observation found it.
type foundOrder struct {
	shard uint32
	order *welfare.Order
}

func (o *observation) allOrders(p *problems) map[welfare.OrderID]foundOrder {
	all := map[welfare.OrderID]foundOrder{}
	for i := range o.shards {
		for id, od := range o.shards[i].orders {
			if prev, dup := all[id]; dup {
				p.add("order %d is on shards %d and %d", id, prev.shard, i)
			}
			all[id] = foundOrder{shard: uint32(i), order: od}
		}
	}
	return all
}

// reserved reports whether an order's line holds a reservation on the SKU's shard, by the
// line's answer (a cancel or a timeout of a checkout marks every line, as any may be held).
func lineHeld(l *welfare.OrderLine) bool { return l.Code == stock.OK || l.Code == stock.Exists }

// wantReservation is the state a line's reservation must be in once nothing is in flight,
// given its order's state; zero: none, or released.
func wantReservation(st welfare.OrderState) stock.ReservationState {
	switch st {
	case welfare.OrderAwaitingPayment:
		return stock.StateReserved
	case welfare.OrderPlaced, welfare.OrderShipped, welfare.OrderReady:
		return stock.StateSold
	case welfare.OrderHandedOut:
		return stock.StateHandedOut
	case welfare.OrderReturned, welfare.OrderUncollected:
		return stock.StateReturned
	}
	return 0
}

// quiet lists why the engine may still be moving: value or members in flight between shards,
// checkouts waiting for SKU shards, stock messages not yet applied, a revocation or the
// configuration not yet everywhere, or sold-out notes not yet delivered.
func (s *sim) quiet(o *observation) []string {
	var why problems
	var inTransit, inTransitPending int64
	for i := range o.shards {
		for _, a := range o.shards[i].accounts {
			if a.Kind == ledger.KindInTransit {
				inTransit += a.CreditsPostedFen - a.DebitsPostedFen
				inTransitPending += a.CreditsPendingFen + a.DebitsPendingFen
			}
		}
		if v := o.shards[i].configVersion; v != s.m.config.Version {
			why.add("shard %d has configuration %d of %d", i, v, s.m.config.Version)
		}
	}
	if inTransit != 0 || inTransitPending != 0 {
		why.add("in-transit accounts sum to %d (pending %d)", inTransit, inTransitPending)
	}
	for _, id := range s.m.memberList {
		var on []int
		for i := range o.shards {
			if _, ok := o.shards[i].members[id]; ok {
				on = append(on, i)
			}
		}
		if len(on) != 1 {
			why.add("member %d is on shards %v", id, on)
		}
	}
	var p problems
	orders := o.allOrders(&p)
	for _, id := range sortedKeys(orders) {
		f := orders[id]
		od := f.order
		if od.State == welfare.OrderReserving {
			why.add("order %d on shard %d is reserving, awaiting %d shards", id, f.shard, od.Awaiting)
			continue
		}
		want := wantReservation(od.State)
		for i := range od.Lines {
			l := &od.Lines[i]
			r := o.shards[l.Shard].reservations[reservationKey{id, l.SKU}]
			switch {
			case want != 0 && lineHeld(l) && (!r.found || r.state != want):
				why.add("order %d %s: reservation of sku %d is %v (found %v), want %v", id, od.State, l.SKU, r.state, r.found, want)
			case want == 0 && r.found && r.state != stock.StateReleased:
				why.add("order %d %s: reservation of sku %d is %v, want released", id, od.State, l.SKU, r.state)
			}
		}
	}
	for i := range o.shards {
		for id, p := range o.shards[i].programs {
			owner := o.shards[p.OwnerShard].programs[id]
			if p.OwnerShard != uint32(i) && owner != nil && owner.Status == welfare.ProgramRevoked && p.Status == welfare.ProgramActive {
				why.add("program %d revoked on shard %d, still active on shard %d", id, p.OwnerShard, i)
			}
		}
	}
	s.notes.mu.Lock()
	for _, id := range s.m.skuList {
		sk, ok := o.shards[s.m.skus[id].shard].skus[id]
		if !ok || !s.notes.soldOutValid {
			continue
		}
		flag, seen := s.notes.soldOut[id]
		if !seen {
			flag = true // a new SKU has nothing available, and no note says so
		}
		if flag != (sk.Units.Available == 0) {
			why.add("sku %d: the edge's sold-out flag is %v with %d available", id, flag, sk.Units.Available)
		}
	}
	s.notes.mu.Unlock()
	return why.list
}

// check asserts the invariants over all shards of a quiet observation, and what every
// acknowledged command promised. At the end (final) every order must be over as well.
func (s *sim) check(o *observation, final bool) error {
	m := s.m
	var p problems
	for i := range o.shards {
		if err := o.shards[i].invariants; err != nil {
			p.add("shard %d: CheckInvariants: %v", i, err)
		}
	}

	// Points are conserved over all shards, and the federation's funding accounts hold minus
	// what was funded.
	var dPosted, cPosted, dPending, cPending, fundingFen int64
	for i := range o.shards {
		for _, a := range o.shards[i].accounts {
			dPosted += a.DebitsPostedFen
			cPosted += a.CreditsPostedFen
			dPending += a.DebitsPendingFen
			cPending += a.CreditsPendingFen
			if a.Kind == ledger.KindFederationFunding {
				fundingFen += a.CreditsPostedFen - a.DebitsPostedFen
			}
			if a.Flags&ledger.AccountNoOverdraft != 0 && a.DebitsPostedFen+a.DebitsPendingFen > a.CreditsPostedFen {
				p.add("shard %d: account %d (%s) overdrawn: %+v", i, a.ID, a.Kind, a)
			}
			if a.Kind == ledger.KindUnionBudget && a.AvailableFen() < 0 {
				p.add("shard %d: budget %d below zero: %+v", i, a.ID, a)
			}
		}
	}
	if dPosted != cPosted || dPending != cPending {
		p.add("all shards: posted debits %d, credits %d; pending debits %d, credits %d", dPosted, cPosted, dPending, cPending)
	}
	if fundingFen != -m.fundedFen {
		p.add("funding accounts hold %d, %d was funded", fundingFen, m.fundedFen)
	}
	for _, id := range sortedKeys(m.fundings) {
		f := m.fundings[id]
		t, ok := o.shards[f.shard].fundings[id]
		budget := o.shards[f.shard].unions[f.union]
		switch {
		case !ok:
			p.add("funding %d of %d to union %d on shard %d is missing", id, f.amountFen, f.union, f.shard)
		case t.AmountFen != f.amountFen || t.DebitAccountID != welfare.FundingAccountID(f.shard) || t.CreditAccountID != budget.ID:
			p.add("funding %d: %+v, want %d to union %d", id, t.Transfer, f.amountFen, f.union)
		}
	}

	s.checkMembers(o, &p)
	s.checkPrograms(o, &p)
	orders := o.allOrders(&p)
	s.checkOrders(o, orders, final, &p)
	s.checkStock(o, orders, &p)
	s.checkHolds(o, orders, &p)

	for _, id := range m.awardList {
		a := m.awards[id]
		got, ok := o.shards[a.shard].awards[id]
		switch {
		case a.exists && !ok:
			p.add("award %d of %d to member %d is missing", id, a.amountFen, a.member)
		case ok && !a.exists && !a.maybe:
			p.add("award %d exists, but its request was lost", id)
		case ok && (got.AmountFen != a.amountFen || got.MemberID != a.member || got.ProgramID != a.program):
			p.add("award %d: %+v, want %d to member %d of program %d", id, got, a.amountFen, a.member, a.program)
		case ok && got.ReversedFen+got.SpentFen+got.OwedFen > got.AmountFen:
			p.add("award %d: reversed %d, spent %d, owed %d of %d", id, got.ReversedFen, got.SpentFen, got.OwedFen, got.AmountFen)
		}
	}
	return p.err(fmt.Sprintf("check at %s", day(o.now)))
}

func (s *sim) checkMembers(o *observation, p *problems) {
	m := s.m
	for i := range o.shards {
		so := &o.shards[i]
		for _, id := range sortedKeys(so.members) {
			mo := so.members[id]
			mi, ok := m.members[id]
			if !ok {
				p.add("shard %d: member %d was never registered by an acknowledged or surviving request", i, id)
				continue
			}
			if !mi.uncertain {
				if mi.shard != uint32(i) || mi.union != mo.union || mi.dues != mo.dues || !mo.registered {
					p.add("member %d: on shard %d in union %d (dues %v), model says shard %d union %d (dues %v)",
						id, i, mo.union, mo.dues, mi.shard, mi.union, mi.dues)
				}
			}
			for _, c := range mo.counted {
				if capFen := so.caps[c.Category]; capFen >= 0 && c.CountedFen > capFen || c.CountedFen < 0 {
					p.add("member %d on shard %d counts %d of %s in %d, cap %d", id, i, c.CountedFen, c.Category, c.Year, so.caps[c.Category])
				}
			}
			// The cap count follows the member: it is at least what the open holdings were
			// issued (nothing releases an open holding's count but an award's reversal).
			type catYear struct {
				category welfare.Category
				year     int32
			}
			openFen := map[catYear]int64{}
			for _, h := range mo.holdings {
				if pr := so.programs[h.program]; pr != nil && !h.closed && pr.Category != welfare.CategoryActivity {
					openFen[catYear{pr.Category, h.year}] += h.issueFen
				}
			}
			for k, fen := range openFen {
				if got := mo.countedFen(k.category, k.year); got < fen {
					p.add("member %d on shard %d counts %d of %s in %d; its open holdings were issued %d", id, i, got, k.category, k.year, fen)
				}
			}
			for _, h := range mo.holdings {
				if h.account.Kind != ledger.KindMemberPoints || h.account.UserData != uint64(id) {
					p.add("member %d holds program %d in account %+v", id, h.program, h.account)
				}
				if h.owedFen < 0 {
					p.add("member %d owes %d of program %d", id, h.owedFen, h.program)
				}
			}
		}
	}
	// Every member a listed issue gave points holds the program still, unless the program has
	// closed (a member who moves leaves closed, empty holdings behind).
	for _, ip := range m.issued {
		owner := o.shards[m.programs[ip.program].shard].programs[ip.program]
		held := false
		for i := range o.shards {
			if mo, ok := o.shards[i].members[ip.member]; ok {
				held = slices.ContainsFunc(mo.holdings, func(h holdingObs) bool { return h.program == ip.program })
			}
		}
		if !held && (owner == nil || owner.Status == welfare.ProgramActive) {
			p.add("member %d was issued program %d, and holds none of it", ip.member, ip.program)
		}
	}
}

func (s *sim) checkPrograms(o *observation, p *problems) {
	m := s.m
	for i := range o.shards {
		for _, id := range sortedKeys(o.shards[i].programs) {
			got := o.shards[i].programs[id]
			pi, ok := m.programs[id]
			if !ok {
				p.add("shard %d: program %d was never created by an acknowledged or surviving request", i, id)
				continue
			}
			if got.OwnerShard != pi.shard {
				p.add("shard %d: program %d owned by shard %d, model says %d", i, id, got.OwnerShard, pi.shard)
			}
			if got.ToNanos <= o.now && got.Status == welfare.ProgramActive {
				p.add("shard %d: program %d still active after its window ended at %s", i, id, day(got.ToNanos))
			}
		}
	}
	for _, id := range m.programList {
		pi := m.programs[id]
		got, ok := o.shards[pi.shard].programs[id]
		if !ok {
			p.add("program %d of union %d is missing from shard %d", id, pi.def.UnionID, pi.shard)
			continue
		}
		d := &pi.def
		if got.UnionID != d.UnionID || got.Category != d.Category || got.AmountPerMemberFen != d.AmountPerMemberFen ||
			got.FromNanos != d.FromNanos || got.ToNanos != d.ToNanos || got.CreatedBy != d.CreatedBy || got.ApprovedBy != pi.approvedBy {
			p.add("program %d: %+v, model %+v approved by %d", id, *got, *d, pi.approvedBy)
		}
		want := welfare.ProgramActive
		switch {
		case pi.revoked:
			want = welfare.ProgramRevoked
		case d.ToNanos <= o.now:
			want = welfare.ProgramExpired
		}
		if got.Status != want {
			p.add("program %d is %s, model says %s", id, got.Status, want)
		}
		if !pi.issuedUncertain && got.IssuedFen != pi.issuedFen {
			p.add("program %d issued %d, acknowledged issues gave %d", id, got.IssuedFen, pi.issuedFen)
		}
	}
}

var placedOrLater = []welfare.OrderState{welfare.OrderPlaced, welfare.OrderShipped, welfare.OrderReady, welfare.OrderHandedOut,
	welfare.OrderCancelled, welfare.OrderUncollected, welfare.OrderReturned}

func (s *sim) checkOrders(o *observation, orders map[welfare.OrderID]foundOrder, final bool, p *problems) {
	m := s.m
	for _, id := range sortedKeys(orders) {
		f := orders[id]
		od := f.order
		oi, ok := m.orders[id]
		switch {
		case !ok:
			p.add("shard %d: order %d was never placed", f.shard, id)
			continue
		case !oi.exists && !oi.maybe && len(oi.known) == 0:
			p.add("shard %d: order %d exists, but its request was lost or refused", f.shard, id)
		case oi.shard != f.shard || oi.member != od.MemberID || oi.cashFen != od.CashFen || len(oi.lines) != len(od.Lines):
			p.add("order %d on shard %d: %+v, model: shard %d member %d cash %d lines %d", id, f.shard, *od, oi.shard, oi.member, oi.cashFen, len(oi.lines))
		}
		for i := range oi.lines {
			if i < len(od.Lines) {
				a, b := oi.lines[i], od.Lines[i]
				if a.SKU != b.SKU || a.Quantity != b.Quantity || a.UnitPriceFen != b.UnitPriceFen || a.Shard != b.Shard {
					p.add("order %d line %d: %+v, model %+v", id, i, b, a)
				}
			}
		}
		var heldFen, cashFen int64
		for _, h := range od.Holds {
			heldFen += h.AmountFen
			if h.ProgramID == 0 {
				cashFen += h.AmountFen
			}
		}
		if heldFen != od.TotalFen() || cashFen != od.CashFen {
			p.add("order %d: holds %d (cash %d) for a total of %d (cash %d)", id, heldFen, cashFen, od.TotalFen(), od.CashFen)
		}
		for _, k := range oi.known {
			if !reachable(k, od.State) {
				p.add("order %d is %s on shard %d, but was %s durably", id, od.State, f.shard, k)
			}
		}
		if oi.placed && !slices.Contains(placedOrLater, od.State) {
			p.add("order %d was acknowledged placed, and is %s (%s)", id, od.State, od.Code)
		}
		if final && !od.State.Final() && od.State != welfare.OrderHandedOut {
			p.add("order %d is still %s at the end", id, od.State)
		}
	}
	for _, id := range m.orderList {
		oi := m.orders[id]
		if _, ok := orders[id]; !ok && (oi.exists || len(oi.known) > 0) {
			p.add("order %d of member %d, acknowledged (placed %v, known %v), is lost", id, oi.member, oi.placed, oi.known)
		}
	}
}

// checkStock holds every SKU's units to the orders over all shards: nothing oversold, the
// committed units are the placed orders' units, and each member's count towards a limit is
// what its orders hold.
func (s *sim) checkStock(o *observation, orders map[welfare.OrderID]foundOrder, p *problems) {
	m := s.m
	type want struct{ reserved, sold, handedOut, returned int64 }
	wants := map[stock.SKUID]*want{}
	perMember := map[memberSKU]int64{}
	for _, id := range m.skuList {
		wants[id] = &want{}
	}
	for _, id := range sortedKeys(orders) {
		od := orders[id].order
		for _, l := range od.Lines {
			wt := wants[l.SKU]
			if wt == nil {
				p.add("order %d names sku %d, never set", id, l.SKU)
				continue
			}
			counts := true
			switch od.State {
			case welfare.OrderAwaitingPayment:
				wt.reserved += l.Quantity
			case welfare.OrderPlaced, welfare.OrderShipped, welfare.OrderReady:
				wt.sold += l.Quantity
			case welfare.OrderHandedOut:
				wt.handedOut += l.Quantity
			case welfare.OrderReturned:
				wt.returned += l.Quantity
				counts = false
			default:
				counts = false
			}
			if counts {
				perMember[memberSKU{od.MemberID, l.SKU}] += l.Quantity
			}
		}
	}
	for _, id := range m.skuList {
		sk := m.skus[id]
		got, ok := o.shards[sk.shard].skus[id]
		if !ok {
			p.add("sku %d missing from shard %d", id, sk.shard)
			continue
		}
		u, wt := got.Units, wants[id]
		if u.Received != sk.receivedUnits {
			p.add("sku %d received %d units, acknowledged receipts %d", id, u.Received, sk.receivedUnits)
		}
		if u.Committed() > u.Received {
			p.add("sku %d oversold: %+v", id, u)
		}
		if u.Reserved != wt.reserved || u.Sold != wt.sold || u.HandedOut != wt.handedOut {
			p.add("sku %d units %+v; orders hold reserved %d, sold %d, handed out %d", id, u, wt.reserved, wt.sold, wt.handedOut)
		}
		if !sk.restockUncertain && u.Returned != wt.returned-sk.restockedUnits || u.Returned > wt.returned {
			p.add("sku %d has %d returned units; returned orders %d, restocked %d (uncertain %v)", id, u.Returned, wt.returned, sk.restockedUnits, sk.restockUncertain)
		}
		if got.LimitPerMember != sk.def.LimitPerMember || got.PriceFen != sk.def.PriceFen {
			p.add("sku %d: %+v, model %+v", id, got, sk.def)
		}
	}
	for i := range o.shards {
		for k, n := range o.shards[i].memberUnits {
			if n != perMember[k] {
				p.add("member %d holds %d units of sku %d towards its limit; its orders hold %d", k.member, n, k.sku, perMember[k])
			}
			if limit := m.skus[k.sku].def.LimitPerMember; limit > 0 && perMember[k] > limit {
				p.add("member %d has %d units of sku %d in orders, limit %d", k.member, perMember[k], k.sku, limit)
			}
		}
	}
}

// checkHolds holds the ledger to the orders: every member points and cash account's pending
// debits are the holds of the open orders on it, and every merchant receivable holds what the
// orders handed out paid, and has pending what the open orders hold.
func (s *sim) checkHolds(o *observation, orders map[welfare.OrderID]foundOrder, p *problems) {
	type key struct {
		shard uint32
		id    uint64
	}
	pendingDebits := map[key]int64{}
	recvPosted := map[key]int64{}
	recvPending := map[key]int64{}
	for _, id := range sortedKeys(orders) {
		f := orders[id]
		for _, h := range f.order.Holds {
			switch f.order.State {
			case welfare.OrderAwaitingPayment, welfare.OrderPlaced, welfare.OrderShipped, welfare.OrderReady:
				if h.TransferID != 0 {
					pendingDebits[key{f.shard, uint64(h.AccountID)}] += h.AmountFen
					recvPending[key{f.shard, uint64(h.MerchantID)}] += h.AmountFen
				}
			case welfare.OrderHandedOut:
				recvPosted[key{f.shard, uint64(h.MerchantID)}] += h.AmountFen
			}
		}
	}
	for i := range o.shards {
		so := &o.shards[i]
		for _, a := range so.accounts {
			if a.Kind != ledger.KindMemberPoints && a.Kind != ledger.KindExternalCash {
				continue
			}
			if want := pendingDebits[key{uint32(i), uint64(a.ID)}]; a.DebitsPendingFen != want {
				p.add("shard %d: account %d (%s of %d) has %d pending debits; open orders hold %d", i, a.ID, a.Kind, a.UserData, a.DebitsPendingFen, want)
			}
		}
		for mc := welfare.MerchantID(1); mc <= merchantsCount; mc++ {
			a := so.receivables[mc]
			k := key{uint32(i), uint64(mc)}
			if got := a.CreditsPostedFen - a.DebitsPostedFen; got != recvPosted[k] || a.CreditsPendingFen != recvPending[k] {
				p.add("shard %d: merchant %d receivable %d (pending %d); orders handed out %d, open %d", i, mc, got, a.CreditsPendingFen, recvPosted[k], recvPending[k])
			}
		}
	}
}

// refresh brings the model's view up to a quiet observation that passed the checks: where
// members are now, what they hold, orders' states, stock, and what uncertain requests did.
func (s *sim) refresh(o *observation) {
	m := s.m
	for i := range o.shards {
		so := &o.shards[i]
		for id, mo := range so.members {
			mi := m.members[id]
			mi.shard, mi.union, mi.dues, mi.moving, mi.uncertain = uint32(i), mo.union, mo.dues, false, false
			mi.holdings = mi.holdings[:0]
			for _, h := range mo.holdings {
				if pr := so.programs[h.program]; !h.closed && pr != nil && pr.Status == welfare.ProgramActive && h.account.AvailableFen() > 0 {
					mi.holdings = append(mi.holdings, holdingView{program: h.program, availFen: h.account.AvailableFen()})
				}
			}
		}
	}
	for _, id := range m.programList {
		pi := m.programs[id]
		if got, ok := o.shards[pi.shard].programs[id]; ok && pi.issuedUncertain {
			pi.issuedFen, pi.issuedUncertain = got.IssuedFen, false
		}
	}
	orders := o.allOrders(&problems{})
	returned := map[stock.SKUID]int64{}
	for i := range m.open {
		m.open[i] = m.open[i][:0]
	}
	for _, id := range m.orderList {
		oi := m.orders[id]
		f, ok := orders[id]
		if !ok {
			oi.maybe = false
			continue
		}
		oi.exists, oi.maybe = true, false
		oi.state = f.order.State
		if oi.state == welfare.OrderReturned {
			for _, l := range f.order.Lines {
				returned[l.SKU] += l.Quantity
			}
		}
		if !oi.state.Final() && (oi.state != welfare.OrderHandedOut || f.order.HandedNanos+s.m.config.ReturnWindowNanos > o.now) {
			m.open[oi.shard] = append(m.open[oi.shard], id)
		}
	}
	for _, id := range m.skuList {
		sk := m.skus[id]
		got := o.shards[sk.shard].skus[id]
		sk.units = got.Units
		if sk.restockUncertain {
			sk.restockedUnits, sk.restockUncertain = returned[id]-got.Units.Returned, false
		}
	}
	for _, id := range m.awardList {
		a := m.awards[id]
		if a.maybe {
			_, a.exists = o.shards[a.shard].awards[id]
			a.maybe = false
		}
	}
	s.notes.mu.Lock()
	if !s.notes.soldOutValid {
		// After a restart the edge reads what is sold out again: notes of batches made durable
		// just before the crash may never have been delivered.
		for _, id := range m.skuList {
			s.notes.soldOut[id] = o.shards[m.skus[id].shard].skus[id].Units.Available == 0
		}
		s.notes.soldOutValid = true
	}
	s.notes.mu.Unlock()
}
