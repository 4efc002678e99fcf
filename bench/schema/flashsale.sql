-- The flash sale's tables for the SQL baselines of bench/ (sql-rowlock, and the PostgreSQL side
-- of redis-lua). Kept within what both PostgreSQL and CockroachDB accept: no sequences, no
-- triggers, no PL/pgSQL, plain BIGINT money in fen.

-- A SKU's stock: available is decremented by each order, never below zero.
CREATE TABLE IF NOT EXISTS skus (
    sku       BIGINT PRIMARY KEY,
    price_fen BIGINT NOT NULL CHECK (price_fen > 0),
    units     BIGINT NOT NULL CHECK (units >= 0),
    available BIGINT NOT NULL CHECK (available >= 0)
);

-- A member's points account.
CREATE TABLE IF NOT EXISTS members (
    member_id   BIGINT PRIMARY KEY,
    union_id    BIGINT NOT NULL,
    balance_fen BIGINT NOT NULL CHECK (balance_fen >= 0)
);

-- An order. The primary key is the per-member limit: one order of a SKU per member.
CREATE TABLE IF NOT EXISTS orders (
    member_id  BIGINT NOT NULL,
    sku        BIGINT NOT NULL,
    order_id   BIGINT NOT NULL UNIQUE,
    quantity   BIGINT NOT NULL CHECK (quantity > 0),
    amount_fen BIGINT NOT NULL CHECK (amount_fen >= 0),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (member_id, sku)
);
