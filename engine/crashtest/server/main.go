// Command server serves one shard runtime of ledger machines over a tiny line protocol, for the
// crash test in engine/crashtest: the test kills it with SIGKILL at random moments and checks
// what survives.
//
// It opens the file journal in DIR/journal (the real filesystem, fdatasync per group commit)
// and the snapshots in DIR/snapshots, then prints "listening ADDR" on stdout and answers one
// line per request line, on any number of connections:
//
//	account ID SHARD KIND FLAGS                  -> result name (ok, exists, ...)
//	transfer ID SHARD DEBIT CREDIT AMOUNT        -> result name (ok, exceeds_credits, ...)
//	move ID SHARD FROM TO_SHARD TO AMOUNT        -> result name of the move's first leg
//	balance SHARD ACCOUNT                        -> DEBITS_POSTED CREDITS_POSTED DEBITS_PENDING CREDITS_PENDING | not_found
//	lookup SHARD TRANSFER_ID                     -> present DEBIT CREDIT AMOUNT CODE FLAGS | absent
//	count SHARD                                  -> ACCOUNTS TRANSFERS
//	dump SHARD                                   -> ID:KIND:FLAGS:DEBITS_POSTED:CREDITS_POSTED:DEBITS_PENDING:CREDITS_PENDING ...
//	ping                                         -> pong
//
// KIND is a number or a name such as member_points. A malformed request or a runtime error is
// answered "error MESSAGE". SIGTERM or SIGINT closes the runtime cleanly and exits 0.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/runtime"
	"huigong/engine/shardledger"
)

type rtType = runtime.Runtime[shardledger.Command, shardledger.Result]

func main() {
	data := flag.String("data", "", "data directory (required)")
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to serve")
	shards := flag.Int("shards", 8, "number of shards")
	snapshotEvery := flag.Uint64("snapshot-every", 200, "snapshot a shard after this many journaled batches (0: never)")
	segmentBytes := flag.Int64("segment-bytes", 0, "journal segment size (0: the journal's default)")
	flag.Parse()
	if *data == "" {
		fmt.Fprintln(os.Stderr, "server: --data is required")
		os.Exit(2)
	}
	if err := run(*data, *listen, *shards, *snapshotEvery, *segmentBytes); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(data, listen string, shards int, snapshotEvery uint64, segmentBytes int64) error {
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	j, err := journal.Open(filepath.Join(data, "journal"), journal.Options{SegmentBytes: segmentBytes})
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	rec := j.Recovery()
	fmt.Fprintf(os.Stderr, "server: journal segments=%d first_lsn=%d last_lsn=%d tail_cut_bytes=%d %s\n",
		rec.SegmentCount, rec.FirstLSN, rec.LastLSN, rec.TailCutBytes, rec.TailCutCause)
	snapDir, err := journal.OSFS{}.OpenDir(filepath.Join(data, "snapshots"))
	if err != nil {
		j.Close()
		return fmt.Errorf("open snapshots: %w", err)
	}
	rt, err := runtime.Open(runtime.Options{
		ShardsCount:          shards,
		Journal:              j,
		Snapshots:            runtime.NewDirSnapshotStore(snapDir),
		SnapshotEveryBatches: snapshotEvery,
	}, func(shard uint32) runtime.Machine[shardledger.Command, shardledger.Result] {
		return shardledger.New(shard)
	})
	if err != nil {
		j.Close()
		return fmt.Errorf("open runtime: %w", err)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		rt.Close()
		return err
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	closed := make(chan error, 1)
	go func() {
		<-stop
		ln.Close()
		closed <- rt.Close()
	}()

	fmt.Printf("listening %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				break
			}
			fmt.Fprintln(os.Stderr, "server: accept:", err)
			continue
		}
		go serve(rt, c)
	}
	if err := <-closed; err != nil {
		return fmt.Errorf("close runtime: %w", err)
	}
	fmt.Fprintln(os.Stderr, "server: closed cleanly")
	return nil
}

func serve(rt *rtType, c net.Conn) {
	defer c.Close()
	in := bufio.NewScanner(c)
	in.Buffer(make([]byte, 4096), 1<<20)
	out := bufio.NewWriter(c)
	for in.Scan() {
		reply, err := handle(rt, strings.Fields(in.Text()))
		if err != nil {
			reply = "error " + strings.ReplaceAll(err.Error(), "\n", " ")
		}
		out.WriteString(reply)
		out.WriteByte('\n')
		if out.Flush() != nil {
			return
		}
	}
}

// args parses the unsigned fields of a request after its verb.
func args(f []string, n int) ([]uint64, error) {
	if len(f) != n+1 {
		return nil, fmt.Errorf("%s wants %d arguments, got %d", f[0], n, len(f)-1)
	}
	v := make([]uint64, n)
	for i := range v {
		x, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		v[i] = x
	}
	return v, nil
}

// shardArgs reads n numeric arguments of a request, the first of them a shard.
func shardArgs(rt *rtType, f []string, n int) ([]uint64, uint32, error) {
	v, err := args(f, n)
	if err != nil {
		return nil, 0, err
	}
	shard, err := shardArg(rt, v[0])
	return v, shard, err
}

func shardArg(rt *rtType, x uint64) (uint32, error) {
	if x >= uint64(rt.ShardsCount()) {
		return 0, fmt.Errorf("shard %d of %d", x, rt.ShardsCount())
	}
	return uint32(x), nil
}

// inspect runs fn on the shard's ledger between batches.
func inspect(rt *rtType, shard uint32, fn func(l *ledger.Ledger)) error {
	return rt.Inspect(shard, func(m runtime.Machine[shardledger.Command, shardledger.Result]) {
		fn(m.(*shardledger.Machine).Ledger())
	})
}

func handle(rt *rtType, f []string) (string, error) {
	if len(f) == 0 {
		return "", errors.New("empty request")
	}
	switch f[0] {
	case "ping":
		return "pong", nil

	case "account":
		if len(f) != 5 {
			return "", errors.New("account wants ID SHARD KIND FLAGS")
		}
		kind, ok := ledger.ParseAccountKind(f[3])
		if !ok {
			k, err := strconv.ParseUint(f[3], 10, 8)
			if err != nil {
				return "", fmt.Errorf("account kind %q", f[3])
			}
			kind = ledger.AccountKind(k)
		}
		v, err := args([]string{"account", f[1], f[2], f[4]}, 3)
		if err != nil {
			return "", err
		}
		shard, err := shardArg(rt, v[1])
		if err != nil {
			return "", err
		}
		r, err := rt.Submit(shard, shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.AccountCommand(ledger.Account{
			ID: ledger.AccountID(v[0]), Kind: kind, Flags: ledger.AccountFlags(v[2]),
		})})
		return r.String(), err

	case "transfer":
		v, err := args(f, 5)
		if err != nil {
			return "", err
		}
		shard, err := shardArg(rt, v[1])
		if err != nil {
			return "", err
		}
		r, err := rt.Submit(shard, shardledger.Command{Kind: shardledger.LedgerCommand, Ledger: ledger.TransferCommand(ledger.Transfer{
			ID: ledger.TransferID(v[0]), DebitAccountID: ledger.AccountID(v[2]), CreditAccountID: ledger.AccountID(v[3]),
			AmountFen: int64(v[4]), Code: ledger.CodeIssue,
		})})
		return r.String(), err

	case "move":
		v, err := args(f, 6)
		if err != nil {
			return "", err
		}
		shard, err := shardArg(rt, v[1])
		if err != nil {
			return "", err
		}
		to, err := shardArg(rt, v[3])
		if err != nil {
			return "", err
		}
		r, err := rt.Submit(shard, shardledger.Command{Kind: shardledger.MoveCommand, Move: shardledger.Move{
			ID: ledger.TransferID(v[0]), FromAccountID: ledger.AccountID(v[2]), ToShard: to,
			ToAccountID: ledger.AccountID(v[4]), AmountFen: int64(v[5]),
		}})
		return r.String(), err

	case "balance":
		v, shard, err := shardArgs(rt, f, 2)
		if err != nil {
			return "", err
		}
		var reply string
		err = inspect(rt, shard, func(l *ledger.Ledger) {
			a, ok := l.Account(ledger.AccountID(v[1]))
			if !ok {
				reply = "not_found"
				return
			}
			reply = fmt.Sprintf("%d %d %d %d", a.DebitsPostedFen, a.CreditsPostedFen, a.DebitsPendingFen, a.CreditsPendingFen)
		})
		return reply, err

	case "lookup":
		v, shard, err := shardArgs(rt, f, 2)
		if err != nil {
			return "", err
		}
		var reply string
		err = inspect(rt, shard, func(l *ledger.Ledger) {
			t, ok := l.LookupTransfer(ledger.TransferID(v[1]))
			if !ok {
				reply = "absent"
				return
			}
			reply = fmt.Sprintf("present %d %d %d %d %d", t.DebitAccountID, t.CreditAccountID, t.AmountFen, t.Code, t.Flags)
		})
		return reply, err

	case "count":
		_, shard, err := shardArgs(rt, f, 1)
		if err != nil {
			return "", err
		}
		var reply string
		err = inspect(rt, shard, func(l *ledger.Ledger) {
			reply = fmt.Sprintf("%d %d", l.AccountsCount(), l.TransfersCount())
		})
		return reply, err

	case "dump":
		_, shard, err := shardArgs(rt, f, 1)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		err = inspect(rt, shard, func(l *ledger.Ledger) {
			l.ForEachAccount(func(a *ledger.Account) {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				fmt.Fprintf(&b, "%d:%d:%d:%d:%d:%d:%d", a.ID, a.Kind, a.Flags,
					a.DebitsPostedFen, a.CreditsPostedFen, a.DebitsPendingFen, a.CreditsPendingFen)
			})
		})
		return b.String(), err
	}
	return "", fmt.Errorf("unknown request %q", f[0])
}
