package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/codec"
)

const (
	defaultDueLimit = 100
)

// The columns scanQueued reads, in order.
const queuedCols = `m.id, e.event_id, e.source, m.account, m.rule, m.recipient, m.text, m.at, m.xml,
	m.state, m.attempts, m.created_at, m.next_at, m.sent_at, m.last_error`

const fromMessages = ` FROM messages m JOIN events e ON e.id = m.event `

// Due returns up to limit (default 100) pending messages of account due at
// or before now, oldest first. Only the lease holder's sender asks; what it
// sends it claims first (Claim).
func (s *Store) Due(ctx context.Context, account string, now time.Time, limit int) ([]outbox.Queued, error) {
	if limit <= 0 {
		limit = defaultDueLimit
	}
	return s.queryQueued(ctx, `SELECT `+queuedCols+fromMessages+`
		WHERE m.account = $1 AND m.state = 'pending' AND m.next_at <= $2 ORDER BY m.id LIMIT $3`,
		account, codec.Time(now), limit)
}

// NextDue returns the earliest NextAt of the account's pending messages.
func (s *Store) NextDue(ctx context.Context, account string) (time.Time, bool, error) {
	if err := s.readLock(); err != nil {
		return time.Time{}, false, err
	}
	defer s.mu.RUnlock()
	var next *int64 // MIN of no rows is NULL
	err := s.pool.QueryRow(ctx, `SELECT MIN(next_at) FROM messages WHERE account = $1 AND state = 'pending'`,
		account).Scan(&next)
	if err != nil || next == nil {
		return time.Time{}, false, err
	}
	return codec.ParseTime(*next), true, nil
}

// Backlog returns each account's pending messages: how many, and when the
// oldest was accepted.
func (s *Store) Backlog(ctx context.Context) ([]outbox.Backlog, error) {
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.pool.Query(ctx, `SELECT account, COUNT(*), MIN(created_at) FROM messages
		WHERE state = 'pending' GROUP BY account ORDER BY account`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outbox.Backlog
	for rows.Next() {
		var b outbox.Backlog
		var oldest int64
		if err := rows.Scan(&b.Account, &b.Pending, &oldest); err != nil {
			return nil, err
		}
		b.Oldest = codec.ParseTime(oldest)
		out = append(out, b)
	}
	return out, rows.Err()
}

// List returns the messages of the whole cluster newest first, f.Limit
// (default 50, at most 500) at a time; the next page is the one Before the
// last id returned.
func (s *Store) List(ctx context.Context, f outbox.ListFilter) ([]outbox.Queued, error) {
	before, limit := outbox.Page(f.Before, f.Limit)
	switch f.State {
	case "":
		return s.queryQueued(ctx, `SELECT `+queuedCols+fromMessages+`
			WHERE m.id < $1 ORDER BY m.id DESC LIMIT $2`, before, limit)
	case outbox.StatePending, outbox.StateSent, outbox.StateDead, outbox.StateDryRun:
		return s.queryQueued(ctx, `SELECT `+queuedCols+fromMessages+`
			WHERE m.state = $3 AND m.id < $1 ORDER BY m.id DESC LIMIT $2`, before, limit, f.State)
	}
	return nil, nil // no message is in a state that does not exist
}

// Get returns the message and its failed attempts, oldest first, from one
// snapshot.
func (s *Store) Get(ctx context.Context, id int64) (*outbox.Queued, []outbox.Attempt, error) {
	if err := s.readLock(); err != nil {
		return nil, nil, err
	}
	defer s.mu.RUnlock()
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read-only
	var q outbox.Queued
	if err := scanQueued(tx.QueryRow(ctx, `SELECT `+queuedCols+fromMessages+`WHERE m.id = $1`, id), &q); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, nil, outbox.ErrNotFound
		}
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, `SELECT at, error FROM attempts WHERE message = $1 ORDER BY id`, id)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var attempts []outbox.Attempt
	for rows.Next() {
		var at int64
		var a outbox.Attempt
		if err := rows.Scan(&at, &a.Error); err != nil {
			return nil, nil, err
		}
		a.At = codec.ParseTime(at)
		attempts = append(attempts, a)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	return &q, attempts, nil
}

// Raw returns the request body of the event that produced message id.
func (s *Store) Raw(ctx context.Context, id int64) ([]byte, error) {
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	var b []byte
	if err := s.pool.QueryRow(ctx, `SELECT e.raw`+fromMessages+`WHERE m.id = $1`, id).Scan(&b); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, outbox.ErrNotFound
		}
		return nil, err
	}
	return codec.ParseRaw(b)
}

func (s *Store) queryQueued(ctx context.Context, query string, args ...any) ([]outbox.Queued, error) {
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outbox.Queued
	for rows.Next() {
		var q outbox.Queued
		if err := scanQueued(rows, &q); err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

func scanQueued(row pgx.Row, q *outbox.Queued) error {
	var at string
	var text, xml []byte
	var created, next, sent int64
	err := row.Scan(&q.ID, &q.EventID, &q.Source, &q.Account, &q.Message.Rule, &q.Message.To,
		&text, &at, &xml, &q.State, &q.Attempts, &created, &next, &sent, &q.LastError)
	if err != nil {
		return err
	}
	q.Message.Text, q.Message.XML = string(text), string(xml)
	if at != "" {
		if err := json.Unmarshal([]byte(at), &q.Message.At); err != nil {
			return err
		}
	}
	q.CreatedAt, q.NextAt, q.SentAt = codec.ParseTime(created), codec.ParseTime(next), codec.ParseTime(sent)
	return nil
}
