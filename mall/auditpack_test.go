package mall_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

// packFixture: union 11 issues program 5 (300 yuan) to members 100 and 101. Member 100's order
// 1000 is handed out; member 101's order 1001 is handed out and returned; member 100's order
// 1002 (100 yuan) is placed and waits (its points are held).
func packFixture(t *testing.T) *fixture {
	f := open(t)
	e := f.engine
	u := welfare.UnionID(11)
	us := e.UnionShard(u)
	f.must(t, us, shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: u, Name: "Union 11", Officers: []welfare.OfficerID{7, 8}}})
	f.must(t, e.UnionShard(12), shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 12, Name: "Union 12"}})
	for _, m := range []welfare.MemberID{100, 101} {
		f.must(t, us, shard.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: u, Registered: true, DuesPaid: true})
	}
	f.must(t, us, shard.Command{Kind: welfare.RegisterMember, MemberID: 102, UnionID: u, Registered: true})
	f.must(t, us, shard.Command{Kind: welfare.FundUnion, UnionID: u, TransferID: 1, AmountFen: 1_000_00})
	f.must(t, us, shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{
		ID: 5, UnionID: u, Name: "Spring", Category: welfare.CategoryFestival, AmountPerMemberFen: 300_00, FromNanos: day(2026, 2, 1), ToNanos: day(2026, 3, 1)}})
	f.must(t, us, shard.Command{Kind: welfare.ApproveProgram, ProgramID: 5, Officer: 8})
	f.must(t, us, shard.Command{Kind: welfare.Issue, ProgramID: 5, Officer: 7})
	f.must(t, mall.DirectoryShard, shard.Command{Kind: welfare.SetMerchant, Merchant: welfare.Merchant{ID: 1, Name: "Grain", Approved: true}})
	for _, sku := range []stock.SKU{
		{ID: 900, Name: "Rice 10kg", MerchantID: 1, Category: "food", PriceFen: 50_00, Listed: true},
		{ID: 901, ProductName: "Peanut oil", Name: "5L", MerchantID: 2, Category: "oil", PriceFen: 80_00, Listed: true},
	} {
		f.must(t, e.SKUShard(sku.ID), shard.Command{Kind: welfare.SetSKU, SKU: sku})
		f.must(t, e.SKUShard(sku.ID), shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: sku.ID}, Quantity: 10})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	both := []welfare.OrderLine{{SKU: 900, Quantity: 2, UnitPriceFen: 50_00, MerchantID: 1, Category: "food"},
		{SKU: 901, Quantity: 1, UnitPriceFen: 80_00, MerchantID: 2, Category: "oil"}}
	for _, o := range []struct {
		id     welfare.OrderID
		member welfare.MemberID
		lines  []welfare.OrderLine
	}{{1000, 100, both}, {1001, 101, both}, {1002, 100, both[:1]}} {
		out, err := e.Checkout(ctx, o.member, u, &welfare.OrderRequest{ID: o.id, PickupPointID: 3, Lines: slices.Clone(o.lines)})
		if err != nil || out.State != welfare.OrderPlaced {
			t.Fatalf("checkout %d: %+v %v", o.id, out, err)
		}
	}
	for _, id := range []welfare.OrderID{1000, 1001} {
		for _, k := range []welfare.CommandKind{welfare.ShipOrder, welfare.ArriveOrder, welfare.HandOutOrder} {
			f.must(t, us, shard.Command{Kind: k, OrderID: id})
		}
	}
	f.must(t, us, shard.Command{Kind: welfare.ReturnOrder, OrderID: 1001, MemberID: 101})
	return f
}

func TestIssuanceReportAndDashboard(t *testing.T) {
	f := packFixture(t)
	e := f.engine
	rep, found, err := e.IssuanceReport(11, 5)
	if err != nil || !found {
		t.Fatal(found, err)
	}
	want := []mall.MemberIssuance{
		{MemberID: 100, IssuedFen: 300_00, SpentFen: 180_00, HeldFen: 100_00, BalanceFen: 120_00, IssuedNanos: f.now, IssuedBy: 7},
		{MemberID: 101, IssuedFen: 300_00, BalanceFen: 300_00, IssuedNanos: f.now, IssuedBy: 7},
	}
	if !slices.Equal(rep.Members, want) || rep.Totals.SpentFen != 180_00 || rep.Totals.HeldFen != 100_00 || rep.Totals.BalanceFen != 420_00 {
		t.Fatalf("report %+v", rep)
	}
	if _, found, _ := e.IssuanceReport(12, 5); found {
		t.Fatal("union 12 sees union 11's program")
	}
	// Revoked: what was neither spent nor held goes back, and is reported expired.
	f.must(t, e.UnionShard(11), shard.Command{Kind: welfare.RevokeProgram, ProgramID: 5, Officer: 7})
	rep, _, _ = e.IssuanceReport(11, 5)
	if m := rep.Members[0]; m.ExpiredFen != 20_00 || m.BalanceFen != 100_00 || m.HeldFen != 100_00 || !m.Closed {
		t.Fatalf("member 100 after revocation %+v", m)
	}
	if m := rep.Members[1]; m.ExpiredFen != 300_00 || m.BalanceFen != 0 {
		t.Fatalf("member 101 after revocation %+v", m)
	}

	d, err := e.Dashboard()
	if err != nil {
		t.Fatal(err)
	}
	orders := map[welfare.OrderState]int{welfare.OrderHandedOut: 1, welfare.OrderReturned: 1, welfare.OrderPlaced: 1}
	if d.MembersReached != 2 || d.ValueFen != 280_00 || len(d.Orders) != 3 || len(d.Unions) != 2 {
		t.Fatalf("dashboard %+v", d)
	}
	for s, n := range orders {
		if d.Orders[s] != n || d.Unions[0].Orders[s] != n {
			t.Fatalf("orders %v, union 11 %v", d.Orders, d.Unions[0].Orders)
		}
	}
	if d.Unions[0].UnionID != 11 || d.Unions[1].UnionID != 12 || d.Unions[1].MembersReached != 0 || d.Unions[1].ValueFen != 0 {
		t.Fatalf("unions %+v", d.Unions)
	}

	members, more, found, err := e.UnionMembers(11, 100, 1)
	if err != nil || !found || !more || len(members) != 1 || members[0] != (mall.MemberPoints{MemberID: 101, Registered: true, DuesPaid: true, ProgramsCount: 1}) {
		t.Fatalf("members after 100: %+v %v %v %v", members, more, found, err)
	}
}

func TestAuditPack(t *testing.T) {
	f := packFixture(t)
	pack, found, err := f.engine.AuditPack(11, 0)
	if err != nil || !found {
		t.Fatal(found, err)
	}
	byName := map[string]mall.AuditSection{}
	for _, s := range pack.Sections {
		byName[s.Name] = s
	}
	if issued := byName["issuance"].Rows; len(issued) != 2 || issued[0][2] != "100" || issued[0][3] != "300.00" || issued[0][5] != "7" || issued[0][7] != "8" {
		t.Fatalf("issuance %v", issued)
	}
	buys := byName["purchases"].Rows
	if len(buys) != 5 {
		t.Fatalf("purchases %v", buys)
	}
	if buys[0][0] != "1000" || buys[0][6] != "Rice 10kg x2" || buys[0][5] != "Grain" || buys[0][7] != "100.00" ||
		buys[1][6] != "Peanut oil 5L x1" || buys[1][5] != "" || buys[2][8] != "returned" || buys[4][8] != "placed" {
		t.Fatalf("purchases %v", buys)
	}
	// Merchant 1 was paid for 1000 and 1001, less 1001's return; merchant 2 the same at 80.
	settle := byName["settlement"].Rows
	wantSettle := [][]string{{"1", "Grain", "2026-02", "100.00", "100.00", "INV-1-202602"}, {"2", "", "2026-02", "80.00", "80.00", "INV-2-202602"}}
	if len(settle) != 2 || !slices.Equal(settle[0], wantSettle[0]) || !slices.Equal(settle[1], wantSettle[1]) {
		t.Fatalf("settlement %v", settle)
	}
	if _, found, _ := f.engine.AuditPack(11, 6); found {
		t.Fatal("a pack of a program that does not exist")
	}
	if _, found, _ := f.engine.AuditPack(13, 0); found {
		t.Fatal("a pack of a union that does not exist")
	}

	// CSV: one table of one width, every record led by its section.
	var buf bytes.Buffer
	if err := pack.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&buf).ReadAll() // FieldsPerRecord 0: every record as wide as the first.
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	rows := 0
	for _, s := range pack.Sections {
		rows += 1 + len(s.Rows)
	}
	if len(records) != rows || records[0][0] != "programs" || records[0][1] != "program_id" || records[len(records)-1][0] != "settlement" {
		t.Fatalf("csv records %v", records)
	}
	// XLSX: a sheet per section with its header.
	b, err := pack.XLSX()
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if sheets := x.GetSheetList(); !slices.Equal(sheets, []string{"programs", "issuance", "purchases", "settlement"}) {
		t.Fatalf("sheets %v", sheets)
	}
	got, _ := x.GetRows("purchases")
	if len(got) != 6 || got[0][0] != "order_id" || got[1][6] != "Rice 10kg x2" {
		t.Fatalf("purchases sheet %v", got)
	}
}

func TestInvoiceRef(t *testing.T) {
	// Months are Asia/Shanghai months: 00:30 on 1 February there is 16:30 UTC on 31 January,
	// and counts in February.
	shanghai := time.FixedZone("Asia/Shanghai", 8*3600)
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 1, 31, 23, 30, 0, 0, shanghai), "INV-7-202601"},
		{time.Date(2026, 2, 1, 0, 30, 0, 0, shanghai), "INV-7-202602"},
		{time.Date(2026, 12, 31, 23, 59, 59, 0, shanghai), "INV-7-202612"},
	} {
		if got := mall.InvoiceRef(7, c.at.UnixNano()); got != c.want {
			t.Errorf("%v: %s, want %s", c.at, got, c.want)
		}
	}
}
