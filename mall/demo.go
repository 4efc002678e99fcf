package mall

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"huigong/engine/ledger"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// Demo generates the county-scale demo data (Hui'an county: 324 grassroots unions, 28,000
// members) deterministically from a seed, and loads it into an engine. The same seed and clock
// give the same plan: the same ids, names, prices and windows.
//
// Ids are readable on purpose, so a walkthrough can name them:
//
//	county federation union 1; town and industry unions 101...; grassroots unions 1001...
//	officers of union U: U*100+1 and U*100+2 (those of union 1 are the federation's officers)
//	members 1000001... in blocks per grassroots union
//	pickup points 10000+U (each grassroots union's own Workers e-Home) and 20000+T (the shared
//	service centre of town or industry union T); the keeper of point P is P*10+1
//	merchants 1...; their signing key ids "merchant-01"...
//	SKUs 10001...; the flash-sale SKUs are the last ones
//	programs of union U: U*10+1 the festival goods program, U*10+2 the activity points program
type Demo struct {
	Seed int64
	// NowNanos is the wall clock when the demo is created. The windows of the festival program,
	// the campaign and the flash sales are derived from it, so that the demo works on the day
	// it is created whatever the date.
	NowNanos int64
	// Sizes; zero means the county scale.
	Unions        int // grassroots unions (324)
	Members       int // 28,000
	Merchants     int // 20
	SKUs          int // 500, the flash-sale SKUs included
	FlashSaleSKUs int // 10
	// Progress, if set, receives one line per step of Load.
	Progress func(line string)
}

// County-scale defaults and the fixed amounts of the demo.
const (
	demoUnionsDefault        = 324
	demoMembersDefault       = 28_000
	demoMerchantsDefault     = 20
	demoSKUsDefault          = 500
	demoFlashSaleSKUsDefault = 10
	demoIntermediateMax      = 12

	// DemoFederationUnion is the county federation's own union.
	DemoFederationUnion uint64 = 1

	demoFestivalAmountFen = 600_00
	// demoReserveFen is funded to each grassroots union on top of its festival issuance, for
	// activity awards and the programs its officers create.
	demoReserveFen = 50_000_00
	// demoFundTransferBase numbers the funding transfers, one per union, far from the ids
	// the API derives from Idempotency-Keys.
	demoFundTransferBase = 900_000_000_000
	demoSKUBase          = 10_000
	demoMemberBase       = 1_000_000
	demoCampaignID       = 1
	demoCampaignBps      = 700 // 7%
	demoConfigVersion    = 2

	// demoChunkCommands is the commands per SubmitBatch: big enough for one fsync to carry
	// thousands of commands, well under the runtime's batch limit.
	demoChunkCommands = 2048
)

// DemoData is what the demo created: written to the data directory as demo.json so that the
// CLI can mint tokens for its members, officers and keepers, and the load test can find them.
type DemoData struct {
	Seed               int64    `json:"seed"`
	CreatedAt          string   `json:"created_at"`
	FederationUnion    uint64   `json:"federation_union"`
	FederationOfficers []uint64 `json:"federation_officers"`
	// ConfigVersion is the federation configuration the demo set (calendar and campaign).
	ConfigVersion   uint64             `json:"config_version"`
	Unions          []DemoUnion        `json:"unions"`
	PickupPoints    []DemoPickupPoint  `json:"pickup_points"`
	Merchants       []DemoMerchant     `json:"merchants"`
	SKUs            []DemoSKU          `json:"skus"`
	FlashSaleSKUs   []uint64           `json:"flash_sale_skus"`
	FestivalProgram DemoProgramWindow  `json:"festival_program"`
	ActivityProgram DemoProgramWindow  `json:"activity_program"`
	Campaign        DemoCampaign       `json:"campaign"`
	NotEligible     []DemoMemberStatus `json:"not_eligible"`
}

// DemoUnion is one union. Grassroots unions have members, officers, pickup points and
// programs; the others group them.
type DemoUnion struct {
	ID       uint64   `json:"id"`
	ParentID uint64   `json:"parent_id"`
	Name     string   `json:"name"`
	Level    string   `json:"level"` // federation, town, industry or grassroots
	Officers []uint64 `json:"officers"`
	// Members are FirstMember ... FirstMember+MembersCount-1.
	FirstMember     uint64   `json:"first_member,omitempty"`
	MembersCount    int      `json:"members_count"`
	PickupPoints    []uint64 `json:"pickup_points,omitempty"`
	FestivalProgram uint64   `json:"festival_program,omitempty"`
	ActivityProgram uint64   `json:"activity_program,omitempty"`
	FundedFen       int64    `json:"funded_fen,omitempty"`
	// ApprovedBy is the second officer who approved the festival program, when its total was
	// over the maker-checker threshold.
	ApprovedBy uint64 `json:"approved_by,omitempty"`
}

// DemoPickupPoint is a Workers e-Home.
type DemoPickupPoint struct {
	ID      uint64   `json:"id"`
	Name    string   `json:"name"`
	Unions  []uint64 `json:"unions"`
	Keepers []uint64 `json:"keepers"`
}

// DemoMerchant is an approved merchant with its signing key id (the secret is in
// merchants.json).
type DemoMerchant struct {
	ID       uint64   `json:"id"`
	Name     string   `json:"name"`
	KeyID    string   `json:"key_id"`
	Category []string `json:"categories"`
}

// DemoSKU is one SKU of the catalog.
type DemoSKU struct {
	ID        uint64 `json:"id"`
	ProductID uint64 `json:"product_id"`
	// ProductName is the product without its size; Name names the SKU.
	ProductName string `json:"product_name"`
	Name        string `json:"name"`
	Category    string `json:"category"`
	Merchant    uint64 `json:"merchant"`
	PriceFen    int64  `json:"price_fen"`
	Stock       int64  `json:"stock"`
	FlashSale   bool   `json:"flash_sale,omitempty"`
	Limit       int64  `json:"limit_per_member,omitempty"`
	SaleFrom    int64  `json:"sale_from_nanos,omitempty"`
	SaleTo      int64  `json:"sale_to_nanos,omitempty"`
}

// DemoProgramWindow is what every union's program of one kind shares.
type DemoProgramWindow struct {
	Name       string   `json:"name"`
	Category   string   `json:"category"`
	AmountFen  int64    `json:"amount_per_member_fen"`
	FromNanos  int64    `json:"from_nanos"`
	ToNanos    int64    `json:"to_nanos"`
	From       string   `json:"from"`
	To         string   `json:"to"`
	Categories []string `json:"categories,omitempty"`
}

// DemoCampaign is the New Year goods festival.
type DemoCampaign struct {
	ID          uint64 `json:"id"`
	Name        string `json:"name"`
	DiscountBps int64  `json:"discount_bps"`
	FromNanos   int64  `json:"from_nanos"`
	ToNanos     int64  `json:"to_nanos"`
}

// DemoMemberStatus is a member and its register entry.
type DemoMemberStatus struct {
	ID         uint64 `json:"id"`
	Union      uint64 `json:"union"`
	Registered bool   `json:"registered"`
	DuesPaid   bool   `json:"dues_paid"`
}

// Eligible reports whether the member may receive points: registered with dues paid.
func (m DemoMemberStatus) Eligible() bool { return m.Registered && m.DuesPaid }

// Union returns a union of the demo.
func (d *DemoData) Union(id uint64) (*DemoUnion, bool) {
	i := sort.Search(len(d.Unions), func(i int) bool { return d.Unions[i].ID >= id })
	if i < len(d.Unions) && d.Unions[i].ID == id {
		return &d.Unions[i], true
	}
	return nil, false
}

// Member returns a member's register entry.
func (d *DemoData) Member(id uint64) (DemoMemberStatus, bool) {
	for i := range d.Unions {
		u := &d.Unions[i]
		if u.MembersCount > 0 && id >= u.FirstMember && id < u.FirstMember+uint64(u.MembersCount) {
			m := DemoMemberStatus{ID: id, Union: u.ID, Registered: true, DuesPaid: true}
			for _, x := range d.NotEligible {
				if x.ID == id {
					m = x
				}
			}
			return m, true
		}
	}
	return DemoMemberStatus{}, false
}

// Members lists every member in id order.
func (d *DemoData) Members() []DemoMemberStatus {
	not := make(map[uint64]DemoMemberStatus, len(d.NotEligible))
	for _, m := range d.NotEligible {
		not[m.ID] = m
	}
	var out []DemoMemberStatus
	for _, u := range d.Unions {
		for i := 0; i < u.MembersCount; i++ {
			id := u.FirstMember + uint64(i)
			m, ok := not[id]
			if !ok {
				m = DemoMemberStatus{ID: id, Union: u.ID, Registered: true, DuesPaid: true}
			}
			out = append(out, m)
		}
	}
	return out
}

// PickupPoint returns a pickup point of the demo.
func (d *DemoData) PickupPoint(id uint64) (*DemoPickupPoint, bool) {
	for i := range d.PickupPoints {
		if d.PickupPoints[i].ID == id {
			return &d.PickupPoints[i], true
		}
	}
	return nil, false
}

// Merchant returns a merchant of the demo.
func (d *DemoData) Merchant(id uint64) (*DemoMerchant, bool) {
	for i := range d.Merchants {
		if d.Merchants[i].ID == id {
			return &d.Merchants[i], true
		}
	}
	return nil, false
}

// DemoKeyID is the signing key id of a demo merchant.
func DemoKeyID(merchant uint64) string { return fmt.Sprintf("merchant-%02d", merchant) }

func (d Demo) withDefaults() Demo {
	def := func(v *int, x int) {
		if *v <= 0 {
			*v = x
		}
	}
	def(&d.Unions, demoUnionsDefault)
	def(&d.Members, demoMembersDefault)
	def(&d.Merchants, demoMerchantsDefault)
	def(&d.SKUs, demoSKUsDefault)
	if d.FlashSaleSKUs <= 0 {
		d.FlashSaleSKUs = min(demoFlashSaleSKUsDefault, d.SKUs/10)
	}
	return d
}

// demoCategories are the catalog's categories, each with its products, sizes and prices.
var demoCategories = []struct {
	name     string
	products []string
	sizes    []string
	priceFen [2]int64 // the smallest size's price range
}{
	{"grain_oil", []string{"Northeast long-grain rice", "Fragrant jasmine rice", "Pressed peanut oil", "Camellia seed oil", "Wheat flour", "Rapeseed oil"}, []string{"2.5kg", "5kg", "10kg"}, [2]int64{25_00, 90_00}},
	{"food", []string{"Minnan peanut brittle", "Hui'an fish balls", "Instant noodles assortment", "Dried longan", "Sesame crisps", "Mixed nuts gift tin", "Pork floss"}, []string{"250g", "500g", "1kg"}, [2]int64{12_00, 60_00}},
	{"seafood", []string{"Chongwu dried laver", "Dried shrimp", "Salted yellow croaker", "Dried squid", "Oyster sauce set"}, []string{"200g", "500g"}, [2]int64{20_00, 120_00}},
	{"fruit", []string{"Navel oranges", "Fuji apples", "Pinghe pomelos", "Longans", "Kiwifruit"}, []string{"2.5kg box", "5kg box"}, [2]int64{30_00, 80_00}},
	{"tea", []string{"Anxi Tieguanyin oolong", "Wuyi rock tea", "Fuding white tea", "Jasmine green tea"}, []string{"125g", "250g", "500g gift box"}, [2]int64{40_00, 200_00}},
	{"household", []string{"Cotton bath towel set", "Bamboo fibre bedding", "Stainless steel pot", "Laundry detergent", "Thermal flask", "Ceramic tableware set"}, []string{"standard", "family pack"}, [2]int64{25_00, 180_00}},
	{"daily", []string{"Herbal toothpaste", "Shampoo", "Hand soap", "Tissue paper", "Body wash"}, []string{"single", "pack of 3"}, [2]int64{9_90, 45_00}},
	{"electronics", []string{"Electric kettle", "Rice cooker", "Power bank", "Bluetooth earphones", "Desk lamp"}, []string{"basic", "premium"}, [2]int64{79_00, 399_00}},
	{"books", []string{"Labour law handbook", "Minnan cooking", "Children's encyclopedia", "Hui'an stone carving history", "Workplace safety guide"}, []string{"paperback", "hardcover"}, [2]int64{18_00, 68_00}},
}

// demoFestivalCategories are what the festival goods program may buy: goods, no electronics.
var demoFestivalCategories = []string{"grain_oil", "food", "seafood", "fruit", "tea", "household", "daily", "books"}

var demoMerchantNames = []string{
	"Hui'an Grain & Oil Trading Co.", "Minnan Foods Co.", "Chongwu Seafood Co.", "Quanzhou Fruit Wholesale",
	"Anxi Tea Garden Co.", "Hui'an Household Goods", "Haixi Daily Necessities", "Haixi Electronics",
	"Fujian Xinhua Bookstore (Hui'an)", "Luocheng Grain Store", "Zishan Snacks Factory", "Xiaozuo Fishery Cooperative",
	"Pinghe Orchard Co.", "Wuyi Tea Trading", "Jinlong Home Textiles", "Yongan Supermarket",
	"Ruifeng Appliances", "Quanzhou Books & Stationery", "Huixing Grain & Oil", "Baoli Foods",
}

var demoTowns = []string{"Luocheng", "Huangtang", "Zishan", "Dongyuan", "Zhangban", "Chongwu", "Shanxia", "Dongling", "Jingfeng"}
var demoIndustries = []string{"Stone Carving Industry", "Footwear and Garment Industry", "Education, Health and Public Service"}
var demoCompanyPrefixes = []string{"Minnan", "Haixi", "Huixing", "Jinlong", "Xinda", "Hongfa", "Tianyi", "Yongan", "Ruifeng",
	"Baoli", "Chengxin", "Dafu", "Shengda", "Hengtai", "Guanghui", "Fuxing", "Longsheng", "Jiahe"}
var demoBusinesses = []string{"Stone Carving Co.", "Footwear Co.", "Garments Co.", "Building Materials Co.", "Fishery Cooperative",
	"Logistics Co.", "Food Processing Co.", "Electronics Co.", "Ceramics Co.", "Packaging Co.", "Primary School",
	"Middle School", "Township Health Centre", "Bus Company", "Power Supply Station", "Supermarket Chain", "Hotel", "Printing Co."}

var demoFestivalNames = map[string]string{
	"new_year": "New Year", "spring_festival": "Spring Festival", "qingming": "Qingming", "labour_day": "Labour Day",
	"dragon_boat": "Dragon Boat", "mid_autumn": "Mid-Autumn", "national_day": "National Day",
}

// demoCalendar is the default calendar, with New Year's Day (a fixed date) added for every
// year up to the one after now, so that a festival program can be made on any date.
func demoCalendar(nowNanos int64) []welfare.Festival {
	cal := welfare.DefaultFestivals()
	y, _, _ := welfare.CivilFromDays(welfare.DayOf(nowNanos))
	for year := 2026; year <= y+1; year++ {
		day := welfare.DaysFromCivil(year, 1, 1)
		if !slices.ContainsFunc(cal, func(f welfare.Festival) bool { return f.Name == "new_year" && f.FromDay == day }) {
			cal = append(cal, welfare.Festival{Name: "new_year", FromDay: day, ToDay: day})
		}
	}
	sort.SliceStable(cal, func(i, j int) bool { return cal[i].FromDay < cal[j].FromDay })
	return cal
}

// demoFestival picks the festival the demo's goods program is for: the coming Spring Festival
// when it is at most 75 days away (the season of the New Year goods festival), otherwise the
// next festival of any kind. A festival under way counts as coming.
func demoFestival(cal []welfare.Festival, today int32) welfare.Festival {
	var next *welfare.Festival
	for i := range cal {
		f := &cal[i]
		if f.ToDay < today {
			continue
		}
		if next == nil {
			next = f
		}
		if f.Name == "spring_festival" && f.FromDay-today <= 75 {
			return *f
		}
	}
	return *next // demoCalendar always reaches past today.
}

func shanghaiDate(nanos int64) string {
	return time.Unix(0, nanos).In(time.FixedZone("Asia/Shanghai", 8*3600)).Format(time.RFC3339)
}

// Config is the federation configuration the demo sets: the default caps and timeouts, the
// calendar reaching past now, and the New Year goods festival campaign.
func (d *DemoData) Config() welfare.Config {
	c := welfare.DefaultConfig()
	c.Version = d.ConfigVersion
	c.Festivals = demoCalendar(d.Campaign.FromNanos) // the campaign opens the day the demo is made
	c.Campaigns = []stock.Campaign{{ID: d.Campaign.ID, Name: d.Campaign.Name, FromNanos: d.Campaign.FromNanos,
		ToNanos: d.Campaign.ToNanos, DiscountBps: d.Campaign.DiscountBps}}
	return c
}

// Plan returns the demo's data without touching an engine. It depends only on the seed, the
// sizes and the day of NowNanos.
func (d Demo) Plan() *DemoData {
	d = d.withDefaults()
	rng := rand.New(rand.NewPCG(uint64(d.Seed), 0x6875_6967_6f6e_67))
	today := welfare.DayOf(d.NowNanos)
	todayStart := welfare.DayStartNanos(today)

	out := &DemoData{Seed: d.Seed, CreatedAt: shanghaiDate(d.NowNanos), FederationUnion: DemoFederationUnion,
		ConfigVersion: demoConfigVersion, FlashSaleSKUs: []uint64{}, NotEligible: []DemoMemberStatus{}}

	// Windows. The festival program opens 30 days before its festival (or today, if later
	// than that) and closes 15 days after it, and at least 30 days from today.
	cal := demoCalendar(todayStart)
	fest := demoFestival(cal, today)
	festYear, _, _ := welfare.CivilFromDays(fest.FromDay)
	fromDay := min(today, fest.FromDay-30)
	toDay := max(fest.ToDay+16, today+31)
	out.FestivalProgram = DemoProgramWindow{
		Name: fmt.Sprintf("%s %d festival goods", demoFestivalNames[fest.Name], festYear), Category: welfare.CategoryFestival.String(),
		AmountFen: demoFestivalAmountFen, FromNanos: welfare.DayStartNanos(fromDay), ToNanos: welfare.DayStartNanos(toDay),
		Categories: demoFestivalCategories,
	}
	thisYear, _, _ := welfare.CivilFromDays(today)
	out.ActivityProgram = DemoProgramWindow{
		Name: fmt.Sprintf("Activity points %d", thisYear), Category: welfare.CategoryActivity.String(),
		FromNanos: todayStart, ToNanos: welfare.DayStartNanos(today + 365),
	}
	for _, w := range []*DemoProgramWindow{&out.FestivalProgram, &out.ActivityProgram} {
		w.From, w.To = shanghaiDate(w.FromNanos), shanghaiDate(w.ToNanos)
	}
	out.Campaign = DemoCampaign{ID: demoCampaignID, Name: fmt.Sprintf("New Year goods festival %d", festYear),
		DiscountBps: demoCampaignBps, FromNanos: todayStart, ToNanos: out.FestivalProgram.ToNanos}

	// Unions: the county federation, its town and industry unions, the grassroots unions.
	officers := func(u uint64) []uint64 { return []uint64{u*100 + 1, u*100 + 2} }
	out.FederationOfficers = officers(DemoFederationUnion)
	out.Unions = append(out.Unions, DemoUnion{ID: DemoFederationUnion, Name: "Hui'an County Federation of Trade Unions",
		Level: "federation", Officers: officers(DemoFederationUnion)})
	intermediates := max(1, min(demoIntermediateMax, d.Unions/8))
	for i := 0; i < intermediates; i++ {
		id := uint64(101 + i)
		u := DemoUnion{ID: id, ParentID: DemoFederationUnion, Officers: officers(id)}
		if i < len(demoTowns) && i < intermediates-min(len(demoIndustries), intermediates/4) {
			u.Name, u.Level = demoTowns[i]+" Town Federation of Trade Unions", "town"
		} else {
			u.Name, u.Level = "Hui'an "+demoIndustries[i%len(demoIndustries)]+" Union", "industry"
		}
		out.Unions = append(out.Unions, u)
	}

	// Members: at least 10 per union, the rest spread with a skew (a few big factories, many
	// small units), in one block of ids per union.
	minimum := min(10, d.Members/d.Unions)
	weights := make([]float64, d.Unions)
	var sum float64
	for i := range weights {
		weights[i] = 0.3 + rng.ExpFloat64()
		sum += weights[i]
	}
	spread := d.Members - minimum*d.Unions
	sizes := make([]int, d.Unions)
	given := 0
	for i := range sizes {
		sizes[i] = minimum + int(math.Floor(weights[i]/sum*float64(spread)))
		given += sizes[i]
	}
	for i := 0; given < d.Members; i = (i + 1) % d.Unions {
		sizes[i]++
		given++
	}
	next := uint64(demoMemberBase + 1)
	for i := 0; i < d.Unions; i++ {
		id := uint64(1001 + i)
		parent := uint64(101 + rng.IntN(intermediates))
		place := "Hui'an"
		if pu, _ := out.Union(parent); pu.Level == "town" {
			place = demoTowns[parent-101]
		}
		name := fmt.Sprintf("%s %s %s Trade Union", place, demoCompanyPrefixes[rng.IntN(len(demoCompanyPrefixes))],
			demoBusinesses[rng.IntN(len(demoBusinesses))])
		u := DemoUnion{ID: id, ParentID: parent, Name: name, Level: "grassroots", Officers: officers(id),
			FirstMember: next, MembersCount: sizes[i], FestivalProgram: id*10 + 1, ActivityProgram: id*10 + 2,
			PickupPoints: []uint64{10_000 + id, 20_000 + parent}}
		// A few hundred members are not on the register or have not paid their dues; never
		// the first of a union, whom walkthroughs use.
		eligible := 0
		for k := 0; k < sizes[i]; k++ {
			m := next + uint64(k)
			switch r := rng.IntN(1000); {
			case k > 0 && r < 10:
				out.NotEligible = append(out.NotEligible, DemoMemberStatus{ID: m, Union: id})
			case k > 0 && r < 15:
				out.NotEligible = append(out.NotEligible, DemoMemberStatus{ID: m, Union: id, Registered: true})
			default:
				eligible++
			}
		}
		u.FundedFen = int64(eligible)*demoFestivalAmountFen + demoReserveFen
		if int64(eligible)*demoFestivalAmountFen > welfare.DefaultConfig().ApprovalThresholdFen {
			u.ApprovedBy = u.Officers[1]
		}
		next += uint64(sizes[i])
		out.Unions = append(out.Unions, u)
	}

	// Pickup points: each grassroots union's own Workers e-Home, and a shared service centre
	// per town or industry union for all its grassroots unions.
	for _, u := range out.Unions {
		if u.Level == "grassroots" {
			p := uint64(10_000 + u.ID)
			out.PickupPoints = append(out.PickupPoints, DemoPickupPoint{ID: p, Name: u.Name + " Workers e-Home",
				Unions: []uint64{u.ID}, Keepers: []uint64{p*10 + 1}})
		}
	}
	for _, u := range out.Unions {
		if u.Level == "town" || u.Level == "industry" {
			p := uint64(20_000 + u.ID)
			pp := DemoPickupPoint{ID: p, Name: u.Name + " Workers e-Home service centre", Unions: []uint64{}, Keepers: []uint64{p*10 + 1}}
			for _, g := range out.Unions {
				if g.ParentID == u.ID && g.Level == "grassroots" {
					pp.Unions = append(pp.Unions, g.ID)
				}
			}
			out.PickupPoints = append(out.PickupPoints, pp)
		}
	}

	// Merchants, each for one or two categories.
	for i := 0; i < d.Merchants; i++ {
		id := uint64(i + 1)
		name := demoMerchantNames[i%len(demoMerchantNames)]
		if i >= len(demoMerchantNames) {
			name = fmt.Sprintf("%s %d", name, i/len(demoMerchantNames)+1)
		}
		cats := []string{demoCategories[i%len(demoCategories)].name}
		if i+len(demoCategories) >= d.Merchants && d.Merchants > len(demoCategories) {
			// The last merchants round off with a second category.
			cats = append(cats, demoCategories[(i+3)%len(demoCategories)].name)
		}
		out.Merchants = append(out.Merchants, DemoMerchant{ID: id, Name: name, KeyID: DemoKeyID(id), Category: cats})
	}
	// pickMerchant picks a merchant of the category, or any merchant when none sells it (a
	// demo with fewer merchants than categories).
	pickMerchant := func(category string) uint64 {
		var ms []uint64
		for _, m := range out.Merchants {
			if slices.Contains(m.Category, category) {
				ms = append(ms, m.ID)
			}
		}
		if len(ms) == 0 {
			return out.Merchants[rng.IntN(len(out.Merchants))].ID
		}
		return ms[rng.IntN(len(ms))]
	}

	// SKUs: products of one to three sizes; the flash-sale SKUs come last, as gift boxes with
	// little stock, one per member, on sale from today.
	regular := d.SKUs - d.FlashSaleSKUs
	product := uint64(0)
	for len(out.SKUs) < regular {
		product++
		c := demoCategories[rng.IntN(len(demoCategories))]
		merchant := pickMerchant(c.name)
		base := c.priceFen[0] + rng.Int64N(c.priceFen[1]-c.priceFen[0]+1)
		// A brand before the product, so that two products of one kind are told apart.
		pname := demoCompanyPrefixes[rng.IntN(len(demoCompanyPrefixes))] + " " + c.products[rng.IntN(len(c.products))]
		variants := 1 + rng.IntN(len(c.sizes))
		for v := 0; v < variants && len(out.SKUs) < regular; v++ {
			price := demoPrice(base * int64(10+9*v) / 10)
			id := uint64(demoSKUBase + len(out.SKUs) + 1)
			out.SKUs = append(out.SKUs, DemoSKU{ID: id, ProductID: product, ProductName: pname, Name: pname + " " + c.sizes[v], Category: c.name,
				Merchant: merchant, PriceFen: price, Stock: 200 + 100*rng.Int64N(30)})
		}
	}
	for i := 0; i < d.FlashSaleSKUs; i++ {
		product++
		c := demoCategories[[]int{4, 0, 2, 1, 3}[i%5]] // tea, grain and oil, seafood, food, fruit
		merchant := pickMerchant(c.name)
		id := uint64(demoSKUBase + len(out.SKUs) + 1)
		pname := c.products[rng.IntN(len(c.products))] + " festival gift box"
		out.SKUs = append(out.SKUs, DemoSKU{ID: id, ProductID: product, ProductName: pname, Name: "Flash sale: " + pname,
			Category: c.name, Merchant: merchant, PriceFen: demoPrice(c.priceFen[0] * 2), Stock: 100 + 50*rng.Int64N(5),
			FlashSale: true, Limit: 1, SaleFrom: todayStart, SaleTo: out.FestivalProgram.ToNanos})
		out.FlashSaleSKUs = append(out.FlashSaleSKUs, id)
	}
	return out
}

// demoPrice rounds a price to the yuan and takes ten fen off: 39.90, not 40.00.
func demoPrice(fen int64) int64 {
	return max(1_90, (fen+50)/100*100-10)
}

// Load creates the demo in the engine and returns what it created. It may be run again on an
// engine where an earlier Load stopped half way (a crash during the first start): every step
// is idempotent, and stock is received only for SKUs not yet created.
func (d Demo) Load(e *Engine) (*DemoData, error) {
	if e.rt == nil {
		return nil, errors.New("mall: demo: engine not attached")
	}
	start := time.Now()
	progress := func(format string, args ...any) {
		if d.Progress != nil {
			d.Progress(fmt.Sprintf("demo: "+format+" (%.1fs)", append(args, time.Since(start).Seconds())...))
		}
	}
	data := d.Plan()
	n := e.shardsCount

	// The federation's configuration: the calendar and the campaign. It is broadcast to every
	// shard; programs are checked against the calendar, so wait until every shard has it.
	cfg := data.Config()
	if err := e.submitAll(map[uint32][]shard.Command{DirectoryShard: {{Kind: welfare.SetConfig, Config: &cfg}}}); err != nil {
		return nil, fmt.Errorf("demo: configuration: %w", err)
	}
	if err := e.waitConfig(data.ConfigVersion); err != nil {
		return nil, err
	}
	progress("configuration: festival calendar and the campaign %q (%d%% off)", data.Campaign.Name, data.Campaign.DiscountBps/100)

	// The directory: federation officers, merchants, pickup points.
	dir := []shard.Command{}
	for _, o := range data.FederationOfficers {
		dir = append(dir, shard.Command{Kind: welfare.AddFederationOfficer, Officer: welfare.OfficerID(o)})
	}
	for _, m := range data.Merchants {
		dir = append(dir, shard.Command{Kind: welfare.SetMerchant, Merchant: welfare.Merchant{ID: welfare.MerchantID(m.ID), Name: m.Name, Approved: true}})
	}
	for _, p := range data.PickupPoints {
		pp := welfare.PickupPoint{ID: welfare.PickupPointID(p.ID), Name: p.Name}
		for _, u := range p.Unions {
			pp.Unions = append(pp.Unions, welfare.UnionID(u))
		}
		for _, k := range p.Keepers {
			pp.Keepers = append(pp.Keepers, welfare.OfficerID(k))
		}
		dir = append(dir, shard.Command{Kind: welfare.SetPickupPoint, PickupPoint: pp})
	}
	if err := e.submitAll(map[uint32][]shard.Command{DirectoryShard: dir}); err != nil {
		return nil, fmt.Errorf("demo: directory: %w", err)
	}
	progress("%d merchants approved, %d pickup points, %d federation officers", len(data.Merchants), len(data.PickupPoints), len(data.FederationOfficers))

	// Unions, members and budgets, on each union's shard.
	byShard := make(map[uint32][]shard.Command, n)
	for _, u := range data.Unions {
		s := e.UnionShard(welfare.UnionID(u.ID))
		wu := welfare.Union{ID: welfare.UnionID(u.ID), ParentID: welfare.UnionID(u.ParentID), Name: u.Name}
		for _, o := range u.Officers {
			wu.Officers = append(wu.Officers, welfare.OfficerID(o))
		}
		byShard[s] = append(byShard[s], shard.Command{Kind: welfare.CreateUnion, Union: wu})
	}
	for _, m := range data.Members() {
		s := e.UnionShard(welfare.UnionID(m.Union))
		byShard[s] = append(byShard[s], shard.Command{Kind: welfare.RegisterMember, MemberID: welfare.MemberID(m.ID),
			UnionID: welfare.UnionID(m.Union), Registered: m.Registered, DuesPaid: m.DuesPaid})
	}
	for _, u := range data.Unions {
		if u.FundedFen > 0 {
			s := e.UnionShard(welfare.UnionID(u.ID))
			byShard[s] = append(byShard[s], shard.Command{Kind: welfare.FundUnion, UnionID: welfare.UnionID(u.ID),
				TransferID: ledger.TransferID(demoFundTransferBase + u.ID), AmountFen: u.FundedFen})
		}
	}
	if err := e.submitAll(byShard); err != nil {
		return nil, fmt.Errorf("demo: unions and members: %w", err)
	}
	members := 0
	for _, u := range data.Unions {
		members += u.MembersCount
	}
	progress("%d unions, %d members (%d not registered or dues unpaid), budgets funded", len(data.Unions), members, len(data.NotEligible))

	// Programs: each grassroots union's festival goods program, issued to all its registered
	// members (approved first by the second officer when over the threshold), and its activity
	// points program for the earning API.
	clear(byShard)
	fw, aw := data.FestivalProgram, data.ActivityProgram
	for _, u := range data.Unions {
		if u.FestivalProgram == 0 {
			continue
		}
		s := e.UnionShard(welfare.UnionID(u.ID))
		maker := welfare.OfficerID(u.Officers[0])
		festival := welfare.Program{ID: welfare.ProgramID(u.FestivalProgram), UnionID: welfare.UnionID(u.ID), Name: fw.Name,
			Category: welfare.CategoryFestival, AmountPerMemberFen: fw.AmountFen, FromNanos: fw.FromNanos, ToNanos: fw.ToNanos,
			Whitelist: welfare.Whitelist{Categories: slices.Clone(fw.Categories)}}
		activity := welfare.Program{ID: welfare.ProgramID(u.ActivityProgram), UnionID: welfare.UnionID(u.ID), Name: aw.Name,
			Category: welfare.CategoryActivity, FromNanos: aw.FromNanos, ToNanos: aw.ToNanos}
		cmds := []shard.Command{
			{Kind: welfare.CreateProgram, Officer: maker, Program: festival},
			{Kind: welfare.CreateProgram, Officer: maker, Program: activity},
		}
		if u.ApprovedBy != 0 {
			cmds = append(cmds, shard.Command{Kind: welfare.ApproveProgram, ProgramID: festival.ID, Officer: welfare.OfficerID(u.ApprovedBy)})
		}
		cmds = append(cmds, shard.Command{Kind: welfare.Issue, ProgramID: festival.ID, Officer: maker})
		byShard[s] = append(byShard[s], cmds...)
	}
	if err := e.submitAll(byShard); err != nil {
		return nil, fmt.Errorf("demo: programs: %w", err)
	}
	approved := 0
	for _, u := range data.Unions {
		if u.ApprovedBy != 0 {
			approved++
		}
	}
	progress("programs %q issued to every registered member (%s yuan each; %d approved by a second officer) and %q",
		fw.Name, FormatYuan(fw.AmountFen), approved, aw.Name)

	// The catalog, on each SKU's home shard; stock only for SKUs not there yet.
	clear(byShard)
	for _, sk := range data.SKUs {
		s := e.SKUShard(stock.SKUID(sk.ID))
		if existing, ok := e.SKU(stock.SKUID(sk.ID)); ok && existing.Units.Received > 0 {
			continue
		}
		byShard[s] = append(byShard[s],
			shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: stock.SKUID(sk.ID), Name: sk.Name, ProductID: sk.ProductID,
				ProductName: sk.ProductName, MerchantID: sk.Merchant, Category: sk.Category, PriceFen: sk.PriceFen, Listed: true,
				SaleFromNanos: sk.SaleFrom, SaleToNanos: sk.SaleTo, LimitPerMember: sk.Limit}},
			shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: stock.SKUID(sk.ID)}, Quantity: sk.Stock})
	}
	if err := e.submitAll(byShard); err != nil {
		return nil, fmt.Errorf("demo: catalog: %w", err)
	}
	progress("%d SKUs in stock (%d flash-sale SKUs, limit 1 per member)", len(data.SKUs), len(data.FlashSaleSKUs))
	return data, nil
}

// submitAll submits each shard's commands in order, in chunks, all shards at once, and fails
// on the first result that is neither a success nor the sign of an earlier, identical run.
func (e *Engine) submitAll(byShard map[uint32][]shard.Command) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(byShard))
	for s, cmds := range byShard {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results := make([]shard.Result, demoChunkCommands)
			for len(cmds) > 0 {
				chunk := cmds[:min(len(cmds), demoChunkCommands)]
				cmds = cmds[len(chunk):]
				if err := e.rt.SubmitBatch(s, chunk, results[:len(chunk)]); err != nil {
					errs <- fmt.Errorf("shard %d: %w", s, err)
					return
				}
				for i := range chunk {
					if !demoAccepted(&chunk[i], &results[i]) {
						errs <- fmt.Errorf("shard %d: command %d: %v", s, chunk[i].Kind, results[i].Code)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// demoAccepted reports whether a result is a success, or what a repeated Load meets: the
// thing exists, or every member of an issuance has been issued already.
func demoAccepted(c *shard.Command, r *shard.Result) bool {
	switch r.Code {
	case welfare.OK, welfare.Exists:
		return true
	case welfare.NothingToIssue:
		for _, m := range r.Refused {
			if m.Code != welfare.AlreadyIssued {
				return false
			}
		}
		return c.Kind == welfare.Issue
	}
	return false
}

// waitConfig waits until every shard has the configuration of at least version.
func (e *Engine) waitConfig(version uint64) error {
	deadline := time.Now().Add(30 * time.Second)
	for s := uint32(0); s < uint32(e.shardsCount); s++ {
		for {
			var v uint64
			if err := e.Read(s, func(st *welfare.State) { v = st.Config().Version }); err != nil {
				return err
			}
			if v >= version {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("demo: shard %d did not receive configuration %d", s, version)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}
