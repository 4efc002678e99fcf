package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
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
	return cfg, nil
}

// runServe is `huigong serve`: it resolves the configuration, creates the data
// directory, serves HTTP until ctx is cancelled, then shuts down gracefully.
// ready, if not nil, is called with the listen address once the socket is bound.
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

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().String()

	app := newApp()
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()

	mode := ""
	if cfg.Demo {
		mode = " (demo)"
	}
	fmt.Fprintf(stdout, "huigong %s listening on http://%s, data in %s%s\n", version, addr, dataAbs, mode)
	logger.Info("serving", "listen", addr, "data", dataAbs, "demo", cfg.Demo, "version", version)
	if cfg.Demo {
		logger.Warn("demo data is not built yet: only /healthz and /readyz are served")
	}
	if ready != nil {
		ready(addr)
	}

	select {
	case err := <-served:
		// The server stopped on its own: that is a failure.
		_ = ln.Close()
		if err == nil {
			err = errors.New("server stopped unexpectedly")
		}
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	logger.Info("shutting down", "timeout", shutdownTimeout.String())
	shutdownErr := app.ShutdownWithTimeout(shutdownTimeout)
	// If the shutdown came before the server started accepting, fasthttp has
	// not registered the listener yet; closing it ourselves ends Serve.
	_ = ln.Close()
	select {
	case err := <-served:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("serve: %w", err)
		}
	case <-time.After(shutdownTimeout):
		return errors.New("shutdown: server did not stop in time")
	}
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	logger.Info("stopped")
	return nil
}

// newApp builds the Fiber application with its routes.
func newApp() *fiber.App {
	app := fiber.New(fiber.Config{
		AppName:               "huigong",
		DisableStartupMessage: true,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           60 * time.Second,
	})
	app.Use(recover.New())
	ok := func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) }
	app.Get("/healthz", ok)
	app.Get("/readyz", ok)
	return app
}
