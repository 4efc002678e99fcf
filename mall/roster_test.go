package mall_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"huigong/engine/shard"
	"huigong/engine/welfare"
	"huigong/mall"
)

func TestParseRosterCSV(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		want  []mall.RosterRow
		error bool
	}{
		{name: "header, columns in another order, an extra column, a BOM",
			in:   "\xef\xbb\xbfdues_paid, Member_ID ,note,registered,name\nyes,100,x,no,Chen Wei\n",
			want: []mall.RosterRow{{Line: 2, MemberID: "100", Name: "Chen Wei", Registered: "no", DuesPaid: "yes"}}},
		{name: "no header: member_id, name, registered, dues_paid",
			in:   "100,Chen Wei,1,0\n\n101,,true,false\n",
			want: []mall.RosterRow{{Line: 1, MemberID: "100", Name: "Chen Wei", Registered: "1", DuesPaid: "0"}, {Line: 3, MemberID: "101", Registered: "true", DuesPaid: "false"}}},
		{name: "short rows read as blank cells", in: "100\n",
			want: []mall.RosterRow{{Line: 1, MemberID: "100"}}},
		{name: "quoted field over two lines keeps the line of its start",
			in:   "member_id,name,registered,dues_paid\n100,\"Chen\nWei\",yes,yes\n101,Lin,yes,yes\n",
			want: []mall.RosterRow{{Line: 2, MemberID: "100", Name: "Chen\nWei", Registered: "yes", DuesPaid: "yes"}, {Line: 4, MemberID: "101", Name: "Lin", Registered: "yes", DuesPaid: "yes"}}},
		{name: "no rows", in: "member_id,registered,dues_paid\n", error: true},
		{name: "empty", in: "", error: true},
		{name: "header without dues_paid", in: "member_id,registered\n1,yes\n", error: true},
		{name: "a column twice", in: "member_id,registered,dues_paid,member_id\n1,yes,yes,2\n", error: true},
		{name: "a bare quote", in: "1,\"a,yes,yes\n", error: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := mall.ParseRosterCSV([]byte(c.in))
			if c.error {
				if !errors.Is(err, mall.ErrRoster) {
					t.Fatalf("rows %+v, err %v; want ErrRoster", rows, err)
				}
				return
			}
			if err != nil || len(rows) != len(c.want) {
				t.Fatalf("rows %+v, err %v", rows, err)
			}
			for i := range rows {
				if rows[i] != c.want[i] {
					t.Fatalf("row %d: %+v, want %+v", i, rows[i], c.want[i])
				}
			}
		})
	}
	many := "member_id,registered,dues_paid\n" + strings.Repeat("1,yes,yes\n", mall.RosterRowsMax+1)
	if _, err := mall.ParseRosterCSV([]byte(many)); !errors.Is(err, mall.ErrRoster) {
		t.Fatalf("%d rows: %v", mall.RosterRowsMax+1, err)
	}
}

func TestParseRosterXLSX(t *testing.T) {
	f := excelize.NewFile()
	rows := [][]any{{"member_id", "name", "registered", "dues_paid"}, {1234567890123, "Chen Wei", "yes", true}, {}, {101, "Lin", 0, "no"}}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	got, err := mall.ParseRosterXLSX(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []mall.RosterRow{{Line: 2, MemberID: "1234567890123", Name: "Chen Wei", Registered: "yes", DuesPaid: "1"},
		{Line: 4, MemberID: "101", Name: "Lin", Registered: "0", DuesPaid: "no"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("rows %+v", got)
	}
	if _, err := mall.ParseRosterXLSX([]byte("PK\x03\x04 not really")); !errors.Is(err, mall.ErrRoster) {
		t.Fatalf("a broken file: %v", err)
	}
}

func TestImportRoster(t *testing.T) {
	f := open(t)
	e := f.engine
	// Unions 11 and 12 on different shards, so a member of 12 is found by asking the others.
	var other welfare.UnionID = 12
	for e.UnionShard(other) == e.UnionShard(11) {
		other++
	}
	f.must(t, e.UnionShard(11), shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 11}})
	f.must(t, e.UnionShard(other), shard.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: other}})
	f.must(t, e.UnionShard(other), shard.Command{Kind: welfare.RegisterMember, MemberID: 500, UnionID: other, Registered: true, DuesPaid: true})
	f.must(t, e.UnionShard(11), shard.Command{Kind: welfare.RegisterMember, MemberID: 100, UnionID: 11, Registered: true, DuesPaid: true})
	rows := []mall.RosterRow{
		{Line: 2, MemberID: "100", Registered: "yes", DuesPaid: "yes"},
		{Line: 3, MemberID: "101", Registered: "yes", DuesPaid: "no"},
		{Line: 4, MemberID: "500", Registered: "yes", DuesPaid: "yes"},
		{Line: 5, MemberID: "9007199254740992", Registered: "yes", DuesPaid: "yes"},
		{Line: 6, MemberID: "102", Registered: "Y", DuesPaid: "perhaps"},
		{Line: 7, MemberID: "101", Registered: "yes", DuesPaid: "yes"},
	}
	// Enough further rows to take more than one batch.
	for i := 0; i < 2500; i++ {
		rows = append(rows, mall.RosterRow{Line: 8 + i, MemberID: itoaMall(uint64(1000 + i)), Registered: "1", DuesPaid: "1"})
	}
	res, err := e.ImportRoster(11, rows)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{mall.RosterExists, mall.RosterOK, mall.RosterOtherUnion, mall.RosterInvalidID, mall.RosterInvalidValue, mall.RosterDuplicateRow}
	for i, w := range want {
		if res[i].Result != w || res[i].Line != rows[i].Line {
			t.Fatalf("row %d: %+v, want %s", i, res[i], w)
		}
	}
	for _, r := range res[len(want):] {
		if r.Result != mall.RosterOK {
			t.Fatalf("row %+v", r)
		}
	}
	sum, _, _ := e.UnionSummary(11)
	if sum.MembersCount != 2+2500 || sum.RegisteredCount != 1+2500 {
		t.Fatalf("union %+v", sum)
	}
	// The member of the other union stays there.
	var u welfare.UnionID
	_ = e.Read(e.UnionShard(other), func(st *welfare.State) {
		if m, ok := st.Member(500); ok {
			u = m.UnionID
		}
	})
	if u != other {
		t.Fatalf("member 500 is in union %d", u)
	}
}

func itoaMall(n uint64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}
