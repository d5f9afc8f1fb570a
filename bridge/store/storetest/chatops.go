package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// The chat-ops cases run on a store that implements outbox.ChatOps and
// are skipped on one that does not.
var chatopsCases = []struct {
	name string
	run  func(t *testing.T, s outbox.Store, c outbox.ChatOps)
}{
	{"chat-ops sent alerts", sentAlerts},
	{"chat-ops alerts of concurrent accepts", concurrentAlerts},
	{"chat-ops callbacks", callbacks},
	{"chat-ops prune", pruneChatops},
}

func runChatops(t *testing.T, s outbox.Store, run func(*testing.T, outbox.Store, outbox.ChatOps)) {
	c, ok := s.(outbox.ChatOps)
	if !ok {
		t.Skip("the store does not implement outbox.ChatOps")
	}
	run(t, s, c)
}

// Alert is an alert of the alertmanager source with fingerprint fp
// (none: it is told apart by its labels).
func Alert(fp, name string) event.AlertRef {
	return event.AlertRef{Source: "alertmanager", Fingerprint: fp, Labels: map[string]string{"alertname": name, "nul": "a\x00b"},
		ExternalURL: "http://am:9093"}
}

// Big NewMsgIds, above 2^53: a float64 would round them together.
const (
	newMsgA = 1<<53 + 1
	newMsgB = 1<<53 + 2
	newMsgC = 1<<62 + 3
)

func sentAlerts(t *testing.T, s outbox.Store, c outbox.ChatOps) {
	ctx := context.Background()
	a, b, x, y := Alert("fa", "A"), Alert("fb", "B"), Alert("", "X"), Alert("", "Y")
	e := Event("alerts", "", T0, "wxid_a", "wxid_b", "wxid_c")
	e.Messages[0].Alerts = []event.AlertRef{a, b}
	e.Messages[2].Alerts = []event.AlertRef{a, x, y}
	require.NoError(t, s.Accept(ctx, e, time.Time{}))
	require.NoError(t, s.Accept(ctx, Event("plain", "", T0, "wxid_d"), time.Time{}))
	due, err := s.Due(ctx, Account, T0, 10)
	require.NoError(t, err)
	require.Len(t, due, 4)
	ids := IDs(due)

	require.NoError(t, c.SentAs(ctx, Account, newMsgA, ids[:2], T0))
	require.NoError(t, c.SentAs(ctx, Account, newMsgA, ids[:2], T0), "recorded twice")
	require.NoError(t, c.SentAs(ctx, Account, newMsgB, ids[2:3], T0))
	require.NoError(t, c.SentAs(ctx, Account, newMsgC, []int64{ids[0], ids[2], ids[3]}, T0), "coalesced")
	require.NoError(t, c.SentAs(ctx, Account, 77, ids[3:], T0))

	got, err := c.SentAlerts(ctx, Account, newMsgA)
	require.NoError(t, err)
	assert.Equal(t, []event.AlertRef{a, b}, got)
	got, err = c.SentAlerts(ctx, Account, newMsgB)
	require.NoError(t, err)
	assert.Equal(t, []event.AlertRef{a, x, y}, got)
	got, err = c.SentAlerts(ctx, Account, newMsgC)
	require.NoError(t, err)
	assert.Equal(t, []event.AlertRef{a, b, x, y}, got, "each alert once, by fingerprint or labels")
	for _, none := range []struct {
		account string
		id      int64
	}{{Account, 77}, {Account, newMsgA + 2}, {"other", newMsgA}} {
		got, err = c.SentAlerts(ctx, none.account, none.id)
		require.NoError(t, err)
		assert.Empty(t, got, "%s %d", none.account, none.id)
	}
}

// Webhooks committed together (group commit) keep each message's alerts
// with that message.
func concurrentAlerts(t *testing.T, s outbox.Store, c outbox.ChatOps) {
	ctx := context.Background()
	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	alerts := 0
	for i := range n {
		// Some webhooks carry no alert: the batch mixes both statements.
		e := Event(fmt.Sprint("c", i), "", T0, fmt.Sprint("wxid_", i, "_0"), fmt.Sprint("wxid_", i, "_1"),
			fmt.Sprint("wxid_", i, "_2"))
		if i%4 != 3 {
			e.Messages[i%3].Alerts = []event.AlertRef{Alert(fmt.Sprint("f", i), e.Messages[i%3].To)}
			alerts++
		}
		if i%2 == 0 {
			e.Messages[(i+1)%3].Alerts = []event.AlertRef{Alert("", e.Messages[(i+1)%3].To)}
			alerts++
		}
		wg.Go(func() { errs[i] = s.Accept(ctx, e, time.Time{}) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	due, err := s.Due(ctx, Account, T0, 500)
	require.NoError(t, err)
	require.Len(t, due, 3*n)
	with := 0
	for i, q := range due {
		id := int64(1000 + i)
		require.NoError(t, c.SentAs(ctx, Account, id, []int64{q.ID}, T0))
		got, err := c.SentAlerts(ctx, Account, id)
		require.NoError(t, err)
		for _, r := range got {
			assert.Equal(t, q.Message.To, r.Labels["alertname"], "message %d", q.ID)
		}
		with += len(got)
	}
	assert.Equal(t, alerts, with)
}

func callbacks(t *testing.T, _ outbox.Store, c outbox.ChatOps) {
	ctx := context.Background()
	cb := func(app string, id int64, at time.Time) *outbox.Callback {
		return &outbox.Callback{Source: "wechat", AppID: app, NewMsgID: id, ReceivedAt: at,
			Raw: []byte(fmt.Sprintf(`{"Appid":%q,"NewMsgId":%d}`, app, id))}
	}
	first := cb("wx_app_1", newMsgA, T0)
	require.NoError(t, c.AcceptCallback(ctx, first))
	assert.NotZero(t, first.ID)
	assert.ErrorIs(t, c.AcceptCallback(ctx, cb("wx_app_1", newMsgA, T0.Add(time.Second))), outbox.ErrDuplicate)
	second := cb("wx_app_1", newMsgB, T0.Add(time.Second))
	require.NoError(t, c.AcceptCallback(ctx, second))
	third := cb("wx_app_2", newMsgA, T0.Add(2*time.Second)) // another account's message
	require.NoError(t, c.AcceptCallback(ctx, third))
	assert.Less(t, first.ID, second.ID)
	assert.Less(t, second.ID, third.ID)

	pending, err := c.PendingCallbacks(ctx, 10)
	require.NoError(t, err)
	require.Len(t, pending, 3)
	for i, want := range []*outbox.Callback{first, second, third} {
		got := pending[i]
		assert.Equal(t, want.ID, got.ID, "oldest first")
		assert.Equal(t, want.Source, got.Source)
		assert.Equal(t, want.AppID, got.AppID)
		assert.Equal(t, want.NewMsgID, got.NewMsgID, "exact above 2^53")
		assert.Equal(t, want.Raw, got.Raw)
		assert.True(t, want.ReceivedAt.Equal(got.ReceivedAt))
		assert.Equal(t, outbox.CallbackPending, got.State)
		assert.Zero(t, got.Outcome)
	}

	done := outbox.Command{Chat: "room@chatroom", Author: "wxid_x", Contact: "x", Command: "silence",
		Text: "silence 1h", Quoted: newMsgC, Result: "silenced", Detail: "s-1", Reply: "ok",
		DoneAt: T0.Add(time.Minute)}
	require.NoError(t, c.CallbackDone(ctx, first.ID, done))
	assert.ErrorIs(t, c.CallbackDone(ctx, third.ID+1000, done), outbox.ErrNotFound)
	pending, err = c.PendingCallbacks(ctx, 10)
	require.NoError(t, err)
	for _, p := range pending {
		assert.NotEqual(t, first.ID, p.ID, "done is not pending")
	}

	page, err := c.Callbacks(ctx, 0, 2)
	require.NoError(t, err)
	require.Len(t, page, 2)
	assert.Equal(t, []int64{third.ID, second.ID}, []int64{page[0].ID, page[1].ID}, "newest first")
	page, err = c.Callbacks(ctx, page[1].ID, 2)
	require.NoError(t, err)
	require.Len(t, page, 1)
	got := page[0]
	assert.Equal(t, first.ID, got.ID)
	assert.Equal(t, outbox.CallbackDone, got.State)
	assert.True(t, done.DoneAt.Equal(got.Outcome.DoneAt))
	got.Outcome.DoneAt = done.DoneAt
	assert.Equal(t, done, got.Outcome)
	assert.Equal(t, first.Raw, got.Raw)
	page, err = c.Callbacks(ctx, first.ID, 2)
	require.NoError(t, err)
	assert.Empty(t, page)
}

func pruneChatops(t *testing.T, s outbox.Store, c outbox.ChatOps) {
	ctx := context.Background()
	old, recent := T0, T0.Add(48*time.Hour)
	for _, e := range []*outbox.Accepted{Event("old", "", old, "wxid_a"), Event("new", "", recent, "wxid_a")} {
		e.Messages[0].Alerts = []event.AlertRef{Alert("f"+e.EventID, e.EventID)}
		require.NoError(t, s.Accept(ctx, e, time.Time{}))
	}
	due, err := s.Due(ctx, Account, recent, 10)
	require.NoError(t, err)
	require.Len(t, due, 2)
	require.NoError(t, s.Sent(ctx, []int64{due[0].ID}, old))
	require.NoError(t, s.Sent(ctx, []int64{due[1].ID}, recent))
	require.NoError(t, c.SentAs(ctx, Account, newMsgA, []int64{due[0].ID}, old))
	require.NoError(t, c.SentAs(ctx, Account, newMsgB, []int64{due[1].ID}, recent))

	var cbs []*outbox.Callback
	for i, at := range []time.Time{old, old, recent} {
		cb := &outbox.Callback{Source: "wechat", AppID: Account, NewMsgID: int64(i + 1), ReceivedAt: at, Raw: []byte("{}")}
		require.NoError(t, c.AcceptCallback(ctx, cb))
		cbs = append(cbs, cb)
	}
	require.NoError(t, c.CallbackDone(ctx, cbs[0].ID, outbox.Command{Result: "help"})) // old, done: pruned
	require.NoError(t, c.CallbackDone(ctx, cbs[2].ID, outbox.Command{Result: "help"})) // recent: kept

	n, err := s.Prune(ctx, old.Add(24*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	got, err := c.SentAlerts(ctx, Account, newMsgA)
	require.NoError(t, err)
	assert.Empty(t, got, "pruned with its message")
	got, err = c.SentAlerts(ctx, Account, newMsgB)
	require.NoError(t, err)
	assert.Len(t, got, 1)
	left, err := c.Callbacks(ctx, 0, 10)
	require.NoError(t, err)
	var ids []int64
	for _, cb := range left {
		ids = append(ids, cb.ID)
	}
	assert.Equal(t, []int64{cbs[2].ID, cbs[1].ID}, ids, "an old pending callback stays")
}
