package welfare_test

// Order scenarios as data: the scripts in testdata_orders/*.txt (a directory of their own, so
// that TestScenarios' walk over testdata/ does not run them with its harness) drive the order
// saga across several in-memory shards, welfare.State each, through New, Execute, Tick and
// Receive. After changing the decider, regenerate the expected outputs with
//
//	go test ./engine/welfare/ -run TestOrderScenarios -rewrite
//
// and read the diff as a reviewer would before committing it.
//
// # Units
//
// Amounts are yuan with exactly two decimals ("128.00", "0.01"), parsed into int64 fen by
// joining the digits, never through a float; outputs print fen the same way. A discount is a
// percentage with at most two decimals ("7%", "7.5%"), parsed into basis points. A date is an
// Asia/Shanghai calendar date, "2026-02-10" (the start of that day, through
// welfare.DaysFromCivil and welfare.DayStartNanos), optionally followed by offsets
// ("2026-02-10+30s", "2026-02-10+7d+1s"); a date of offsets only ("+31s") is relative to the
// current batch time. Durations are sums of <n>d, <n>h, <n>m and <n>s ("15m", "7d1s").
//
// # Directives
//
// Every directive may carry date=D, which sets the batch time for it and for the directives
// after it (it starts at 2026-02-10).
//
//	shards count=N      start over with N empty shards (each file starts with 2)
//	exec [shard=N] [nodeliver]
//	                    each input line is one command, decided alone on that shard (default
//	                    0); prints "<verb> <first value>: <code> [details]" a command and, indented,
//	                    the notes it made; then delivers as deliver does, unless nodeliver
//	tick [shard=N] [nodeliver]
//	                    Tick every shard (or one) at the batch time; prints the notes, then
//	                    delivers
//	deliver [count=N]   deliver the queued messages, oldest first, until none can be (or N were);
//	                    each delivery prints "<from>-><to> <message>" and, indented, its notes;
//	                    at the end, messages still queued print as "held ..." (held back) or
//	                    "queued ..." (behind a held message)
//	hold [kind=K] [from=N] [to=N] [order=O]
//	                    hold back the queued and future messages that match (kind is reserve,
//	                    reserved, confirm, release, hand_out, goods_back, uncollected, config,
//	                    ...). Messages between two shards stay in order, as the runtime keeps
//	                    them: a held message holds back the later ones between the same shards.
//	unhold              let every held message go (the next deliver or exec delivers them)
//	queue               the queued messages
//	order id=O          the order on its member's shard: state, lines and holds, each hold with
//	                    the state of its ledger transfer
//	units sku=K         a SKU's unit states, and each known order's reservation of it
//	points member=M     the member's program accounts: balance, held and available
//	budget union=U      the union's available budget
//	receivable merchant=K
//	                    the merchant's receivable, summed over the shards: posted and pending
//
// # Commands (exec input lines)
//
//	create-union id=U [officers=(O, ...)]
//	register member=M union=U [unpaid] [unregistered]
//	fund transfer=T union=U amount=A
//	create-program id=P union=U officer=O category=C amount=A from=D to=D
//	               [categories=(S, ...)] [skus=(K, ...)] [merchants=(K, ...)]
//	               [choose=N options=(K, ...)]
//	issue program=P officer=O [members=(M, ...)]
//	claim member=M program=P choices=(K, ...)
//	revoke program=P officer=O
//	set-config version=V [reserve-timeout=D] [payment-timeout=D] [uncollected=D]
//	           [return-window=D] [discount=P% campaign-from=D campaign-to=D
//	           [campaign-unions=(U, ...)] [campaign-skus=(K, ...)]]
//	                    (starts from the shard's configuration; a campaign is added, with the
//	                    version as its id)
//	set-sku id=K merchant=M category=S price=A [unlisted] [limit=N] [sale-from=D] [sale-to=D]
//	receive sku=K quantity=N
//	restock sku=K quantity=N
//	place order=O member=M lines=(L, ...) [pickup=K] [cash=A]
//	                    a line is <sku>x<quantity>[@<unit price>][#<shard>][~<category>]: the
//	                    shard, category and merchant come from the SKU's shard, and the price
//	                    defaults to what the member is shown there now (list price less an open
//	                    campaign); #shard is needed only for a SKU no shard has, ~category
//	                    overrides what the member's shard is told
//	pay order=O ref=R [member=M]
//	cancel order=O [member=M]
//	ship order=O
//	arrive order=O
//	hand-out order=O
//	return order=O [member=M]
//
// # What the harness checks
//
//   - After every command, tick and delivery: CheckInvariants of every shard, and the replay of
//     the shard that ran (a State fed only by Apply of its events) equal to the live one, by
//     AppendSnapshot bytes.
//   - After every directive that leaves no message queued, the saga has settled: each order's
//     reservations on the SKU shards and its holds in the ledger agree with its state (placed
//     orders sold and held, handed-out orders handed out and posted, cancelled and refused
//     orders released and voided, returned orders refunded), and every SKU's reserved, sold and
//     handed-out units are exactly those of the orders in those states.
//   - At the end of each file: a fresh State per shard, fed all of its events by Apply, equals
//     the live one, and Restore of each live snapshot gives the same bytes back.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	scen "huigong/engine/internal/scenario"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"huigong/engine/ledger"
	"huigong/engine/stock"
	"huigong/engine/welfare"
)

const ordScenarioDir = "testdata_orders"

func TestOrderScenarios(t *testing.T) {
	datadriven.Walk(t, ordScenarioDir, func(t *testing.T, path string) {
		c := newOrdCluster(2)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := c.run(d)
			if err != nil {
				d.Fatalf(t, "%v", err)
			}
			return out
		})
		if err := c.checkEnd(); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	})
}

// ordOrderCodes are the welfare codes of the order saga; each must be the expected outcome of
// some command or order note in the scripts.
var ordOrderCodes = []welfare.Code{
	welfare.InvalidOrder, welfare.NotEligible, welfare.InsufficientPoints, welfare.SoldOut,
	welfare.LimitExceeded, welfare.PriceChanged, welfare.NotListed, welfare.UnknownOrder,
	welfare.WrongOrderState, welfare.LatePayment, welfare.PaymentTimeout, welfare.CheckoutTimeout,
	welfare.Cancelled, welfare.Uncollected, welfare.NotHandedOut, welfare.ReturnWindowClosed,
	welfare.UnknownSKU, welfare.InvalidSKU, welfare.InvalidQuantity,
}

// ordResultRe matches a command's result line, "<verb> <id>: <code>", and ordNoteCodeRe the
// code of an order note, "note order <id>: <state> code=<code>".
var (
	ordResultRe   = regexp.MustCompile(`^([a-z-]+) [0-9]+: ([a-z_]+)(?: |$)`)
	ordNoteCodeRe = regexp.MustCompile(`^\s+note order [0-9]+: [a-z_]+ code=([a-z_]+)$`)
)

// TestOrderScenariosCoverOrderCodes fails if an order code is never expected by a script, or if
// a script expects a name that is no welfare code (a typo in a hand-edited file).
func TestOrderScenariosCoverOrderCodes(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(ordScenarioDir, "*.txt"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no %s/*.txt: %v", ordScenarioDir, err)
	}
	byName := map[string]welfare.Code{}
	for _, c := range welfare.Codes() {
		byName[c.String()] = c
	}
	seen := map[welfare.Code][]string{}
	for _, path := range paths {
		for _, line := range scen.ExpectedLines(t, path) {
			var name string
			if m := ordResultRe.FindStringSubmatch(line); m != nil {
				name = m[2]
			} else if m := ordNoteCodeRe.FindStringSubmatch(line); m != nil {
				name = m[1]
			} else {
				continue
			}
			c, ok := byName[name]
			if !ok {
				t.Errorf("%s: %q names no code", path, line)
				continue
			}
			seen[c] = append(seen[c], filepath.Base(path))
		}
	}
	for _, c := range ordOrderCodes {
		if len(seen[c]) == 0 {
			t.Errorf("no order scenario expects %s", c)
		}
	}
}

// ordCluster is the shards of one script or test, the messages between them not yet
// delivered, and a replay of each shard built only from its events.
type ordCluster struct {
	states  []*welfare.State
	replays []*welfare.State
	logs    [][]byte
	queue   []ordMsg
	holds   []ordFilter
	nowNs   int64
	out     welfare.Output
	// orders maps each order the harness placed to its member's shard, in placing order.
	orders    map[welfare.OrderID]uint32
	orderList []welfare.OrderID
	// lines collects what a directive prints; nil in Go tests, which read the states.
	lines *[]string
	// notes collects every note, for Go tests.
	notes []welfare.OrderNote
	// deliveries counts messages delivered.
	deliveries int
}

type ordMsg struct {
	from, to uint32
	payload  []byte
	held     bool
}

// ordFilter matches messages; a negative or zero field matches any.
type ordFilter struct {
	kind     int
	from, to int
	order    welfare.OrderID
}

func (f ordFilter) matches(m *ordMsg) bool {
	if f.kind >= 0 && int(ordKind(m.payload[0])) != f.kind {
		return false
	}
	if f.from >= 0 && int(m.from) != f.from || f.to >= 0 && int(m.to) != f.to {
		return false
	}
	if f.order != 0 {
		sm, ok := ordDecodeStock(m.payload)
		return ok && sm.order == f.order
	}
	return true
}

func newOrdCluster(shardsCount uint32) *ordCluster {
	c := &ordCluster{nowNs: ordDate(2026, 2, 10), orders: map[welfare.OrderID]uint32{}}
	for i := uint32(0); i < shardsCount; i++ {
		c.states = append(c.states, welfare.New(i, shardsCount))
		c.replays = append(c.replays, welfare.New(i, shardsCount))
		c.logs = append(c.logs, nil)
	}
	return c
}

func (c *ordCluster) print(format string, v ...any) {
	if c.lines != nil {
		*c.lines = append(*c.lines, fmt.Sprintf(format, v...))
	}
}

// record takes what the last call on shard decided: its events go to the log and the replay,
// its messages to the queue, its notes to the output. Then every invariant is checked.
func (c *ordCluster) record(shard uint32) error {
	out := &c.out
	if len(out.Events) > 0 {
		ev := slices.Clone(out.Events)
		c.logs[shard] = append(c.logs[shard], ev...)
		if err := c.replays[shard].Apply(ev); err != nil {
			return fmt.Errorf("shard %d: replay: %w", shard, err)
		}
	}
	for _, o := range out.Outgoing {
		m := ordMsg{from: shard, to: o.ToShard, payload: slices.Clone(o.Payload)}
		for _, f := range c.holds {
			m.held = m.held || f.matches(&m)
		}
		c.queue = append(c.queue, m)
	}
	for _, n := range out.Notes {
		c.notes = append(c.notes, n)
		c.print("  %s", ordFormatNote(&n))
	}
	out.Reset()
	for i, s := range c.states {
		if err := s.CheckInvariants(); err != nil {
			return fmt.Errorf("shard %d: %w", i, err)
		}
	}
	live, replay := c.states[shard].AppendSnapshot(nil), c.replays[shard].AppendSnapshot(nil)
	if !bytes.Equal(live, replay) {
		return fmt.Errorf("shard %d: the replay of its events differs from the live state:\nlive   %s\nreplay %s", shard, live, replay)
	}
	return nil
}

// exec decides one command alone on shard.
func (c *ordCluster) exec(shard uint32, cmd welfare.Command) (welfare.Result, error) {
	var r [1]welfare.Result
	c.states[shard].Execute(c.nowNs, []welfare.Command{cmd}, r[:], &c.out)
	if cmd.Kind == welfare.PlaceOrder && cmd.Order != nil {
		if _, known := c.orders[cmd.Order.ID]; !known {
			if o, ok := c.states[shard].Order(cmd.Order.ID); ok && o.MemberID == cmd.MemberID {
				c.orders[cmd.Order.ID] = shard
				c.orderList = append(c.orderList, cmd.Order.ID)
			}
		}
	}
	return r[0], nil
}

func (c *ordCluster) tick(shard uint32) error {
	c.states[shard].Tick(c.nowNs, &c.out)
	return c.record(shard)
}

// deliverOne delivers the oldest message that no hold keeps back, and reports whether there
// was one.
func (c *ordCluster) deliverOne() (bool, error) {
	type pair struct{ from, to uint32 }
	var blocked []pair
	for i := range c.queue {
		m := c.queue[i]
		p := pair{m.from, m.to}
		if m.held || slices.Contains(blocked, p) {
			blocked = append(blocked, p)
			continue
		}
		c.queue = slices.Delete(c.queue, i, i+1)
		c.print("%d->%d %s", m.from, m.to, ordFormatMessage(m.payload))
		if err := c.states[m.to].Receive(c.nowNs, m.from, m.payload, &c.out); err != nil {
			return false, err
		}
		c.deliveries++
		return true, c.record(m.to)
	}
	return false, nil
}

const ordDeliveriesMax = 100_000

// deliver delivers up to count messages (all when count is negative), then checks that the
// saga settled if nothing is left queued.
func (c *ordCluster) deliver(count int) error {
	for n := 0; count < 0 || n < count; n++ {
		if n > ordDeliveriesMax {
			return fmt.Errorf("more than %d deliveries: a message loop", ordDeliveriesMax)
		}
		ok, err := c.deliverOne()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
	}
	for _, m := range c.queue {
		what := "queued" // behind a held message between the same shards
		if m.held {
			what = "held"
		}
		c.print("%s %d->%d %s", what, m.from, m.to, ordFormatMessage(m.payload))
	}
	if len(c.queue) == 0 {
		return c.checkSettled()
	}
	return nil
}

// drop forgets every queued message, as a crash of every shard before its outbox was read
// would if the outbox were not journaled, and returns them.
func (c *ordCluster) drop() []ordMsg {
	q := c.queue
	c.queue = nil
	return q
}

// crash rebuilds every shard from its events alone, as recovery from the journal does: what was
// not journaled is gone.
func (c *ordCluster) crash() error {
	for i := range c.states {
		s := welfare.New(uint32(i), uint32(len(c.states)))
		if err := s.Apply(c.logs[i]); err != nil {
			return fmt.Errorf("shard %d: recovery: %w", i, err)
		}
		c.states[i] = s
	}
	return nil
}

// checkSettled checks, with no message in flight, that every order's reservations and holds
// agree with its state, and that the SKUs' reserved, sold and handed-out units are exactly
// those of the orders.
func (c *ordCluster) checkSettled() error {
	type key struct {
		shard uint32
		sku   stock.SKUID
	}
	want := map[key]*stock.Units{}
	for _, id := range c.orderList {
		o, ok := c.states[c.orders[id]].Order(id)
		if !ok {
			return fmt.Errorf("order %d: lost from shard %d", id, c.orders[id])
		}
		var wantState stock.ReservationState
		switch o.State {
		case welfare.OrderReserving:
			return fmt.Errorf("order %d: still reserving with no message in flight", id)
		case welfare.OrderAwaitingPayment:
			wantState = stock.StateReserved
		case welfare.OrderPlaced, welfare.OrderShipped, welfare.OrderReady:
			wantState = stock.StateSold
		case welfare.OrderHandedOut:
			wantState = stock.StateHandedOut
		case welfare.OrderReturned, welfare.OrderUncollected:
			wantState = stock.StateReturned
		case welfare.OrderCancelled, welfare.OrderRefused:
			wantState = stock.StateReleased
		}
		for _, l := range o.Lines {
			if int(l.Shard) >= len(c.states) {
				continue
			}
			_, q, st, ok := c.states[l.Shard].Stock().Reservation(id, l.SKU)
			switch {
			case wantState == stock.StateReleased && (!ok || st == stock.StateReleased):
			case !ok || st != wantState || q != l.Quantity:
				return fmt.Errorf("order %d (%v): sku %d reservation %v of %d in state %d, want state %d of %d", id, o.State, l.SKU, ok, q, st, wantState, l.Quantity)
			}
			k := key{l.Shard, l.SKU}
			if want[k] == nil {
				want[k] = &stock.Units{}
			}
			switch wantState {
			case stock.StateReserved:
				want[k].Reserved += q
			case stock.StateSold:
				want[k].Sold += q
			case stock.StateHandedOut:
				want[k].HandedOut += q
			}
		}
		if err := c.checkHolds(o); err != nil {
			return fmt.Errorf("order %d (%v): %w", id, o.State, err)
		}
	}
	for shard, s := range c.states {
		for _, id := range s.Stock().SKUs() {
			sk, _ := s.Stock().SKU(id)
			w := want[key{uint32(shard), id}]
			if w == nil {
				w = &stock.Units{}
			}
			if sk.Units.Reserved != w.Reserved || sk.Units.Sold != w.Sold || sk.Units.HandedOut != w.HandedOut {
				return fmt.Errorf("sku %d: units %+v, but the orders hold reserved %d, sold %d, handed out %d", id, sk.Units, w.Reserved, w.Sold, w.HandedOut)
			}
		}
	}
	return nil
}

// checkHolds checks an order's holds against the ledger of its shard.
func (c *ordCluster) checkHolds(o *welfare.Order) error {
	l := c.states[c.orders[o.ID]].Ledger()
	for _, h := range o.Holds {
		if h.TransferID == 0 {
			if h.ProgramID != 0 || (o.State != welfare.OrderAwaitingPayment && o.State != welfare.OrderRefused && o.State != welfare.OrderCancelled) {
				return fmt.Errorf("hold %+v has no transfer", h)
			}
			continue
		}
		ts, ok := l.LookupTransfer(h.TransferID)
		if !ok {
			return fmt.Errorf("hold %+v: transfer not in the ledger", h)
		}
		switch o.State {
		case welfare.OrderAwaitingPayment, welfare.OrderPlaced, welfare.OrderShipped, welfare.OrderReady:
			if !ts.Open || ts.AmountFen != h.AmountFen {
				return fmt.Errorf("hold %+v: transfer %+v is not held", h, ts)
			}
		case welfare.OrderCancelled, welfare.OrderRefused, welfare.OrderUncollected:
			if !ts.Voided {
				return fmt.Errorf("hold %+v: transfer %+v is not voided", h, ts)
			}
		case welfare.OrderHandedOut, welfare.OrderReturned:
			want := int64(0)
			if o.State == welfare.OrderReturned {
				want = h.AmountFen
			}
			if ts.PendingID == 0 || ts.AmountFen != h.AmountFen || ts.RefundedFen != want {
				return fmt.Errorf("hold %+v: post %+v, want %d refunded", h, ts, want)
			}
			if p, _ := l.LookupTransfer(ts.PendingID); !p.Posted || p.PostedFen != h.AmountFen {
				return fmt.Errorf("hold %+v: pending transfer %+v not posted in full", h, p)
			}
		}
	}
	return nil
}

// checkEnd rebuilds each shard from all of its events and from its snapshot, and compares.
func (c *ordCluster) checkEnd() error {
	for i, s := range c.states {
		live := s.AppendSnapshot(nil)
		fresh := welfare.New(uint32(i), uint32(len(c.states)))
		if err := fresh.Apply(c.logs[i]); err != nil {
			return fmt.Errorf("shard %d: replay: %w", i, err)
		}
		if got := fresh.AppendSnapshot(nil); !bytes.Equal(got, live) {
			return fmt.Errorf("shard %d: replay from the start differs from live:\nlive   %s\nreplay %s", i, live, got)
		}
		restored := welfare.New(uint32(i), uint32(len(c.states)))
		if err := restored.Restore(live); err != nil {
			return fmt.Errorf("shard %d: restore: %w", i, err)
		}
		if got := restored.AppendSnapshot(nil); !bytes.Equal(got, live) {
			return fmt.Errorf("shard %d: snapshot round trip differs:\nlive     %s\nrestored %s", i, live, got)
		}
		if err := restored.CheckInvariants(); err != nil {
			return fmt.Errorf("shard %d: restored: %w", i, err)
		}
		next, ok := s.NextDeadlineNanos()
		rnext, rok := restored.NextDeadlineNanos()
		if next != rnext || ok != rok {
			return fmt.Errorf("shard %d: next deadline %d %v, restored %d %v", i, next, ok, rnext, rok)
		}
	}
	return nil
}

// Directives.

func (c *ordCluster) run(d *datadriven.TestData) (string, error) {
	var lines []string
	c.lines = &lines
	defer func() { c.lines = nil }()
	a := &ordArgs{verb: d.Cmd, list: d.CmdArgs, used: make([]bool, len(d.CmdArgs))}
	if v := a.str("date", false); v != "" {
		nanos, err := ordParseTime(v, c.nowNs)
		if err != nil {
			return "", err
		}
		c.nowNs = nanos
	}
	shard, all := uint32(0), true
	if v := a.str("shard", false); v != "" {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || int(n) >= len(c.states) {
			return "", fmt.Errorf("shard=%s", v)
		}
		shard, all = uint32(n), false
	}
	var err error
	switch d.Cmd {
	case "shards":
		n := a.uint("count", true)
		if err := a.done(); err != nil {
			return "", err
		}
		if n == 0 || n > 64 {
			return "", fmt.Errorf("count=%d", n)
		}
		*c = *newOrdCluster(uint32(n))
		return "ok", nil
	case "exec":
		nodeliver := a.flag("nodeliver")
		if err := a.done(); err != nil {
			return "", err
		}
		for _, raw := range strings.Split(d.Input, "\n") {
			raw = strings.TrimSpace(raw)
			if raw == "" || strings.HasPrefix(raw, "#") {
				continue
			}
			cmd, label, err := c.parseCommand(shard, raw)
			if err != nil {
				return "", fmt.Errorf("%q: %w", raw, err)
			}
			r, _ := c.exec(shard, cmd)
			lines = append(lines, ordFormatResult(label, &r))
			if err := c.record(shard); err != nil {
				return strings.Join(lines, "\n"), err
			}
		}
		if !nodeliver {
			err = c.deliver(-1)
		}
	case "tick":
		nodeliver := a.flag("nodeliver")
		if err := a.done(); err != nil {
			return "", err
		}
		for i := range c.states {
			if all || uint32(i) == shard {
				if err := c.tick(uint32(i)); err != nil {
					return "", err
				}
			}
		}
		if !nodeliver {
			err = c.deliver(-1)
		}
	case "deliver":
		count := -1
		if v := a.str("count", false); v != "" {
			count, err = strconv.Atoi(v)
			if err != nil {
				return "", err
			}
		}
		if err := a.done(); err != nil {
			return "", err
		}
		err = c.deliver(count)
	case "hold":
		f := ordFilter{kind: -1, from: -1, to: -1}
		if v := a.str("kind", false); v != "" {
			k, ok := ordMessageKinds[v]
			if !ok {
				return "", fmt.Errorf("kind=%s", v)
			}
			f.kind = int(k)
		}
		if v := a.str("from", false); v != "" {
			f.from, _ = strconv.Atoi(v)
		}
		if v := a.str("to", false); v != "" {
			f.to, _ = strconv.Atoi(v)
		}
		f.order = welfare.OrderID(a.uint("order", false))
		if err := a.done(); err != nil {
			return "", err
		}
		c.holds = append(c.holds, f)
		n := 0
		for i := range c.queue {
			if f.matches(&c.queue[i]) && !c.queue[i].held {
				c.queue[i].held = true
				n++
			}
		}
		lines = append(lines, fmt.Sprintf("holding; %d queued message(s) held", n))
	case "unhold":
		if err := a.done(); err != nil {
			return "", err
		}
		c.holds = nil
		n := 0
		for i := range c.queue {
			if c.queue[i].held {
				c.queue[i].held = false
				n++
			}
		}
		lines = append(lines, fmt.Sprintf("%d message(s) let go", n))
	case "queue":
		if err := a.done(); err != nil {
			return "", err
		}
		for _, m := range c.queue {
			h := ""
			if m.held {
				h = " (held)"
			}
			lines = append(lines, fmt.Sprintf("%d->%d %s%s", m.from, m.to, ordFormatMessage(m.payload), h))
		}
		if len(c.queue) == 0 {
			lines = append(lines, "empty")
		}
	case "order":
		id := welfare.OrderID(a.uint("id", true))
		if err := a.done(); err != nil {
			return "", err
		}
		lines = append(lines, c.printOrder(id)...)
	case "units":
		id := stock.SKUID(a.uint("sku", true))
		if err := a.done(); err != nil {
			return "", err
		}
		lines = append(lines, c.printUnits(id)...)
	case "points":
		id := welfare.MemberID(a.uint("member", true))
		if err := a.done(); err != nil {
			return "", err
		}
		lines = append(lines, c.printPoints(id)...)
	case "budget":
		id := welfare.UnionID(a.uint("union", true))
		if err := a.done(); err != nil {
			return "", err
		}
		for i, s := range c.states {
			if b, ok := s.BudgetFen(id); ok {
				lines = append(lines, fmt.Sprintf("union %d on shard %d: budget %s", id, i, scen.Yuan(b)))
			}
		}
	case "receivable":
		id := welfare.MerchantID(a.uint("merchant", true))
		if err := a.done(); err != nil {
			return "", err
		}
		lines = append(lines, c.printReceivable(id))
	default:
		return "", fmt.Errorf("unknown directive %q", d.Cmd)
	}
	if err != nil {
		return strings.Join(lines, "\n"), err
	}
	if len(lines) == 0 {
		return "ok", nil
	}
	return strings.Join(lines, "\n"), nil
}

// Printing.

func ordFormatResult(label string, r *welfare.Result) string {
	s := fmt.Sprintf("%s: %s", label, r.Code)
	if r.Order != 0 {
		s += " state=" + r.Order.String()
	}
	if r.OrderCode != welfare.OK {
		s += " order-code=" + r.OrderCode.String()
	}
	if r.IssuedCount > 0 {
		s += fmt.Sprintf(" issued=%d total=%s", r.IssuedCount, scen.Yuan(r.IssuedFen))
	}
	for _, m := range r.Refused {
		s += fmt.Sprintf(" refused(member %d: %s)", m.MemberID, m.Code)
	}
	return s
}

func ordFormatNote(n *welfare.OrderNote) string {
	switch n.Kind {
	case welfare.NoteOrder:
		s := fmt.Sprintf("note order %d: %s", n.OrderID, n.State)
		if n.Code != welfare.OK {
			s += " code=" + n.Code.String()
		}
		return s
	case welfare.NoteSoldOut:
		return fmt.Sprintf("note sold_out sku=%d", n.SKU)
	case welfare.NoteBackInStock:
		return fmt.Sprintf("note back_in_stock sku=%d", n.SKU)
	case welfare.NoteRefundPayment:
		return fmt.Sprintf("note refund_payment order=%d member=%d amount=%s ref=%d", n.OrderID, n.Member, scen.Yuan(n.RefundCashFen), n.PaymentRef)
	}
	return fmt.Sprintf("note %+v", *n)
}

// The message kinds of order.go and decide.go, as the harness names them.
var ordMessageKinds = map[string]byte{
	"config": 1, "revoke": 2, "return": 3, "move_in": 4, "move_back": 5,
	"reserve": 10, "reserved": 11, "confirm": 12, "release": 13, "hand_out": 14, "goods_back": 15, "uncollected": 16,
}

// ordCompact is the bit of a stock message kind sent with compact lines (SKU, quantity, code),
// ordHinted the bit of one with hints (all of them now): four bytes after the line count, and
// four after each line.
const (
	ordCompact = 0x40
	ordHinted  = 0x20
)

// ordKind is a message's kind without the form bits.
func ordKind(kind byte) byte {
	if k := kind &^ (ordCompact | ordHinted); k >= 10 && k <= 16 {
		return k
	}
	return kind
}

func ordMessageName(kind byte) string {
	kind = ordKind(kind)
	for name, k := range ordMessageKinds {
		if k == kind {
			return name
		}
	}
	return fmt.Sprintf("kind_%d", kind)
}

// ordStockMessage is order.go's stock message, decoded here from its documented layout so the
// harness can print and filter it.
type ordStockMessage struct {
	order  welfare.OrderID
	member welfare.MemberID
	lines  []string
}

func ordDecodeStock(p []byte) (ordStockMessage, bool) {
	kind := ordKind(p[0])
	if len(p) < 31 || kind < 10 || kind > 16 || p[0]&ordHinted == 0 {
		return ordStockMessage{}, false
	}
	le := binary.LittleEndian
	b := p[1:]
	m := ordStockMessage{order: welfare.OrderID(le.Uint64(b)), member: welfare.MemberID(le.Uint64(b[8:]))}
	n := int(le.Uint16(b[24:]))
	b = b[30:] // and the hint, which is the process's own and not printed
	if p[0]&ordCompact != 0 {
		// Compact lines: SKU and quantity (8 bytes each), code and hint.
		for i := 0; i < n; i++ {
			if len(b) < 21 {
				return m, false
			}
			s := fmt.Sprintf("%dx%d", le.Uint64(b), int64(le.Uint64(b[8:])))
			if kind == 11 { // reserved: the SKU shard's answer per line
				s += " " + stock.Code(b[16]).String()
			}
			m.lines = append(m.lines, s)
			b = b[21:]
		}
		return m, len(b) == 0
	}
	// A line: SKU, quantity, unit price (8 bytes each), code, merchant (8), category length,
	// category and hint.
	const fixed = 8 + 8 + 8 + 1 + 8 + 1
	for i := 0; i < n; i++ {
		if len(b) < fixed || len(b) < fixed+int(b[fixed-1])+4 {
			return m, false
		}
		end := fixed + int(b[fixed-1])
		s := fmt.Sprintf("%dx%d@%s", le.Uint64(b), int64(le.Uint64(b[8:])), scen.Yuan(int64(le.Uint64(b[16:]))))
		if kind == 11 { // reserved: the SKU shard's answer per line
			s += " " + stock.Code(b[24]).String()
		}
		if kind == 10 { // reserve: what the member's shard checked the whitelists against
			s += fmt.Sprintf(" merchant=%d category=%s", le.Uint64(b[25:]), b[fixed:end])
		}
		m.lines = append(m.lines, s)
		b = b[end+4:]
	}
	return m, len(b) == 0
}

func ordFormatMessage(p []byte) string {
	if sm, ok := ordDecodeStock(p); ok {
		return fmt.Sprintf("%s order=%d member=%d (%s)", ordMessageName(p[0]), sm.order, sm.member, strings.Join(sm.lines, ", "))
	}
	if p[0] == 1 {
		var cfg welfare.Config
		if err := json.Unmarshal(p[1:], &cfg); err == nil {
			return fmt.Sprintf("config version=%d", cfg.Version)
		}
	}
	return ordMessageName(p[0])
}

func (c *ordCluster) printOrder(id welfare.OrderID) []string {
	shard, ok := c.orders[id]
	if !ok {
		return []string{fmt.Sprintf("no order %d", id)}
	}
	o, _ := c.states[shard].Order(id)
	head := fmt.Sprintf("order %d on shard %d: %s", id, shard, o.State)
	if o.Code != welfare.OK {
		head += " code=" + o.Code.String()
	}
	head += fmt.Sprintf(" member=%d total=%s cash=%s", o.MemberID, scen.Yuan(o.TotalFen()), scen.Yuan(o.CashFen))
	if o.DeadlineNanos != 0 {
		head += " deadline=" + ordFormatTime(o.DeadlineNanos)
	}
	if o.PaymentRef != 0 {
		head += fmt.Sprintf(" payment=%d", o.PaymentRef)
	}
	out := []string{head}
	for _, l := range o.Lines {
		out = append(out, fmt.Sprintf("  line %dx%d@%s shard=%d merchant=%d category=%s", l.SKU, l.Quantity, scen.Yuan(l.UnitPriceFen), l.Shard, l.MerchantID, l.Category))
	}
	led := c.states[shard].Ledger()
	for _, h := range o.Holds {
		what := "cash"
		if h.ProgramID != 0 {
			what = fmt.Sprintf("program %d", h.ProgramID)
		}
		state := "unpaid"
		if h.TransferID != 0 {
			ts, _ := led.LookupTransfer(h.TransferID)
			switch {
			case ts.Open:
				state = "held"
			case ts.Voided:
				state = "voided"
			case ts.Expired:
				state = "expired"
			case ts.PendingID != 0 && ts.RefundedFen > 0:
				state = "posted, refunded " + scen.Yuan(ts.RefundedFen)
			case ts.PendingID != 0:
				state = "posted"
			default:
				state = fmt.Sprintf("%+v", ts)
			}
		}
		out = append(out, fmt.Sprintf("  hold %s merchant=%d: %s %s", what, h.MerchantID, scen.Yuan(h.AmountFen), state))
	}
	return out
}

func (c *ordCluster) printUnits(id stock.SKUID) []string {
	for shard, s := range c.states {
		sk, ok := s.Stock().SKU(id)
		if !ok {
			continue
		}
		u := sk.Units
		out := []string{fmt.Sprintf("sku %d on shard %d: received=%d available=%d reserved=%d sold=%d handed_out=%d returned=%d",
			id, shard, u.Received, u.Available, u.Reserved, u.Sold, u.HandedOut, u.Returned)}
		names := map[stock.ReservationState]string{stock.StateReserved: "reserved", stock.StateSold: "sold",
			stock.StateHandedOut: "handed_out", stock.StateReturned: "returned", stock.StateReleased: "released"}
		for _, oid := range c.orderList {
			if member, q, st, ok := s.Stock().Reservation(oid, id); ok {
				out = append(out, fmt.Sprintf("  order %d member %d: %d %s", oid, member, q, names[st]))
			}
		}
		return out
	}
	return []string{fmt.Sprintf("no sku %d", id)}
}

func (c *ordCluster) printPoints(id welfare.MemberID) []string {
	var out []string
	for shard, s := range c.states {
		m, ok := s.Member(id)
		if !ok {
			continue
		}
		for _, h := range m.Holdings {
			a, _ := s.Ledger().Account(h.AccountID)
			line := fmt.Sprintf("member %d program %d on shard %d: balance=%s held=%s available=%s", id, h.ProgramID, shard,
				scen.Yuan(a.BalanceFen()), scen.Yuan(a.DebitsPendingFen), scen.Yuan(a.AvailableFen()))
			if h.Closed {
				line += " closed"
			}
			out = append(out, line)
		}
		if len(m.Holdings) == 0 {
			out = append(out, fmt.Sprintf("member %d on shard %d: no points", id, shard))
		}
	}
	if len(out) == 0 {
		out = append(out, fmt.Sprintf("no member %d", id))
	}
	return out
}

// receivableFen sums a merchant's receivable accounts over the shards.
func (c *ordCluster) receivableFen(id welfare.MerchantID) (postedFen, pendingFen int64) {
	for _, s := range c.states {
		s.Ledger().ForEachAccount(func(a *ledger.Account) {
			if a.Kind == ledger.KindMerchantReceivable && a.UserData == uint64(id) {
				postedFen += a.CreditsPostedFen - a.DebitsPostedFen
				pendingFen += a.CreditsPendingFen
			}
		})
	}
	return postedFen, pendingFen
}

func (c *ordCluster) printReceivable(id welfare.MerchantID) string {
	posted, pending := c.receivableFen(id)
	return fmt.Sprintf("merchant %d receivable: posted=%s pending=%s", id, scen.Yuan(posted), scen.Yuan(pending))
}

// Commands.

type ordArgs struct {
	verb string
	list []datadriven.CmdArg
	used []bool
	err  error
}

func (a *ordArgs) fail(format string, v ...any) {
	if a.err == nil {
		a.err = fmt.Errorf(format, v...)
	}
}

func (a *ordArgs) vals(key string) ([]string, bool) {
	for i, arg := range a.list {
		if arg.Key == key && !a.used[i] {
			a.used[i] = true
			return arg.Vals, true
		}
	}
	return nil, false
}

func (a *ordArgs) str(key string, required bool) string {
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

func (a *ordArgs) uint(key string, required bool) uint64 {
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

func (a *ordArgs) yuan(key string, required bool) int64 {
	v := a.str(key, required)
	if v == "" {
		return 0
	}
	fen, err := ordParseYuan(v)
	if err != nil {
		a.fail("%s: %v", key, err)
	}
	return fen
}

func (a *ordArgs) time(key string, required bool, nowNs int64) int64 {
	v := a.str(key, required)
	if v == "" {
		return 0
	}
	nanos, err := ordParseTime(v, nowNs)
	if err != nil {
		a.fail("%s: %v", key, err)
	}
	return nanos
}

func (a *ordArgs) duration(key string) (int64, bool) {
	v := a.str(key, false)
	if v == "" {
		return 0, false
	}
	nanos, err := ordParseDuration(v)
	if err != nil {
		a.fail("%s: %v", key, err)
	}
	return nanos, true
}

func (a *ordArgs) flag(key string) bool {
	v, ok := a.vals(key)
	if ok && len(v) != 0 && (len(v) != 1 || v[0] != "") {
		a.fail("%s takes no value", key)
	}
	return ok
}

func ordIDs[T ~uint64](a *ordArgs, key string) []T {
	v, _ := a.vals(key)
	var out []T
	for _, s := range v {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			a.fail("%s: %v", key, err)
		}
		out = append(out, T(n))
	}
	return out
}

func (a *ordArgs) done() error {
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

var ordLineRe = regexp.MustCompile(`^([0-9]+)x(-?[0-9]+)(?:@([0-9]+\.[0-9]{2}))?(?:#([0-9]+))?(?:~(.+))?$`)

func (c *ordCluster) parseCommand(shard uint32, raw string) (welfare.Command, string, error) {
	verb, list, err := datadriven.ParseLine(raw)
	if err != nil {
		return welfare.Command{}, "", err
	}
	a := &ordArgs{verb: verb, list: list, used: make([]bool, len(list))}
	label := verb
	if len(list) > 0 && len(list[0].Vals) > 0 {
		label += " " + list[0].Vals[0]
	}
	var cmd welfare.Command
	switch verb {
	case "create-union":
		cmd = welfare.Command{Kind: welfare.CreateUnion, Union: welfare.Union{
			ID: welfare.UnionID(a.uint("id", true)), Name: a.str("name", false), Officers: ordIDs[welfare.OfficerID](a, "officers")}}
	case "register":
		cmd = welfare.Command{Kind: welfare.RegisterMember, MemberID: welfare.MemberID(a.uint("member", true)),
			UnionID: welfare.UnionID(a.uint("union", true)), Registered: !a.flag("unregistered"), DuesPaid: !a.flag("unpaid")}
	case "fund":
		cmd = welfare.Command{Kind: welfare.FundUnion, TransferID: ledger.TransferID(a.uint("transfer", true)),
			UnionID: welfare.UnionID(a.uint("union", true)), AmountFen: a.yuan("amount", true)}
	case "create-program":
		p := welfare.Program{
			ID: welfare.ProgramID(a.uint("id", true)), UnionID: welfare.UnionID(a.uint("union", true)), Name: a.str("name", false),
			AmountPerMemberFen: a.yuan("amount", true), FromNanos: a.time("from", true, c.nowNs), ToNanos: a.time("to", true, c.nowNs),
		}
		officer := welfare.OfficerID(a.uint("officer", true))
		cat, ok := welfare.ParseCategory(a.str("category", true))
		if !ok {
			a.fail("category")
		}
		p.Category = cat
		p.Whitelist.Categories, _ = a.vals("categories")
		p.Whitelist.SKUs = ordIDs[welfare.SKUID](a, "skus")
		p.Whitelist.Merchants = ordIDs[welfare.MerchantID](a, "merchants")
		if n := a.uint("choose", false); n > 0 {
			p.Gift = &welfare.Gift{Choose: int(n), Options: ordIDs[welfare.SKUID](a, "options")}
		}
		cmd = welfare.Command{Kind: welfare.CreateProgram, Program: p, Officer: officer}
	case "issue":
		cmd = welfare.Command{Kind: welfare.Issue, ProgramID: welfare.ProgramID(a.uint("program", true)),
			Officer: welfare.OfficerID(a.uint("officer", true)), Members: ordIDs[welfare.MemberID](a, "members")}
	case "claim":
		cmd = welfare.Command{Kind: welfare.ClaimGift, MemberID: welfare.MemberID(a.uint("member", true)),
			ProgramID: welfare.ProgramID(a.uint("program", true)), Choices: ordIDs[welfare.SKUID](a, "choices")}
	case "revoke":
		cmd = welfare.Command{Kind: welfare.RevokeProgram, ProgramID: welfare.ProgramID(a.uint("program", true)),
			Officer: welfare.OfficerID(a.uint("officer", true))}
	case "set-config":
		cfg := *c.states[shard].Config()
		cfg.Festivals = slices.Clone(cfg.Festivals)
		cfg.Campaigns = slices.Clone(cfg.Campaigns)
		cfg.Version = a.uint("version", true)
		if v, ok := a.duration("reserve-timeout"); ok {
			cfg.ReserveTimeoutNanos = v
		}
		if v, ok := a.duration("payment-timeout"); ok {
			cfg.PaymentTimeoutNanos = v
		}
		if v, ok := a.duration("uncollected"); ok {
			cfg.UncollectedNanos = v
		}
		if v, ok := a.duration("return-window"); ok {
			cfg.ReturnWindowNanos = v
		}
		if d := a.str("discount", false); d != "" {
			bps, err := ordParsePercent(d)
			if err != nil {
				a.fail("discount: %v", err)
			}
			cfg.Campaigns = append(cfg.Campaigns, stock.Campaign{
				ID: cfg.Version, DiscountBps: bps, FromNanos: a.time("campaign-from", true, c.nowNs), ToNanos: a.time("campaign-to", true, c.nowNs),
				Unions: ordIDs[stock.UnionID](a, "campaign-unions"), SKUs: ordIDs[stock.SKUID](a, "campaign-skus"),
			})
		}
		cmd = welfare.Command{Kind: welfare.SetConfig, Config: &cfg}
	case "set-sku":
		cmd = welfare.Command{Kind: welfare.SetSKU, SKU: stock.SKU{
			ID: stock.SKUID(a.uint("id", true)), MerchantID: a.uint("merchant", false), Category: a.str("category", false),
			PriceFen: a.yuan("price", true), Listed: !a.flag("unlisted"), LimitPerMember: int64(a.uint("limit", false)),
			SaleFromNanos: a.time("sale-from", false, c.nowNs), SaleToNanos: a.time("sale-to", false, c.nowNs),
		}}
	case "receive", "restock":
		kind := welfare.ReceiveStock
		if verb == "restock" {
			kind = welfare.RestockSKU
		}
		q, err := strconv.ParseInt(a.str("quantity", true), 10, 64)
		if err != nil {
			a.fail("quantity: %v", err)
		}
		cmd = welfare.Command{Kind: kind, SKU: stock.SKU{ID: stock.SKUID(a.uint("sku", true))}, Quantity: q}
	case "place":
		req := &welfare.OrderRequest{ID: welfare.OrderID(a.uint("order", true))}
		member := welfare.MemberID(a.uint("member", true))
		req.PickupPointID = welfare.PickupPointID(a.uint("pickup", false))
		req.CashFen = a.yuan("cash", false)
		specs, _ := a.vals("lines")
		var union stock.UnionID
		if m, ok := c.states[shard].Member(member); ok {
			union = stock.UnionID(m.UnionID)
		}
		for _, spec := range specs {
			l, err := c.parseLine(spec, union)
			if err != nil {
				a.fail("line %q: %v", spec, err)
			}
			req.Lines = append(req.Lines, l)
		}
		cmd = welfare.Command{Kind: welfare.PlaceOrder, MemberID: member, Order: req}
	case "pay":
		cmd = welfare.Command{Kind: welfare.ConfirmPayment, OrderID: welfare.OrderID(a.uint("order", true)),
			PaymentRef: a.uint("ref", true), MemberID: welfare.MemberID(a.uint("member", false))}
	case "cancel", "return":
		kind := welfare.CancelOrder
		if verb == "return" {
			kind = welfare.ReturnOrder
		}
		cmd = welfare.Command{Kind: kind, OrderID: welfare.OrderID(a.uint("order", true)), MemberID: welfare.MemberID(a.uint("member", false))}
	case "ship", "arrive", "hand-out":
		kind := map[string]welfare.CommandKind{"ship": welfare.ShipOrder, "arrive": welfare.ArriveOrder, "hand-out": welfare.HandOutOrder}[verb]
		cmd = welfare.Command{Kind: kind, OrderID: welfare.OrderID(a.uint("order", true))}
	default:
		return welfare.Command{}, "", fmt.Errorf("unknown command %q", verb)
	}
	if err := a.done(); err != nil {
		return welfare.Command{}, "", err
	}
	return cmd, label, nil
}

// parseLine reads an order line, filling in what the catalog on the SKU's shard says.
func (c *ordCluster) parseLine(spec string, union stock.UnionID) (welfare.OrderLine, error) {
	m := ordLineRe.FindStringSubmatch(spec)
	if m == nil {
		return welfare.OrderLine{}, fmt.Errorf("want <sku>x<quantity>[@price][#shard][~category]")
	}
	id, _ := strconv.ParseUint(m[1], 10, 64)
	q, _ := strconv.ParseInt(m[2], 10, 64)
	l := welfare.OrderLine{SKU: stock.SKUID(id), Quantity: q}
	found := false
	for shard, s := range c.states {
		if sk, ok := s.Stock().SKU(l.SKU); ok {
			l.Shard, l.MerchantID, l.Category = uint32(shard), welfare.MerchantID(sk.MerchantID), sk.Category
			l.UnitPriceFen = stock.UnitPriceFen(sk, union, c.nowNs, s.Config().Campaigns)
			found = true
		}
	}
	if m[3] != "" {
		fen, err := ordParseYuan(m[3])
		if err != nil {
			return l, err
		}
		l.UnitPriceFen = fen
	}
	if m[4] != "" {
		n, _ := strconv.ParseUint(m[4], 10, 32)
		l.Shard = uint32(n)
	} else if !found {
		return l, fmt.Errorf("no shard has sku %d: give #shard", id)
	}
	if m[5] != "" {
		l.Category = m[5]
	}
	return l, nil
}

// Units.

func ordDate(y, m, d int) int64 { return welfare.DayStartNanos(welfare.DaysFromCivil(y, m, d)) }

var (
	ordDateRe     = regexp.MustCompile(`^([0-9]{4})-([0-9]{2})-([0-9]{2})((?:\+[0-9dhms]+)*)$`)
	ordOffsetsRe  = regexp.MustCompile(`^((?:\+[0-9dhms]+)+)$`)
	ordDurationRe = regexp.MustCompile(`^(?:[0-9]+[dhms])+$`)
	ordDurPartRe  = regexp.MustCompile(`([0-9]+)([dhms])`)
	ordYuanRe     = regexp.MustCompile(`^(-?)([0-9]+)\.([0-9]{2})$`)
	ordPercentRe  = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]{1,2}))?%$`)
)

// ordParseTime reads a date with offsets, or offsets from nowNs.
func ordParseTime(v string, nowNs int64) (int64, error) {
	base, offsets := nowNs, v
	if m := ordDateRe.FindStringSubmatch(v); m != nil {
		y, _ := strconv.Atoi(m[1])
		mo, _ := strconv.Atoi(m[2])
		d, _ := strconv.Atoi(m[3])
		if mo < 1 || mo > 12 || d < 1 || d > 31 {
			return 0, fmt.Errorf("bad date %q", v)
		}
		base, offsets = ordDate(y, mo, d), m[4]
	} else if !ordOffsetsRe.MatchString(v) {
		return 0, fmt.Errorf("want YYYY-MM-DD[+offset...] or +offset..., got %q", v)
	}
	for _, part := range strings.Split(offsets, "+") {
		if part == "" {
			continue
		}
		d, err := ordParseDuration(part)
		if err != nil {
			return 0, err
		}
		base += d
	}
	return base, nil
}

func ordParseDuration(v string) (int64, error) {
	if !ordDurationRe.MatchString(v) {
		return 0, fmt.Errorf("want a duration like 30s, 15m, 7d1s; got %q", v)
	}
	var total int64
	for _, m := range ordDurPartRe.FindAllStringSubmatch(v, -1) {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return 0, err
		}
		unit := map[string]int64{"d": 86400e9, "h": 3600e9, "m": 60e9, "s": 1e9}[m[2]]
		total += n * unit
	}
	return total, nil
}

func ordFormatTime(nanos int64) string {
	day := welfare.DayOf(nanos)
	y, m, d := welfare.CivilFromDays(day)
	s := fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	if rest := nanos - welfare.DayStartNanos(day); rest != 0 {
		s += "+" + time.Duration(rest).String()
	}
	return s
}

// ordParseYuan reads yuan with exactly two decimals into fen, by joining the digits.
func ordParseYuan(v string) (int64, error) {
	m := ordYuanRe.FindStringSubmatch(v)
	if m == nil {
		return 0, fmt.Errorf("want yuan with two decimals, got %q", v)
	}
	fen, err := strconv.ParseInt(m[2]+m[3], 10, 64)
	if err != nil {
		return 0, err
	}
	if m[1] == "-" {
		fen = -fen
	}
	return fen, nil
}

func ordParsePercent(v string) (int64, error) {
	m := ordPercentRe.FindStringSubmatch(v)
	if m == nil {
		return 0, fmt.Errorf("want a percentage like 7%% or 7.5%%, got %q", v)
	}
	frac := (m[2] + "00")[:2]
	return strconv.ParseInt(m[1]+frac, 10, 64)
}

func TestOrdUnits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{{"0.01", 1}, {"128.00", 12800}, {"12.99", 1299}, {"-1.50", -150}, {"92233720368547758.07", 1<<63 - 1}} {
		if got, err := ordParseYuan(tc.in); err != nil || got != tc.want || scen.Yuan(got) != tc.in {
			t.Errorf("%s: %d %v", tc.in, got, err)
		}
	}
	for _, bad := range []string{"1", "1.5", "1.505", "1e2", ".50", "92233720368547758.08"} {
		if _, err := ordParseYuan(bad); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
	for in, want := range map[string]int64{"7%": 700, "7.5%": 750, "12.34%": 1234, "0%": 0} {
		if got, err := ordParsePercent(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	now := ordDate(2026, 2, 10)
	for in, want := range map[string]int64{
		"2026-02-10": now, "2026-02-10+30s": now + 30e9, "+31s": now + 31e9, "2026-02-10+7d+1s": now + 7*86400e9 + 1e9,
		"2026-02-17+15m": ordDate(2026, 2, 17) + 15*60e9, "+1h2m": now + 3720e9,
	} {
		if got, err := ordParseTime(in, now); err != nil || got != want {
			t.Errorf("%s: %d, want %d, %v", in, got, want, err)
		}
	}
	if got := ordFormatTime(now + 30e9); got != "2026-02-10+30s" {
		t.Errorf("format %s", got)
	}
}
