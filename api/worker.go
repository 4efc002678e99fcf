package api

import (
	"net/http"

	"github.com/gofiber/fiber/v2"

	"huigong/engine/welfare"
	"huigong/mall"
)

// MeResponse is a member's register entry and points.
type MeResponse struct {
	MemberID   uint64           `json:"member_id"`
	UnionID    uint64           `json:"union_id"`
	Registered bool             `json:"registered"`
	DuesPaid   bool             `json:"dues_paid"`
	Balances   []ProgramBalance `json:"balances"`
}

// ProgramBalance is a member's points of one program.
type ProgramBalance struct {
	ProgramID uint64 `json:"program_id"`
	Name      string `json:"name"`
	Category  string `json:"category"`
	Balance   string `json:"balance"`
	Available string `json:"available"`
	Held      string `json:"held"`
	ValidFrom string `json:"valid_from"`
	ExpiresAt string `json:"expires_at"`
	Status    string `json:"status"`
}

func (s *Server) registerWorker() {
	s.add(Route{Method: fiber.MethodGet, Path: "/api/v1/me", Summary: "The calling member, with points per program and their expiry.",
		Tag: "workers", Roles: []Role{RoleMember}, Response: MeResponse{}, Handler: s.me})
}

// memberOf reads the calling member from the union's shard named in the token.
func (s *Server) memberOf(c *fiber.Ctx) (MeResponse, error) {
	cl := caller(c).Claims
	var out MeResponse
	found := false
	err := s.deps.Engine.Read(s.deps.Engine.UnionShard(welfare.UnionID(cl.Union)), func(st *welfare.State) {
		m, ok := st.Member(welfare.MemberID(cl.SubjectID()))
		if !ok || m.UnionID != welfare.UnionID(cl.Union) {
			return
		}
		found = true
		out = MeResponse{MemberID: uint64(m.ID), UnionID: uint64(m.UnionID), Registered: m.Registered, DuesPaid: m.DuesPaid, Balances: []ProgramBalance{}}
		for _, h := range m.Holdings {
			p, _ := st.Program(h.ProgramID)
			a, _ := st.Ledger().Account(h.AccountID)
			out.Balances = append(out.Balances, ProgramBalance{
				ProgramID: uint64(p.ID), Name: p.Name, Category: p.Category.String(),
				Balance: mall.FormatYuan(a.BalanceFen()), Available: mall.FormatYuan(a.AvailableFen()),
				Held: mall.FormatYuan(a.DebitsPendingFen), ValidFrom: rfc3339(p.FromNanos), ExpiresAt: rfc3339(p.ToNanos),
				Status: holdingStatus(p, &h),
			})
		}
	})
	if err != nil {
		return out, err
	}
	if !found {
		return out, fail(http.StatusNotFound, welfare.UnknownMember.String(), "the member is not on the register of the union in the token")
	}
	return out, nil
}

func holdingStatus(p *welfare.Program, h *welfare.Holding) string {
	if h.Closed {
		return p.Status.String()
	}
	return p.Status.String()
}

func (s *Server) me(c *fiber.Ctx) error {
	out, err := s.memberOf(c)
	if err != nil {
		return err
	}
	return c.JSON(out)
}
