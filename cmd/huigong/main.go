// Command huigong is the one binary of the huigong points and welfare-mall engine.
//
// Usage:
//
//	huigong serve [--data DIR] [--listen ADDR] [--demo] [--cluster] [--shards N] [--pprof]
//	huigong token [--data DIR] (--member ID | --officer UNION [--second] | --keeper POINT | --federation | --module)
//	huigong sign --key-id K --secret S [--headers] METHOD PATH [BODY]
//	huigong demo (members | merchants | skus | points) [--data DIR]
//	huigong field PATH < document.json
//	huigong version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is printed by `huigong version`. Release builds set it with
// -ldflags "-X main.version=...".
var version = "dev"

const usageText = `usage: huigong <command> [flags]

commands:
  serve     run the HTTP server (flags --data, --listen, --demo, --cluster, --shards, --pprof)
  token     print a dev token for a demo member, officer, keeper, the federation or a module
  sign      print the signature headers of a merchant request, for curl
  demo      list the demo's members, merchants (with their keys), SKUs or pickup points
  field     print one field of the JSON document on stdin (items.0.sku_id), for scripts
  version   print the version

Run "huigong serve -h" for the serve flags and their environment variables.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default behaviour so that a
		// second Ctrl-C kills a shutdown that hangs.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line (without the program name) and returns the
// process exit code: 0 on success, 1 on a runtime failure, 2 on a usage error.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		logger := slog.New(slog.NewJSONHandler(stderr, nil))
		return exitCode(runServe(ctx, rest, lookupEnv, stdout, stderr, logger, nil), "huigong serve", stderr)
	case "token":
		return exitCode(runToken(rest, lookupEnv, stdout, stderr), "huigong token", stderr)
	case "sign":
		return exitCode(runSign(rest, stdout, stderr), "huigong sign", stderr)
	case "demo":
		return exitCode(runDemo(rest, lookupEnv, stdout, stderr), "huigong demo", stderr)
	case "field":
		return exitCode(runField(rest, os.Stdin, stdout, stderr), "huigong field", stderr)
	case "version":
		if len(rest) != 0 {
			fmt.Fprintln(stderr, "huigong version: takes no arguments")
			return 2
		}
		fmt.Fprintf(stdout, "huigong %s\n", version)
		return 0
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return 0
	default:
		fmt.Fprintf(stderr, "huigong: unknown command %q\n\n", cmd)
		fmt.Fprint(stderr, usageText)
		return 2
	}
}

// exitError carries a specific exit code. When quiet is set the message has
// already been printed (by the flag package).
type exitError struct {
	code  int
	err   error
	quiet bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

// exitCode turns a command's error into an exit code, printing the error.
func exitCode(err error, prefix string, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if !ee.quiet {
			fmt.Fprintf(stderr, "%s: %v\n", prefix, ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "%s: %v\n", prefix, err)
	return 1
}
