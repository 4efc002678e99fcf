//go:build !invariants

package journal

// invariantsEnabled turns on the expensive assertions: built with -tags invariants.
const invariantsEnabled = false
