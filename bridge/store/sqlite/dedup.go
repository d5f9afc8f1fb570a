package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"sync"
)

// dedupSet decides whether a de-duplication key was accepted within the
// window. It replaces a dedup table keyed by the key: keys are random, so
// every insert dirtied a different B-tree page, and those pages were about
// half of what each commit wrote to the WAL (BENCHMARKS.md).
//
// The record on disk is the event itself: every accepted event keeps its
// key and its time (events.dedup_key, received_at). In memory the set maps
// a 64-bit hash of the key to the newest event accepted with it, and a hit
// is confirmed by reading that event: a hash collision can make a new
// event look like a repeat only until the confirmation, so the worst it
// can do is let a duplicate through, never drop a new event.
//
// covered is what makes memory and disk agree: every key accepted at or
// after covered is in memory (or being committed). A window that starts
// before covered (at start, after the window was made longer by a reload,
// after a generation was dropped, after a commit whose outcome is unknown)
// first reads the keys of the missing stretch from the events.
//
// Entries are kept for the window (the longest one seen), in two
// generations: a generation older than the window is dropped whole, so
// nothing ever sweeps the map.
type dedupSet struct {
	seed maphash.Seed
	read *sql.Stmt // rdDedupKeys, on the read pool

	mu       sync.Mutex
	cur      generation
	prev     generation
	curStart int64 // unix ns; 0 until the first key
	keep     int64 // the longest window seen, ns
	covered  int64 // unix ns; math.MaxInt64 until the keys are read
	inflight map[uint64]chan struct{}

	// loaded is closed once Open's read of the window's keys is over (it
	// may have failed: then the first keyed Accept reads them).
	loaded chan struct{}
}

// generation is keys accepted over a stretch of time.
type generation struct {
	keys   map[uint64]int64 // key hash -> newest event id
	newest int64            // the latest acceptance time among them
}

func (g *generation) put(h uint64, event, at int64) {
	if old, ok := g.keys[h]; !ok || event > old {
		g.keys[h] = event
	}
	g.newest = max(g.newest, at)
}

func newDedupSet(read *sql.Stmt) *dedupSet {
	return &dedupSet{
		seed:     maphash.MakeSeed(),
		read:     read,
		cur:      generation{keys: map[uint64]int64{}},
		prev:     generation{keys: map[uint64]int64{}},
		covered:  math.MaxInt64,
		inflight: map[uint64]chan struct{}{},
		loaded:   make(chan struct{}),
	}
}

func (d *dedupSet) hash(key string) uint64 { return maphash.String(d.seed, key) }

// load reads the keys of the events received at or after since, at Open.
// After a storm the window can hold many keys: this runs while the
// service starts, and only keyed Accepts wait for it. A failure is not
// final: the first keyed Accept tries again.
func (d *dedupSet) load(ctx context.Context, since int64) {
	defer close(d.loaded)
	d.mu.Lock()
	defer d.mu.Unlock()
	_ = d.cover(ctx, since)
}

// cover makes the set hold every key accepted at or after since, reading
// from the events what it lacks. d.mu is held.
func (d *dedupSet) cover(ctx context.Context, since int64) error {
	if since >= d.covered {
		return nil
	}
	rows, err := d.read.QueryContext(ctx, since, d.covered)
	if err != nil {
		return fmt.Errorf("outbox: reading de-duplication keys: %w", err)
	}
	defer rows.Close()
	var key string
	var id, at int64
	for rows.Next() {
		if err := rows.Scan(&id, &key, &at); err != nil {
			return fmt.Errorf("outbox: reading de-duplication keys: %w", err)
		}
		d.cur.put(d.hash(key), id, at)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("outbox: reading de-duplication keys: %w", err)
	}
	d.covered = since
	return nil
}

// reservation is a key being committed. While it is held, Accept of the
// same key waits for its outcome instead of deciding on its own.
type reservation struct {
	d    *dedupSet
	h    uint64
	at   int64
	done chan struct{}
}

// reserve claims key for an Accept at now with the window starting at
// since. It returns the event last accepted with a key of the same hash
// (0 for none), to be confirmed by the caller, and waits while another
// Accept holds the key.
func (d *dedupSet) reserve(ctx context.Context, key string, now, since int64) (*reservation, int64, error) {
	select {
	case <-d.loaded:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	h := d.hash(key)
	for {
		d.mu.Lock()
		if wait, busy := d.inflight[h]; busy {
			d.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, 0, ctx.Err()
			}
		}
		d.rotate(now, since)
		if err := d.cover(ctx, since); err != nil {
			d.mu.Unlock()
			return nil, 0, err
		}
		last, ok := d.cur.keys[h]
		if !ok {
			last = d.prev.keys[h]
		}
		r := &reservation{d: d, h: h, at: now, done: make(chan struct{})}
		d.inflight[h] = r.done
		d.mu.Unlock()
		return r, last, nil
	}
}

// rotate starts a new generation once the current one is a window old; the
// one before it, older than the window, is dropped, and with it the
// guarantee for the times it held.
func (d *dedupSet) rotate(now, since int64) {
	if window := now - since; window > d.keep {
		d.keep = window
	}
	if d.curStart == 0 {
		d.curStart = now
		return
	}
	if now-d.curStart >= d.keep {
		if d.prev.newest >= d.covered {
			d.covered = d.prev.newest + 1
		}
		d.prev, d.cur = d.cur, generation{keys: make(map[uint64]int64, len(d.cur.keys))}
		d.curStart = now
	}
}

// outcome is how a reservation ended.
type outcome int

const (
	notCommitted outcome = iota // nothing of the event is stored
	committed                   // stored as the event given
	unknown                     // the commit failed, but may be on disk
)

// release ends the reservation.
func (r *reservation) release(o outcome, event int64) {
	d := r.d
	d.mu.Lock()
	switch o {
	case committed:
		d.cur.put(r.h, event, r.at)
	case unknown:
		// The key is not in memory but may be on disk: the windows that
		// reach back to it read it from there.
		if r.at >= d.covered {
			d.covered = r.at + 1
		}
	}
	delete(d.inflight, r.h)
	d.mu.Unlock()
	close(r.done)
}

// isRepeat reports whether event was accepted with key at or after since:
// the confirmation of a hit in the set, read through the read pool.
func (s *Store) isRepeat(ctx context.Context, event int64, key string, since int64) (bool, error) {
	if err := s.readLock(); err != nil {
		return false, err
	}
	defer s.mu.RUnlock()
	var got string
	var at int64
	err := s.rd[rdDedupEvent].QueryRowContext(ctx, event).Scan(&got, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // pruned
	}
	if err != nil {
		return false, err
	}
	return got == key && at >= since, nil
}
