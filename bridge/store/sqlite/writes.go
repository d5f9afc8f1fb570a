package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/codec"
)

// Accept commits the event and its messages; it returns nil only once they
// are on disk. The acceptance time, used for the messages' created_at and
// next_at and for the de-duplication key, is a.ReceivedAt (the store's
// clock when zero), so it is measured on the same clock as dedupSince.
func (s *Store) Accept(ctx context.Context, a *outbox.Accepted, dedupSince time.Time) error {
	if a == nil {
		return errors.New("outbox: accept: nil event")
	}
	// Everything that can be prepared outside the writer is: the writer's
	// time is what all webhooks wait for.
	at := a.ReceivedAt
	if at.IsZero() {
		at = time.Now()
	}
	now := at.UnixNano()
	mentions := make([]string, len(a.Messages))
	texts := make([]any, 2*len(a.Messages)) // text and xml of each message
	for i, m := range a.Messages {
		texts[2*i], texts[2*i+1] = encodeBody(m.Text), encodeBody(m.XML)
		if len(m.At) > 0 {
			b, err := json.Marshal(m.At)
			if err != nil {
				return fmt.Errorf("outbox: accept: %w", err)
			}
			mentions[i] = string(b)
		}
	}
	raw := codec.Raw(a.Raw)
	if a.DedupKey == "" {
		_, err := s.submitAccept(ctx, a, now, raw, mentions, texts)
		return err
	}

	since := codec.Time(dedupSince)
	res, last, err := s.dedup.reserve(ctx, a.DedupKey, now, since)
	if err != nil {
		return err
	}
	var event int64
	outcome := notCommitted
	defer func() { res.release(outcome, event) }()
	if last > 0 {
		repeat, err := s.isRepeat(ctx, last, a.DedupKey, since)
		if err != nil {
			return err
		}
		if repeat {
			return outbox.ErrDuplicate
		}
	}
	event, err = s.submitAccept(ctx, a, now, raw, mentions, texts)
	switch {
	case err == nil:
		outcome = committed
	case errors.Is(err, errCommit):
		outcome = unknown
	}
	return err
}

// submitAccept commits the event and its messages and returns the event's
// id; the event's row is also the record of its de-duplication key.
func (s *Store) submitAccept(ctx context.Context, a *outbox.Accepted, now int64, raw []byte, mentions []string, texts []any) (int64, error) {
	var event int64
	alerts, err := codec.Alerts(a.Messages)
	if err != nil {
		return 0, fmt.Errorf("outbox: accept: %w", err)
	}
	err = s.submit(ctx, func(t *wtx) error {
		res, err := t.exec(stInsertEvent, a.EventID, a.Source, a.EventName, a.DedupKey, now, raw)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for i, m := range a.Messages {
			// A message held (quiet hours) is due when the hold ends.
			next := m.DueAt(time.Unix(0, now)).UnixNano()
			res, err := t.exec(stInsertMessage, id, a.Account, m.Rule, m.To, texts[2*i], mentions[i], texts[2*i+1], now, next)
			if err != nil {
				return err
			}
			if alerts != nil && alerts[i] != "" {
				if err := t.insertAlerts(res, alerts[i]); err != nil {
					return err
				}
			}
		}
		event = id
		return nil
	})
	if err != nil {
		return 0, err
	}
	return event, nil
}

// Sent marks the messages sent at at.
func (s *Store) Sent(ctx context.Context, ids []int64, at time.Time) error {
	sentAt := codec.Time(at)
	return s.submit(ctx, func(t *wtx) error {
		for _, id := range ids {
			if _, err := t.exec(stSent, id, sentAt); err != nil {
				return err
			}
		}
		return nil
	})
}

// Retry records the failed attempt on each pending message and makes it due
// again at next. Ids of messages that are not pending (or not there) are
// ignored.
func (s *Store) Retry(ctx context.Context, ids []int64, a outbox.Attempt, next time.Time) error {
	at, nextAt := codec.Time(a.At), codec.Time(next)
	return s.submit(ctx, func(t *wtx) error {
		for _, id := range ids {
			res, err := t.exec(stRetry, id, a.Error, at, nextAt)
			if err != nil {
				return err
			}
			if err := t.recordAttempt(res, id, at, a.Error); err != nil {
				return err
			}
		}
		return nil
	})
}

// Dead records the failed attempt on each pending message and gives it up.
func (s *Store) Dead(ctx context.Context, ids []int64, a outbox.Attempt) error {
	at := codec.Time(a.At)
	return s.submit(ctx, func(t *wtx) error {
		for _, id := range ids {
			res, err := t.exec(stDead, id, a.Error, at)
			if err != nil {
				return err
			}
			if err := t.recordAttempt(res, id, at, a.Error); err != nil {
				return err
			}
		}
		return nil
	})
}

// DryRun marks pending messages logged by a dry run: finished, never sent.
func (s *Store) DryRun(ctx context.Context, ids []int64, at time.Time) error {
	updatedAt := codec.Time(at)
	return s.submit(ctx, func(t *wtx) error {
		for _, id := range ids {
			if _, err := t.exec(stDryRun, id, updatedAt); err != nil {
				return err
			}
		}
		return nil
	})
}

// recordAttempt adds the attempt to the message's history when the Retry or
// Dead update (res) found it pending.
func (t *wtx) recordAttempt(res sql.Result, id, at int64, msg string) error {
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return err
	}
	_, err := t.exec(stInsertAttempt, id, at, msg)
	return err
}

// Requeue makes the message pending and due at now, whatever its state. Its
// attempt count starts again from 0, so it gets the whole retry schedule;
// the earlier attempts stay in its history.
func (s *Store) Requeue(ctx context.Context, id int64, now time.Time) error {
	at := codec.Time(now)
	return s.submitIsolated(ctx, func(t *wtx) error {
		res, err := t.exec(stRequeue, id, at)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return outbox.ErrNotFound
		}
		return nil
	})
}

// Prune deletes sent messages sent before before, dead messages given up
// and dry-run messages logged before before, their attempts, and events received before before that
// have no message left (with them go their de-duplication keys). It works in
// transactions of at most PruneChunk rows of each kind, so webhooks are not
// held up behind it, and returns how many messages it deleted.
func (s *Store) Prune(ctx context.Context, before time.Time) (int, error) {
	cutoff, chunk := codec.Time(before), s.opts.PruneChunk
	total := 0
	for {
		var c pruned
		err := s.submit(ctx, func(t *wtx) error {
			var err error
			c, err = t.prune(cutoff, chunk)
			return err
		})
		if err != nil {
			return total, err
		}
		total += c.messages
		if c.messages < chunk && c.events < chunk {
			return total, nil
		}
	}
}

type pruned struct{ messages, events int }

func (t *wtx) prune(before int64, limit int) (pruned, error) {
	var c pruned
	ids, err := t.pruneCandidates(before, limit)
	if err != nil {
		return c, err
	}
	for _, id := range ids {
		if _, err := t.exec(stPruneAttempts, id); err != nil {
			return c, err
		}
		if _, err := t.exec(stPruneMessage, id); err != nil {
			return c, err
		}
		if err := t.pruneChatops(id); err != nil {
			return c, err
		}
	}
	if err := t.pruneCallbacks(before, limit); err != nil {
		return c, err
	}
	c.messages = len(ids)
	c.events, err = t.execCount(stPruneEvents, before, limit)
	return c, err
}

func (t *wtx) pruneCandidates(before int64, limit int) ([]int64, error) {
	rows, err := t.stmt(stPruneSelect).QueryContext(context.Background(), before, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (t *wtx) execCount(st int, args ...any) (int, error) {
	res, err := t.exec(st, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
