package welfare_test

import (
	"testing"

	"huigong/engine/internal/lint"
)

// TestDeciderImports enforces the purity the package doc promises: no file of the welfare
// decider reads a clock, draws randomness, does IO or starts a goroutine. It may import the
// ledger and the stock, deciders too, and no other package of huigong.
func TestDeciderImports(t *testing.T) {
	problems, err := lint.DeciderViolations(".", []string{"huigong/engine/ledger", "huigong/engine/stock"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
