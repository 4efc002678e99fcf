// Package stock is the flash-sale stock of huigong as a pure decider: the SKUs homed on a
// shard, their units, the reservations of orders, the per-member limits and the sale windows.
//
// Every unit of a SKU is in exactly one state (CONTRACTS.md): available, reserved (held by an
// order the member's shard has not confirmed), sold (committed to a confirmed order), handed out
// (picked up), or returned (back from an uncollected or returned order; a restock moves it to
// available). A reservation is decided on the SKU's shard, atomically with the per-member limit,
// so two orders can never both take the last unit and one member's repeated clicks can never
// pass the limit.
//
// The member's shard coordinates an order. It asks for a reservation, and later confirms it or
// releases it; it never confirms after its own journaled deadline and always answers, so a
// reservation is never released by a timer while the order that holds it is being confirmed.
//
// # Invariants
//
//   - UnitsAddUp: available + reserved + sold + handed out + returned = received, for every SKU.
//   - NoOversell: committed units (sold + handed out) never exceed what was received.
//   - LimitPerMember: a member's reserved, sold and handed-out units of a SKU never exceed its
//     per-member limit.
//   - SoldOutHonest: a SKU is flagged sold out exactly when it has no available unit.
package stock
