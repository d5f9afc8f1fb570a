package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/codec"
)

// Webhooks are committed in groups: each writer takes every request
// waiting (up to BatchMax), sends them in one pipelined batch inside one
// transaction and commits once, so concurrent webhooks share a round trip
// and a WAL flush. Other writes (a send's outcome, the admin's requeue) are
// rare and run in their own short transactions.

// request is one webhook to commit.
type request struct {
	ctx   context.Context
	sql   string // acceptSQL or acceptAlertsSQL
	args  []any
	key   string
	acct  string
	state atomic.Int32 // queued -> claimed by a writer, or -> cancelled by the caller
	done  chan error   // buffered
	event int64
}

const (
	queued int32 = iota
	claimed
	cancelled
)

// acceptSQL stores one webhook: the de-duplication key first (ON CONFLICT:
// a key accepted at or after $7 stays and the event is not stored), then
// the event and its messages. It returns the event's id, or no row for a
// duplicate. Inserting a key another transaction is committing waits for
// that transaction, so two replicas given one delivery store it once.
const acceptSQL = acceptMessagesSQL + `
)
SELECT id FROM e`

// acceptAlertsSQL is acceptSQL for a webhook whose messages carry alerts
// ($15, "" for a message without): the alerts go into message_alerts in
// the same statement. The messages' ids follow r.n (the identity is drawn
// row by row after the sort), so the n-th id is the n-th message's.
const acceptAlertsSQL = acceptMessagesSQL + `
	RETURNING id
), a AS (
	INSERT INTO message_alerts (message, alerts)
	SELECT m.id, r.alerts FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM m) m
	JOIN unnest($15::text[]) WITH ORDINALITY AS r(alerts, n) ON r.n = m.n
	WHERE r.alerts <> ''
)
SELECT id FROM e`

const acceptMessagesSQL = `WITH d AS (
	INSERT INTO dedup (key, accepted_at) SELECT $4::text, $5::bigint WHERE $4::text <> ''
	ON CONFLICT (key) DO UPDATE SET accepted_at = excluded.accepted_at WHERE dedup.accepted_at < $7::bigint
	RETURNING 1
), e AS (
	INSERT INTO events (event_id, source, event_name, dedup_key, received_at, raw)
	SELECT $1, $2, $3, $4, $5, $6 WHERE $4::text = '' OR EXISTS (SELECT 1 FROM d)
	RETURNING id
), m AS (
	INSERT INTO messages (event, account, rule, recipient, text, at, xml, state, created_at, updated_at, next_at)
	SELECT e.id, $8, r.rule, r.recipient, r.text, r.at, r.xml, 'pending', $5, $5, r.next_at
	FROM e, unnest($9::text[], $10::text[], $11::bytea[], $12::text[], $13::bytea[], $14::bigint[]) WITH ORDINALITY
		AS r(rule, recipient, text, at, xml, next_at, n)
	ORDER BY r.n`

// notifyChannel carries the account of new messages to every replica.
const notifyChannel = "gewe_bridge_outbox"

// Accept commits the event and its messages; nil only once they are
// committed. The acceptance time is a.ReceivedAt (the store's clock when
// zero), on the clock of dedupSince.
func (s *Store) Accept(ctx context.Context, a *outbox.Accepted, dedupSince time.Time) error {
	if a == nil {
		return errors.New("outbox: accept: nil event")
	}
	at := a.ReceivedAt
	if at.IsZero() {
		at = time.Now()
	}
	n := len(a.Messages)
	rule, to, mentions := make([]string, n), make([]string, n), make([]string, n)
	text, xml := make([][]byte, n), make([][]byte, n)
	next := make([]int64, n) // a message held (quiet hours) is due when the hold ends
	for i, m := range a.Messages {
		rule[i], to[i], text[i], xml[i] = clean(m.Rule), clean(m.To), []byte(m.Text), []byte(m.XML)
		next[i] = m.DueAt(at).UnixNano()
		if len(m.At) > 0 {
			b, err := json.Marshal(m.At)
			if err != nil {
				return fmt.Errorf("outbox: accept: %w", err)
			}
			mentions[i] = string(b)
		}
	}
	alerts, err := codec.Alerts(a.Messages)
	if err != nil {
		return fmt.Errorf("outbox: accept: %w", err)
	}
	key := clean(a.DedupKey)
	r := &request{ctx: ctx, sql: acceptSQL, key: key, acct: clean(a.Account), done: make(chan error, 1)}
	r.args = []any{clean(a.EventID), clean(a.Source), clean(a.EventName), key, at.UnixNano(),
		codec.Raw(a.Raw), codec.Time(dedupSince), r.acct, rule, to, text, mentions, xml, next}
	if alerts != nil {
		r.sql, r.args = acceptAlertsSQL, append(r.args, alerts)
	}
	return s.send(ctx, r)
}

func (s *Store) send(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.reqs <- r:
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
			return ctx.Err() // the writer skips it
		}
		return <-r.done // being committed: its outcome stands
	}
}

// errAbandoned answers a request whose caller gave up; nobody reads it.
var errAbandoned = errors.New("abandoned")

// write is one writer: it commits batches until the store closes.
func (s *Store) write() {
	defer s.wg.Done()
	batch := make([]*request, 0, s.opts.BatchMax)
	for r := range s.reqs {
		batch = append(batch[:0], r)
	drain:
		for len(batch) < s.opts.BatchMax {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		s.commit(batch)
		clear(batch)
	}
}

// commit stores batch in one transaction and answers every request.
func (s *Store) commit(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		switch {
		case !r.state.CompareAndSwap(queued, claimed):
			r.done <- errAbandoned
		case r.ctx.Err() != nil:
			r.done <- r.ctx.Err()
		default:
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	// Keys in one order in every transaction of every replica: two
	// batches waiting for each other's keys would deadlock.
	slices.SortStableFunc(live, func(a, b *request) int { return strings.Compare(a.key, b.key) })
	err := s.apply(live)
	if err == nil {
		s.counted(len(live))
	}
	for _, r := range live {
		switch {
		case err != nil:
			r.done <- fmt.Errorf("outbox: %w", err)
		case r.event == 0:
			r.done <- outbox.ErrDuplicate
		default:
			r.done <- nil
		}
	}
}

func (s *Store) apply(live []*request) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	b := &pgx.Batch{}
	accounts := map[string]bool{}
	for _, r := range live {
		r.event = 0
		b.Queue(r.sql, r.args...).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				if err := rows.Scan(&r.event); err != nil {
					return err
				}
			}
			return rows.Err()
		})
		accounts[r.acct] = true
	}
	// Delivered to the listeners at COMMIT, and only then.
	for acct := range accounts {
		b.Queue(`SELECT pg_notify($1, $2)`, notifyChannel, acct)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
