package bridge

import (
	"context"
	"log/slog"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
)

// DryRun is the client used when no GeWe token is set: it logs each
// message it would have sent and reports success.
type DryRun struct{ Log *slog.Logger }

// Send logs m.
func (d DryRun) Send(_ context.Context, m gewe.Message) (bool, error) {
	if m.XML != "" {
		d.Log.Info("dry-run: would send app card", "to", m.To, "xml", m.XML)
	} else {
		d.Log.Info("dry-run: would send text", "to", m.To, "at", m.At, "text", m.Text)
	}
	return false, nil
}
