package ledger

// idIndex maps account or transfer ids to positions in their store.
//
// Ids the engine makes itself (at or above ReservedIDMin) come from counters, so they arrive in
// runs of consecutive numbers: an issuance to a county opens 28,000 accounts and 28,000
// transfers with ids one after the other. Those are kept in pages of positions indexed by the
// id's low bits, found through a small directory and a one-page cache, so the common case is two
// loads and a compare, with no hashing and no map growth. Client ids, which may be anything, go
// to the map.
type idIndex struct {
	m map[uint64]uint32
	// pages holds, for each page of reserved ids, position+1 of every id in it (0: absent).
	pages map[uint64]*idPage
	// lastKey and last cache the page used last; last is nil when no page was used yet.
	lastKey uint64
	last    *idPage
	count   int
}

const (
	idPageShift = 12
	idPageSize  = 1 << idPageShift
)

type idPage [idPageSize]uint32

func newIDIndex() idIndex {
	return idIndex{m: make(map[uint64]uint32), pages: make(map[uint64]*idPage)}
}

// len is the number of ids in the index.
func (x *idIndex) len() int { return x.count }

// page returns the page of a reserved id, creating it when create is set; nil if absent.
func (x *idIndex) page(id uint64, create bool) *idPage {
	key := id >> idPageShift
	if x.last != nil && key == x.lastKey {
		return x.last
	}
	p := x.pages[key]
	if p == nil {
		if !create {
			return nil
		}
		p = new(idPage)
		x.pages[key] = p
	}
	x.lastKey, x.last = key, p
	return p
}

func (x *idIndex) get(id uint64) (uint32, bool) {
	if id < ReservedIDMin {
		pos, ok := x.m[id]
		return pos, ok
	}
	p := x.page(id, false)
	if p == nil {
		return 0, false
	}
	v := p[id&(idPageSize-1)]
	if v == 0 {
		return 0, false
	}
	return v - 1, true
}

// put adds id at pos; id must not be in the index.
func (x *idIndex) put(id uint64, pos uint32) {
	x.count++
	if id < ReservedIDMin {
		x.m[id] = pos
		return
	}
	x.page(id, true)[id&(idPageSize-1)] = pos + 1
}

// remove takes id out of the index; an empty page stays, to be filled again.
func (x *idIndex) remove(id uint64) {
	if _, ok := x.get(id); !ok {
		return
	}
	x.count--
	if id < ReservedIDMin {
		delete(x.m, id)
		return
	}
	x.page(id, false)[id&(idPageSize-1)] = 0
}
