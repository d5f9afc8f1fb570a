package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/codec"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

var _ outbox.ChatOps = (*Store)(nil)

// chatopsSchema is migration 2, the SQLite store's migration 5 for a
// cluster: GeWe's ids (NewMsgId, above 2^53) are bigint; a callback is
// claimed by one replica at a time (claimed_until, on the database's
// clock), so that two replicas' workers do not carry out one command
// twice, and a callback claimed by a replica that died is pending again
// once its claim ends.
const chatopsSchema = `
CREATE TABLE message_alerts (
	message bigint PRIMARY KEY REFERENCES messages (id),
	alerts  text   NOT NULL -- JSON array of event.AlertRef
);

-- The id GeWe gave a message sent (NewMsgId), for each outbox message it
-- carried: several when they were coalesced into one.
CREATE TABLE sent_ids (
	account    text   NOT NULL,
	new_msg_id bigint NOT NULL,
	message    bigint NOT NULL REFERENCES messages (id),
	sent_at    bigint NOT NULL,
	PRIMARY KEY (account, new_msg_id, message)
);
CREATE INDEX sent_ids_message ON sent_ids (message);

CREATE TABLE callbacks (
	id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	source        text        NOT NULL,
	app_id        text        NOT NULL,
	new_msg_id    bigint      NOT NULL,
	received_at   bigint      NOT NULL,
	state         text        NOT NULL,
	outcome       text        NOT NULL DEFAULT '', -- JSON of outbox.Command once done
	raw           bytea       NOT NULL,
	claimed_until timestamptz NOT NULL DEFAULT '-infinity',
	UNIQUE (app_id, new_msg_id)
);
CREATE INDEX callbacks_pending ON callbacks (id) WHERE state = 'pending';
CREATE INDEX callbacks_done ON callbacks (received_at) WHERE state = 'done';
`

// SentAs records the id GeWe gave the message that carried ids. Ids of
// messages no longer stored are skipped.
func (s *Store) SentAs(ctx context.Context, account string, newMsgID int64, ids []int64, at time.Time) error {
	return s.exec(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sent_ids (account, new_msg_id, message, sent_at)
			SELECT $1, $2, id, $4 FROM messages WHERE id = ANY($3) ORDER BY id
			ON CONFLICT DO NOTHING`, clean(account), newMsgID, ids, codec.Time(at))
		return err
	})
}

// SentAlerts returns the alerts of every message GeWe's newMsgID carried,
// each alert once (by fingerprint, else by labels).
func (s *Store) SentAlerts(ctx context.Context, account string, newMsgID int64) ([]event.AlertRef, error) {
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.pool.Query(ctx, `SELECT a.alerts FROM sent_ids s JOIN message_alerts a ON a.message = s.message
		WHERE s.account = $1 AND s.new_msg_id = $2 ORDER BY s.message`, clean(account), newMsgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var set codec.AlertSet
	for rows.Next() {
		var js string
		if err := rows.Scan(&js); err != nil {
			return nil, err
		}
		if err := set.Add(js); err != nil {
			return nil, err
		}
	}
	return set.List, rows.Err()
}

// AcceptCallback stores cb pending; ErrDuplicate when its AppID and
// NewMsgID were stored before, by this replica or another one. It returns
// once cb is committed.
func (s *Store) AcceptCallback(ctx context.Context, cb *outbox.Callback) error {
	at := cb.ReceivedAt
	if at.IsZero() {
		at = time.Now()
	}
	return s.exec(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO callbacks (source, app_id, new_msg_id, received_at, state, raw)
			VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT (app_id, new_msg_id) DO NOTHING RETURNING id`,
			clean(cb.Source), clean(cb.AppID), cb.NewMsgID, codec.Time(at), codec.Raw(cb.Raw)).Scan(&cb.ID)
		if err == pgx.ErrNoRows {
			return outbox.ErrDuplicate
		}
		return err
	})
}

const callbackCols = `id, source, app_id, new_msg_id, received_at, state, outcome, raw`

// PendingCallbacks claims up to limit (default 50) pending callbacks that
// no replica holds, oldest first, for CallbackLease: until the claim ends
// no other call returns them, on this replica or another one. A callback
// whose claim ended without CallbackDone (its replica died, or recording
// the outcome failed) is returned again.
func (s *Store) PendingCallbacks(ctx context.Context, limit int) ([]outbox.Callback, error) {
	_, limit = outbox.Page(0, limit)
	var out []outbox.Callback
	err := s.exec(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = queryCallbacks(ctx, tx, `WITH c AS (
				SELECT id FROM callbacks WHERE state = 'pending' AND claimed_until <= now()
				ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
			)
			UPDATE callbacks k SET claimed_until = now() + make_interval(secs => $2::float8)
			FROM c WHERE k.id = c.id
			RETURNING k.id, k.source, k.app_id, k.new_msg_id, k.received_at, k.state, k.outcome, k.raw`,
			limit, s.opts.CallbackLease.Seconds())
		return err
	})
	if err != nil {
		return nil, err
	}
	// RETURNING comes in no particular order.
	slices.SortFunc(out, func(a, b outbox.Callback) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Callbacks returns callbacks newest first, ids below before (0: all), up
// to limit (default 50, at most 500).
func (s *Store) Callbacks(ctx context.Context, before int64, limit int) ([]outbox.Callback, error) {
	before, limit = outbox.Page(before, limit)
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	return queryCallbacks(ctx, s.pool, `SELECT `+callbackCols+` FROM callbacks WHERE id < $1 ORDER BY id DESC LIMIT $2`,
		before, limit)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func queryCallbacks(ctx context.Context, q querier, query string, args ...any) ([]outbox.Callback, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outbox.Callback
	for rows.Next() {
		var cb outbox.Callback
		var at int64
		var outcome string
		var raw []byte
		if err := rows.Scan(&cb.ID, &cb.Source, &cb.AppID, &cb.NewMsgID, &at, &cb.State, &outcome, &raw); err != nil {
			return nil, err
		}
		if err := codec.Callback(&cb, at, outcome, raw); err != nil {
			return nil, err
		}
		out = append(out, cb)
	}
	return out, rows.Err()
}

// CallbackDone records the command's outcome and ends the callback.
func (s *Store) CallbackDone(ctx context.Context, id int64, c outbox.Command) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return s.exec(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE callbacks SET state = 'done', outcome = $2, claimed_until = '-infinity'
			WHERE id = $1`, id, string(b))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return outbox.ErrNotFound
		}
		return nil
	})
}
