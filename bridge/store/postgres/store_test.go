package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/storetest"
)

var t0 = storetest.T0

const account = storetest.Account

// freshDB returns the URL of an empty schema of the test database (its
// search_path), dropped at the end of the test.
func freshDB(t testing.TB) string {
	t.Helper()
	base := storetest.PostgresURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	require.NoError(t, err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openAt(t *testing.T, url string, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// benchDB is freshDB for a benchmark.
func benchDB(b *testing.B) string { return freshDB(b) }

func openStore(t *testing.T) *Store { return openAt(t, freshDB(t), Options{}) }

// TestStore runs the table every store passes (the SQLite one too).
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) outbox.Store { return openStore(t) })
}

// Replicas starting at once migrate once: the others wait for the lock and
// find the schema up to date.
func TestConcurrentMigrations(t *testing.T) {
	u := freshDB(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := Open(context.Background(), u, Options{})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	u := freshDB(t)
	s := openAt(t, u, Options{})
	_, err := s.pool.Exec(context.Background(), `UPDATE gewe_bridge_schema SET version = 99`)
	require.NoError(t, err)
	_, err = Open(context.Background(), u, Options{})
	assert.ErrorContains(t, err, "newer")
}

func TestBadURLDoesNotRepeatIt(t *testing.T) {
	_, err := Open(context.Background(), "postgres://u:s3cret@host:notaport/db", Options{})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
}

// A delivery given to two replicas (two stores on one database) is stored
// once, however the two race.
func TestDedupAcrossReplicas(t *testing.T) {
	u := freshDB(t)
	a, b := openAt(t, u, Options{}), openAt(t, u, Options{})
	ctx := context.Background()
	for round := range 10 {
		key := fmt.Sprint("k", round)
		var errA, errB error
		var wg sync.WaitGroup
		wg.Go(func() { errA = a.Accept(ctx, storetest.Event("a", key, t0, "wxid_a"), t0.Add(-time.Hour)) })
		wg.Go(func() { errB = b.Accept(ctx, storetest.Event("b", key, t0, "wxid_a"), t0.Add(-time.Hour)) })
		wg.Wait()
		if errA == nil {
			assert.ErrorIs(t, errB, outbox.ErrDuplicate, "round %d", round)
		} else {
			assert.ErrorIs(t, errA, outbox.ErrDuplicate, "round %d", round)
			assert.NoError(t, errB, "round %d", round)
		}
	}
	all, err := b.List(ctx, outbox.ListFilter{Limit: 500})
	require.NoError(t, err)
	assert.Len(t, all, 10, "every replica lists the whole cluster's messages")
}

// Odd bytes from a hostile request are stored (bodies exactly; names made
// valid text) instead of failing the batch they share with others.
func TestHostileBytes(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	a := storetest.Event("id\x00\xff", "key\x00", t0, "wxid_a")
	a.Messages[0].Text = "nul \x00 and \xff"
	require.NoError(t, s.Accept(ctx, a, time.Time{}))
	due, err := s.Due(ctx, account, t0, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	assert.Equal(t, a.Messages[0].Text, due[0].Message.Text)
	assert.Equal(t, "id\uFFFD\uFFFD", due[0].EventID)
}

func TestLease(t *testing.T) {
	u := freshDB(t)
	a, b := openAt(t, u, Options{}), openAt(t, u, Options{})
	ctx := context.Background()
	const ttl = 300 * time.Millisecond

	la, ok, err := a.Acquire(ctx, account, "replica-a", ttl)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = b.Acquire(ctx, account, "replica-b", ttl)
	require.NoError(t, err)
	assert.False(t, ok, "held by a")
	again, ok, err := a.Acquire(ctx, account, "replica-a", ttl)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, la.Token, again.Token, "a renewal keeps the token")
	other, ok, err := b.Acquire(ctx, "wx_app_2", "replica-b", ttl)
	require.NoError(t, err)
	assert.True(t, ok, "one lease per account")

	// a dies: its lease expires and b takes over, with a greater token.
	time.Sleep(ttl + 50*time.Millisecond)
	lb, ok, err := b.Acquire(ctx, account, "replica-b", ttl)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Greater(t, lb.Token, la.Token)
	assert.Greater(t, lb.Token, other.Token)

	// a's claims are fenced off from now on.
	require.NoError(t, a.Accept(ctx, storetest.Event("e", "", t0, "wxid_a"), time.Time{}))
	due, err := a.Due(ctx, account, t0, 10)
	require.NoError(t, err)
	_, err = a.Claim(ctx, la, storetest.IDs(due), t0, time.Second)
	assert.ErrorIs(t, err, outbox.ErrLeaseLost)
	got, err := b.Claim(ctx, lb, storetest.IDs(due), t0, time.Second)
	require.NoError(t, err)
	assert.Equal(t, storetest.IDs(due), got)

	// A claim holds the lease for the send: b keeps it past ttl.
	time.Sleep(ttl + 50*time.Millisecond)
	_, ok, err = a.Acquire(ctx, account, "replica-a", ttl)
	require.NoError(t, err)
	assert.False(t, ok, "the claim extended b's lease to cover its send")

	// A clean stop hands over at once.
	require.NoError(t, b.Release(ctx, lb))
	lc, ok, err := a.Acquire(ctx, account, "replica-c", ttl)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Greater(t, lc.Token, lb.Token)

	// b's claimed message was in flight when b let go: an orphan for c.
	orphans, err := a.Orphans(ctx, lc)
	require.NoError(t, err)
	assert.Equal(t, storetest.IDs(due), storetest.IDs(orphans))
	require.NoError(t, a.Retry(ctx, storetest.IDs(orphans), outbox.Attempt{At: t0, Error: "in flight"}, t0))
	orphans, err = a.Orphans(ctx, lc)
	require.NoError(t, err)
	assert.Empty(t, orphans, "a retry ends the claim")
}

func TestRecentSends(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	require.NoError(t, s.Accept(ctx, storetest.Event("e", "", t0, "g@chatroom", "g@chatroom", "wxid_b", "wxid_c", "wxid_d"), time.Time{}))
	due, err := s.Due(ctx, account, t0, 10)
	require.NoError(t, err)
	id := storetest.IDs(due)
	// Two messages coalesced into one call, a failed call, one in flight,
	// one pending, and an old send outside the window.
	require.NoError(t, s.Sent(ctx, id[0:2], t0.Add(10*time.Second)))
	require.NoError(t, s.Retry(ctx, id[2:3], outbox.Attempt{At: t0.Add(20 * time.Second), Error: "x"}, t0.Add(time.Hour)))
	l, ok, err := s.Acquire(ctx, account, "h", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = s.Claim(ctx, l, id[3:4], t0.Add(30*time.Second), time.Second)
	require.NoError(t, err)

	sends, err := s.RecentSends(ctx, account, t0.Add(5*time.Second))
	require.NoError(t, err)
	want := []outbox.Send{
		{To: "g@chatroom", At: t0.Add(10 * time.Second)},
		{To: "wxid_b", At: t0.Add(20 * time.Second)},
		{To: "wxid_c", At: t0.Add(30 * time.Second)},
	}
	require.Len(t, sends, len(want))
	for i := range want {
		assert.Equal(t, want[i].To, sends[i].To)
		assert.True(t, want[i].At.Equal(sends[i].At), "send %d at %s", i, sends[i].At)
	}
}

// A commit on one replica wakes the others (LISTEN/NOTIFY).
func TestWakeups(t *testing.T) {
	u := freshDB(t)
	a, b := openAt(t, u, Options{}), openAt(t, u, Options{})
	ctx := context.Background()
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		// The listener connects in the background: until it listens, a
		// notification is not for it.
		require.NoError(t, a.Accept(ctx, storetest.Event(fmt.Sprint(i), "", t0, "wxid_a"), time.Time{}))
		select {
		case acct := <-b.Wakeups():
			assert.Equal(t, account, acct)
			return
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no wake-up within 10s")
		}
	}
}

// When the database cannot take the webhook, Accept fails (the intake answers 503) and
// acknowledges nothing; Ping fails too (not ready).
func TestDatabaseGone(t *testing.T) {
	u := freshDB(t)
	s := openAt(t, u, Options{WriteTimeout: 2 * time.Second})
	ctx := context.Background()
	require.NoError(t, s.Accept(ctx, storetest.Event("before", "", t0, "wxid_a"), time.Time{}))
	// The tables the webhook's transaction writes are away.
	admin, err := pgx.Connect(ctx, u)
	require.NoError(t, err)
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, `ALTER TABLE messages RENAME TO messages_away`)
	require.NoError(t, err)
	err = s.Accept(ctx, storetest.Event("during", "", t0, "wxid_a"), time.Time{})
	assert.Error(t, err)
	assert.NotErrorIs(t, err, outbox.ErrDuplicate)
	_, err = admin.Exec(ctx, `ALTER TABLE messages_away RENAME TO messages`)
	require.NoError(t, err)
	require.NoError(t, s.Accept(ctx, storetest.Event("after", "", t0, "wxid_a"), time.Time{}))
	all, err := s.List(ctx, outbox.ListFilter{})
	require.NoError(t, err)
	var events []string
	for _, q := range all {
		events = append(events, q.EventID)
	}
	assert.ElementsMatch(t, []string{"before", "after"}, events)
}
