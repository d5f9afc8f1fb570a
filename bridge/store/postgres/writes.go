package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/codec"
)

// exec runs fn in one short transaction and counts its commit.
func (s *Store) exec(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := s.readLock(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	err := pgx.BeginFunc(ctx, s.pool, fn)
	if err == nil {
		s.counted(1)
	}
	return err
}

// Sent marks the messages sent at at.
func (s *Store) Sent(ctx context.Context, ids []int64, at time.Time) error {
	return s.exec(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE messages SET state = 'sent', sent_at = $2, updated_at = $2, claim_token = 0
			WHERE id = ANY($1)`, ids, codec.Time(at))
		return err
	})
}

// Retry records the failed attempt on each pending message and makes it due
// again at next; the send is no longer in flight. Other ids are ignored.
func (s *Store) Retry(ctx context.Context, ids []int64, a outbox.Attempt, next time.Time) error {
	return s.fail(ctx, `UPDATE messages SET attempts = attempts + 1, last_error = $2, updated_at = $3, next_at = $4, claim_token = 0
		WHERE id = ANY($1) AND state = 'pending' RETURNING id`, ids, a, codec.Time(next))
}

// Dead records the failed attempt on each pending message and gives it up.
func (s *Store) Dead(ctx context.Context, ids []int64, a outbox.Attempt) error {
	return s.fail(ctx, `UPDATE messages SET attempts = attempts + 1, last_error = $2, updated_at = $3, state = 'dead', claim_token = 0
		WHERE id = ANY($1) AND state = 'pending' RETURNING id`, ids, a)
}

// fail runs the Retry or Dead update and adds the attempt to the history
// of every message it found pending.
func (s *Store) fail(ctx context.Context, update string, ids []int64, a outbox.Attempt, more ...any) error {
	args := append([]any{ids, clean(a.Error), codec.Time(a.At)}, more...)
	return s.exec(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH u AS (`+update+`)
			INSERT INTO attempts (message, at, error) SELECT id, $3, $2 FROM u ORDER BY id`, args...)
		return err
	})
}

// DryRun marks pending messages logged by a dry run: finished, never sent.
func (s *Store) DryRun(ctx context.Context, ids []int64, at time.Time) error {
	return s.exec(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE messages SET state = 'dry_run', updated_at = $2
			WHERE id = ANY($1) AND state = 'pending'`, ids, codec.Time(at))
		return err
	})
}

// Requeue makes the message pending and due at now, whatever its state,
// with its attempt count from 0; its history stays.
func (s *Store) Requeue(ctx context.Context, id int64, now time.Time) error {
	return s.exec(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE messages SET state = 'pending', next_at = $2, updated_at = $2, sent_at = 0,
			attempts = 0, claim_token = 0 WHERE id = $1`, id, codec.Time(now))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return outbox.ErrNotFound
		}
		return nil
	})
}

// Prune deletes finished messages (sent, dead, dry_run) last changed before
// before with their attempts, alerts and GeWe ids, events received before
// before that have no message left, de-duplication keys older than before
// and chat-ops callbacks done and received before before, PruneChunk rows
// of each kind per transaction. Every replica prunes; SKIP LOCKED lets two
// prunes share the work instead of waiting for each other.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	cutoff, chunk := codec.Time(before), s.opts.PruneChunk
	total := 0
	for {
		var msgs, events, keys, callbacks int64
		err := s.exec(ctx, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `WITH doomed AS (
					SELECT id FROM messages WHERE state IN ('sent', 'dead', 'dry_run') AND updated_at < $1
					LIMIT $2 FOR UPDATE SKIP LOCKED
				), a AS (DELETE FROM attempts WHERE message IN (SELECT id FROM doomed)),
				al AS (DELETE FROM message_alerts WHERE message IN (SELECT id FROM doomed)),
				si AS (DELETE FROM sent_ids WHERE message IN (SELECT id FROM doomed))
				DELETE FROM messages WHERE id IN (SELECT id FROM doomed)`, cutoff, chunk)
			if err != nil {
				return err
			}
			msgs = tag.RowsAffected()
			if tag, err = tx.Exec(ctx, `DELETE FROM events WHERE id IN (
					SELECT e.id FROM events e WHERE e.received_at < $1
					AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.event = e.id)
					LIMIT $2 FOR UPDATE SKIP LOCKED)`, cutoff, chunk); err != nil {
				return err
			}
			events = tag.RowsAffected()
			if tag, err = tx.Exec(ctx, `DELETE FROM dedup WHERE key IN (
					SELECT key FROM dedup WHERE accepted_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, cutoff, chunk); err != nil {
				return err
			}
			keys = tag.RowsAffected()
			if tag, err = tx.Exec(ctx, `DELETE FROM callbacks WHERE id IN (
					SELECT id FROM callbacks WHERE state = 'done' AND received_at < $1
					LIMIT $2 FOR UPDATE SKIP LOCKED)`, cutoff, chunk); err != nil {
				return err
			}
			callbacks = tag.RowsAffected()
			return nil
		})
		if err != nil {
			return total, err
		}
		total += int(msgs)
		if msgs < int64(chunk) && events < int64(chunk) && keys < int64(chunk) && callbacks < int64(chunk) {
			return total, nil
		}
	}
}
