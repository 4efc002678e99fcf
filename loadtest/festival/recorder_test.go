package festival

import (
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// simulateStall plays one client that sends a request due every millisecond for a second
// against a server that answers in 100µs, except that it stalls for 200ms at 500ms. A
// closed-loop client cannot send while it waits, so the requests due during the stall are
// sent late. It records them in a Recorder (from the due time) and returns it with the
// service times a naive generator would have recorded (from the actual send).
func simulateStall() (*Recorder, []time.Duration) {
	start := time.Unix(1_700_000_000, 0)
	r := NewRecorder(start)
	var service []time.Duration
	free := start // when the client can send again
	for k := 0; k < 1000; k++ {
		due := start.Add(time.Duration(k) * time.Millisecond)
		r.Offered(due)
		sent := due
		if free.After(sent) {
			sent = free
		}
		took := 100 * time.Microsecond
		if k == 500 {
			took = 200 * time.Millisecond
		}
		done := sent.Add(took)
		free = done
		r.Record(KindMe, due, sent, done, OutcomeOK)
		service = append(service, took)
	}
	return r, service
}

// The corrected latency shows the stall to every request that waited for it; the service time
// hides it in one sample. HdrHistogram's own correction of the service times
// (RecordCorrectedValue with the expected interval) must agree with ours.
func TestRecorderCorrectsCoordinatedOmission(t *testing.T) {
	r, service := simulateStall()
	corrected, naive := r.Latency(), r.ServiceTime()
	if corrected.Count != 1000 || naive.Count != 1000 {
		t.Fatalf("counts %d and %d, want 1000", corrected.Count, naive.Count)
	}
	// About 200 of the 1000 requests were due during the stall: 20% waited, up to 200ms.
	if corrected.P90 < 50 || corrected.P99 < 150 || corrected.Max < 199 {
		t.Errorf("corrected latency %+v does not show the 200ms stall", corrected)
	}
	if naive.P99 > 1 {
		t.Errorf("service time p99 %vms: want the stall hidden in one sample (p99 of 0.1ms)", naive.P99)
	}
	if naive.Max < 199 {
		t.Errorf("service time max %vms, want the 200ms sample", naive.Max)
	}

	h := newHistogram(latencyDigits)
	for _, d := range service {
		if err := h.RecordCorrectedValue(micros(d), 1000); err != nil {
			t.Fatal(err)
		}
	}
	// Both record about one sample per expected interval of the stall, from 200ms down: the
	// same number of samples above each threshold, and the same maximum.
	r.mu.Lock()
	ours := r.corrected
	r.mu.Unlock()
	for _, ms := range []int64{20, 50, 100, 150} {
		a, b := countAbove(ours, ms*1000), countAbove(h, ms*1000)
		if a < b*85/100 || a > b*115/100 || b == 0 {
			t.Errorf("samples above %dms: ours %d, HdrHistogram's correction %d", ms, a, b)
		}
	}
	if hdr := percentiles(h); corrected.Max < hdr.Max*0.99 || corrected.Max > hdr.Max*1.01 {
		t.Errorf("max: ours %vms, HdrHistogram's correction %vms", corrected.Max, hdr.Max)
	}
}

func countAbove(h *hdrhistogram.Histogram, us int64) int64 {
	var n int64
	for _, b := range h.Distribution() {
		if b.From >= us {
			n += b.Count
		}
	}
	return n
}

func TestRecorderSeriesAndCounts(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	r := NewRecorder(start)
	at := func(ms int) time.Time { return start.Add(time.Duration(ms) * time.Millisecond) }
	r.Offered(at(100))
	r.Offered(at(900))
	r.Offered(at(1500))
	r.Record(KindFlashOrder, at(100), at(100), at(105), OutcomePlaced)
	r.Record(KindFlashOrder, at(900), at(950), at(1100), OutcomeSoldOut) // done in the second second
	r.Record(KindCatalog, at(1500), at(1500), at(1502), OutcomeError)
	r.SampleInFlight(0, 1)

	s := r.Series()
	if len(s) != 2 {
		t.Fatalf("series of %d seconds, want 2", len(s))
	}
	if s[0].Offered != 2 || s[0].Completed != 1 || s[0].Placed != 1 || s[0].InFlight != 1 {
		t.Errorf("second 0: %+v", s[0])
	}
	if s[1].Offered != 1 || s[1].Completed != 2 || s[1].SoldOut != 1 || s[1].Errors != 1 {
		t.Errorf("second 1: %+v", s[1])
	}
	// The sold-out answer took 200ms from when it was due, 150ms from its send.
	if s[1].Max < 199 || s[1].Max > 201 {
		t.Errorf("second 1 max %vms, want 200", s[1].Max)
	}
	tot := r.Totals()
	if tot.Completed != 3 || tot.Outcomes[OutcomePlaced] != 1 || tot.ByKind[KindFlashOrder][OutcomeSoldOut] != 1 || !tot.Last.Equal(at(1502)) {
		t.Errorf("totals %+v", tot)
	}
	if got := r.KindLatency(KindCatalog); got.Count != 1 || got.Max > 2.01 {
		t.Errorf("catalog latency %+v", got)
	}
	if got := r.Second(5); got.T != 5 || got.Completed != 0 {
		t.Errorf("a second not reached: %+v", got)
	}
}
