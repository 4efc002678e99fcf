// Package api is huigong's HTTP API, on Fiber: JSON under /api/v1, problem+json errors with
// stable codes, signed tokens for members, officers, keepers and platform modules, and HMAC
// signatures for merchants. Every route is declared once in a route table that both registers
// it with Fiber and describes it in the OpenAPI document served at /api/openapi.json, so the
// document and the routes cannot drift apart.
//
// # Contracts
//
//   - ProblemJSON: every error is application/problem+json with a stable machine code.
//   - NothingChangedOnBadInput: a request refused as bad input changed nothing.
//   - CallerMayAct: every handler checks that the caller may act on the union, member, pickup
//     point or merchant it names.
//   - Audited: every officer, federation and merchant change is written to the audit log.
//   - MoneyAsStrings: amounts go out and come in as decimal yuan strings ("12.50").
package api
