// Package outbox is the contract between the bridge and the stores that
// keep accepted messages until they are sent: the types that cross it and
// the interfaces a store implements (the embedded SQLite one in
// store/sqlite, the PostgreSQL one several replicas share in
// store/postgres). The HTTP intake, the sender and the admin API each use
// only their part of it.
package outbox

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// ErrDuplicate is returned by Outbox.Accept when the event's de-duplication
// key was accepted before, within the window. Nothing is stored.
var ErrDuplicate = errors.New("duplicate delivery")

// ErrNotFound is returned for an unknown message id.
var ErrNotFound = errors.New("not found")

// ErrCorrupt is wrapped by the error of an outbox whose file failed its
// integrity check: Ping returns it, so /-/ready answers 503.
var ErrCorrupt = errors.New("store corrupt")

// Message states.
const (
	StatePending = "pending"
	StateSent    = "sent"
	StateDead    = "dead"
	// StateDryRun is the end of a message accepted in a dry run: logged,
	// never sent, and never sent later either.
	StateDryRun = "dry_run"
)

// Accepted is one webhook accepted for delivery: the event and the
// messages its rules produced, committed together.
type Accepted struct {
	EventID    string // delivery id
	Source     string
	EventName  string
	DedupKey   string // empty: never a duplicate
	Raw        []byte // the request body
	ReceivedAt time.Time
	Account    string // the GeWe account (app id) that sends the messages
	Messages   []event.Message
}

// Queued is a message in the outbox.
type Queued struct {
	ID        int64         `json:"id"`
	EventID   string        `json:"event_id"`
	Source    string        `json:"source"`
	Account   string        `json:"account"`
	Message   event.Message `json:"message"`
	State     string        `json:"state"`
	Attempts  int           `json:"attempts"`
	CreatedAt time.Time     `json:"created_at"`
	NextAt    time.Time     `json:"next_at"`          // when pending: not before
	SentAt    time.Time     `json:"sent_at,omitzero"` // when sent
	LastError string        `json:"last_error,omitempty"`
}

// Attempt is one failed try to send a message.
type Attempt struct {
	At    time.Time `json:"at"`
	Error string    `json:"error"`
}

// Backlog is one account's pending messages.
type Backlog struct {
	Account string
	Pending int
	Oldest  time.Time // when the oldest pending message was accepted
}

// ListFilter selects messages for the admin API. Empty fields select
// everything.
type ListFilter struct {
	State  string // "" for all
	Before int64  // page: ids below this; 0 for the newest
	Limit  int
	To     string    // the recipient's wxid or NNNN@chatroom
	Rule   string    // the rule that produced it
	Source string    // the source of its webhook
	Since  time.Time // accepted at or after
	Until  time.Time // accepted before
}

// The page of a listing (List, Callbacks) when it asks for none, and the
// largest it may ask.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// Page is the page a listing asks for, as every store reads it: ids below
// before (0 or less: from the newest), limit (0 or less: the default; at
// most MaxListLimit) at a time.
func Page(before int64, limit int) (int64, int) {
	if before <= 0 {
		before = math.MaxInt64
	}
	if limit <= 0 {
		limit = DefaultListLimit
	}
	return before, min(limit, MaxListLimit)
}

// Narrowed reports whether the filter selects on more than the state.
func (f ListFilter) Narrowed() bool {
	return f.To != "" || f.Rule != "" || f.Source != "" || !f.Since.IsZero() || !f.Until.IsZero()
}

// Intake is what the webhook handler needs: Accept returns only once the
// event and its messages are durable, and its error decides between 202
// and 503.
type Intake interface {
	// Accept commits the event and its messages in one transaction. When
	// a.DedupKey was accepted at or after dedupSince it returns
	// ErrDuplicate and stores nothing; the key is recorded by the commit.
	Accept(ctx context.Context, a *Accepted, dedupSince time.Time) error
	// Ping reports whether the store can be written (readiness); an error
	// wrapping ErrCorrupt when its file failed its integrity check.
	Ping(ctx context.Context) error
}

// Queue is what a sender needs: the due messages of its account, and the
// outcome of each send.
type Queue interface {
	// Due returns up to limit pending messages of account with NextAt at
	// or before now, oldest first.
	Due(ctx context.Context, account string, now time.Time, limit int) ([]Queued, error)
	// NextDue returns the earliest NextAt of the account's pending messages;
	// ok is false when there are none.
	NextDue(ctx context.Context, account string) (next time.Time, ok bool, err error)
	// Sent marks messages sent (several when they were coalesced into one).
	Sent(ctx context.Context, ids []int64, at time.Time) error
	// Retry records a failed attempt and reschedules the messages for next.
	Retry(ctx context.Context, ids []int64, a Attempt, next time.Time) error
	// Dead records a failed attempt and gives the messages up.
	Dead(ctx context.Context, ids []int64, a Attempt) error
	// DryRun marks pending messages logged by a dry run (StateDryRun).
	DryRun(ctx context.Context, ids []int64, at time.Time) error
}

// Admin is what the admin API, the metrics and the status page read, and
// the one change they make.
type Admin interface {
	List(ctx context.Context, f ListFilter) ([]Queued, error)
	Get(ctx context.Context, id int64) (*Queued, []Attempt, error)
	// Requeue makes a message pending again, due now.
	Requeue(ctx context.Context, id int64, now time.Time) error
	// Backlog returns each account's pending count and oldest pending
	// message, for the queue metrics.
	Backlog(ctx context.Context) ([]Backlog, error)
}

// Store is a whole outbox: what a store implements and the service holds.
// Every method is safe for concurrent use.
type Store interface {
	Intake
	Queue
	Admin
	// Prune deletes sent, dead and dry_run messages, events and
	// de-duplication keys older than before; it returns how many messages
	// went.
	Prune(ctx context.Context, before time.Time) (int, error)
	// CommitCounts says how many transactions the store committed and how
	// many writes they held (writes per commit: how many webhooks share an
	// fsync), for the metrics.
	CommitCounts() (commits, writes uint64)
	Close() error
}

// ErrLeaseLost is returned by Cluster.Claim when the lease it was given is
// no longer the caller's: expired, or taken over by another replica.
var ErrLeaseLost = errors.New("lease lost")

// Lease is one replica's right to send for one account while several
// replicas share a store.
type Lease struct {
	Account string
	Holder  string // the replica that holds it
	// Token is the fencing token: every new holder gets a greater one,
	// and only a claim made with the current token sends.
	Token int64
}

// Send is one call made for an account, successful or not, as the pacer
// counts it.
type Send struct {
	To string
	At time.Time
}

// Cluster is what a store shared by several replicas adds to Queue, so that
// there is one sender per account in the whole cluster. A store that only
// one process opens (SQLite) does not implement it; the sender then sends
// without a lease, as it always did.
type Cluster interface {
	// Acquire takes the account's lease for holder when it is free or
	// expired, or renews it when holder has it already (same token), until
	// ttl from now on the store's clock. ok is false while another holder's
	// lease runs.
	Acquire(ctx context.Context, account, holder string, ttl time.Duration) (l Lease, ok bool, err error)
	// Claim renews the lease for at least hold (the longest a send may
	// take) and marks the pending messages among ids as being sent under
	// it, now; it returns the ids claimed. ErrLeaseLost when the lease is
	// not l's any more: then nothing is claimed and nothing may be sent.
	Claim(ctx context.Context, l Lease, ids []int64, now time.Time, hold time.Duration) ([]int64, error)
	// Release ends the lease (a clean shutdown), so that another replica
	// takes over at once instead of when it expires.
	Release(ctx context.Context, l Lease) error
	// Orphans returns the account's pending messages claimed under an
	// earlier token: sends that were in flight when their replica stopped.
	Orphans(ctx context.Context, l Lease) ([]Queued, error)
	// RecentSends returns the account's sends since since, oldest first:
	// the pacing state a new holder starts from, so a failover does not
	// burst.
	RecentSends(ctx context.Context, account string, since time.Time) ([]Send, error)
	// Wakeups receives the account of messages any replica committed
	// (LISTEN/NOTIFY); a sender still polls, as notifications can be lost.
	Wakeups() <-chan string
}
