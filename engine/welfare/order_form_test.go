package welfare_test

import (
	"bytes"
	"reflect"
	"testing"

	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// An order's form, once handed to a reader or a note, never changes; forms nobody was given
// change in place. Either way the journal's events rebuild the same orders.
func TestHandedOutOrderFormsNeverChange(t *testing.T) {
	now := welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 10))
	member, sku := welfare.New(0, 2), welfare.New(1, 2)
	replayed := welfare.New(0, 2)
	var out welfare.Output
	journal := func() {
		t.Helper()
		if err := replayed.Apply(out.Events); err != nil {
			t.Fatal(err)
		}
	}
	results := make([]welfare.Result, 1)
	run := func(st *welfare.State, c welfare.Command) {
		t.Helper()
		out.Reset()
		st.Execute(now, []welfare.Command{c}, results, &out)
		if results[0].Code != welfare.OK {
			t.Fatalf("command %d: %+v", c.Kind, results[0])
		}
		if st == member {
			journal()
		}
	}
	run(member, welfare.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Officers: []welfare.OfficerID{7, 8}}})
	run(member, welfare.Command{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: 1_000_000})
	run(member, welfare.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{ID: 1, UnionID: 1,
		Category: welfare.CategoryGeneral, AmountPerMemberFen: 100_00, FromNanos: now - 1e12, ToNanos: now + 1e15}})
	run(member, welfare.Command{Kind: welfare.ApproveProgram, ProgramID: 1, Officer: 8})
	for m := welfare.MemberID(1); m <= 2; m++ {
		run(member, welfare.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: 1, Registered: true, DuesPaid: true})
	}
	run(member, welfare.Command{Kind: welfare.Issue, ProgramID: 1, Officer: 7})
	run(sku, welfare.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: 9, MerchantID: 3, Category: "food", PriceFen: 5_00, Listed: true}})
	run(sku, welfare.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: 9}, Quantity: 10})
	var toSKU []welfare.Outgoing
	for id := welfare.OrderID(1); id <= 2; id++ {
		run(member, welfare.Command{Kind: welfare.PlaceOrder, MemberID: welfare.MemberID(id), Order: &welfare.OrderRequest{ID: id,
			Lines: []welfare.OrderLine{{SKU: 9, Quantity: 1, UnitPriceFen: 5_00, Shard: 1, MerchantID: 3, Category: "food"}}}})
		toSKU = appendCopies(toSKU, out.Outgoing)
	}
	// A reader takes order 1's form while it is reserving; nobody reads order 2's.
	read, _ := member.Order(1)
	seen := *read
	seen.Lines = append([]welfare.OrderLine(nil), read.Lines...)
	var toMember []welfare.Outgoing
	for _, m := range toSKU {
		out.Reset()
		if err := sku.Receive(now, 0, m.Payload, &out); err != nil {
			t.Fatal(err)
		}
		toMember = appendCopies(toMember, out.Outgoing)
	}
	for _, m := range toMember {
		out.Reset()
		if err := member.Receive(now, 1, m.Payload, &out); err != nil {
			t.Fatal(err)
		}
		journal()
	}
	if !reflect.DeepEqual(*read, seen) {
		t.Fatalf("the form a reader holds changed:\n%+v\nwas\n%+v", *read, seen)
	}
	for id := welfare.OrderID(1); id <= 2; id++ {
		if live, _ := member.Order(id); live.State != welfare.OrderPlaced {
			t.Fatalf("order %d: %+v", id, live)
		}
	}
	if !bytes.Equal(member.AppendSnapshot(nil), replayed.AppendSnapshot(nil)) {
		t.Fatal("the journal rebuilds another state than the live one")
	}
	if now, _ := member.Order(1); now == read {
		t.Fatal("order 1's placement changed the form a reader held instead of making a new one")
	}
}

// appendCopies keeps messages past the output's reset, which reuses their bytes.
func appendCopies(dst, msgs []welfare.Outgoing) []welfare.Outgoing {
	for _, m := range msgs {
		m.Payload = append([]byte(nil), m.Payload...)
		dst = append(dst, m)
	}
	return dst
}

// Checkouts that time out at the same moment are decided in order id order, whether the shard
// ran all along or was restored from a snapshot: the same journal makes the same decisions.
func TestSimultaneousTimeoutsInIDOrder(t *testing.T) {
	now := welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 10))
	member := welfare.New(0, 2)
	var out welfare.Output
	exec := func(cmds ...welfare.Command) {
		t.Helper()
		results := make([]welfare.Result, len(cmds))
		out.Reset()
		member.Execute(now, cmds, results, &out)
		for i, r := range results {
			if r.Code != welfare.OK {
				t.Fatalf("command %d: %+v", cmds[i].Kind, r)
			}
		}
	}
	exec(welfare.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Officers: []welfare.OfficerID{7, 8}}},
		welfare.Command{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: 1_000_000},
		welfare.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{ID: 1, UnionID: 1,
			Category: welfare.CategoryGeneral, AmountPerMemberFen: 100_00, FromNanos: now - 1e12, ToNanos: now + 1e15}},
		welfare.Command{Kind: welfare.ApproveProgram, ProgramID: 1, Officer: 8})
	var place []welfare.Command
	for _, id := range []welfare.OrderID{50, 30, 40, 10} {
		m := welfare.MemberID(id)
		exec(welfare.Command{Kind: welfare.RegisterMember, MemberID: m, UnionID: 1, Registered: true, DuesPaid: true})
		place = append(place, welfare.Command{Kind: welfare.PlaceOrder, MemberID: m, Order: &welfare.OrderRequest{ID: id,
			Lines: []welfare.OrderLine{{SKU: 9, Quantity: 1, UnitPriceFen: 5_00, Shard: 1, MerchantID: 3, Category: "food"}}}})
	}
	exec(welfare.Command{Kind: welfare.Issue, ProgramID: 1, Officer: 7})
	exec(place...) // one batch: the four checkouts share a deadline, and no SKU shard answers
	restored := welfare.New(0, 2)
	if err := restored.Restore(member.AppendSnapshot(nil)); err != nil {
		t.Fatal(err)
	}
	due := now + welfare.DefaultConfig().ReserveTimeoutNanos
	for name, st := range map[string]*welfare.State{"live": member, "restored": restored} {
		out.Reset()
		st.Tick(due, &out)
		var ended []welfare.OrderID
		for _, n := range out.Notes {
			if n.Kind == welfare.NoteOrder && n.Code == welfare.CheckoutTimeout {
				ended = append(ended, n.OrderID)
			}
		}
		if want := []welfare.OrderID{10, 30, 40, 50}; !reflect.DeepEqual(ended, want) {
			t.Fatalf("%s: checkouts ended in order %v, want %v", name, ended, want)
		}
	}
}
