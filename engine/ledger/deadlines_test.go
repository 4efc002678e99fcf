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

// Deadlines pop in order (then by id), whatever the pushes between pops: deadlines pushed in
// order, as timeouts are, out of order, and a mix of the two.
func TestDeadlinesPopInOrder(t *testing.T) {
	for name, next := range map[string]func(rng *rand.Rand, i int) int64{
		"random":   func(rng *rand.Rand, i int) int64 { return int64(rng.IntN(500)) },
		"in order": func(rng *rand.Rand, i int) int64 { return int64(i / 3) },
		"mixed": func(rng *rand.Rand, i int) int64 {
			if rng.IntN(10) == 0 {
				return int64(rng.IntN(i + 1))
			}
			return int64(i)
		},
	} {
		rng := rand.New(rand.NewPCG(3, 4))
		var h Deadlines[TransferID]
		var ref []Deadline[TransferID]
		for i := 0; i < 20_000; i++ {
			if rng.IntN(3) > 0 || h.Len() == 0 {
				at, id := next(rng, i), TransferID(rng.IntN(1000))
				h.Push(at, id)
				ref = append(ref, Deadline[TransferID]{At: at, ID: id})
				continue
			}
			least := slices.MinFunc(ref, cmpDeadline)
			if peek, ok := h.Peek(); !ok || peek != least {
				t.Fatalf("%s: peek %d: %+v %v, want %+v", name, i, peek, ok, least)
			}
			if got := h.Pop(); got != least {
				t.Fatalf("%s: pop %d: %+v, want %+v", name, i, got, least)
			}
			ref = slices.Delete(ref, slices.Index(ref, least), slices.Index(ref, least)+1)
			if h.Len() != len(ref) {
				t.Fatalf("%s: %d deadlines, want %d", name, h.Len(), len(ref))
			}
		}
		slices.SortFunc(ref, cmpDeadline)
		for i, want := range ref {
			if got := h.Pop(); got != want {
				t.Fatalf("%s: draining, pop %d: %+v, want %+v", name, i, got, want)
			}
		}
		if _, ok := h.Peek(); ok || h.Len() != 0 {
			t.Fatalf("%s: %d left after draining", name, h.Len())
		}
	}
}
