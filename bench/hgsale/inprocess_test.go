package hgsale_test

import (
	"context"
	"testing"
	"time"

	"huigong/bench/hgsale"
	"huigong/bench/workload"
)

func smallSales() []workload.Config {
	return []workload.Config{
		{Members: 3000, SKUs: 1, Units: 500, Clients: 16, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute},
		{Members: 3000, SKUs: 9, Units: 300, Clients: 16, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute},
	}
}

func check(t *testing.T, d workload.Design, cfg workload.Config) {
	t.Helper()
	ctx := context.Background()
	if err := d.Setup(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	st := workload.Drive(ctx, d, cfg, nil, time.Second)
	if st.FirstError != nil || st.Failed != 0 {
		t.Fatalf("%d failed: %v", st.Failed, st.FirstError)
	}
	if st.Placed != cfg.ExpectedSold() || st.Attempts != int64(cfg.Members) {
		t.Fatalf("placed %d of %d attempts, want %d", st.Placed, st.Attempts, cfg.ExpectedSold())
	}
	v, err := d.Verify(ctx, cfg, st.Outcomes)
	if err != nil {
		t.Fatal(err)
	}
	if v.Oversold != 0 || v.Lost != 0 || v.Committed != st.Placed || len(v.Notes) != 1 {
		t.Fatalf("verification %+v", v)
	}
	t.Log(v.Notes)
}

func TestInProcessSmallSale(t *testing.T) {
	for _, cfg := range smallSales() {
		d := &hgsale.InProcess{Dir: t.TempDir(), Shards: 4}
		check(t, d, cfg)
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// A member who tries twice gets one unit.
func TestInProcessLimitPerMember(t *testing.T) {
	ctx := context.Background()
	cfg := workload.Config{Members: 10, SKUs: 1, Units: 5, Clients: 1, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute}
	d := &hgsale.InProcess{Dir: t.TempDir(), Shards: 4}
	defer d.Close()
	if err := d.Setup(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if o, err := d.Attempt(ctx, 0, 3); err != nil || o != workload.Placed {
		t.Fatalf("first try %v %v", o, err)
	}
	// The same member with a new order id.
	r := hgsale.Request(cfg, 3)
	r.ID += 1_000_000
	o, err := d.Node().Engine.Checkout(ctx, hgsale.MemberID(3), hgsale.UnionID(3), r)
	if err != nil || hgsale.OutcomeOf(o) != workload.Refused {
		t.Fatalf("second try %+v %v", o, err)
	}
}
