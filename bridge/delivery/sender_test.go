package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
	"github.com/gewe-bridge/gewe-bridge/bridge/delivery"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/sqlite"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gewe-bridge/gewe-bridge/rules/render"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClient answers sends from a script of errors, then succeeds.
type fakeClient struct {
	mu     sync.Mutex
	errs   []error
	sent   []gewe.Message
	calls  int
	active int
	maxAct int
}

func (f *fakeClient) Send(_ context.Context, m gewe.Message) (gewe.Outcome, error) {
	f.mu.Lock()
	f.calls++
	f.active++
	f.maxAct = max(f.maxAct, f.active)
	var err error
	if len(f.errs) > 0 {
		err, f.errs = f.errs[0], f.errs[1:]
	}
	if err == nil {
		f.sent = append(f.sent, m)
	}
	f.active--
	f.mu.Unlock()
	return gewe.OutcomeOf(err), err
}

func (f *fakeClient) snapshot() ([]gewe.Message, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]gewe.Message(nil), f.sent...), f.calls
}

func testConfig(t *testing.T, delivery string) *config.Config {
	t.Helper()
	src := `
gewe: {token: t, base_url: "http://127.0.0.1:1", app_id: wx_a}
sources: {am: {type: alertmanager, bearer_token: x}}
rules: [{name: r, to: ["1@chatroom"]}]
delivery: {group_gap_min: 1ms, group_gap_max: 2ms, person_gap: 1ms, initial_backoff: 10ms, max_backoff: 20ms, pause: 50ms` + delivery + `}
`
	cfg, probs := config.Parse([]byte(src), "test.yaml", func(string) string { return "" })
	require.NoError(t, probs.Err())
	return cfg
}

type harness struct {
	store  *sqlite.Store
	client *fakeClient
	sender *delivery.Sender
	cancel context.CancelFunc
	done   chan struct{}
}

func startSender(t *testing.T, cfg *config.Config, client *fakeClient, texts ...string) *harness {
	t.Helper()
	store, err := sqlite.Open(t.TempDir()+"/outbox.db", sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	// Accepted a second ago: with max_age: 1ms the first failure must find
	// the message too old, however fast the sender gets to it.
	accepted := time.Now().Add(-time.Second)
	for i, text := range texts {
		to := "1@chatroom"
		msg := event.Message{Rule: "r", To: to, Text: text}
		if strings.HasPrefix(text, "<appmsg") {
			msg = event.Message{Rule: "r", To: to, XML: text}
		}
		require.NoError(t, store.Accept(context.Background(), &outbox.Accepted{
			EventID: fmt.Sprint("ev", i), Source: "am", ReceivedAt: accepted, Account: "wx_a",
			Messages: []event.Message{msg},
		}, time.Time{}))
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &harness{store: store, client: client, done: make(chan struct{})}
	h.sender = delivery.NewSender("wx_a", store, client, cfg, nil, log)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { defer close(h.done); h.sender.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-h.done })
	return h
}

func (h *harness) waitState(t *testing.T, state string, n int) []outbox.Queued {
	t.Helper()
	var got []outbox.Queued
	require.Eventually(t, func() bool {
		got, _ = h.store.List(context.Background(), outbox.ListFilter{State: state, Limit: 500})
		return len(got) >= n
	}, 5*time.Second, 5*time.Millisecond, "want %d %s messages", n, state)
	return got
}

func TestSenderCoalescesTextToOneRecipient(t *testing.T) {
	texts := make([]string, 50)
	for i := range texts {
		texts[i] = fmt.Sprintf("alert %02d is firing", i)
	}
	h := startSender(t, testConfig(t, ""), &fakeClient{}, texts...)
	h.waitState(t, outbox.StateSent, 50)
	sent, calls := h.client.snapshot()
	assert.Equal(t, 1, calls, "50 short texts to one group fit in one message")
	for _, text := range texts {
		assert.Contains(t, sent[0].Text, text)
	}
}

func TestSenderCoalescingRespectsTheTextLimit(t *testing.T) {
	texts := make([]string, 30)
	for i := range texts {
		texts[i] = fmt.Sprintf("%02d %s", i, strings.Repeat("告", 100)) // ~303 bytes each
	}
	h := startSender(t, testConfig(t, ""), &fakeClient{}, texts...)
	h.waitState(t, outbox.StateSent, 30)
	sent, _ := h.client.snapshot()
	assert.Greater(t, len(sent), 1)
	all := ""
	for _, m := range sent {
		assert.LessOrEqual(t, len(m.Text), config.DefaultTextBytes)
		all += m.Text
	}
	for _, text := range texts {
		assert.Contains(t, all, text)
	}
}

func TestSenderOutcomes(t *testing.T) {
	offline := &gewe.Error{Op: "sendmsg", Kind: gewe.Offline, Msg: "微信已离线"}
	tests := []struct {
		name      string
		delivery  string
		errs      []error
		wantState string
		wantCalls int
		attempts  int
	}{
		{name: "success", wantState: outbox.StateSent, wantCalls: 1},
		{name: "retryable then success", errs: []error{&gewe.Error{Op: "sendmsg", Kind: gewe.Server, Status: 500}}, wantState: outbox.StateSent, wantCalls: 2, attempts: 1},
		{name: "permanent is dead at once", errs: []error{&gewe.Error{Op: "sendmsg", Kind: gewe.BadRequest, Msg: "参数错误"}}, wantState: outbox.StateDead, wantCalls: 1, attempts: 1},
		{name: "max age", delivery: ", max_age: 1ms", errs: []error{errRetry()}, wantState: outbox.StateDead, wantCalls: 1, attempts: 1},
		{name: "max attempts", delivery: ", max_attempts: 3", errs: []error{errRetry(), errRetry(), errRetry(), errRetry()}, wantState: outbox.StateDead, wantCalls: 3, attempts: 3},
		{name: "timeout retried by default", errs: []error{&gewe.Error{Op: "sendmsg", Kind: gewe.Timeout}}, wantState: outbox.StateSent, wantCalls: 2, attempts: 1},
		{name: "timeout dropped on request", delivery: ", on_timeout: drop", errs: []error{&gewe.Error{Op: "sendmsg", Kind: gewe.Timeout}}, wantState: outbox.StateDead, wantCalls: 1, attempts: 1},
		{name: "offline pauses, then sends", errs: []error{offline}, wantState: outbox.StateSent, wantCalls: 2, attempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := startSender(t, testConfig(t, tt.delivery), &fakeClient{errs: tt.errs}, "hello")
			got := h.waitState(t, tt.wantState, 1)
			_, calls := h.client.snapshot()
			assert.Equal(t, tt.wantCalls, calls)
			q, attempts, err := h.store.Get(context.Background(), got[0].ID)
			require.NoError(t, err)
			assert.Len(t, attempts, tt.attempts)
			if tt.attempts > 0 {
				assert.NotEmpty(t, q.LastError)
			}
		})
	}
}

func errRetry() error {
	return &gewe.Error{Op: "sendmsg", Kind: gewe.Network, Err: errors.New("connection refused")}
}

func TestSenderAppCardsAreNotMerged(t *testing.T) {
	card := render.LinkCardXML("t", "d", "https://x/?a=1&b=2", "")
	h := startSender(t, testConfig(t, ""), &fakeClient{}, card, card, "text")
	h.waitState(t, outbox.StateSent, 3)
	sent, calls := h.client.snapshot()
	assert.Equal(t, 3, calls)
	assert.Equal(t, card, sent[0].XML)
}

// TestSenderDoesNotBlockOnOneRecipient: a group waiting for its gap does
// not hold up a message to a person behind it.
func TestSenderDoesNotBlockOnOneRecipient(t *testing.T) {
	cfg := testConfig(t, "")
	cfg.Delivery.GroupGapMin = config.Duration(time.Hour)
	cfg.Delivery.GroupGapMax = config.Duration(time.Hour)
	cfg.Delivery.Coalesce = false // off: two sends to the group
	store, err := sqlite.Open(t.TempDir()+"/outbox.db", sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	for i, to := range []string{"1@chatroom", "1@chatroom", "wxid_person"} {
		require.NoError(t, store.Accept(context.Background(), &outbox.Accepted{
			EventID: fmt.Sprint("ev", i), Source: "am", ReceivedAt: time.Now(), Account: "wx_a",
			Messages: []event.Message{{Rule: "r", To: to, Text: fmt.Sprint("m", i)}},
		}, time.Time{}))
	}
	client := &fakeClient{}
	sender := delivery.NewSender("wx_a", store, client, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sender.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool {
		sent, _ := store.List(context.Background(), outbox.ListFilter{State: outbox.StateSent})
		return len(sent) == 2
	}, 5*time.Second, 5*time.Millisecond)
	sent, _ := client.snapshot()
	assert.Equal(t, "1@chatroom", sent[0].To)
	assert.Equal(t, "wxid_person", sent[1].To, "the person's message passes the group's waiting one")
	pending, err := store.List(context.Background(), outbox.ListFilter{State: outbox.StatePending})
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, "m1", pending[0].Message.Text, "the group's second message still waits its turn")
}

// sentFails is an outbox whose Sent fails the first n times.
type sentFails struct {
	outbox.Queue
	mu sync.Mutex
	n  int
}

func (o *sentFails) Sent(ctx context.Context, ids []int64, at time.Time) error {
	o.mu.Lock()
	fail := o.n > 0
	o.n--
	o.mu.Unlock()
	if fail {
		return errors.New("disk I/O error")
	}
	return o.Queue.Sent(ctx, ids, at)
}

func runSender(t *testing.T, cfg *config.Config, outbox outbox.Queue, client *fakeClient) {
	t.Helper()
	sender := delivery.NewSender("wx_a", outbox, client, cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sender.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func acceptOne(t *testing.T, store *sqlite.Store, to, text string, created time.Time) {
	t.Helper()
	msg := event.Message{Rule: "r", To: to, Text: text}
	if strings.HasPrefix(text, "<appmsg") {
		msg = event.Message{Rule: "r", To: to, XML: text}
	}
	require.NoError(t, store.Accept(context.Background(), &outbox.Accepted{
		EventID: text, Source: "am", ReceivedAt: created, Account: "wx_a", Messages: []event.Message{msg},
	}, time.Time{}))
}

func openStore(t *testing.T) *sqlite.Store {
	store, err := sqlite.Open(t.TempDir()+"/outbox.db", sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	return store
}

// TestSenderNeverResendsWhatItCouldNotRecord: a send whose success the
// store refuses to record is not sent again (a flood to the group), and
// is recorded once the store works again.
func TestSenderNeverResendsWhatItCouldNotRecord(t *testing.T) {
	store := openStore(t)
	acceptOne(t, store, "1@chatroom", "hello", time.Now())
	client := &fakeClient{}
	runSender(t, testConfig(t, ""), &sentFails{Queue: store, n: 1}, client)
	require.Eventually(t, func() bool {
		sent, _ := store.List(context.Background(), outbox.ListFilter{State: outbox.StateSent})
		return len(sent) == 1
	}, 10*time.Second, 10*time.Millisecond, "recorded once the store works")
	_, calls := client.snapshot()
	assert.Equal(t, 1, calls, "sent exactly once")
}

// TestSenderJudgesEachMergedMessage: a fresh message merged into one on its
// last attempt is retried, not dead-lettered with it.
func TestSenderJudgesEachMergedMessage(t *testing.T) {
	store := openStore(t)
	cfg := testConfig(t, ", max_attempts: 2")
	acceptOne(t, store, "1@chatroom", "old alert", time.Now())
	old, err := store.List(context.Background(), outbox.ListFilter{Limit: 1})
	require.NoError(t, err)
	require.NoError(t, store.Retry(context.Background(), []int64{old[0].ID}, outbox.Attempt{At: time.Now(), Error: "earlier"}, time.Now()))
	acceptOne(t, store, "1@chatroom", "NEW alert", time.Now())
	client := &fakeClient{errs: []error{errRetry()}}
	runSender(t, cfg, store, client)
	require.Eventually(t, func() bool {
		sent, _ := store.List(context.Background(), outbox.ListFilter{State: outbox.StateSent})
		return len(sent) == 1
	}, 5*time.Second, 5*time.Millisecond)
	dead, _ := store.List(context.Background(), outbox.ListFilter{State: outbox.StateDead})
	require.Len(t, dead, 1)
	assert.Equal(t, "old alert", dead[0].Message.Text)
	msgs, _ := client.snapshot()
	assert.Equal(t, "NEW alert", msgs[0].Text)
}

// TestSenderAccountFailuresDoNotDeadLetter: a refused token pauses the
// account and keeps the messages, instead of dead-lettering one per pause.
func TestSenderAccountFailuresDoNotDeadLetter(t *testing.T) {
	store := openStore(t)
	for _, to := range []string{"wxid_a", "wxid_b", "wxid_c"} {
		acceptOne(t, store, to, "to "+to, time.Now())
	}
	token := &gewe.Error{Op: "sendmsg", Kind: gewe.Token, Msg: "token invalid"}
	client := &fakeClient{errs: []error{token, token, token}}
	runSender(t, testConfig(t, ""), store, client)
	require.Eventually(t, func() bool {
		sent, _ := store.List(context.Background(), outbox.ListFilter{State: outbox.StateSent})
		return len(sent) == 3
	}, 10*time.Second, 10*time.Millisecond, "all sent once the token works")
	dead, _ := store.List(context.Background(), outbox.ListFilter{State: outbox.StateDead})
	assert.Empty(t, dead)
}

// TestSenderKeepsTextBehindAnEarlierCard: coalescing never lets a later
// text overtake a card to the same recipient.
func TestSenderKeepsTextBehindAnEarlierCard(t *testing.T) {
	store := openStore(t)
	card := render.LinkCardXML("t", "d", "https://x", "")
	acceptOne(t, store, "1@chatroom", "first", time.Now())
	acceptOne(t, store, "1@chatroom", card, time.Now())
	acceptOne(t, store, "1@chatroom", "third", time.Now())
	client := &fakeClient{}
	runSender(t, testConfig(t, ""), store, client)
	require.Eventually(t, func() bool { _, calls := client.snapshot(); return calls == 3 }, 5*time.Second, 5*time.Millisecond)
	sent, _ := client.snapshot()
	assert.Equal(t, "first", sent[0].Text)
	assert.Equal(t, card, sent[1].XML)
	assert.Equal(t, "third", sent[2].Text)
}

// A dry run logs every message at once, without the pacing gaps, records
// it as dry_run and never as sent, and never calls the client.
func TestSenderDryRunLogsAtOnceAndNeverSends(t *testing.T) {
	cfg, probs := config.Parse([]byte(`
gewe: {dry_run: true, app_id: wx_a}
sources: {am: {type: alertmanager, bearer_token: x}}
rules: [{name: r, to: ["1@chatroom"]}]
`), "test.yaml", func(string) string { return "" })
	require.NoError(t, probs.Err())
	require.True(t, cfg.DryRun)
	require.GreaterOrEqual(t, cfg.Delivery.GroupGapMin.D(), 2*time.Second, "the default pacing of a group")
	texts := make([]string, 20)
	for i := range texts {
		texts[i] = fmt.Sprintf("alert %02d is firing", i)
	}
	start := time.Now()
	h := startSender(t, cfg, &fakeClient{}, texts...)
	got := h.waitState(t, outbox.StateDryRun, len(texts))
	assert.Less(t, time.Since(start), 2*time.Second, "dry-run messages are not paced")
	for _, q := range got {
		assert.True(t, q.SentAt.IsZero())
	}
	_, calls := h.client.snapshot()
	assert.Zero(t, calls, "a dry run never calls the client")
	for _, state := range []string{outbox.StateSent, outbox.StatePending} {
		qs, err := h.store.List(context.Background(), outbox.ListFilter{State: state})
		require.NoError(t, err)
		assert.Empty(t, qs, state)
	}
}

// TestSenderStateSaysWhyItIsPaused: a 404 (wrong base_url or api) pauses
// the account, State says so with the short reason and the error, and the
// message waits instead of being dead-lettered.
func TestSenderStateSaysWhyItIsPaused(t *testing.T) {
	wrong := &gewe.Error{Op: "postText", Kind: gewe.WrongEndpoint, Status: 404, Path: "/v2/api/v2/api/message/postText"}
	client := &fakeClient{errs: []error{wrong, wrong, wrong, wrong, wrong, wrong, wrong, wrong}}
	h := startSender(t, testConfig(t, ""), client, "disk full")
	var st delivery.SenderState
	require.Eventually(t, func() bool { st = h.sender.State(); return st.Paused }, 5*time.Second, time.Millisecond)
	assert.Equal(t, "wx_a", st.Account)
	assert.Equal(t, "wrong_endpoint", st.PauseReason)
	assert.Contains(t, st.PauseError, "/v2/api/v2/api/message/postText")
	assert.False(t, st.PausedUntil.IsZero())
	h.waitState(t, outbox.StatePending, 1)
	dead, _ := h.store.List(context.Background(), outbox.ListFilter{State: outbox.StateDead})
	assert.Empty(t, dead, "a wrong endpoint loses nothing")
}

// fakeCluster is one replica's view of a shared outbox: the sqlite store
// as the queue, and a lease this replica always gets, counted.
type fakeCluster struct {
	outbox.Queue
	mu       sync.Mutex
	acquires int
}

func (f *fakeCluster) Acquire(_ context.Context, account, holder string, _ time.Duration) (outbox.Lease, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acquires++
	return outbox.Lease{Account: account, Holder: holder, Token: 1}, true, nil
}
func (f *fakeCluster) Claim(_ context.Context, _ outbox.Lease, ids []int64, _ time.Time, _ time.Duration) ([]int64, error) {
	return ids, nil
}
func (f *fakeCluster) Release(context.Context, outbox.Lease) error { return nil }
func (f *fakeCluster) Orphans(context.Context, outbox.Lease) ([]outbox.Queued, error) {
	return nil, nil
}
func (f *fakeCluster) RecentSends(context.Context, string, time.Time) ([]outbox.Send, error) {
	return nil, nil
}
func (f *fakeCluster) Wakeups() <-chan string { return nil }

func (f *fakeCluster) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.acquires }

// TestPausedHolderKeepsItsLease: a sender paused by an account failure
// goes on renewing its lease, so that no standby replica takes the
// account over and sends into it while it is paused (found in review).
func TestPausedHolderKeepsItsLease(t *testing.T) {
	store := openStore(t)
	acceptOne(t, store, "1@chatroom", "disk full", time.Now())
	cluster := &fakeCluster{Queue: store}
	risk := &gewe.Error{Op: "sendmsg", Kind: gewe.RiskControl, Msg: "操作过于频繁"}
	client := &fakeClient{errs: []error{risk}}
	cfg := testConfig(t, "")
	cfg.Delivery.Pause = config.Duration(8 * time.Second)
	runSender(t, cfg, cluster, client)
	require.Eventually(t, func() bool { _, calls := client.snapshot(); return calls == 1 }, 5*time.Second, 5*time.Millisecond)
	paused := cluster.count()
	// The lease lives 10s and is renewed every 3s: within the 8s pause
	// the holder renews at least once more.
	require.Eventually(t, func() bool { return cluster.count() > paused }, 7*time.Second, 50*time.Millisecond,
		"the paused holder did not renew its lease")
	_, calls := client.snapshot()
	assert.Equal(t, 1, calls, "nothing sent while paused")
}
