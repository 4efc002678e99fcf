package httpsale_test

import (
	"context"
	"testing"
	"time"

	"huigong/bench/httpsale"
	"huigong/bench/workload"
)

func TestFiberBare(t *testing.T) {
	cfg := workload.Config{Members: 2000, SKUs: 3, Units: 100, Clients: 8, PriceFen: 10_00, PointsFen: 100_00, Cap: time.Minute}
	d := &httpsale.FiberBare{}
	defer d.Close()
	if err := d.Setup(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	st := workload.Drive(context.Background(), d, cfg, nil, time.Second)
	if st.Answered != int64(cfg.Members) || st.Failed != 0 || st.Placed != 0 {
		t.Fatalf("%+v: %v", st, st.FirstError)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
