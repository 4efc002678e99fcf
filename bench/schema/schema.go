// Package schema holds the SQL tables of bench/'s baselines, and loads the sale into them.
package schema

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"huigong/bench/workload"
)

// FlashSale is the DDL of flashsale.sql.
//
//go:embed flashsale.sql
var FlashSale string

// The ids of the sale, as every design numbers them.
var (
	SKUID    = workload.SKUID
	MemberID = workload.MemberID
	OrderID  = workload.OrderID
	UnionID  = workload.UnionID
)

// Load creates the tables, replacing any of an earlier sale, and fills them with the sale's
// SKUs and members.
func Load(ctx context.Context, pool *pgxpool.Pool, cfg workload.Config) error {
	if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS orders, members, skus"); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if _, err := pool.Exec(ctx, FlashSale); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	rows := make([][]any, 0, cfg.SKUs)
	for k := 0; k < cfg.SKUs; k++ {
		rows = append(rows, []any{SKUID(k), cfg.PriceFen, cfg.Units, cfg.Units})
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"skus"}, []string{"sku", "price_fen", "units", "available"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("schema: skus: %w", err)
	}
	m := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if m == cfg.Members {
			return nil, nil
		}
		m++
		return []any{MemberID(m - 1), UnionID(m - 1), cfg.PointsFen}, nil
	})
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"members"}, []string{"member_id", "union_id", "balance_fen"}, src); err != nil {
		return fmt.Errorf("schema: members: %w", err)
	}
	_, err := pool.Exec(ctx, "ANALYZE skus; ANALYZE members")
	return err
}

// Check reads the orders and stock after a sale and compares them with what the members were
// told: oversold units, acknowledged orders missing, and counters that disagree.
func Check(ctx context.Context, pool *pgxpool.Pool, cfg workload.Config, outcomes []workload.Outcome) (workload.Verification, error) {
	var v workload.Verification
	committed := make([]int64, cfg.SKUs)
	available := make([]int64, cfg.SKUs)
	rows, err := pool.Query(ctx, "SELECT sku, available FROM skus")
	if err != nil {
		return v, err
	}
	for rows.Next() {
		var sku, avail int64
		if err := rows.Scan(&sku, &avail); err != nil {
			return v, err
		}
		if k := int(sku - SKUID(0)); k >= 0 && k < cfg.SKUs {
			available[k] = avail
		}
	}
	if err := rows.Err(); err != nil {
		return v, err
	}
	have := make([]bool, cfg.Members)
	rows, err = pool.Query(ctx, "SELECT member_id, sku, quantity FROM orders")
	if err != nil {
		return v, err
	}
	for rows.Next() {
		var member, sku, qty int64
		if err := rows.Scan(&member, &sku, &qty); err != nil {
			return v, err
		}
		m, k := int(member-MemberID(0)), int(sku-SKUID(0))
		if m < 0 || m >= cfg.Members || k < 0 || k >= cfg.SKUs {
			v.Notes = append(v.Notes, fmt.Sprintf("order of unknown member %d or SKU %d", member, sku))
			continue
		}
		have[m] = true
		committed[k] += qty
		if outcomes[m] != workload.Placed {
			v.Notes = append(v.Notes, fmt.Sprintf("member %d was told %v but has an order", member, outcomes[m]))
		}
	}
	if err := rows.Err(); err != nil {
		return v, err
	}
	for m, o := range outcomes {
		if o == workload.Placed && !have[m] {
			v.Lost++
		}
	}
	var stockCommitted []int64
	for k := range committed {
		v.Committed += committed[k]
		sc := cfg.Units - available[k]
		stockCommitted = append(stockCommitted, max(sc, committed[k]))
		if sc != committed[k] {
			v.Notes = append(v.Notes, fmt.Sprintf("SKU %d: stock says %d units went, orders hold %d", SKUID(k), sc, committed[k]))
		}
	}
	v.Oversold = workload.OversoldOf(stockCommitted, cfg.Units)
	if len(v.Notes) > 10 {
		v.Notes = append(v.Notes[:10], fmt.Sprintf("and %d more", len(v.Notes)-10))
	}
	return v, nil
}
