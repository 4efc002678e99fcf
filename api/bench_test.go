package api_test

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"huigong/api"
	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/engine/stock"
	"huigong/engine/welfare"
	"huigong/mall"
)

// BenchmarkHTTPOrder places orders through the whole HTTP stack in process: the Fiber app's
// fasthttp handler with a request context per goroutine (what a server connection runs, minus
// the socket), the bearer token, strict decoding, the Idempotency-Key, the rate limiter, the
// catalog, and the checkout that waits until the order's saga is decided and journaled with
// fdatasync. Many members of many unions order one unit of one of many SKUs, each request
// with a new key; every answer must be 201 placed.
const (
	benchShards          = 16
	benchUnions          = 100
	benchMembersPerUnion = 100
	benchSKUs            = 100
	benchPoint           = 1
	// benchPointsFen is each member's points: enough for every order a run can place.
	benchPointsFen = 10_000_000_00
	benchPriceFen  = 1_00
	// benchParallelism is in-flight requests per CPU: a checkout waits for three journal
	// writes, so many must be in flight for group commit to fill its batches.
	benchParallelism = 256
)

type benchRig struct {
	server *api.Server
	tokens []string // per member, index i is member benchMember(i)
	bodies [][]byte // per SKU
}

func benchMember(i int) welfare.MemberID { return welfare.MemberID(1_000_000 + i) }
func benchUnion(i int) welfare.UnionID   { return welfare.UnionID(1 + i/benchMembersPerUnion) }

func newBenchRig(b *testing.B) *benchRig {
	b.Helper()
	clock := func() time.Time {
		return time.Unix(0, welfare.DayStartNanos(welfare.DaysFromCivil(2026, 2, 10))+10*3600*1e9).Add(time.Since(benchStart))
	}
	engine := mall.NewEngine(benchShards, mall.NewStream())
	j, err := journal.Open(b.TempDir(), journal.Options{GroupBytesMax: 64 << 20, RecordPayloadBytesMax: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	rt, err := runtime.Open(runtime.Options{ShardsCount: benchShards, Journal: j, OnNotes: engine.OnNotes,
		Clock: func() int64 { return clock().UnixNano() }}, shard.Factory(benchShards))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close() })
	engine.Attach(rt)
	submit := func(s uint32, cmds ...shard.Command) {
		results := make([]shard.Result, len(cmds))
		if err := rt.SubmitBatch(s, cmds, results); err != nil {
			b.Fatal(err)
		}
		for i, r := range results {
			if r.Code != welfare.OK {
				b.Fatalf("setup command %d: %v %+v", cmds[i].Kind, r.Code, r)
			}
		}
	}
	// Issuance this large needs no second officer here.
	cfg := welfare.DefaultConfig()
	cfg.Version = 2
	cfg.ApprovalThresholdFen = 1 << 60
	submit(mall.DirectoryShard, shard.Command{Kind: welfare.SetConfig, Config: &cfg},
		shard.Command{Kind: welfare.SetPickupPoint, PickupPoint: welfare.PickupPoint{ID: benchPoint, Name: "e-Home"}})
	for s := 0; s < benchShards; s++ {
		for deadline := time.Now().Add(10 * time.Second); ; {
			v := uint64(0)
			_ = engine.Read(uint32(s), func(st *welfare.State) { v = st.Config().Version })
			if v == cfg.Version {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("shard %d never got the configuration", s)
			}
			time.Sleep(time.Millisecond)
		}
	}
	day := func(m, d int) int64 { return welfare.DayStartNanos(welfare.DaysFromCivil(2026, m, d)) }
	for u := 1; u <= benchUnions; u++ {
		union := welfare.UnionID(u)
		cmds := []shard.Command{
			{Kind: welfare.CreateUnion, Union: welfare.Union{ID: union, Officers: []welfare.OfficerID{7}}},
			{Kind: welfare.FundUnion, UnionID: union, TransferID: ledger.TransferID(u), AmountFen: benchMembersPerUnion * benchPointsFen},
		}
		for i := (u - 1) * benchMembersPerUnion; i < u*benchMembersPerUnion; i++ {
			cmds = append(cmds, shard.Command{Kind: welfare.RegisterMember, MemberID: benchMember(i), UnionID: union, Registered: true, DuesPaid: true})
		}
		// A general program has no yearly cap.
		cmds = append(cmds,
			shard.Command{Kind: welfare.CreateProgram, Officer: 7, Program: welfare.Program{ID: welfare.ProgramID(u), UnionID: union,
				Category: welfare.CategoryGeneral, AmountPerMemberFen: benchPointsFen, FromNanos: day(1, 1), ToNanos: day(12, 1)}},
			shard.Command{Kind: welfare.Issue, ProgramID: welfare.ProgramID(u), Officer: 7})
		submit(engine.UnionShard(union), cmds...)
	}
	rig := &benchRig{}
	for k := 0; k < benchSKUs; k++ {
		id := stock.SKUID(10_000 + k)
		submit(engine.SKUShard(id),
			shard.Command{Kind: welfare.SetSKU, SKU: stock.SKU{ID: id, Name: fmt.Sprintf("SKU %d", id), MerchantID: uint64(1 + k%20),
				Category: "food", PriceFen: benchPriceFen, Listed: true}},
			shard.Command{Kind: welfare.ReceiveStock, SKU: stock.SKU{ID: id}, Quantity: 1 << 40})
		rig.bodies = append(rig.bodies, fmt.Appendf(nil, `{"pickup_point_id":%d,"cash":"0.00","lines":[{"sku_id":%d,"quantity":1}]}`, benchPoint, id))
	}

	pub, priv, _ := ed25519.GenerateKey(nil)
	issuer := api.NewIssuer("bench", priv)
	verifier := api.NewVerifier(map[string]ed25519.PublicKey{"bench": pub}, nil, clock)
	for i := 0; i < benchUnions*benchMembersPerUnion; i++ {
		tok, err := issuer.Sign(api.Claims{Role: api.RoleMember, Union: uint64(benchUnion(i)), RegisteredClaims: jwtSubject(uint64(benchMember(i)))}, clock(), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		// Verified once here, as a running server would have them cached already.
		if _, err := verifier.Verify(tok); err != nil {
			b.Fatal(err)
		}
		rig.tokens = append(rig.tokens, "Bearer "+tok)
	}
	codes, _ := mall.NewPickupCodes(make([]byte, 32))
	// The per-member limit is raised: this measures the stack, not the limiter.
	rig.server = api.New(api.Deps{Engine: engine, Codes: codes, Tokens: verifier, Merchants: api.StaticMerchantKeys{},
		Now: clock, OrdersPerMemberPerSecond: 1 << 30})
	return rig
}

// benchStart anchors the benchmark's clock: wall time passes from 2026-02-10 10:00.
var benchStart = time.Now()

func BenchmarkHTTPOrder(b *testing.B) {
	rig := newBenchRig(b)
	handler := rig.server.App().Handler()
	var next atomic.Uint64
	var failed atomic.Int64
	members := uint64(len(rig.tokens))
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := &fasthttp.RequestCtx{}
		key := make([]byte, 0, 24)
		for pb.Next() {
			n := next.Add(1)
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.Header.SetMethod(http.MethodPost)
			ctx.Request.SetRequestURI("/api/v1/orders")
			ctx.Request.Header.SetContentType("application/json")
			ctx.Request.Header.Set("Authorization", rig.tokens[n%members])
			key = strconv.AppendUint(key[:0], n, 10)
			ctx.Request.Header.SetBytesV("Idempotency-Key", key)
			ctx.Request.SetBody(rig.bodies[(n/members)%uint64(len(rig.bodies))])
			handler(ctx)
			if ctx.Response.StatusCode() != http.StatusCreated && failed.Add(1) == 1 {
				b.Errorf("order %d: %d %s", n, ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d orders not placed", f, b.N)
	}
}
