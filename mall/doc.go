// Package mall is the welfare mall's domain: money at the edges (decimal yuan strings), prices
// with festival discounts, routing to shards, checkout that waits for the order saga's outcome,
// the order-event stream, fulfilment to each Workers e-Home (consolidated deliveries, pickup
// codes), and merchant settlement. It drives the engine through the shard runtime; the engine's
// deciders stay pure and know nothing of this package.
//
// # Contracts
//
//   - ExactMoney: amounts are int64 fen inside; yuan strings with at most two decimals outside;
//     never a float.
//   - SamePrice: the price the mall shows (shopspring/decimal, half-up per unit) is the price the
//     SKU's shard checks (integer basis points); a test holds them equal.
//   - AnswerOnOutcome: Checkout returns once the order is placed or refused, and only after the
//     decision is durable.
//   - StreamInOrder: the order stream gives each order's events in the order they were decided,
//     each with an offset a consumer can resume from.
package mall
