package api

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"huigong/engine/shard"
	"huigong/engine/welfare"
	"huigong/mall"
)

// The earning API: the platform's other modules (quizzes, lectures, check-ins) award activity
// points to members, paid from a union's funded program of the activity category, within a
// daily cap per member and kind of activity. An award is idempotent by its Idempotency-Key, and
// can be reversed when its activity is cancelled: the reversal takes back what is left of the
// award and reports what the member had already spent. Every call that reaches the engine is
// audited with the role platform_module.

// AwardRequest awards activity points to a member.
type AwardRequest struct {
	UnionID   uint64 `json:"union_id"`
	MemberID  uint64 `json:"member_id"`
	ProgramID uint64 `json:"program_id"`
	// Activity is the kind of activity ("quiz", "lecture", "checkin"): the daily cap is per kind.
	Activity string `json:"activity"`
	Amount   string `json:"amount"`
}

// AwardResponse is an award as the engine holds it.
type AwardResponse struct {
	// AwardID names the award for its reversal.
	AwardID   uint64 `json:"award_id"`
	UnionID   uint64 `json:"union_id"`
	MemberID  uint64 `json:"member_id"`
	ProgramID uint64 `json:"program_id"`
	Activity  string `json:"activity"`
	Amount    string `json:"amount"`
	// Day is the day the award counts on, towards the daily cap (Asia/Shanghai).
	Day      string `json:"day"`
	Reversed bool   `json:"reversed"`
}

// ReverseAwardRequest names the union of the award to reverse.
type ReverseAwardRequest struct {
	UnionID uint64 `json:"union_id"`
}

// ReverseAwardResponse says what a reversal took back and what was already spent.
type ReverseAwardResponse struct {
	AwardID   uint64 `json:"award_id"`
	TakenBack string `json:"taken_back"`
	// AlreadySpent is the part of the award the member had spent or holds for an order.
	AlreadySpent string `json:"already_spent"`
}

// activityBytesMax is the engine's bound on an activity kind.
const activityBytesMax = 32

func (s *Server) registerEarning() {
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/awards", Summary: "Award activity points to a member (Idempotency-Key required; a retry answers the same award).",
		Tag: "earning", Roles: []Role{RoleModule}, Request: AwardRequest{}, Response: AwardResponse{}, Status: http.StatusCreated, Handler: s.award})
	s.add(Route{Method: fiber.MethodPost, Path: "/api/v1/awards/:award/reverse", Summary: "Reverse an award whose activity was cancelled: take back what is left, report what was spent.",
		Tag: "earning", Roles: []Role{RoleModule}, Request: ReverseAwardRequest{}, Response: ReverseAwardResponse{}, Handler: s.reverseAward})
}

// validActivity accepts lower-case letters, digits, '_' and '-': a kind is a key of the
// federation's caps, so it must be spelled one way.
func validActivity(a string) bool {
	if a == "" || len(a) > activityBytesMax {
		return false
	}
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

func (s *Server) auditModule(c *fiber.Ctx, union uint64, action, target, outcome string, detail any) error {
	return s.deps.Audit.Record(AuditEntry{Time: s.deps.Now(), Role: string(RoleModule), Actor: caller(c).Claims.SubjectID(),
		Union: union, Action: action, Target: target, Outcome: outcome, Detail: detail})
}

func awardTarget(id uint64) string { return "award:" + strconv.FormatUint(id, 10) }

// readAward reads an award on a union's shard, if it is of a member of that union.
func (s *Server) readAward(union, id uint64) (AwardResponse, bool, error) {
	var out AwardResponse
	found := false
	err := s.deps.Engine.Read(s.deps.Engine.UnionShard(welfare.UnionID(union)), func(st *welfare.State) {
		a, ok := st.Award(id)
		if !ok {
			return
		}
		m, ok := st.Member(a.MemberID)
		if !ok || uint64(m.UnionID) != union {
			return
		}
		found = true
		out = AwardResponse{AwardID: a.ID, UnionID: union, MemberID: uint64(a.MemberID), ProgramID: uint64(a.ProgramID),
			Activity: a.Kind, Amount: mall.FormatYuan(a.AmountFen), Day: time.Unix(0, welfare.DayStartNanos(a.Day)).In(shanghai).Format("2006-01-02"), Reversed: a.Reversed}
	})
	return out, found, err
}

// programOfUnion reports whether a program is the union's.
func (s *Server) programOfUnion(union, program uint64) (bool, error) {
	ok := false
	err := s.deps.Engine.Read(s.deps.Engine.UnionShard(welfare.UnionID(union)), func(st *welfare.State) {
		p, found := st.Program(welfare.ProgramID(program))
		ok = found && uint64(p.UnionID) == union
	})
	return ok, err
}

func (s *Server) award(c *fiber.Ctx) error {
	key, err := requireIdempotencyKey(c)
	if err != nil {
		return err
	}
	// The award id comes from the module and its key, so two modules never share an award;
	// the replay scope also holds the body, so another body under the same key reaches the
	// engine and is refused as exists_with_different_fields.
	idScope := "award\x00" + strconv.FormatUint(caller(c).Claims.SubjectID(), 10)
	awardID := idempotencyID(idScope, key)
	sum := sha256.Sum256(c.Body())
	scope := idScope + "\x00" + key + "\x00" + hex.EncodeToString(sum[:])
	if done, err := s.replay(c, scope); done || err != nil {
		return err
	}
	var b AwardRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    uint64
	}{{"union_id", b.UnionID}, {"member_id", b.MemberID}, {"program_id", b.ProgramID}} {
		if err := validID(f.name, f.v); err != nil {
			return err
		}
	}
	if !validActivity(b.Activity) {
		return fail(http.StatusUnprocessableEntity, codeBadRequest,
			fmt.Sprintf("activity must be 1 to %d of a-z, 0-9, '_' and '-'", activityBytesMax))
	}
	amountFen, err := yuan("amount", b.Amount, false)
	if err != nil {
		return err
	}
	// The engine pays from the program's union; a program of another union that happens to
	// share the shard must not be reachable by naming this one.
	if ok, err := s.programOfUnion(b.UnionID, b.ProgramID); err != nil {
		return err
	} else if !ok {
		return fail(http.StatusNotFound, welfare.UnknownProgram.String(), "the union has no such program")
	}
	r, err := s.deps.Engine.Submit(s.deps.Engine.UnionShard(welfare.UnionID(b.UnionID)), shard.Command{Kind: welfare.AwardPoints,
		AwardID: awardID, UnionID: welfare.UnionID(b.UnionID), MemberID: welfare.MemberID(b.MemberID),
		ProgramID: welfare.ProgramID(b.ProgramID), ActivityKind: b.Activity, AmountFen: amountFen})
	if err != nil {
		return err
	}
	if err := s.auditModule(c, b.UnionID, "award_points", awardTarget(awardID), r.Code.String(), b); err != nil {
		return err
	}
	if r.Code != welfare.OK && r.Code != welfare.Exists {
		e := engineFail(r.Code, "the award was refused")
		if r.Code == welfare.CapExceeded || r.Code == welfare.BudgetInsufficient {
			e.(*apiError).p.RoomLeft = mall.FormatYuan(r.RoomLeftFen)
		}
		return e
	}
	out, found, err := s.readAward(b.UnionID, awardID)
	if err != nil {
		return err
	}
	if !found {
		// The engine pays only members of the program's union, checked above to be this one.
		return fmt.Errorf("award %d decided but not found for union %d", awardID, b.UnionID)
	}
	c.Status(http.StatusCreated)
	if err := c.JSON(out); err != nil {
		return err
	}
	s.remember(c, scope)
	return nil
}

func (s *Server) reverseAward(c *fiber.Ctx) error {
	id, err := idParam(c, "award")
	if err != nil {
		return err
	}
	var b ReverseAwardRequest
	if err := s.decode(c, &b); err != nil {
		return err
	}
	if err := validID("union_id", b.UnionID); err != nil {
		return err
	}
	// The award must be of a member of the union named: an award id of another union on the
	// same shard is not this caller's to reverse under that union.
	if _, found, err := s.readAward(b.UnionID, id); err != nil {
		return err
	} else if !found {
		return fail(http.StatusNotFound, welfare.UnknownAward.String(), "the union has no such award")
	}
	r, err := s.deps.Engine.Submit(s.deps.Engine.UnionShard(welfare.UnionID(b.UnionID)), shard.Command{Kind: welfare.ReverseAward, AwardID: id})
	if err != nil {
		return err
	}
	out := ReverseAwardResponse{AwardID: id, TakenBack: mall.FormatYuan(r.TakenBackFen), AlreadySpent: mall.FormatYuan(r.SpentFen)}
	if err := s.auditModule(c, b.UnionID, "reverse_award", awardTarget(id), r.Code.String(), out); err != nil {
		return err
	}
	if r.Code != welfare.OK && r.Code != welfare.Exists {
		return engineFail(r.Code, "the reversal was refused")
	}
	return c.JSON(out)
}
