package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"huigong/api"
	"huigong/engine/journal"
	"huigong/engine/runtime"
	"huigong/engine/shard"
	"huigong/mall"
)

// Defaults of `huigong serve` (see CONTRACTS.md).
const (
	defaultData   = "./data"
	defaultListen = "127.0.0.1:8080"

	envData   = "HUIGONG_DATA"
	envListen = "HUIGONG_LISTEN"
	envDemo   = "HUIGONG_DEMO"

	shutdownTimeout = 10 * time.Second
)

// serveConfig is the resolved configuration of `huigong serve`.
type serveConfig struct {
	Data    string
	Listen  string
	Demo    bool
	Cluster bool
	// Shards is the shard count of a new data directory (0: the recorded one, or 16).
	Shards int
	Pprof  bool
}

// parseServeConfig resolves the serve configuration. Precedence: a flag given
// on the command line wins over its environment variable, which wins over the
// default. An environment variable that is set but empty counts as unset.
// Flag errors are printed to stderr by the flag package.
func parseServeConfig(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (serveConfig, error) {
	env := func(name string) (string, bool) {
		if lookupEnv == nil {
			return "", false
		}
		v, ok := lookupEnv(name)
		return v, ok && v != ""
	}

	cfg := serveConfig{Data: defaultData, Listen: defaultListen}
	if v, ok := env(envData); ok {
		cfg.Data = v
	}
	if v, ok := env(envListen); ok {
		cfg.Listen = v
	}
	if v, ok := env(envDemo); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return serveConfig{}, usageErrorf("%s=%q is not a boolean (use 1/0, true/false)", envDemo, v)
		}
		cfg.Demo = b
	}

	fs := flag.NewFlagSet("huigong serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data directory, created if missing (env "+envData+")")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP listen address (env "+envListen+")")
	fs.BoolVar(&cfg.Demo, "demo", cfg.Demo, "demo mode (env "+envDemo+")")
	fs.BoolVar(&cfg.Cluster, "cluster", false, "cluster mode (not built yet)")
	fs.IntVar(&cfg.Shards, "shards", 0, fmt.Sprintf("shards of a new data directory (default %d); an existing one keeps its own", defaultShardsCount))
	fs.BoolVar(&cfg.Pprof, "pprof", false, "serve /debug/pprof")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: huigong serve [flags]\n\nflags (a flag wins over its environment variable, which wins over the default):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return serveConfig{}, err
		}
		return serveConfig{}, &exitError{code: 2, err: err, quiet: true}
	}
	if fs.NArg() != 0 {
		return serveConfig{}, usageErrorf("unexpected arguments: %q", fs.Args())
	}
	if cfg.Data == "" {
		return serveConfig{}, usageErrorf("--data must not be empty")
	}
	if cfg.Listen == "" {
		return serveConfig{}, usageErrorf("--listen must not be empty")
	}
	if cfg.Shards < 0 || cfg.Shards > runtime.ShardsCountMax {
		return serveConfig{}, usageErrorf("--shards %d: want 1 to %d", cfg.Shards, runtime.ShardsCountMax)
	}
	return cfg, nil
}

// runServe is `huigong serve`: it resolves the configuration, opens the engine in the data
// directory (creating the demo data on the first start with --demo), serves HTTP until ctx is
// cancelled, then shuts down gracefully: HTTP first, then the engine, which decides what is
// queued and syncs the journal. ready, if not nil, is called with the listen address once the
// API serves.
func runServe(ctx context.Context, args []string, lookupEnv func(string) (string, bool),
	stdout, stderr io.Writer, logger *slog.Logger, ready func(addr string)) error {
	cfg, err := parseServeConfig(args, lookupEnv, stderr)
	if err != nil {
		return err
	}
	if cfg.Cluster {
		return usageErrorf("cluster mode is not built yet")
	}
	if logger == nil {
		logger = slog.New(slog.NewJSONHandler(stderr, nil))
	}

	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	dataAbs, err := filepath.Abs(cfg.Data)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}

	// Bind first, so a bad address fails before the engine is opened; connections wait in the
	// backlog until the API serves.
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().String()

	n, err := openNode(cfg, dataAbs, logger)
	if err != nil {
		_ = ln.Close()
		return err
	}
	app := n.server.App()
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()

	mode := ""
	if cfg.Demo {
		mode = " (demo)"
	}
	// One write, so a reader that sees the listening line sees the hints too.
	var banner bytes.Buffer
	fmt.Fprintf(&banner, "huigong %s listening on http://%s, data in %s%s\n", version, addr, dataAbs, mode)
	if n.demo != nil {
		printDemoHints(&banner, n.demo, cfg.Data, addr)
	}
	_, _ = stdout.Write(banner.Bytes())
	logger.Info("serving", "listen", addr, "data", dataAbs, "demo", cfg.Demo, "shards", n.engine.ShardsCount(), "version", version)
	if ready != nil {
		ready(addr)
	}

	var serveErr error
	select {
	case err := <-served:
		// The server stopped on its own: that is a failure.
		if err == nil {
			err = errors.New("server stopped unexpectedly")
		}
		serveErr = fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		logger.Info("shutting down", "timeout", shutdownTimeout.String())
		shutdownErr := app.ShutdownWithTimeout(shutdownTimeout)
		// If the shutdown came before the server started accepting, fasthttp has not
		// registered the listener yet; closing it ourselves ends Serve.
		_ = ln.Close()
		select {
		case err := <-served:
			if err != nil && !errors.Is(err, net.ErrClosed) {
				serveErr = fmt.Errorf("serve: %w", err)
			}
		case <-time.After(shutdownTimeout):
			serveErr = errors.New("shutdown: server did not stop in time")
		}
		if serveErr == nil && shutdownErr != nil {
			serveErr = fmt.Errorf("shutdown: %w", shutdownErr)
		}
	}
	_ = ln.Close()
	// The engine closes whatever happened to HTTP: what was decided is made durable.
	start := time.Now()
	if err := n.close(); err != nil {
		logger.Error("engine close", "err", err)
		if serveErr == nil {
			serveErr = fmt.Errorf("close: %w", err)
		}
	}
	if serveErr != nil {
		return serveErr
	}
	logger.Info("stopped", "engine_close_seconds", time.Since(start).Seconds())
	return nil
}

// node is everything a serving process holds open.
type node struct {
	rt     *mall.Runtime
	engine *mall.Engine
	server *api.Server
	audit  *api.FileAudit
	demo   *mall.DemoData // nil unless serving a demo

	stop context.CancelFunc
	bg   sync.WaitGroup
}

// openNode opens the engine of a data directory and builds the API over it.
func openNode(cfg serveConfig, dir string, logger *slog.Logger) (_ *node, err error) {
	ef, err := resolveShards(dir, cfg.Shards)
	if err != nil {
		return nil, err
	}
	if ef.CreatedAt == "" {
		ef.CreatedAt = time.Now().UTC().Format(time.RFC3339)
		if err := writeEngineFile(dir, ef); err != nil {
			return nil, fmt.Errorf("%s: %w", engineFileName, err)
		}
	}

	reg := prometheus.NewRegistry()
	em := newEngineMetrics(reg, ef.Shards)
	apiMetrics := api.NewMetrics(reg)

	start := time.Now()
	j, err := journal.Open(filepath.Join(dir, journalDirName), journal.Options{
		GroupBytesMax: journalGroupBytesMax, RecordPayloadBytesMax: journalRecordBytesMax, FsyncLatency: em.fsyncLatency,
	})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	rec := j.Recovery()
	journalEmpty := rec.LastLSN == 0
	snapDir, err := journal.OSFS{}.OpenDir(filepath.Join(dir, snapshotsDirName))
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	engine := mall.NewEngine(ef.Shards, mall.NewStream())
	rt, err := runtime.Open(runtime.Options{
		ShardsCount:          ef.Shards,
		Journal:              j,
		Snapshots:            runtime.NewDirSnapshotStore(snapDir),
		SnapshotEveryBatches: snapshotEveryBatches,
		SnapshotInterval:     snapshotInterval,
		OnNotes:              engine.OnNotes,
		Observe:              em.observe,
	}, shard.Factory(ef.Shards))
	if err != nil {
		j.Close()
		return nil, fmt.Errorf("engine recovery: %w", err)
	}
	engine.Attach(rt)
	logger.Info("engine open", "shards", ef.Shards, "journal_last_lsn", rec.LastLSN, "journal_segments", rec.SegmentCount,
		"tail_cut_bytes", rec.TailCutBytes, "recovery_seconds", time.Since(start).Seconds())
	n := &node{rt: rt, engine: engine}
	defer func() {
		if err != nil {
			n.close()
		}
	}()

	pickupSecret, err := ensureSecret(filepath.Join(dir, pickupKeyFileName), pickupSecretBytes)
	if err != nil {
		return nil, fmt.Errorf("pickup code secret: %w", err)
	}
	codes, err := mall.NewPickupCodes(pickupSecret)
	if err != nil {
		return nil, err
	}

	// Tokens: the platform's keys, and the dev key only on a demo server. A production server
	// refuses the dev key whatever kid it comes under.
	platformKeys, err := loadPlatformKeys(dir)
	if err != nil {
		return nil, err
	}
	devKey, haveDevKey, err := mall.LoadDevKey(dir)
	if err != nil {
		return nil, err
	}
	if cfg.Demo && !haveDevKey {
		if devKey, err = ensureDevKey(dir); err != nil {
			return nil, fmt.Errorf("dev key: %w", err)
		}
		haveDevKey = true
	}
	refused := []string{}
	if haveDevKey {
		devPub := devKey.Public().(ed25519.PublicKey)
		for kid, k := range platformKeys {
			if k.Equal(devPub) {
				logger.Warn("platform key is the demo's dev key: ignored", "kid", kid)
				delete(platformKeys, kid)
			}
		}
		if cfg.Demo {
			platformKeys[devKeyID] = devPub
		}
	}
	if !cfg.Demo {
		refused = append(refused, devKeyID)
		delete(platformKeys, devKeyID)
		if len(platformKeys) == 0 {
			logger.Warn("no token keys: every token is refused until " + platformKeysName + " names the platform's keys")
		}
	}
	sessionSecret, err := ensureSecret(filepath.Join(dir, sessionKeyName), api.SessionSecretBytesMin)
	if err != nil {
		return nil, fmt.Errorf("session secret: %w", err)
	}
	// A demo server accepts dev tokens, so its sessions must not pass on a production server
	// started later on the same data directory: the mode is part of the key.
	sessions, err := api.NewSessions(sessionKey(sessionSecret, cfg.Demo), 0)
	if err != nil {
		return nil, err
	}
	tokens := api.NewVerifier(platformKeys, refused, time.Now).WithSessions(sessions)

	if cfg.Demo {
		if n.demo, err = ensureDemo(dir, &ef, journalEmpty, engine, logger); err != nil {
			return nil, err
		}
	}

	keys, err := mall.LoadMerchantKeys(filepath.Join(dir, merchantsFileName))
	if err != nil {
		return nil, err
	}
	if n.audit, err = api.OpenFileAudit(filepath.Join(dir, auditFileName)); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}

	ctx, stop := context.WithCancel(context.Background())
	n.stop = stop
	fulfilment := mall.NewFulfilment(engine, codes)
	webhooks := api.NewWebhooks(engine.Stream(), api.WebhookOptions{Logger: logger})
	n.bg.Add(2)
	go func() { defer n.bg.Done(); fulfilment.Run(ctx) }()
	go func() { defer n.bg.Done(); webhooks.Run(ctx) }()

	n.server = api.New(api.Deps{
		Engine: engine, Fulfilment: fulfilment, Codes: codes, Tokens: tokens, Merchants: merchantKeys{keys},
		Audit: n.audit, Webhooks: webhooks, Logger: logger, Metrics: apiMetrics, Pprof: cfg.Pprof,
	})
	return n, nil
}

// Limits of the embedded journal: a group commit carries up to 64 MiB, and one shard's batch
// record up to 32 MiB (8,190 commands of a county-wide issuance fit with room to spare).
const (
	journalGroupBytesMax  = 64 << 20
	journalRecordBytesMax = 32 << 20
	// snapshotInterval snapshots idle shards too, so old journal segments can be archived.
	snapshotInterval = 5 * time.Minute
)

// close stops the background work and closes the runtime (it decides what is queued and waits
// until it is durable) and the audit log.
func (n *node) close() error {
	if n.stop != nil {
		n.stop()
	}
	n.bg.Wait()
	err := n.rt.Close()
	if n.audit != nil {
		if aerr := n.audit.Close(); err == nil {
			err = aerr
		}
	}
	return err
}

// ensureDemo returns the demo data, creating it on the first start of a demo directory: when
// the journal is empty, or when an earlier creation was interrupted (engine.json has the demo's
// clock but demo.json is missing). demo.json is written last, as the mark that the demo is
// complete.
func ensureDemo(dir string, ef *engineFile, journalEmpty bool, engine *mall.Engine, logger *slog.Logger) (*mall.DemoData, error) {
	data, ok, err := mall.ReadDemoData(dir)
	if err != nil || ok {
		return data, err
	}
	if !journalEmpty && ef.DemoNowNanos == 0 {
		logger.Warn("--demo: the data directory holds data that no demo made; no demo data is created")
		return nil, nil
	}
	if ef.DemoNowNanos == 0 {
		ef.DemoNowNanos, ef.DemoSeed = time.Now().UnixNano(), demoSeed
		if err := writeEngineFile(dir, *ef); err != nil {
			return nil, fmt.Errorf("%s: %w", engineFileName, err)
		}
	}
	start := time.Now()
	logger.Info("demo: creating the county-scale demo data", "seed", ef.DemoSeed)
	d := mall.Demo{Seed: ef.DemoSeed, NowNanos: ef.DemoNowNanos, Progress: func(line string) { logger.Info(line) }}
	data, err = d.Load(engine)
	if err != nil {
		return nil, err
	}
	keys, err := mall.LoadMerchantKeys(filepath.Join(dir, merchantsFileName))
	if err != nil {
		return nil, err
	}
	var fresh []mall.MerchantKey
	for _, m := range data.Merchants {
		if _, ok := keys.Lookup(m.KeyID); ok {
			continue
		}
		secret, err := mall.NewMerchantSecret()
		if err != nil {
			return nil, err
		}
		fresh = append(fresh, mall.MerchantKey{KeyID: m.KeyID, MerchantID: m.ID, Secret: secret})
	}
	if err := keys.Put(fresh...); err != nil {
		return nil, err
	}
	if err := writeDemoData(dir, data); err != nil {
		return nil, fmt.Errorf("%s: %w", demoFileName, err)
	}
	// A snapshot of every shard now spares the next start replaying the whole demo.
	engine.Runtime().Snapshot()
	logger.Info("demo: created", "seconds", time.Since(start).Seconds(), "file", filepath.Join(dir, demoFileName))
	return data, nil
}

// merchantKeys serves the API from the merchants' key file.
type merchantKeys struct{ keys *mall.MerchantKeys }

func (m merchantKeys) Lookup(keyID string) (api.MerchantKey, bool) {
	k, ok := m.keys.Lookup(keyID)
	if !ok {
		return api.MerchantKey{}, false
	}
	return api.MerchantKey{KeyID: k.KeyID, MerchantID: k.MerchantID, Secret: []byte(k.Secret)}, true
}

// sessionKey derives the key sessions are signed with from the data directory's secret and the
// server's mode.
func sessionKey(secret []byte, demo bool) []byte {
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "huigong sessions, demo=%t", demo)
	return mac.Sum(nil)
}
