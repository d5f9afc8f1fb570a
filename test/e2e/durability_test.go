package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe/gewetest"
)

// loadBody is a webhook for the "load" source: one text message to `to`.
func loadBody(to, text string) []byte {
	b, _ := json.Marshal(map[string]string{"to": to, "text": text})
	return b
}

// postLoad posts to the load source; safe from any goroutine.
func (b *Bridge) postLoad(to, text, idempotencyKey string) (Resp, error) {
	h := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + deployToken}
	if idempotencyKey != "" {
		h["Idempotency-Key"] = idempotencyKey
	}
	return do("POST", b.URL+"/hooks/load", loadBody(to, text), h)
}

// deliveredCount counts how many times marker was delivered (a coalesced
// message may carry several markers).
func deliveredCount(fake *gewetest.Server, marker string) int {
	n := 0
	for _, m := range fake.Messages() {
		n += strings.Count(m.Content, marker)
	}
	return n
}

// requestsWith returns the requests whose text carries marker.
func requestsWith(fake *gewetest.Server, marker string) []gewetest.Request {
	var out []gewetest.Request
	for _, r := range fake.Requests() {
		for _, m := range r.Messages {
			if strings.Contains(m.Content, marker) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// messageOf finds the outbox id of the message of a webhook, by the
// delivery id its 202 answer gave.
func (b *Bridge) messageOf(t testing.TB, eventID string) int64 {
	t.Helper()
	for _, q := range b.List(t, "") {
		if q.EventID == eventID {
			return q.ID
		}
	}
	t.Fatalf("no message of event %s in GET /api/v1/messages", eventID)
	return 0
}

// TestKillDuringLoad fires 200 webhooks while the bridge is accepting and
// sending (GeWe slowed down), kills it with SIGKILL twice along the way,
// restarts it on the same storage, re-sends what was not answered (with
// the same Idempotency-Key, as a sender retries), and checks that every
// accepted webhook is delivered, with duplicates only for the send in
// flight at each kill.
func TestKillDuringLoad(t *testing.T) {
	// The fake may see the killed process's last request overlap the
	// restarted one's first: no in-flight check here.
	fake := newFake(t, false)
	fake.SetDelay(25 * time.Millisecond)
	fake.SetMode(gewetest.Slow)
	b := startBridge(t, newConf(fake))

	const n = 200
	const kills = 2
	marker := func(i int) string { return fmt.Sprintf("[load-%03d]", i) }
	type result struct {
		status    int
		duplicate bool
		err       error
	}
	results := make([]result, n)
	var mu sync.Mutex
	send := func(i int) {
		r, err := b.postLoad(fmt.Sprintf("wxid_load_%03d", i), "message "+marker(i), fmt.Sprintf("load-key-%03d", i))
		mu.Lock()
		defer mu.Unlock()
		results[i] = result{status: r.Status, err: err}
		if d, _ := r.JSON["duplicate"].(bool); d {
			results[i].duplicate = true
		}
	}

	// One webhook every 10 ms, each on its own goroutine: about two
	// seconds of arrivals, overlapping the first kill and restart.
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(start.Add(time.Duration(i) * 10 * time.Millisecond)))
			send(i)
		}()
	}
	killAt := []int{15, 70} // delivered messages before each kill
	for k := 0; k < kills; k++ {
		if !eventually(60*time.Second, func() bool { return len(delivered(fake)) >= killAt[k] }) {
			t.Fatalf("only %d messages delivered before kill %d", len(delivered(fake)), k+1)
		}
		b.Kill()
		t.Logf("kill %d after %s: %d requests delivered", k+1, time.Since(start).Round(time.Millisecond), len(delivered(fake)))
		b.Start()
	}
	wg.Wait()

	accepted202 := map[int]bool{}
	var failed []int
	for i, r := range results {
		switch {
		case r.err == nil && r.status == http.StatusAccepted:
			accepted202[i] = true
		case r.err == nil && r.status >= 400 && r.status < 500:
			t.Errorf("webhook %d answered %d: a 4xx tells the sender to give up", i, r.status)
		default:
			failed = append(failed, i)
		}
	}
	t.Logf("%d webhooks answered 202, %d failed during the kills (re-sent now)", len(accepted202), len(failed))
	if len(accepted202) < n/2 {
		t.Errorf("only %d of %d webhooks were accepted", len(accepted202), n)
	}
	// A sender retries what failed; a webhook committed before the kill
	// but not answered is now a duplicate, and must be delivered too.
	resentDup := 0
	for _, i := range failed {
		send(i)
		r := results[i]
		if r.err != nil || (r.status != http.StatusAccepted && !(r.status == http.StatusOK && r.duplicate)) {
			t.Errorf("re-sending webhook %d after the restart: %d %v", i, r.status, r.err)
		}
		if r.duplicate {
			resentDup++
		}
	}
	t.Logf("%d of the re-sent webhooks had been committed before the kill (answered duplicate)", resentDup)

	fake.SetMode(gewetest.OK)
	var missed []int
	ok := eventually(60*time.Second, func() bool {
		missed = missed[:0]
		for i := 0; i < n; i++ {
			if deliveredCount(fake, marker(i)) == 0 {
				missed = append(missed, i)
			}
		}
		return len(missed) == 0
	})
	if !ok {
		var lost []int
		for _, i := range missed {
			if accepted202[i] {
				lost = append(lost, i)
			}
		}
		t.Errorf("%d messages never delivered: %v; of them answered 202: %v", len(missed), missed, lost)
	}
	dups := 0
	for i := 0; i < n; i++ {
		if c := deliveredCount(fake, marker(i)); c > 1 {
			dups += c - 1
			t.Logf("message %d delivered %d times", i, c)
		}
	}
	t.Logf("%d duplicate deliveries after %d kills", dups, kills)
	if dups > kills {
		t.Errorf("%d duplicate deliveries after %d kills; only the send in flight at a kill may be repeated", dups, kills)
	}
	var pending []QueuedMessage
	if !eventually(5*time.Second, func() bool { pending = b.List(t, "pending"); return len(pending) == 0 }) {
		t.Errorf("%d messages still pending after everything was delivered", len(pending))
	}
	if dead := b.List(t, "dead"); len(dead) != 0 {
		t.Errorf("%d messages dead-lettered", len(dead))
	}
}

// TestGracefulStop stops the bridge with SIGTERM during a slow send: it
// finishes that send, records it, exits 0, and after a restart the rest is
// delivered and the finished one is not sent again.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	fake.SetDelay(time.Second)
	fake.SetMode(gewetest.Slow)
	b := startBridge(t, newConf(fake))
	for i := 0; i < 3; i++ {
		r, err := b.postLoad(fmt.Sprintf("wxid_stop_%d", i), fmt.Sprintf("[stop-%d]", i), "")
		if err != nil || r.Status != http.StatusAccepted {
			t.Fatalf("webhook %d: %v %s", i, err, r)
		}
	}
	if !eventually(10*time.Second, func() bool { return len(fake.Requests()) >= 1 }) {
		t.Fatal("no send started")
	}
	stopped := time.Now()
	b.Stop()
	took := time.Since(stopped)
	if took < 500*time.Millisecond {
		t.Errorf("the bridge exited %s after SIGTERM, before the send in flight (1s) could finish", took)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 || !reqs[0].Delivered {
		t.Fatalf("want exactly one finished send before the exit, got %d requests", len(reqs))
	}
	first := reqs[0].Messages[0].Content

	fake.SetMode(gewetest.OK)
	b.Start()
	if !eventually(10*time.Second, func() bool { return len(delivered(fake)) >= 3 }) {
		t.Fatalf("after the restart %d messages were delivered, want 3", len(delivered(fake)))
	}
	time.Sleep(200 * time.Millisecond)
	for i := 0; i < 3; i++ {
		if c := deliveredCount(fake, fmt.Sprintf("[stop-%d]", i)); c != 1 {
			t.Errorf("[stop-%d] delivered %d times, want once (the first send was %q)", i, c, first)
		}
	}
}

// TestStopWithUnusedConnection stops the bridge with SIGTERM while a
// client holds a connection on which it has not sent a request yet: a Go
// client's spare keep-alive connection (Alertmanager is one), a proxy's
// pre-opened connection. The bridge must still stop at once and cleanly.
func TestStopWithUnusedConnection(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	b := startBridge(t, newConf(fake))
	c, err := net.Dial("tcp", strings.TrimPrefix(b.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(100 * time.Millisecond) // accepted by the server
	start := time.Now()
	b.Stop() // requires exit status 0 and "stopped cleanly"
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("SIGTERM took %s to stop an idle bridge", took.Round(time.Millisecond))
	}
}

// TestFailuresThenRecovery makes the fake fail in each retryable way for
// a while, then recover: every message is delivered, after attempts with
// growing backoff that the admin API shows with their errors. A permanent
// failure is dead-lettered at once, listed by `gewe-bridge messages`, and
// sent again by POST /api/v1/messages/{id}/retry.
func TestFailuresThenRecovery(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	conf := newConf(fake)
	conf.Timeout = "300ms"
	conf.Delivery["max_attempts"] = "100"
	b := startBridge(t, conf)

	cases := []struct {
		name  string
		mode  gewetest.Mode
		delay time.Duration
		words []string // in each attempt's error, any of them
	}{
		{"HTTP500", gewetest.HTTP500, 0, []string{"HTTP 500", "server error"}},
		{"Fail", gewetest.Fail, 0, []string{"失败", "send failed"}},
		{"CloseConn", gewetest.CloseConn, 0, []string{"network", "EOF", "closed", "reset"}},
		{"Slow", gewetest.Slow, time.Second, []string{"timeout", "deadline", "Timeout"}},
		{"Offline", gewetest.Offline, 0, []string{"offline", "离线"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			marker := "[fail-" + c.name + "]"
			if c.delay > 0 {
				fake.SetDelay(c.delay)
			}
			fake.SetMode(c.mode)
			r, err := b.postLoad("wxid_fail_"+strings.ToLower(c.name), "message "+marker, "")
			if err != nil || r.Status != http.StatusAccepted {
				t.Fatalf("webhook: %v %s", err, r)
			}
			const failures = 4
			if !eventually(20*time.Second, func() bool { return len(requestsWith(fake, marker)) >= failures }) {
				t.Fatalf("only %d attempts while GeWe fails", len(requestsWith(fake, marker)))
			}
			fake.SetMode(gewetest.OK)
			var good []gewetest.Request
			eventually(20*time.Second, func() bool {
				good = good[:0]
				for _, rq := range requestsWith(fake, marker) {
					if rq.Mode == gewetest.OK && rq.Delivered {
						good = append(good, rq)
					}
				}
				return len(good) > 0
			})
			if len(good) != 1 {
				t.Fatalf("%d successful sends after recovery, want 1", len(good))
			}
			reqs := requestsWith(fake, marker)
			var fails []time.Time
			for _, rq := range reqs {
				if rq.Mode == c.mode {
					fails = append(fails, rq.Time)
				}
			}
			// Backoff: at least half of initial_backoff (50ms) between
			// attempts, and growing.
			var gaps []time.Duration
			for i := 1; i < len(fails); i++ {
				gaps = append(gaps, fails[i].Sub(fails[i-1]))
			}
			for i, g := range gaps {
				if g < 20*time.Millisecond {
					t.Errorf("attempt %d came %s after the one before: no backoff", i+2, g)
				}
			}
			if len(gaps) >= 3 && gaps[len(gaps)-1] <= gaps[0] {
				t.Errorf("backoff does not grow: gaps %v", gaps)
			}

			id := b.messageOf(t, r.JSON["id"].(string))
			var m AdminMessage
			// The fake counts the send before the bridge has its answer.
			eventually(5*time.Second, func() bool { m = b.Message(t, id); return m.Message.State == "sent" })
			if m.Message.State != "sent" {
				t.Errorf("message state %q, want sent", m.Message.State)
			}
			if len(m.Attempts) < failures {
				t.Errorf("the admin API shows %d failed attempts, want at least %d", len(m.Attempts), failures)
			}
			for i, a := range m.Attempts {
				if len(missing(a.Error, c.words...)) == len(c.words) {
					t.Errorf("attempt %d: error %q names none of %q", i+1, a.Error, c.words)
				}
				if a.At.IsZero() {
					t.Errorf("attempt %d has no time", i+1)
				}
			}
		})
	}

	t.Run("permanent", func(t *testing.T) {
		marker := "[fail-permanent]"
		fake.SetMode(gewetest.BadRequest)
		r, err := b.postLoad("wxid_fail_permanent", "message "+marker, "")
		if err != nil || r.Status != http.StatusAccepted {
			t.Fatalf("webhook: %v %s", err, r)
		}
		eventID := r.JSON["id"].(string)
		var id int64
		if !eventually(10*time.Second, func() bool {
			for _, q := range b.List(t, "dead") {
				if q.EventID == eventID {
					id = q.ID
					return true
				}
			}
			return false
		}) {
			t.Fatalf("the message was not dead-lettered")
		}
		time.Sleep(300 * time.Millisecond) // no retry may follow
		if n := len(requestsWith(fake, marker)); n != 1 {
			t.Errorf("a permanent failure was tried %d times, want once", n)
		}
		m := b.Message(t, id)
		if m.Message.State != "dead" || len(m.Attempts) != 1 {
			t.Errorf("dead message: state %q, %d attempts, want dead after 1", m.Message.State, len(m.Attempts))
		}
		if len(m.Attempts) > 0 && len(missing(m.Attempts[0].Error, "bad request", "参数错误")) == 2 {
			t.Errorf("attempt error %q does not say bad request", m.Attempts[0].Error)
		}

		// The CLI against the running service.
		stdout, stderr, code := runCLI(t, b.Dir, "messages", "-url", b.URL, "-token", adminToken, "-state", "dead", "list")
		if code != 0 {
			t.Errorf("messages list -state dead: exit %d\n%s%s", code, stdout, stderr)
		}
		assertContains(t, "messages list -state dead", stdout, marker, eventID, `"dead"`)
		stdout, stderr, code = runCLI(t, b.Dir, "messages", "-url", b.URL, "-token", adminToken, "show", fmt.Sprint(id))
		if code != 0 {
			t.Errorf("messages show: exit %d\n%s%s", code, stdout, stderr)
		}
		assertContains(t, "messages show", stdout, marker, "attempts")
		if _, _, code := runCLI(t, b.Dir, "messages", "-url", b.URL, "-token", "wrong", "list"); code == 0 {
			t.Errorf("messages list with a wrong token exits 0")
		}

		fake.SetMode(gewetest.OK)
		rr := b.Admin(t, "POST", fmt.Sprintf("/api/v1/messages/%d/retry", id))
		if rr.Status != http.StatusAccepted {
			t.Fatalf("POST retry: %s", rr)
		}
		if !eventually(10*time.Second, func() bool { return deliveredCount(fake, marker) == 1 }) {
			t.Fatalf("the retried message was not delivered")
		}
		if !eventually(5*time.Second, func() bool { return b.Message(t, id).Message.State == "sent" }) {
			t.Errorf("after the retry the message is %q, want sent", b.Message(t, id).Message.State)
		}
	})

	if r := mustDo(t, "GET", b.URL+"/api/v1/messages", nil, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the admin API without a token answers %s, want 401", r)
	}
}

// tcpProxy forwards a fixed address to the fake; Down makes it refuse
// connections (and drops the open ones), Up accepts them again.
type tcpProxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]bool
}

func (p *tcpProxy) Up(t testing.TB) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[u] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

func (p *tcpProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// TestConnectionRefused: GeWe unreachable (connection refused) for a
// while, then back: the message is delivered, and the admin API shows the
// refused attempts.
func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	proxy := &tcpProxy{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), target: strings.TrimPrefix(fake.URL(), "http://"), conns: map[net.Conn]bool{}}
	t.Cleanup(proxy.Down)
	conf := newConf(fake)
	conf.GeweURL = "http://" + proxy.addr // nothing listens there yet
	conf.Delivery["max_attempts"] = "100"
	b := startBridge(t, conf)

	r, err := b.postLoad("wxid_refused", "[refused]", "")
	if err != nil || r.Status != http.StatusAccepted {
		t.Fatalf("webhook: %v %s", err, r)
	}
	id := b.messageOf(t, r.JSON["id"].(string))
	var m AdminMessage
	if !eventually(20*time.Second, func() bool { m = b.Message(t, id); return len(m.Attempts) >= 3 }) {
		t.Fatalf("only %d attempts recorded while GeWe refuses connections", len(m.Attempts))
	}
	for i, a := range m.Attempts {
		if !strings.Contains(a.Error, "refused") {
			t.Errorf("attempt %d: error %q does not say the connection was refused", i+1, a.Error)
		}
	}
	if m.Message.State != "pending" {
		t.Errorf("while GeWe is unreachable the message is %q, want pending", m.Message.State)
	}
	proxy.Up(t)
	if !eventually(20*time.Second, func() bool { return deliveredCount(fake, "[refused]") == 1 }) {
		t.Fatalf("not delivered after GeWe came back")
	}
	if !eventually(5*time.Second, func() bool { return b.Message(t, id).Message.State == "sent" }) {
		t.Errorf("the message is %q after delivery, want sent", b.Message(t, id).Message.State)
	}
}

// TestTimeoutDrop: with delivery.on_timeout: drop a send that timed out
// is not retried (it may have been delivered) but dead-lettered.
func TestTimeoutDrop(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	fake.SetDelay(time.Second)
	fake.SetMode(gewetest.Slow)
	conf := newConf(fake)
	conf.Timeout = "300ms"
	conf.Delivery["on_timeout"] = "drop"
	b := startBridge(t, conf)
	r, err := b.postLoad("wxid_drop", "[drop]", "")
	if err != nil || r.Status != http.StatusAccepted {
		t.Fatalf("webhook: %v %s", err, r)
	}
	eventID := r.JSON["id"].(string)
	if !eventually(10*time.Second, func() bool {
		for _, q := range b.List(t, "dead") {
			if q.EventID == eventID {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("a timed-out send with on_timeout: drop was not dead-lettered")
	}
	fake.SetMode(gewetest.OK)
	time.Sleep(300 * time.Millisecond)
	if n := len(requestsWith(fake, "[drop]")); n != 1 {
		t.Errorf("with on_timeout: drop the message was sent %d times, want once", n)
	}
}

// TestPacing checks the pacing limits with the real sender: one request in
// flight at a time, per_minute and recipients_per_minute caps (without
// waiting a minute: the capped messages stay pending), and the gaps
// between messages to groups and to one person.
func TestPacing(t *testing.T) {
	t.Parallel()
	t.Run("per_minute", func(t *testing.T) {
		t.Parallel()
		fake := newFake(t, true)
		conf := newConf(fake)
		conf.Delivery["per_minute"] = "5"
		b := startBridge(t, conf)
		for i := 0; i < 8; i++ {
			r, err := b.postLoad(fmt.Sprintf("wxid_pace_%d", i), fmt.Sprintf("[pace-%d]", i), "")
			if err != nil || r.Status != http.StatusAccepted {
				t.Fatalf("webhook %d: %v %s", i, err, r)
			}
			if i == 0 {
				// A lone message is never delayed.
				if !eventually(time.Second, func() bool { return len(delivered(fake)) == 1 }) {
					t.Errorf("the first message was not sent within 1s")
				}
			}
		}
		time.Sleep(3 * time.Second)
		if n := len(fake.Requests()); n != 5 {
			t.Errorf("%d messages sent in 3s with per_minute: 5, want 5", n)
		}
		if p := b.List(t, "pending"); len(p) != 3 {
			t.Errorf("%d messages pending, want 3", len(p))
		}
		if fake.MaxInFlight() != 1 {
			t.Errorf("MaxInFlight %d, want 1", fake.MaxInFlight())
		}
	})
	t.Run("recipients_per_minute", func(t *testing.T) {
		t.Parallel()
		fake := newFake(t, true)
		conf := newConf(fake)
		conf.Delivery["recipients_per_minute"] = "3"
		b := startBridge(t, conf)
		for i := 0; i < 5; i++ {
			r, err := b.postLoad(fmt.Sprintf("wxid_rcpt_%d", i), fmt.Sprintf("[rcpt-%d]", i), "")
			if err != nil || r.Status != http.StatusAccepted {
				t.Fatalf("webhook %d: %v %s", i, err, r)
			}
		}
		time.Sleep(2 * time.Second)
		to := map[string]bool{}
		for _, m := range fake.Messages() {
			to[m.To] = true
		}
		if len(to) != 3 {
			t.Errorf("%d distinct recipients in 2s with recipients_per_minute: 3, want 3", len(to))
		}
		if p := b.List(t, "pending"); len(p) != 2 {
			t.Errorf("%d messages pending, want 2", len(p))
		}
	})
	t.Run("gaps", func(t *testing.T) {
		t.Parallel()
		fake := newFake(t, true)
		conf := newConf(fake)
		conf.Delivery["group_gap_min"] = "300ms"
		conf.Delivery["group_gap_max"] = "400ms"
		conf.Delivery["person_gap"] = "300ms"
		conf.Delivery["coalesce"] = "false" // keep the person's messages apart
		b := startBridge(t, conf)
		// Groups and one person, interleaved.
		for i := 0; i < 4; i++ {
			for _, to := range []string{fmt.Sprintf("%d000%d@chatroom", 7+i, i), "wxid_gap"} {
				if i == 3 && to == "wxid_gap" {
					continue
				}
				r, err := b.postLoad(to, fmt.Sprintf("[gap-%s-%d]", to, i), "")
				if err != nil || r.Status != http.StatusAccepted {
					t.Fatalf("webhook: %v %s", err, r)
				}
			}
		}
		reqs := waitDelivered(t, fake, 7, 20*time.Second)
		var groups, person []time.Time
		for _, r := range reqs {
			if strings.HasSuffix(r.Messages[0].To, "@chatroom") {
				groups = append(groups, r.Time)
			} else {
				person = append(person, r.Time)
			}
		}
		check := func(what string, times []time.Time, min, max time.Duration) {
			sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
			for i := 1; i < len(times); i++ {
				if g := times[i].Sub(times[i-1]); g < min || g > max {
					t.Errorf("%s: send %d came %s after the one before, want %s to %s", what, i+1, g.Round(time.Millisecond), min, max)
				}
			}
		}
		if len(groups) != 4 || len(person) != 3 {
			t.Fatalf("%d group and %d person sends, want 4 and 3", len(groups), len(person))
		}
		check("groups (group_gap 300ms..400ms)", groups, 300*time.Millisecond, 2*time.Second)
		check("one person (person_gap 300ms)", person, 300*time.Millisecond, 2*time.Second)
		if fake.MaxInFlight() != 1 {
			t.Errorf("MaxInFlight %d, want 1", fake.MaxInFlight())
		}
	})
}

// TestCoalescing sends 300 alerts (300 webhooks) to one group while GeWe
// is slow, so that they queue: they arrive as a few messages, none over
// the text limit, carrying every alert exactly once.
func TestCoalescing(t *testing.T) {
	fake := newFake(t, true)
	fake.SetDelay(2 * time.Second)
	fake.SetMode(gewetest.Slow)
	b := startBridge(t, newConf(fake))

	const n = 300
	name := func(i int) string { return fmt.Sprintf("StormAlert%03d", i) }
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			body := alertPayload("firing", map[string]string{"alertname": name(i), "storm": "yes", "severity": "warning"},
				map[string]string{"summary": "storm"})
			r, err := do("POST", b.URL+"/hooks/alertmanager", body, amHeaders())
			if err == nil && r.Status != http.StatusAccepted {
				err = fmt.Errorf("alert %d: %s", i, r)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	fake.SetMode(gewetest.OK)

	var msgs []gewetest.Message
	if !eventually(60*time.Second, func() bool {
		msgs = fake.Messages()
		all := ""
		for _, m := range msgs {
			all += m.Content + "\n"
		}
		return len(missing(all, name(0), name(n-1))) == 0 && strings.Count(all, "StormAlert") >= n
	}) {
		t.Fatalf("after 60s only %d messages carrying %d alerts", len(msgs), strings.Count(fmt.Sprint(msgs), "StormAlert"))
	}
	time.Sleep(200 * time.Millisecond)
	msgs = fake.Messages()
	all := ""
	for _, m := range msgs {
		if m.To != stormGroup {
			t.Errorf("a storm message went to %s", m.To)
		}
		if len(m.Content) > 2000 {
			t.Errorf("a coalesced message is %d bytes, over limits.text_bytes (2000)", len(m.Content))
		}
		all += m.Content + "\n"
	}
	for i := 0; i < n; i++ {
		if c := strings.Count(all, name(i)+" "); c != 1 {
			t.Errorf("%s delivered %d times, want once", name(i), c)
		}
	}
	t.Logf("%d alerts arrived in %d messages", n, len(msgs))
	if len(msgs) > 15 {
		t.Errorf("%d alerts to one group arrived as %d messages; want a few (at most 15)", n, len(msgs))
	}
}

// TestDedup: a redelivered GitHub delivery, the same Alertmanager
// notification from two HA peers at once, and a repeated Idempotency-Key
// are each answered 200 with "duplicate": true and send nothing more.
func TestDedup(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	b := startBridge(t, newConf(fake))
	isDup := func(r Resp) bool { d, _ := r.JSON["duplicate"].(bool); return r.Status == http.StatusOK && d }

	// GitHub redelivery: the same X-GitHub-Delivery.
	id := newID()
	push := fixture(t, "github/push.json")
	checkAccepted(t, b.GitHub(t, "push", id, push), id, []string{"pushes"}, 1)
	waitDelivered(t, fake, 1, 10*time.Second)
	if r := b.GitHub(t, "push", id, push); !isDup(r) {
		t.Errorf("a redelivery answered %s, want 200 with duplicate: true", r)
	}

	// Two Alertmanagers in HA send the same notification at the same time.
	alert := alertPayload("firing", map[string]string{"alertname": "HAPeerAlert", "severity": "warning"}, map[string]string{"summary": "HA peers fire"})
	var wg sync.WaitGroup
	answers := make([]Resp, 2)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := do("POST", b.URL+"/hooks/alertmanager", alert, amHeaders())
			if err != nil {
				t.Errorf("HA peer %d: %v", i, err)
			}
			answers[i] = r
		}()
	}
	wg.Wait()
	accepted, dups := 0, 0
	for _, r := range answers {
		switch {
		case r.Status == http.StatusAccepted:
			accepted++
		case isDup(r):
			dups++
		}
	}
	if accepted != 1 || dups != 1 {
		t.Errorf("HA peers answered %s and %s; want one 202 and one duplicate", answers[0], answers[1])
	}
	// The same alert resolved is a new notification.
	resolved := alertPayload("resolved", map[string]string{"alertname": "HAPeerAlert", "severity": "warning"}, map[string]string{"summary": "HA peers resolve"})
	if r := b.Alertmanager(t, resolved); r.Status != http.StatusAccepted {
		t.Errorf("the resolved notification answered %s, want 202", r)
	}

	// A generic sender's Idempotency-Key.
	h := map[string]string{"Idempotency-Key": "deploy-42"}
	body := []byte(`{"service": "api", "version": "v42"}`)
	checkAccepted(t, b.Generic(t, "deploys", body, h), "", []string{"deploys"}, 1)
	if r := b.Generic(t, "deploys", body, h); !isDup(r) {
		t.Errorf("a repeated Idempotency-Key answered %s, want 200 with duplicate: true", r)
	}

	// push, HA alert, resolved, deploy; then a sentinel last.
	// (The alerts and deploys all go to the ops group and may be coalesced:
	// count what the messages carry, not requests.)
	checkAccepted(t, b.Generic(t, "deploys", []byte(`{"service": "sentinel"}`), nil), "", []string{"deploys"}, 1)
	count := func(sub string) int {
		n := 0
		for _, m := range fake.Messages() {
			n += strings.Count(m.Content, sub)
		}
		return n
	}
	if !eventually(10*time.Second, func() bool { return count("sentinel") == 1 }) {
		t.Fatalf("the sentinel was not delivered")
	}
	time.Sleep(200 * time.Millisecond)
	for sub, want := range map[string]int{"pushed 1 commit": 1, "HA peers fire": 1, "HA peers resolve": 1, "api v42": 1, "sentinel": 1} {
		if got := count(sub); got != want {
			t.Errorf("%q delivered %d times, want %d", sub, got, want)
		}
	}
}
