package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/storetest"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

func acceptCallbacks(t *testing.T, s *Store, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		cb := &outbox.Callback{Source: "wechat", AppID: account, NewMsgID: 1<<60 + int64(i), ReceivedAt: t0, Raw: []byte("{}")}
		require.NoError(t, s.AcceptCallback(context.Background(), cb))
		ids = append(ids, cb.ID)
	}
	return ids
}

func callbackIDs(cbs []outbox.Callback) []int64 {
	out := make([]int64, len(cbs))
	for i, cb := range cbs {
		out[i] = cb.ID
	}
	return out
}

// A callback one replica's worker took is not another one's until the
// claim ends: then (the replica died) another replica takes it over. One
// replica asking again does not get its own claimed callbacks either.
func TestCallbackClaims(t *testing.T) {
	u := freshDB(t)
	ctx := context.Background()
	a := openAt(t, u, Options{CallbackLease: 500 * time.Millisecond})
	b := openAt(t, u, Options{})
	ids := acceptCallbacks(t, b, 3)

	got, err := a.PendingCallbacks(ctx, 2)
	require.NoError(t, err)
	assert.Equal(t, ids[:2], callbackIDs(got))
	got, err = a.PendingCallbacks(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, ids[2:], callbackIDs(got))
	got, err = b.PendingCallbacks(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, got, "claimed by a")

	// a dies with its callbacks claimed; b takes them over once the claim ends.
	require.NoError(t, a.CallbackDone(ctx, ids[1], outbox.Command{Result: "help"}))
	time.Sleep(700 * time.Millisecond)
	got, err = b.PendingCallbacks(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, []int64{ids[0], ids[2]}, callbackIDs(got), "oldest first, the done one not again")
	got, err = a.PendingCallbacks(ctx, 10)
	require.NoError(t, err)
	assert.Empty(t, got, "claimed by b for its default lease")

	// The outcome recorded by whoever finishes stands; the claim ends.
	require.NoError(t, b.CallbackDone(ctx, ids[0], outbox.Command{Result: "silenced"}))
	list, err := a.Callbacks(ctx, 0, 10)
	require.NoError(t, err)
	require.Len(t, list, 3)
	assert.Equal(t, outbox.CallbackPending, list[0].State)
	assert.Equal(t, "help", list[1].Outcome.Result)
	assert.Equal(t, "silenced", list[2].Outcome.Result)
}

// Replicas asking at once share the pending callbacks: each is taken by
// exactly one of them.
func TestCallbackClaimsConcurrent(t *testing.T) {
	u := freshDB(t)
	ctx := context.Background()
	replicas := make([]*Store, 4)
	for i := range replicas {
		replicas[i] = openAt(t, u, Options{})
	}
	ids := acceptCallbacks(t, replicas[0], 60)
	var mu sync.Mutex
	taken := map[int64]int{}
	var wg sync.WaitGroup
	for _, s := range replicas {
		for range 3 {
			wg.Go(func() {
				for {
					got, err := s.PendingCallbacks(ctx, 4)
					if !assert.NoError(t, err) || len(got) == 0 {
						return
					}
					mu.Lock()
					for _, cb := range got {
						taken[cb.ID]++
					}
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	require.Len(t, taken, len(ids))
	for _, id := range ids {
		assert.Equal(t, 1, taken[id], "callback %d", id)
	}
}

// A database at version 1 with messages in it is migrated to chat-ops;
// its messages stay, and new ones keep their alerts.
func TestMigrateToChatops(t *testing.T) {
	u := freshDB(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, migrations[0])
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `CREATE TABLE gewe_bridge_schema (version int NOT NULL); INSERT INTO gewe_bridge_schema VALUES (1)`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO events (event_id, source, event_name, received_at) VALUES ('old', 'alertmanager', 'firing', 1)`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO messages (event, account, rule, recipient, state, created_at, updated_at, next_at)
		SELECT id, $1, 'ops', 'wxid_a', 'pending', 1, 1, 1 FROM events`, account)
	require.NoError(t, err)

	s := openAt(t, u, Options{})
	var version int
	require.NoError(t, conn.QueryRow(ctx, `SELECT version FROM gewe_bridge_schema`).Scan(&version))
	assert.Equal(t, len(migrations), version)
	e := storetest.Event("new", "", t0, "wxid_b")
	e.Messages[0].Alerts = []event.AlertRef{storetest.Alert("f", "A")}
	require.NoError(t, s.Accept(ctx, e, time.Time{}))
	due, err := s.Due(ctx, account, t0, 10)
	require.NoError(t, err)
	require.Len(t, due, 2)
	assert.Equal(t, []string{"old", "new"}, []string{due[0].EventID, due[1].EventID})
	require.NoError(t, s.SentAs(ctx, account, 1<<62, storetest.IDs(due), t0))
	refs, err := s.SentAlerts(ctx, account, 1<<62)
	require.NoError(t, err)
	assert.Equal(t, e.Messages[0].Alerts, refs)
}
