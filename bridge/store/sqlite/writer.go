package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// The writer is the only goroutine that writes. Callers hand it requests;
// it takes every request waiting (up to BatchMax), applies them in one
// transaction and commits once, so concurrent webhooks share one fsync.
// While it commits, the next batch queues up in the channel.
type writer struct {
	db      *sql.DB // one connection
	stmts   [numWriteStmts]*sql.Stmt
	reqs    chan *request
	stopped chan struct{}
	max     int
	hook    func(n int) error

	closeOnce sync.Once
	closeErr  error

	commits, failed, requests atomic.Uint64
	maxBatch                  atomic.Int64
}

// request is one write. apply runs inside the batch transaction. Only an
// isolated request runs within a savepoint of its own, so that its error is
// its alone; any other request's error rolls back the whole batch. Most
// requests can only fail when the database does, and the two statements of
// a savepoint per request were ~6% of the writer's time.
type request struct {
	ctx      context.Context
	apply    func(t *wtx) error
	isolated bool
	state    atomic.Int32 // queued -> claimed by the writer, or -> cancelled by the caller
	done     chan error   // buffered: the writer never waits for the caller
}

const (
	queued int32 = iota
	claimed
	cancelled
)

func startWriter(db *sql.DB, opts Options) (*writer, error) {
	w := &writer{
		db:      db,
		reqs:    make(chan *request, opts.BatchMax),
		stopped: make(chan struct{}),
		max:     opts.BatchMax,
		hook:    opts.beforeCommit,
	}
	// Prepared on the DB, not on a sql.Conn: tx.StmtContext reuses a DB
	// statement already prepared on the transaction's connection, but
	// re-prepares a Conn statement in every transaction.
	for i, q := range writeSQL {
		st, err := db.PrepareContext(context.Background(), q)
		if err != nil {
			w.closeStmts()
			return nil, fmt.Errorf("prepare write statement %d: %w", i, err)
		}
		w.stmts[i] = st
	}
	go w.run()
	return w, nil
}

// submit hands apply to the writer and waits for the outcome: nil once the
// transaction that applied it is committed, or the batch's error (then
// nothing of the batch was committed; an error of apply is the batch's
// error). When ctx ends before the writer has started on the request, the
// request is dropped and ctx.Err() returned; once started, its outcome is
// waited for, so a nil error always means committed.
func (s *Store) submit(ctx context.Context, apply func(t *wtx) error) error {
	return s.send(ctx, &request{ctx: ctx, apply: apply})
}

// submitIsolated is submit for a request that can fail on its own (a
// message that is not there): apply runs in a savepoint, and its error is
// the request's alone, leaving nothing of it behind while the rest of the
// batch commits.
func (s *Store) submitIsolated(ctx context.Context, apply func(t *wtx) error) error {
	return s.send(ctx, &request{ctx: ctx, apply: apply, isolated: true})
}

func (s *Store) send(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.done = make(chan error, 1)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.w.reqs <- r:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()

	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		if r.state.CompareAndSwap(queued, cancelled) {
			return ctx.Err() // the writer will skip it
		}
		return <-r.done // being applied: its outcome stands
	}
}

func (w *writer) run() {
	defer close(w.stopped)
	batch := make([]*request, 0, w.max)
	errs := make([]error, w.max)
	for r := range w.reqs {
		batch = append(batch[:0], r)
	drain:
		for len(batch) < w.max {
			select {
			case r, ok := <-w.reqs:
				if !ok {
					break drain // closed: commit this batch, then the range ends
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		w.commit(batch, errs[:len(batch)])
		clear(batch) // let the requests be collected
	}
}

// commit applies batch in one transaction and answers every request.
func (w *writer) commit(batch []*request, errs []error) {
	applied, err := w.apply(batch, errs)
	if err != nil {
		w.failed.Add(1)
	} else if applied > 0 {
		w.commits.Add(1)
		w.requests.Add(uint64(applied))
		if int64(applied) > w.maxBatch.Load() {
			w.maxBatch.Store(int64(applied))
		}
	}
	for i, r := range batch {
		if err != nil {
			r.done <- err // nothing of the batch is committed
		} else {
			r.done <- errs[i]
		}
	}
}

// errCommit marks a failed COMMIT: unlike a failure before it (rolled
// back), the batch may be on disk all the same (an I/O error reported
// after the WAL was written).
var errCommit = errors.New("commit")

// errAbandoned answers a request whose caller gave up before it was
// applied; nobody reads it.
var errAbandoned = errors.New("abandoned")

// apply runs the batch's transaction and returns how many requests it
// applied. A non-nil error means the transaction was rolled back.
func (w *writer) apply(batch []*request, errs []error) (int, error) {
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		return 0, fmt.Errorf("outbox: begin: %w", err)
	}
	t := &wtx{tx: tx, w: w}
	applied := 0
	for i, r := range batch {
		if !r.state.CompareAndSwap(queued, claimed) {
			errs[i] = errAbandoned
			continue
		}
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		reqErr, fatal := t.applyOne(r)
		if fatal != nil {
			_ = tx.Rollback()
			return 0, fmt.Errorf("outbox: %w", fatal)
		}
		errs[i] = reqErr
		applied++
	}
	if applied == 0 {
		return 0, tx.Rollback()
	}
	if w.hook != nil {
		if err := w.hook(applied); err != nil {
			_ = tx.Rollback()
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		// database/sql forgets the transaction even when SQLite kept it
		// open (SQLITE_BUSY on commit): make sure it is gone.
		_, _ = w.db.ExecContext(context.Background(), "ROLLBACK")
		return 0, fmt.Errorf("outbox: %w: %w", errCommit, err)
	}
	return applied, nil
}

// stop waits for the writer to finish the requests it was given, then
// checkpoints the WAL and closes the connection. The caller has made sure no
// request is being submitted any more.
func (w *writer) stop() error {
	w.closeOnce.Do(func() {
		close(w.reqs)
		<-w.stopped
		_, err := w.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
		if err != nil {
			err = fmt.Errorf("outbox: checkpoint: %w", err)
		}
		w.closeStmts()
		w.closeErr = errors.Join(err, w.db.Close())
	})
	return w.closeErr
}

func (w *writer) closeStmts() {
	for _, st := range w.stmts {
		if st != nil {
			st.Close()
		}
	}
}

func (w *writer) stats() Stats {
	return Stats{
		Commits:       w.commits.Load(),
		FailedCommits: w.failed.Load(),
		Requests:      w.requests.Load(),
		MaxBatch:      int(w.maxBatch.Load()),
	}
}

// wtx is the batch transaction as the requests see it.
type wtx struct {
	tx    *sql.Tx
	w     *writer
	stmts [numWriteStmts]*sql.Stmt // the writer's statements bound to tx, on first use
}

func (t *wtx) stmt(i int) *sql.Stmt {
	if t.stmts[i] == nil {
		t.stmts[i] = t.tx.StmtContext(context.Background(), t.w.stmts[i])
	}
	return t.stmts[i]
}

// exec runs a writer statement. The batch does not take any request's
// context: one caller giving up must not interrupt the others' commit.
func (t *wtx) exec(i int, args ...any) (sql.Result, error) {
	return t.stmt(i).ExecContext(context.Background(), args...)
}

// applyOne applies r. An isolated request runs inside a savepoint, so that
// failing half-way it leaves nothing behind while the rest of the batch
// still commits. fatal is set when the batch must be rolled back: the
// transaction is broken, or a request that is not isolated failed.
func (t *wtx) applyOne(r *request) (reqErr, fatal error) {
	if !r.isolated {
		return nil, r.apply(t)
	}
	if _, err := t.exec(stSavepoint); err != nil {
		return nil, err
	}
	if err := r.apply(t); err != nil {
		if _, rerr := t.exec(stRollbackTo); rerr != nil {
			return nil, fmt.Errorf("%w (rolling back to savepoint: %w)", err, rerr)
		}
		if _, rerr := t.exec(stRelease); rerr != nil {
			return nil, rerr
		}
		return err, nil
	}
	if _, err := t.exec(stRelease); err != nil {
		return nil, err
	}
	return nil, nil
}
