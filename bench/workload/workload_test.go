package workload_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"huigong/bench/workload"
)

func TestSKUChoiceAndExpectedSold(t *testing.T) {
	one := workload.Default()
	if one.ExpectedSold() != 10_000 {
		t.Fatalf("one SKU: expected %d", one.ExpectedSold())
	}
	hundred := workload.Default()
	hundred.SKUs, hundred.Units = 100, 1_000
	d := hundred.Demand()
	var total int64
	for k, n := range d {
		total += n
		if n < 800 || n > 1200 {
			t.Fatalf("SKU %d has demand %d: the choice is not spread", k, n)
		}
	}
	if total != int64(hundred.Members) {
		t.Fatalf("demand adds up to %d", total)
	}
	if e := hundred.ExpectedSold(); e < 90_000 || e > 100_000 {
		t.Fatalf("hundred SKUs: expected %d", e)
	}
	if hundred.SKUOf(12345) != hundred.SKUOf(12345) {
		t.Fatal("the choice is not fixed")
	}
}

type stub struct {
	calls atomic.Int64
	delay time.Duration
	err   error
}

func (s *stub) Name() string                                 { return "stub" }
func (s *stub) Setup(context.Context, workload.Config) error { return nil }
func (s *stub) Close() error                                 { return nil }
func (s *stub) Verify(context.Context, workload.Config, []workload.Outcome) (workload.Verification, error) {
	return workload.Verification{}, nil
}
func (s *stub) Attempt(ctx context.Context, _ int, m int) (workload.Outcome, error) {
	s.calls.Add(1)
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return workload.NotTried, ctx.Err()
	}
	if s.err != nil && m%2 == 0 {
		return workload.Failed, s.err
	}
	if m < 7 {
		return workload.Placed, nil
	}
	return workload.SoldOut, nil
}

func TestDriveCountsEveryAttemptOnce(t *testing.T) {
	cfg := workload.Config{Members: 1000, SKUs: 1, Units: 7, Clients: 8, PriceFen: 1, PointsFen: 1, Cap: time.Minute}
	s := &stub{}
	st := workload.Drive(context.Background(), s, cfg, nil, time.Second)
	if st.Attempts != 1000 || st.Placed != 7 || st.SoldOut != 993 || st.Capped || s.calls.Load() != 1000 {
		t.Fatalf("%+v", st)
	}
	if st.Latency.TotalCount() != 1000 {
		t.Fatalf("%d latencies", st.Latency.TotalCount())
	}
	for m, o := range st.Outcomes {
		if (m < 7) != (o == workload.Placed) {
			t.Fatalf("member %d: %v", m, o)
		}
	}
}

func TestDriveStopsAtTheCap(t *testing.T) {
	cfg := workload.Config{Members: 1_000_000, SKUs: 1, Units: 7, Clients: 4, PriceFen: 1, PointsFen: 1, Cap: 200 * time.Millisecond}
	s := &stub{delay: time.Millisecond}
	start := time.Now()
	st := workload.Drive(context.Background(), s, cfg, nil, time.Second)
	if time.Since(start) > 2*time.Second || !st.Capped || st.Attempts >= 1_000_000 || st.Attempts == 0 {
		t.Fatalf("%+v after %v", st, time.Since(start))
	}
	if st.Failed != 0 {
		t.Fatalf("attempts cut by the cap counted as failed: %d", st.Failed)
	}
}

func TestDriveKeepsTheFirstError(t *testing.T) {
	cfg := workload.Config{Members: 10, SKUs: 1, Units: 7, Clients: 1, PriceFen: 1, PointsFen: 1, Cap: time.Minute}
	boom := errors.New("boom")
	st := workload.Drive(context.Background(), &stub{err: boom}, cfg, nil, time.Second)
	if st.Failed != 5 || !errors.Is(st.FirstError, boom) {
		t.Fatalf("%+v", st)
	}
}
