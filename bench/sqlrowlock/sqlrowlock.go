// Package sqlrowlock is the SQL row-lock flash sale that a typical union mall is built on: one
// database transaction per order, with a conditional UPDATE of the SKU's stock row, a
// conditional UPDATE of the member's points balance and an INSERT of the order, whose primary
// key (member, SKU) is the per-member limit. The transaction runs in cockroach-go's ExecuteTx
// retry loop (SAVEPOINT cockroach_restart, retried on serialization failures), the way the
// CockroachDB documentation tells an application to write transactions, so the same code runs
// against CockroachDB; here it runs against PostgreSQL with its default durability (read
// committed, fsync and synchronous commit on).
//
// Where it comes from: the "deduct stock in the database" flash-sale design of countless
// e-commerce tutorials and open-source malls (UPDATE ... SET stock = stock - 1 WHERE id = ? AND
// stock > 0, then create the order, in one transaction). It cannot oversell: the row lock on
// the SKU serialises the decrements and the condition is re-checked on the locked row. Its
// throughput is bounded by how long each transaction holds that one hot row's lock: from its
// UPDATE to the commit's fsync.
//
// The stock is updated first, as such designs do: an attempt on a sold-out SKU then ends after
// one statement. Updating the hot row last instead (member and order first) shortens the lock
// but makes each of the many sold-out attempts run three statements before it rolls back; on
// this machine that was slower overall (20,000 members for 2,000 units, 64 clients: 790-890
// attempts/s against 960-1,280, the machine busy with other work).
package sqlrowlock

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/cockroach-go/v2/crdb/crdbpgxv5"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"huigong/bench/schema"
	"huigong/bench/workload"
)

// Design is the SQL row-lock design against a database at URL.
type Design struct {
	URL  string
	cfg  workload.Config
	pool *pgxpool.Pool
}

// Name is the design's name in the comparison.
func (d *Design) Name() string { return "sql-rowlock" }

// Setup connects with one connection per client and loads the sale.
func (d *Design) Setup(ctx context.Context, cfg workload.Config) error {
	d.cfg = cfg
	pc, err := pgxpool.ParseConfig(d.URL)
	if err != nil {
		return err
	}
	pc.MaxConns = int32(cfg.Clients)
	pc.MinConns = int32(cfg.Clients)
	if d.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return err
	}
	if err := schema.Load(ctx, d.pool, cfg); err != nil {
		return err
	}
	// Open every connection before the clock starts.
	conns := make([]*pgxpool.Conn, 0, cfg.Clients)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range cfg.Clients {
		c, err := d.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	return nil
}

// Refusals end the transaction without an error of the database: it is rolled back.
var (
	errSoldOut      = errors.New("sold out")
	errNoPoints     = errors.New("not enough points")
	errLimitReached = errors.New("limit reached")
)

// Attempt is one order: one transaction.
func (d *Design) Attempt(ctx context.Context, _ int, m int) (workload.Outcome, error) {
	sku, member := schema.SKUID(d.cfg.SKUOf(m)), schema.MemberID(m)
	err := crdbpgx.ExecuteTx(ctx, d.pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		var price int64
		err := tx.QueryRow(ctx, `UPDATE skus SET available = available - 1 WHERE sku = $1 AND available > 0 RETURNING price_fen`, sku).Scan(&price)
		if errors.Is(err, pgx.ErrNoRows) {
			return errSoldOut
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE members SET balance_fen = balance_fen - $2 WHERE member_id = $1 AND balance_fen >= $2`, member, price)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errNoPoints
		}
		_, err = tx.Exec(ctx, `INSERT INTO orders (member_id, sku, order_id, quantity, amount_fen) VALUES ($1, $2, $3, 1, $4)`,
			member, sku, schema.OrderID(m), price)
		return limitErr(err)
	})
	switch {
	case err == nil:
		return workload.Placed, nil
	case errors.Is(err, errSoldOut):
		return workload.SoldOut, nil
	case errors.Is(err, errNoPoints), errors.Is(err, errLimitReached):
		return workload.Refused, nil
	case ctx.Err() != nil:
		return workload.NotTried, err
	}
	return workload.Failed, fmt.Errorf("sql-rowlock: %w", err)
}

func limitErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return errLimitReached
	}
	return err
}

// Verify reads the orders and the stock back.
func (d *Design) Verify(ctx context.Context, cfg workload.Config, outcomes []workload.Outcome) (workload.Verification, error) {
	return schema.Check(ctx, d.pool, cfg, outcomes)
}

// Close closes the pool.
func (d *Design) Close() error {
	if d.pool != nil {
		d.pool.Close()
	}
	return nil
}
