package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations[i] brings the schema from version i to version i+1, kept in
// gewe_bridge_schema. Append, never edit a released step.
//
// Times are unix nanoseconds as in the SQLite store (0: not set), on the
// clock of the replica that wrote them; only the leases use the database's
// clock, the one clock every replica shares. Message text and card XML are
// bytea: a template may render a NUL or invalid UTF-8, which text refuses.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE events (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_id    text   NOT NULL,
	source      text   NOT NULL,
	event_name  text   NOT NULL,
	dedup_key   text   NOT NULL DEFAULT '',
	received_at bigint NOT NULL,
	raw         bytea -- S2-compressed behind a format byte (encodeRaw)
);
CREATE INDEX events_received ON events (received_at);

CREATE TABLE messages (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event       bigint NOT NULL REFERENCES events (id),
	account     text   NOT NULL,
	rule        text   NOT NULL,
	recipient   text   NOT NULL,
	text        bytea  NOT NULL DEFAULT '',
	at          text   NOT NULL DEFAULT '', -- JSON array of wxids, '' for none
	xml         bytea  NOT NULL DEFAULT '',
	state       text   NOT NULL,
	attempts    int    NOT NULL DEFAULT 0,
	created_at  bigint NOT NULL,
	updated_at  bigint NOT NULL,
	next_at     bigint NOT NULL,
	sent_at     bigint NOT NULL DEFAULT 0,
	last_error  text   NOT NULL DEFAULT '',
	-- The lease token a send was started under (0: none in flight) and when.
	claim_token bigint NOT NULL DEFAULT 0,
	claimed_at  bigint NOT NULL DEFAULT 0
);
-- Due, NextDue, the pending listing and the backlog.
CREATE INDEX messages_pending ON messages (account, id) INCLUDE (next_at) WHERE state = 'pending';
CREATE INDEX messages_event ON messages (event);
CREATE INDEX messages_done ON messages (updated_at) WHERE state IN ('sent', 'dead', 'dry_run');
CREATE INDEX messages_dead ON messages (id) WHERE state = 'dead';
-- The pacing state a new lease holder reads.
CREATE INDEX messages_sent ON messages (account, sent_at) WHERE state = 'sent';
CREATE INDEX messages_claimed ON messages (account) WHERE state = 'pending' AND claim_token <> 0;

CREATE TABLE attempts (
	id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message bigint NOT NULL REFERENCES messages (id),
	at      bigint NOT NULL,
	error   text   NOT NULL
);
CREATE INDEX attempts_message ON attempts (message);
CREATE INDEX attempts_at ON attempts (at);

-- One row per key accepted within the window: the unique key that makes a
-- redelivery to any replica a duplicate (INSERT ... ON CONFLICT).
CREATE TABLE dedup (
	key         text   PRIMARY KEY,
	accepted_at bigint NOT NULL
);
CREATE INDEX dedup_accepted ON dedup (accepted_at);

-- One sender per account in the cluster.
CREATE SEQUENCE lease_tokens;
CREATE TABLE leases (
	account    text        PRIMARY KEY,
	holder     text        NOT NULL,
	token      bigint      NOT NULL,
	expires_at timestamptz NOT NULL
);

-- Small bookkeeping values; Ping writes here.
CREATE TABLE meta (
	key   text   PRIMARY KEY,
	value bigint NOT NULL
);
`,
	// 2: chat-ops (chatops.go): the alerts each message carried, the id
	// GeWe gave each message sent, and the callbacks GeWe made with
	// incoming messages, kept until their command is carried out.
	chatopsSchema,
}

// migrateLock is the transaction-scoped advisory lock that serialises the
// migrations of replicas starting at once ("gewe-bridge" in ASCII). A
// transaction lock is released by COMMIT or ROLLBACK, so it cannot leak
// through the pool the way a session lock does.
const migrateLock = 0x6765_7765_6272_6964

// migrate brings the database to the newest version in one transaction,
// under migrateLock, and refuses a database written by a newer version.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // no-op after Commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
		return fmt.Errorf("lock for migration: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS gewe_bridge_schema (version int NOT NULL)`); err != nil {
		return err
	}
	var version int
	err = tx.QueryRow(ctx, `SELECT version FROM gewe_bridge_schema`).Scan(&version)
	switch {
	case err == pgx.ErrNoRows:
		if _, err := tx.Exec(ctx, `INSERT INTO gewe_bridge_schema (version) VALUES (0)`); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d)", version, len(migrations))
	}
	for v := version; v < len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE gewe_bridge_schema SET version = $1`, len(migrations)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
