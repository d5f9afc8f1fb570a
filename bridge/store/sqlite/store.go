// Package sqlite is the embedded outbox.Outbox: one SQLite file in WAL mode,
// written by a single goroutine that commits concurrent requests together
// (group commit), read through a small pool of read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/codec"
)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("outbox closed")

var _ outbox.Store = (*Store)(nil)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// BatchMax is the most write requests committed in one transaction
	// (one fsync). Default 256.
	BatchMax int
	// BusyTimeout is how long a connection waits for a lock held by
	// another process (a backup, the sqlite3 shell). Default 5s.
	BusyTimeout time.Duration
	// ReadConns is the size of the read connection pool. Default 4.
	ReadConns int
	// PruneChunk is how many rows of each kind Prune deletes per
	// transaction, so that it never holds the writer for long. Default 500.
	PruneChunk int
	// DedupWindow is how far back Open reads the de-duplication keys of
	// the events already accepted: the dedup.window of the config.
	// Default 10m.
	DedupWindow time.Duration
	// CheckTimeout bounds the integrity check of Open (PRAGMA
	// quick_check, about 70 ms for 100k messages); past it the check is
	// given up, not failed. Default 5s.
	CheckTimeout time.Duration

	// beforeCommit, when set (tests only), runs before each commit with the
	// number of requests in the batch; an error fails the batch instead of
	// committing it.
	beforeCommit func(n int) error
}

func (o *Options) setDefaults() {
	if o.BatchMax <= 0 {
		o.BatchMax = 256
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.PruneChunk <= 0 {
		o.PruneChunk = 500
	}
	if o.DedupWindow <= 0 {
		o.DedupWindow = 10 * time.Minute
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 5 * time.Second
	}
}

// Store is the SQLite outbox. It is safe for concurrent use.
type Store struct {
	opts Options
	w    *writer
	rdb  *sql.DB
	rd   [numReadStmts]*sql.Stmt
	// dedup holds the de-duplication keys of the window (dedup.go).
	dedup *dedupSet
	// integrity is the outcome of the integrity check Open starts
	// (Integrity), set before checked is closed. The check reads the
	// whole file (a second for a store of 600 MB): not before serving.
	integrity error
	checked   chan struct{}

	// mu guards closed. Callers hold it for reading while they hand a
	// request to the writer or run a read, so Close (which takes it for
	// writing) knows nobody is still about to use what it closes.
	mu     sync.RWMutex
	closed bool
}

// Open opens (creating it and its directory if needed) the database at
// path, brings its schema up to date and starts the writer.
func Open(path string, opts Options) (*Store, error) {
	opts.setDefaults()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("outbox path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("create outbox directory: %w", err)
	}
	ctx := context.Background()

	wdb, err := openDB(abs, opts, false)
	if err != nil {
		return nil, err
	}
	if err := checkWAL(ctx, wdb); err != nil {
		wdb.Close()
		return nil, err
	}
	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("outbox %s: %w", abs, err)
	}
	w, err := startWriter(wdb, opts)
	if err != nil {
		wdb.Close()
		return nil, err
	}

	rdb, err := openDB(abs, opts, true)
	if err != nil {
		w.stop()
		return nil, err
	}
	s := &Store{opts: opts, w: w, rdb: rdb, checked: make(chan struct{})}
	go func() {
		s.integrity = quickCheck(rdb, opts.CheckTimeout)
		close(s.checked)
	}()
	for i, q := range readSQL {
		if s.rd[i], err = rdb.PrepareContext(ctx, q); err != nil {
			rdb.Close()
			w.stop()
			return nil, fmt.Errorf("prepare read statement %d: %w", i, err)
		}
	}
	s.dedup = newDedupSet(s.rd[rdDedupKeys])
	go s.dedup.load(ctx, time.Now().Add(-opts.DedupWindow).UnixNano())
	return s, nil
}

// openDB opens the writer (one connection) or the read pool. The pragmas go
// in the DSN so that a connection database/sql reopens gets them too.
func openDB(abs string, opts Options, readOnly bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		// FULL: a commit is on disk (WAL fsynced) before Accept returns.
		// NORMAL can lose the last commits on power loss.
		q.Add("_pragma", "synchronous(FULL)")
		// Savepoint journals stay in memory instead of temp files.
		q.Add("_pragma", "temp_store(MEMORY)")
		// 4 MiB of page cache (SQLite's default is 2 MiB): the writer
		// appends, so it needs the B-trees' last pages and their parents.
		// (16 MiB served a dedup table keyed by random keys, now gone.)
		q.Add("_pragma", "cache_size(-4096)")
		// Cap the WAL file left behind after a checkpoint (64 MiB).
		q.Add("_pragma", "journal_size_limit(67108864)")
		// The writer takes the write lock when the transaction begins, so
		// it fails early (busy_timeout) rather than at its first insert.
		q.Set("_txlock", "immediate")
	}
	// A file: URI with an escaped path, so names with '?' or '#' work.
	dsn := (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open outbox %s: %w", abs, err)
	}
	n := 1
	if readOnly {
		n = opts.ReadConns
	}
	// Connections are never recycled: their prepared statements live on them.
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open outbox %s: %w", abs, err)
	}
	return db, nil
}

// checkWAL fails when the file could not be put in WAL mode (some network
// file systems): without it readers would block the writer.
func checkWAL(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("outbox: journal_mode is %q, want wal", mode)
	}
	return nil
}

// Close stops taking requests, lets the writer commit what it was already
// given, checkpoints the WAL into the database file and closes it. Every
// call after the first returns ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()

	err := s.rdb.Close() // readers first: a TRUNCATE checkpoint waits for them
	return errors.Join(err, s.w.stop())
}

// quickCheck runs PRAGMA quick_check, which reads every page of the file
// (not the index contents: integrity_check takes three times as long), so
// that a page corrupted in the middle of the file is found at start, not
// by the webhook or the send that reads it. It returns nil, an error
// wrapping outbox.ErrCorrupt, or the error of a check that could not run
// or finish within timeout.
func quickCheck(db *sql.DB, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// At most 5 problems: the first say enough, and a badly damaged file
	// would list thousands.
	rows, err := db.QueryContext(ctx, "PRAGMA quick_check(5)")
	if err != nil {
		return checkFailed(ctx, timeout, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return checkFailed(ctx, timeout, err)
		}
		// One row may hold several lines, the first naming the database.
		line = strings.TrimPrefix(line, "*** in database main ***\n")
		problems = append(problems, strings.ReplaceAll(line, "\n", "; "))
	}
	if err := rows.Err(); err != nil {
		return checkFailed(ctx, timeout, err)
	}
	if len(problems) == 1 && problems[0] == "ok" {
		return nil
	}
	return fmt.Errorf("%w: %s", outbox.ErrCorrupt, strings.Join(problems, "; "))
}

// checkFailed is the error of a quick_check that did not finish. SQLite
// reports some damage as an error of the query itself.
func checkFailed(ctx context.Context, timeout time.Duration, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("integrity check not finished within %s: skipped", timeout)
	}
	if strings.Contains(err.Error(), "malformed") || strings.Contains(err.Error(), "corrupt") {
		return fmt.Errorf("%w: %v", outbox.ErrCorrupt, err)
	}
	return fmt.Errorf("integrity check: %w", err)
}

// Integrity waits for the integrity check Open started and returns its
// outcome: nil, an error wrapping outbox.ErrCorrupt, or why the check
// could not tell.
func (s *Store) Integrity() error {
	<-s.checked
	return s.integrity
}

// Ping reports whether the store can be written: it commits a one-row write
// through the writer (sharing the commit of concurrent requests). A store
// that failed its integrity check at Open is never ready.
func (s *Store) Ping(ctx context.Context) error {
	select {
	case <-s.checked:
		if errors.Is(s.integrity, outbox.ErrCorrupt) {
			return s.integrity
		}
	default: // still checking: writable is all that is known
	}
	return s.submit(ctx, func(t *wtx) error {
		_, err := t.exec(stPing, time.Now().UnixNano())
		return err
	})
}

// Stats are counters of the writer since Open.
type Stats struct {
	Commits       uint64 // transactions committed
	FailedCommits uint64 // batches rolled back as a whole
	Requests      uint64 // write requests that were part of a committed batch
	MaxBatch      int    // most requests in one committed transaction
}

// Stats returns the writer's counters.
func (s *Store) Stats() Stats { return s.w.stats() }

// CommitCounts returns the commits and the requests they held, for the
// metrics.
func (s *Store) CommitCounts() (commits, writes uint64) {
	st := s.w.stats()
	return st.Commits, st.Requests
}

// readLock holds the store open for a read; release with s.mu.RUnlock.
func (s *Store) readLock() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// A message's text and card XML above compressMin bytes are stored
// compressed like payloads, as a BLOB; shorter ones, and every one written
// before, are TEXT. An alert's text compresses to about 60% (the same
// links in every alert) for half a microsecond.
const compressMin = 128

func encodeBody(s string) any {
	if len(s) < compressMin {
		return s
	}
	return codec.Raw([]byte(s))
}

func decodeBody(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case []byte:
		b, err := codec.ParseRaw(v)
		return string(b), err
	}
	return "", fmt.Errorf("stored message text is a %T", v)
}
