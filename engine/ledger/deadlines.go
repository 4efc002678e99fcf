package ledger

// Deadline is an id due at a batch time.
type Deadline[ID ~uint64] struct {
	At int64
	ID ID
}

func (d Deadline[ID]) before(o Deadline[ID]) bool {
	if d.At != o.At {
		return d.At < o.At
	}
	return d.ID < o.ID
}

// Deadlines is a min-heap of deadlines, earliest first, ties by id, so that what comes due is
// decided in the same order on every run. It serves the ledger's pending transfers and the
// welfare deciders' program windows and order deadlines. It is typed rather than a
// container/heap: every order of a sale passes through one, and boxing each entry in an
// interface cost an allocation per push and per pop.
type Deadlines[ID ~uint64] []Deadline[ID]

// Push adds id due at at.
func (h *Deadlines[ID]) Push(at int64, id ID) {
	*h = append(*h, Deadline[ID]{At: at, ID: id})
	h.up(len(*h) - 1)
}

// Pop removes and returns the earliest deadline; the heap must not be empty.
func (h *Deadlines[ID]) Pop() Deadline[ID] {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	*h = a[:last]
	h.down(0)
	return top
}

// Init orders entries appended in any order, as a restore does.
func (h Deadlines[ID]) Init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h Deadlines[ID]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h[i].before(h[parent]) {
			return
		}
		h[i], h[parent] = h[parent], h[i]
		i = parent
	}
}

func (h Deadlines[ID]) down(i int) {
	for {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l].before(h[least]) {
			least = l
		}
		if r < len(h) && h[r].before(h[least]) {
			least = r
		}
		if least == i {
			return
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
}
