package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] brings the schema from version i to version i+1; the
// version is kept in PRAGMA user_version. Append, never edit a released step.
//
// Times are unix nanoseconds; 0 means "not set". Every index also holds the
// rowid (messages.id) as its last column, so (account, state, next_at) is in
// effect (account, state, next_at, id). Indexes are kept to what the queries
// need: each one is written on every accepted message, and bytes written per
// commit are what limits throughput. Foreign keys are declared for readers
// of the schema but not enforced (PRAGMA foreign_keys stays off): checking
// them would cost a lookup per insert, and the writer keeps them consistent.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE events (
	id          INTEGER PRIMARY KEY,
	event_id    TEXT    NOT NULL,
	source      TEXT    NOT NULL,
	event_name  TEXT    NOT NULL,
	dedup_key   TEXT    NOT NULL DEFAULT '',
	received_at INTEGER NOT NULL,
	raw         BLOB -- last: the big column, read only when asked for (encodeRaw)
);
CREATE INDEX events_received ON events (received_at);

CREATE TABLE messages (
	id         INTEGER PRIMARY KEY,
	event      INTEGER NOT NULL REFERENCES events (id),
	account    TEXT    NOT NULL,
	rule       TEXT    NOT NULL,
	recipient  TEXT    NOT NULL,
	text       TEXT    NOT NULL DEFAULT '',
	at         TEXT    NOT NULL DEFAULT '', -- JSON array of wxids, '' for none
	xml        TEXT    NOT NULL DEFAULT '',
	state      TEXT    NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL, -- last state change: prune age of sent and dead
	next_at    INTEGER NOT NULL,
	sent_at    INTEGER NOT NULL DEFAULT 0,
	last_error TEXT    NOT NULL DEFAULT ''
);
-- Due and NextDue.
CREATE INDEX messages_due ON messages (account, state, next_at);
-- List by state, newest first.
CREATE INDEX messages_state ON messages (state);
-- Prune: finding an event's remaining messages.
CREATE INDEX messages_event ON messages (event);
-- Prune: finished messages by age. Partial, so pending rows cost nothing.
CREATE INDEX messages_done ON messages (updated_at) WHERE state IN ('sent', 'dead');

CREATE TABLE attempts (
	id      INTEGER PRIMARY KEY,
	message INTEGER NOT NULL REFERENCES messages (id),
	at      INTEGER NOT NULL,
	error   TEXT    NOT NULL
);
CREATE INDEX attempts_message ON attempts (message);

CREATE TABLE dedup (
	key         TEXT    PRIMARY KEY,
	accepted_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX dedup_accepted ON dedup (accepted_at);

-- Small bookkeeping values; Ping writes here.
CREATE TABLE meta (
	key   TEXT    PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
`,
	// 2: Due walked every due message of (account, state, next_at) and
	// sorted them by id to take the oldest: its cost grew with the backlog
	// (a quarter of the CPU under load with 100k pending). Pending messages
	// in id order, with next_at in the index, let it stop at its limit.
	`
DROP INDEX messages_due;
CREATE INDEX messages_pending ON messages (account, id, next_at) WHERE state = 'pending';
`,
	// 3: de-duplication keys are checked in memory against the events
	// (dedup.go): a table keyed by random keys dirtied a page per insert.
	// messages_state was written for every message to serve the admin
	// listing by state: dead messages are few and get a partial index;
	// pending ones are listed from messages_pending, sent ones by id.
	`
DROP TABLE dedup;
DROP INDEX messages_state;
CREATE INDEX messages_dead ON messages (id) WHERE state = 'dead';
`,
	// 4: messages of a dry run end in their own state, dry_run, never
	// 'sent'; Prune finds them by age with the finished ones. The state
	// column is TEXT without a CHECK: only the partial index changes.
	`
DROP INDEX messages_done;
CREATE INDEX messages_done ON messages (updated_at) WHERE state IN ('sent', 'dead', 'dry_run');
`,
	// 5: chat-ops (chatops.go): the alerts each message carried, the id
	// GeWe gave each message sent, and the callbacks GeWe made with
	// incoming messages, kept until their command is carried out.
	chatopsSchema,
}

// migrate brings the database to the newest schema version, one transaction
// per step, and refuses a database written by a newer version.
func migrate(ctx context.Context, db *sql.DB) error {
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d)", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if err := migrateStep(ctx, db, v); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
	}
	return nil
}

func migrateStep(ctx context.Context, db *sql.DB, from int) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if _, err := tx.ExecContext(ctx, migrations[from]); err != nil {
		return err
	}
	// PRAGMA does not take parameters; from+1 is an int we control.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", from+1)); err != nil {
		return err
	}
	return tx.Commit()
}

// Statements of the writer connection, prepared once at Open. Their index in
// writeSQL is what wtx.exec takes.
const (
	stSavepoint = iota
	stRelease
	stRollbackTo
	stInsertEvent
	stInsertMessage
	stSent
	stRetry
	stDead
	stDryRun
	stInsertAttempt
	stRequeue
	stPruneSelect
	stPruneAttempts
	stPruneMessage
	stPruneEvents
	stPing
	numWriteStmts
)

var writeSQL = [numWriteStmts]string{
	stSavepoint:  `SAVEPOINT req`,
	stRelease:    `RELEASE req`,
	stRollbackTo: `ROLLBACK TO req`,
	stInsertEvent: `INSERT INTO events (event_id, source, event_name, dedup_key, received_at, raw)
		VALUES (?, ?, ?, ?, ?, ?)`,
	stInsertMessage: `INSERT INTO messages (event, account, rule, recipient, text, at, xml,
		state, created_at, updated_at, next_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?8, ?9)`,
	stSent: `UPDATE messages SET state = 'sent', sent_at = ?2, updated_at = ?2 WHERE id = ?1`,
	// Retry and Dead only touch pending messages: a message already sent is
	// not made dead by a late report.
	stRetry: `UPDATE messages SET attempts = attempts + 1, last_error = ?2, updated_at = ?3, next_at = ?4
		WHERE id = ?1 AND state = 'pending'`,
	stDead: `UPDATE messages SET attempts = attempts + 1, last_error = ?2, updated_at = ?3, state = 'dead'
		WHERE id = ?1 AND state = 'pending'`,
	stDryRun:        `UPDATE messages SET state = 'dry_run', updated_at = ?2 WHERE id = ?1 AND state = 'pending'`,
	stInsertAttempt: `INSERT INTO attempts (message, at, error) VALUES (?, ?, ?)`,
	stRequeue: `UPDATE messages SET state = 'pending', next_at = ?2, updated_at = ?2, sent_at = 0, attempts = 0
		WHERE id = ?1`,
	// INDEXED BY: the partial index holds finished messages by age; without
	// statistics the planner might scan every message instead (it preferred
	// the since dropped messages_state, which scanned every finished one).
	stPruneSelect: `SELECT id FROM messages INDEXED BY messages_done
		WHERE state IN ('sent', 'dead', 'dry_run') AND updated_at < ?1 LIMIT ?2`,
	stPruneAttempts: `DELETE FROM attempts WHERE message = ?`,
	stPruneMessage:  `DELETE FROM messages WHERE id = ?`,
	stPruneEvents: `DELETE FROM events WHERE id IN (
		SELECT e.id FROM events e
		WHERE e.received_at < ?1 AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.event = e.id)
		LIMIT ?2)`,
	stPing: `INSERT INTO meta (key, value) VALUES ('ping', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
}

// The columns scanQueued reads, in order.
const queuedCols = `m.id, e.event_id, e.source, m.account, m.rule, m.recipient, m.text, m.at, m.xml,
	m.state, m.attempts, m.created_at, m.next_at, m.sent_at, m.last_error`

// Statements of the read pool.
const (
	rdDue = iota
	rdNextDue
	rdListAll
	rdListPending
	rdListSent
	rdListDead
	rdListDryRun
	rdGet
	rdAttempts
	rdRaw
	rdBacklog
	rdDedupEvent
	rdDedupKeys
	numReadStmts
)

var readSQL = [numReadStmts]string{
	// The ids are picked and sorted on the index alone (the rowid is in it);
	// only the limit's rows are then read. Sorting whole rows would read
	// every due message when a backlog builds up.
	rdDue: `SELECT ` + queuedCols + ` FROM messages m JOIN events e ON e.id = m.event
		WHERE m.id IN (SELECT id FROM messages INDEXED BY messages_pending
			WHERE account = ?1 AND state = 'pending' AND next_at <= ?2 ORDER BY id LIMIT ?3)
		ORDER BY m.id`,
	// Called when nothing is due: the pending messages are then the few
	// waiting for a retry.
	rdNextDue: `SELECT MIN(next_at) FROM messages INDEXED BY messages_pending
		WHERE account = ? AND state = 'pending'`,
	rdListAll: `SELECT ` + queuedCols + ` FROM messages m JOIN events e ON e.id = m.event
		WHERE m.id < ?1 ORDER BY m.id DESC LIMIT ?2`,
	// By state, newest first. Pending messages come from their partial
	// index (sorted there: a backlog is listed in a fraction of a second);
	// dead ones from theirs; sent ones, most messages, by id.
	rdListPending: `SELECT ` + queuedCols + ` FROM messages m JOIN events e ON e.id = m.event
		WHERE m.id IN (SELECT id FROM messages INDEXED BY messages_pending
			WHERE state = 'pending' AND id < ?1 ORDER BY id DESC LIMIT ?2)
		ORDER BY m.id DESC`,
	rdListSent: `SELECT ` + queuedCols + ` FROM messages m NOT INDEXED JOIN events e ON e.id = m.event
		WHERE m.state = 'sent' AND m.id < ?1 ORDER BY m.id DESC LIMIT ?2`,
	rdListDead: `SELECT ` + queuedCols + ` FROM messages m INDEXED BY messages_dead JOIN events e ON e.id = m.event
		WHERE m.state = 'dead' AND m.id < ?1 ORDER BY m.id DESC LIMIT ?2`,
	// Dry runs are for trying a config: few, listed by id like sent ones.
	rdListDryRun: `SELECT ` + queuedCols + ` FROM messages m NOT INDEXED JOIN events e ON e.id = m.event
		WHERE m.state = 'dry_run' AND m.id < ?1 ORDER BY m.id DESC LIMIT ?2`,
	rdGet: `SELECT ` + queuedCols + ` FROM messages m JOIN events e ON e.id = m.event
		WHERE m.id = ?`,
	rdAttempts: `SELECT at, error FROM attempts WHERE message = ? ORDER BY id`,
	rdRaw:      `SELECT e.raw FROM messages m JOIN events e ON e.id = m.event WHERE m.id = ?`,
	rdBacklog: `SELECT account, COUNT(*), MIN(created_at) FROM messages WHERE state = 'pending'
		GROUP BY account`,
	rdDedupEvent: `SELECT dedup_key, received_at FROM events WHERE id = ?`,
	// The keys accepted from ?1 up to ?2, through events_received.
	rdDedupKeys: `SELECT id, dedup_key, received_at FROM events
		WHERE received_at >= ?1 AND received_at < ?2 AND dedup_key != '' ORDER BY id`,
}
