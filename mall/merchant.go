package mall

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

// What a merchant may do to the catalog: it acts only on its own SKUs. The engine's SetSKU
// takes whatever merchant the command names, so the ownership check lives here, around it.

// Errors of merchant catalog operations.
var (
	// ErrSKUOwnedByAnother refuses a merchant's SetSKU of an id another merchant holds.
	ErrSKUOwnedByAnother = errors.New("sku owned by another merchant")
	// ErrNotMerchantSKU is a SKU that does not exist or is another merchant's: to the caller
	// both are "no such SKU", so a merchant learns nothing of another's catalog.
	ErrNotMerchantSKU = errors.New("no such sku of this merchant")
)

// skuLocksCount stripes the per-SKU locks.
const skuLocksCount = 256

// skuLocks serialise a SKU's read, ownership check and write within this process, so two
// merchants cannot both claim a new SKU id and a price change cannot undo a concurrent update
// of the other fields. They are striped by SKU id and shared by every Engine of the process,
// which only costs some contention between engines of different tests. In a cluster several API
// nodes would need the check inside the SKU's shard (a merchant-aware SetSKU in the decider).
var skuLocks [skuLocksCount]sync.Mutex

func lockSKU(id stock.SKUID) func() {
	m := &skuLocks[mix(uint64(id))%skuLocksCount]
	m.Lock()
	return m.Unlock
}

// MerchantApproved reports whether the federation's directory lists the merchant as approved.
func (e *Engine) MerchantApproved(merchant welfare.MerchantID) (bool, error) {
	approved := false
	err := e.Read(DirectoryShard, func(st *welfare.State) {
		if m, ok := st.Merchant(merchant); ok {
			approved = m.Approved
		}
	})
	return approved, err
}

// merchantSKU reads a SKU and checks it is the merchant's.
func (e *Engine) merchantSKU(merchant welfare.MerchantID, id stock.SKUID) (stock.SKU, error) {
	sk, ok := e.SKU(id)
	if !ok || sk.MerchantID != uint64(merchant) {
		return stock.SKU{}, ErrNotMerchantSKU
	}
	return sk, nil
}

// SetMerchantSKU creates or updates a SKU of the merchant; sku.MerchantID is set to it. It
// returns the engine's code (invalid_sku for bad fields) and the SKU as it now stands.
func (e *Engine) SetMerchantSKU(merchant welfare.MerchantID, sku stock.SKU) (stock.SKU, welfare.Code, error) {
	defer lockSKU(sku.ID)()
	if cur, ok := e.SKU(sku.ID); ok && cur.MerchantID != uint64(merchant) {
		return stock.SKU{}, 0, ErrSKUOwnedByAnother
	}
	sku.MerchantID = uint64(merchant)
	return e.setSKU(sku)
}

func (e *Engine) setSKU(sku stock.SKU) (stock.SKU, welfare.Code, error) {
	r, err := e.Submit(e.SKUShard(sku.ID), shard.Command{Kind: welfare.SetSKU, SKU: sku})
	if err != nil || r.Code != welfare.OK {
		return stock.SKU{}, r.Code, err
	}
	now, _ := e.SKU(sku.ID)
	return now, welfare.OK, nil
}

// UpdateMerchantSKU changes the catalog fields of a SKU of the merchant with change, keeping the
// others: a price change that does not lose a concurrent update of the listing.
func (e *Engine) UpdateMerchantSKU(merchant welfare.MerchantID, id stock.SKUID, change func(*stock.SKU)) (stock.SKU, welfare.Code, error) {
	defer lockSKU(id)()
	sk, err := e.merchantSKU(merchant, id)
	if err != nil {
		return stock.SKU{}, 0, err
	}
	change(&sk)
	sk.ID, sk.MerchantID = id, uint64(merchant)
	return e.setSKU(sk)
}

// ReceiveMerchantStock adds quantity units the merchant delivered to its SKU.
func (e *Engine) ReceiveMerchantStock(merchant welfare.MerchantID, id stock.SKUID, quantity int64) (stock.SKU, welfare.Code, error) {
	return e.merchantStock(merchant, id, quantity, welfare.ReceiveStock)
}

// RestockMerchantSKU moves quantity returned units of the merchant's SKU back to available.
func (e *Engine) RestockMerchantSKU(merchant welfare.MerchantID, id stock.SKUID, quantity int64) (stock.SKU, welfare.Code, error) {
	return e.merchantStock(merchant, id, quantity, welfare.RestockSKU)
}

func (e *Engine) merchantStock(merchant welfare.MerchantID, id stock.SKUID, quantity int64, kind welfare.CommandKind) (stock.SKU, welfare.Code, error) {
	// The lock keeps the SKU the merchant's between the check and the command.
	defer lockSKU(id)()
	if _, err := e.merchantSKU(merchant, id); err != nil {
		return stock.SKU{}, 0, err
	}
	r, err := e.Submit(e.SKUShard(id), shard.Command{Kind: kind, SKU: stock.SKU{ID: id}, Quantity: quantity})
	if err != nil || r.Code != welfare.OK {
		return stock.SKU{}, r.Code, err
	}
	now, _ := e.SKU(id)
	return now, welfare.OK, nil
}

// MerchantSKU returns a SKU of the merchant.
func (e *Engine) MerchantSKU(merchant welfare.MerchantID, id stock.SKUID) (stock.SKU, error) {
	return e.merchantSKU(merchant, id)
}

// MerchantSKUs returns up to limit of the merchant's SKUs with ids above after, in id order,
// and whether there are more. Each shard is read once; each gives at most limit+1 SKUs, since
// its ids come in order.
func (e *Engine) MerchantSKUs(merchant welfare.MerchantID, after stock.SKUID, limit int) ([]stock.SKU, bool, error) {
	if limit <= 0 {
		return nil, false, fmt.Errorf("mall: limit %d", limit)
	}
	var out []stock.SKU
	for s := 0; s < e.shardsCount; s++ {
		err := e.Read(uint32(s), func(st *welfare.State) {
			n := 0
			for _, id := range st.Stock().SKUs() {
				if id <= after {
					continue
				}
				sk, _ := st.Stock().SKU(id)
				if sk.MerchantID != uint64(merchant) {
					continue
				}
				out = append(out, *sk) // A copy: the engine's SKU must not escape the read.
				if n++; n > limit {
					break
				}
			}
		})
		if err != nil {
			return nil, false, err
		}
	}
	slices.SortFunc(out, func(a, b stock.SKU) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// MerchantVisible reports whether merchants see an order in this state: an open checkout or a
// refused one was never a commitment to deliver, so only confirmed orders and what became of
// them go to merchants.
func MerchantVisible(s welfare.OrderState) bool {
	switch s {
	case welfare.OrderReserving, welfare.OrderAwaitingPayment, welfare.OrderRefused:
		return false
	}
	return true
}

// OrderMerchants lists the merchants with a line in an order, in line order.
func OrderMerchants(o *welfare.Order) []welfare.MerchantID { return orderMerchants(o) }

// merchantScanMax bounds the stream events one feed read looks at, so a merchant with few
// orders in a long stream gets a bounded answer and a cursor to go on from.
const merchantScanMax = 20_000

// MerchantOrderEvents returns up to limit events from offset from on of orders with a line of
// the merchant, in a state merchants see; next is the offset to resume from and caughtUp says
// whether the stream had nothing more when read.
func (e *Engine) MerchantOrderEvents(merchant welfare.MerchantID, from uint64, limit int) (events []OrderEvent, next uint64, caughtUp bool) {
	next = from
	scanned := 0
	for len(events) < limit && scanned < merchantScanMax {
		batch, _ := e.stream.Read(next, min(1024, merchantScanMax-scanned))
		if len(batch) == 0 {
			return events, next, true
		}
		for _, ev := range batch {
			next = ev.Offset + 1
			scanned++
			if MerchantVisible(ev.Order.State) && slices.Contains(orderMerchants(ev.Order), merchant) {
				events = append(events, ev)
				if len(events) == limit {
					break
				}
			}
		}
	}
	return events, next, next >= e.stream.Len()
}
