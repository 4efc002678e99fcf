package festival

import (
	"testing"
	"time"
)

func TestPlannerPhases(t *testing.T) {
	w := testWorld(1000)
	cfg := PlanConfig{SaleAt: 10 * time.Second, FlashShare: 0.9, RepeatShare: 0.05, RunID: "r", Seed: 7}
	p := NewPlanner(w, cfg)
	if n := p.FlashTries(); n < 900 || n > 900+100 {
		t.Fatalf("%d flash-sale tries for 1000 members at 90%% with 5%% repeats", n)
	}
	// Before the sale: browsing only.
	for i := 0; i < 2000; i++ {
		if r := p.Next(5 * time.Second); r.Kind.IsOrder() || r.Kind == KindMyOrders {
			t.Fatalf("before the sale: %v", r.Kind)
		}
	}
	// At the sale: the rush, until every planned try has come.
	tries := map[int]int{}
	repeats := 0
	keys := map[string]bool{}
	kinds := map[Kind]int{}
	for i := 0; i < 20_000; i++ {
		r := p.Next(11 * time.Second)
		kinds[r.Kind]++
		if r.Kind.IsOrder() {
			if r.Key == "" || keys[r.Key] {
				t.Fatalf("order key %q empty or reused", r.Key)
			}
			keys[r.Key] = true
			m := w.Members[r.Member]
			if r.Point != m.Points[0] && r.Point != m.Points[1] {
				t.Fatalf("pickup point %d is not the member's", r.Point)
			}
		}
		if r.Kind == KindFlashOrder {
			tries[r.Member]++
			if r.Repeat {
				repeats++
			}
			if _, ok := w.SKUs[r.SKU]; !ok || !w.SKUs[r.SKU].FlashSale || r.Quantity != 1 {
				t.Fatalf("flash order for SKU %d ×%d", r.SKU, r.Quantity)
			}
		}
		if r.Kind == KindOrder && w.SKUs[r.SKU].FlashSale {
			t.Fatalf("an ordinary order for flash-sale SKU %d", r.SKU)
		}
	}
	if p.FlashLeft() != 0 || kinds[KindFlashOrder] != p.FlashTries() {
		t.Errorf("%d flash tries sent of %d", kinds[KindFlashOrder], p.FlashTries())
	}
	if len(tries) != 900 {
		t.Errorf("%d members tried the flash sale, want 900", len(tries))
	}
	for m, n := range tries {
		if n > 2 {
			t.Errorf("member %d tried %d times", m, n)
		}
	}
	if repeats == 0 || repeats != kinds[KindFlashOrder]-len(tries) {
		t.Errorf("%d repeats for %d tries by %d members", repeats, kinds[KindFlashOrder], len(tries))
	}
	for _, k := range []Kind{KindOrder, KindMe, KindCatalog, KindMyOrders} {
		if kinds[k] == 0 {
			t.Errorf("no %v during the sale", k)
		}
	}
}

func TestPlannerIsDeterministic(t *testing.T) {
	w := testWorld(200)
	cfg := PlanConfig{SaleAt: time.Second, FlashShare: 0.9, RepeatShare: 0.1, RunID: "r", Seed: 3}
	a, b := NewPlanner(w, cfg), NewPlanner(w, cfg)
	for i := 0; i < 3000; i++ {
		at := time.Duration(i) * time.Millisecond
		if x, y := a.Next(at), b.Next(at); x != y {
			t.Fatalf("request %d: %+v and %+v from one seed", i, x, y)
		}
	}
	cfg.Seed = 4
	c := NewPlanner(w, cfg)
	same := 0
	for i := 0; i < 1000; i++ {
		if a.Next(2*time.Second) == c.Next(2*time.Second) {
			same++
		}
	}
	if same > 500 {
		t.Errorf("another seed gave %d of 1000 requests the same", same)
	}
}
