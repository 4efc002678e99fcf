package mall

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"huigong/engine/shard"
	"huigong/engine/welfare"
)

// A union's roster: the real-name register as officers keep it, an Excel sheet or a CSV file
// with the columns member_id, name, registered and dues_paid. Importing registers each row's
// member (or updates its flags) and answers row by row: rows that fail are reported, rows that
// succeed are applied, nothing is dropped silently.

// ErrRoster is wrapped by every error about a roster file as a whole (not one of its rows).
var ErrRoster = errors.New("bad roster")

// Limits of a roster.
const (
	// RosterRowsMax bounds the rows of one import; a grassroots union has hundreds of members,
	// the largest thousands.
	RosterRowsMax = 100_000
	// rosterBatchCommandsMax is the commands of one SubmitBatch: well under the runtime's
	// batch limit (runtime.BatchCommandsMaxDefault), so an import never fails for its size,
	// and small enough that a large import shares the shard with other callers.
	rosterBatchCommandsMax = 1_000
	// rosterUnzipBytesMax bounds what an XLSX may unzip to, against zip bombs.
	rosterUnzipBytesMax = 64 << 20
	rosterCellBytesMax  = 256
)

// Row outcomes besides the engine's codes.
const (
	RosterOK            = "ok"
	RosterExists        = "exists"
	RosterInvalidID     = "invalid_id"
	RosterInvalidValue  = "invalid_value"
	RosterDuplicateRow  = "duplicate_row"
	RosterOtherUnion    = "member_of_other_union"
	rosterColumnID      = "member_id"
	rosterColumnName    = "name"
	rosterColumnReg     = "registered"
	rosterColumnDues    = "dues_paid"
	rosterRowsMaxDetail = "the roster has more than %d rows"
)

// RosterRow is one row of a roster file as read, before it is checked.
type RosterRow struct {
	// Line is the row's number in the file (1 for the first line or sheet row).
	Line       int
	MemberID   string
	Name       string
	Registered string
	DuesPaid   string
}

// RosterResult is the outcome of one row: RosterOK, RosterExists (already on the register as
// the row says), or a problem code with a message.
type RosterResult struct {
	Line     int
	MemberID welfare.MemberID
	Result   string
	Message  string
}

// ParseRosterCSV reads a CSV roster.
func ParseRosterCSV(data []byte) ([]RosterRow, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))) // Excel writes a BOM.
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var records [][]string
	var lines []int
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrRoster, err)
		}
		line, _ := r.FieldPos(0)
		records, lines = append(records, rec), append(lines, line)
		if len(records) > RosterRowsMax+1 {
			return nil, fmt.Errorf("%w: "+rosterRowsMaxDetail, ErrRoster, RosterRowsMax)
		}
	}
	return rosterRows(records, lines)
}

// ParseRosterXLSX reads the first sheet of an XLSX roster.
func ParseRosterXLSX(data []byte) ([]RosterRow, error) {
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: rosterUnzipBytesMax})
	if err != nil {
		return nil, fmt.Errorf("%w: not a readable XLSX file: %v", ErrRoster, err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fmt.Errorf("%w: the workbook has no sheet", ErrRoster)
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRoster, err)
	}
	defer rows.Close()
	var records [][]string
	var lines []int
	for line := 1; rows.Next(); line++ {
		// Raw values: a member id formatted as a number must not come back as 1.0E+15.
		rec, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, fmt.Errorf("%w: row %d: %v", ErrRoster, line, err)
		}
		if len(rec) == 0 {
			continue
		}
		records, lines = append(records, rec), append(lines, line)
		if len(records) > RosterRowsMax+1 {
			return nil, fmt.Errorf("%w: "+rosterRowsMaxDetail, ErrRoster, RosterRowsMax)
		}
	}
	if err := rows.Error(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRoster, err)
	}
	return rosterRows(records, lines)
}

// rosterRows maps records to rows. A first record whose first cell is not a number is the
// header and names the columns (member_id, registered and dues_paid are required, name is
// optional, others are ignored); without one, the columns are member_id, name, registered,
// dues_paid in that order. Blank records are skipped.
func rosterRows(records [][]string, lines []int) ([]RosterRow, error) {
	col := map[string]int{rosterColumnID: 0, rosterColumnName: 1, rosterColumnReg: 2, rosterColumnDues: 3}
	start := 0
	for start < len(records) && blank(records[start]) {
		start++
	}
	if start < len(records) {
		first := strings.TrimSpace(records[start][0])
		if _, err := strconv.ParseUint(first, 10, 64); err != nil {
			col = map[string]int{}
			for i, name := range records[start] {
				name = strings.ToLower(strings.TrimSpace(name))
				if _, dup := col[name]; dup && name != "" {
					return nil, fmt.Errorf("%w: the header names column %q twice", ErrRoster, name)
				}
				col[name] = i
			}
			for _, need := range []string{rosterColumnID, rosterColumnReg, rosterColumnDues} {
				if _, ok := col[need]; !ok {
					return nil, fmt.Errorf("%w: the header has no %q column (columns: member_id, name, registered, dues_paid)", ErrRoster, need)
				}
			}
			start++
		}
	}
	cell := func(rec []string, name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		v := strings.TrimSpace(rec[i])
		if len(v) > rosterCellBytesMax {
			v = v[:rosterCellBytesMax]
		}
		return v
	}
	var rows []RosterRow
	for i := start; i < len(records); i++ {
		if blank(records[i]) {
			continue
		}
		rows = append(rows, RosterRow{Line: lines[i], MemberID: cell(records[i], rosterColumnID), Name: cell(records[i], rosterColumnName),
			Registered: cell(records[i], rosterColumnReg), DuesPaid: cell(records[i], rosterColumnDues)})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: the roster has no rows", ErrRoster)
	}
	if len(rows) > RosterRowsMax {
		return nil, fmt.Errorf("%w: "+rosterRowsMaxDetail, ErrRoster, RosterRowsMax)
	}
	return rows, nil
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// rosterFlag reads a yes/no cell.
func rosterFlag(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "yes", "y", "1", "true", "是":
		return true, true
	case "no", "n", "0", "false", "否":
		return false, true
	}
	return false, false
}

// ImportRoster registers the rows' members in union u, in batches on the union's shard, and
// returns one result per row in file order. A row is refused before the engine sees it when its
// id or a flag is not valid, when its member was on an earlier row, or when the member is on
// the register of another union (on any shard); the engine decides the rest.
func (e *Engine) ImportRoster(u welfare.UnionID, rows []RosterRow) ([]RosterResult, error) {
	results := make([]RosterResult, len(rows))
	firstLine := map[welfare.MemberID]int{}
	var pending []int // rows to submit
	for i, r := range rows {
		res := &results[i]
		res.Line = r.Line
		id, err := strconv.ParseUint(r.MemberID, 10, 64)
		if err != nil || id == 0 || id >= 1<<53 {
			res.Result, res.Message = RosterInvalidID, fmt.Sprintf("member_id %q is not a positive integer below 2^53", r.MemberID)
			continue
		}
		res.MemberID = welfare.MemberID(id)
		_, okReg := rosterFlag(r.Registered)
		_, okDues := rosterFlag(r.DuesPaid)
		switch {
		case !okReg:
			res.Result, res.Message = RosterInvalidValue, fmt.Sprintf("registered %q is not one of yes, no, 1, 0, true, false", r.Registered)
			continue
		case !okDues:
			res.Result, res.Message = RosterInvalidValue, fmt.Sprintf("dues_paid %q is not one of yes, no, 1, 0, true, false", r.DuesPaid)
			continue
		}
		if line, dup := firstLine[res.MemberID]; dup {
			res.Result, res.Message = RosterDuplicateRow, fmt.Sprintf("member %d is on line %d already", id, line)
			continue
		}
		firstLine[res.MemberID] = r.Line
		pending = append(pending, i)
	}
	// A member on another union's register: its shard is not known from its id, so every
	// other shard is asked once for all the roster's members.
	home := e.UnionShard(u)
	elsewhere := map[welfare.MemberID]welfare.UnionID{}
	for s := 0; s < e.shardsCount && len(pending) > 0; s++ {
		if uint32(s) == home {
			continue // The engine refuses these itself, as exists_with_different_fields.
		}
		err := e.Read(uint32(s), func(st *welfare.State) {
			for _, i := range pending {
				if m, ok := st.Member(results[i].MemberID); ok {
					elsewhere[m.ID] = m.UnionID
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	cmds := make([]shard.Command, 0, min(len(pending), rosterBatchCommandsMax))
	idx := make([]int, 0, cap(cmds))
	flush := func() error {
		if len(cmds) == 0 {
			return nil
		}
		out := make([]shard.Result, len(cmds))
		if err := e.rt.SubmitBatch(home, cmds, out); err != nil {
			return err
		}
		for k, r := range out {
			res := &results[idx[k]]
			switch r.Code {
			case welfare.OK:
				res.Result = RosterOK
			case welfare.Exists:
				res.Result = RosterExists
			case welfare.ExistsWithDifferentFields:
				res.Result, res.Message = RosterOtherUnion, fmt.Sprintf("member %d is on the register of another union: moving it is not an import", res.MemberID)
			default:
				res.Result, res.Message = r.Code.String(), "refused by the engine"
			}
		}
		cmds, idx = cmds[:0], idx[:0]
		return nil
	}
	for _, i := range pending {
		res := &results[i]
		if other, ok := elsewhere[res.MemberID]; ok && other != u {
			res.Result, res.Message = RosterOtherUnion, fmt.Sprintf("member %d is on the register of union %d: moving it is not an import", res.MemberID, other)
			continue
		}
		reg, _ := rosterFlag(rows[i].Registered)
		dues, _ := rosterFlag(rows[i].DuesPaid)
		cmds = append(cmds, shard.Command{Kind: welfare.RegisterMember, MemberID: res.MemberID, UnionID: u, Registered: reg, DuesPaid: dues})
		idx = append(idx, i)
		if len(cmds) == rosterBatchCommandsMax {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return results, nil
}
