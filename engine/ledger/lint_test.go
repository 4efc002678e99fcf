package ledger_test

import (
	"testing"

	"huigong/engine/internal/lint"
)

// TestDeciderImports enforces the purity the package doc promises: no file of the decider
// reads a clock, draws randomness, does IO, imports the rest of huigong or starts a goroutine.
// The lint itself, and the test that shows it catches each of these, are in engine/internal/lint.
func TestDeciderImports(t *testing.T) {
	problems, err := lint.DeciderViolations(".", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
