package welfare

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The order heap pops deadlines in order (then by order id), whatever the pushes between pops.
func TestOrderHeapPopsInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h orderHeap
	var ref []orderDeadline
	for i := 0; i < 20_000; i++ {
		if rng.IntN(3) > 0 || len(h) == 0 {
			e := orderDeadline{deadline: int64(rng.IntN(500)), id: OrderID(rng.IntN(1000))}
			h.push(e)
			ref = append(ref, e)
			continue
		}
		got := h.pop()
		least := slices.MinFunc(ref, func(a, b orderDeadline) int {
			if a.before(b) {
				return -1
			}
			if b.before(a) {
				return 1
			}
			return 0
		})
		if got != least {
			t.Fatalf("pop %d: %+v, want %+v", i, got, least)
		}
		ref = slices.Delete(ref, slices.Index(ref, least), slices.Index(ref, least)+1)
		if len(h) != len(ref) {
			t.Fatalf("heap of %d, want %d", len(h), len(ref))
		}
	}
}
