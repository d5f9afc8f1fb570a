package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/codec"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

var _ outbox.ChatOps = (*Store)(nil)

// chatopsSchema is migration 5. Chat-ops statements are not prepared
// with the others: they run once per alert message or callback, not in
// the writer's hot path.
const chatopsSchema = `
CREATE TABLE message_alerts (
	message INTEGER PRIMARY KEY REFERENCES messages (id),
	alerts  TEXT    NOT NULL -- JSON array of event.AlertRef
);

-- The id GeWe gave a message sent (NewMsgId), for each outbox message it
-- carried: several when they were coalesced into one.
CREATE TABLE sent_ids (
	account    TEXT    NOT NULL,
	new_msg_id INTEGER NOT NULL,
	message    INTEGER NOT NULL REFERENCES messages (id),
	sent_at    INTEGER NOT NULL,
	PRIMARY KEY (account, new_msg_id, message)
) WITHOUT ROWID;
CREATE INDEX sent_ids_message ON sent_ids (message);

CREATE TABLE callbacks (
	id          INTEGER PRIMARY KEY,
	source      TEXT    NOT NULL,
	app_id      TEXT    NOT NULL,
	new_msg_id  INTEGER NOT NULL,
	received_at INTEGER NOT NULL,
	state       TEXT    NOT NULL,
	outcome     TEXT    NOT NULL DEFAULT '', -- JSON of outbox.Command once done
	raw         BLOB    NOT NULL,
	UNIQUE (app_id, new_msg_id)
);
CREATE INDEX callbacks_pending ON callbacks (id) WHERE state = 'pending';
CREATE INDEX callbacks_received ON callbacks (received_at);
`

// insertAlerts keeps the alerts of the message res inserted.
func (t *wtx) insertAlerts(res sql.Result, alerts string) error {
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	_, err = t.tx.ExecContext(context.Background(), `INSERT INTO message_alerts (message, alerts) VALUES (?, ?)`, id, alerts)
	return err
}

// pruneChatops deletes what chat-ops kept of a message being pruned.
func (t *wtx) pruneChatops(message int64) error {
	ctx := context.Background()
	if _, err := t.tx.ExecContext(ctx, `DELETE FROM message_alerts WHERE message = ?`, message); err != nil {
		return err
	}
	_, err := t.tx.ExecContext(ctx, `DELETE FROM sent_ids WHERE message = ?`, message)
	return err
}

// pruneCallbacks deletes callbacks done and received before before.
func (t *wtx) pruneCallbacks(before int64, limit int) error {
	_, err := t.tx.ExecContext(context.Background(), `DELETE FROM callbacks WHERE id IN (
		SELECT id FROM callbacks WHERE received_at < ?1 AND state = 'done' LIMIT ?2)`, before, limit)
	return err
}

// SentAs records the id GeWe gave the message that carried ids.
func (s *Store) SentAs(ctx context.Context, account string, newMsgID int64, ids []int64, at time.Time) error {
	sentAt := codec.Time(at)
	return s.submit(ctx, func(t *wtx) error {
		for _, id := range ids {
			if _, err := t.tx.ExecContext(context.Background(), `INSERT INTO sent_ids (account, new_msg_id, message, sent_at)
				VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`, account, newMsgID, id, sentAt); err != nil {
				return err
			}
		}
		return nil
	})
}

// SentAlerts returns the alerts of every message GeWe's newMsgID carried,
// each alert once (by fingerprint, else by labels).
func (s *Store) SentAlerts(ctx context.Context, account string, newMsgID int64) ([]event.AlertRef, error) {
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.rdb.QueryContext(ctx, `SELECT a.alerts FROM sent_ids s JOIN message_alerts a ON a.message = s.message
		WHERE s.account = ? AND s.new_msg_id = ? ORDER BY s.message`, account, newMsgID)
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
// NewMsgID were stored before. It returns once cb is on disk.
func (s *Store) AcceptCallback(ctx context.Context, cb *outbox.Callback) error {
	at := cb.ReceivedAt
	if at.IsZero() {
		at = time.Now()
	}
	raw := codec.Raw(cb.Raw)
	return s.submitIsolated(ctx, func(t *wtx) error {
		res, err := t.tx.ExecContext(context.Background(), `INSERT INTO callbacks (source, app_id, new_msg_id, received_at, state, raw)
			VALUES (?, ?, ?, ?, 'pending', ?) ON CONFLICT (app_id, new_msg_id) DO NOTHING`,
			cb.Source, cb.AppID, cb.NewMsgID, codec.Time(at), raw)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		switch {
		case err != nil:
			return err
		case n == 0:
			return outbox.ErrDuplicate
		}
		cb.ID, err = res.LastInsertId()
		return err
	})
}

const callbackCols = `id, source, app_id, new_msg_id, received_at, state, outcome, raw`

// PendingCallbacks returns up to limit pending callbacks, oldest first.
func (s *Store) PendingCallbacks(ctx context.Context, limit int) ([]outbox.Callback, error) {
	_, limit = outbox.Page(0, limit)
	return s.queryCallbacks(ctx, `SELECT `+callbackCols+` FROM callbacks INDEXED BY callbacks_pending
		WHERE state = 'pending' ORDER BY id LIMIT ?`, limit)
}

// Callbacks returns callbacks newest first, ids below before (0: all).
func (s *Store) Callbacks(ctx context.Context, before int64, limit int) ([]outbox.Callback, error) {
	before, limit = outbox.Page(before, limit)
	return s.queryCallbacks(ctx, `SELECT `+callbackCols+` FROM callbacks WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
}

func (s *Store) queryCallbacks(ctx context.Context, q string, args ...any) ([]outbox.Callback, error) {
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.rdb.QueryContext(ctx, q, args...)
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
	return s.submitIsolated(ctx, func(t *wtx) error {
		res, err := t.tx.ExecContext(context.Background(), `UPDATE callbacks SET state = 'done', outcome = ? WHERE id = ?`, string(b), id)
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
