package welfare_test

// Scenario tests as data: the scripts in testdata/*.txt are run by
// github.com/cockroachdb/datadriven against welfare.State directly, several shards in memory.
// After changing the decider, regenerate the expected outputs with
//
//	go test ./engine/welfare/ -run TestScenarios -rewrite
//
// and read the diff as a reviewer would before committing it.
//
// # Units
//
// Amounts are yuan with exactly two decimals ("800.00", "0.01", "-1.00"), parsed exactly into int64 fen
// by joining the digits, never through a float; outputs print fen the same way. Times are
// Asia/Shanghai calendar dates, "2026-02-01" (the start of that day, through
// welfare.DaysFromCivil and welfare.DayStartNanos), or "2026-02-28T23:59" for a time of day.
// A program's window runs from the start of its from date up to, not including, the start of
// its to date.
//
// # Directives
//
// Every directive may carry date=D, which sets the batch time for it and for the directives
// after it that name none (it starts at 2026-01-01). shard=N picks a shard (default 0).
//
//	shards count=N        start over with N empty shards (each file starts with 2)
//	exec [shard=N]        each input line is one command, decided at once on that shard (one
//	                      Execute call a line, so the checks below run after every command);
//	                      prints one "<verb> <first value>: <code> [details]" line a command,
//	                      each refused member of an issuance as "  member <id>: <code>", and
//	                      each message the command sent as "sent <from>-><to> <message>"
//	tick [shard=N]        Tick every shard (or one) at the batch time; prints the welfare
//	                      events and messages of each shard that did something
//	deliver [count=N]     deliver the queued messages, oldest first, until none is left (or N
//	                      of them); messages sent while delivering join the queue
//	spend member=M program=P amount=A [hold] [shard=N]
//	                      a merchant's transfer out of M's points account of program P, made
//	                      directly on the shard's ledger (welfare has no spend command: the mall
//	                      spends through the ledger); hold makes it a pending transfer, as an
//	                      order's hold of points
//	events                every event (ledger and welfare) of the last directive, by shard
//	member id=M           the member, its cap counts and holdings, on each shard it is on
//	budget union=U        the union and its available budget
//	program id=P          the program on each shard that holds it or a copy of it
//	balances [shard=N]    every ledger account of every shard (or one), named by owner
//	config [shard=N]      the federation's configuration as each shard (or one) holds it
//	next-deadline         each shard's NextDeadlineNanos
//
// # Commands (exec input lines)
//
//	create-union id=U name=S [parent=U] [officers=(O, ...)]
//	add-officer union=U officer=O
//	register member=M union=U [unregistered] [unpaid]
//	fund transfer=T union=U amount=A
//	create-program id=P union=U officer=O category=C amount=A from=D to=D [name=S]
//	               [categories=(S, ...)] [skus=(K, ...)] [merchants=(K, ...)]
//	               [choose=N options=(K, ...)]
//	update-program id=P officer=O amount=A from=D to=D [union=U] [category=C] [name=S]
//	               [categories=(S, ...)] [skus=(K, ...)] [merchants=(K, ...)]
//	approve program=P officer=O
//	issue program=P officer=O [members=(M, ...)] [amounts=(A, ...)]
//	revoke program=P officer=O
//	claim member=M program=P choices=(K, ...)
//	move member=M to-union=U to-shard=N
//	set-config version=V [threshold=A] [cap-<category>=A|none] [calendar=empty]
//	           [festival=name:D:D ...]   (starts from the shard's current configuration)
//	set-pickup id=K name=S [unions=(U, ...)] [keepers=(O, ...)]
//	set-merchant id=K name=S [approved]
//	add-federation-officer officer=O
//	award id=A member=M program=P amount=A kind=S
//	reverse-award id=A
//
// A category is a name of welfare.Category.String or a raw number. Input lines that start
// with # are comments.
//
// # What the harness checks
//
// After every command, tick, delivery and spend, on the shard it ran on:
//   - CheckInvariants of the live state is nil.
//   - Every event round-trips through the codecs (ledger.DecodeEvent/AppendEvent for ledger
//     events, welfare.DecodeEvent/AppendEvent for welfare events) to the same bytes.
//   - The events are applied, through Apply, to a replay State of that shard, which passes
//     CheckInvariants and whose AppendSnapshot equals the live one's, byte for byte.
//
// After every directive, when no message is queued, the in-transit accounts of all shards sum
// to zero: nothing is lost or made between shards. At the end of each file, the replays equal
// the live states again, and Restore of each live snapshot gives the same bytes back.

import (
	"bytes"
	"encoding/json"
	"fmt"
	scen "huigong/engine/internal/scenario"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"huigong/engine/ledger"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		s := newScenario(2)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := s.run(d)
			if err != nil {
				d.Fatalf(t, "%v", err)
			}
			if err := s.checkInTransit(); err != nil {
				d.Fatalf(t, "%v", err)
			}
			return out
		})
		if err := s.checkEnd(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	})
}

// resultLineRe matches the lines that print a code: "<verb> <id>: <code>..." for a command, and
// "  member <id>: <code>..." for a refused member. No other output has a number followed by a
// colon and a word.
var resultLineRe = regexp.MustCompile(`^\s*[a-z-]+ [0-9]+: ([a-z_]+)(?: |$)`)

// unreachableCodes are the codes no scenario can expect, each with the reason: a code declared
// in command.go that no path of the decider returns. A code listed here that a scenario does
// expect fails the test too, so the list cannot go stale. It is empty: program_has_issued, once
// unreachable, is UpdateProgram's since f52438f.
var unreachableCodes = map[welfare.Code]string{}

// orderCodes are the codes of the checkout saga (order.go), which this harness's DSL does not
// drive: the order scenarios (testdata_orders/, run by their own harness) cover them. Like
// unreachableCodes, a code listed here that a scenario of testdata/ expects fails the test.
var orderCodes = map[welfare.Code]bool{
	welfare.InvalidOrder: true, welfare.NotEligible: true, welfare.InsufficientPoints: true,
	welfare.SoldOut: true, welfare.LimitExceeded: true, welfare.PriceChanged: true, welfare.NotListed: true,
	welfare.UnknownOrder: true, welfare.WrongOrderState: true, welfare.LatePayment: true,
	welfare.PaymentTimeout: true, welfare.CheckoutTimeout: true, welfare.Cancelled: true,
	welfare.Uncollected: true, welfare.NotHandedOut: true, welfare.ReturnWindowClosed: true,
	welfare.UnknownSKU: true, welfare.InvalidSKU: true, welfare.InvalidQuantity: true,
}

// TestScenarioCoversEveryCode fails if some code of welfare.Codes() is never the expected
// output of a scenario, so that "the scenarios cover every code" is checked, not just claimed;
// a new code fails it until a scenario expects it or it is listed above with its reason. It
// also fails on a code name that welfare does not know, which catches a typo in a hand-edited
// file.
func TestScenarioCoversEveryCode(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no testdata/*.txt files")
	}
	byName := map[string]welfare.Code{}
	for _, c := range welfare.Codes() {
		byName[c.String()] = c
	}
	seen := map[welfare.Code][]string{}
	for _, path := range paths {
		for _, line := range scen.ExpectedLines(t, path) {
			m := resultLineRe.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			c, ok := byName[m[1]]
			if !ok {
				t.Errorf("%s: %q names no code", path, line)
				continue
			}
			seen[c] = append(seen[c], filepath.Base(path))
		}
	}
	for _, c := range welfare.Codes() {
		_, exempt := unreachableCodes[c]
		exempt = exempt || orderCodes[c]
		switch {
		case len(seen[c]) == 0 && !exempt:
			t.Errorf("no scenario expects %s", c)
		case len(seen[c]) > 0 && exempt:
			t.Errorf("%s is exempt, but %v expect it: take it off its list", c, slices.Compact(seen[c]))
		}
	}
}

// scenario is the state of one testdata file: the live shards, a replay of each built only by
// Apply of the live shard's events, and the messages between shards not yet delivered.
type scenario struct {
	live     []*welfare.State
	replay   []*welfare.State
	nowNanos int64
	queue    []message
	// last holds the events of the last directive, for the events directive.
	last []shardEvents
	// spends numbers the transfers of the spend directive.
	spends uint64
}

type message struct {
	from, to uint32
	payload  []byte
}

type shardEvents struct {
	shard  uint32
	events []byte
}

// The harness's own ledger ids, in the client range: the merchants' receivable accounts and the
// spend transfers, far from the small ids the scripts give funding transfers.
const (
	merchantAccountBase = 1 << 40
	spendTransferBase   = 1 << 41
	merchantAccount     = merchantAccountBase + 1
)

// welfareIDBase is where the decider numbers its own accounts and transfers; the harness prints
// those ids as #N, N counted from there.
const welfareIDBase = ledger.ReservedIDMin + 1<<40

func newScenario(shardsCount uint32) *scenario {
	s := &scenario{nowNanos: dateNanos(2026, 1, 1)}
	for i := uint32(0); i < shardsCount; i++ {
		s.live = append(s.live, welfare.New(i, shardsCount))
		s.replay = append(s.replay, welfare.New(i, shardsCount))
	}
	return s
}

func (s *scenario) run(d *datadriven.TestData) (string, error) {
	if arg, ok := d.Arg("date"); ok {
		nanos, err := parseTime(arg.Vals[0])
		if err != nil {
			return "", err
		}
		s.nowNanos = nanos
	}
	shard, all, err := s.shardArg(d)
	if err != nil {
		return "", err
	}
	switch d.Cmd {
	case "shards", "exec", "tick", "deliver", "spend":
		s.last = s.last[:0] // The events directive shows what the last of these did.
	}
	switch d.Cmd {
	case "shards":
		var n uint32
		if arg, ok := d.Arg("count"); !ok || len(arg.Vals) != 1 {
			return "", fmt.Errorf("shards needs count=N")
		} else if v, err := strconv.ParseUint(arg.Vals[0], 10, 32); err != nil || v == 0 {
			return "", fmt.Errorf("count=%s", arg.Vals[0])
		} else {
			n = uint32(v)
		}
		*s = *newScenario(n)
		return fmt.Sprintf("%d shards", n), nil
	case "exec":
		return s.exec(d, shard)
	case "tick":
		return s.tick(shard, all)
	case "deliver":
		count := -1
		if arg, ok := d.Arg("count"); ok {
			n, err := strconv.Atoi(arg.Vals[0])
			if err != nil {
				return "", fmt.Errorf("count: %w", err)
			}
			count = n
		}
		return s.deliver(count)
	case "spend":
		return s.spend(d, shard)
	case "events":
		return s.events(), nil
	case "member", "budget", "program":
		key := map[string]string{"member": "id", "budget": "union", "program": "id"}[d.Cmd]
		arg, ok := d.Arg(key)
		if !ok || len(arg.Vals) != 1 {
			return "", fmt.Errorf("%s needs %s=N", d.Cmd, key)
		}
		id, err := strconv.ParseUint(arg.Vals[0], 10, 64)
		if err != nil {
			return "", fmt.Errorf("%s: %w", key, err)
		}
		switch d.Cmd {
		case "member":
			return s.printMember(welfare.MemberID(id)), nil
		case "budget":
			return s.printBudget(welfare.UnionID(id)), nil
		}
		return s.printProgram(welfare.ProgramID(id)), nil
	case "balances":
		return s.printBalances(shard, all), nil
	case "config":
		return s.printConfig(shard, all), nil
	case "next-deadline":
		var b strings.Builder
		for i, st := range s.live {
			if next, ok := st.NextDeadlineNanos(); ok {
				fmt.Fprintf(&b, "shard %d next=%s\n", i, formatTime(next))
			} else {
				fmt.Fprintf(&b, "shard %d next=none\n", i)
			}
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("unknown directive %q", d.Cmd)
}

// shardArg returns the shard=N argument, and whether none was given (every shard, for the
// directives that can act on all).
func (s *scenario) shardArg(d *datadriven.TestData) (uint32, bool, error) {
	arg, ok := d.Arg("shard")
	if !ok {
		return 0, true, nil
	}
	n, err := strconv.ParseUint(arg.Vals[0], 10, 32)
	if err != nil || n >= uint64(len(s.live)) {
		return 0, false, fmt.Errorf("shard=%s: there are %d shards", arg.Vals[0], len(s.live))
	}
	return uint32(n), false, nil
}

// record checks a shard's output, applies its events to the replay, queues its messages, and
// returns one "sent" line per message.
func (s *scenario) record(shard uint32, out *welfare.Output) ([]string, error) {
	if err := s.checkEvents(shard, out.Events); err != nil {
		return nil, err
	}
	s.last = append(s.last, shardEvents{shard: shard, events: slices.Clone(out.Events)})
	var sent []string
	for _, o := range out.Outgoing {
		if o.ToShard >= uint32(len(s.live)) || o.ToShard == shard {
			return nil, fmt.Errorf("shard %d sent a message to shard %d", shard, o.ToShard)
		}
		s.queue = append(s.queue, message{from: shard, to: o.ToShard, payload: slices.Clone(o.Payload)})
		sent = append(sent, fmt.Sprintf("sent %d->%d %s", shard, o.ToShard, formatMessage(o.Payload)))
	}
	out.Reset()
	return sent, nil
}

// checkEvents runs the per-command checks of the file comment on one shard's events.
func (s *scenario) checkEvents(shard uint32, events []byte) error {
	if err := s.live[shard].CheckInvariants(); err != nil {
		return fmt.Errorf("shard %d live: %w", shard, err)
	}
	if _, err := decodeEvents(events); err != nil {
		return fmt.Errorf("shard %d: %w", shard, err)
	}
	if err := s.replay[shard].Apply(events); err != nil {
		return fmt.Errorf("shard %d replay: %w", shard, err)
	}
	if err := s.replay[shard].CheckInvariants(); err != nil {
		return fmt.Errorf("shard %d replay: %w", shard, err)
	}
	if !bytes.Equal(s.live[shard].AppendSnapshot(nil), s.replay[shard].AppendSnapshot(nil)) {
		return fmt.Errorf("shard %d: the replay of the events differs from the live state", shard)
	}
	return nil
}

// checkInTransit checks, when no message is on its way, that the shards' in-transit accounts sum
// to zero: every move and return that left one shard arrived at another.
func (s *scenario) checkInTransit() error {
	if len(s.queue) > 0 {
		return nil
	}
	var sumFen int64
	for i, st := range s.live {
		a, _ := st.Ledger().Account(welfare.InTransitAccountID(uint32(i)))
		sumFen += a.BalanceFen()
	}
	if sumFen != 0 {
		return fmt.Errorf("no message is queued, yet the in-transit accounts sum to %s", scen.Yuan(sumFen))
	}
	return nil
}

func (s *scenario) checkEnd() error {
	for i := range s.live {
		live := s.live[i].AppendSnapshot(nil)
		if !bytes.Equal(live, s.replay[i].AppendSnapshot(nil)) {
			return fmt.Errorf("shard %d: at the end, the replay differs from the live state", i)
		}
		restored := welfare.New(uint32(i), uint32(len(s.live)))
		if err := restored.Restore(live); err != nil {
			return fmt.Errorf("shard %d: restore: %w", i, err)
		}
		if !bytes.Equal(restored.AppendSnapshot(nil), live) {
			return fmt.Errorf("shard %d: the restored snapshot differs from the live one", i)
		}
		if err := restored.CheckInvariants(); err != nil {
			return fmt.Errorf("shard %d restored: %w", i, err)
		}
	}
	return nil
}

// decoded is one event of a batch: ledger, stock or welfare.
type decoded struct {
	ledger  *ledger.Event
	stock   *stock.Event
	welfare *welfare.Event
}

// decodeEvents decodes a batch's events, checking that each encodes back to its own bytes.
func decodeEvents(events []byte) ([]decoded, error) {
	var all []decoded
	for len(events) > 0 {
		if stock.IsEvent(events[0]) {
			e, n, err := stock.DecodeEvent(events)
			if err != nil {
				return nil, err
			}
			if again := stock.AppendEvent(nil, &e); !bytes.Equal(again, events[:n]) {
				return nil, fmt.Errorf("stock event %d re-encodes to other bytes", events[0])
			}
			all = append(all, decoded{stock: &e})
			events = events[n:]
			continue
		}
		if welfare.EventKind(events[0]) >= welfare.EventConfigSet {
			e, n, err := welfare.DecodeEvent(events)
			if err != nil {
				return nil, err
			}
			if again := welfare.AppendEvent(nil, &e); !bytes.Equal(again, events[:n]) {
				return nil, fmt.Errorf("welfare event %s re-encodes to other bytes:\n%q\n%q", eventNames[e.Kind], again, events[:n])
			}
			all = append(all, decoded{welfare: &e})
			events = events[n:]
			continue
		}
		e, n, err := ledger.DecodeEvent(events)
		if err != nil {
			return nil, err
		}
		if again := ledger.AppendEvent(nil, &e); !bytes.Equal(again, events[:n]) {
			return nil, fmt.Errorf("ledger event %s re-encodes to other bytes", e.Kind)
		}
		all = append(all, decoded{ledger: &e})
		events = events[n:]
	}
	return all, nil
}

// Directives that change state.

func (s *scenario) exec(d *datadriven.TestData, shard uint32) (string, error) {
	var b strings.Builder
	var out welfare.Output
	for _, raw := range strings.Split(d.Input, "\n") {
		raw = strings.TrimSpace(raw)
		if raw == "" || strings.HasPrefix(raw, "#") {
			continue
		}
		cmd, label, err := s.parseCommand(shard, raw)
		if err != nil {
			return "", fmt.Errorf("%q: %w", raw, err)
		}
		results := make([]welfare.Result, 1)
		s.live[shard].Execute(s.nowNanos, []welfare.Command{cmd}, results, &out)
		sent, err := s.record(shard, &out)
		if err != nil {
			return "", fmt.Errorf("%q: %w", raw, err)
		}
		b.WriteString(formatResult(label, &cmd, &results[0]))
		for _, line := range sent {
			b.WriteString(line + "\n")
		}
	}
	return b.String(), nil
}

func (s *scenario) tick(shard uint32, all bool) (string, error) {
	var b strings.Builder
	var out welfare.Output
	for i := range s.live {
		if !all && uint32(i) != shard {
			continue
		}
		s.live[i].Tick(s.nowNanos, &out)
		events := slices.Clone(out.Events)
		sent, err := s.record(uint32(i), &out)
		if err != nil {
			return "", err
		}
		lines, err := s.welfareLines(uint32(i), events)
		if err != nil {
			return "", err
		}
		if len(lines)+len(sent) == 0 {
			continue
		}
		fmt.Fprintf(&b, "shard %d:\n", i)
		for _, line := range append(lines, sent...) {
			b.WriteString("  " + line + "\n")
		}
	}
	if b.Len() == 0 {
		return "nothing due", nil
	}
	return b.String(), nil
}

// deliverStepsMax bounds one deliver directive, so that two shards bouncing a message forever
// fail the test instead of hanging it.
const deliverStepsMax = 1000

func (s *scenario) deliver(count int) (string, error) {
	if len(s.queue) == 0 {
		return "no messages", nil
	}
	var b strings.Builder
	var out welfare.Output
	for steps := 0; len(s.queue) > 0 && count != 0; steps++ {
		if steps == deliverStepsMax {
			return "", fmt.Errorf("still delivering after %d messages", steps)
		}
		m := s.queue[0]
		s.queue = s.queue[1:]
		count--
		if err := s.live[m.to].Receive(s.nowNanos, m.from, m.payload, &out); err != nil {
			return "", fmt.Errorf("shard %d receive from %d: %w", m.to, m.from, err)
		}
		events := slices.Clone(out.Events)
		sent, err := s.record(m.to, &out)
		if err != nil {
			return "", err
		}
		lines, err := s.welfareLines(m.to, events)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "delivered %d->%d %s\n", m.from, m.to, formatMessage(m.payload))
		for _, line := range append(lines, sent...) {
			b.WriteString("  " + line + "\n")
		}
	}
	if len(s.queue) > 0 {
		fmt.Fprintf(&b, "%d still queued\n", len(s.queue))
	}
	return b.String(), nil
}

// ledgerBatch runs one ledger command of the harness directly on a shard's ledger, and feeds its
// events to the replay as the runtime would journal them.
func (s *scenario) ledgerBatch(shard uint32, c ledger.Command) (ledger.Result, error) {
	results := make([]ledger.Result, 1)
	events := s.live[shard].Ledger().Execute(s.nowNanos, []ledger.Command{c}, results, nil)
	var encoded []byte
	for i := range events {
		encoded = ledger.AppendEvent(encoded, &events[i])
	}
	if err := s.checkEvents(shard, encoded); err != nil {
		return 0, err
	}
	s.last = append(s.last, shardEvents{shard: shard, events: encoded})
	return results[0], nil
}

func (s *scenario) spend(d *datadriven.TestData, shard uint32) (string, error) {
	a := directiveArgs(d)
	member, program, amountFen, hold := a.uint("member", true), a.uint("program", true), a.yuan("amount", true), a.flag("hold")
	if err := a.done(); err != nil {
		return "", err
	}
	r, err := s.spendFen(shard, welfare.MemberID(member), welfare.ProgramID(program), amountFen, hold)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("spend transfer=%d result=%s", s.spends, r), nil
}

// spendFen moves amountFen out of a member's points account of a program to a merchant, or
// holds it for one, as the mall does through the ledger.
func (s *scenario) spendFen(shard uint32, member welfare.MemberID, program welfare.ProgramID, amountFen int64, hold bool) (ledger.Result, error) {
	m, ok := s.live[shard].Member(member)
	if !ok {
		return 0, fmt.Errorf("member %d is not on shard %d", member, shard)
	}
	h, ok := m.Holding(program)
	if !ok {
		return 0, fmt.Errorf("member %d holds no program %d", member, program)
	}
	if _, ok := s.live[shard].Ledger().Account(merchantAccount); !ok {
		r, err := s.ledgerBatch(shard, ledger.AccountCommand(ledger.Account{ID: merchantAccount, Kind: ledger.KindMerchantReceivable, UserData: 1}))
		if err != nil || r != ledger.OK {
			return 0, fmt.Errorf("merchant account: %v %v", r, err)
		}
	}
	s.spends++
	tr := ledger.Transfer{
		ID: ledger.TransferID(spendTransferBase + s.spends), DebitAccountID: h.AccountID, CreditAccountID: merchantAccount,
		AmountFen: amountFen, Code: ledger.CodeSpendHold, UserData: uint64(program),
	}
	if hold {
		tr.Flags = ledger.Pending
	}
	return s.ledgerBatch(shard, ledger.TransferCommand(tr))
}

// directiveArgs reads a directive's own arguments with the same checks as a command line's.
func directiveArgs(d *datadriven.TestData) *args {
	a := &args{verb: d.Cmd, list: d.CmdArgs, used: make([]bool, len(d.CmdArgs))}
	a.vals("date")
	a.vals("shard")
	return a
}

// Commands.

// args is one command line's arguments, each to be used once: an argument left over is an
// error, which catches a misspelt key in a hand-written script.
type args struct {
	verb string
	list []datadriven.CmdArg
	used []bool
	err  error
}

func parseArgs(raw string) (*args, error) {
	verb, list, err := datadriven.ParseLine(raw)
	if err != nil {
		return nil, err
	}
	return &args{verb: verb, list: list, used: make([]bool, len(list))}, nil
}

func (a *args) fail(format string, v ...any) {
	if a.err == nil {
		a.err = fmt.Errorf(format, v...)
	}
}

// vals returns the values of key, and whether it was given.
func (a *args) vals(key string) ([]string, bool) {
	for i, arg := range a.list {
		if arg.Key == key && !a.used[i] {
			a.used[i] = true
			return arg.Vals, true
		}
	}
	return nil, false
}

func (a *args) str(key string, required bool) string {
	v, ok := a.vals(key)
	switch {
	case !ok && required:
		a.fail("%s= is required", key)
	case ok && len(v) != 1:
		a.fail("%s= takes one value", key)
	case ok:
		return v[0]
	}
	return ""
}

func (a *args) uint(key string, required bool) uint64 {
	v := a.str(key, required)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		a.fail("%s: %v", key, err)
	}
	return n
}

func (a *args) yuan(key string, required bool) int64 {
	v := a.str(key, required)
	if v == "" {
		return 0
	}
	fen, err := parseSignedYuan(v)
	if err != nil {
		a.fail("%s: %v", key, err)
	}
	return fen
}

func (a *args) time(key string, required bool) int64 {
	v := a.str(key, required)
	if v == "" {
		return 0
	}
	nanos, err := parseTime(v)
	if err != nil {
		a.fail("%s: %v", key, err)
	}
	return nanos
}

func (a *args) flag(key string) bool {
	v, ok := a.vals(key)
	if ok && len(v) != 0 {
		a.fail("%s takes no value", key)
	}
	return ok
}

func ids[T ~uint64](a *args, key string) []T {
	v, _ := a.vals(key)
	out := make([]T, 0, len(v))
	for _, s := range v {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			a.fail("%s: %v", key, err)
		}
		out = append(out, T(n))
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// done reports the first error, or an argument no one read.
func (a *args) done() error {
	if a.err != nil {
		return a.err
	}
	for i, arg := range a.list {
		if !a.used[i] {
			return fmt.Errorf("unknown argument %q for %s", arg.Key, a.verb)
		}
	}
	return nil
}

// parseCommand turns one exec line into a command and the label its result prints under: the
// verb and the line's first value.
func (s *scenario) parseCommand(shard uint32, raw string) (welfare.Command, string, error) {
	a, err := parseArgs(raw)
	if err != nil {
		return welfare.Command{}, "", err
	}
	if len(a.list) == 0 || len(a.list[0].Vals) != 1 {
		return welfare.Command{}, "", fmt.Errorf("the first argument labels the result and takes one value")
	}
	label := a.verb + " " + a.list[0].Vals[0]
	var c welfare.Command
	switch a.verb {
	case "create-union":
		c.Kind = welfare.CreateUnion
		c.Union = welfare.Union{
			ID: welfare.UnionID(a.uint("id", true)), Name: a.str("name", false),
			ParentID: welfare.UnionID(a.uint("parent", false)), Officers: ids[welfare.OfficerID](a, "officers"),
		}
	case "add-officer":
		c.Kind = welfare.AddOfficer
		c.UnionID = welfare.UnionID(a.uint("union", true))
		c.Officer = welfare.OfficerID(a.uint("officer", true))
	case "register":
		c.Kind = welfare.RegisterMember
		c.MemberID = welfare.MemberID(a.uint("member", true))
		c.UnionID = welfare.UnionID(a.uint("union", true))
		c.Registered = !a.flag("unregistered")
		c.DuesPaid = !a.flag("unpaid")
	case "fund":
		c.Kind = welfare.FundUnion
		c.TransferID = ledger.TransferID(a.uint("transfer", true))
		c.UnionID = welfare.UnionID(a.uint("union", true))
		c.AmountFen = a.yuan("amount", true)
	case "create-program", "update-program":
		c.Kind = welfare.CreateProgram
		if a.verb == "update-program" {
			c.Kind = welfare.UpdateProgram
		}
		create := c.Kind == welfare.CreateProgram
		c.Officer = welfare.OfficerID(a.uint("officer", true))
		p := welfare.Program{
			ID: welfare.ProgramID(a.uint("id", true)), UnionID: welfare.UnionID(a.uint("union", create)),
			Name: a.str("name", false), AmountPerMemberFen: a.yuan("amount", false),
			FromNanos: a.time("from", true), ToNanos: a.time("to", true),
		}
		if category := a.str("category", create); category != "" {
			p.Category = parseCategory(a, category)
		}
		if v, ok := a.vals("categories"); ok {
			p.Whitelist.Categories = v
		}
		p.Whitelist.SKUs = ids[welfare.SKUID](a, "skus")
		p.Whitelist.Merchants = ids[welfare.MerchantID](a, "merchants")
		if choose := a.str("choose", false); choose != "" {
			n, err := strconv.Atoi(choose)
			if err != nil {
				a.fail("choose: %v", err)
			}
			p.Gift = &welfare.Gift{Choose: n, Options: ids[welfare.SKUID](a, "options")}
		}
		c.Program = p
	case "approve", "revoke":
		c.Kind = welfare.ApproveProgram
		if a.verb == "revoke" {
			c.Kind = welfare.RevokeProgram
		}
		c.ProgramID = welfare.ProgramID(a.uint("program", true))
		c.Officer = welfare.OfficerID(a.uint("officer", true))
	case "issue":
		c.Kind = welfare.Issue
		c.ProgramID = welfare.ProgramID(a.uint("program", true))
		c.Officer = welfare.OfficerID(a.uint("officer", true))
		c.Members = ids[welfare.MemberID](a, "members")
		if v, ok := a.vals("amounts"); ok {
			for _, y := range v {
				fen, err := parseSignedYuan(y)
				if err != nil {
					a.fail("amounts: %v", err)
				}
				c.Amounts = append(c.Amounts, fen)
			}
		}
	case "claim":
		c.Kind = welfare.ClaimGift
		c.MemberID = welfare.MemberID(a.uint("member", true))
		c.ProgramID = welfare.ProgramID(a.uint("program", true))
		c.Choices = ids[welfare.SKUID](a, "choices")
	case "move":
		c.Kind = welfare.MoveMember
		c.MemberID = welfare.MemberID(a.uint("member", true))
		c.ToUnion = welfare.UnionID(a.uint("to-union", true))
		c.ToShard = uint32(a.uint("to-shard", true))
	case "set-config":
		c.Kind = welfare.SetConfig
		cfg := *s.live[shard].Config()
		cfg.Festivals = slices.Clone(cfg.Festivals)
		cfg.Version = a.uint("version", true)
		if v := a.str("threshold", false); v != "" {
			fen, err := parseSignedYuan(v)
			if err != nil {
				a.fail("threshold: %v", err)
			}
			cfg.ApprovalThresholdFen = fen
		}
		for _, cat := range welfare.Categories() {
			switch v := a.str("cap-"+cat.String(), false); v {
			case "":
			case "none":
				cfg.CapsFen[cat] = -1
			default:
				fen, err := parseSignedYuan(v)
				if err != nil {
					a.fail("cap-%s: %v", cat, err)
				}
				cfg.CapsFen[cat] = fen
			}
		}
		switch v := a.str("calendar", false); v {
		case "":
		case "empty":
			cfg.Festivals = nil
		default:
			a.fail("calendar=%s: only empty", v)
		}
		for {
			v, ok := a.vals("festival")
			if !ok {
				break
			}
			f, err := parseFestival(v)
			if err != nil {
				a.fail("festival: %v", err)
			}
			cfg.Festivals = append(cfg.Festivals, f)
		}
		c.Config = &cfg
	case "set-pickup":
		c.Kind = welfare.SetPickupPoint
		c.PickupPoint = welfare.PickupPoint{
			ID: welfare.PickupPointID(a.uint("id", true)), Name: a.str("name", false),
			Unions: ids[welfare.UnionID](a, "unions"), Keepers: ids[welfare.OfficerID](a, "keepers"),
		}
	case "set-merchant":
		c.Kind = welfare.SetMerchant
		c.Merchant = welfare.Merchant{
			ID: welfare.MerchantID(a.uint("id", true)), Name: a.str("name", false), Approved: a.flag("approved"),
		}
	case "add-federation-officer":
		c.Kind = welfare.AddFederationOfficer
		c.Officer = welfare.OfficerID(a.uint("officer", true))
	case "award":
		c.Kind = welfare.AwardPoints
		c.AwardID = a.uint("id", true)
		c.MemberID = welfare.MemberID(a.uint("member", true))
		c.ProgramID = welfare.ProgramID(a.uint("program", true))
		c.AmountFen = a.yuan("amount", true)
		c.ActivityKind = a.str("kind", true)
	case "reverse-award":
		c.Kind = welfare.ReverseAward
		c.AwardID = a.uint("id", true)
	default:
		return c, "", fmt.Errorf("unknown command %q", a.verb)
	}
	return c, label, a.done()
}

func parseCategory(a *args, v string) welfare.Category {
	if c, ok := welfare.ParseCategory(v); ok {
		return c
	}
	n, err := strconv.ParseUint(v, 10, 8)
	if err != nil {
		a.fail("category %q is neither a name nor a number", v)
	}
	return welfare.Category(n)
}

// parseFestival parses "name:from:to", two dates with both days included.
func parseFestival(v []string) (welfare.Festival, error) {
	if len(v) != 1 {
		return welfare.Festival{}, fmt.Errorf("one name:from:to")
	}
	parts := strings.Split(v[0], ":")
	if len(parts) != 3 {
		return welfare.Festival{}, fmt.Errorf("%q is not name:from:to", v[0])
	}
	f := welfare.Festival{Name: parts[0]}
	for i, p := range parts[1:] {
		nanos, err := parseTime(p)
		if err != nil {
			return f, err
		}
		if i == 0 {
			f.FromDay = welfare.DayOf(nanos)
		} else {
			f.ToDay = welfare.DayOf(nanos)
		}
	}
	return f, nil
}

// Printing.

func formatResult(label string, c *welfare.Command, r *welfare.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", label, r.Code)
	switch {
	case c.Kind == welfare.Issue && r.Code == welfare.OK:
		fmt.Fprintf(&b, " issued=%d amount=%s", r.IssuedCount, scen.Yuan(r.IssuedFen))
	case c.Kind == welfare.ReverseAward && (r.Code == welfare.OK || r.Code == welfare.Exists):
		fmt.Fprintf(&b, " taken_back=%s spent=%s", scen.Yuan(r.TakenBackFen), scen.Yuan(r.SpentFen))
	case r.Code == welfare.BudgetInsufficient:
		fmt.Fprintf(&b, " budget=%s", scen.Yuan(r.RoomLeftFen))
	case r.Code == welfare.CapExceeded:
		fmt.Fprintf(&b, " room=%s", scen.Yuan(r.RoomLeftFen))
	}
	if c.Kind == welfare.FundUnion && r.Ledger != ledger.OK {
		fmt.Fprintf(&b, " ledger=%s", r.Ledger)
	}
	b.WriteByte('\n')
	for _, m := range r.Refused {
		fmt.Fprintf(&b, "  member %d: %s", m.MemberID, m.Code)
		if m.Code == welfare.CapExceeded {
			fmt.Fprintf(&b, " room=%s", scen.Yuan(m.RoomLeftFen))
		}
		b.WriteByte('\n')
	}
	return b.String()
}

var eventNames = map[welfare.EventKind]string{
	welfare.EventConfigSet:              "config_set",
	welfare.EventUnionCreated:           "union_created",
	welfare.EventOfficerAdded:           "officer_added",
	welfare.EventMemberRegistered:       "member_registered",
	welfare.EventProgramCreated:         "program_created",
	welfare.EventProgramApproved:        "program_approved",
	welfare.EventProgramClosed:          "program_closed",
	welfare.EventMemberIssued:           "member_issued",
	welfare.EventHoldingClosed:          "holding_closed",
	welfare.EventGiftClaimed:            "gift_claimed",
	welfare.EventMemberMovedOut:         "member_moved_out",
	welfare.EventMemberMovedIn:          "member_moved_in",
	welfare.EventPickupPointSet:         "pickup_point_set",
	welfare.EventMerchantSet:            "merchant_set",
	welfare.EventFederationOfficerAdded: "federation_officer_added",
	welfare.EventOrderSet:               "order_set",
	welfare.EventOrderPatched:           "order_patched",
	welfare.EventReceivableOpened:       "receivable_opened",
	welfare.EventAwarded:                "awarded",
	welfare.EventAwardReversed:          "award_reversed",
	welfare.EventProgramUpdated:         "program_updated",
}

// welfareLines formats the welfare events of a batch, leaving out the ledger's.
func (s *scenario) welfareLines(shard uint32, events []byte) ([]string, error) {
	all, err := decodeEvents(events)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, e := range all {
		if e.welfare != nil {
			lines = append(lines, s.formatWelfareEvent(shard, e.welfare))
		}
	}
	return lines, nil
}

func (s *scenario) events() string {
	var b strings.Builder
	header := -1
	for _, se := range s.last {
		all, err := decodeEvents(se.events)
		if err != nil {
			return err.Error() // Checked when recorded: cannot happen.
		}
		if len(all) == 0 {
			continue
		}
		if header != int(se.shard) {
			fmt.Fprintf(&b, "shard %d:\n", se.shard)
			header = int(se.shard)
		}
		for _, e := range all {
			switch {
			case e.welfare != nil:
				b.WriteString("  " + s.formatWelfareEvent(se.shard, e.welfare) + "\n")
			case e.ledger != nil:
				b.WriteString("  " + s.formatLedgerEvent(se.shard, e.ledger) + "\n")
			default:
				fmt.Fprintf(&b, "  stock event %+v\n", *e.stock)
			}
		}
	}
	if b.Len() == 0 {
		return "no events"
	}
	return b.String()
}

func (s *scenario) formatWelfareEvent(shard uint32, e *welfare.Event) string {
	var b strings.Builder
	if name, ok := eventNames[e.Kind]; ok {
		b.WriteString(name)
	} else {
		fmt.Fprintf(&b, "event_%d", e.Kind) // A kind newer than this harness.
	}
	switch e.Kind {
	case welfare.EventConfigSet:
		fmt.Fprintf(&b, " version=%d", e.Config.Version)
	case welfare.EventUnionCreated:
		fmt.Fprintf(&b, " union=%d name=%s parent=%d budget=%s", e.Union.ID, e.Union.Name, e.Union.ParentID, accountID(e.Union.BudgetAccountID))
	case welfare.EventOfficerAdded:
		fmt.Fprintf(&b, " union=%d officer=%d", e.UnionID, e.Officer)
	case welfare.EventMemberRegistered:
		fmt.Fprintf(&b, " member=%d union=%d registered=%t dues_paid=%t", e.MemberID, e.UnionID, e.Registered, e.DuesPaid)
	case welfare.EventProgramCreated:
		p := e.Program
		fmt.Fprintf(&b, " program=%d union=%d owner_shard=%d %s", p.ID, p.UnionID, p.OwnerShard, formatProgramTerms(p))
	case welfare.EventProgramApproved:
		fmt.Fprintf(&b, " program=%d officer=%d", e.ProgramID, e.Officer)
	case welfare.EventProgramClosed:
		fmt.Fprintf(&b, " program=%d status=%s officer=%d", e.ProgramID, e.Status, e.Officer)
	case welfare.EventMemberIssued:
		fmt.Fprintf(&b, " program=%d member=%d amount=%s year=%d account=%s", e.ProgramID, e.MemberID, scen.Yuan(e.AmountFen), e.Year, accountID(e.AccountID))
	case welfare.EventHoldingClosed:
		fmt.Fprintf(&b, " program=%d member=%d unspent=%s", e.ProgramID, e.MemberID, scen.Yuan(e.AmountFen))
	case welfare.EventGiftClaimed:
		fmt.Fprintf(&b, " program=%d member=%d choices=%s", e.ProgramID, e.MemberID, list(e.Choices))
	case welfare.EventMemberMovedOut:
		fmt.Fprintf(&b, " member=%d", e.MemberID)
	case welfare.EventMemberMovedIn:
		m := e.Member
		fmt.Fprintf(&b, " member=%d union=%d counted=%s holdings=(", m.ID, m.UnionID, formatCounted(m.Counted))
		for i, h := range m.Holdings {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d:%s", h.ProgramID, accountID(h.AccountID))
		}
		b.WriteString(")")
	case welfare.EventPickupPointSet:
		fmt.Fprintf(&b, " id=%d name=%s unions=%s keepers=%s", e.PickupPoint.ID, e.PickupPoint.Name, list(e.PickupPoint.Unions), list(e.PickupPoint.Keepers))
	case welfare.EventMerchantSet:
		fmt.Fprintf(&b, " id=%d name=%s approved=%t", e.Merchant.ID, e.Merchant.Name, e.Merchant.Approved)
	case welfare.EventFederationOfficerAdded:
		fmt.Fprintf(&b, " officer=%d", e.Officer)
	case welfare.EventAwarded:
		a := e.Award
		fmt.Fprintf(&b, " award=%d program=%d member=%d kind=%s amount=%s year=%d account=%s", a.ID, a.ProgramID, a.MemberID, a.Kind, scen.Yuan(a.AmountFen), e.Year, accountID(e.AccountID))
	case welfare.EventProgramUpdated:
		fmt.Fprintf(&b, " program=%d officer=%d %s", e.Program.ID, e.Officer, formatProgramTerms(e.Program))
	case welfare.EventAwardReversed:
		fmt.Fprintf(&b, " award=%d taken_back=%s spent=%s", e.Award.ID, scen.Yuan(e.AmountFen), scen.Yuan(e.Award.SpentFen))
	}
	return b.String()
}

func (s *scenario) formatLedgerEvent(shard uint32, e *ledger.Event) string {
	switch e.Kind {
	case ledger.EventAccountCreated:
		return fmt.Sprintf("account_created %s %s owner=%d", s.accountLabel(shard, e.Account.ID), e.Account.Kind, e.Account.UserData)
	case ledger.EventTransferCreated:
		tr := &e.Transfer
		line := fmt.Sprintf("transfer_created %s %s -> %s amount=%s code=%s user_data=%d", transferID(tr.ID),
			s.accountLabel(shard, tr.DebitAccountID), s.accountLabel(shard, tr.CreditAccountID), scen.Yuan(tr.AmountFen), transferCodeNames[tr.Code], tr.UserData)
		if tr.Flags != 0 {
			line += fmt.Sprintf(" flags=%#x", tr.Flags)
		}
		return line
	case ledger.EventPendingExpired:
		return fmt.Sprintf("pending_expired %s", transferID(e.Transfer.PendingID))
	case ledger.EventBalanceRecorded:
		a := &e.Account
		return fmt.Sprintf("balance_recorded %s after=%s balance=%s", s.accountLabel(shard, a.ID), transferID(e.Transfer.ID), scen.Yuan(a.BalanceFen()))
	}
	return e.Kind.String()
}

var transferCodeNames = map[ledger.TransferCode]string{
	ledger.CodeFund: "fund", ledger.CodeIssue: "issue", ledger.CodeSpendHold: "spend_hold", ledger.CodePost: "post",
	ledger.CodeVoid: "void", ledger.CodeRefund: "refund", ledger.CodeExpire: "expire", ledger.CodeSettle: "settle",
	ledger.CodeAdjust: "adjust", ledger.CodeMove: "move",
}

func accountID(id ledger.AccountID) string {
	if uint64(id) >= welfareIDBase {
		return fmt.Sprintf("#%d", uint64(id)-welfareIDBase)
	}
	return strconv.FormatUint(uint64(id), 10)
}

func transferID(id ledger.TransferID) string {
	switch {
	case uint64(id) >= welfareIDBase:
		return fmt.Sprintf("#%d", uint64(id)-welfareIDBase)
	case uint64(id) > spendTransferBase:
		return fmt.Sprintf("spend%d", uint64(id)-spendTransferBase)
	}
	return strconv.FormatUint(uint64(id), 10)
}

// accountLabel names an account of a shard's ledger by what it is for: funding, in_transit,
// budget(union), points(member,program), merchant. An account a member left behind when it
// moved away prints as points(member)#N.
func (s *scenario) accountLabel(shard uint32, id ledger.AccountID) string {
	st := s.live[shard]
	switch id {
	case welfare.FundingAccountID(shard):
		return "funding"
	case welfare.InTransitAccountID(shard):
		return "in_transit"
	case welfare.ExternalCashAccountID(shard):
		return "external_cash"
	case merchantAccount:
		return "merchant"
	}
	a, ok := st.Ledger().Account(id)
	if !ok {
		return accountID(id) + "?"
	}
	switch a.Kind {
	case ledger.KindUnionBudget:
		return fmt.Sprintf("budget(%d)", a.UserData)
	case ledger.KindMemberPoints:
		if m, ok := st.Member(welfare.MemberID(a.UserData)); ok {
			for _, h := range m.Holdings {
				if h.AccountID == id {
					return fmt.Sprintf("points(%d,%d)", m.ID, h.ProgramID)
				}
			}
		}
		return fmt.Sprintf("points(%d)%s", a.UserData, accountID(id))
	}
	return accountID(id)
}

func (s *scenario) printMember(id welfare.MemberID) string {
	var b strings.Builder
	for i, st := range s.live {
		m, ok := st.Member(id)
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "member %d shard=%d union=%d registered=%t dues_paid=%t\n", m.ID, i, m.UnionID, m.Registered, m.DuesPaid)
		for _, c := range m.Counted {
			fmt.Fprintf(&b, "  counted %s/%d=%s\n", c.Category, c.Year, scen.Yuan(c.CountedFen))
		}
		for _, h := range m.Holdings {
			a, _ := st.Ledger().Account(h.AccountID)
			fmt.Fprintf(&b, "  holding program=%d issued=%s year=%d balance=%s", h.ProgramID, scen.Yuan(h.IssuedFen), h.Year, scen.Yuan(a.BalanceFen()))
			if a.DebitsPendingFen != 0 {
				fmt.Fprintf(&b, " held=%s", scen.Yuan(a.DebitsPendingFen))
			}
			if h.Closed {
				b.WriteString(" closed")
			}
			if g := st.GiftChoices(m.ID, h.ProgramID); len(g) > 0 {
				fmt.Fprintf(&b, " gift=%s", list(g))
			}
			b.WriteByte('\n')
		}
	}
	if b.Len() == 0 {
		return fmt.Sprintf("member %d is on no shard", id)
	}
	return b.String()
}

func (s *scenario) printBudget(id welfare.UnionID) string {
	for i, st := range s.live {
		u, ok := st.Union(id)
		if !ok {
			continue
		}
		budget, _ := st.BudgetFen(id)
		return fmt.Sprintf("union %d shard=%d name=%s parent=%d officers=%s budget=%s", u.ID, i, u.Name, u.ParentID, list(u.Officers), scen.Yuan(budget))
	}
	return fmt.Sprintf("union %d is on no shard", id)
}

func (s *scenario) printProgram(id welfare.ProgramID) string {
	var b strings.Builder
	for i, st := range s.live {
		p, ok := st.Program(id)
		if !ok {
			continue
		}
		owner := "owner"
		if p.OwnerShard != uint32(i) {
			owner = fmt.Sprintf("copy of shard %d", p.OwnerShard)
		}
		fmt.Fprintf(&b, "program %d shard=%d (%s) union=%d status=%s created_by=%d approved_by=%d\n",
			p.ID, i, owner, p.UnionID, p.Status, p.CreatedBy, p.ApprovedBy)
		fmt.Fprintf(&b, "  %s\n", formatProgramTerms(p))
		fmt.Fprintf(&b, "  issued=%s members=%s\n", scen.Yuan(p.IssuedFen), list(p.Members))
	}
	if b.Len() == 0 {
		return fmt.Sprintf("program %d is on no shard", id)
	}
	return b.String()
}

func formatProgramTerms(p *welfare.Program) string {
	var b strings.Builder
	if p.Name != "" {
		fmt.Fprintf(&b, "name=%s ", p.Name)
	}
	fmt.Fprintf(&b, "category=%s amount=%s window=%s..%s", p.Category, scen.Yuan(p.AmountPerMemberFen), formatTime(p.FromNanos), formatTime(p.ToNanos))
	w := &p.Whitelist
	if len(w.Categories) > 0 {
		fmt.Fprintf(&b, " categories=(%s)", strings.Join(w.Categories, ", "))
	}
	if len(w.SKUs) > 0 {
		fmt.Fprintf(&b, " skus=%s", list(w.SKUs))
	}
	if len(w.Merchants) > 0 {
		fmt.Fprintf(&b, " merchants=%s", list(w.Merchants))
	}
	if p.Gift != nil {
		fmt.Fprintf(&b, " gift=%d-of-%s", p.Gift.Choose, list(p.Gift.Options))
	}
	return b.String()
}

func (s *scenario) printBalances(shard uint32, all bool) string {
	var b strings.Builder
	for i, st := range s.live {
		if !all && uint32(i) != shard {
			continue
		}
		fmt.Fprintf(&b, "shard %d:\n", i)
		st.Ledger().ForEachAccount(func(a *ledger.Account) {
			fmt.Fprintf(&b, "  %s balance=%s", s.accountLabel(uint32(i), a.ID), scen.Yuan(a.BalanceFen()))
			if a.DebitsPendingFen != 0 || a.CreditsPendingFen != 0 {
				fmt.Fprintf(&b, " debits_pending=%s credits_pending=%s", scen.Yuan(a.DebitsPendingFen), scen.Yuan(a.CreditsPendingFen))
			}
			b.WriteByte('\n')
		})
	}
	return b.String()
}

func (s *scenario) printConfig(shard uint32, all bool) string {
	var b strings.Builder
	for i, st := range s.live {
		if !all && uint32(i) != shard {
			continue
		}
		c := st.Config()
		fmt.Fprintf(&b, "shard %d version=%d threshold=%s festivals=%d\n", i, c.Version, scen.Yuan(c.ApprovalThresholdFen), len(c.Festivals))
		b.WriteString("  caps")
		for _, cat := range welfare.Categories() {
			if capFen := c.CapsFen[cat]; capFen >= 0 {
				fmt.Fprintf(&b, " %s=%s", cat, scen.Yuan(capFen))
			} else {
				fmt.Fprintf(&b, " %s=none", cat)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func formatCounted(counted []welfare.CapCount) string {
	parts := make([]string, len(counted))
	for i, c := range counted {
		parts[i] = fmt.Sprintf("%s/%d=%s", c.Category, c.Year, scen.Yuan(c.CountedFen))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func list[T ~uint64](ids []T) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatUint(uint64(id), 10)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Messages between shards, printed from their wire form. The harness reads the payloads as the
// decider writes them (a kind byte, then JSON), so a change of the format shows in the diff.
var messageNames = map[byte]string{1: "config", 2: "revoke", 3: "return", 4: "move_in", 5: "move_back"}

func formatMessage(payload []byte) string {
	if len(payload) == 0 {
		return "empty"
	}
	name, ok := messageNames[payload[0]]
	if !ok {
		return fmt.Sprintf("kind=%d", payload[0])
	}
	var body struct {
		Version   uint64            `json:"version"`
		ProgramID uint64            `json:"program_id"`
		Officer   uint64            `json:"officer"`
		UnionID   uint64            `json:"union_id"`
		AmountFen int64             `json:"amount_fen"`
		Member    welfare.Member    `json:"member"`
		ToUnion   uint64            `json:"to_union"`
		FromUnion uint64            `json:"from_union"`
		Balances  []int64           `json:"balances"`
		Programs  []welfare.Program `json:"programs"`
	}
	if err := json.Unmarshal(payload[1:], &body); err != nil {
		return fmt.Sprintf("%s undecodable: %v", name, err)
	}
	switch payload[0] {
	case 1:
		return fmt.Sprintf("%s version=%d", name, body.Version)
	case 2:
		return fmt.Sprintf("%s program=%d officer=%d", name, body.ProgramID, body.Officer)
	case 3:
		return fmt.Sprintf("%s union=%d program=%d amount=%s", name, body.UnionID, body.ProgramID, scen.Yuan(body.AmountFen))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s member=%d from-union=%d to-union=%d counted=%s holdings=(", name, body.Member.ID, body.FromUnion, body.ToUnion, formatCounted(body.Member.Counted))
	for i, h := range body.Member.Holdings {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d:", h.ProgramID)
		if i < len(body.Balances) {
			b.WriteString(scen.Yuan(body.Balances[i]))
		}
	}
	b.WriteString(")")
	return b.String()
}

// Units.

func dateNanos(y, m, d int) int64 { return welfare.DayStartNanos(welfare.DaysFromCivil(y, m, d)) }

// parseTime parses an Asia/Shanghai date, "2026-02-01", optionally with a time of day,
// "2026-02-28T23:59".
func parseTime(v string) (int64, error) {
	date, clock, hasClock := strings.Cut(v, "T")
	var y, m, d int
	if n, err := fmt.Sscanf(date, "%4d-%2d-%2d", &y, &m, &d); err != nil || n != 3 || len(date) != 10 {
		return 0, fmt.Errorf("date %q is not YYYY-MM-DD", v)
	}
	if cy, cm, cd := welfare.CivilFromDays(welfare.DaysFromCivil(y, m, d)); cy != y || cm != m || cd != d {
		return 0, fmt.Errorf("date %q does not exist", v)
	}
	nanos := dateNanos(y, m, d)
	if hasClock {
		var hh, mm int
		if n, err := fmt.Sscanf(clock, "%2d:%2d", &hh, &mm); err != nil || n != 2 || len(clock) != 5 || hh > 23 || mm > 59 {
			return 0, fmt.Errorf("time %q is not HH:MM", v)
		}
		nanos += int64(hh*3600+mm*60) * 1_000_000_000
	}
	return nanos, nil
}

// formatTime is the inverse of parseTime, for times on a whole minute.
func formatTime(nanos int64) string {
	day := welfare.DayOf(nanos)
	y, m, d := welfare.CivilFromDays(day)
	out := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	if rest := nanos - welfare.DayStartNanos(day); rest != 0 {
		seconds := rest / 1_000_000_000
		out += fmt.Sprintf("T%02d:%02d", seconds/3600, seconds%3600/60)
		if rest%60_000_000_000 != 0 {
			out += fmt.Sprintf("+%dns", rest%60_000_000_000)
		}
	}
	return out
}

// parseYuan parses an amount in yuan with exactly two decimals into fen, exactly: "12.34" is
// the digits 1234, parsed as one integer, so no value is ever rounded.
func parseYuan(s string) (int64, error) {
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("amount %q must be yuan with two decimals, such as 5.00", s)
	}
	return scen.ParseYuan(s)
}

// parseSignedYuan is parseYuan that also takes a minus sign, for refused inputs.
func parseSignedYuan(s string) (int64, error) { return scen.ParseYuan(s) }
