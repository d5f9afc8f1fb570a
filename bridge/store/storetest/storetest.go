// Package storetest is one table of behaviours every outbox.Store must
// have, run against each store (SQLite and PostgreSQL) by its own tests:
// what the sender, the intake and the admin API rely on is the same
// whichever store holds the messages.
package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// Account is the account of the test events.
const Account = "wx_app_1"

// T0 is the tests' clock: every time a store gets comes from the caller.
var T0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Event is a webhook of the alertmanager source with one text message to
// each of to.
func Event(id, key string, at time.Time, to ...string) *outbox.Accepted {
	a := &outbox.Accepted{
		EventID: id, Source: "alertmanager", EventName: "firing", DedupKey: key,
		Raw: []byte(`{"id":"` + id + `"}`), ReceivedAt: at, Account: Account,
	}
	for _, r := range to {
		a.Messages = append(a.Messages, event.Message{Rule: "ops", To: r, Text: "hello " + r})
	}
	return a
}

// IDs are the ids of qs.
func IDs(qs []outbox.Queued) []int64 {
	out := make([]int64, len(qs))
	for i, q := range qs {
		out[i] = q.ID
	}
	return out
}

// Open returns an empty store, closed at the end of the test.
type Open func(t *testing.T) outbox.Store

// Run runs every case of the table on stores from open, the chat-ops ones
// (chatops.go) on a store that implements outbox.ChatOps.
func Run(t *testing.T, open Open) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
	}
	for _, c := range chatopsCases {
		t.Run(c.name, func(t *testing.T) { runChatops(t, open(t), c.run) })
	}
}

var cases = []struct {
	name string
	run  func(t *testing.T, s outbox.Store)
}{
	{"accept, due, sent", acceptDueSent},
	{"retry reschedules", retryReschedules},
	{"held until not_before", heldUntilNotBefore},
	{"dead and requeue", deadAndRequeue},
	{"dedup inside the window", dedup("k", "k", T0.Add(dedupWindow-time.Second), true)},
	{"dedup at the window edge", dedup("k", "k", T0.Add(dedupWindow), true)},
	{"dedup after the window", dedup("k", "k", T0.Add(dedupWindow+time.Second), false)},
	{"dedup other key", dedup("k", "k2", T0.Add(time.Second), false)},
	{"dedup no key is never a duplicate", dedup("", "", T0.Add(time.Second), false)},
	{"dedup concurrent same key", dedupConcurrent},
	{"concurrent accepts share commits", concurrentAccepts},
	{"prune", prune},
	{"list pages", listPages},
	{"message bodies round trip", bodiesRoundTrip},
	{"dry run state", dryRunState},
	{"backlog per account", backlog},
	{"ping", ping},
}

const dedupWindow = 10 * time.Minute

func acceptDueSent(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	a := Event("d1", "", T0, "room1@chatroom")
	a.Messages[0].At = []string{"wxid_a", "notify@all"}
	a.Messages = append(a.Messages, event.Message{Rule: "card", To: "wxid_b", XML: "<appmsg/>"})
	require.NoError(t, s.Accept(ctx, a, time.Time{}))

	_, ok, err := s.NextDue(ctx, "other")
	require.NoError(t, err)
	assert.False(t, ok)
	next, ok, err := s.NextDue(ctx, Account)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, next.Equal(T0))

	none, err := s.Due(ctx, Account, T0.Add(-time.Second), 10)
	require.NoError(t, err)
	assert.Empty(t, none)

	due, err := s.Due(ctx, Account, T0, 10)
	require.NoError(t, err)
	require.Len(t, due, 2)
	q := due[0]
	assert.Equal(t, "d1", q.EventID)
	assert.Equal(t, "alertmanager", q.Source)
	assert.Equal(t, Account, q.Account)
	assert.Equal(t, a.Messages[0], q.Message)
	assert.Equal(t, outbox.StatePending, q.State)
	assert.True(t, q.CreatedAt.Equal(T0))
	assert.True(t, q.SentAt.IsZero())
	assert.Equal(t, a.Messages[1], due[1].Message)
	assert.Less(t, due[0].ID, due[1].ID, "oldest first")

	if r, ok := s.(interface {
		Raw(context.Context, int64) ([]byte, error)
	}); ok {
		raw, err := r.Raw(ctx, q.ID)
		require.NoError(t, err)
		assert.Equal(t, a.Raw, raw)
	}

	sentAt := T0.Add(time.Second)
	require.NoError(t, s.Sent(ctx, []int64{q.ID}, sentAt))
	due, err = s.Due(ctx, Account, T0, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.NotEqual(t, q.ID, due[0].ID)

	got, attempts, err := s.Get(ctx, q.ID)
	require.NoError(t, err)
	assert.Equal(t, outbox.StateSent, got.State)
	assert.True(t, got.SentAt.Equal(sentAt))
	assert.Empty(t, attempts)

	_, _, err = s.Get(ctx, 1<<40)
	assert.ErrorIs(t, err, outbox.ErrNotFound)
}

func retryReschedules(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	require.NoError(t, s.Accept(ctx, Event("r1", "", T0, "wxid_a", "wxid_b"), time.Time{}))
	due, err := s.Due(ctx, Account, T0, 10)
	require.NoError(t, err)
	require.Len(t, due, 2)

	fail1 := outbox.Attempt{At: T0.Add(time.Second), Error: "gewe: 500"}
	next := T0.Add(time.Minute)
	require.NoError(t, s.Retry(ctx, IDs(due), fail1, next))

	due2, err := s.Due(ctx, Account, T0.Add(30*time.Second), 10)
	require.NoError(t, err)
	assert.Empty(t, due2, "not due before next")
	nd, ok, err := s.NextDue(ctx, Account)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, nd.Equal(next))

	fail2 := outbox.Attempt{At: next.Add(time.Second), Error: "gewe: timeout"}
	require.NoError(t, s.Retry(ctx, IDs(due)[:1], fail2, next.Add(time.Minute)))

	due2, err = s.Due(ctx, Account, next, 10)
	require.NoError(t, err)
	require.Equal(t, IDs(due)[1:], IDs(due2), "only the message retried once is due")
	assert.Equal(t, 1, due2[0].Attempts)
	assert.Equal(t, "gewe: 500", due2[0].LastError)

	q, attempts, err := s.Get(ctx, due[0].ID)
	require.NoError(t, err)
	assert.Equal(t, 2, q.Attempts)
	assert.Equal(t, "gewe: timeout", q.LastError)
	require.Len(t, attempts, 2)
	assert.Equal(t, fail1.Error, attempts[0].Error, "oldest first")
	assert.True(t, attempts[0].At.Equal(fail1.At))
	assert.Equal(t, fail2.Error, attempts[1].Error)
}

func deadAndRequeue(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	require.NoError(t, s.Accept(ctx, Event("x1", "", T0, "wxid_a"), time.Time{}))
	due, err := s.Due(ctx, Account, T0, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	id := due[0].ID

	require.NoError(t, s.Dead(ctx, []int64{id}, outbox.Attempt{At: T0, Error: "gewe: not logged in"}))
	due, err = s.Due(ctx, Account, T0.Add(time.Hour), 10)
	require.NoError(t, err)
	assert.Empty(t, due)
	_, ok, err := s.NextDue(ctx, Account)
	require.NoError(t, err)
	assert.False(t, ok)

	dead, err := s.List(ctx, outbox.ListFilter{State: outbox.StateDead})
	require.NoError(t, err)
	require.Len(t, dead, 1)
	assert.Equal(t, 1, dead[0].Attempts)

	// A late retry report does not bring a dead message back.
	require.NoError(t, s.Retry(ctx, []int64{id}, outbox.Attempt{At: T0, Error: "late"}, T0))
	q, attempts, err := s.Get(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, outbox.StateDead, q.State)
	assert.Len(t, attempts, 1)

	requeueAt := T0.Add(time.Hour)
	require.NoError(t, s.Requeue(ctx, id, requeueAt))
	due, err = s.Due(ctx, Account, requeueAt, 10)
	require.NoError(t, err)
	require.Equal(t, []int64{id}, IDs(due))
	assert.Equal(t, outbox.StatePending, due[0].State)
	assert.Equal(t, 0, due[0].Attempts, "a requeued message gets the whole retry schedule")

	assert.ErrorIs(t, s.Requeue(ctx, 1<<40, requeueAt), outbox.ErrNotFound)
}

func dedup(firstKey, secondKey string, secondAt time.Time, duplicate bool) func(*testing.T, outbox.Store) {
	return func(t *testing.T, s outbox.Store) {
		ctx := context.Background()
		require.NoError(t, s.Accept(ctx, Event("1", firstKey, T0, "wxid_a"), T0.Add(-dedupWindow)))
		err := s.Accept(ctx, Event("2", secondKey, secondAt, "wxid_a"), secondAt.Add(-dedupWindow))
		want := 2
		if duplicate {
			assert.ErrorIs(t, err, outbox.ErrDuplicate)
			want = 1 // nothing of a duplicate is stored
		} else {
			assert.NoError(t, err)
		}
		all, err := s.List(ctx, outbox.ListFilter{})
		require.NoError(t, err)
		assert.Len(t, all, want)
	}
}

func dedupConcurrent(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	for round := range 5 {
		key := fmt.Sprintf("key-%d", round)
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = s.Accept(ctx, Event(fmt.Sprint(i), key, T0, "wxid_a"), T0.Add(-time.Hour))
			})
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				assert.ErrorIs(t, err, outbox.ErrDuplicate)
			}
		}
		assert.Equal(t, 1, won, "round %d", round)
	}
	all, err := s.List(ctx, outbox.ListFilter{Limit: 500})
	require.NoError(t, err)
	assert.Len(t, all, 5)
}

func concurrentAccepts(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	c0, w0 := s.CommitCounts()
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.Accept(ctx, Event(fmt.Sprint("c", i), fmt.Sprint("ck", i), T0, "wxid_a"), T0.Add(-time.Hour))
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "accept %d", i)
	}
	due, err := s.Due(ctx, Account, T0, 500)
	require.NoError(t, err)
	assert.Len(t, due, n)
	c1, w1 := s.CommitCounts()
	assert.GreaterOrEqual(t, w1-w0, uint64(n))
	assert.Less(t, c1-c0, uint64(n), "concurrent webhooks share commits")
	t.Logf("%d accepts in %d commits", w1-w0, c1-c0)
}

func prune(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	old, recent := T0, T0.Add(48*time.Hour)
	require.NoError(t, s.Accept(ctx, Event("old-sent", "k1", old, "wxid_a"), time.Time{}))
	require.NoError(t, s.Accept(ctx, Event("old-dead", "k2", old, "wxid_a"), time.Time{}))
	require.NoError(t, s.Accept(ctx, Event("old-pending", "k3", old, "wxid_a"), time.Time{}))
	require.NoError(t, s.Accept(ctx, Event("new-sent", "k4", recent, "wxid_a"), time.Time{}))
	all, err := s.List(ctx, outbox.ListFilter{})
	require.NoError(t, err)
	byEvent := map[string]int64{}
	for _, q := range all {
		byEvent[q.EventID] = q.ID
	}
	require.NoError(t, s.Sent(ctx, []int64{byEvent["old-sent"]}, old))
	require.NoError(t, s.Dead(ctx, []int64{byEvent["old-dead"]}, outbox.Attempt{At: old, Error: "x"}))
	require.NoError(t, s.Sent(ctx, []int64{byEvent["new-sent"]}, recent))

	n, err := s.Prune(ctx, old.Add(24*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	left, err := s.List(ctx, outbox.ListFilter{})
	require.NoError(t, err)
	var events []string
	for _, q := range left {
		events = append(events, q.EventID)
	}
	assert.ElementsMatch(t, []string{"old-pending", "new-sent"}, events)
	_, _, err = s.Get(ctx, byEvent["old-dead"])
	assert.ErrorIs(t, err, outbox.ErrNotFound)
	// The pruned event's key is gone with it: the same delivery is
	// accepted again.
	assert.NoError(t, s.Accept(ctx, Event("again", "k1", old.Add(time.Minute), "wxid_a"), old.Add(-time.Hour)))
	n, err = s.Prune(ctx, old.Add(time.Second))
	require.NoError(t, err)
	assert.Zero(t, n)
}

func listPages(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	for i := range 7 {
		require.NoError(t, s.Accept(ctx, Event(fmt.Sprint("p", i), "", T0, "wxid_a"), time.Time{}))
	}
	var seen []int64
	before := int64(0)
	for page := 0; ; page++ {
		got, err := s.List(ctx, outbox.ListFilter{Before: before, Limit: 3})
		require.NoError(t, err)
		if len(got) == 0 {
			break
		}
		require.LessOrEqual(t, len(got), 3)
		seen = append(seen, IDs(got)...)
		before = got[len(got)-1].ID
		require.Less(t, page, 5)
	}
	require.Len(t, seen, 7)
	for i := 1; i < len(seen); i++ {
		assert.Greater(t, seen[i-1], seen[i], "newest first")
	}
	pending, err := s.List(ctx, outbox.ListFilter{State: outbox.StatePending, Limit: 500})
	require.NoError(t, err)
	assert.Len(t, pending, 7)
	none, err := s.List(ctx, outbox.ListFilter{State: "no-such-state"})
	require.NoError(t, err)
	assert.Empty(t, none)
}

func bodiesRoundTrip(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	long := strings.Repeat("告警 CPU > 90% on host-1 https://grafana.example/d/abc\n", 40)
	a := Event("b1", "", T0)
	a.Messages = []event.Message{
		{Rule: "r", To: "room@chatroom", Text: "short"},
		{Rule: "r", To: "room@chatroom", Text: long, At: []string{"wxid_x"}},
		{Rule: "r", To: "wxid_y", XML: "<appmsg>" + strings.Repeat("<x>y</x>", 100) + "</appmsg>"},
		{Rule: "r", To: "wxid_z", Text: ""},
	}
	require.NoError(t, s.Accept(ctx, a, time.Time{}))
	due, err := s.Due(ctx, Account, T0, 10)
	require.NoError(t, err)
	require.Len(t, due, len(a.Messages))
	for i, q := range due {
		assert.Equal(t, a.Messages[i], q.Message, "message %d", i)
	}
}

func dryRunState(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	require.NoError(t, s.Accept(ctx, Event("dr", "", T0, "wxid_a", "wxid_b"), time.Time{}))
	due, err := s.Due(ctx, Account, T0, 10)
	require.NoError(t, err)
	require.NoError(t, s.DryRun(ctx, IDs(due), T0.Add(time.Second)))
	left, err := s.Due(ctx, Account, T0.Add(time.Hour), 10)
	require.NoError(t, err)
	assert.Empty(t, left)
	dry, err := s.List(ctx, outbox.ListFilter{State: outbox.StateDryRun})
	require.NoError(t, err)
	assert.Len(t, dry, 2)
	sent, err := s.List(ctx, outbox.ListFilter{State: outbox.StateSent})
	require.NoError(t, err)
	assert.Empty(t, sent, "a dry run is never sent")
}

func backlog(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	require.NoError(t, s.Accept(ctx, Event("b1", "", T0, "wxid_a", "wxid_b"), time.Time{}))
	other := Event("b2", "", T0.Add(time.Minute), "wxid_c")
	other.Account = "wx_app_2"
	require.NoError(t, s.Accept(ctx, other, time.Time{}))
	bl, err := s.Backlog(ctx)
	require.NoError(t, err)
	got := map[string]outbox.Backlog{}
	for _, b := range bl {
		got[b.Account] = b
	}
	require.Len(t, got, 2)
	assert.Equal(t, 2, got[Account].Pending)
	assert.True(t, got[Account].Oldest.Equal(T0))
	assert.Equal(t, 1, got["wx_app_2"].Pending)
}

func ping(t *testing.T, s outbox.Store) {
	require.NoError(t, s.Ping(context.Background()))
}

// heldUntilNotBefore: a message held by quiet hours (Message.NotBefore)
// is due then, not when accepted; one held until the past is due at once.
func heldUntilNotBefore(t *testing.T, s outbox.Store) {
	ctx := context.Background()
	a := Event("h1", "", T0, "wxid_a", "wxid_b", "wxid_c")
	a.Messages[0].NotBefore = T0.Add(time.Hour)
	a.Messages[1].NotBefore = T0.Add(-time.Hour)
	require.NoError(t, s.Accept(ctx, a, time.Time{}))

	due, err := s.Due(ctx, Account, T0, 10)
	require.NoError(t, err)
	require.Len(t, due, 2)
	assert.Equal(t, []string{"wxid_b", "wxid_c"}, []string{due[0].Message.To, due[1].Message.To})
	require.NoError(t, s.Sent(ctx, IDs(due), T0))

	next, ok, err := s.NextDue(ctx, Account)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, next.Equal(T0.Add(time.Hour)), "next due %s", next)
	due, err = s.Due(ctx, Account, T0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, "wxid_a", due[0].Message.To)
	assert.True(t, due[0].NextAt.Equal(T0.Add(time.Hour)))
	assert.True(t, due[0].CreatedAt.Equal(T0))
}
