package ledger

import (
	"math/rand/v2"
	"testing"
)

// TestIDIndexMatchesMap drives the index and a plain map with the same puts, removes and gets,
// over client ids and runs of reserved ids in several pages, and checks every answer agrees.
func TestIDIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	x := newIDIndex()
	ref := map[uint64]uint32{}
	bases := []uint64{1, ReservedIDMin, ReservedIDMin + 1<<32, ReservedIDMin + 1<<40 + idPageSize - 3}
	for i := 0; i < 200_000; i++ {
		id := bases[rng.IntN(len(bases))] + uint64(rng.IntN(3*idPageSize))
		switch rng.IntN(4) {
		case 0, 1:
			if _, ok := ref[id]; !ok {
				pos := uint32(rng.Uint32N(1 << 31))
				x.put(id, pos)
				ref[id] = pos
			}
		case 2:
			x.remove(id)
			delete(ref, id)
		}
		pos, ok := x.get(id)
		want, wantOK := ref[id]
		if ok != wantOK || pos != want {
			t.Fatalf("step %d: get(%d) = %d, %v; want %d, %v", i, id, pos, ok, want, wantOK)
		}
		if x.len() != len(ref) {
			t.Fatalf("step %d: len %d, want %d", i, x.len(), len(ref))
		}
	}
	// Position zero and the largest position a store can hold both round-trip.
	for _, pos := range []uint32{0, transfersCountMax - 1} {
		id := uint64(ReservedIDMin + 1<<50)
		x.put(id, pos)
		if got, ok := x.get(id); !ok || got != pos {
			t.Fatalf("get after put(%d) = %d, %v", pos, got, ok)
		}
		x.remove(id)
	}
}
