// Package outbox is the contract between the bridge and the stores that
// keep accepted messages until they are sent: the types that cross it and
// the interfaces a store implements (the embedded SQLite one in
// store/sqlite). The HTTP intake, the sender and the admin API each use
// only their part of it.
package outbox

import (
	"context"
	"errors"
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
