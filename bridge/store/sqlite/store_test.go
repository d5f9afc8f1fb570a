package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/codec"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gewe-bridge/gewe-bridge/rules/render"
)

const account = "wx_app_1"

// t0 is a fixed clock for the tests; every time the store gets comes from
// the caller.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openStore(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "sub", "outbox.db"), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func accepted(id, key string, at time.Time, to ...string) *outbox.Accepted {
	a := &outbox.Accepted{
		EventID: id, Source: "alertmanager", EventName: "firing", DedupKey: key,
		Raw: []byte(`{"id":"` + id + `"}`), ReceivedAt: at, Account: account,
	}
	for _, r := range to {
		a.Messages = append(a.Messages, event.Message{Rule: "ops", To: r, Text: "hello " + r})
	}
	return a
}

func ids(qs []outbox.Queued) []int64 {
	out := make([]int64, len(qs))
	for i, q := range qs {
		out[i] = q.ID
	}
	return out
}

func TestDedup(t *testing.T) {
	window := 10 * time.Minute
	tests := []struct {
		name       string
		firstKey   string
		secondKey  string
		secondAt   time.Time
		wantSecond error
	}{
		{"same key inside the window", "k", "k", t0.Add(window - time.Second), outbox.ErrDuplicate},
		{"same key at the window edge", "k", "k", t0.Add(window), outbox.ErrDuplicate},
		{"same key after the window", "k", "k", t0.Add(window + time.Second), nil},
		{"other key", "k", "k2", t0.Add(time.Second), nil},
		{"no key is never a duplicate", "", "", t0.Add(time.Second), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, Options{})
			require.NoError(t, s.Accept(ctx, accepted("1", tt.firstKey, t0, "wxid_a"), t0.Add(-window)))
			err := s.Accept(ctx, accepted("2", tt.secondKey, tt.secondAt, "wxid_a"), tt.secondAt.Add(-window))
			if tt.wantSecond != nil {
				assert.ErrorIs(t, err, tt.wantSecond)
			} else {
				assert.NoError(t, err)
			}
			all, err := s.List(ctx, outbox.ListFilter{})
			require.NoError(t, err)
			want := 2
			if tt.wantSecond != nil {
				want = 1 // nothing of a duplicate is stored
			}
			assert.Len(t, all, want)
		})
	}
}

// stallFirstCommit returns a commit hook that holds the first commit until
// release is closed, and a channel closed once the writer is held there.
func stallFirstCommit() (hook func(int) error, held, release chan struct{}) {
	held, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	hook = func(int) error {
		once.Do(func() {
			close(held)
			<-release
		})
		return nil
	}
	return hook, held, release
}

func TestGroupCommitBatches(t *testing.T) {
	ctx := context.Background()
	hook, held, release := stallFirstCommit()
	s := openStore(t, Options{beforeCommit: hook})

	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	wg.Go(func() { errs[0] = s.Accept(ctx, accepted("0", "", t0, "wxid_a"), time.Time{}) })
	<-held
	// While the first commit is held, the others queue up and must all go
	// into the next transaction.
	for i := 1; i < n; i++ {
		wg.Go(func() { errs[i] = s.Accept(ctx, accepted(fmt.Sprint(i), "", t0, "wxid_a"), time.Time{}) })
	}
	require.Eventually(t, func() bool { return len(s.w.reqs) == n-1 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	st := s.Stats()
	assert.Equal(t, uint64(n), st.Requests)
	assert.Equal(t, uint64(2), st.Commits)
	assert.Equal(t, n-1, st.MaxBatch)

	due, err := s.Due(ctx, account, t0, 500)
	require.NoError(t, err)
	assert.Len(t, due, n)
}

func TestGroupCommitUnderLoad(t *testing.T) {
	// No stalling: concurrent callers share commits on their own.
	ctx := context.Background()
	s := openStore(t, Options{})
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { assert.NoError(t, s.Accept(ctx, accepted(fmt.Sprint(i), "", t0, "wxid_a"), time.Time{})) })
	}
	wg.Wait()
	st := s.Stats()
	assert.Equal(t, uint64(n), st.Requests)
	assert.Less(t, st.Commits, uint64(n/2), "%+v", st)
	t.Logf("%d accepts in %d commits, largest batch %d", n, st.Commits, st.MaxBatch)
}

func TestFailedCommitFailsTheWholeBatch(t *testing.T) {
	ctx := context.Background()
	errDisk := errors.New("disk on fire")
	var failing atomic.Bool
	failing.Store(true)
	hook, held, release := stallFirstCommit()
	s := openStore(t, Options{beforeCommit: func(n int) error {
		_ = hook(n)
		if failing.Load() {
			return errDisk
		}
		return nil
	}})

	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	wg.Go(func() { errs[0] = s.Accept(ctx, accepted("0", "k0", t0, "wxid_a"), time.Time{}) })
	<-held
	for i := 1; i < n; i++ {
		wg.Go(func() {
			errs[i] = s.Accept(ctx, accepted(fmt.Sprint(i), fmt.Sprint("k", i), t0, "wxid_a"), time.Time{})
		})
	}
	require.Eventually(t, func() bool { return len(s.w.reqs) == n-1 }, 5*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	for i, err := range errs {
		assert.ErrorIs(t, err, errDisk, "request %d", i)
	}
	st := s.Stats()
	assert.Equal(t, uint64(2), st.FailedCommits)
	assert.Zero(t, st.Commits)
	all, err := s.List(ctx, outbox.ListFilter{})
	require.NoError(t, err)
	assert.Empty(t, all, "nothing of a failed batch is stored")

	// Nothing was recorded, the de-duplication keys included: a retry of
	// the webhook goes through.
	failing.Store(false)
	require.NoError(t, s.Accept(ctx, accepted("0", "k0", t0, "wxid_a"), time.Time{}))
}

func TestCancelledRequestIsNotApplied(t *testing.T) {
	hook, held, release := stallFirstCommit()
	s := openStore(t, Options{beforeCommit: hook})

	done := make(chan error, 1)
	go func() { done <- s.Accept(context.Background(), accepted("first", "", t0, "wxid_a"), time.Time{}) }()
	<-held

	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() { cancelled <- s.Accept(ctx, accepted("cancelled", "", t0, "wxid_b"), time.Time{}) }()
	require.Eventually(t, func() bool { return len(s.w.reqs) == 1 }, 5*time.Second, time.Millisecond)
	cancel()
	select {
	case err := <-cancelled:
		assert.ErrorIs(t, err, context.Canceled, "answered without waiting for the writer")
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled Accept did not return")
	}
	close(release)
	require.NoError(t, <-done)

	// Already done before the call.
	assert.ErrorIs(t, s.Accept(ctx, accepted("late", "", t0, "wxid_c"), time.Time{}), context.Canceled)

	require.NoError(t, s.Ping(context.Background())) // after the writer passed the cancelled one
	all, err := s.List(context.Background(), outbox.ListFilter{})
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, "first", all[0].EventID)
}

func TestReopenKeepsPending(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(path, Options{})
	require.NoError(t, err)
	require.NoError(t, s.Accept(ctx, accepted("e1", "key", t0, "wxid_a", "wxid_b", "wxid_c"), time.Time{}))
	due, err := s.Due(ctx, account, t0, 10)
	require.NoError(t, err)
	require.NoError(t, s.Sent(ctx, ids(due)[:1], t0))
	require.NoError(t, s.Close())

	// Everything after Close is refused.
	assert.ErrorIs(t, s.Close(), ErrClosed)
	assert.ErrorIs(t, s.Accept(ctx, accepted("e2", "", t0, "wxid_a"), time.Time{}), ErrClosed)
	assert.ErrorIs(t, s.Ping(ctx), ErrClosed)
	_, err = s.Due(ctx, account, t0, 10)
	assert.ErrorIs(t, err, ErrClosed)
	_, _, err = s.Get(ctx, 1)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = s.Prune(ctx, t0)
	assert.ErrorIs(t, err, ErrClosed)

	// The keys of the window before Open are read back from the events;
	// t0 is long ago, so the window reaches back to it.
	s, err = Open(path, Options{DedupWindow: time.Since(t0) + time.Hour})
	require.NoError(t, err)
	defer s.Close()
	again, err := s.Due(ctx, account, t0, 10)
	require.NoError(t, err)
	assert.Equal(t, ids(due)[1:], ids(again))
	assert.ErrorIs(t, s.Accept(ctx, accepted("e1", "key", t0, "wxid_a"), t0.Add(-time.Minute)), outbox.ErrDuplicate,
		"de-duplication keys survive a restart")
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{PruneChunk: 2}) // several chunks
	old, recent := t0.Add(-48*time.Hour), t0.Add(-time.Hour)
	before := t0.Add(-24 * time.Hour)

	require.NoError(t, s.Accept(ctx, accepted("old-sent", "k-old", old, "a", "b", "c", "d", "e"), time.Time{}))
	require.NoError(t, s.Accept(ctx, accepted("old-dead", "", old, "f"), time.Time{}))
	require.NoError(t, s.Accept(ctx, accepted("old-pending", "", old, "g"), time.Time{}))
	require.NoError(t, s.Accept(ctx, accepted("old-sent-late", "", old, "h"), time.Time{}))
	require.NoError(t, s.Accept(ctx, accepted("recent-sent", "k-recent", recent, "i"), time.Time{}))
	require.NoError(t, s.Accept(ctx, accepted("no-messages", "", old), time.Time{}))
	all, err := s.List(ctx, outbox.ListFilter{})
	require.NoError(t, err)
	byEvent := map[string][]int64{}
	for _, q := range all {
		byEvent[q.EventID] = append(byEvent[q.EventID], q.ID)
	}
	require.NoError(t, s.Retry(ctx, byEvent["old-sent"], outbox.Attempt{At: old, Error: "x"}, old))
	require.NoError(t, s.Sent(ctx, byEvent["old-sent"], old))
	require.NoError(t, s.Dead(ctx, byEvent["old-dead"], outbox.Attempt{At: old, Error: "x"}))
	require.NoError(t, s.Sent(ctx, byEvent["old-sent-late"], recent)) // old, but sent recently
	require.NoError(t, s.Sent(ctx, byEvent["recent-sent"], recent))

	n, err := s.Prune(ctx, before)
	require.NoError(t, err)
	assert.Equal(t, 6, n, "5 old sent and 1 old dead")

	left, err := s.List(ctx, outbox.ListFilter{})
	require.NoError(t, err)
	var events []string
	for _, q := range left {
		events = append(events, q.EventID)
	}
	assert.ElementsMatch(t, []string{"old-pending", "old-sent-late", "recent-sent"}, events)

	count := func(q string) int {
		var n int
		require.NoError(t, s.rdb.QueryRowContext(ctx, q).Scan(&n))
		return n
	}
	assert.Equal(t, 3, count(`SELECT count(*) FROM events`), "events without messages are gone")
	assert.Equal(t, 0, count(`SELECT count(*) FROM attempts`))
	// The old key is gone: the same delivery is accepted again.
	require.NoError(t, s.Accept(ctx, accepted("old-sent", "k-old", t0, "a"), time.Time{}))

	n, err = s.Prune(ctx, before)
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestListPages(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	for i := range 7 {
		require.NoError(t, s.Accept(ctx, accepted(fmt.Sprint(i), "", t0, "wxid_a"), time.Time{}))
	}
	all, err := s.List(ctx, outbox.ListFilter{})
	require.NoError(t, err)
	require.Len(t, all, 7)
	id := ids(all) // newest first
	require.NoError(t, s.Sent(ctx, []int64{id[0], id[2], id[4]}, t0))
	require.NoError(t, s.Dead(ctx, []int64{id[6]}, outbox.Attempt{At: t0, Error: "x"}))

	tests := []struct {
		name   string
		filter outbox.ListFilter
		want   []int64
	}{
		{"first page", outbox.ListFilter{Limit: 3}, id[0:3]},
		{"second page", outbox.ListFilter{Limit: 3, Before: id[2]}, id[3:6]},
		{"last page", outbox.ListFilter{Limit: 3, Before: id[5]}, id[6:]},
		{"past the end", outbox.ListFilter{Limit: 3, Before: id[6]}, []int64{}},
		{"by state", outbox.ListFilter{State: outbox.StateSent}, []int64{id[0], id[2], id[4]}},
		{"by state, paged", outbox.ListFilter{State: outbox.StatePending, Limit: 2, Before: id[1]}, []int64{id[3], id[5]}},
		{"pending", outbox.ListFilter{State: outbox.StatePending}, []int64{id[1], id[3], id[5]}},
		{"dead", outbox.ListFilter{State: outbox.StateDead}, []int64{id[6]}},
		{"dead, past it", outbox.ListFilter{State: outbox.StateDead, Before: id[6]}, []int64{}},
		{"unknown state", outbox.ListFilter{State: "nope"}, []int64{}},
		{"limit capped", outbox.ListFilter{Limit: 10_000}, id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.List(ctx, tt.filter)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ids(got))
		})
	}
}

func TestPing(t *testing.T) {
	// Missing directories are created; odd names are not taken for URI syntax.
	path := filepath.Join(t.TempDir(), "a b", "c?d#e%20", "outbox.db")
	s, err := Open(path, Options{})
	require.NoError(t, err)
	assert.FileExists(t, path)
	require.NoError(t, s.Ping(context.Background()))
	require.NoError(t, s.Close())
	assert.ErrorIs(t, s.Ping(context.Background()), ErrClosed)
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(path, Options{})
	require.NoError(t, err)
	_, err = s.w.db.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	_, err = Open(path, Options{})
	assert.ErrorContains(t, err, "newer")
}

func TestCloseWhileAccepting(t *testing.T) {
	// Every Accept that returned nil is on disk after Close; the others
	// were refused with ErrClosed.
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(path, Options{})
	require.NoError(t, err)

	const n = 300
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = s.Accept(ctx, accepted(fmt.Sprint(i), "", t0, "wxid_a"), time.Time{}) })
	}
	time.Sleep(2 * time.Millisecond)
	require.NoError(t, s.Close())
	wg.Wait()

	var accepted []string
	for i, err := range errs {
		if err == nil {
			accepted = append(accepted, fmt.Sprint(i))
		} else {
			require.ErrorIs(t, err, ErrClosed)
		}
	}
	s, err = Open(path, Options{})
	require.NoError(t, err)
	defer s.Close()
	due, err := s.Due(ctx, account, t0, n)
	require.NoError(t, err)
	var stored []string
	for _, q := range due {
		stored = append(stored, q.EventID)
	}
	assert.ElementsMatch(t, accepted, stored)
	t.Logf("%d of %d accepted before Close", len(accepted), n)
}

// TestFailedRequest: a request fails after writing, in a batch with an
// Accept. An isolated request is rolled back to its savepoint and the rest
// of the batch commits. Any other request can only fail when the database
// does: its error rolls back the whole batch, and every request of the
// batch gets it (a webhook then answers 503 and is sent again).
func TestFailedRequest(t *testing.T) {
	tests := []struct {
		name       string
		isolated   bool
		wantStored []string
	}{
		{name: "isolated: leaves nothing behind", isolated: true, wantStored: []string{"whole"}},
		{name: "not isolated: fails its batch", isolated: false, wantStored: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			hook, held, release := stallFirstCommit()
			s := openStore(t, Options{beforeCommit: hook})
			go func() { _ = s.Ping(ctx) }()
			<-held

			errHalfway := errors.New("failed half-way")
			submit := s.submit
			if tt.isolated {
				submit = s.submitIsolated
			}
			var wg sync.WaitGroup
			var failed, other error
			wg.Go(func() {
				failed = submit(ctx, func(t *wtx) error {
					if _, err := t.exec(stInsertEvent, "half", "src", "ev", "", 1, nil); err != nil {
						return err
					}
					return errHalfway
				})
			})
			require.Eventually(t, func() bool { return len(s.w.reqs) == 1 }, 5*time.Second, time.Millisecond)
			wg.Go(func() { other = s.Accept(ctx, accepted("whole", "key", t0, "wxid_a"), time.Time{}) })
			require.Eventually(t, func() bool { return len(s.w.reqs) == 2 }, 5*time.Second, time.Millisecond)
			close(release)
			wg.Wait()

			assert.ErrorIs(t, failed, errHalfway)
			if tt.isolated {
				require.NoError(t, other)
				assert.Equal(t, 2, s.Stats().MaxBatch, "both requests in one batch")
			} else {
				assert.ErrorIs(t, other, errHalfway)
			}
			assert.Equal(t, tt.wantStored, column(t, s, `SELECT event_id FROM events`))
			if !tt.isolated {
				// The key of the event that was not committed is free:
				// its sender's retry is accepted.
				require.NoError(t, s.Accept(ctx, accepted("whole", "key", t0, "wxid_a"), time.Time{}))
			}
		})
	}
}

func TestRawPayloadRoundTrip(t *testing.T) {
	for _, body := range [][]byte{nil, {}, []byte(`{"a":1}`), bytes.Repeat([]byte(`{"alerts":[{"status":"firing"}]}`), 1000)} {
		got, err := codec.ParseRaw(codec.Raw(body))
		require.NoError(t, err)
		assert.Equal(t, len(body), len(got))
		assert.True(t, bytes.Equal(body, got))
	}
	big := bytes.Repeat([]byte(`{"alerts":[{"status":"firing"}]}`), 1000)
	assert.Less(t, len(codec.Raw(big)), len(big)/10, "payloads are stored compressed")
	plain, err := codec.ParseRaw(append([]byte{codec.RawPlain}, "x"...))
	require.NoError(t, err)
	assert.Equal(t, "x", string(plain))
	_, err = codec.ParseRaw([]byte{0x7f, 1})
	assert.Error(t, err)
}

// Long texts and cards are stored compressed and come back as they were;
// texts stored before (TEXT values) still read.
func TestMessageBodiesRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	long := strings.Repeat("🔥 磁盘将满 http://prometheus:9090/graph?g0.expr=%28node%29\n", 20)
	card := render.LinkCardXML("标题 <&>", long, "https://example.com/?a=1&b=2", "")
	a := accepted("long", "", t0)
	a.Messages = []event.Message{
		{Rule: "ops", To: "1@chatroom", Text: long, At: []string{"wxid_a"}},
		{Rule: "ops", To: "1@chatroom", XML: card},
		{Rule: "ops", To: "1@chatroom", Text: "short"},
	}
	require.NoError(t, s.Accept(ctx, a, time.Time{}))
	w, err := s.w.db.ExecContext(ctx, `INSERT INTO messages (event, account, rule, recipient, text, state, created_at, updated_at, next_at)
		VALUES (1, ?, 'ops', '1@chatroom', ?, 'pending', 1, 1, 1)`, account, long)
	require.NoError(t, err)
	legacy, err := w.LastInsertId()
	require.NoError(t, err)

	due, err := s.Due(ctx, account, t0, 10)
	require.NoError(t, err)
	require.Len(t, due, 4)
	assert.Equal(t, long, due[0].Message.Text)
	assert.Equal(t, []string{"wxid_a"}, due[0].Message.At)
	assert.Equal(t, card, due[1].Message.XML)
	assert.Equal(t, "short", due[2].Message.Text)
	assert.Equal(t, legacy, due[3].ID)
	assert.Equal(t, long, due[3].Message.Text, "a text stored uncompressed")

	assert.Equal(t, []string{"blob/text", "text/blob", "text/text", "text/text"},
		column(t, s, `SELECT typeof(text) || '/' || typeof(xml) FROM messages ORDER BY id`))
}

// column reads a one-column query's text values through the read pool.
func column(t *testing.T, s *Store, query string) []string {
	t.Helper()
	rows, err := s.rdb.QueryContext(context.Background(), query)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestDryRunState(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	old := t0.Add(-48 * time.Hour)
	require.NoError(t, s.Accept(ctx, accepted("ev", "", old, "a", "b", "c", "d"), time.Time{}))
	all, err := s.List(ctx, outbox.ListFilter{})
	require.NoError(t, err)
	id := ids(all) // newest first
	require.NoError(t, s.Sent(ctx, id[3:4], old))
	// Only pending messages become dry_run: a sent one stays sent.
	require.NoError(t, s.DryRun(ctx, []int64{id[0], id[1], id[3]}, old))

	dry, err := s.List(ctx, outbox.ListFilter{State: outbox.StateDryRun})
	require.NoError(t, err)
	assert.Equal(t, id[0:2], ids(dry))
	for _, q := range dry {
		assert.Equal(t, outbox.StateDryRun, q.State)
		assert.True(t, q.SentAt.IsZero(), "a dry-run message was never sent")
	}
	sent, err := s.List(ctx, outbox.ListFilter{State: outbox.StateSent})
	require.NoError(t, err)
	assert.Equal(t, id[3:4], ids(sent))
	due, err := s.Due(ctx, account, t0, 10)
	require.NoError(t, err)
	assert.Equal(t, id[2:3], ids(due), "dry-run messages are never due")
	_, ok, err := s.NextDue(ctx, account)
	require.NoError(t, err)
	assert.True(t, ok)

	// Retention prunes them with the finished messages.
	n, err := s.Prune(ctx, t0)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "2 dry_run and 1 sent")
}

// A database of schema version 3 (before dry_run) migrates: its finished
// messages and the new dry_run ones are pruned through messages_done.
func TestMigrateToDryRunState(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	s, err := Open(path, Options{})
	require.NoError(t, err)
	old := t0.Add(-48 * time.Hour)
	require.NoError(t, s.Accept(ctx, accepted("ev", "", old, "a", "b"), time.Time{}))
	all, err := s.List(ctx, outbox.ListFilter{})
	require.NoError(t, err)
	require.NoError(t, s.Sent(ctx, ids(all)[1:], old))
	// Back to version 3 as it was released.
	_, err = s.w.db.Exec(`DROP INDEX messages_done;
CREATE INDEX messages_done ON messages (updated_at) WHERE state IN ('sent', 'dead');
DROP TABLE message_alerts; DROP TABLE sent_ids; DROP TABLE callbacks;
PRAGMA user_version = 3`)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = Open(path, Options{})
	require.NoError(t, err)
	defer s.Close()
	var version int
	require.NoError(t, s.rdb.QueryRow("PRAGMA user_version").Scan(&version))
	assert.Equal(t, len(migrations), version)
	require.NoError(t, s.DryRun(ctx, ids(all)[:1], old))
	n, err := s.Prune(ctx, t0)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the sent message and the dry_run one")
}

// A page damaged in the middle of the file (the header and the schema
// intact) is found by Open's integrity check: the store opens, says why,
// and is not ready. Which page is hit decides whether SQLite reports the
// damage as rows of quick_check or as the error of the check itself.
func TestOpenFindsACorruptPage(t *testing.T) {
	for _, page := range []func(pages int64) int64{
		func(n int64) int64 { return n / 2 },
		func(n int64) int64 { return n/2 + 1 },
	} {
		ctx := context.Background()
		path := filepath.Join(t.TempDir(), "outbox.db")
		s, err := Open(path, Options{})
		require.NoError(t, err)
		require.NoError(t, s.Integrity())
		for i := range 400 {
			a := accepted(fmt.Sprint(i), "", t0, "wxid_a", "wxid_b")
			a.Raw = []byte(strings.Repeat(fmt.Sprintf(`{"alert":%d}`, i), 100))
			require.NoError(t, s.Accept(ctx, a, time.Time{}))
		}
		require.NoError(t, s.Close()) // checkpoints the WAL into the file
		corruptPage(t, path, page)

		s, err = Open(path, Options{})
		require.NoError(t, err, "a damaged page in the middle does not keep the store from opening")
		assert.ErrorIs(t, s.Integrity(), outbox.ErrCorrupt)
		err = s.Ping(ctx)
		require.ErrorIs(t, err, outbox.ErrCorrupt)
		assert.True(t, strings.HasPrefix(err.Error(), "store corrupt: "), err.Error())
		t.Log(err)
		require.NoError(t, s.Close())
	}
}

// corruptPage writes garbage over one page of the closed database at path:
// page(number of pages) counted from 0.
func corruptPage(t *testing.T, path string, page func(pages int64) int64) {
	t.Helper()
	var pageSize int64
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	require.NoError(t, db.QueryRow("PRAGMA page_size").Scan(&pageSize))
	require.NoError(t, db.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	pages := fi.Size() / pageSize
	require.Greater(t, pages, int64(20), "a file of many pages")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer f.Close()
	garbage := bytes.Repeat([]byte{0xA5, 0x5A, 0xFF, 0x00}, int(pageSize)/4)
	_, err = f.WriteAt(garbage, page(pages)*pageSize)
	require.NoError(t, err)
}
