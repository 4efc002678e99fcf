//go:build invariants

package runtime

// invariantsBuild turns on the per-batch invariant checks of every runtime.
const invariantsBuild = true
