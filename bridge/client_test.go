package bridge_test

import (
	"context"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
)

// fakeClient accepts every send. The service tests look at the outbox and
// the answers, not at what was sent: the sender's own tests do that.
type fakeClient struct{}

func (*fakeClient) Send(context.Context, gewe.Message) (gewe.Outcome, error) { return gewe.Sent, nil }
