package mall

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// The audit pack: what finance asks of each distribution. Who received what and when, issued
// by whom and approved by whom (the programs and the issuance), what the points bought (the
// orders paid with them), and the merchants' settlement with its invoice references. The API
// adds the union's audit log as one more section. It is written as one CSV file or as an XLSX
// workbook with one sheet per section.

// AuditSection is one table of the pack.
type AuditSection struct {
	Name   string
	Header []string
	Rows   [][]string
}

// AuditPack is the pack of a union, for one program or all of them.
type AuditPack struct {
	UnionID  welfare.UnionID
	Sections []AuditSection
}

// auditZone is the platform's time zone (UTC+8 all year since 1991), for times and months.
var auditZone = time.FixedZone("Asia/Shanghai", 8*3600)

func auditTime(nanos int64) string {
	if nanos == 0 {
		return ""
	}
	return time.Unix(0, nanos).In(auditZone).Format(time.RFC3339)
}

func idString[T ~uint64](id T) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(id), 10)
}

// InvoiceRef is the reference of a merchant's invoice for a month's settlement: one invoice
// per merchant and month, so the reference is known before the invoice arrives.
func InvoiceRef(m welfare.MerchantID, monthStartNanos int64) string {
	return fmt.Sprintf("INV-%d-%s", m, time.Unix(0, monthStartNanos).In(auditZone).Format("200601"))
}

// monthOf returns the start of the Asia/Shanghai month of a time, and of the next.
func monthOf(nanos int64) (from, to int64) {
	t := time.Unix(0, nanos).In(auditZone)
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, auditZone)
	return start.UnixNano(), start.AddDate(0, 1, 0).UnixNano()
}

// AuditPack builds the pack of union u for program (every program of the union when zero).
// False when there is no such union or program.
func (e *Engine) AuditPack(u welfare.UnionID, program welfare.ProgramID) (AuditPack, bool, error) {
	s := e.UnionShard(u)
	var programs []welfare.Program
	var issued [][]string
	var orders []welfare.Order
	found := false
	err := e.Read(s, func(st *welfare.State) {
		if _, ok := st.Union(u); !ok {
			return
		}
		selected := map[welfare.ProgramID]bool{}
		for _, p := range st.Programs() {
			if ownedBy(p, u, s) && (program == 0 || p.ID == program) {
				programs = append(programs, CopyProgram(p))
				selected[p.ID] = true
			}
		}
		if program != 0 && len(programs) == 0 {
			return
		}
		found = true
		for i := range programs {
			p := &programs[i]
			for _, mid := range p.Members {
				m, ok := st.Member(mid)
				if !ok {
					issued = append(issued, []string{idString(p.ID), p.Name, idString(mid), "", "", "", idString(p.CreatedBy), idString(p.ApprovedBy), "moved to another union"})
					continue
				}
				h, ok := m.Holding(p.ID)
				if !ok {
					continue
				}
				issued = append(issued, []string{idString(p.ID), p.Name, idString(mid), FormatYuan(h.IssuedFen), auditTime(h.IssuedNanos),
					idString(h.IssuedBy), idString(p.CreatedBy), idString(p.ApprovedBy), ""})
			}
		}
		for _, o := range st.Orders() {
			if o.UnionID != u || o.State == welfare.OrderReserving || o.State == welfare.OrderAwaitingPayment || o.State == welfare.OrderRefused {
				continue
			}
			if slices.ContainsFunc(o.Holds, func(h welfare.Hold) bool { return selected[h.ProgramID] }) {
				c := *o
				c.Lines, c.Holds = slices.Clone(o.Lines), slices.Clone(o.Holds)
				orders = append(orders, c)
			}
		}
	})
	if err != nil || !found {
		return AuditPack{}, found, err
	}
	merchants, skus, err := e.packNames(orders)
	if err != nil {
		return AuditPack{}, false, err
	}
	pack := AuditPack{UnionID: u}
	progRows := make([][]string, 0, len(programs))
	names := map[welfare.ProgramID]string{}
	for _, p := range programs {
		names[p.ID] = p.Name
		progRows = append(progRows, []string{idString(p.ID), p.Name, p.Category.String(), FormatYuan(p.AmountPerMemberFen),
			auditTime(p.FromNanos), auditTime(p.ToNanos), p.Status.String(), idString(p.CreatedBy), idString(p.ApprovedBy),
			FormatYuan(p.IssuedFen), strconv.Itoa(len(p.Members))})
	}
	pack.Sections = append(pack.Sections,
		AuditSection{Name: "programs", Header: []string{"program_id", "program_name", "category", "amount_per_member", "valid_from", "valid_to",
			"status", "created_by", "approved_by", "issued_total", "members"}, Rows: progRows},
		AuditSection{Name: "issuance", Header: []string{"program_id", "program_name", "member_id", "amount", "issued_at", "issued_by",
			"created_by", "approved_by", "note"}, Rows: issued},
	)
	var buys [][]string
	for _, o := range orders {
		for _, h := range o.Holds {
			if _, ok := names[h.ProgramID]; !ok {
				continue // Cash, or points of a program outside the pack.
			}
			buys = append(buys, []string{idString(o.ID), idString(o.MemberID), idString(h.ProgramID), names[h.ProgramID], idString(h.MerchantID),
				merchants[h.MerchantID], strings.Join(lineItems(&o, h.MerchantID, skus), "; "), FormatYuan(h.AmountFen), o.State.String(),
				auditTime(o.PlacedNanos), auditTime(o.HandedNanos), auditTime(o.ReturnedNanos)})
		}
	}
	pack.Sections = append(pack.Sections, AuditSection{Name: "purchases", Header: []string{"order_id", "member_id", "program_id", "program_name",
		"merchant_id", "merchant_name", "items", "amount", "order_state", "placed_at", "handed_out_at", "returned_at"}, Rows: buys})
	pack.Sections = append(pack.Sections, AuditSection{Name: "settlement", Header: []string{"merchant_id", "merchant_name", "month",
		"union_amount", "merchant_statement_total", "invoice_ref"}, Rows: e.packSettlement(orders, merchants)})
	return pack, true, nil
}

// lineItems names the order's goods from one merchant: "Peanut oil 5L x2".
func lineItems(o *welfare.Order, m welfare.MerchantID, skus map[stock.SKUID]string) []string {
	var items []string
	for _, l := range o.Lines {
		if l.MerchantID != m {
			continue
		}
		name := skus[l.SKU]
		if name == "" {
			name = "SKU " + idString(l.SKU)
		}
		items = append(items, fmt.Sprintf("%s x%d", name, l.Quantity))
	}
	return items
}

// packNames reads the merchants' names from the directory and the SKUs' names from their home
// shards, one read per shard.
func (e *Engine) packNames(orders []welfare.Order) (map[welfare.MerchantID]string, map[stock.SKUID]string, error) {
	merchants := map[welfare.MerchantID]string{}
	skus := map[stock.SKUID]string{}
	byShard := map[uint32][]stock.SKUID{}
	for _, o := range orders {
		for _, l := range o.Lines {
			merchants[l.MerchantID] = ""
			if _, ok := skus[l.SKU]; !ok {
				skus[l.SKU] = ""
				byShard[e.SKUShard(l.SKU)] = append(byShard[e.SKUShard(l.SKU)], l.SKU)
			}
		}
	}
	if len(orders) == 0 {
		return merchants, skus, nil
	}
	err := e.Read(DirectoryShard, func(st *welfare.State) {
		for id := range merchants {
			if m, ok := st.Merchant(id); ok {
				merchants[id] = m.Name
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	for s, ids := range byShard {
		err := e.Read(s, func(st *welfare.State) {
			for _, id := range ids {
				if sk, ok := st.Stock().SKU(id); ok {
					name := sk.Name
					if sk.ProductName != "" && sk.ProductName != sk.Name {
						name = strings.TrimSpace(sk.ProductName + " " + sk.Name)
					}
					skus[id] = name
				}
			}
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return merchants, skus, nil
}

// packSettlement is, per merchant and month, what the union's orders in the pack add to the
// merchant's settlement statement (handed out less returned), the statement's total for the
// month over all unions, and the invoice reference. Each merchant's statement is read once, over
// the months the orders span.
func (e *Engine) packSettlement(orders []welfare.Order, names map[welfare.MerchantID]string) [][]string {
	ours := map[welfare.OrderID]bool{}
	span := map[welfare.MerchantID][2]int64{}
	for _, o := range orders {
		ours[o.ID] = true
		for _, at := range []int64{o.HandedNanos, o.ReturnedNanos} {
			if at == 0 {
				continue
			}
			from, to := monthOf(at)
			for _, h := range o.Holds {
				sp, ok := span[h.MerchantID]
				if !ok || from < sp[0] {
					sp[0] = from
				}
				if to > sp[1] {
					sp[1] = to
				}
				span[h.MerchantID] = sp
			}
		}
	}
	ids := make([]welfare.MerchantID, 0, len(span))
	for m := range span {
		ids = append(ids, m)
	}
	slices.Sort(ids)
	var rows [][]string
	for _, m := range ids {
		st := e.Statement(m, span[m][0], span[m][1])
		type month struct{ union, total int64 }
		months := map[int64]*month{}
		var order []int64
		for _, l := range st.Lines {
			from, _ := monthOf(l.AtNanos)
			mo, ok := months[from]
			if !ok {
				mo = &month{}
				months[from] = mo
				order = append(order, from)
			}
			mo.total += l.AmountFen
			if ours[l.OrderID] {
				mo.union += l.AmountFen
			}
		}
		slices.Sort(order)
		for _, from := range order {
			mo := months[from]
			if mo.union == 0 {
				continue
			}
			rows = append(rows, []string{idString(m), names[m], time.Unix(0, from).In(auditZone).Format("2006-01"),
				FormatYuan(mo.union), FormatYuan(mo.total), InvoiceRef(m, from)})
		}
	}
	return rows
}

// WriteCSV writes the pack as one CSV table: every record starts with its section's name, the
// first record of a section names its columns, and records are padded to one width, so the
// file reads as a single table in a spreadsheet and with any CSV reader.
func (p *AuditPack) WriteCSV(w io.Writer) error {
	width := 0
	for _, s := range p.Sections {
		width = max(width, len(s.Header))
		for _, r := range s.Rows {
			width = max(width, len(r))
		}
	}
	cw := csv.NewWriter(w)
	rec := make([]string, width+1)
	write := func(section string, cells []string) error {
		clear(rec)
		rec[0] = section
		copy(rec[1:], cells)
		return cw.Write(rec)
	}
	for _, s := range p.Sections {
		if err := write(s.Name, s.Header); err != nil {
			return err
		}
		for _, r := range s.Rows {
			if err := write(s.Name, r); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// XLSX returns the pack as a workbook with one sheet per section, its header on the first row.
func (p *AuditPack) XLSX() ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	for i, s := range p.Sections {
		if i == 0 {
			if err := f.SetSheetName(f.GetSheetList()[0], s.Name); err != nil {
				return nil, err
			}
		} else if _, err := f.NewSheet(s.Name); err != nil {
			return nil, err
		}
		sw, err := f.NewStreamWriter(s.Name)
		if err != nil {
			return nil, err
		}
		for r, cells := range append([][]string{s.Header}, s.Rows...) {
			row := make([]any, len(cells))
			for k, c := range cells {
				row[k] = c
			}
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := sw.SetRow(cell, row); err != nil {
				return nil, err
			}
		}
		if err := sw.Flush(); err != nil {
			return nil, err
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
