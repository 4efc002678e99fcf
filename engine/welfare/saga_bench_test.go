package welfare_test

import (
	"testing"

	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// BenchmarkSagaDecide measures the deciders alone, with no runtime or journal: each order is
// placed on the member's shard, reserved on the SKU's shard, answered and confirmed, with the
// messages handed over directly. It is the CPU floor under BenchmarkFlashSale.
func BenchmarkSagaDecide(b *testing.B) {
	now := welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 10))
	member := welfare.New(0, 2)
	sku := welfare.New(1, 2)
	var out welfare.Output
	results := make([]welfare.Result, 1)
	run := func(st *welfare.State, c welfare.Command) {
		st.Execute(now, []welfare.Command{c}, results, &out)
		if results[0].Code != welfare.OK {
			b.Fatalf("command %d: %+v", c.Kind, results[0])
		}
	}
	run(member, welfare.Command{Kind: welfare.CreateUnion, Union: welfare.Union{ID: 1, Officers: []welfare.OfficerID{7, 8}}})
	run(member, welfare.Command{Kind: welfare.FundUnion, UnionID: 1, TransferID: 1, AmountFen: 1 << 50})
	run(member, welfare.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{ID: 1, UnionID: 1,
		Category: welfare.CategoryGeneral, AmountPerMemberFen: 100_00, FromNanos: now - 1e12, ToNanos: now + 1e15}})
	run(member, welfare.Command{Kind: welfare.ApproveProgram, ProgramID: 1, Officer: 8})
	const members = 100_000
	cmds := make([]welfare.Command, members)
	for i := range cmds {
		cmds[i] = welfare.Command{Kind: welfare.RegisterMember, MemberID: welfare.MemberID(i + 1), UnionID: 1, Registered: true, DuesPaid: true}
	}
	many := make([]welfare.Result, members)
	member.Execute(now, cmds, many, &out)
	run(member, welfare.Command{Kind: welfare.Issue, ProgramID: 1, Officer: 7})
	run(sku, welfare.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: 9, MerchantID: 3, Category: "food", PriceFen: 1, Listed: true, LimitPerMember: 1 << 30}})
	run(sku, welfare.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: 9}, Quantity: 1 << 39})
	out.Reset()
	deliver := func(to *welfare.State, from uint32) {
		msgs := append([]welfare.Outgoing(nil), out.Outgoing...)
		out.Reset()
		for _, m := range msgs {
			if err := to.Receive(now, from, m.Payload, &out); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := welfare.OrderRequest{ID: welfare.OrderID(i + 1), Lines: []welfare.OrderLine{{SKU: 9, Quantity: 1, UnitPriceFen: 1, Shard: 1, MerchantID: 3, Category: "food"}}}
		run(member, welfare.Command{Kind: welfare.PlaceOrder, MemberID: welfare.MemberID(i%members + 1), Order: &req})
		deliver(sku, 0)    // reserve
		deliver(member, 1) // reserved: the order is placed, confirm goes out
		deliver(sku, 0)    // confirm
		out.Reset()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}
