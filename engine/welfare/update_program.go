package welfare

import (
	"slices"
)

// updateProgram changes a program before it has issued anything: its name, amount per member,
// window and whitelist. Its category and gift package stay: the category is what caps count by,
// and a gift's options are what members claim. Once a member holds points of the program, its
// terms are what was issued under, and a change is refused with program_has_issued. An approval
// given to the old terms does not carry over to the new ones: the second officer approves again.
func (d *decider) updateProgram(p *Program, officer OfficerID) Result {
	if p.ID == 0 {
		return Result{Code: InvalidID}
	}
	e, u, r := d.ownProgram(p.ID)
	switch {
	case e == nil:
		return r
	case p.UnionID != 0 && p.UnionID != e.UnionID:
		return Result{Code: UnknownProgram}
	case !d.isOfficer(u, officer):
		return Result{Code: UnknownOfficer}
	case p.Category != 0 && p.Category != e.Category:
		return Result{Code: InvalidCategory}
	case sameTerms(e, p):
		return Result{Code: Exists}
	case e.Status != ProgramActive:
		return Result{Code: ProgramNotActive}
	case len(e.Members) > 0 || e.IssuedFen > 0:
		return Result{Code: ProgramHasIssued}
	}
	if code := d.checkTerms(e.Category, p); code != OK {
		return Result{Code: code}
	}
	np := Program{
		ID: e.ID, Name: p.Name, AmountPerMemberFen: p.AmountPerMemberFen, FromNanos: p.FromNanos, ToNanos: p.ToNanos,
		Whitelist: p.Whitelist.clone(),
	}
	d.emit(Event{Kind: EventProgramUpdated, Program: &np, Officer: officer})
	return Result{}
}

// sameTerms reports whether an update would change nothing.
func sameTerms(e, p *Program) bool {
	return e.Name == p.Name && e.AmountPerMemberFen == p.AmountPerMemberFen && e.FromNanos == p.FromNanos &&
		e.ToNanos == p.ToNanos && slices.Equal(e.Whitelist.Categories, p.Whitelist.Categories) &&
		slices.Equal(e.Whitelist.SKUs, p.Whitelist.SKUs) && slices.Equal(e.Whitelist.Merchants, p.Whitelist.Merchants)
}

// applyProgramUpdated sets a program's new terms. A new window end joins the expiry heap; the
// entry of the old end is skipped when it comes up, as Tick skips any entry whose end is not
// the program's.
func (s *State) applyProgramUpdated(u *Program) {
	p := s.programs[u.ID]
	p.Name, p.AmountPerMemberFen, p.FromNanos = u.Name, u.AmountPerMemberFen, u.FromNanos
	p.Whitelist = Whitelist{
		Categories: slices.Clone(u.Whitelist.Categories), SKUs: slices.Clone(u.Whitelist.SKUs),
		Merchants: slices.Clone(u.Whitelist.Merchants),
	}
	p.ApprovedBy = 0
	if p.ToNanos != u.ToNanos {
		p.ToNanos = u.ToNanos
		if p.Status == ProgramActive {
			s.expiries.Push(p.ToNanos, p.ID)
		}
	}
}
