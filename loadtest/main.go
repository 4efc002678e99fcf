// Command loadtest drives a running huigong over HTTP.
//
//	go run ./loadtest festival [flags]
//
// festival is the festival-morning rush: open-loop load at a target arrival rate, browsing
// before the flash sale opens and a rush for the flash-sale gift boxes when it does, with
// ordinary orders, balance checks and catalog reads; then checks through the API that nothing
// was oversold or lost, that no member is over a limit and that points are conserved. It
// writes loadtest/results/latest.json and latest.html and prints one JSON line last.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"huigong/loadtest/festival"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: go run ./loadtest festival [flags]

Runs the festival-rush load test against a running huigong (make run) and checks the result.
Run "go run ./loadtest festival -h" for the flags.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "festival" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cfg, cpuProfile, err := parseFestival(args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintln(stderr, "loadtest festival:", err)
		return 2
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "loadtest festival:", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "loadtest festival:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := festival.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "loadtest festival:", err)
		if rep == nil {
			return 1
		}
	}
	if err := festival.WriteLine(stdout, rep); err != nil {
		fmt.Fprintln(stderr, "loadtest festival:", err)
		return 1
	}
	if !rep.Summary.ChecksPassed || rep.Summary.Errors > 0 {
		return 1
	}
	return 0
}

func parseFestival(args []string, stderr io.Writer) (festival.Config, string, error) {
	cfg := festival.Defaults()
	cfg.Progress = stderr
	fs := flag.NewFlagSet("loadtest festival", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Target, "target", cfg.Target, "the huigong API to drive (make run serves http://127.0.0.1:8080)")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long requests are scheduled")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "target arrival rate in requests/s, after the ramp (open loop: independent of the answers)")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "the server's data directory: demo.json, the dev key to mint tokens, merchants.json")
	fs.DurationVar(&cfg.Ramp, "ramp", cfg.Ramp, "the rate climbs linearly from 0 to --rate over this time")
	fs.DurationVar(&cfg.SaleAt, "sale-at", cfg.SaleAt, "when the flash sale opens (10:00), from the start; before it, members browse")
	fs.Int64Var(&cfg.MaxRequests, "max-requests", cfg.MaxRequests, "stop scheduling after this many requests (0: no cap)")
	fs.IntVar(&cfg.Members, "members", cfg.Members, "demo members taking part, picked by --seed among the eligible (0: all)")
	fs.IntVar(&cfg.FlashSKUs, "flash-skus", cfg.FlashSKUs, "the rush goes for the first N flash-sale SKUs (0: all)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the members, the mix and the order of the rush")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "requests in flight at most (and connections); due requests wait for a worker, and the wait counts in their latency")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "per attempt; an order that times out is retried once with the same Idempotency-Key")
	fs.StringVar(&cfg.Out, "out", cfg.Out, "where latest.json and latest.html are written")
	fs.Float64Var(&cfg.FlashShare, "flash-share", cfg.FlashShare, "fraction of members who try the flash sale")
	fs.Float64Var(&cfg.RepeatShare, "repeat-share", cfg.RepeatShare, "fraction of those who click again (a second order the per-member limit must refuse)")
	fs.Float64Var(&cfg.ReplayShare, "replay-share", cfg.ReplayShare, "fraction of placed orders sent again with their key (the answer must be the same order)")
	cpuProfile := fs.String("cpuprofile", "", "write the load generator's CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return cfg, "", err
	}
	if fs.NArg() != 0 {
		return cfg, "", fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, *cpuProfile, nil
}
