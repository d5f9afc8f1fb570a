package delivery

import (
	"context"
	"log/slog"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
)

// DryRun is the client of a dry run, chosen with gewe.dry_run or serve
// -dry-run: it logs each message it would have sent and sends nothing.
// The Sender of a dry-run config logs its messages itself and records them
// as outbox.StateDryRun, never calling its client.
type DryRun struct{ Log *slog.Logger }

// Send logs m.
func (d DryRun) Send(_ context.Context, m gewe.Message) (gewe.Outcome, error) {
	d.log(0, m)
	return gewe.Sent, nil
}

// log logs m; id is the message's in the outbox, 0 when unknown.
func (d DryRun) log(id int64, m gewe.Message) {
	args := []any{"to", m.To}
	if id != 0 {
		args = append(args, "id", id)
	}
	if m.XML != "" {
		d.Log.Info("dry-run: would send app card", append(args, "xml", m.XML)...)
	} else {
		d.Log.Info("dry-run: would send text", append(args, "at", m.At, "text", m.Text)...)
	}
}
