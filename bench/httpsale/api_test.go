package httpsale_test

import (
	"context"
	"testing"
	"time"

	"huigong/bench/httpsale"
	"huigong/bench/workload"
)

func TestAPISmallSale(t *testing.T) {
	if !httpsale.APIHasOrders() {
		t.Skip("the API has no POST " + httpsale.OrdersPath + " yet")
	}
	modes := []httpsale.TokenMode{httpsale.SessionTokens, httpsale.PlatformTokens}
	for i, cfg := range []workload.Config{
		{Members: 3000, SKUs: 1, Units: 500, Clients: 16, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute},
		{Members: 3000, SKUs: 9, Units: 300, Clients: 16, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute},
	} {
		ctx := context.Background()
		d := &httpsale.API{Dir: t.TempDir(), Shards: 4, TokenMode: modes[i]}
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
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
