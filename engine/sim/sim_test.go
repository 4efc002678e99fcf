package sim

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"
)

var (
	seedFlag     = flag.Int64("sim.seed", 0, "seed of the simulation (0: drawn from the time, and printed)")
	commandsFlag = flag.Int("sim.commands", CommandsDefault, "fresh commands to draw; raise it for a longer run")
	shardsFlag   = flag.Int("sim.shards", ShardsCountDefault, "shards of the simulated engine")
)

// TestSimulation runs the VOPR-style simulation: one seed drives the workload and the faults;
// the model audits every answer and the state after every restart. A failure names the seed;
// go test -run TestSimulation ./engine/sim -sim.seed=<seed> replays the same workload and
// fault schedule.
func TestSimulation(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed=%d (replay: go test -run TestSimulation ./engine/sim -sim.seed=%d)", seed, seed)
	// Also on stderr: a panic in a shard goroutine ends the test binary before t.Logf shows.
	fmt.Fprintf(os.Stderr, "sim: seed=%d\n", seed)
	start := time.Now()
	stats, err := Run(Config{
		Seed: seed, Commands: *commandsFlag, Shards: *shardsFlag,
		Logf: func(format string, args ...any) {
			if testing.Verbose() {
				t.Logf(format, args...)
			}
		},
	})
	t.Logf("%v in %v", stats, time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("simulation failed: %v\nreplay: go test -run TestSimulation ./engine/sim -sim.seed=%d", err, seed)
	}
}

// The same seed draws the same workload and plans the same faults, however the goroutines ran
// and whatever the crashes kept.
func TestSimulationSeedReproducesWorkload(t *testing.T) {
	const seed, commands = 42, 30_000
	first, err := Run(Config{Seed: seed, Commands: commands, Shards: 8})
	if err != nil {
		t.Fatal(err)
	}
	second, err := Run(Config{Seed: seed, Commands: commands, Shards: 8})
	if err != nil {
		t.Fatal(err)
	}
	if first.WorkloadHash != second.WorkloadHash || first.Commands != second.Commands || first.Rounds != second.Rounds {
		t.Fatalf("seed %d drew different workloads: %016x/%d/%d and %016x/%d/%d", seed,
			first.WorkloadHash, first.Commands, first.Rounds, second.WorkloadHash, second.Commands, second.Rounds)
	}
}
