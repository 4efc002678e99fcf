package mall_test

import (
	"reflect"
	"slices"
	"testing"

	"huigong/engine/journal"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

// smallDemo is a county in miniature, so the test runs in a blink.
func smallDemo(seed int64, now int64) mall.Demo {
	return mall.Demo{Seed: seed, NowNanos: now, Unions: 12, Members: 400, Merchants: 4, SKUs: 40, FlashSaleSKUs: 4}
}

func openEngine(t *testing.T, shards int, now int64) *mall.Engine {
	t.Helper()
	e := mall.NewEngine(shards, mall.NewStream())
	j, err := journal.Open("j", journal.Options{FS: journal.NewFaultFS(1), GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: shards, Journal: j, Invariants: true, OnNotes: e.OnNotes,
		Clock: func() int64 { return now }}, shard.Factory(shards))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	e.Attach(rt)
	return e
}

// demoSummary is what a loaded demo left in the engine, in a form two engines can be compared by.
type demoSummary struct {
	Unions        []uint64
	Members       map[uint64]uint64 // member -> union
	Eligible      int
	Holdings      map[uint64]int64 // member -> festival points
	Programs      []uint64
	SKUs          map[uint64]stock.Units
	Merchants     []uint64
	PickupPoints  []uint64
	Officers      []uint64
	MinConfig     uint64
	CampaignBps   int64
	BudgetsFen    map[uint64]int64
	ApprovedCount int
}

func summarize(t *testing.T, e *mall.Engine) demoSummary {
	t.Helper()
	s := demoSummary{Members: map[uint64]uint64{}, Holdings: map[uint64]int64{}, SKUs: map[uint64]stock.Units{},
		BudgetsFen: map[uint64]int64{}, MinConfig: ^uint64(0)}
	for sh := uint32(0); sh < uint32(e.ShardsCount()); sh++ {
		err := e.Read(sh, func(st *welfare.State) {
			s.MinConfig = min(s.MinConfig, st.Config().Version)
			if cs := st.Config().Campaigns; len(cs) > 0 {
				s.CampaignBps = cs[0].DiscountBps
			}
			for _, u := range st.Unions() {
				s.Unions = append(s.Unions, uint64(u.ID))
				b, _ := st.BudgetFen(u.ID)
				s.BudgetsFen[uint64(u.ID)] = b
			}
			for _, m := range st.Members() {
				s.Members[uint64(m.ID)] = uint64(m.UnionID)
				if m.Registered && m.DuesPaid {
					s.Eligible++
				}
				for _, h := range m.Holdings {
					a, _ := st.Ledger().Account(h.AccountID)
					s.Holdings[uint64(m.ID)] += a.BalanceFen()
				}
			}
			for _, p := range st.Programs() {
				s.Programs = append(s.Programs, uint64(p.ID))
				if p.ApprovedBy != 0 {
					s.ApprovedCount++
				}
			}
			for _, m := range st.Merchants() {
				s.Merchants = append(s.Merchants, uint64(m.ID))
			}
			for _, p := range st.PickupPoints() {
				s.PickupPoints = append(s.PickupPoints, uint64(p.ID))
			}
			for _, o := range st.FederationOfficers() {
				s.Officers = append(s.Officers, uint64(o))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(s.Unions)
	slices.Sort(s.Programs)
	return s
}

func TestDemoLoadCounts(t *testing.T) {
	now := day(2026, 11, 29) + 10*3600*1e9
	e := openEngine(t, 4, now)
	d := smallDemo(42, now)
	data, err := d.Load(e)
	if err != nil {
		t.Fatal(err)
	}
	s := summarize(t, e)

	// 1 county federation, 1 town union (12/8), 12 grassroots unions.
	if len(s.Unions) != 14 || len(data.Unions) != 14 {
		t.Errorf("%d unions in the engine, %d in the data, want 14", len(s.Unions), len(data.Unions))
	}
	if len(s.Members) != 400 || len(data.Members()) != 400 {
		t.Errorf("%d members in the engine, %d in the data, want 400", len(s.Members), len(data.Members()))
	}
	for _, m := range data.Members() {
		if s.Members[m.ID] != m.Union {
			t.Fatalf("member %d in union %d, the data says %d", m.ID, s.Members[m.ID], m.Union)
		}
		want := int64(0)
		if m.Eligible() {
			want = 600_00
		}
		if s.Holdings[m.ID] != want {
			t.Fatalf("member %d (eligible %v) holds %d fen, want %d", m.ID, m.Eligible(), s.Holdings[m.ID], want)
		}
	}
	if s.Eligible != 400-len(data.NotEligible) {
		t.Errorf("%d eligible members, want %d", s.Eligible, 400-len(data.NotEligible))
	}
	if len(data.NotEligible) == 0 {
		t.Error("every member is eligible: the demo should have a few who are not")
	}
	if first, _ := data.Member(1_000_001); !first.Eligible() || first.Union != 1001 {
		t.Errorf("member 1000001 is %+v, want eligible in union 1001", first)
	}
	if len(s.Programs) != 24 {
		t.Errorf("%d programs, want 24 (a festival and an activity program per grassroots union)", len(s.Programs))
	}
	for _, sk := range data.SKUs {
		got, ok := e.SKU(stock.SKUID(sk.ID))
		if !ok || got.Units.Available != sk.Stock || got.PriceFen != sk.PriceFen || got.LimitPerMember != sk.Limit || !got.Listed {
			t.Fatalf("SKU %d in the engine %+v, planned %+v", sk.ID, got, sk)
		}
		s.SKUs[sk.ID] = got.Units
	}
	if len(data.SKUs) != 40 || len(data.FlashSaleSKUs) != 4 {
		t.Errorf("%d SKUs with %d flash-sale SKUs, want 40 with 4", len(data.SKUs), len(data.FlashSaleSKUs))
	}
	if len(s.Merchants) != 4 || len(s.PickupPoints) != 13 || len(s.Officers) != 2 {
		t.Errorf("directory: %d merchants, %d pickup points, %d federation officers; want 4, 13, 2", len(s.Merchants), len(s.PickupPoints), len(s.Officers))
	}
	if s.MinConfig != data.ConfigVersion || s.CampaignBps != 700 {
		t.Errorf("configuration version %d on the slowest shard, campaign %d bps; want %d and 700", s.MinConfig, s.CampaignBps, data.ConfigVersion)
	}
	// Every eligible member's points came from the budget: what is left is the reserve.
	for _, u := range data.Unions {
		if u.Level == "grassroots" && s.BudgetsFen[u.ID] != 50_000_00 {
			t.Errorf("union %d budget %d fen, want the 50000 yuan reserve", u.ID, s.BudgetsFen[u.ID])
		}
	}

	// Load again, as after a crash during the first start: nothing changes, stock is not
	// received twice.
	if _, err := d.Load(e); err != nil {
		t.Fatalf("second load: %v", err)
	}
	again := summarize(t, e)
	for _, sk := range data.SKUs {
		got, _ := e.SKU(stock.SKUID(sk.ID))
		again.SKUs[sk.ID] = got.Units
	}
	if !reflect.DeepEqual(s, again) {
		t.Errorf("a second load changed the engine:\n%+v\n%+v", s, again)
	}
}

func TestDemoDeterministic(t *testing.T) {
	now := day(2026, 11, 29) + 10*3600*1e9
	a, b := smallDemo(7, now).Plan(), smallDemo(7, now+3600*1e9).Plan() // same day, an hour apart
	b.CreatedAt = a.CreatedAt
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans with one seed on one day differ")
	}
	if c := smallDemo(8, now).Plan(); reflect.DeepEqual(a.Unions, c.Unions) {
		t.Error("another seed gives the same unions")
	}
	// Two engines loaded with one seed hold the same ids, members, points and stock.
	e1, e2 := openEngine(t, 4, now), openEngine(t, 4, now)
	if _, err := smallDemo(7, now).Load(e1); err != nil {
		t.Fatal(err)
	}
	if _, err := smallDemo(7, now).Load(e2); err != nil {
		t.Fatal(err)
	}
	if s1, s2 := summarize(t, e1), summarize(t, e2); !reflect.DeepEqual(s1, s2) {
		t.Errorf("two loads with one seed differ:\n%+v\n%+v", s1, s2)
	}
}

// The county scale: the counts of the brief, and the maker-checker rule met where a union's
// issuance is over the threshold.
func TestDemoCountyPlan(t *testing.T) {
	p := mall.Demo{Seed: 1, NowNanos: day(2026, 11, 29)}.Plan()
	grassroots, members, approved := 0, 0, 0
	for _, u := range p.Unions {
		if u.Level == "grassroots" {
			grassroots++
			members += u.MembersCount
			if len(u.Officers) != 2 || len(u.PickupPoints) != 2 {
				t.Fatalf("union %+v", u)
			}
			if u.ApprovedBy != 0 {
				approved++
			}
		}
	}
	if grassroots != 324 || members != 28_000 || len(p.Merchants) != 20 || len(p.SKUs) != 500 {
		t.Errorf("%d grassroots unions, %d members, %d merchants, %d SKUs; want 324, 28000, 20, 500", grassroots, members, len(p.Merchants), len(p.SKUs))
	}
	if n := len(p.NotEligible); n < 100 || n > 1000 {
		t.Errorf("%d members not eligible, want a few hundred", n)
	}
	if approved == 0 {
		t.Error("no union needed a second officer's approval: the demo should show maker-checker")
	}
	if len(p.PickupPoints) != 324+12 {
		t.Errorf("%d pickup points, want one per grassroots union and 12 shared", len(p.PickupPoints))
	}
	cats := map[string]int{}
	for _, s := range p.SKUs {
		cats[s.Category]++
	}
	if len(cats) < 8 {
		t.Errorf("SKUs in %d categories: %v", len(cats), cats)
	}
}

// The festival program's window holds the day the demo is created, and touches a festival day
// of the calendar the demo sets, whatever the date.
func TestDemoWindows(t *testing.T) {
	tests := []struct {
		y, m, d int
		name    string
	}{
		{2026, 1, 10, "Spring Festival 2026 festival goods"},
		{2026, 2, 17, "Spring Festival 2026 festival goods"},
		{2026, 7, 1, "Mid-Autumn 2026 festival goods"},
		{2026, 11, 29, "Spring Festival 2027 festival goods"},
		{2026, 12, 31, "Spring Festival 2027 festival goods"},
		{2030, 5, 1, "New Year 2031 festival goods"},
	}
	for _, tt := range tests {
		now := day(tt.y, tt.m, tt.d) + 23*3600*1e9 // late in the day
		p := mall.Demo{Seed: 1, NowNanos: now, Unions: 2, Members: 20, Merchants: 2, SKUs: 10}.Plan()
		w := p.FestivalProgram
		if w.Name != tt.name {
			t.Errorf("%d-%d-%d: program %q, want %q", tt.y, tt.m, tt.d, w.Name, tt.name)
		}
		if now < w.FromNanos || now >= w.ToNanos || w.ToNanos-now < 29*86400*1e9 {
			t.Errorf("%d-%d-%d: window %s .. %s does not hold now with a month to go", tt.y, tt.m, tt.d, w.From, w.To)
		}
		touches := false
		for _, f := range p.Config().Festivals {
			if w.FromNanos < welfare.DayStartNanos(f.ToDay+1) && welfare.DayStartNanos(f.FromDay) < w.ToNanos {
				touches = true
			}
		}
		if !touches {
			t.Errorf("%d-%d-%d: window %s .. %s touches no festival", tt.y, tt.m, tt.d, w.From, w.To)
		}
		if c := p.Campaign; now < c.FromNanos || now >= c.ToNanos {
			t.Errorf("%d-%d-%d: the campaign is not open now", tt.y, tt.m, tt.d)
		}
	}
	// And the engine accepts the programs on such a date.
	now := day(2030, 5, 1) + 10*3600*1e9
	e := openEngine(t, 2, now)
	if _, err := (mall.Demo{Seed: 3, NowNanos: now, Unions: 2, Members: 20, Merchants: 2, SKUs: 10}).Load(e); err != nil {
		t.Fatal(err)
	}
}
