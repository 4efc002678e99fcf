package festival

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"huigong/api"
	"huigong/mall"
)

// World is what the load test knows of the demo: its participating members with their dev
// tokens, the SKUs they order and the merchants whose signed partner API tells the units.
type World struct {
	Demo      *mall.DemoData
	Members   []Member
	Flash     []mall.DemoSKU // the flash-sale SKUs the rush goes for
	Ordinary  []mall.DemoSKU // ordinary SKUs the festival program can pay for
	SKUs      map[uint64]mall.DemoSKU
	Merchants []Merchant
	// Categories are what the festival program may buy, for catalog browsing.
	Categories []string
}

// Member is a participating demo member.
type Member struct {
	ID     uint64
	Union  uint64
	Points []uint64 // the pickup points serving its union, its own Workers e-Home first
	Auth   string   // "Bearer <dev token>"
}

// Merchant is a demo merchant with its signing key.
type Merchant struct {
	ID     uint64
	KeyID  string
	Secret string
}

// tokenTTL is how long the minted tokens are valid: longer than any run and its checks.
const tokenTTL = 12 * time.Hour

// LoadWorld reads the demo data, the dev key and the merchant keys of a --demo data directory,
// picks members participants among the eligible members (all of them when members <= 0) with
// the seed, and mints a dev token for each, as `huigong token --member` does. flashSKUs, when
// > 0, narrows the rush to the first flashSKUs flash-sale SKUs.
func LoadWorld(dir string, members, flashSKUs int, seed uint64) (*World, error) {
	demo, ok, err := mall.ReadDemoData(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s has no %s: start `huigong serve --demo --data %s` once first (make run uses ./data)",
			dir, mall.DemoFileName, dir)
	}
	key, ok, err := mall.LoadDevKey(dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s has no dev key (%s): dev tokens exist only for a data directory made by `huigong serve --demo`",
			dir, mall.DevKeyFileName)
	}
	keys, err := mall.LoadMerchantKeys(filepath.Join(dir, mall.MerchantKeysFileName))
	if err != nil {
		return nil, err
	}
	w := &World{Demo: demo, SKUs: map[uint64]mall.DemoSKU{}, Categories: slices.Clone(demo.FestivalProgram.Categories)}
	for _, m := range demo.Merchants {
		k, ok := keys.Lookup(m.KeyID)
		if !ok {
			return nil, fmt.Errorf("merchant %d: key %q is not in %s", m.ID, m.KeyID, mall.MerchantKeysFileName)
		}
		w.Merchants = append(w.Merchants, Merchant{ID: m.ID, KeyID: m.KeyID, Secret: k.Secret})
	}
	for _, s := range demo.SKUs {
		w.SKUs[s.ID] = s
		switch {
		case s.FlashSale:
			w.Flash = append(w.Flash, s)
		case slices.Contains(w.Categories, s.Category):
			w.Ordinary = append(w.Ordinary, s)
		}
	}
	if flashSKUs > 0 && flashSKUs < len(w.Flash) {
		w.Flash = w.Flash[:flashSKUs]
	}
	if len(w.Flash) == 0 || len(w.Ordinary) == 0 {
		return nil, fmt.Errorf("the demo has %d flash-sale SKUs and %d ordinary SKUs the festival program pays for", len(w.Flash), len(w.Ordinary))
	}

	var eligible []mall.DemoMemberStatus
	for _, m := range demo.Members() {
		if m.Eligible() {
			eligible = append(eligible, m)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d656d62657273))
	rng.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	if members > 0 && members < len(eligible) {
		eligible = eligible[:members]
	}
	slices.SortFunc(eligible, func(a, b mall.DemoMemberStatus) int { return int(a.ID) - int(b.ID) })
	issuer := api.NewIssuer(mall.DevKeyID, key)
	now := time.Now()
	for _, m := range eligible {
		u, ok := demo.Union(m.Union)
		if !ok || len(u.PickupPoints) == 0 {
			return nil, fmt.Errorf("member %d: union %d has no pickup point in the demo data", m.ID, m.Union)
		}
		sub := strconv.FormatUint(m.ID, 10)
		tok, err := issuer.Sign(api.Claims{Role: api.RoleMember, Union: m.Union,
			RegisteredClaims: jwt.RegisteredClaims{Subject: sub, Issuer: mall.DevTokenIssuer}}, now, tokenTTL)
		if err != nil {
			return nil, err
		}
		w.Members = append(w.Members, Member{ID: m.ID, Union: m.Union, Points: u.PickupPoints, Auth: "Bearer " + tok})
	}
	if len(w.Members) == 0 {
		return nil, fmt.Errorf("the demo data has no eligible member")
	}
	return w, nil
}
