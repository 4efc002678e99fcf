package ledger_test

// Scenario tests as data: the scripts in testdata/*.txt are run by
// github.com/cockroachdb/datadriven. After changing the ledger, regenerate the expected outputs
// with
//
//	go test ./engine/ledger/ -run TestScenarios -rewrite
//
// and read the diff as a reviewer would before committing it.
//
// # Units
//
// Amounts are written in yuan with exactly two decimals ("5.00", "0.01", "-1.00") and parsed
// exactly into int64 fen by joining the digits, never through a float; outputs print fen the same
// way. Times (batch times, deadlines, timestamps) are plain integers in nanoseconds.
//
// # Directives
//
//	accounts [time=N]    one batch; each input line creates an account
//	transfers [time=N]   one batch; each input line creates a transfer
//	batch [time=N]       one batch; each input line is "account <account line>" or
//	                     "transfer <transfer line>", so a linked chain may mix the two
//	tick time=N          an empty batch at time N, so that the expiries due fire; prints its events
//	events               the events of the last batch, one a line
//	balances [ids=(1,2)] the balances of every account in creation order, or of those named
//	transfer id=N        what LookupTransfer remembers of transfer N
//	next-deadline        what NextDeadlineNanos returns
//
// time=N sets the batch time, which stays for later batches that do not name one; it starts
// at 0. A batch prints one "<id>: <result>" line per command (prefixed with "account " or
// "transfer " in a batch directive). Input lines that start with # are comments.
//
// An account line is "<id> [kind] [flag...] [key=value...]": the kind is one of the names of
// AccountKind.String (none leaves it zero); the flags are linked, no_overdraft and history; the
// keys are user_data, timestamp, kind (a raw number), flags (raw bits, or'ed in) and
// debits_pending, debits_posted, credits_pending, credits_posted (amounts).
//
// A transfer line is "<id> [flag...] [key=value...]": the flags are linked, pending, post (post
// pending) and void (void pending); the keys are debit, credit, amount, pending_id, refund_of,
// code (a name of codeNames, or a number), user_data, deadline, timestamp and flags (raw bits,
// or'ed in). A field not written is zero: in particular there is no default code.
//
// Either line may carry the word engine, which marks a command the engine makes itself
// (Command.Engine), the only kind that may create an id at or above ReservedIDMin.
//
// # What the harness checks after every batch
//
//   - CheckInvariants on the live ledger.
//   - Every event round-trips through AppendEvent and DecodeEvent: the decoded event equals the
//     one emitted (in the fields the codec carries) and encodes to the same bytes.
//   - The decoded events are applied, in order, to a second ledger built only by Apply: the
//     replay. It passes CheckInvariants, and its AppendSnapshot bytes equal the live ledger's.
//
// At the end of each file, replay equals live again, and RestoreSnapshot of the live snapshot
// gives the same bytes back.

import (
	"bytes"
	"fmt"
	scen "huigong/engine/internal/scenario"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"huigong/engine/ledger"
)

func TestScenarios(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		s := newScenario()
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			return s.run(t, d)
		})
		s.checkReplay(t, path)
		s.checkSnapshotRoundTrip(t, path)
	})
}

// resultLineRe matches the lines of a batch's output: "<id>: <result>", optionally prefixed with
// "account " or "transfer ". Other outputs never end in a single lower-case word after ": ".
var resultLineRe = regexp.MustCompile(`^(?:account |transfer )?[0-9]+: ([a-z_]+)$`)

// TestScenarioCoversEveryResult fails if some result is never the expected output of a scenario,
// so that the claim "the scenarios cover every result" is checked, not just made. It also fails
// on a result name that the ledger does not know, which catches a typo in a hand-edited file.
func TestScenarioCoversEveryResult(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no testdata/*.txt files")
	}
	seen := make(map[ledger.Result][]string)
	for _, path := range paths {
		for _, line := range scen.ExpectedLines(t, path) {
			m := resultLineRe.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			r, ok := ledger.ParseResult(m[1])
			if !ok {
				t.Errorf("%s: %q names no result", path, line)
				continue
			}
			seen[r] = append(seen[r], filepath.Base(path))
		}
	}
	for _, r := range ledger.Results() {
		if len(seen[r]) == 0 {
			t.Errorf("no scenario expects %s", r)
		}
	}
}

// scenario is the state of one testdata file.
type scenario struct {
	live       *ledger.Ledger
	replay     *ledger.Ledger // built only by Apply of the decoded events of live
	nowNanos   int64
	lastEvents []ledger.Event
}

func newScenario() *scenario {
	return &scenario{live: ledger.New(), replay: ledger.New()}
}

func (s *scenario) run(t *testing.T, d *datadriven.TestData) string {
	if d.HasArg("time") {
		d.ScanArgs(t, "time", &s.nowNanos)
	}
	switch d.Cmd {
	case "accounts", "transfers", "batch":
		return s.batch(t, d)
	case "tick":
		if !d.HasArg("time") {
			d.Fatalf(t, "tick needs time=N")
		}
		s.execute(t, d, nil)
		return formatEvents(s.lastEvents)
	case "events":
		return formatEvents(s.lastEvents)
	case "balances":
		return s.balances(t, d)
	case "transfer":
		var id uint64
		d.ScanArgs(t, "id", &id)
		st, ok := s.live.LookupTransfer(ledger.TransferID(id))
		if !ok {
			return fmt.Sprintf("%d: not found", id)
		}
		return fmt.Sprintf("%d: %s", id, formatTransferStatus(&st))
	case "next-deadline":
		if deadline, ok := s.live.NextDeadlineNanos(); ok {
			return strconv.FormatInt(deadline, 10)
		}
		return "none"
	}
	d.Fatalf(t, "unknown directive %q", d.Cmd)
	return ""
}

func (s *scenario) batch(t *testing.T, d *datadriven.TestData) string {
	var cmds []ledger.Command
	var labels []string
	for _, line := range strings.Split(d.Input, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind := d.Cmd
		if kind == "batch" {
			var ok bool
			kind, line, ok = strings.Cut(line, " ")
			if !ok || (kind != "account" && kind != "transfer") {
				d.Fatalf(t, "batch line %q must start with account or transfer", line)
			}
			kind += "s"
		}
		var c ledger.Command
		var err error
		if kind == "accounts" {
			c, err = parseAccountLine(line)
		} else {
			c, err = parseTransferLine(line)
		}
		if err != nil {
			d.Fatalf(t, "%q: %v", line, err)
		}
		label, _, _ := strings.Cut(line, " ")
		if d.Cmd == "batch" {
			label = strings.TrimSuffix(kind, "s") + " " + label
		}
		cmds = append(cmds, c)
		labels = append(labels, label)
	}
	results := s.execute(t, d, cmds)
	var b strings.Builder
	for i, r := range results {
		fmt.Fprintf(&b, "%s: %s\n", labels[i], r)
	}
	return b.String()
}

// execute runs one batch on the live ledger and checks it as the file comment describes.
func (s *scenario) execute(t *testing.T, d *datadriven.TestData, cmds []ledger.Command) []ledger.Result {
	t.Helper()
	results := make([]ledger.Result, len(cmds))
	s.lastEvents = s.live.Execute(s.nowNanos, cmds, results, nil)
	if err := checkBatch(s.live, s.replay, results, s.lastEvents); err != nil {
		d.Fatalf(t, "%v", err)
	}
	return results
}

// checkBatch checks a batch that live has just executed, as the file comment describes, and
// applies its events to replay through the codec. The known-failure tests use it too.
func checkBatch(live, replay *ledger.Ledger, results []ledger.Result, events []ledger.Event) error {
	for i, r := range results {
		if r.String() == "invalid_result" {
			return fmt.Errorf("command %d: result %d has no name", i, r)
		}
	}
	if err := live.CheckInvariants(); err != nil {
		return fmt.Errorf("live: %w", err)
	}
	for i := range events {
		e := &events[i]
		encoded := ledger.AppendEvent(nil, e)
		decoded, n, err := ledger.DecodeEvent(encoded)
		if err != nil {
			return fmt.Errorf("decode %s: %w", formatEvent(e), err)
		}
		if n != len(encoded) {
			return fmt.Errorf("decode %s: took %d of %d bytes", formatEvent(e), n, len(encoded))
		}
		if want := encodedFields(e); decoded != want {
			return fmt.Errorf("decode %s: got %+v, want %+v", formatEvent(e), decoded, want)
		}
		if again := ledger.AppendEvent(nil, &decoded); !bytes.Equal(again, encoded) {
			return fmt.Errorf("re-encode %s: bytes differ", formatEvent(e))
		}
		replay.Apply(&decoded)
	}
	if err := replay.CheckInvariants(); err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	if !bytes.Equal(live.AppendSnapshot(nil), replay.AppendSnapshot(nil)) {
		return fmt.Errorf("the replay of the events differs from the live ledger")
	}
	return nil
}

// encodedFields returns e with only the fields its kind's binary form carries: a balance record
// carries the account's id and balances, not its kind, flags or user data.
func encodedFields(e *ledger.Event) ledger.Event {
	if e.Kind != ledger.EventBalanceRecorded {
		return *e
	}
	out := *e
	out.Account.Kind, out.Account.Flags, out.Account.UserData = 0, 0, 0
	return out
}

func (s *scenario) checkReplay(t *testing.T, path string) {
	t.Helper()
	if !bytes.Equal(s.live.AppendSnapshot(nil), s.replay.AppendSnapshot(nil)) {
		t.Fatalf("%s: at the end, the replay of the events differs from the live ledger", path)
	}
}

func (s *scenario) checkSnapshotRoundTrip(t *testing.T, path string) {
	t.Helper()
	snapshot := s.live.AppendSnapshot(nil)
	restored, n, err := ledger.RestoreSnapshot(snapshot)
	if err != nil {
		t.Fatalf("%s: restore snapshot: %v", path, err)
	}
	if n != len(snapshot) || !bytes.Equal(restored.AppendSnapshot(nil), snapshot) {
		t.Fatalf("%s: the restored snapshot differs from the live one", path)
	}
}

func (s *scenario) balances(t *testing.T, d *datadriven.TestData) string {
	var b strings.Builder
	printAccount := func(a *ledger.Account) {
		fmt.Fprintf(&b, "%d: debits_posted=%s debits_pending=%s credits_posted=%s credits_pending=%s available=%s\n",
			a.ID, scen.Yuan(a.DebitsPostedFen), scen.Yuan(a.DebitsPendingFen), scen.Yuan(a.CreditsPostedFen),
			scen.Yuan(a.CreditsPendingFen), scen.Yuan(a.AvailableFen()))
	}
	if !d.HasArg("ids") {
		s.live.ForEachAccount(printAccount)
		return b.String()
	}
	arg, _ := d.Arg("ids")
	for _, v := range arg.Vals {
		id, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			d.Fatalf(t, "ids: %v", err)
		}
		a, ok := s.live.Account(ledger.AccountID(id))
		if !ok {
			fmt.Fprintf(&b, "%d: not found\n", id)
			continue
		}
		printAccount(&a)
	}
	return b.String()
}

// Parsing.

var codeNames = map[ledger.TransferCode]string{
	ledger.CodeFund:      "fund",
	ledger.CodeIssue:     "issue",
	ledger.CodeSpendHold: "spend_hold",
	ledger.CodePost:      "post",
	ledger.CodeVoid:      "void",
	ledger.CodeRefund:    "refund",
	ledger.CodeExpire:    "expire",
	ledger.CodeSettle:    "settle",
	ledger.CodeAdjust:    "adjust",
	ledger.CodeMove:      "move",
}

func parseCode(s string) (ledger.TransferCode, error) {
	for c, name := range codeNames {
		if name == s {
			return c, nil
		}
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("code %q is neither a name nor a number", s)
	}
	return ledger.TransferCode(n), nil
}

func formatCode(c ledger.TransferCode) string {
	if name, ok := codeNames[c]; ok {
		return name
	}
	return strconv.FormatUint(uint64(c), 10)
}

var accountFlagNames = []struct {
	flag ledger.AccountFlags
	name string
}{
	{ledger.AccountLinked, "linked"},
	{ledger.AccountNoOverdraft, "no_overdraft"},
	{ledger.AccountHistory, "history"},
}

var transferFlagNames = []struct {
	flag ledger.TransferFlags
	name string
}{
	{ledger.Linked, "linked"},
	{ledger.Pending, "pending"},
	{ledger.PostPending, "post"},
	{ledger.VoidPending, "void"},
}

func parseAccountLine(line string) (ledger.Command, error) {
	fields := strings.Fields(line)
	var a ledger.Account
	id, err := strconv.ParseUint(fields[0], 10, 64)
	if err != nil {
		return ledger.Command{}, fmt.Errorf("id: %w", err)
	}
	a.ID = ledger.AccountID(id)
	engine := false
fields:
	for _, f := range fields[1:] {
		key, val, isKeyValue := strings.Cut(f, "=")
		if f == "engine" {
			engine = true
			continue
		}
		if !isKeyValue {
			if k, ok := ledger.ParseAccountKind(f); ok {
				a.Kind = k
				continue
			}
			for _, fl := range accountFlagNames {
				if fl.name == f {
					a.Flags |= fl.flag
					continue fields
				}
			}
			return ledger.Command{}, fmt.Errorf("%q is neither a kind nor a flag", f)
		}
		var err error
		switch key {
		case "user_data":
			a.UserData, err = strconv.ParseUint(val, 10, 64)
		case "timestamp":
			a.TimestampNanos, err = strconv.ParseInt(val, 10, 64)
		case "kind":
			var n uint64
			n, err = strconv.ParseUint(val, 10, 8)
			a.Kind = ledger.AccountKind(n)
		case "flags":
			var n uint64
			n, err = strconv.ParseUint(val, 0, 16)
			a.Flags |= ledger.AccountFlags(n)
		case "debits_pending":
			a.DebitsPendingFen, err = scen.ParseYuan(val)
		case "debits_posted":
			a.DebitsPostedFen, err = scen.ParseYuan(val)
		case "credits_pending":
			a.CreditsPendingFen, err = scen.ParseYuan(val)
		case "credits_posted":
			a.CreditsPostedFen, err = scen.ParseYuan(val)
		default:
			return ledger.Command{}, fmt.Errorf("unknown key %q", key)
		}
		if err != nil {
			return ledger.Command{}, fmt.Errorf("%s: %w", key, err)
		}
	}
	c := ledger.AccountCommand(a)
	c.Engine = engine
	return c, nil
}

func parseTransferLine(line string) (ledger.Command, error) {
	fields := strings.Fields(line)
	var tr ledger.Transfer
	id, err := strconv.ParseUint(fields[0], 10, 64)
	if err != nil {
		return ledger.Command{}, fmt.Errorf("id: %w", err)
	}
	tr.ID = ledger.TransferID(id)
	engine := false
fields:
	for _, f := range fields[1:] {
		key, val, isKeyValue := strings.Cut(f, "=")
		if f == "engine" {
			engine = true
			continue
		}
		if !isKeyValue {
			for _, fl := range transferFlagNames {
				if fl.name == f {
					tr.Flags |= fl.flag
					continue fields
				}
			}
			return ledger.Command{}, fmt.Errorf("%q is not a flag", f)
		}
		var n uint64
		var err error
		switch key {
		case "debit":
			n, err = strconv.ParseUint(val, 10, 64)
			tr.DebitAccountID = ledger.AccountID(n)
		case "credit":
			n, err = strconv.ParseUint(val, 10, 64)
			tr.CreditAccountID = ledger.AccountID(n)
		case "amount":
			tr.AmountFen, err = scen.ParseYuan(val)
		case "pending_id":
			n, err = strconv.ParseUint(val, 10, 64)
			tr.PendingID = ledger.TransferID(n)
		case "refund_of":
			n, err = strconv.ParseUint(val, 10, 64)
			tr.RefundOfID = ledger.TransferID(n)
		case "code":
			tr.Code, err = parseCode(val)
		case "user_data":
			tr.UserData, err = strconv.ParseUint(val, 10, 64)
		case "deadline":
			tr.DeadlineNanos, err = strconv.ParseInt(val, 10, 64)
		case "timestamp":
			tr.TimestampNanos, err = strconv.ParseInt(val, 10, 64)
		case "flags":
			n, err = strconv.ParseUint(val, 0, 16)
			tr.Flags |= ledger.TransferFlags(n)
		default:
			return ledger.Command{}, fmt.Errorf("unknown key %q", key)
		}
		if err != nil {
			return ledger.Command{}, fmt.Errorf("%s: %w", key, err)
		}
	}
	c := ledger.TransferCommand(tr)
	c.Engine = engine
	return c, nil
}

// Formatting: events print in the syntax of the input lines where they can.

func formatEvents(events []ledger.Event) string {
	if len(events) == 0 {
		return "no events"
	}
	var b strings.Builder
	for i := range events {
		b.WriteString(formatEvent(&events[i]))
		b.WriteByte('\n')
	}
	return b.String()
}

func formatEvent(e *ledger.Event) string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	switch e.Kind {
	case ledger.EventAccountCreated:
		a := &e.Account
		fmt.Fprintf(&b, " %d %s", a.ID, a.Kind)
		for _, fl := range accountFlagNames {
			if a.Flags&fl.flag != 0 {
				b.WriteString(" " + fl.name)
			}
		}
		if a.UserData != 0 {
			fmt.Fprintf(&b, " user_data=%d", a.UserData)
		}
		fmt.Fprintf(&b, " time=%d", a.TimestampNanos)
	case ledger.EventTransferCreated:
		tr := &e.Transfer
		fmt.Fprintf(&b, " %d %s time=%d", tr.ID, formatTransfer(tr), tr.TimestampNanos)
	case ledger.EventPendingExpired:
		fmt.Fprintf(&b, " pending_id=%d time=%d", e.Transfer.PendingID, e.Transfer.TimestampNanos)
	case ledger.EventBalanceRecorded:
		a := &e.Account
		fmt.Fprintf(&b, " account=%d after=%d debits_posted=%s debits_pending=%s credits_posted=%s credits_pending=%s time=%d",
			a.ID, e.Transfer.ID, scen.Yuan(a.DebitsPostedFen), scen.Yuan(a.DebitsPendingFen),
			scen.Yuan(a.CreditsPostedFen), scen.Yuan(a.CreditsPendingFen), a.TimestampNanos)
	}
	return b.String()
}

// formatTransfer prints the fields of a transfer other than its id and timestamp, as a transfer
// line would write them.
func formatTransfer(tr *ledger.Transfer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "debit=%d credit=%d amount=%s", tr.DebitAccountID, tr.CreditAccountID, scen.Yuan(tr.AmountFen))
	if tr.PendingID != 0 {
		fmt.Fprintf(&b, " pending_id=%d", tr.PendingID)
	}
	if tr.RefundOfID != 0 {
		fmt.Fprintf(&b, " refund_of=%d", tr.RefundOfID)
	}
	fmt.Fprintf(&b, " code=%s", formatCode(tr.Code))
	for _, fl := range transferFlagNames {
		if tr.Flags&fl.flag != 0 {
			b.WriteString(" " + fl.name)
		}
	}
	if tr.UserData != 0 {
		fmt.Fprintf(&b, " user_data=%d", tr.UserData)
	}
	if tr.DeadlineNanos != 0 {
		fmt.Fprintf(&b, " deadline=%d", tr.DeadlineNanos)
	}
	return b.String()
}

func formatTransferStatus(st *ledger.TransferStatus) string {
	var state string
	switch {
	case st.Open:
		state = "state=open"
	case st.Posted:
		state = "state=posted posted=" + scen.Yuan(st.PostedFen)
	case st.Voided:
		state = "state=voided"
	case st.Expired:
		state = "state=expired"
	default:
		state = "state=closed refunded=" + scen.Yuan(st.RefundedFen)
	}
	return formatTransfer(&st.Transfer) + " " + state
}
