package festival

import (
	"context"
	"math"
	"time"
)

// Schedule is an open-loop arrival schedule: requests are due at fixed times that depend only
// on the target rate and the ramp, never on how fast the server answers. The rate climbs
// linearly from zero to Rate over Ramp, then stays at Rate. Arrivals are evenly spaced (the
// k-th is due when the cumulative expected count reaches k), so a run is reproducible and a
// late answer never delays the next request.
type Schedule struct {
	Rate float64       // requests per second once ramped up
	Ramp time.Duration // time to climb from 0 to Rate; 0 starts at Rate
}

// rampArrivals is the number of arrivals during the ramp: Rate*Ramp/2.
func (s Schedule) rampArrivals() float64 { return s.Rate * s.Ramp.Seconds() / 2 }

// At returns when arrival k (from 0) is due, as an offset from the start.
//
// During the ramp the rate at t is Rate*t/Ramp, so the count by t is Rate*t²/(2*Ramp) and
// arrival k is due at sqrt(2*Ramp*k/Rate); after it, arrivals are 1/Rate apart.
func (s Schedule) At(k int64) time.Duration {
	if s.Rate <= 0 {
		return time.Duration(math.MaxInt64)
	}
	kf := float64(k)
	ramp := s.Ramp.Seconds()
	if n := s.rampArrivals(); kf < n && ramp > 0 {
		return seconds(math.Sqrt(2 * ramp * kf / s.Rate))
	}
	return seconds(ramp + (kf-s.rampArrivals())/s.Rate)
}

// Count returns how many arrivals are due by offset t (those with At(k) <= t).
func (s Schedule) Count(t time.Duration) int64 {
	if s.Rate <= 0 || t < 0 {
		return 0
	}
	x, ramp := t.Seconds(), s.Ramp.Seconds()
	var n float64
	if x < ramp {
		n = s.Rate * x * x / (2 * ramp)
	} else {
		n = s.rampArrivals() + (x-ramp)*s.Rate
	}
	c := int64(math.Floor(n)) + 1
	// Floating point: settle the boundary against At itself.
	for c > 0 && s.At(c-1) > t {
		c--
	}
	for s.At(c) <= t {
		c++
	}
	return c
}

// RateAt returns the target rate at offset t.
func (s Schedule) RateAt(t time.Duration) float64 {
	if t < s.Ramp && s.Ramp > 0 {
		return s.Rate * t.Seconds() / s.Ramp.Seconds()
	}
	return s.Rate
}

func seconds(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }

// Run calls emit for each arrival due before duration (and, when limit > 0, for at most limit
// arrivals), with its index and the wall-clock time it was due, sleeping until each is due.
// It never waits for a request to finish: when emit or the sleep ran late, the arrivals that
// fell due meanwhile are emitted at once, each with its own due time, so that latency measured
// from that time includes the delay (no coordinated omission). It stops early when ctx is done
// or emit returns false, and returns the number of arrivals emitted.
func (s Schedule) Run(ctx context.Context, start time.Time, duration time.Duration, limit int64,
	emit func(k int64, due time.Time) bool) int64 {
	var k int64
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if limit > 0 && k >= limit {
			return k
		}
		at := s.At(k)
		if at >= duration {
			return k
		}
		due := start.Add(at)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return k
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return k
		}
		if !emit(k, due) {
			return k + 1
		}
		k++
	}
}
