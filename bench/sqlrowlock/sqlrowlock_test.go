package sqlrowlock_test

import (
	"context"
	"testing"
	"time"

	"huigong/bench/pgtest"
	"huigong/bench/sqlrowlock"
	"huigong/bench/workload"
)

func TestSmallSale(t *testing.T) {
	pg := pgtest.New(t)
	for _, cfg := range []workload.Config{
		{Members: 600, SKUs: 1, Units: 100, Clients: 16, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute},
		{Members: 600, SKUs: 7, Units: 30, Clients: 16, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute},
	} {
		ctx := context.Background()
		d := &sqlrowlock.Design{URL: pg.URL()}
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
		if v.Oversold != 0 || v.Lost != 0 || v.Committed != st.Placed || len(v.Notes) != 0 {
			t.Fatalf("verification %+v", v)
		}
		d.Close()
	}
}

// A member who tries twice gets one unit: the second try is refused by the primary key.
func TestLimitPerMember(t *testing.T) {
	pg := pgtest.New(t)
	ctx := context.Background()
	cfg := workload.Config{Members: 10, SKUs: 1, Units: 5, Clients: 1, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute}
	d := &sqlrowlock.Design{URL: pg.URL()}
	defer d.Close()
	if err := d.Setup(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if o, err := d.Attempt(ctx, 0, 3); err != nil || o != workload.Placed {
		t.Fatalf("first try %v %v", o, err)
	}
	if o, err := d.Attempt(ctx, 0, 3); err != nil || o != workload.Refused {
		t.Fatalf("second try %v %v", o, err)
	}
	v, err := d.Verify(ctx, cfg, []workload.Outcome{3: workload.Placed, 9: workload.NotTried})
	if err != nil || v.Committed != 1 || v.Lost != 0 || v.Oversold != 0 || len(v.Notes) != 0 {
		t.Fatalf("%+v %v", v, err)
	}
}
