package festival

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestScheduleWithoutRamp(t *testing.T) {
	s := Schedule{Rate: 1000}
	for _, k := range []int64{0, 1, 10, 999, 1000, 123_456} {
		want := time.Duration(k) * time.Millisecond
		if got := s.At(k); absDur(got-want) > time.Microsecond {
			t.Errorf("At(%d) = %v, want %v", k, got, want)
		}
	}
	if got := s.Count(time.Second - time.Nanosecond); got != 1000 {
		t.Errorf("Count(1s-) = %d, want 1000", got)
	}
	if got := s.Count(time.Second); got != 1001 {
		t.Errorf("Count(1s) = %d, want 1001 (arrivals at 0, 1ms, ..., 1s)", got)
	}
}

func TestScheduleRamp(t *testing.T) {
	s := Schedule{Rate: 2000, Ramp: 10 * time.Second}
	// The ramp holds Rate*Ramp/2 = 10,000 arrivals: a quarter of them in its first half.
	if got := s.Count(5 * time.Second); math.Abs(float64(got)-2500) > 2 {
		t.Errorf("Count(5s) = %d, want about 2,500", got)
	}
	if got := s.Count(10 * time.Second); math.Abs(float64(got)-10_000) > 2 {
		t.Errorf("Count(10s) = %d, want about 10,000", got)
	}
	// After the ramp, the full rate.
	if got := s.Count(11*time.Second) - s.Count(10*time.Second); math.Abs(float64(got)-2000) > 2 {
		t.Errorf("arrivals in the second after the ramp = %d, want 2,000", got)
	}
	if got := s.RateAt(2500 * time.Millisecond); got != 500 {
		t.Errorf("RateAt(2.5s) = %v, want 500", got)
	}
	// Arrivals are in order, and Count agrees with At everywhere.
	prev := time.Duration(-1)
	for k := int64(0); k < 30_000; k++ {
		at := s.At(k)
		if at < prev {
			t.Fatalf("At(%d) = %v before At(%d) = %v", k, at, k-1, prev)
		}
		prev = at
		if k%997 == 0 {
			if c := s.Count(at); c < k+1 {
				t.Fatalf("Count(At(%d)) = %d, want at least %d", k, c, k+1)
			}
		}
	}
	// The gaps shrink during the ramp and are 1/Rate after it.
	if g1, g2 := s.At(101)-s.At(100), s.At(5001)-s.At(5000); g1 <= g2 {
		t.Errorf("gaps %v then %v: the ramp should speed up", g1, g2)
	}
	if g := s.At(20_001) - s.At(20_000); absDur(g-500*time.Microsecond) > time.Microsecond {
		t.Errorf("gap after the ramp %v, want 500µs", g)
	}
}

// An open-loop schedule does not wait for requests: when the consumer stalls, the arrivals
// due meanwhile are emitted at once, each with the time it was due.
func TestScheduleRunIsOpenLoop(t *testing.T) {
	s := Schedule{Rate: 1000}
	start := time.Now()
	var dues []time.Time
	var emitted []time.Time
	n := s.Run(context.Background(), start, 300*time.Millisecond, 0, func(k int64, due time.Time) bool {
		dues = append(dues, due)
		emitted = append(emitted, time.Now())
		if k == 10 {
			time.Sleep(100 * time.Millisecond) // a stalled consumer
		}
		return true
	})
	if n != 300 || len(dues) != 300 {
		t.Fatalf("emitted %d arrivals, want 300", n)
	}
	for k, d := range dues {
		if want := start.Add(time.Duration(k) * time.Millisecond); !d.Equal(want) {
			t.Fatalf("arrival %d due %v, want %v: due times must not depend on the consumer", k, d.Sub(start), want.Sub(start))
		}
		if emitted[k].Before(d) {
			t.Fatalf("arrival %d emitted %v before it was due", k, d.Sub(emitted[k]))
		}
	}
	// The arrivals that fell due during the stall came out late, together.
	if late := emitted[50].Sub(dues[50]); late < 40*time.Millisecond {
		t.Errorf("arrival 50 was only %v late after a 100ms stall", late)
	}
	// And the schedule caught up: the last ones are on time again.
	if late, stalled := emitted[299].Sub(dues[299]), emitted[50].Sub(dues[50]); late >= stalled {
		t.Errorf("arrival 299 was %v late, as late as during the stall (%v): the schedule did not catch up", late, stalled)
	}
}

func TestScheduleRunBounds(t *testing.T) {
	s := Schedule{Rate: 10_000}
	if n := s.Run(context.Background(), time.Now(), time.Minute, 123, func(int64, time.Time) bool { return true }); n != 123 {
		t.Errorf("with a cap of 123: %d arrivals", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	begin := time.Now()
	n := s.Run(ctx, begin, time.Minute, 0, func(int64, time.Time) bool { return true })
	if time.Since(begin) > 2*time.Second || n > 10_000 {
		t.Errorf("a cancelled run went on: %d arrivals in %v", n, time.Since(begin))
	}
	if n := s.Run(context.Background(), time.Now(), time.Minute, 0, func(k int64, _ time.Time) bool { return k < 4 }); n != 5 {
		t.Errorf("emit said stop at the fifth: %d arrivals", n)
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
