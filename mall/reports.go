package mall

import (
	"cmp"
	"slices"

	"huigong/engine/welfare"
)

// Reports for union officers and the federation. Each is read through Engine.Read on the shards
// that hold the data, and copies what it needs inside the callback: the engine's tables change
// once the callback returns.

// UnionSummary is a union with its budget and the size of its register.
type UnionSummary struct {
	Union              welfare.Union
	BudgetAvailableFen int64
	BudgetBalanceFen   int64
	// MembersCount is everyone on the register; RegisteredCount those registered with dues
	// paid, who may receive points.
	MembersCount    int
	RegisteredCount int
}

// UnionSummary reads a union from its shard; false when there is no such union.
func (e *Engine) UnionSummary(u welfare.UnionID) (UnionSummary, bool, error) {
	var out UnionSummary
	found := false
	err := e.Read(e.UnionShard(u), func(st *welfare.State) {
		un, ok := st.Union(u)
		if !ok {
			return
		}
		found = true
		out.Union = *un
		out.Union.Officers = slices.Clone(un.Officers)
		if a, ok := st.Ledger().Account(un.BudgetAccountID); ok {
			out.BudgetAvailableFen, out.BudgetBalanceFen = a.AvailableFen(), a.CreditsPostedFen-a.DebitsPostedFen
		}
		for _, id := range st.UnionMembers(u) {
			m, _ := st.Member(id)
			out.MembersCount++
			if m.Registered && m.DuesPaid {
				out.RegisteredCount++
			}
		}
	})
	return out, found, err
}

// IsUnionOfficer reports whether the union exists and officer serves it, as its shard says.
func (e *Engine) IsUnionOfficer(u welfare.UnionID, officer welfare.OfficerID) (unionFound, isOfficer bool, err error) {
	err = e.Read(e.UnionShard(u), func(st *welfare.State) {
		un, ok := st.Union(u)
		unionFound = ok
		isOfficer = ok && slices.Contains(un.Officers, officer)
	})
	return unionFound, isOfficer, err
}

// CopyProgram returns a program that shares no memory with the engine's.
func CopyProgram(p *welfare.Program) welfare.Program {
	c := *p
	c.Whitelist = welfare.Whitelist{Categories: slices.Clone(p.Whitelist.Categories), SKUs: slices.Clone(p.Whitelist.SKUs),
		Merchants: slices.Clone(p.Whitelist.Merchants)}
	if p.Gift != nil {
		c.Gift = &welfare.Gift{Choose: p.Gift.Choose, Options: slices.Clone(p.Gift.Options)}
	}
	c.Members = slices.Clone(p.Members)
	return c
}

// ownedBy reports whether a program on shard s is the union's own, not a copy that came with a
// member who moved.
func ownedBy(p *welfare.Program, u welfare.UnionID, s uint32) bool {
	return p.UnionID == u && p.OwnerShard == s
}

// UnionPrograms lists a union's programs with ids after after, in id order, up to limit; more
// says whether others follow.
func (e *Engine) UnionPrograms(u welfare.UnionID, after welfare.ProgramID, limit int) (programs []welfare.Program, more bool, err error) {
	s := e.UnionShard(u)
	err = e.Read(s, func(st *welfare.State) {
		for _, p := range st.Programs() {
			if p.ID <= after || !ownedBy(p, u, s) {
				continue
			}
			if len(programs) == limit {
				more = true
				return
			}
			programs = append(programs, CopyProgram(p))
		}
	})
	return programs, more, err
}

// UnionProgram returns one program of a union.
func (e *Engine) UnionProgram(u welfare.UnionID, id welfare.ProgramID) (welfare.Program, bool, error) {
	s := e.UnionShard(u)
	var out welfare.Program
	found := false
	err := e.Read(s, func(st *welfare.State) {
		if p, ok := st.Program(id); ok && ownedBy(p, u, s) {
			out, found = CopyProgram(p), true
		}
	})
	return out, found, err
}

// MemberIssuance is what one member received from a program and what became of it. Issued is
// what the program gave (activity awards included); Spent what was paid for goods handed out
// (a return gives it back); Held what open orders hold; Balance what the member's account holds,
// held points included; Expired what went back to the union's budget at expiry or revocation.
type MemberIssuance struct {
	MemberID    welfare.MemberID
	IssuedFen   int64
	SpentFen    int64
	HeldFen     int64
	ExpiredFen  int64
	BalanceFen  int64
	IssuedNanos int64
	IssuedBy    welfare.OfficerID
	Closed      bool
}

// IssuanceReport is a program's issuance, member by member in issue order, with totals.
type IssuanceReport struct {
	Program welfare.Program
	Members []MemberIssuance
	Totals  MemberIssuance
	// MovedAway counts members who were issued points and have since moved to a union on
	// another shard: their accounts went with them.
	MovedAway int
}

// IssuanceReport reads a program's issuance report from its union's shard.
func (e *Engine) IssuanceReport(u welfare.UnionID, id welfare.ProgramID) (IssuanceReport, bool, error) {
	s := e.UnionShard(u)
	var r IssuanceReport
	found := false
	err := e.Read(s, func(st *welfare.State) {
		p, ok := st.Program(id)
		if !ok || !ownedBy(p, u, s) {
			return
		}
		found = true
		r.Program = CopyProgram(p)
		spent := spentByMember(st, u, map[welfare.ProgramID]bool{id: true})
		for _, mid := range p.Members {
			m, ok := st.Member(mid)
			var h *welfare.Holding
			if ok {
				h, ok = m.Holding(id)
			}
			if !ok {
				r.MovedAway++
				continue
			}
			a, _ := st.Ledger().Account(h.AccountID)
			mi := MemberIssuance{
				MemberID: mid, IssuedFen: h.IssuedFen, SpentFen: spent[holdingKey{mid, id}], HeldFen: a.DebitsPendingFen,
				BalanceFen: a.BalanceFen(), IssuedNanos: h.IssuedNanos, IssuedBy: h.IssuedBy, Closed: h.Closed,
			}
			mi.ExpiredFen = max(0, mi.IssuedFen-mi.SpentFen-mi.BalanceFen)
			r.Members = append(r.Members, mi)
			r.Totals.IssuedFen += mi.IssuedFen
			r.Totals.SpentFen += mi.SpentFen
			r.Totals.HeldFen += mi.HeldFen
			r.Totals.ExpiredFen += mi.ExpiredFen
			r.Totals.BalanceFen += mi.BalanceFen
		}
	})
	return r, found, err
}

type holdingKey struct {
	member  welfare.MemberID
	program welfare.ProgramID
}

// spentByMember sums, per member and program, the points paid for goods handed out: holds
// posted at pickup and not refunded by a return.
func spentByMember(st *welfare.State, u welfare.UnionID, programs map[welfare.ProgramID]bool) map[holdingKey]int64 {
	spent := map[holdingKey]int64{}
	for _, o := range st.Orders() {
		if o.UnionID != u || o.State != welfare.OrderHandedOut {
			continue
		}
		for _, h := range o.Holds {
			if h.ProgramID != 0 && programs[h.ProgramID] {
				spent[holdingKey{o.MemberID, h.ProgramID}] += h.AmountFen
			}
		}
	}
	return spent
}

// MemberPoints is a member on a union's register with its points over all programs.
type MemberPoints struct {
	MemberID      welfare.MemberID
	Registered    bool
	DuesPaid      bool
	BalanceFen    int64
	AvailableFen  int64
	ProgramsCount int
}

// UnionMembers lists a union's register with ids after after, in id order, up to limit; more
// says whether others follow. False when there is no such union.
func (e *Engine) UnionMembers(u welfare.UnionID, after welfare.MemberID, limit int) (members []MemberPoints, more, found bool, err error) {
	err = e.Read(e.UnionShard(u), func(st *welfare.State) {
		if _, found = st.Union(u); !found {
			return
		}
		for _, id := range st.UnionMembers(u) {
			if id <= after {
				continue
			}
			if len(members) == limit {
				more = true
				return
			}
			m, _ := st.Member(id)
			mp := MemberPoints{MemberID: id, Registered: m.Registered, DuesPaid: m.DuesPaid, ProgramsCount: len(m.Holdings)}
			for _, h := range m.Holdings {
				a, _ := st.Ledger().Account(h.AccountID)
				mp.BalanceFen += a.BalanceFen()
				mp.AvailableFen += a.AvailableFen()
			}
			members = append(members, mp)
		}
	})
	return members, more, found, err
}

// Figures are what the federation's dashboard counts.
type Figures struct {
	// MembersReached counts members who hold points of any program.
	MembersReached int
	// Orders counts orders by state; checkouts still open or refused are not orders yet.
	Orders map[welfare.OrderState]int
	// ValueFen sums the orders placed and not ended: placed, shipped, ready and handed out.
	ValueFen int64
}

func (f *Figures) add(g *Figures) {
	f.MembersReached += g.MembersReached
	f.ValueFen += g.ValueFen
	for s, n := range g.Orders {
		f.Orders[s] += n
	}
}

// UnionFigures are one union's figures.
type UnionFigures struct {
	UnionID welfare.UnionID
	Name    string
	Figures
}

// Dashboard is the federation's county-wide view, and the same per union in id order.
type Dashboard struct {
	Figures
	Unions []UnionFigures
}

// countedValue reports whether an order in state s counts in the dashboard's value.
func countedValue(s welfare.OrderState) bool {
	switch s {
	case welfare.OrderPlaced, welfare.OrderShipped, welfare.OrderReady, welfare.OrderHandedOut:
		return true
	}
	return false
}

// Dashboard reads every shard once.
func (e *Engine) Dashboard() (Dashboard, error) {
	d := Dashboard{Figures: Figures{Orders: map[welfare.OrderState]int{}}}
	for s := 0; s < e.shardsCount; s++ {
		var unions []UnionFigures
		err := e.Read(uint32(s), func(st *welfare.State) {
			byUnion := map[welfare.UnionID]*UnionFigures{}
			for _, u := range st.Unions() {
				unions = append(unions, UnionFigures{UnionID: u.ID, Name: u.Name, Figures: Figures{Orders: map[welfare.OrderState]int{}}})
			}
			for i := range unions {
				byUnion[unions[i].UnionID] = &unions[i]
			}
			for _, m := range st.Members() {
				if f, ok := byUnion[m.UnionID]; ok && len(m.Holdings) > 0 {
					f.MembersReached++
				}
			}
			for _, o := range st.Orders() {
				f, ok := byUnion[o.UnionID]
				if !ok || o.State == welfare.OrderReserving || o.State == welfare.OrderAwaitingPayment || o.State == welfare.OrderRefused {
					continue
				}
				f.Orders[o.State]++
				if countedValue(o.State) {
					f.ValueFen += o.TotalFen()
				}
			}
		})
		if err != nil {
			return Dashboard{}, err
		}
		for i := range unions {
			d.add(&unions[i].Figures)
		}
		d.Unions = append(d.Unions, unions...)
	}
	slices.SortFunc(d.Unions, func(a, b UnionFigures) int { return cmp.Compare(a.UnionID, b.UnionID) })
	return d, nil
}
