package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
)

// When several replicas share the outbox (outbox.Cluster), each runs a
// sender for the account, but only the one holding the account's lease
// sends: pacing and "one send at a time" hold for the whole cluster.
//
// The holder renews the lease every few seconds; a standby tries to take it
// as often. A holder that dies stops renewing, and a standby takes over
// once the lease has expired on the database's clock, with a greater
// fencing token. Before each call the holder claims the messages under its
// token, which extends the lease over the longest a call may take
// (gewe.timeout): a claim fails once another replica holds the lease, so a
// stale holder cannot send, and no takeover can happen while a claimed
// call may still be running.
//
// A new holder starts its pacer from the sends of the last minute (the
// last day with a daily cap) the database recorded, so a failover does not
// burst, and settles the sends that were in flight when their replica
// stopped: they may or may not have been delivered, so delivery.on_timeout
// decides, as for a call that timed out.

const (
	leaseTTL   = 10 * time.Second // a lease not renewed ends after this
	leasePoll  = 3 * time.Second  // a holder renews, a standby tries, this often
	claimSlack = 2 * time.Second  // added to gewe.timeout for a claim's hold
)

type leaseState struct {
	cluster outbox.Cluster
	holder  string        // this process, unique
	hold    time.Duration // a claim keeps the lease at least this long
	lease   outbox.Lease  // Token 0: not held
	renewAt time.Time     // when to renew a held lease
	standby bool          // logged once per change
}

func newLeaseState(c outbox.Cluster, sendTimeout time.Duration) *leaseState {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &leaseState{cluster: c, holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])),
		hold: sendTimeout + claimSlack}
}

// holdLease says whether this sender may send now, taking or renewing the
// lease when it is time. A standby waits a poll interval before saying no.
func (s *Sender) holdLease(ctx context.Context) bool {
	ls := s.lease
	now := s.now()
	if ls.lease.Token != 0 && now.Before(ls.renewAt) {
		return true
	}
	l, ok, err := ls.cluster.Acquire(ctx, s.Account, ls.holder, leaseTTL)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			s.log.Error("taking the account's lease failed", "err", err)
			ls.lease = outbox.Lease{}
			s.sleep(ctx, time.Second, false)
		}
		return false
	case !ok:
		if ls.lease.Token != 0 || !ls.standby {
			s.log.Info("another replica holds the account's lease and sends; standing by")
		}
		ls.lease, ls.standby = outbox.Lease{}, true
		s.state.Store(&SenderState{Account: s.Account, DryRun: s.dryRun, Standby: true})
		s.sleep(ctx, leasePoll, false)
		return false
	}
	if l.Token != ls.lease.Token {
		if err := s.takeOver(ctx, l); err != nil {
			if ctx.Err() == nil {
				s.log.Error("reading the pacing state for the account's lease failed", "err", err)
				s.sleep(ctx, time.Second, false)
			}
			return false
		}
	}
	ls.lease, ls.renewAt = l, now.Add(leasePoll)
	if ls.standby {
		ls.standby = false
		s.state.Store(nil)
	}
	return true
}

// takeOver starts the sends of a new lease: the pacer from what the
// cluster sent recently, and the sends left in flight settled.
func (s *Sender) takeOver(ctx context.Context, l outbox.Lease) error {
	ls := s.lease
	now := s.now()
	window := time.Minute
	if g := s.cfg.PersonGap.D(); g > window {
		window = g
	}
	if s.cfg.DailyCap > 0 {
		window = 24 * time.Hour
	}
	sends, err := ls.cluster.RecentSends(ctx, s.Account, now.Add(-window))
	if err != nil {
		return err
	}
	orphans, err := ls.cluster.Orphans(ctx, l)
	if err != nil {
		return err
	}
	p := NewPacer(s.cfg)
	for _, sd := range sends {
		p.Record(sd.To, sd.At)
	}
	s.pacer = p
	s.log.Info("took the account's lease: this replica sends", "token", l.Token, "recent_sends", len(sends))
	var ids []int64
	for _, q := range orphans {
		if _, mine := s.unrecorded[q.ID]; !mine {
			ids = append(ids, q.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rctx := context.WithoutCancel(ctx)
	if s.cfg.OnTimeout == "drop" {
		a := outbox.Attempt{At: now, Error: "in flight when its replica stopped; may have been delivered; not retried (delivery.on_timeout: drop)"}
		if err := s.outbox.Dead(rctx, ids, a); err != nil {
			return err
		}
		s.metrics.Dead(len(ids))
		s.log.Warn("sends in flight when their replica stopped were given up (delivery.on_timeout: drop)", "ids", ids)
		return nil
	}
	a := outbox.Attempt{At: now, Error: "in flight when its replica stopped; sent again (delivery.on_timeout: retry)"}
	if err := s.outbox.Retry(rctx, ids, a, now); err != nil {
		return err
	}
	s.metrics.Retried(len(ids))
	s.log.Warn("sends in flight when their replica stopped will be sent again (delivery.on_timeout: retry)", "ids", ids)
	return nil
}

// claim marks batch in flight under the lease and returns what may be
// sent: nothing once the lease is lost.
func (s *Sender) claim(ctx context.Context, batch []outbox.Queued) []outbox.Queued {
	ls := s.lease
	ids := make([]int64, len(batch))
	for i, q := range batch {
		ids[i] = q.ID
	}
	got, err := ls.cluster.Claim(ctx, ls.lease, ids, s.now(), ls.hold)
	switch {
	case errors.Is(err, outbox.ErrLeaseLost):
		s.log.Warn("the account's lease was lost before a send; another replica sends")
		ls.lease = outbox.Lease{}
		return nil
	case err != nil:
		if ctx.Err() == nil {
			s.log.Error("claiming messages to send failed", "err", err)
			s.holdOn(s.now())
		}
		return nil
	}
	claimed := make(map[int64]bool, len(got))
	for _, id := range got {
		claimed[id] = true
	}
	out := batch[:0:0]
	for _, q := range batch {
		if claimed[q.ID] {
			out = append(out, q)
		}
	}
	// The claim renewed the lease.
	ls.renewAt = s.now().Add(leasePoll)
	return out
}

// releaseLease hands the lease over at shutdown, once the last send is
// recorded.
func (s *Sender) releaseLease(ctx context.Context) {
	ls := s.lease
	if ls.lease.Token == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := ls.cluster.Release(rctx, ls.lease); err != nil {
		s.log.Warn("releasing the account's lease failed; another replica takes over when it expires", "err", err)
	}
	ls.lease = outbox.Lease{}
}

// forwardWakeups wakes the sender when any replica commits messages of its
// account.
func (s *Sender) forwardWakeups(ctx context.Context) {
	w := s.lease.cluster.Wakeups()
	for {
		select {
		case <-ctx.Done():
			return
		case acct, ok := <-w:
			if !ok {
				return
			}
			if acct == s.Account {
				s.Notify()
			}
		}
	}
}
