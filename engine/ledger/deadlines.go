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

// Deadlines pops deadlines earliest first, ties by id, so that what comes due is decided in the
// same order on every run. It serves the ledger's pending transfers and the welfare deciders'
// program windows and order deadlines.
//
// Most deadlines are pushed in order: the batch time plus a fixed timeout, as every checkout of
// a sale is. Those go to a queue, pushed and popped in constant time without touching what is
// queued; only a deadline earlier than the queue's last goes to a heap. It is typed rather than
// a container/heap: every order of a sale passes through one, and boxing each entry in an
// interface cost an allocation per push and per pop.
type Deadlines[ID ~uint64] struct {
	queue []Deadline[ID] // in order from head
	head  int
	heap  deadlineHeap[ID]
}

// Len is the number of deadlines.
func (h *Deadlines[ID]) Len() int { return len(h.queue) - h.head + len(h.heap) }

// Push adds id due at at.
func (h *Deadlines[ID]) Push(at int64, id ID) {
	d := Deadline[ID]{At: at, ID: id}
	if n := len(h.queue); n == h.head || !d.before(h.queue[n-1]) {
		if h.head > 0 && h.head >= n/2 {
			// Reuse the popped half rather than grow.
			n = copy(h.queue, h.queue[h.head:])
			clear(h.queue[n:])
			h.queue, h.head = h.queue[:n], 0
		}
		h.queue = append(h.queue, d)
		return
	}
	h.heap.push(d)
}

// Peek returns the earliest deadline, and false if there is none.
func (h *Deadlines[ID]) Peek() (Deadline[ID], bool) {
	q := h.head < len(h.queue)
	switch {
	case q && (len(h.heap) == 0 || h.queue[h.head].before(h.heap[0])):
		return h.queue[h.head], true
	case len(h.heap) > 0:
		return h.heap[0], true
	}
	return Deadline[ID]{}, false
}

// Pop removes and returns the earliest deadline; there must be one.
func (h *Deadlines[ID]) Pop() Deadline[ID] {
	if h.head < len(h.queue) && (len(h.heap) == 0 || h.queue[h.head].before(h.heap[0])) {
		d := h.queue[h.head]
		h.head++
		if h.head == len(h.queue) {
			h.queue, h.head = h.queue[:0], 0
		}
		return d
	}
	return h.heap.pop()
}

// deadlineHeap is a min-heap of deadlines.
type deadlineHeap[ID ~uint64] []Deadline[ID]

func (h *deadlineHeap[ID]) push(d Deadline[ID]) {
	*h = append(*h, d)
	a := *h
	for i := len(a) - 1; i > 0; {
		parent := (i - 1) / 2
		if !a[i].before(a[parent]) {
			return
		}
		a[i], a[parent] = a[parent], a[i]
		i = parent
	}
}

func (h *deadlineHeap[ID]) pop() Deadline[ID] {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	*h = a
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < len(a) && a[l].before(a[least]) {
			least = l
		}
		if r < len(a) && a[r].before(a[least]) {
			least = r
		}
		if least == i {
			return top
		}
		a[i], a[least] = a[least], a[i]
		i = least
	}
}
