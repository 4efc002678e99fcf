package festival

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"time"
)

// Request is one scheduled request of the mix.
type Request struct {
	Kind   Kind
	Member int // index into World.Members
	// Orders: one line, a pickup point of the member's union and a key unique to the run.
	SKU      uint64
	Quantity int64
	Point    uint64
	Key      string
	// Repeat marks a flash-sale attempt by a member who already tried (a repeated click):
	// the per-member limit must refuse it if the first was placed.
	Repeat bool
	// Query is the catalog's query string.
	Query string
}

// Mix is the share of each kind of request in a phase; the shares are weights.
type Mix struct {
	Me, Catalog, MyOrders, Flash, Order float64
}

// The default mixes. Before the sale, workers look at their points and browse; at the sale
// most go for a flash-sale gift box, once, while others order ordinary goods, check their
// points and orders and browse. When every member has had its try at the flash sale, its
// share goes to the others.
var (
	BrowseMix = Mix{Me: 0.4, Catalog: 0.6}
	SaleMix   = Mix{Flash: 0.6, Order: 0.1, Me: 0.12, Catalog: 0.15, MyOrders: 0.03}
	AfterMix  = Mix{Order: 0.25, Me: 0.3, Catalog: 0.37, MyOrders: 0.08}
)

// PlanConfig shapes the workload.
type PlanConfig struct {
	SaleAt time.Duration // when the flash sale opens, from the start
	// FlashShare is the fraction of members who try the flash sale (most do);
	// RepeatShare the fraction of those who click again with a new request.
	FlashShare  float64
	RepeatShare float64
	RunID       string // makes the Idempotency-Keys unique across runs on one data directory
	Seed        uint64
}

// Planner picks each scheduled request. It is called by the scheduler alone, in order, so a
// seed gives the same sequence of requests.
type Planner struct {
	cfg     PlanConfig
	w       *World
	rng     *rand.Rand
	flash   []flashTry // the flash-sale attempts, in the order they come
	next    int
	queries []string
	seq     int64
}

type flashTry struct {
	member int
	sku    uint64
	repeat bool
}

// NewPlanner builds the plan: which members try the flash sale, in which order, for which
// SKU, and who clicks twice.
func NewPlanner(w *World, cfg PlanConfig) *Planner {
	p := &Planner{cfg: cfg, w: w, rng: rand.New(rand.NewPCG(cfg.Seed, 0x666573746976616c))}
	order := p.rng.Perm(len(w.Members))
	n := int(float64(len(order))*cfg.FlashShare + 0.5)
	type keyed struct {
		at float64
		t  flashTry
	}
	var tries []keyed
	for i, m := range order[:n] {
		// Popular boxes first: the first SKUs draw more of the rush.
		sku := w.Flash[min(len(w.Flash)-1, int(float64(len(w.Flash))*p.rng.Float64()*p.rng.Float64()*1.6))].ID
		tries = append(tries, keyed{float64(i), flashTry{member: m, sku: sku}})
		if p.rng.Float64() < cfg.RepeatShare {
			// The second click comes a little later, among the next tries.
			tries = append(tries, keyed{float64(i) + 1 + 50*p.rng.Float64(), flashTry{member: m, sku: sku, repeat: true}})
		}
	}
	slices.SortStableFunc(tries, func(a, b keyed) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	for _, t := range tries {
		p.flash = append(p.flash, t.t)
	}
	p.queries = []string{"limit=20", "q=" + url.QueryEscape("gift box") + "&limit=20", "q=rice&limit=10", "q=tea&limit=10"}
	for _, c := range w.Categories {
		p.queries = append(p.queries, "category="+url.QueryEscape(c)+"&limit=20")
	}
	return p
}

// FlashTries is the number of flash-sale attempts planned (repeats included).
func (p *Planner) FlashTries() int { return len(p.flash) }

// FlashLeft is the number of flash-sale attempts not yet scheduled.
func (p *Planner) FlashLeft() int { return len(p.flash) - p.next }

// Next returns the request due at offset t.
func (p *Planner) Next(t time.Duration) Request {
	p.seq++
	mix := BrowseMix
	if t >= p.cfg.SaleAt {
		mix = SaleMix
		if p.next >= len(p.flash) {
			mix = AfterMix
		}
	}
	x := p.rng.Float64() * (mix.Me + mix.Catalog + mix.MyOrders + mix.Flash + mix.Order)
	switch {
	case x < mix.Flash:
		f := p.flash[p.next]
		p.next++
		return p.order(KindFlashOrder, f.member, f.sku, 1, f.repeat)
	case x < mix.Flash+mix.Order:
		sku := p.w.Ordinary[p.rng.IntN(len(p.w.Ordinary))].ID
		q := int64(1)
		if p.rng.IntN(5) == 0 {
			q = 2
		}
		return p.order(KindOrder, p.rng.IntN(len(p.w.Members)), sku, q, false)
	case x < mix.Flash+mix.Order+mix.Me:
		return Request{Kind: KindMe, Member: p.rng.IntN(len(p.w.Members))}
	case x < mix.Flash+mix.Order+mix.Me+mix.MyOrders:
		return Request{Kind: KindMyOrders, Member: p.rng.IntN(len(p.w.Members))}
	default:
		return Request{Kind: KindCatalog, Member: p.rng.IntN(len(p.w.Members)), Query: p.queries[p.rng.IntN(len(p.queries))]}
	}
}

func (p *Planner) order(kind Kind, member int, sku uint64, qty int64, repeat bool) Request {
	m := &p.w.Members[member]
	point := m.Points[0] // the member's own Workers e-Home
	if len(m.Points) > 1 && p.rng.IntN(5) == 0 {
		point = m.Points[1+p.rng.IntN(len(m.Points)-1)] // the town's service centre
	}
	return Request{Kind: kind, Member: member, SKU: sku, Quantity: qty, Point: point, Repeat: repeat,
		Key: fmt.Sprintf("festival-%s-%d", p.cfg.RunID, p.seq)}
}
