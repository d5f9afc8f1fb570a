package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"hash/maphash"
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
// Entries are kept for the window (the longest one seen), in two
// generations: a generation older than the window is dropped whole, so
// nothing ever sweeps the map.
type dedupSet struct {
	seed maphash.Seed

	mu       sync.Mutex
	cur      map[uint64]int64 // key hash -> event id, accepted since curStart
	prev     map[uint64]int64 // the generation before cur
	curStart int64            // unix ns; 0 until the first key
	keep     int64            // the longest window seen, ns
	inflight map[uint64]chan struct{}

	// loaded is closed once the keys of the window before Open are in the
	// set; Accept of a keyed event waits for it.
	loaded  chan struct{}
	loadErr error
}

func newDedupSet() *dedupSet {
	return &dedupSet{
		seed:     maphash.MakeSeed(),
		cur:      map[uint64]int64{},
		inflight: map[uint64]chan struct{}{},
		loaded:   make(chan struct{}),
	}
}

func (d *dedupSet) hash(key string) uint64 { return maphash.String(d.seed, key) }

// load fills the set with the keys of events received at or after since,
// reading through the read pool, and then opens it to Accept.
func (d *dedupSet) load(ctx context.Context, db *sql.DB, since int64) {
	defer close(d.loaded)
	rows, err := db.QueryContext(ctx, `SELECT id, dedup_key FROM events
		WHERE received_at >= ? AND dedup_key != '' ORDER BY id`, since)
	if err != nil {
		d.loadErr = err
		return
	}
	defer rows.Close()
	d.mu.Lock()
	defer d.mu.Unlock()
	var key string
	var id int64
	for rows.Next() {
		if err := rows.Scan(&id, &key); err != nil {
			d.loadErr = err
			return
		}
		d.cur[d.hash(key)] = id // ORDER BY id: the newest event wins
	}
	d.loadErr = rows.Err()
}

// errLoading answers Accept when the keys could not be read at Open.
var errLoading = errors.New("outbox: reading the de-duplication keys failed")

// reservation is a key being committed. While it is held, Accept of the
// same key waits for its outcome instead of deciding on its own.
type reservation struct {
	d    *dedupSet
	h    uint64
	done chan struct{}
}

// reserve claims key for an Accept at now with the window starting at
// since. It returns the event last accepted with a key of the same hash
// (0 for none), to be confirmed by the caller, and waits while another
// Accept holds the key.
func (d *dedupSet) reserve(ctx context.Context, key string, now, since int64) (*reservation, int64, error) {
	select {
	case <-d.loaded:
		if d.loadErr != nil {
			return nil, 0, errLoading
		}
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
		last, ok := d.cur[h]
		if !ok {
			last = d.prev[h]
		}
		r := &reservation{d: d, h: h, done: make(chan struct{})}
		d.inflight[h] = r.done
		d.mu.Unlock()
		return r, last, nil
	}
}

// rotate starts a new generation once the current one is a window old; the
// one before it, older than the window, is dropped.
func (d *dedupSet) rotate(now, since int64) {
	if window := now - since; window > d.keep {
		d.keep = window
	}
	if d.curStart == 0 {
		d.curStart = now
		return
	}
	if now-d.curStart >= d.keep {
		d.prev, d.cur = d.cur, make(map[uint64]int64, len(d.cur))
		d.curStart = now
	}
}

// release ends the reservation: event is the id the key was committed
// with, or 0 when nothing was committed.
func (r *reservation) release(event int64) {
	d := r.d
	d.mu.Lock()
	if event > 0 {
		d.cur[r.h] = event
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
