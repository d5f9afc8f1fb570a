package bridge

// Open and TuneGC are what `gewe-bridge serve` and the profiling build in
// bench/ both call, so that what is profiled is what ships.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime/debug"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
	"github.com/gewe-bridge/gewe-bridge/bridge/delivery"
	"github.com/gewe-bridge/gewe-bridge/bridge/metrics"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/postgres"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/sqlite"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// dryRunAccount is the account of the messages a dry run accepts.
const dryRunAccount = "dry-run"

// TuneGC trades memory the bridge does not use for CPU it does: the live
// heap is small, so the default GOGC=100 collects very often under load.
// GOGC=200 with a soft limit of 60 MiB of Go memory keeps the process under
// 100 MB (BENCHMARKS.md). GOGC and GOMEMLIMIT in the environment win.
func TuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(60 << 20)
	}
}

// Open builds the service rs describes: its outbox (SQLite, or PostgreSQL
// with storage.url) and its GeWe client, or the dry-run client when
// dry-run is chosen. load is kept for reloads. close releases the outbox
// after Run returns.
func Open(rs *rules.Ruleset, load Loader, log *slog.Logger, m *metrics.Metrics, version string) (svc *Service, close func() error, err error) {
	cfg := rs.Config()
	store, err := openStore(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	var client delivery.Client
	account := cfg.Gewe.AppID
	if cfg.DryRun {
		log.Warn("DRY-RUN MODE (gewe.dry_run or -dry-run): messages are logged and kept in state dry_run, never sent")
		client = delivery.DryRun{Log: log}
		// Whatever gewe.app_id says: a message a crash left pending in a
		// dry run is then never sent by a later run with a token, which
		// sends only its own account's messages.
		account = dryRunAccount
	} else {
		gc := GeweConfig(cfg.Gewe)
		if err := gc.Validate(); err != nil {
			store.Close()
			return nil, nil, err
		}
		client = gewe.New(gc, nil)
	}
	svc, err = New(Options{Load: load, Initial: rs, Outbox: store, Client: client,
		Account: account, Metrics: m, Logger: log, Version: version})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return svc, store.Close, nil
}

// pgOpenTimeout bounds connecting to PostgreSQL and migrating at start.
const pgOpenTimeout = 30 * time.Second

// openStore opens the outbox storage chooses.
func openStore(cfg *config.Config, log *slog.Logger) (outbox.Store, error) {
	if cfg.Storage.URL != "" {
		where := "PostgreSQL"
		if u, err := url.Parse(string(cfg.Storage.URL)); err == nil {
			where = u.Host + u.Path // not the user or the password
		}
		ctx, cancel := context.WithTimeout(context.Background(), pgOpenTimeout)
		defer cancel()
		store, err := postgres.Open(ctx, string(cfg.Storage.URL), postgres.Options{})
		if err != nil {
			return nil, fmt.Errorf("opening the outbox on PostgreSQL at %s: %w", where, err)
		}
		log.Info("outbox on PostgreSQL: replicas on this database share it, one sender per account", "database", where)
		return store, nil
	}
	store, err := sqlite.Open(cfg.Storage.Path, sqlite.Options{DedupWindow: cfg.Dedup.Window.D()})
	if err != nil {
		return nil, fmt.Errorf("opening the outbox at %s: %w", cfg.Storage.Path, err)
	}
	// The check reads the whole file: it runs while the service starts.
	go func() {
		switch err := store.Integrity(); {
		case errors.Is(err, outbox.ErrCorrupt):
			// Running on keeps what can still be read and sent; /-/ready
			// answers 503 so that an orchestrator sends webhooks elsewhere.
			log.Error("the outbox file is corrupt (PRAGMA quick_check): /-/ready answers 503 until it is restored from a backup or moved aside",
				"file", cfg.Storage.Path, "err", err)
		case err != nil:
			log.Warn("the outbox file could not be checked", "file", cfg.Storage.Path, "err", err)
		}
	}()
	return store, nil
}
