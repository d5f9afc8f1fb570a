package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/codec"
)

// A lease is a row of leases: who may send for an account, until when on
// the database's clock, under which fencing token. A row and not a session
// advisory lock: a session lock belongs to one pooled connection, and
// leaks to whoever gets that connection next (or through PgBouncer). The
// lease expires by itself when its holder dies; every expiry is judged on
// clock_timestamp(), so the replicas' clocks do not matter.

// Acquire takes the account's lease for holder, or renews it. A new holder
// gets a new token from lease_tokens; the same holder keeps its own.
func (s *Store) Acquire(ctx context.Context, account, holder string, ttl time.Duration) (outbox.Lease, bool, error) {
	if err := s.readLock(); err != nil {
		return outbox.Lease{}, false, err
	}
	defer s.mu.RUnlock()
	l := outbox.Lease{Account: account, Holder: holder}
	err := s.pool.QueryRow(ctx, `INSERT INTO leases AS l (account, holder, token, expires_at)
		VALUES ($1, $2, nextval('lease_tokens'), clock_timestamp() + $3 * interval '1 millisecond')
		ON CONFLICT (account) DO UPDATE SET
			holder = excluded.holder,
			token = CASE WHEN l.holder = excluded.holder THEN l.token ELSE excluded.token END,
			expires_at = CASE WHEN l.holder = excluded.holder THEN GREATEST(l.expires_at, excluded.expires_at)
				ELSE excluded.expires_at END
		WHERE l.holder = excluded.holder OR l.expires_at <= clock_timestamp()
		RETURNING token`, account, holder, ttl.Milliseconds()).Scan(&l.Token)
	if errors.Is(err, pgx.ErrNoRows) {
		return outbox.Lease{}, false, nil
	}
	if err != nil {
		return outbox.Lease{}, false, err
	}
	return l, true, nil
}

// Claim renews the lease for at least hold and marks the pending ones of
// ids in flight under it, in one short transaction: the lease row is
// locked while the messages are, so a takeover cannot slip in between.
// Messages another transaction holds (a requeue, a prune) are skipped.
func (s *Store) Claim(ctx context.Context, l outbox.Lease, ids []int64, now time.Time, hold time.Duration) ([]int64, error) {
	var claimed []int64
	err := s.exec(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE leases
			SET expires_at = GREATEST(expires_at, clock_timestamp() + $3 * interval '1 millisecond')
			WHERE account = $1 AND token = $2 AND expires_at > clock_timestamp()`,
			l.Account, l.Token, hold.Milliseconds())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return outbox.ErrLeaseLost
		}
		rows, err := tx.Query(ctx, `UPDATE messages SET claim_token = $3, claimed_at = $4
			WHERE id IN (SELECT id FROM messages WHERE id = ANY($1) AND account = $2 AND state = 'pending'
				FOR UPDATE SKIP LOCKED)
			RETURNING id`, ids, l.Account, l.Token, codec.Time(now))
		if err != nil {
			return err
		}
		claimed, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		return err
	})
	if err != nil {
		return nil, err
	}
	return claimed, nil
}

// Release ends the lease now, if it is still l's.
func (s *Store) Release(ctx context.Context, l outbox.Lease) error {
	if err := s.readLock(); err != nil {
		return err
	}
	defer s.mu.RUnlock()
	_, err := s.pool.Exec(ctx, `UPDATE leases SET expires_at = clock_timestamp()
		WHERE account = $1 AND token = $2`, l.Account, l.Token)
	return err
}

// Orphans returns the account's pending messages claimed under an earlier
// token than l's: sends in flight when their replica died.
func (s *Store) Orphans(ctx context.Context, l outbox.Lease) ([]outbox.Queued, error) {
	return s.queryQueued(ctx, `SELECT `+queuedCols+fromMessages+`
		WHERE m.account = $1 AND m.state = 'pending' AND m.claim_token <> 0 AND m.claim_token < $2
		ORDER BY m.id`, l.Account, l.Token)
}

// RecentSends returns the calls made for account since since, oldest
// first: messages sent, failed attempts, and sends still in flight (a
// coalesced batch is one call: its messages share recipient and time).
func (s *Store) RecentSends(ctx context.Context, account string, since time.Time) ([]outbox.Send, error) {
	if err := s.readLock(); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	rows, err := s.pool.Query(ctx, `
		SELECT recipient, sent_at FROM messages WHERE account = $1 AND state = 'sent' AND sent_at >= $2
		UNION SELECT m.recipient, a.at FROM attempts a JOIN messages m ON m.id = a.message
			WHERE a.at >= $2 AND m.account = $1
		UNION SELECT recipient, claimed_at FROM messages
			WHERE account = $1 AND state = 'pending' AND claim_token <> 0 AND claimed_at >= $2
		ORDER BY 2`, account, codec.Time(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outbox.Send
	for rows.Next() {
		var sd outbox.Send
		var at int64
		if err := rows.Scan(&sd.To, &at); err != nil {
			return nil, err
		}
		sd.At = codec.ParseTime(at)
		out = append(out, sd)
	}
	return out, rows.Err()
}

// Wakeups receives the account of messages committed by any replica.
func (s *Store) Wakeups() <-chan string { return s.wake }

// listen holds a connection of its own (LISTEN is a session's, and must
// not go back to the pool) and passes notifications on, reconnecting
// after a failure. A wake-up that finds the channel full is dropped: one
// waiting is enough to wake the sender.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig) {
	defer s.wg.Done()
	defer close(s.wake)
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+notifyChannel); err == nil {
				for {
					n, err := conn.WaitForNotification(ctx)
					if err != nil {
						break
					}
					select {
					case s.wake <- n.Payload:
					default:
					}
				}
			}
			conn.Close(context.Background())
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
