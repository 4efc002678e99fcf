// Package hgsale runs the flash sale on huigong: the shard runtime with the real file journal
// (group commit, fdatasync before any answer) in a temporary directory, the welfare machines,
// and mall.Engine's checkout, in-process (InProcess) or through the Fiber API over loopback
// HTTP (HTTP). After the sale it closes the runtime, opens the journal again and recovers the
// shards from it, and reads the orders and stock of the recovered state: that is the durable
// store the verification is made against.
package hgsale

import (
	"context"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"huigong/bench/workload"
	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

// ShardsDefault is the number of shards, as engine/shard's BenchmarkFlashSale runs it.
const ShardsDefault = 16

// The sale's fixed names on the engine: the officers of every union, the merchant and the
// category of the SKUs.
const (
	officer  welfare.OfficerID  = 7
	approver welfare.OfficerID  = 8
	merchant welfare.MerchantID = 3
	category                    = "food"
)

// PickupPoint is the Workers e-Home where every member collects the goods.
const PickupPoint welfare.PickupPointID = 1

// saleDay is when the sale runs on the engine's clock: 10:00 on 10 February 2026, inside the
// points program's window (1 February to 1 March).
var (
	saleStart   = welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 10)) + 10*3600*1e9
	programFrom = welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 1))
	programTo   = welfare.DayStartNanos(welfare.DaysFromCivil(2026, 3, 1))
)

// Node is one huigong process's engine: the journal in Dir, the runtime and mall.Engine.
type Node struct {
	Dir     string
	Shards  int
	Engine  *mall.Engine
	Runtime *mall.Runtime

	fsyncs   atomic.Int64
	fsyncMu  sync.Mutex
	fsyncDur []time.Duration
}

// Open opens (or recovers) a node from the journal in dir. The engine's clock runs from the
// sale's start.
func Open(dir string, shards int) (*Node, error) {
	n := &Node{Dir: dir, Shards: shards}
	j, err := journal.Open(dir, journal.Options{GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20,
		FsyncLatency: n.onFsync})
	if err != nil {
		return nil, err
	}
	n.Engine = mall.NewEngine(shards, mall.NewStream())
	t0 := time.Now()
	rt, err := runtime.Open(runtime.Options{ShardsCount: shards, Journal: j, OnNotes: n.Engine.OnNotes,
		Clock: func() int64 { return saleStart + int64(time.Since(t0)) }}, shard.Factory(shards))
	if err != nil {
		j.Close()
		return nil, err
	}
	n.Engine.Attach(rt)
	n.Runtime = rt
	return n, nil
}

func (n *Node) onFsync(d time.Duration) {
	n.fsyncs.Add(1)
	n.fsyncMu.Lock()
	if len(n.fsyncDur) < 1_000_000 {
		n.fsyncDur = append(n.fsyncDur, d)
	}
	n.fsyncMu.Unlock()
}

// Fsyncs is the number of data fsyncs the journal made since Open, and their median.
func (n *Node) Fsyncs() (int64, time.Duration) {
	n.fsyncMu.Lock()
	defer n.fsyncMu.Unlock()
	if len(n.fsyncDur) == 0 {
		return 0, 0
	}
	d := append([]time.Duration(nil), n.fsyncDur...)
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return n.fsyncs.Load(), d[len(d)/2]
}

// ResetFsyncs forgets the fsyncs counted so far (those of the setup).
func (n *Node) ResetFsyncs() {
	n.fsyncMu.Lock()
	n.fsyncDur = n.fsyncDur[:0]
	n.fsyncs.Store(0)
	n.fsyncMu.Unlock()
}

// Close closes the runtime and its journal.
func (n *Node) Close() error {
	if n.Runtime == nil {
		return nil
	}
	err := n.Runtime.Close()
	n.Runtime = nil
	return err
}

// Member, union, SKU and order ids of the sale on the engine.
func MemberID(m int) welfare.MemberID { return welfare.MemberID(workload.MemberID(m)) }
func UnionID(m int) welfare.UnionID   { return welfare.UnionID(workload.UnionID(m)) }
func SKUID(k int) stock.SKUID         { return stock.SKUID(workload.SKUID(k)) }
func OrderID(m int) welfare.OrderID   { return welfare.OrderID(workload.OrderID(m)) }

// Load sets the sale up: the unions, funded, each with a points program approved and issued to
// its members, the members on the register, and the SKUs with their stock and limit of one per
// member. It is not timed.
func (n *Node) Load(cfg workload.Config) error {
	e := n.Engine
	submit := func(s uint32, cmds []shard.Command) error {
		results := make([]shard.Result, len(cmds))
		if err := n.Runtime.SubmitBatch(s, cmds, results); err != nil {
			return err
		}
		for i, r := range results {
			if r.Code != welfare.OK {
				return fmt.Errorf("hgsale: setup command %d: %v %+v", cmds[i].Kind, r.Code, r)
			}
		}
		return nil
	}
	if err := submit(mall.DirectoryShard, []shard.Command{
		{Kind: welfare.SetMerchant, Merchant: welfare.Merchant{ID: merchant, Name: "Hui'an Festival Foods", Approved: true}},
		{Kind: welfare.SetPickupPoint, PickupPoint: welfare.PickupPoint{ID: PickupPoint, Name: "Workers e-Home, county hall"}},
	}); err != nil {
		return err
	}
	perUnion := make([]int64, workload.UnionsCount+1)
	for m := 0; m < cfg.Members; m++ {
		perUnion[UnionID(m)]++
	}
	for u := 1; u <= workload.UnionsCount; u++ {
		id := welfare.UnionID(u)
		p := welfare.ProgramID(u)
		if err := submit(e.UnionShard(id), []shard.Command{
			{Kind: welfare.CreateUnion, Union: welfare.Union{ID: id, Officers: []welfare.OfficerID{officer, approver}}},
			{Kind: welfare.FundUnion, UnionID: id, TransferID: ledger.TransferID(1_000 + u), AmountFen: (perUnion[u] + 1) * cfg.PointsFen},
			{Kind: welfare.CreateProgram, Officer: officer, Program: welfare.Program{ID: p, UnionID: id, Name: "Spring Festival",
				Category: welfare.CategoryGeneral, AmountPerMemberFen: cfg.PointsFen, FromNanos: programFrom, ToNanos: programTo}},
			{Kind: welfare.ApproveProgram, ProgramID: p, Officer: approver},
		}); err != nil {
			return err
		}
	}
	byShard := map[uint32][]shard.Command{}
	for m := 0; m < cfg.Members; m++ {
		s := e.UnionShard(UnionID(m))
		byShard[s] = append(byShard[s], shard.Command{Kind: welfare.RegisterMember, MemberID: MemberID(m), UnionID: UnionID(m), Registered: true, DuesPaid: true})
	}
	for s, cmds := range byShard {
		for len(cmds) > 0 {
			k := min(len(cmds), 8000)
			if err := submit(s, cmds[:k]); err != nil {
				return err
			}
			cmds = cmds[k:]
		}
	}
	for u := 1; u <= workload.UnionsCount; u++ {
		if perUnion[u] == 0 {
			continue
		}
		if err := submit(e.UnionShard(welfare.UnionID(u)), []shard.Command{{Kind: welfare.Issue, ProgramID: welfare.ProgramID(u), Officer: officer}}); err != nil {
			return err
		}
	}
	for k := 0; k < cfg.SKUs; k++ {
		if err := submit(e.SKUShard(SKUID(k)), []shard.Command{
			{Kind: welfare.SetSKU, SKU: stock.SKU{ID: SKUID(k), Name: fmt.Sprintf("Festival gift box %d", k+1), MerchantID: uint64(merchant),
				Category: category, PriceFen: cfg.PriceFen, Listed: true, LimitPerMember: 1}},
			{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: SKUID(k)}, Quantity: cfg.Units},
		}); err != nil {
			return err
		}
	}
	return nil
}

// Request is member m's order: one unit of its SKU.
func Request(cfg workload.Config, m int) *welfare.OrderRequest {
	return &welfare.OrderRequest{ID: OrderID(m), PickupPointID: PickupPoint, Lines: []welfare.OrderLine{{SKU: SKUID(cfg.SKUOf(m)), Quantity: 1,
		UnitPriceFen: cfg.PriceFen, MerchantID: merchant, Category: category}}}
}

// OutcomeOf maps a checkout's outcome to the workload's.
func OutcomeOf(o mall.Outcome) workload.Outcome {
	switch {
	case o.State == welfare.OrderPlaced:
		return workload.Placed
	case o.State == welfare.OrderRefused && o.Code == welfare.SoldOut:
		return workload.SoldOut
	case o.State == welfare.OrderRefused:
		return workload.Refused
	}
	return workload.Failed
}

// Recover closes the node, opens its journal again in a new node and reads the recovered
// orders and stock: every acknowledged order must be there, placed, and the committed units
// must not pass the stock.
func (n *Node) Recover(cfg workload.Config, outcomes []workload.Outcome) (workload.Verification, error) {
	var v workload.Verification
	if err := n.Close(); err != nil {
		return v, fmt.Errorf("hgsale: close: %w", err)
	}
	r, err := Open(n.Dir, n.Shards)
	if err != nil {
		return v, fmt.Errorf("hgsale: recover: %w", err)
	}
	defer r.Close()
	placed := make([]bool, cfg.Members)
	inOrders := make([]int64, cfg.SKUs)
	committed := make([]int64, cfg.SKUs)
	for s := 0; s < n.Shards; s++ {
		err := r.Engine.Read(uint32(s), func(st *welfare.State) {
			for _, o := range st.Orders() {
				m := int(int64(o.MemberID) - workload.MemberID(0))
				if m < 0 || m >= cfg.Members || o.State != welfare.OrderPlaced {
					continue
				}
				placed[m] = true
				for _, l := range o.Lines {
					if k := int(int64(l.SKU) - workload.SKUID(0)); k >= 0 && k < cfg.SKUs {
						inOrders[k] += l.Quantity
					}
				}
			}
			for k := 0; k < cfg.SKUs; k++ {
				if sk, ok := st.Stock().SKU(SKUID(k)); ok {
					committed[k] += sk.Units.Committed()
					if sk.Units.Reserved != 0 {
						v.Notes = append(v.Notes, fmt.Sprintf("SKU %d: %d units still reserved", sk.ID, sk.Units.Reserved))
					}
				}
			}
		})
		if err != nil {
			return v, err
		}
	}
	for m, o := range outcomes {
		if o == workload.Placed && !placed[m] {
			v.Lost++
		}
		if o != workload.Placed && placed[m] {
			v.Notes = append(v.Notes, fmt.Sprintf("member %d was told %v but has a placed order", MemberID(m), o))
		}
	}
	worst := make([]int64, cfg.SKUs)
	for k := range committed {
		v.Committed += inOrders[k]
		worst[k] = max(committed[k], inOrders[k])
		if committed[k] != inOrders[k] {
			v.Notes = append(v.Notes, fmt.Sprintf("SKU %d: %d units committed, placed orders hold %d", SKUID(k), committed[k], inOrders[k]))
		}
	}
	v.Oversold = workload.OversoldOf(worst, cfg.Units)
	if len(v.Notes) > 10 {
		v.Notes = append(v.Notes[:10], fmt.Sprintf("and %d more", len(v.Notes)-10))
	}
	return v, nil
}

// InProcess drives mall.Engine.Checkout from the clients' goroutines: each attempt waits until
// its order is placed or refused, which is after the journal made the decision durable.
type InProcess struct {
	// Dir is where the journal's temporary directory is made (default os.TempDir()); Shards the
	// number of shards (default ShardsDefault).
	Dir    string
	Shards int

	cfg  workload.Config
	tmp  string
	node *Node
}

// Name is the design's name in the comparison.
func (d *InProcess) Name() string { return "huigong-inprocess" }

// Setup opens a node on a new journal and loads the sale.
func (d *InProcess) Setup(ctx context.Context, cfg workload.Config) error {
	var err error
	d.cfg = cfg
	if d.Shards == 0 {
		d.Shards = ShardsDefault
	}
	if d.tmp, err = os.MkdirTemp(d.Dir, "huigong-journal-"); err != nil {
		return err
	}
	if d.node, err = Open(d.tmp, d.Shards); err != nil {
		return err
	}
	if err := d.node.Load(cfg); err != nil {
		return err
	}
	d.node.ResetFsyncs()
	return nil
}

// Node is the engine, once set up.
func (d *InProcess) Node() *Node { return d.node }

// Attempt is one checkout.
func (d *InProcess) Attempt(ctx context.Context, _ int, m int) (workload.Outcome, error) {
	o, err := d.node.Engine.Checkout(ctx, MemberID(m), UnionID(m), Request(d.cfg, m))
	if err != nil {
		if ctx.Err() != nil {
			return workload.NotTried, err
		}
		return workload.Failed, err
	}
	return OutcomeOf(o), nil
}

// Verify recovers the engine from its journal and checks the recovered state.
func (d *InProcess) Verify(ctx context.Context, cfg workload.Config, outcomes []workload.Outcome) (workload.Verification, error) {
	count, median := d.node.Fsyncs()
	v, err := d.node.Recover(cfg, outcomes)
	v.Notes = append(v.Notes, fmt.Sprintf("journal: %d fdatasyncs during the sale (median %.2f ms); checked after recovery from the journal", count, float64(median)/1e6))
	return v, err
}

// Close closes the engine and removes the journal.
func (d *InProcess) Close() error {
	var err error
	if d.node != nil {
		err = d.node.Close()
	}
	if d.tmp != "" {
		os.RemoveAll(d.tmp)
	}
	return err
}
