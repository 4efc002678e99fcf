package mall

import (
	"cmp"
	"slices"
	"strings"
	"sync"
	"time"

	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// The catalog read model: every SKU of every shard, the federation's campaigns and the pickup
// points of the directory, in one immutable snapshot. Scanning every shard costs one inspection
// per shard, each waiting for that shard's loop to finish its batch, so a festival rush of
// catalog requests must not pay it per request: the snapshot is kept for catalogTTL, and
// rebuilt earlier when a command through Engine.Submit changed what it holds (a SKU, stock,
// the configuration or a pickup point). Units sold by orders do not rebuild it: sold-out is
// answered from the live board (Engine.SoldOut), and the available count may be catalogTTL old.

// catalogTTL is how long a snapshot is served before it is rebuilt. It is measured on the
// process's monotonic clock, not the API's clock: it bounds cost, it is not business time.
const catalogTTL = 250 * time.Millisecond

// Catalog is one snapshot of the catalog. It is never changed after it is built: callers may
// keep and share it.
type Catalog struct {
	// BuiltAt is when the snapshot was taken.
	BuiltAt time.Time
	// SKUs are every SKU of every shard, listed or not, in id order, with their units.
	SKUs []CatalogSKU
	// Campaigns are the festival sales of the federation's configuration.
	Campaigns []stock.Campaign
	// ConfigVersion is the version of the configuration the campaigns come from.
	ConfigVersion uint64

	index  map[stock.SKUID]int
	points map[welfare.PickupPointID]welfare.PickupPoint
}

// CatalogSKU is a SKU as the catalog shows it.
type CatalogSKU struct {
	stock.SKU
	// search is the lower-cased name, product name and category, for substring search.
	search string
}

// Matches reports whether the SKU's name, product name or category contains query, which must
// be lower case already (see SearchQuery).
func (s *CatalogSKU) Matches(query string) bool {
	return query == "" || strings.Contains(s.search, query)
}

// SearchQuery normalises a user's search text for Matches: trimmed and lower case.
func SearchQuery(q string) string { return strings.ToLower(strings.TrimSpace(q)) }

// SKU returns a SKU of the snapshot.
func (c *Catalog) SKU(id stock.SKUID) (*CatalogSKU, bool) {
	i, ok := c.index[id]
	if !ok {
		return nil, false
	}
	return &c.SKUs[i], true
}

// PickupPoint returns a pickup point of the directory.
func (c *Catalog) PickupPoint(id welfare.PickupPointID) (welfare.PickupPoint, bool) {
	p, ok := c.points[id]
	return p, ok
}

// UnitPriceFen is what a member of union pays for one unit of sku at nowNanos, with the
// snapshot's campaigns: the price the SKU's shard checks (SamePrice).
func (c *Catalog) UnitPriceFen(sku *stock.SKU, union welfare.UnionID, nowNanos int64) int64 {
	return UnitPriceFen(sku, uint64(union), nowNanos, c.Campaigns)
}

// Campaign returns the campaign that prices sku for a member of union at nowNanos, if any: the
// first open one, as UnitPriceFen chooses.
func (c *Catalog) Campaign(sku *stock.SKU, union welfare.UnionID, nowNanos int64) (stock.Campaign, bool) {
	for _, cp := range c.Campaigns {
		if nowNanos >= cp.FromNanos && nowNanos < cp.ToNanos &&
			(len(cp.Unions) == 0 || slices.Contains(cp.Unions, stock.UnionID(union))) &&
			(len(cp.SKUs) == 0 || slices.Contains(cp.SKUs, sku.ID)) {
			return cp, true
		}
	}
	return stock.Campaign{}, false
}

// catalogCache holds the current snapshot. gen counts the changes that make a snapshot stale;
// a snapshot is served only while the generation it was built at is current, so a rebuild
// that raced with a change is not taken for fresh.
type catalogCache struct {
	mu    sync.Mutex // guards cur, curGen and gen
	cur   *Catalog
	built time.Time // monotonic
	gen   uint64
	// curGen is the generation cur was started at.
	curGen uint64
	// buildMu lets one caller rebuild while the others wait for its snapshot.
	buildMu sync.Mutex
}

// catalogCommand reports whether a command kind changes what the catalog holds.
func catalogCommand(k welfare.CommandKind) bool {
	switch k {
	case welfare.SetSKU, welfare.ReceiveStock, welfare.RestockSKU, welfare.SetConfig, welfare.SetPickupPoint:
		return true
	}
	return false
}

// noteCommand marks the snapshot stale after a command that changes the catalog.
func (c *catalogCache) noteCommand(k welfare.CommandKind) {
	if catalogCommand(k) {
		c.invalidate()
	}
}

func (c *catalogCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.mu.Unlock()
}

// current returns the snapshot, whether it is fresh, and whether it is merely old (no change
// since it was built, only its time is up).
func (c *catalogCache) current() (cat *Catalog, fresh, old bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil || c.curGen != c.gen {
		return nil, false, false
	}
	if time.Since(c.built) < catalogTTL {
		return c.cur, true, false
	}
	return c.cur, false, true
}

// InvalidateCatalog makes the next Catalog call rebuild the snapshot: for changes the engine
// made without Submit (another node of a cluster, or a price a checkout found changed).
func (e *Engine) InvalidateCatalog() { e.reads.catalog.invalidate() }

// Catalog returns a snapshot of the catalog taken after the last catalog change submitted
// through this engine, and no older than catalogTTL, or than the rebuild under way: while one
// caller rebuilds a snapshot whose time is up, the others are given the old one rather than
// wait (each rebuild waits for every shard's loop).
func (e *Engine) Catalog() (*Catalog, error) {
	c := &e.reads.catalog
	cat, fresh, old := c.current()
	switch {
	case fresh:
		return cat, nil
	case old:
		if !c.buildMu.TryLock() {
			return cat, nil
		}
	default:
		c.buildMu.Lock()
	}
	defer c.buildMu.Unlock()
	if cat, fresh, _ := c.current(); fresh {
		return cat, nil // Another caller rebuilt it while this one waited.
	}
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	started := time.Now()
	cat, err := e.buildCatalog(started)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cur, c.curGen, c.built = cat, gen, started
	c.mu.Unlock()
	return cat, nil
}

// buildCatalog copies the SKUs of every shard, and the configuration and pickup points of the
// directory shard. Nothing of the engine's state is kept: every slice is copied.
func (e *Engine) buildCatalog(at time.Time) (*Catalog, error) {
	cat := &Catalog{BuiltAt: at, index: map[stock.SKUID]int{}, points: map[welfare.PickupPointID]welfare.PickupPoint{}}
	for s := 0; s < e.shardsCount; s++ {
		err := e.Read(uint32(s), func(st *welfare.State) {
			ss := st.Stock()
			for _, id := range ss.SKUs() {
				sk, _ := ss.SKU(id)
				cat.SKUs = append(cat.SKUs, CatalogSKU{SKU: *sk,
					search: strings.ToLower(sk.Name + "\x00" + sk.ProductName + "\x00" + sk.Category)})
			}
			if uint32(s) != DirectoryShard {
				return
			}
			cfg := st.Config()
			cat.ConfigVersion = cfg.Version
			for _, cp := range cfg.Campaigns {
				cp.Unions, cp.SKUs = slices.Clone(cp.Unions), slices.Clone(cp.SKUs)
				cat.Campaigns = append(cat.Campaigns, cp)
			}
			for _, p := range st.PickupPoints() {
				q := *p
				q.Unions, q.Keepers = slices.Clone(p.Unions), slices.Clone(p.Keepers)
				cat.points[q.ID] = q
			}
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(cat.SKUs, func(a, b CatalogSKU) int { return cmp.Compare(a.ID, b.ID) })
	for i := range cat.SKUs {
		cat.index[cat.SKUs[i].ID] = i
	}
	return cat, nil
}
