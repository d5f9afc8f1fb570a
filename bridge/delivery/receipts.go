package delivery

import (
	"context"
	"log/slog"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
)

// Deliverer is a Client that also returns GeWe's receipt (gewe.Client
// does). With it, and a store that keeps them (outbox.ChatOps), the id
// GeWe gave each message sent is recorded, so that a reply quoting the
// message finds the alerts it carried. Clients without it (the dry run,
// test doubles) send as before.
type Deliverer interface {
	Deliver(ctx context.Context, m gewe.Message) (*gewe.Receipt, error)
}

// call sends m, with the receipt when the client gives one.
func (s *Sender) call(ctx context.Context, m gewe.Message) (gewe.Outcome, *gewe.Receipt, error) {
	if d, ok := s.client.(Deliverer); ok {
		if _, keeps := s.outbox.(outbox.ChatOps); keeps {
			r, err := d.Deliver(ctx, m)
			return gewe.OutcomeOf(err), r, err
		}
	}
	out, err := s.client.Send(ctx, m)
	return out, nil, err
}

// recordReceipt keeps the id GeWe gave the message that carried ids. A
// failure only costs chat-ops on that message: it is logged, not retried.
func (s *Sender) recordReceipt(ctx context.Context, r *gewe.Receipt, ids []int64, at time.Time, log *slog.Logger) {
	store, ok := s.outbox.(outbox.ChatOps)
	if !ok || r == nil || r.NewMsgID == 0 {
		return
	}
	if err := store.SentAs(ctx, s.Account, r.NewMsgID, ids, at); err != nil {
		log.Warn("recording the message's GeWe id failed; replies quoting it will not find its alerts", "new_msg_id", r.NewMsgID, "err", err)
	}
}
