// Package redislua is the Redis + Lua flash sale: a Lua script, run with EVALSHA, checks the
// per-member limit, checks and decrements the SKU's stock and the member's points, and appends
// the order to a Redis stream, all in one atomic step; the member is answered at once, and
// workers in a consumer group write the orders to PostgreSQL in batches.
//
// Where it comes from: the standard "seckill" architecture of e-commerce flash sales (stock
// preloaded into Redis, an atomic Lua check-and-decrement, orders queued to the database
// asynchronously). It is written here the careful way: the queue send is inside the script, so
// the decrement and the send cannot be separated (a known cause of lost orders when the send
// follows the script); the limit set, the stock and the points are under one hash tag ({flash}),
// so the script is valid on Redis Cluster as well; the worker's insert is idempotent (the
// order's primary key) and acknowledges a batch only once PostgreSQL committed it.
//
// What it does not have: durability of the answer. Redis runs without persistence here (as
// FIELD-NOTES measured it); an order acknowledged to the member exists only in Redis memory
// until the worker commits it to PostgreSQL. "lost" counts acknowledged orders missing from
// PostgreSQL once the workers have drained the stream (bounded wait).
package redislua

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"huigong/bench/schema"
	"huigong/bench/workload"
)

// The script's keys, under one hash tag.
const (
	keyPoints = "{flash}:points" // hash: member id -> points in fen
	keyStream = "{flash}:orders" // stream of orders for the workers
	group     = "writers"
)

func keySKU(id int64) string    { return "{flash}:sku:" + strconv.FormatInt(id, 10) }    // hash: available, price_fen
func keyBuyers(id int64) string { return "{flash}:buyers:" + strconv.FormatInt(id, 10) } // set of member ids

// placeOrder answers 1 placed, 0 sold out, 2 limit reached, 3 not enough points.
var placeOrder = redis.NewScript(`
-- KEYS: SKU hash, buyers set, points hash, orders stream. ARGV: member id, order id, SKU id.
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 2 end
local sku = redis.call('HMGET', KEYS[1], 'available', 'price_fen')
local available, price = tonumber(sku[1]), tonumber(sku[2])
if available == nil or available <= 0 then return 0 end
local points = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if points < price then return 3 end
redis.call('HINCRBY', KEYS[1], 'available', -1)
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], ARGV[1], -price)
redis.call('XADD', KEYS[4], '*', 'order', ARGV[2], 'member', ARGV[1], 'sku', ARGV[3], 'amount', price)
return 1
`)

// lockSKUs locks a batch's SKU rows in a fixed order, before writeBatch updates them.
const lockSKUs = `SELECT sku FROM skus WHERE sku = ANY($1::BIGINT[]) ORDER BY sku FOR UPDATE`

// writeBatch inserts a batch of orders (idempotent by the primary key) and applies them to the
// members' balances and the stock in PostgreSQL, in one statement.
const writeBatch = `
WITH o AS (
    SELECT * FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[]) AS t (order_id, member_id, sku, amount_fen)
), ins AS (
    INSERT INTO orders (member_id, sku, order_id, quantity, amount_fen)
    SELECT member_id, sku, order_id, 1, amount_fen FROM o
    ON CONFLICT DO NOTHING
    RETURNING member_id, sku, amount_fen
), pay AS (
    UPDATE members AS m SET balance_fen = m.balance_fen - p.amount
    FROM (SELECT member_id, sum(amount_fen) AS amount FROM ins GROUP BY member_id) AS p
    WHERE m.member_id = p.member_id
    RETURNING m.member_id
)
UPDATE skus AS s SET available = s.available - c.n
FROM (SELECT sku, count(*) AS n FROM ins GROUP BY sku) AS c
WHERE s.sku = c.sku`

// Design is the Redis + Lua design against a Redis server at RedisAddr and PostgreSQL at PGURL.
type Design struct {
	RedisAddr string
	PGURL     string
	// Workers is the number of stream consumers writing to PostgreSQL (default 2); BatchMax the
	// orders each reads at a time (default 1,000); DrainTimeout bounds the wait for the workers
	// after the sale (default 60 s).
	Workers      int
	BatchMax     int
	DrainTimeout time.Duration

	cfg     workload.Config
	rdb     *redis.Client
	pool    *pgxpool.Pool
	stop    context.CancelFunc
	wg      sync.WaitGroup
	written atomic.Int64
	retries atomic.Int64
	errMu   sync.Mutex
	lastErr error
}

// Name is the design's name in the comparison.
func (d *Design) Name() string { return "redis-lua" }

// Setup loads the sale into PostgreSQL and Redis and starts the workers.
func (d *Design) Setup(ctx context.Context, cfg workload.Config) error {
	d.cfg = cfg
	if d.Workers == 0 {
		d.Workers = 2
	}
	if d.BatchMax == 0 {
		d.BatchMax = 1000
	}
	if d.DrainTimeout == 0 {
		d.DrainTimeout = 60 * time.Second
	}
	pc, err := pgxpool.ParseConfig(d.PGURL)
	if err != nil {
		return err
	}
	pc.MaxConns = int32(d.Workers + 2)
	if d.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return err
	}
	if err := schema.Load(ctx, d.pool, cfg); err != nil {
		return err
	}
	d.rdb = redis.NewClient(&redis.Options{Addr: d.RedisAddr, PoolSize: cfg.Clients + d.Workers + 2, MinIdleConns: cfg.Clients})
	if err := d.rdb.FlushAll(ctx).Err(); err != nil {
		return err
	}
	pipe := d.rdb.Pipeline()
	for k := 0; k < cfg.SKUs; k++ {
		pipe.HSet(ctx, keySKU(schema.SKUID(k)), "available", cfg.Units, "price_fen", cfg.PriceFen)
	}
	for m := 0; m < cfg.Members; m++ {
		pipe.HSet(ctx, keyPoints, strconv.FormatInt(schema.MemberID(m), 10), cfg.PointsFen)
		if pipe.Len() >= 1000 {
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return err
	}
	if err := d.rdb.XGroupCreateMkStream(ctx, keyStream, group, "$").Err(); err != nil {
		return err
	}
	if err := placeOrder.Load(ctx, d.rdb).Err(); err != nil {
		return err
	}
	// Open the client's connections before the clock starts.
	var wg sync.WaitGroup
	for range cfg.Clients {
		wg.Add(1)
		go func() { defer wg.Done(); d.rdb.Ping(ctx) }()
	}
	wg.Wait()
	wctx, cancel := context.WithCancel(context.Background())
	d.stop = cancel
	for w := 0; w < d.Workers; w++ {
		d.wg.Add(1)
		go d.worker(wctx, "w"+strconv.Itoa(w))
	}
	return nil
}

// Attempt runs the script once (EVALSHA; Run falls back to EVAL only if Redis lost the script).
func (d *Design) Attempt(ctx context.Context, _ int, m int) (workload.Outcome, error) {
	sku, member := schema.SKUID(d.cfg.SKUOf(m)), schema.MemberID(m)
	r, err := placeOrder.Run(ctx, d.rdb, []string{keySKU(sku), keyBuyers(sku), keyPoints, keyStream},
		member, schema.OrderID(m), sku).Int()
	if err != nil {
		if ctx.Err() != nil {
			return workload.NotTried, err
		}
		return workload.Failed, fmt.Errorf("redis-lua: %w", err)
	}
	switch r {
	case 1:
		return workload.Placed, nil
	case 0:
		return workload.SoldOut, nil
	case 2, 3:
		return workload.Refused, nil
	}
	return workload.Failed, fmt.Errorf("redis-lua: script answered %d", r)
}

// worker reads orders from the stream in batches and writes each batch to PostgreSQL, then
// acknowledges it; a batch that fails is retried.
func (d *Design) worker(ctx context.Context, name string) {
	defer d.wg.Done()
	for ctx.Err() == nil {
		res, err := d.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: name, Streams: []string{keyStream, ">"},
			Count: int64(d.BatchMax), Block: 100 * time.Millisecond}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			d.setErr(err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for _, s := range res {
			if len(s.Messages) == 0 {
				continue
			}
			var orders, members, skus, amounts []int64
			ids := make([]string, 0, len(s.Messages))
			for _, msg := range s.Messages {
				ids = append(ids, msg.ID)
				orders = append(orders, field(msg, "order"))
				members = append(members, field(msg, "member"))
				skus = append(skus, field(msg, "sku"))
				amounts = append(amounts, field(msg, "amount"))
			}
			for {
				err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
					// Lock the batch's SKU rows in SKU order first: workers then queue on them
					// instead of deadlocking in whatever order the UPDATE's join visits them.
					if _, err := tx.Exec(ctx, lockSKUs, skus); err != nil {
						return err
					}
					_, err := tx.Exec(ctx, writeBatch, orders, members, skus, amounts)
					return err
				})
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					return
				}
				d.setErr(err)
				d.retries.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
			if err := d.rdb.XAck(ctx, keyStream, group, ids...).Err(); err != nil {
				d.setErr(err)
			}
			d.written.Add(int64(len(ids)))
		}
	}
}

func field(msg redis.XMessage, name string) int64 {
	s, _ := msg.Values[name].(string)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func (d *Design) setErr(err error) {
	d.errMu.Lock()
	d.lastErr = err
	d.errMu.Unlock()
}

// Drain waits until the workers have read and acknowledged every order in the stream, or the
// drain timeout passed, and returns how long it waited.
func (d *Design) Drain(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(d.DrainTimeout)
	for {
		groups, err := d.rdb.XInfoGroups(ctx, keyStream).Result()
		if err != nil {
			return time.Since(start), err
		}
		done := false
		for _, g := range groups {
			if g.Name == group {
				done = g.Pending == 0 && g.Lag == 0
			}
		}
		if done {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return time.Since(start), fmt.Errorf("redis-lua: the workers did not drain the stream within %v", d.DrainTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Verify waits for the workers to drain the stream, then reads PostgreSQL and Redis back.
func (d *Design) Verify(ctx context.Context, cfg workload.Config, outcomes []workload.Outcome) (workload.Verification, error) {
	waited, drainErr := d.Drain(ctx)
	v, err := schema.Check(ctx, d.pool, cfg, outcomes)
	if err != nil {
		return v, err
	}
	v.Notes = append(v.Notes, fmt.Sprintf("the workers wrote the last order to PostgreSQL %.2f s after the last answer (%d orders written, %d batch retries)",
		waited.Seconds(), d.written.Load(), d.retries.Load()))
	if drainErr != nil {
		v.Notes = append(v.Notes, drainErr.Error())
	}
	d.errMu.Lock()
	if d.lastErr != nil {
		v.Notes = append(v.Notes, "last worker error: "+d.lastErr.Error())
	}
	d.errMu.Unlock()
	// Redis's own view: what the script took from the stock.
	var redisCommitted []int64
	for k := 0; k < cfg.SKUs; k++ {
		avail, err := d.rdb.HGet(ctx, keySKU(schema.SKUID(k)), "available").Int64()
		if err != nil {
			return v, err
		}
		redisCommitted = append(redisCommitted, cfg.Units-avail)
	}
	if o := workload.OversoldOf(redisCommitted, cfg.Units); o > v.Oversold {
		v.Oversold = o
	}
	return v, nil
}

// Close stops the workers and closes the clients.
func (d *Design) Close() error {
	if d.stop != nil {
		d.stop()
		d.wg.Wait()
	}
	if d.rdb != nil {
		d.rdb.Close()
	}
	if d.pool != nil {
		d.pool.Close()
	}
	return nil
}
