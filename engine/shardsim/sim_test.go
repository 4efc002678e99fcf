package shardsim

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

var (
	seedFlag   = flag.Int64("shardsim.seed", 0, "seed of the simulation (0: drawn from the time, and printed)")
	stepsFlag  = flag.Int("shardsim.steps", StepsDefault, "rounds of requests; raise it for a longer run")
	shardsFlag = flag.Int("shardsim.shards", ShardsCountDefault, "shards of the simulated engine")
)

// TestShardSimulation runs the welfare and order simulation: one seed drives the workload and
// the faults over shards of shard.Factory machines; the model audits every answer it can
// predict, and the invariants are checked over all shards after every restart, at settle
// points and at the end. A failure names the seed; go test -run TestShardSimulation
// ./engine/shardsim -shardsim.seed=<seed> replays the same plan.
func TestShardSimulation(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed=%d (replay: go test -run TestShardSimulation ./engine/shardsim -shardsim.seed=%d)", seed, seed)
	// Also on stderr: a panic in a shard goroutine ends the test binary before t.Logf shows.
	fmt.Fprintf(os.Stderr, "shardsim: seed=%d\n", seed)
	start := time.Now()
	stats, err := Run(Config{
		Seed: seed, Steps: *stepsFlag, Shards: *shardsFlag,
		Logf: func(format string, args ...any) {
			if testing.Verbose() {
				t.Logf(format, args...)
			}
		},
	})
	t.Logf("%v\nin %v", stats, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("simulation failed: %v\nreplay: go test -run TestShardSimulation ./engine/shardsim -shardsim.seed=%d", err, seed)
	}
}
