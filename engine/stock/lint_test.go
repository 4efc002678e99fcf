package stock_test

import (
	"testing"

	"huigong/engine/internal/lint"
)

// TestDeciderImports holds the stock decider pure (doc.go): no clock, randomness, IO or
// goroutine, and no other package of huigong.
func TestDeciderImports(t *testing.T) {
	problems, err := lint.DeciderViolations(".", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}
