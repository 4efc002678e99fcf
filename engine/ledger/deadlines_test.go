package ledger

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func cmpDeadline(a, b Deadline[TransferID]) int {
	if a.before(b) {
		return -1
	}
	if b.before(a) {
		return 1
	}
	return 0
}

// The deadline heap pops deadlines in order (then by id), whatever the pushes between pops,
// and Init orders entries appended in any order.
func TestDeadlinesPopInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h Deadlines[TransferID]
	var ref []Deadline[TransferID]
	for i := 0; i < 20_000; i++ {
		if rng.IntN(3) > 0 || len(h) == 0 {
			at, id := int64(rng.IntN(500)), TransferID(rng.IntN(1000))
			h.Push(at, id)
			ref = append(ref, Deadline[TransferID]{At: at, ID: id})
			continue
		}
		got := h.Pop()
		least := slices.MinFunc(ref, cmpDeadline)
		if got != least {
			t.Fatalf("pop %d: %+v, want %+v", i, got, least)
		}
		ref = slices.Delete(ref, slices.Index(ref, least), slices.Index(ref, least)+1)
		if len(h) != len(ref) {
			t.Fatalf("heap of %d, want %d", len(h), len(ref))
		}
	}
	// A restore appends in any order, then Init.
	h = append(Deadlines[TransferID](nil), ref...)
	rng.Shuffle(len(h), func(i, j int) { h[i], h[j] = h[j], h[i] })
	h.Init()
	slices.SortFunc(ref, cmpDeadline)
	for i, want := range ref {
		if got := h.Pop(); got != want {
			t.Fatalf("after Init, pop %d: %+v, want %+v", i, got, want)
		}
	}
}
