package redislua_test

import (
	"context"
	"testing"
	"time"

	"huigong/bench/pgtest"
	"huigong/bench/redislua"
	"huigong/bench/redistest"
	"huigong/bench/workload"
)

func TestSmallSale(t *testing.T) {
	pg, rs := pgtest.New(t), redistest.New(t)
	for _, cfg := range []workload.Config{
		{Members: 3000, SKUs: 1, Units: 500, Clients: 16, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute},
		{Members: 3000, SKUs: 9, Units: 300, Clients: 16, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute},
	} {
		ctx := context.Background()
		d := &redislua.Design{RedisAddr: rs.Addr(), PGURL: pg.URL(), BatchMax: 100, Workers: 3}
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
		d.Close()
	}
}

// A member who tries twice gets one unit: the second try is refused by the limit.
func TestLimitPerMember(t *testing.T) {
	pg, rs := pgtest.New(t), redistest.New(t)
	ctx := context.Background()
	cfg := workload.Config{Members: 10, SKUs: 1, Units: 5, Clients: 1, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute}
	d := &redislua.Design{RedisAddr: rs.Addr(), PGURL: pg.URL()}
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
}
