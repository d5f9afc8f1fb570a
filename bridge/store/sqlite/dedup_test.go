package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
)

// A key whose hash collides with an accepted key is confirmed against the
// event and accepted: a collision never drops a new event.
func TestDedupHashCollisionIsNotADuplicate(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	window := 10 * time.Minute
	require.NoError(t, s.Accept(ctx, accepted("1", "key-a", t0, "wxid_a"), t0.Add(-window)))
	<-s.dedup.loaded
	s.dedup.mu.Lock()
	s.dedup.cur.keys[s.dedup.hash("key-b")] = s.dedup.cur.keys[s.dedup.hash("key-a")] // key-b now "collides"
	s.dedup.mu.Unlock()

	at := t0.Add(time.Second)
	require.NoError(t, s.Accept(ctx, accepted("2", "key-b", at, "wxid_a"), at.Add(-window)))
	assert.ErrorIs(t, s.Accept(ctx, accepted("3", "key-b", at, "wxid_a"), at.Add(-window)), outbox.ErrDuplicate)
}

// Keys are kept for the window and dropped a generation at a time: a storm
// of distinct keys does not stay in memory after it.
func TestDedupForgetsKeysPastTheWindow(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, Options{})
	window := time.Minute
	accept := func(key string, at time.Time) error {
		return s.Accept(ctx, accepted(key, key, at, "wxid_a"), at.Add(-window))
	}
	for i := range 100 {
		require.NoError(t, accept(fmt.Sprint("storm-", i), t0))
	}
	size := func() int {
		s.dedup.mu.Lock()
		defer s.dedup.mu.Unlock()
		return len(s.dedup.cur.keys) + len(s.dedup.prev.keys)
	}
	assert.Equal(t, 100, size())

	later := t0.Add(window)
	require.NoError(t, accept("later", later))
	assert.ErrorIs(t, accept("storm-1", later), outbox.ErrDuplicate, "at the window's edge: still a repeat")
	require.NoError(t, accept("much-later", later.Add(window)))
	assert.Equal(t, 2, size(), "the storm's generation is gone")
	require.NoError(t, accept("storm-2", later.Add(window)))
}

// A store written before the keys moved into memory (schema 2, with its
// dedup table) opens, and the keys of its recent events still count.
func TestMigrateFromDedupTable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "outbox.db")
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	for v := range 2 {
		require.NoError(t, migrateStep(ctx, db, v))
	}
	now := time.Now()
	_, err = db.Exec(`INSERT INTO events (event_id, source, event_name, dedup_key, received_at, raw)
		VALUES ('old', 'alertmanager', 'alert', 'k', ?, x'')`, now.Add(-time.Minute).UnixNano())
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO dedup (key, accepted_at) VALUES ('k', ?)`, now.Add(-time.Minute).UnixNano())
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := Open(path, Options{})
	require.NoError(t, err)
	defer s.Close()
	var version int
	require.NoError(t, s.rdb.QueryRow("PRAGMA user_version").Scan(&version))
	assert.Equal(t, len(migrations), version)
	assert.ErrorIs(t, s.Accept(ctx, accepted("again", "k", now, "wxid_a"), now.Add(-10*time.Minute)), outbox.ErrDuplicate)
	require.NoError(t, s.Accept(ctx, accepted("new", "k2", now, "wxid_a"), now.Add(-10*time.Minute)))
}

// Keys that left memory are read back from the events when a window
// reaches back to them: after a reload made the window longer, for a
// webhook that read the clock before a rotation, after a failed read at
// start, and after a commit whose outcome is unknown.
func TestDedupReadsBackWhatMemoryDropped(t *testing.T) {
	ctx := context.Background()
	const w = 10 * time.Minute
	accept := func(s *Store, key string, at time.Time, window time.Duration) error {
		return s.Accept(ctx, accepted(key, key, at, "wxid_a"), at.Add(-window))
	}
	t.Run("window made longer", func(t *testing.T) {
		s := openStore(t, Options{})
		require.NoError(t, accept(s, "K", t0, time.Minute))
		require.NoError(t, accept(s, "x", t0.Add(time.Minute), time.Minute))
		require.NoError(t, accept(s, "y", t0.Add(2*time.Minute), time.Minute)) // K's generation is gone
		assert.ErrorIs(t, accept(s, "K", t0.Add(3*time.Minute), time.Hour), outbox.ErrDuplicate)
	})
	t.Run("clock read before a rotation", func(t *testing.T) {
		s := openStore(t, Options{})
		require.NoError(t, accept(s, "a", t0, w))
		require.NoError(t, accept(s, "K", t0.Add(w-time.Millisecond), w))
		require.NoError(t, accept(s, "b", t0.Add(w), w))
		require.NoError(t, accept(s, "c", t0.Add(2*w), w)) // drops the generation holding K
		assert.ErrorIs(t, accept(s, "K", t0.Add(2*w-2*time.Millisecond), w), outbox.ErrDuplicate)
	})
	t.Run("read at start failed", func(t *testing.T) {
		s := openStore(t, Options{})
		require.NoError(t, accept(s, "K", t0, w))
		<-s.dedup.loaded
		s.dedup.mu.Lock()
		s.dedup.cur, s.dedup.prev = generation{keys: map[uint64]int64{}}, generation{keys: map[uint64]int64{}}
		s.dedup.covered = math.MaxInt64 // as after a failed read at Open
		s.dedup.mu.Unlock()
		assert.ErrorIs(t, accept(s, "K", t0.Add(time.Second), w), outbox.ErrDuplicate)
	})
	t.Run("commit outcome unknown", func(t *testing.T) {
		s := openStore(t, Options{})
		require.NoError(t, accept(s, "a", t0, w))
		// K reaches the disk, but its Accept heard the commit fail.
		a := accepted("K", "K", t0.Add(time.Second), "wxid_a")
		r, _, err := s.dedup.reserve(ctx, "K", a.ReceivedAt.UnixNano(), a.ReceivedAt.Add(-w).UnixNano())
		require.NoError(t, err)
		_, err = s.submitAccept(ctx, a, a.ReceivedAt.UnixNano(), nil, []string{""}, []any{"hello", ""})
		require.NoError(t, err)
		r.release(unknown, 0)
		at := t0.Add(2 * time.Second)
		assert.ErrorIs(t, accept(s, "K", at, w), outbox.ErrDuplicate, "the sender's retry after the 503")
	})
}
