package shardledger_test

import (
	"testing"
	"time"
)

// waitFor polls cond until it holds, for effects that arrive by cross-shard messages.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}
