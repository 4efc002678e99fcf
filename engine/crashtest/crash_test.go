package crashtest

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/shardledger"
)

var (
	seedFlag  = flag.Int64("crash.seed", 0, "seed of the crash test (0: from the clock)")
	killsFlag = flag.Int("crash.kills", 6, "SIGKILLs while the drivers are mid-flight")
)

// The test's shape. Ids: accounts per shard are a funding account (may go negative) and
// membersPerShard no-overdraft members; transfer ids come from one counter, and every
// skipEvery-th id is never submitted, so the submitted range has holes that must stay empty.
const (
	shardsCount     = 8
	membersPerShard = 4
	drivers         = 8
	skipEvery       = 7
	snapshotEvery   = 100
	segmentBytes    = 128 << 10
	replyTimeout    = 10 * time.Second
)

func fundingID(shard uint32) uint64       { return 1000 + uint64(shard) }
func memberID(shard uint32, i int) uint64 { return 10_000 + uint64(shard)*100 + uint64(i) }
func inTransitID(shard uint32) uint64     { return uint64(shardledger.InTransitAccountID(shard)) }
func inLegID(id uint64) uint64            { return uint64(shardledger.InLegID(ledger.TransferID(id))) }

var accountShards = func() map[uint64]uint32 {
	m := map[uint64]uint32{}
	for s := uint32(0); s < shardsCount; s++ {
		m[fundingID(s)] = s
		for i := 0; i < membersPerShard; i++ {
			m[memberID(s, i)] = s
		}
	}
	return m
}()

// opState is what the driver learned of an operation.
type opState uint8

const (
	stUnknown opState = iota // sent, and the server died before answering (or never sent)
	stOK                     // answered ok, or exists on a retry of an unknown one
	stRefused                // answered exceeds_credits
)

type op struct {
	id      uint64
	move    bool
	shard   uint32 // where the op was submitted (the source shard of a move)
	debit   uint64
	credit  uint64 // for a move, the target account on toShard
	toShard uint32
	amount  int64
	state   opState
	retried bool
}

func (o *op) line() string {
	if o.move {
		return fmt.Sprintf("move %d %d %d %d %d %d", o.id, o.shard, o.debit, o.toShard, o.credit, o.amount)
	}
	return fmt.Sprintf("transfer %d %d %d %d %d", o.id, o.shard, o.debit, o.credit, o.amount)
}

// server is the process under test, restarted on the same data directory.
type server struct {
	t    *testing.T
	bin  string
	data string

	mu      sync.Mutex
	cmd     *exec.Cmd
	addr    string
	gen     int
	changed chan struct{} // closed at the next restart
	exited  chan error
	starts  int
}

func (s *server) start() {
	t := s.t
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	logf, err := os.OpenFile(filepath.Join(filepath.Dir(s.data), "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(logf, "--- start %d\n", s.starts)
	cmd := exec.Command(s.bin, "--data", s.data, "--listen", "127.0.0.1:0", "--shards", strconv.Itoa(shardsCount),
		"--snapshot-every", strconv.Itoa(snapshotEvery), "--segment-bytes", strconv.Itoa(segmentBytes))
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		io.Copy(io.Discard, stdout)
	}()
	exited := make(chan error, 1)
	var line string
	select {
	case line = <-lines:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("server start %d: no listening line in 15s\n%s", s.starts, s.log())
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if !ok {
		err := cmd.Wait()
		t.Fatalf("server start %d: got %q, exit %v\n%s", s.starts, line, err, s.log())
	}
	go func() { exited <- cmd.Wait() }()
	s.cmd, s.addr, s.exited = cmd, addr, exited
	s.gen++
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
}

// kill sends SIGKILL and waits until the process is gone.
func (s *server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if err := cmd.Process.Kill(); err != nil {
		s.t.Fatalf("kill: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		s.t.Fatal("server did not die in 10s after SIGKILL")
	}
}

// terminate sends SIGTERM and requires a clean exit.
func (s *server) terminate() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Fatalf("sigterm: %v", err)
	}
	select {
	case err := <-exited:
		if err != nil {
			s.t.Fatalf("server exit after SIGTERM: %v\n%s", err, s.log())
		}
	case <-time.After(10 * time.Second):
		s.t.Fatal("server did not exit in 10s after SIGTERM")
	}
}

func (s *server) current() (addr string, gen int, changed chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr, s.gen, s.changed
}

func (s *server) log() string {
	b, _ := os.ReadFile(filepath.Join(filepath.Dir(s.data), "server.log"))
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// conn is one client connection: one request line, one reply line.
type conn struct {
	c   net.Conn
	r   *bufio.Reader
	gen int
}

func dial(addr string, gen int) (*conn, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, r: bufio.NewReader(c), gen: gen}, nil
}

func (c *conn) do(line string) (string, error) {
	c.c.SetDeadline(time.Now().Add(replyTimeout))
	if _, err := io.WriteString(c.c, line+"\n"); err != nil {
		return "", err
	}
	reply, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(reply, "\n"), nil
}

func (c *conn) must(t *testing.T, line string) string {
	t.Helper()
	reply, err := c.do(line)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	if strings.HasPrefix(reply, "error") {
		t.Fatalf("%s: %s", line, reply)
	}
	return reply
}

// driver submits operations on its own connection, reconnecting after each kill.
type driver struct {
	t      *testing.T
	srv    *server
	rng    *rand.Rand
	nextID *atomic.Uint64
	ops    []*op
	retry  *op
	counts struct{ sent, lostReplies, retries int }
}

func (d *driver) newOp() *op {
	var id uint64
	for {
		id = d.nextID.Add(1)
		if id%skipEvery != 0 {
			break
		}
	}
	s := uint32(d.rng.Intn(shardsCount))
	o := &op{id: id, shard: s}
	switch p := d.rng.Intn(10); {
	case p < 4: // funding issues points: never refused
		o.debit, o.credit, o.amount = fundingID(s), memberID(s, d.rng.Intn(membersPerShard)), int64(1+d.rng.Intn(100))
	case p < 8: // member to member on one shard: refused when the debit member lacks the points
		i := d.rng.Intn(membersPerShard)
		j := (i + 1 + d.rng.Intn(membersPerShard-1)) % membersPerShard
		o.debit, o.credit, o.amount = memberID(s, i), memberID(s, j), int64(1+d.rng.Intn(300))
	default: // a move to a member of another shard
		o.move = true
		o.toShard = (s + 1 + uint32(d.rng.Intn(shardsCount-1))) % shardsCount
		o.debit, o.credit, o.amount = memberID(s, d.rng.Intn(membersPerShard)), memberID(o.toShard, d.rng.Intn(membersPerShard)), int64(1+d.rng.Intn(200))
	}
	d.ops = append(d.ops, o)
	return o
}

func (d *driver) run(stop <-chan struct{}) {
	var c *conn
	defer func() {
		if c != nil {
			c.c.Close()
		}
	}()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if c == nil {
			addr, gen, changed := d.srv.current()
			var err error
			if c, err = dial(addr, gen); err != nil {
				// The server we knew is dead; wait for its successor.
				select {
				case <-changed:
				case <-stop:
					return
				case <-time.After(time.Second):
				}
				continue
			}
		}
		o := d.retry
		d.retry = nil
		if o == nil {
			o = d.newOp()
		} else {
			o.retried = true
			d.counts.retries++
		}
		d.counts.sent++
		reply, err := c.do(o.line())
		if err != nil {
			// Killed mid-flight: the op may or may not be durable. Retry half of them on the
			// next server, with the same id and fields; leave the rest unknown.
			d.counts.lostReplies++
			c.c.Close()
			c = nil
			if d.rng.Intn(2) == 0 {
				d.retry = o
			}
			continue
		}
		switch {
		case reply == "ok":
			o.state = stOK
		case reply == "exists" && o.retried:
			o.state = stOK
		case reply == "exceeds_credits":
			o.state = stRefused
		default:
			d.t.Errorf("op %d (%s, retried %v): unexpected reply %q", o.id, o.line(), o.retried, reply)
			o.state = stUnknown
		}
	}
}

type transferFields struct {
	debit, credit uint64
	amount        int64
	code          uint64
}

func parseLookup(reply string) (transferFields, bool, error) {
	if reply == "absent" {
		return transferFields{}, false, nil
	}
	f := strings.Fields(reply)
	if len(f) != 6 || f[0] != "present" {
		return transferFields{}, false, fmt.Errorf("lookup reply %q", reply)
	}
	var v [5]uint64
	for i := range v {
		x, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return transferFields{}, false, fmt.Errorf("lookup reply %q: %v", reply, err)
		}
		v[i] = x
	}
	return transferFields{debit: v[0], credit: v[1], amount: int64(v[2]), code: v[3]}, true, nil
}

type accountRow struct {
	id, kind, flags                     uint64
	debits, credits, dPending, cPending int64
}

func parseDump(reply string) (map[uint64]accountRow, error) {
	rows := map[uint64]accountRow{}
	for _, f := range strings.Fields(reply) {
		p := strings.Split(f, ":")
		if len(p) != 7 {
			return nil, fmt.Errorf("dump entry %q", f)
		}
		var v [7]int64
		for i := range p {
			x, err := strconv.ParseUint(p[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("dump entry %q: %v", f, err)
			}
			v[i] = int64(x)
		}
		r := accountRow{id: uint64(v[0]), kind: uint64(v[1]), flags: uint64(v[2]), debits: v[3], credits: v[4], dPending: v[5], cPending: v[6]}
		rows[r.id] = r
	}
	return rows, nil
}

func goBinary() string {
	p := filepath.Join(goruntime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

// TestCrashKill9 runs the server as a real process, drives transfers and moves at it from
// several connections, kills it with SIGKILL at random moments and restarts it on the same
// data, then checks that every acknowledged transfer is there, nothing else is, and every
// balance is the sum of its transfers; finally it closes the server cleanly and replays the
// whole journal offline to the same state.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	began := time.Now()
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (rerun with -crash.seed=%d)", seed, seed)
	rng := rand.New(rand.NewSource(seed))

	dir := t.TempDir()
	bin := filepath.Join(dir, "server")
	build := exec.Command(goBinary(), "build", "-o", bin, "huigong/engine/crashtest/server")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build server: %v\n%s", err, out)
	}
	t.Logf("built server in %v", time.Since(began).Round(time.Millisecond))

	srv := &server{t: t, bin: bin, data: filepath.Join(dir, "data")}
	t.Cleanup(func() {
		srv.mu.Lock()
		cmd := srv.cmd
		srv.mu.Unlock()
		if cmd != nil && cmd.Process != nil {
			cmd.Process.Kill() // harmless if it has exited already
		}
		if t.Failed() {
			t.Logf("server log:\n%s", srv.log())
		}
	})
	srv.start()

	// The accounts, acknowledged before any kill.
	{
		addr, gen, _ := srv.current()
		c, err := dial(addr, gen)
		if err != nil {
			t.Fatal(err)
		}
		for s := uint32(0); s < shardsCount; s++ {
			if r := c.must(t, fmt.Sprintf("account %d %d federation_funding 0", fundingID(s), s)); r != "ok" {
				t.Fatalf("funding account: %s", r)
			}
			for i := 0; i < membersPerShard; i++ {
				if r := c.must(t, fmt.Sprintf("account %d %d member_points %d", memberID(s, i), s, ledger.AccountNoOverdraft)); r != "ok" {
					t.Fatalf("member account: %s", r)
				}
			}
		}
		c.c.Close()
	}

	// Drive, and kill at random moments.
	var nextID atomic.Uint64
	stop := make(chan struct{})
	ds := make([]*driver, drivers)
	var wg sync.WaitGroup
	for i := range ds {
		ds[i] = &driver{t: t, srv: srv, rng: rand.New(rand.NewSource(rng.Int63())), nextID: &nextID}
		wg.Add(1)
		go func(d *driver) {
			defer wg.Done()
			d.run(stop)
		}(ds[i])
	}
	stopDrivers := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopDrivers)
	kills := *killsFlag
	var downtime time.Duration
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(150+rng.Intn(650)) * time.Millisecond)
		before := nextID.Load()
		at := time.Now()
		srv.kill()
		srv.start()
		downtime += time.Since(at)
		t.Logf("kill %d at id %d; restarted in %v", k+1, before, time.Since(at).Round(time.Millisecond))
	}
	time.Sleep(300 * time.Millisecond) // let the drivers settle their retries on the last server
	stopDrivers()
	if t.Failed() {
		return
	}

	// A final kill with nothing in flight, so what is checked is what recovery rebuilt.
	srv.kill()
	srv.start()

	var all []*op
	var sent, lost, retries int
	for _, d := range ds {
		all = append(all, d.ops...)
		sent += d.counts.sent
		lost += d.counts.lostReplies
		retries += d.counts.retries
	}
	byID := map[uint64]*op{}
	for _, o := range all {
		byID[o.id] = o
	}
	maxID := nextID.Load()

	addr, gen, _ := srv.current()
	cs := make([]*conn, drivers)
	for i := range cs {
		c, err := dial(addr, gen)
		if err != nil {
			t.Fatal(err)
		}
		defer c.c.Close()
		cs[i] = c
	}

	// Moves settle by messages after recovery: wait until every present move has its in-leg.
	type lookupKey struct {
		shard uint32
		id    uint64
	}
	lookupAll := func(keys []lookupKey) map[lookupKey]string {
		replies := make([]string, len(keys))
		var wg sync.WaitGroup
		for w := range cs {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < len(keys); i += len(cs) {
					r, err := cs[w].do(fmt.Sprintf("lookup %d %d", keys[i].shard, keys[i].id))
					if err != nil {
						r = "error " + err.Error()
					}
					replies[i] = r
				}
			}(w)
		}
		wg.Wait()
		m := make(map[lookupKey]string, len(keys))
		for i, k := range keys {
			m[k] = replies[i]
		}
		return m
	}
	var keys []lookupKey
	for _, o := range all {
		keys = append(keys, lookupKey{o.shard, o.id})
		if o.move {
			keys = append(keys, lookupKey{o.toShard, inLegID(o.id)})
		}
	}
	var look map[lookupKey]string
	deadline := time.Now().Add(10 * time.Second)
	for {
		look = lookupAll(keys)
		unsettled := 0
		for _, o := range all {
			if o.move && strings.HasPrefix(look[lookupKey{o.shard, o.id}], "present") && look[lookupKey{o.toShard, inLegID(o.id)}] == "absent" {
				unsettled++
			}
		}
		if unsettled == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d moves still without their in-leg after 10s", unsettled)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Every op: acknowledged ok is present with its fields, refused is absent, unknown is
	// either absent or present with its fields. Sum the present ones into balances.
	type sums struct{ debits, credits int64 }
	want := map[uint64]*sums{}
	for id := range accountShards {
		want[id] = &sums{}
	}
	for s := uint32(0); s < shardsCount; s++ {
		want[inTransitID(s)] = &sums{}
	}
	present := make([]map[uint64]bool, shardsCount) // by shard: transfer ids the server reports
	for s := range present {
		present[s] = map[uint64]bool{}
	}
	var nOK, nRefused, nUnknown, nUnknownPresent, nMoves int
	for _, o := range all {
		got, ok, err := parseLookup(look[lookupKey{o.shard, o.id}])
		if err != nil {
			t.Fatalf("op %d: %v", o.id, err)
		}
		switch o.state {
		case stOK:
			nOK++
			if !ok {
				t.Errorf("op %d acknowledged ok (%s) is absent after recovery", o.id, o.line())
			}
		case stRefused:
			nRefused++
			if ok {
				t.Errorf("op %d refused (%s) is present after recovery: %+v", o.id, o.line(), got)
			}
		default:
			nUnknown++
			if ok {
				nUnknownPresent++
			}
		}
		if !ok {
			if o.move {
				if r := look[lookupKey{o.toShard, inLegID(o.id)}]; r != "absent" {
					t.Errorf("move %d is absent but its in-leg is on shard %d: %s", o.id, o.toShard, r)
				}
			}
			continue
		}
		present[o.shard][o.id] = true
		first := transferFields{debit: o.debit, credit: o.credit, amount: o.amount, code: uint64(ledger.CodeIssue)}
		if o.move {
			first = transferFields{debit: o.debit, credit: inTransitID(o.shard), amount: o.amount, code: uint64(ledger.CodeMove)}
		}
		if got != first {
			t.Errorf("op %d (%s): present as %+v, want %+v", o.id, o.line(), got, first)
			continue
		}
		want[first.debit].debits += o.amount
		want[first.credit].credits += o.amount
		if o.move {
			nMoves++
			leg, ok, err := parseLookup(look[lookupKey{o.toShard, inLegID(o.id)}])
			wantLeg := transferFields{debit: inTransitID(o.toShard), credit: o.credit, amount: o.amount, code: uint64(ledger.CodeMove)}
			if err != nil || !ok || leg != wantLeg {
				t.Errorf("move %d: in-leg %+v present %v (%v), want %+v", o.id, leg, ok, err, wantLeg)
				continue
			}
			present[o.toShard][inLegID(o.id)] = true
			want[leg.debit].debits += o.amount
			want[leg.credit].credits += o.amount
		}
	}

	// Ids never submitted are absent everywhere: every hole in the range and 100 ids past it, on
	// every shard; and each shard holds no transfer beyond those found above (its count).
	var never []uint64
	for id := uint64(skipEvery); id <= maxID; id += skipEvery {
		never = append(never, id)
	}
	for i := uint64(1); i <= 100; i++ {
		never = append(never, maxID+i)
	}
	var neverKeys []lookupKey
	for _, id := range never {
		if byID[id] != nil {
			t.Fatalf("id %d meant to be never submitted was", id)
		}
		for s := uint32(0); s < shardsCount; s++ {
			neverKeys = append(neverKeys, lookupKey{s, id})
		}
	}
	for k, r := range lookupAll(neverKeys) {
		if r != "absent" {
			t.Errorf("id %d, never submitted, on shard %d: %s", k.id, k.shard, r)
		}
	}
	accountsWant := 1 + 1 + membersPerShard
	dumps := make([]map[uint64]accountRow, shardsCount)
	for s := uint32(0); s < shardsCount; s++ {
		f := strings.Fields(cs[0].must(t, fmt.Sprintf("count %d", s)))
		if len(f) != 2 {
			t.Fatalf("count %d: %v", s, f)
		}
		accounts, _ := strconv.Atoi(f[0])
		transfers, _ := strconv.Atoi(f[1])
		if accounts != accountsWant || transfers != len(present[s]) {
			t.Errorf("shard %d holds %d accounts and %d transfers, want %d and %d (the present ones)",
				s, accounts, transfers, accountsWant, len(present[s]))
		}
		rows, err := parseDump(cs[0].must(t, fmt.Sprintf("dump %d", s)))
		if err != nil {
			t.Fatal(err)
		}
		dumps[s] = rows
		var total int64
		for id, r := range rows {
			w := want[id]
			if w == nil {
				t.Errorf("shard %d: unexpected account %d", s, id)
				continue
			}
			if r.debits != w.debits || r.credits != w.credits || r.dPending != 0 || r.cPending != 0 {
				t.Errorf("shard %d account %d: debits %d credits %d (pending %d/%d), want the sums of its present transfers: debits %d credits %d",
					s, id, r.debits, r.credits, r.dPending, r.cPending, w.debits, w.credits)
			}
			if r.flags&uint64(ledger.AccountNoOverdraft) != 0 && r.credits < r.debits {
				t.Errorf("shard %d account %d is no-overdraft and overdrawn: %d < %d", s, id, r.credits, r.debits)
			}
			total += r.credits - r.debits
		}
		if total != 0 {
			t.Errorf("shard %d: balances sum to %d, want 0", s, total)
		}
		if len(rows) != accountsWant {
			t.Errorf("shard %d: dump has %d accounts, want %d", s, len(rows), accountsWant)
		}
	}
	if t.Failed() {
		return
	}

	// A clean stop, then the whole journal, archived segments included, replayed offline from
	// its first record must hold exactly the transfers found present and the same balances.
	for _, c := range cs {
		c.c.Close()
	}
	srv.terminate()
	archived, live, records := replayJournal(t, filepath.Join(srv.data, "journal"), present, dumps)

	t.Logf("%d ops sent (%d retries), %d ok, %d refused, %d unknown (%d of them present), %d moves present; "+
		"%d replies lost to kills; ids up to %d; journal %d records in %d archived + %d live segments; "+
		"%d server starts; restart downtime %v; total %v",
		sent, retries, nOK, nRefused, nUnknown, nUnknownPresent, nMoves, lost, maxID,
		records, archived, live, srv.starts, downtime.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if nRefused == 0 || nOK == 0 {
		t.Errorf("the workload should have both acknowledged and refused transfers: %d ok, %d refused", nOK, nRefused)
	}
	if lost == 0 {
		t.Errorf("no kill caught an op in flight")
	}
}

// replayJournal copies every segment, live and archived, into one directory, replays it from
// LSN 1 onto fresh machines and compares with what the server reported.
func replayJournal(t *testing.T, dir string, present []map[uint64]bool, dumps []map[uint64]accountRow) (archived, live, records int) {
	t.Helper()
	flat := filepath.Join(t.TempDir(), "journal")
	if err := os.MkdirAll(flat, 0o755); err != nil {
		t.Fatal(err)
	}
	copyWAL := func(from string) int {
		entries, err := os.ReadDir(from)
		if errors.Is(err, os.ErrNotExist) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".wal") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(from, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(flat, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	archived = copyWAL(filepath.Join(dir, "archive"))
	live = copyWAL(dir)

	j, err := journal.Open(flat, journal.Options{})
	if err != nil {
		t.Fatalf("open the flattened journal: %v", err)
	}
	defer j.Close()
	if rec := j.Recovery(); rec.TailCutBytes != 0 || rec.FirstLSN != 1 {
		t.Errorf("journal after a clean stop: %+v", rec)
	}
	machines := make([]*shardledger.Machine, len(present))
	journaled := make([]map[uint64]bool, len(present))
	for s := range machines {
		machines[s] = shardledger.New(uint32(s))
		journaled[s] = map[uint64]bool{}
	}
	index := make([]uint64, len(present))
	err = j.Replay(1, func(lsn uint64, rec journal.Record) error {
		records++
		if int(rec.Shard) >= len(machines) {
			return fmt.Errorf("record %d names shard %d", lsn, rec.Shard)
		}
		if rec.Index != index[rec.Shard]+1 {
			return fmt.Errorf("record %d of shard %d has index %d after %d", lsn, rec.Shard, rec.Index, index[rec.Shard])
		}
		index[rec.Shard] = rec.Index
		events, err := recordEvents(rec.Payload)
		if err != nil {
			return fmt.Errorf("record %d: %w", lsn, err)
		}
		if err := machines[rec.Shard].Apply(events); err != nil {
			return fmt.Errorf("record %d: %w", lsn, err)
		}
		for len(events) > 0 {
			e, n, err := ledger.DecodeEvent(events)
			if err != nil {
				return err
			}
			events = events[n:]
			if e.Kind == ledger.EventTransferCreated {
				if journaled[rec.Shard][uint64(e.Transfer.ID)] {
					return fmt.Errorf("record %d: transfer %d created twice on shard %d", lsn, e.Transfer.ID, rec.Shard)
				}
				journaled[rec.Shard][uint64(e.Transfer.ID)] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("replay the whole journal: %v", err)
	}
	for s := range machines {
		if !maps.Equal(journaled[s], present[s]) {
			var missing, extra []uint64
			for id := range present[s] {
				if !journaled[s][id] {
					missing = append(missing, id)
				}
			}
			for id := range journaled[s] {
				if !present[s][id] {
					extra = append(extra, id)
				}
			}
			slices.Sort(missing)
			slices.Sort(extra)
			t.Errorf("shard %d: the journal lacks %d present transfers %v and has %d others %v",
				s, len(missing), head(missing), len(extra), head(extra))
		}
		if err := machines[s].CheckInvariants(); err != nil {
			t.Errorf("shard %d replayed: %v", s, err)
		}
		n := 0
		machines[s].Ledger().ForEachAccount(func(a *ledger.Account) {
			n++
			r, ok := dumps[s][uint64(a.ID)]
			if !ok || r.debits != a.DebitsPostedFen || r.credits != a.CreditsPostedFen {
				t.Errorf("shard %d account %d replayed from the journal: debits %d credits %d; the server had %+v",
					s, a.ID, a.DebitsPostedFen, a.CreditsPostedFen, r)
			}
		})
		if n != len(dumps[s]) {
			t.Errorf("shard %d: %d accounts replayed, the server had %d", s, n, len(dumps[s]))
		}
	}
	return archived, live, records
}

// recordEvents takes the machine's events out of a runtime record payload: a format version
// byte (1), the events' length as a little-endian uint32, the events, then the runtime's own
// envelope changes, which this test does not read.
func recordEvents(payload []byte) ([]byte, error) {
	if len(payload) < 5 || payload[0] != 1 {
		return nil, fmt.Errorf("record payload of %d bytes, version %v", len(payload), payload[:min(1, len(payload))])
	}
	n := binary.LittleEndian.Uint32(payload[1:])
	if uint64(len(payload)-5) < uint64(n) {
		return nil, fmt.Errorf("record payload of %d bytes holds %d bytes of events", len(payload), n)
	}
	return payload[5 : 5+n], nil
}

func head(ids []uint64) []uint64 { return ids[:min(len(ids), 10)] }
