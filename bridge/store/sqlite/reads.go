package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/codec"
)

// Reads go through the read pool: in WAL mode they see the last commit and
// never wait for the writer.

const (
	defaultDueLimit = 100
)

// Due returns up to limit (default 100) pending messages of account due at
// or before now, oldest first.
func (s *Store) Due(ctx context.Context, account string, now time.Time, limit int) ([]outbox.Queued, error) {
	if limit <= 0 {
		limit = defaultDueLimit
	}
	return s.queryQueued(ctx, rdDue, account, codec.Time(now), limit)
}

// NextDue returns the earliest NextAt of the account's pending messages.
func (s *Store) NextDue(ctx context.Context, account string) (time.Time, bool, error) {
	if err := s.readLock(); err != nil {
		return time.Time{}, false, err
	}
	defer s.mu.RUnlock()
	var next sql.NullInt64 // MIN of no rows is NULL
	if err := s.rd[rdNextDue].QueryRowContext(ctx, account).Scan(&next); err != nil {
		return time.Time{}, false, err
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return codec.ParseTime(next.Int64), true, nil
}

// Backlog returns each account's pending messages: how many, and when the
// oldest was accepted.
func (s *Store) Backlog(ctx context.Context) ([]outbox.Backlog, error) {
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.rd[rdBacklog].QueryContext(ctx)
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

// List returns messages newest first, f.Limit (default 50, at most 500) at a
// time; the next page is the one Before the last id returned.
func (s *Store) List(ctx context.Context, f outbox.ListFilter) ([]outbox.Queued, error) {
	before, limit := outbox.Page(f.Before, f.Limit)
	st, ok := listByState[f.State]
	if !ok {
		return nil, nil // no message is in a state that does not exist
	}
	if f.Narrowed() {
		return s.listNarrowed(ctx, f, before, limit)
	}
	return s.queryQueued(ctx, st, before, limit)
}

// listNarrowed is List with a recipient, rule, source or time: a query
// built for the filter, walking messages by id from before down (the
// console's searches; the unfiltered listings keep their statements).
func (s *Store) listNarrowed(ctx context.Context, f outbox.ListFilter, before int64, limit int) ([]outbox.Queued, error) {
	q := `SELECT ` + queuedCols + ` FROM messages m JOIN events e ON e.id = m.event WHERE m.id < ?`
	args := []any{before}
	add := func(cond string, v any) {
		q += " AND " + cond
		args = append(args, v)
	}
	if f.State != "" {
		add("m.state = ?", f.State)
	}
	if f.To != "" {
		add("m.recipient = ?", f.To)
	}
	if f.Rule != "" {
		add("m.rule = ?", f.Rule)
	}
	if f.Source != "" {
		add("e.source = ?", f.Source)
	}
	if !f.Since.IsZero() {
		add("m.created_at >= ?", codec.Time(f.Since))
	}
	if !f.Until.IsZero() {
		add("m.created_at < ?", codec.Time(f.Until))
	}
	q += ` ORDER BY m.id DESC LIMIT ?`
	args = append(args, limit)
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outbox.Queued
	for rows.Next() {
		var m outbox.Queued
		if err := scanQueued(rows, &m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// listByState is the List statement for each state filter ("" for all).
var listByState = map[string]int{
	"":                  rdListAll,
	outbox.StatePending: rdListPending,
	outbox.StateSent:    rdListSent,
	outbox.StateDead:    rdListDead,
	outbox.StateDryRun:  rdListDryRun,
}

// Get returns the message and its failed attempts, oldest first.
func (s *Store) Get(ctx context.Context, id int64) (*outbox.Queued, []outbox.Attempt, error) {
	if err := s.readLock(); err != nil {
		return nil, nil, err
	}
	defer s.mu.RUnlock()
	// One read transaction: the message and its attempts from one snapshot.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback() //nolint:errcheck // read-only

	var q outbox.Queued
	if err := scanQueued(tx.StmtContext(ctx, s.rd[rdGet]).QueryRowContext(ctx, id), &q); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, outbox.ErrNotFound
		}
		return nil, nil, err
	}
	rows, err := tx.StmtContext(ctx, s.rd[rdAttempts]).QueryContext(ctx, id)
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
	if err := s.rd[rdRaw].QueryRowContext(ctx, id).Scan(&b); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, outbox.ErrNotFound
		}
		return nil, err
	}
	return codec.ParseRaw(b)
}

func (s *Store) queryQueued(ctx context.Context, st int, args ...any) ([]outbox.Queued, error) {
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.rd[st].QueryContext(ctx, args...)
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

// scanQueued reads the queuedCols of one row.
func scanQueued(row interface{ Scan(...any) error }, q *outbox.Queued) error {
	var at string
	var text, xml any // string, or compressed []byte (encodeBody)
	var created, next, sent int64
	err := row.Scan(&q.ID, &q.EventID, &q.Source, &q.Account, &q.Message.Rule, &q.Message.To,
		&text, &at, &xml, &q.State, &q.Attempts, &created, &next, &sent, &q.LastError)
	if err != nil {
		return err
	}
	if q.Message.Text, err = decodeBody(text); err != nil {
		return err
	}
	if q.Message.XML, err = decodeBody(xml); err != nil {
		return err
	}
	if at != "" {
		if err := json.Unmarshal([]byte(at), &q.Message.At); err != nil {
			return err
		}
	}
	q.CreatedAt, q.NextAt, q.SentAt = codec.ParseTime(created), codec.ParseTime(next), codec.ParseTime(sent)
	return nil
}
