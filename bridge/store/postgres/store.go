// Package postgres is the outbox.Store that several replicas share: one
// PostgreSQL database, written through a pgx pool. Concurrent webhooks are
// committed together (group commit, as the SQLite store does), a unique key
// with ON CONFLICT makes a redelivery to any replica a duplicate, and a
// lease row with a fencing token (outbox.Cluster, lease.go) gives each GeWe
// account one sender in the whole cluster.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
)

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("outbox closed")

var (
	_ outbox.Store   = (*Store)(nil)
	_ outbox.Cluster = (*Store)(nil)
)

// Options tune a Store. The zero value is ready to use.
type Options struct {
	// BatchMax is the most webhooks committed in one transaction. Default 256.
	BatchMax int
	// Writers is how many transactions of webhooks may be in flight at
	// once: while one commits, the next fills. Default 2.
	Writers int
	// MaxConns is the size of the pool. Default 8.
	MaxConns int32
	// WriteTimeout bounds one transaction. Default 10s.
	WriteTimeout time.Duration
	// PruneChunk is how many rows of each kind Prune deletes per
	// transaction. Default 500.
	PruneChunk int
	// CallbackLease is how long a chat-ops callback PendingCallbacks
	// returned stays claimed by this replica: no other replica's worker
	// takes it meanwhile, and it is pending again after it when its
	// outcome was not recorded (the replica died). Default 5m: longer than
	// a worker takes for a batch of commands (each may wait 10s for
	// Alertmanager), since a replica that takes a callback over carries
	// its command out again.
	CallbackLease time.Duration
	// Listen turns LISTEN/NOTIFY wake-ups on (a dedicated connection).
	// Behind PgBouncer in transaction mode notifications do not arrive;
	// the senders then find new messages by polling. Default true.
	Listen *bool
}

func (o *Options) setDefaults() {
	if o.BatchMax <= 0 {
		o.BatchMax = 256
	}
	if o.Writers <= 0 {
		o.Writers = 2
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.PruneChunk <= 0 {
		o.PruneChunk = 500
	}
	if o.CallbackLease <= 0 {
		o.CallbackLease = 5 * time.Minute
	}
	if o.Listen == nil {
		on := true
		o.Listen = &on
	}
}

// Store is the PostgreSQL outbox. It is safe for concurrent use, and any
// number of processes may open the same database.
type Store struct {
	opts Options
	pool *pgxpool.Pool
	reqs chan *request
	wg   sync.WaitGroup // the writers and the listener

	wake       chan string
	stopListen context.CancelFunc

	commits, writes atomic.Uint64

	mu     sync.RWMutex // guards closed; held for reading while a request is handed over
	closed bool
}

// Open connects to the database at url (postgres://user:pass@host/db),
// creates or migrates its schema and starts the writers.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	opts.setDefaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The URL holds the password: never repeat it.
		return nil, errors.New("storage.url is not a valid PostgreSQL URL")
	}
	cfg.MaxConns = opts.MaxConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("outbox on PostgreSQL: %w", err)
	}
	s := &Store{opts: opts, pool: pool, reqs: make(chan *request, opts.BatchMax), wake: make(chan string, 1)}
	for range opts.Writers {
		s.wg.Add(1)
		go s.write()
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	if *opts.Listen {
		s.wg.Add(1)
		go s.listen(lctx, cfg.ConnConfig.Copy())
	}
	return s, nil
}

// Close stops taking requests, lets the writers commit what they were
// given and closes the pool. Every call after the first returns ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	s.stopListen()
	s.wg.Wait()
	if !*s.opts.Listen {
		close(s.wake) // the listener closes it otherwise
	}
	s.pool.Close()
	return nil
}

// Ping reports whether the database can be written: readiness follows the
// database, so an orchestrator sends webhooks to a replica that can take
// them.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.readLock(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	_, err := s.pool.Exec(ctx, `INSERT INTO meta (key, value) VALUES ('ping', $1)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, time.Now().UnixNano())
	return err
}

// CommitCounts returns the transactions committed and the writes they held.
func (s *Store) CommitCounts() (commits, writes uint64) {
	return s.commits.Load(), s.writes.Load()
}

// counted records one committed transaction of n writes.
func (s *Store) counted(n int) {
	s.commits.Add(1)
	s.writes.Add(uint64(n))
}

func (s *Store) readLock() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// clean makes s storable as text, which refuses NUL and invalid UTF-8: ids,
// names and errors from a hostile request must not fail a whole batch.
func clean(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
