// Command compare runs the same flash sale against huigong and the usual ways of building it,
// in one run on one machine, and prints one table; the same figures go to
// bench/results/latest.json. `make bench-compare` runs it. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"huigong/bench/hgsale"
	"huigong/bench/httpsale"
	"huigong/bench/pgtest"
	"huigong/bench/redislua"
	"huigong/bench/redistest"
	"huigong/bench/report"
	"huigong/bench/sqlrowlock"
	"huigong/bench/workload"
)

// The designs, in the order they run and are shown.
var designNames = []string{"huigong-inprocess", "huigong-http", "fiber-bare", "sql-rowlock", "redis-lua"}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench-compare:", err)
		}
		os.Exit(1)
	}
}

type options struct {
	cfg      workload.Config
	only     map[string]bool
	out      string
	dir      string
	shards   int
	setupCap time.Duration
	profile  string
	tokens   string
	mode     httpsale.TokenMode
}

func parse(args []string, stderr io.Writer) (options, error) {
	o := options{cfg: workload.Default()}
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.cfg.Members, "members", o.cfg.Members, "members, each trying once to buy one unit")
	fs.IntVar(&o.cfg.SKUs, "skus", o.cfg.SKUs, "SKUs on sale (100 with --units 1000 is the hundred-SKU variant); each member tries one")
	fs.Int64Var(&o.cfg.Units, "units", o.cfg.Units, "units of stock per SKU")
	fs.IntVar(&o.cfg.Clients, "clients", o.cfg.Clients, "concurrent clients, each waiting for its answer before the next attempt")
	fs.DurationVar(&o.cfg.Cap, "cap", o.cfg.Cap, "bound on each design's attempts; what is not tried by then is left out and the row says capped")
	fs.DurationVar(&o.setupCap, "setup-cap", 180*time.Second, "bound on each design's setup and on its verification")
	only := fs.String("only", strings.Join(designNames, ","), "comma list of designs to run: "+strings.Join(designNames, ", "))
	fs.StringVar(&o.out, "out", "bench/results/latest.json", "where the JSON goes (empty: nowhere)")
	fs.StringVar(&o.dir, "dir", "", "where the servers' and the journal's temporary directories go (default: the system's temp dir)")
	fs.IntVar(&o.shards, "shards", hgsale.ShardsDefault, "huigong's shards")
	fs.StringVar(&o.tokens, "tokens", string(httpsale.SessionTokens), "what members send as their bearer token over HTTP: session (a session of the server, opened before the sale, checked with a MAC) or platform (the platform's Ed25519 token, which the server has not seen: a signature check per order)")
	fs.StringVar(&o.profile, "cpuprofile", "", "a directory to write each design's CPU profile of its attempts to (DESIGN.pprof; clients and in-process servers included)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var err error
	if o.mode, err = httpsale.ParseTokenMode(o.tokens); err != nil {
		return o, err
	}
	if err := o.cfg.Validate(); err != nil {
		return o, err
	}
	o.only = map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		known := false
		for _, k := range designNames {
			known = known || k == n
		}
		if !known {
			return o, fmt.Errorf("--only: unknown design %q (known: %s)", n, strings.Join(designNames, ", "))
		}
		o.only[n] = true
	}
	if len(o.only) == 0 {
		return o, errors.New("--only names no design")
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Find the servers' binaries first: a missing one fails now, not after minutes of work.
	if o.only["sql-rowlock"] || o.only["redis-lua"] {
		if _, err := pgtest.BinDir(); err != nil {
			return err
		}
	}
	if o.only["redis-lua"] {
		if _, err := redistest.Binary(); err != nil {
			return err
		}
	}

	rep := report.New(o.cfg, o.dir)
	rep.Workload.Tokens = string(o.mode)
	fmt.Fprintf(stderr, "bench-compare: %d members, %d SKU(s) of %d units, limit 1 per member, %d clients, cap %v per design\n",
		o.cfg.Members, o.cfg.SKUs, o.cfg.Units, o.cfg.Clients, o.cfg.Cap)
	fmt.Fprintf(stderr, "bench-compare: %s, %s, load average %.2f\n", rep.Machine, runtime.Version(), rep.LoadBefore)
	if rep.LoadBefore > 1 {
		fmt.Fprintf(stderr, "bench-compare: warning: the machine is busy (load %.2f): other work takes CPU from every design\n", rep.LoadBefore)
	}
	tokens := httpsale.NewTokens("compare")
	for _, name := range designNames {
		if !o.only[name] {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if name == "huigong-http" && !httpsale.APIHasOrders() {
			note := "huigong-http was not run: the API has no POST " + httpsale.OrdersPath + " yet (api/worker.go)"
			fmt.Fprintln(stderr, "bench-compare:", note)
			rep.Notes = append(rep.Notes, note)
			continue
		}
		row, err := runDesign(ctx, o, name, tokens, stderr)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rep.Add(row)
		runtime.GC()
	}
	rep.Finish()
	rep.WriteTable(stdout)
	if o.out != "" {
		if err := rep.WriteJSON(o.out); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "bench-compare: wrote %s\n", o.out)
	}
	return nil
}

// runDesign starts the servers a design needs, sets it up, drives the sale, verifies, and
// stops everything it started, whatever happens.
func runDesign(ctx context.Context, o options, name string, tokens *httpsale.Tokens, stderr io.Writer) (row report.Row, err error) {
	var d workload.Design
	var stops []func() error
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			if serr := stops[i](); serr != nil && err == nil {
				err = serr
			}
		}
	}()
	startPG := func() (*pgtest.Server, error) {
		sctx, cancel := context.WithTimeout(ctx, o.setupCap)
		defer cancel()
		s, err := pgtest.Start(sctx, pgtest.Options{Dir: o.dir})
		if err != nil {
			return nil, err
		}
		stops = append(stops, s.Stop)
		fmt.Fprintf(stderr, "  %-17s PostgreSQL on 127.0.0.1:%d (pid %d)\n", name, s.Port, s.Pid())
		return s, nil
	}
	switch name {
	case "huigong-inprocess":
		d = &hgsale.InProcess{Dir: o.dir, Shards: o.shards}
	case "huigong-http":
		d = &httpsale.API{Dir: o.dir, Shards: o.shards, Tokens: tokens, TokenMode: o.mode}
	case "fiber-bare":
		d = &httpsale.FiberBare{Tokens: tokens, TokenMode: o.mode}
	case "sql-rowlock":
		pg, err := startPG()
		if err != nil {
			return row, err
		}
		d = &sqlrowlock.Design{URL: pg.URL()}
	case "redis-lua":
		pg, err := startPG()
		if err != nil {
			return row, err
		}
		sctx, cancel := context.WithTimeout(ctx, o.setupCap)
		rs, err := redistest.Start(sctx, redistest.Options{Dir: o.dir})
		cancel()
		if err != nil {
			return row, err
		}
		stops = append(stops, rs.Stop)
		fmt.Fprintf(stderr, "  %-17s Redis on %s (pid %d)\n", name, rs.Addr(), rs.Pid())
		d = &redislua.Design{RedisAddr: rs.Addr(), PGURL: pg.URL()}
	}
	stops = append(stops, d.Close)

	fmt.Fprintf(stderr, "  %-17s setting up\n", name)
	t0 := time.Now()
	sctx, cancel := context.WithTimeout(ctx, o.setupCap)
	err = d.Setup(sctx, o.cfg)
	cancel()
	if err != nil {
		return row, fmt.Errorf("setup: %w", err)
	}
	fmt.Fprintf(stderr, "  %-17s set up in %.1f s; the sale opens\n", name, time.Since(t0).Seconds())
	stopProfile, err := startProfile(o.profile, name)
	if err != nil {
		return row, err
	}
	st := workload.Drive(ctx, d, o.cfg, stderr, 2*time.Second)
	if err := stopProfile(); err != nil {
		return row, err
	}
	fmt.Fprintf(stderr, "  %-17s %d attempts in %.2f s (%.0f/s), %d placed; verifying\n", name, st.Attempts, st.Elapsed.Seconds(), st.OrdersPerS(), st.Placed)
	if ctx.Err() != nil {
		return row, ctx.Err()
	}
	vctx, cancel := context.WithTimeout(ctx, o.setupCap)
	v, err := d.Verify(vctx, o.cfg, st.Outcomes)
	cancel()
	if err != nil {
		return row, fmt.Errorf("verify: %w", err)
	}
	row = report.NewRow(name, o.cfg, st, v)
	fmt.Fprintf(stderr, "  %-17s sold %d, oversold %d, lost %d\n", name, row.Sold, row.Oversold, row.Lost)
	for _, n := range row.Notes {
		fmt.Fprintf(stderr, "  %-17s note: %s\n", name, n)
	}
	return row, nil
}

// startProfile starts a CPU profile of the attempts into dir/name.pprof (nothing if dir is "").
func startProfile(dir, name string) (stop func() error, err error) {
	if dir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, name+".pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
