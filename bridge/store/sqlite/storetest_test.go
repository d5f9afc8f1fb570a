package sqlite

import (
	"testing"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/storetest"
)

// TestStore runs the table every store passes (the PostgreSQL one too).
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) outbox.Store { return openStore(t, Options{}) })
}
