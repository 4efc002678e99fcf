//go:build !invariants

package runtime

const invariantsBuild = false
