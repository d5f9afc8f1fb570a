// Package delivery sends what the outbox holds: one sender per GeWe
// account, paced like a person (pacing.go), deciding for each failure
// whether to retry, give up or pause the account; or a dry run that logs
// each message instead.
package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
	"github.com/gewe-bridge/gewe-bridge/bridge/metrics"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// Client sends one message; gewe.Client is the real one. The contract is
// Alertmanager's, with the account in view: the outcome says whether the
// message was sent, is worth another try, can never be sent, or waits for
// the account (gewe.OutcomeOf decides it from the answer, once).
type Client interface {
	Send(ctx context.Context, m gewe.Message) (gewe.Outcome, error)
}

// Sender delivers one account's messages from the outbox, one at a time:
// never two sends in flight for an account, paced like a person.
type Sender struct {
	Account string
	outbox  outbox.Queue
	client  Client
	cfg     config.DeliveryConfig
	limits  config.LimitsConfig
	pacer   *Pacer
	wake    chan struct{}
	log     *slog.Logger
	metrics *metrics.Metrics
	now     func() time.Time
	dryRun  bool // log and record as dry_run, without pacing; never call the client

	pause      time.Duration // current pause backoff after an account failure
	pauseUntil time.Time
	// state is what State reports; the loop writes it, the admin API reads.
	state atomic.Pointer[SenderState]
	// unrecorded are messages sent whose record the store refused; they
	// are skipped until the record is written.
	unrecorded map[int64]time.Time

	// lease is set when the outbox is shared by several replicas
	// (lease.go): then only the holder of the account's lease sends.
	lease *leaseState
}

// coalesceSep separates notifications merged into one message.
const coalesceSep = "\n\n"

const (
	maxPause         = 10 * time.Minute // the longest pause of an account
	storeTroubleWait = 5 * time.Second  // hold-off while the outbox cannot be written
	pacedRecheck     = time.Second      // how often a paced sender looks for messages it may send
)

// NewSender returns the sender for one account.
func NewSender(account string, queue outbox.Queue, client Client, cfg *config.Config, m *metrics.Metrics, log *slog.Logger) *Sender {
	s := &Sender{
		Account: account, outbox: queue, client: client,
		cfg: cfg.Delivery, limits: cfg.Limits,
		pacer: NewPacer(cfg.Delivery), wake: make(chan struct{}, 1),
		log: log.With("account", account), metrics: m, now: time.Now,
		dryRun: cfg.DryRun,
	}
	if c, ok := queue.(outbox.Cluster); ok {
		s.lease = newLeaseState(c, cfg.Gewe.Timeout.D())
	}
	return s
}

// SenderState is what a sender is doing, for status pages.
type SenderState struct {
	Account     string    `json:"account"`
	DryRun      bool      `json:"dry_run"`
	Paused      bool      `json:"paused"`
	PausedUntil time.Time `json:"paused_until,omitzero"`
	// PauseReason is short and snake_case (wrong_endpoint, token, offline,
	// store_unwritable, ...); PauseError is the error that paused it.
	PauseReason string `json:"pause_reason,omitempty"`
	PauseError  string `json:"pause_error,omitempty"`
	// Standby: another replica holds the account's lease and sends.
	Standby bool `json:"standby,omitempty"`
}

// State says whether the sender is paused, until when and why.
func (s *Sender) State() SenderState {
	if st := s.state.Load(); st != nil {
		if st.Paused && !s.now().Before(st.PausedUntil) {
			return SenderState{Account: s.Account, DryRun: s.dryRun}
		}
		return *st
	}
	return SenderState{Account: s.Account, DryRun: s.dryRun}
}

func (s *Sender) setPaused(until time.Time, reason string, err error) {
	st := &SenderState{Account: s.Account, DryRun: s.dryRun, Paused: true, PausedUntil: until, PauseReason: reason}
	if err != nil {
		st.PauseError = err.Error()
	}
	s.state.Store(st)
}

// Notify wakes the sender: new messages were accepted.
func (s *Sender) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx is done. A send in flight when ctx ends is finished
// (and its outcome recorded), so a shutdown does not turn a delivered
// message into a duplicate.
func (s *Sender) Run(ctx context.Context) {
	if s.lease != nil {
		go s.forwardWakeups(ctx)
		defer s.releaseLease(ctx)
	}
	for ctx.Err() == nil {
		if wait := s.pauseUntil.Sub(s.now()); wait > 0 {
			s.metrics.Paused(s.Account, s.State().PauseReason)
			if s.lease != nil && s.lease.lease.Token != 0 {
				// A paused holder keeps its lease: a standby that took it
				// over would send straight into the paused account.
				s.sleep(ctx, min(wait, leasePoll), false)
				s.holdLease(ctx)
				continue
			}
			s.sleep(ctx, wait, false)
			continue
		}
		s.metrics.Paused(s.Account, "")
		if st := s.state.Load(); st != nil && st.Paused {
			s.state.Store(nil)
		}
		if s.lease != nil && !s.holdLease(ctx) {
			continue
		}
		if len(s.unrecorded) > 0 {
			// Nothing else goes out before these are on record.
			s.retryRecords(context.WithoutCancel(ctx))
			continue
		}
		// Enough to coalesce a storm into full messages; each read costs.
		due, err := s.outbox.Due(ctx, s.Account, s.now(), 64)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("reading the outbox failed", "err", err)
				s.sleep(ctx, time.Second, false)
			}
			continue
		}
		if len(due) == 0 {
			s.idle(ctx)
			continue
		}
		if s.dryRun {
			s.logDryRun(ctx, due)
			continue
		}
		batch, wait := s.next(due)
		if batch == nil {
			// Look again at least every second: a new message may be one
			// the pacer lets through now. Not on every Notify: during a
			// storm that re-read the outbox for every webhook.
			s.sleep(ctx, min(wait, pacedRecheck), false)
			continue
		}
		s.send(ctx, batch)
	}
}

// idle waits for the next due message, a Notify, or ctx.
func (s *Sender) idle(ctx context.Context) {
	next, ok, err := s.outbox.NextDue(ctx, s.Account)
	wait := time.Minute
	if err == nil && ok {
		wait = max(next.Sub(s.now()), 0)
	}
	if s.lease != nil {
		// Renew the lease, and poll: a notification from another replica
		// can be lost (or never come, behind PgBouncer).
		wait = min(wait, leasePoll)
	}
	s.sleep(ctx, wait, true)
}

// sleep waits d, or until ctx ends; with wakeable, a Notify ends it too.
func (s *Sender) sleep(ctx context.Context, d time.Duration, wakeable bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	var wake chan struct{}
	if wakeable {
		wake = s.wake
	}
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-wake:
	}
}

// next picks what to send now: the oldest due message whose recipient the
// pacer lets through, with what can be merged into it. Each recipient's
// messages keep their order, but one recipient waiting for its gap does
// not hold up the others. With nothing allowed yet, it says how long to
// wait.
func (s *Sender) next(due []outbox.Queued) ([]outbox.Queued, time.Duration) {
	now := s.now()
	seen := make(map[string]bool, 8)
	soonest := time.Duration(-1)
	for i, q := range due {
		to := q.Message.To
		if seen[to] {
			continue
		}
		seen[to] = true
		wait := s.pacer.Wait(to, now)
		if wait == 0 {
			return s.coalesce(due[i:]), 0
		}
		if soonest < 0 || wait < soonest {
			soonest = wait
		}
	}
	return nil, soonest
}

// coalesce takes the oldest due message and, when it is text, the other
// due text messages to the same recipient that fit with it in one message:
// an alert storm to one group becomes a few long messages, not hundreds.
func (s *Sender) coalesce(due []outbox.Queued) []outbox.Queued {
	first := due[0]
	if first.Message.IsApp() || !s.cfg.Coalesce {
		return due[:1]
	}
	batch := []outbox.Queued{first}
	size := len(first.Message.Text)
	for _, q := range due[1:] {
		if q.Message.To != first.Message.To {
			continue
		}
		if q.Message.IsApp() {
			break // a later text must not overtake this card
		}
		if size+len(coalesceSep)+len(q.Message.Text) > s.limits.TextBytes {
			break
		}
		size += len(coalesceSep) + len(q.Message.Text)
		batch = append(batch, q)
	}
	return batch
}

// merge builds the one message that carries a batch.
func merge(batch []outbox.Queued) gewe.Message {
	m := batch[0].Message
	if len(batch) == 1 {
		return gewe.Message{To: m.To, Text: m.Text, At: m.At, XML: m.XML}
	}
	texts := make([]string, len(batch))
	var at []string
	for i, q := range batch {
		texts[i] = q.Message.Text
		for _, w := range q.Message.At {
			if !slices.Contains(at, w) {
				at = append(at, w)
			}
		}
	}
	return gewe.Message{To: m.To, Text: strings.Join(texts, coalesceSep), At: at}
}

// send makes one call and records its outcome for every message in batch.
func (s *Sender) send(ctx context.Context, batch []outbox.Queued) {
	if s.lease != nil {
		if batch = s.claim(ctx, batch); len(batch) == 0 {
			return
		}
	}
	ids := make([]int64, len(batch))
	for i, q := range batch {
		ids[i] = q.ID
	}
	msg := merge(batch)
	// The call is not cut short by a shutdown: its own timeout bounds it.
	start := s.now()
	out, receipt, err := s.call(context.WithoutCancel(ctx), msg)
	s.metrics.ObserveSend(start, err)
	now := s.now()
	s.pacer.Record(msg.To, now)
	// Record the outcome even when shutting down.
	rctx := context.WithoutCancel(ctx)
	log := s.log.With("to", msg.To, "ids", ids, "event", batch[0].EventID)
	if err == nil {
		s.pause = 0
		s.metrics.Sent(len(batch))
		log.Info("sent", "messages", len(batch), "took", now.Sub(start).Round(time.Millisecond))
		s.recordSent(rctx, ids, now, log)
		s.recordReceipt(rctx, receipt, ids, now, log)
		return
	}
	attempt := outbox.Attempt{At: now, Error: err.Error()}
	ge, _ := gewe.AsError(err)
	if out == gewe.Pause && ge != nil {
		s.pauseAccount(now, ge)
	}
	// Each message is judged on its own attempts and age: a fresh message
	// merged into an old one must not die with it.
	dead := map[string][]int64{}
	var again []outbox.Queued
	for _, q := range batch {
		if why := s.deadReason(q, ge, out, now); why != "" {
			dead[why] = append(dead[why], q.ID)
		} else {
			again = append(again, q)
		}
	}
	for why, dids := range dead {
		a := attempt
		a.Error += " (" + why + ")"
		if err := s.outbox.Dead(rctx, dids, a); err != nil {
			log.Error("recording a dead message failed", "err", err)
			s.holdOn(now)
		}
		s.metrics.Dead(len(dids))
		log.Error("message dead-lettered", "err", err, "why", why, "dead", dids)
	}
	if len(again) == 0 {
		return
	}
	next := now.Add(s.backoff(again[0].Attempts))
	if next.Before(s.pauseUntil) {
		next = s.pauseUntil
	}
	rids := make([]int64, len(again))
	for i, q := range again {
		rids[i] = q.ID
	}
	if err := s.outbox.Retry(rctx, rids, attempt, next); err != nil {
		// The messages stay due now: hold off rather than resend at once.
		log.Error("recording a retry failed", "err", err)
		s.holdOn(now)
	}
	s.metrics.Retried(len(rids))
	log.Warn("send failed; will retry", "err", err, "attempt", again[0].Attempts+1, "next", next.Format(time.RFC3339))
}

// deadReason says why a message that failed is given up, or "" to retry.
// An account-wide failure (offline, token, risk control) is not the
// message's fault: it waits out the pause and only max_age ends it.
func (s *Sender) deadReason(q outbox.Queued, ge *gewe.Error, out gewe.Outcome, now time.Time) string {
	tooOld := now.Sub(q.CreatedAt) >= s.cfg.MaxAge.D()
	switch {
	case ge != nil && ge.Timeout() && s.cfg.OnTimeout == "drop":
		return "timed out and may have been delivered; not retried (delivery.on_timeout: drop)"
	case out == gewe.Pause:
		if tooOld {
			return fmt.Sprintf("gave up: older than delivery.max_age (%s)", s.cfg.MaxAge.D())
		}
		return ""
	case out == gewe.GiveUp:
		return "permanent failure"
	case q.Attempts+1 >= s.cfg.MaxAttempts:
		return fmt.Sprintf("gave up after %d attempts", q.Attempts+1)
	case tooOld:
		return fmt.Sprintf("gave up: older than delivery.max_age (%s)", s.cfg.MaxAge.D())
	}
	return ""
}

// logDryRun logs each message at once (nothing goes to an account, so
// there is nothing to pace) and records it as dry_run, never as sent: it
// was not, and must not be sent when a token is set later.
func (s *Sender) logDryRun(ctx context.Context, due []outbox.Queued) {
	d := DryRun{Log: s.log}
	ids := make([]int64, len(due))
	for i, q := range due {
		ids[i] = q.ID
		d.log(q.ID, merge(due[i:i+1]))
	}
	if err := s.outbox.DryRun(context.WithoutCancel(ctx), ids, s.now()); err != nil {
		// Logged again once the store takes the record: nothing is sent.
		s.log.Error("recording dry-run messages failed", "err", err)
		s.holdOn(s.now())
	}
}

// recordSent marks messages sent. When the store cannot say so, they are
// remembered here and never sent again by this process: resending a
// delivered message on every pacing slot is the flood that gets an
// account restricted. The record is tried again on later turns.
func (s *Sender) recordSent(ctx context.Context, ids []int64, at time.Time, log *slog.Logger) {
	if err := s.outbox.Sent(ctx, ids, at); err != nil {
		log.Error("recording a sent message failed; it will not be sent again while the bridge runs", "err", err)
		if s.unrecorded == nil {
			s.unrecorded = map[int64]time.Time{}
		}
		for _, id := range ids {
			s.unrecorded[id] = at
		}
		s.holdOn(at)
	}
}

// retryRecords tries again to record sends the store refused.
func (s *Sender) retryRecords(ctx context.Context) {
	byTime := map[time.Time][]int64{}
	for id, at := range s.unrecorded {
		byTime[at] = append(byTime[at], id)
	}
	for at, ids := range byTime {
		if err := s.outbox.Sent(ctx, ids, at); err != nil {
			s.holdOn(s.now())
			return
		}
		for _, id := range ids {
			delete(s.unrecorded, id)
		}
	}
}

// holdOn stops sending for a few seconds while the outbox cannot be written.
func (s *Sender) holdOn(now time.Time) {
	if until := now.Add(storeTroubleWait); until.After(s.pauseUntil) {
		s.pauseUntil = until
		s.setPaused(until, "store_unwritable", nil)
	}
}

// backoff is exponential with full jitter between half and all of it.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.cfg.InitialBackoff.D()
	for i := 0; i < attempts && d < s.cfg.MaxBackoff.D(); i++ {
		d *= 2
	}
	d = min(d, s.cfg.MaxBackoff.D())
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// pauseAccount stops all sends for the account for a while: when it is
// offline or its token is refused, every message would fail the same way.
func (s *Sender) pauseAccount(now time.Time, err *gewe.Error) {
	switch {
	case s.pause == 0:
		s.pause = s.cfg.Pause.D()
	default:
		s.pause = min(s.pause*2, maxPause)
	}
	s.pauseUntil = now.Add(s.pause)
	s.setPaused(s.pauseUntil, err.Kind.Reason(), err)
	s.log.Error("account paused", "why", err.Kind.Reason(), "err", err, "until", s.pauseUntil.Format(time.RFC3339))
}
