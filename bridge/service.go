// Package bridge is the running service and its wiring: Open builds it
// from a loaded config (the store, the GeWe client or a dry run, the
// sender), the Fiber app takes webhooks in (http.go, body.go) and serves
// the admin API, and reloads swap the config whole. What it wires lives
// below it: the outbox contract (outbox), the stores that implement it
// (store/sqlite), the senders (delivery) and the metrics (metrics).
package bridge

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge/chatops"
	"github.com/gewe-bridge/gewe-bridge/bridge/delivery"
	"github.com/gewe-bridge/gewe-bridge/bridge/metrics"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/ui"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gofiber/fiber/v2"
)

// Loader loads the config: from a file, or the embedded default.
type Loader func() (*rules.Ruleset, config.Problems)

// Options are what the service needs from its caller.
type Options struct {
	Load    Loader
	Initial *rules.Ruleset // already loaded; nil: New calls Load
	Outbox  outbox.Store
	Client  delivery.Client // sends messages; a dry-run client when the config has no token
	Account string          // the GeWe account the client sends as
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Version string // of the build, for the status API
	Now     func() time.Time
	// ReadToken opens the console and the admin API's reads, not its
	// changes; "" reads $GEWE_BRIDGE_READ_TOKEN (ReadTokenEnv).
	ReadToken string
}

// Service is gewe-bridge running: it accepts webhooks and sends messages.
type Service struct {
	opts    Options
	log     *slog.Logger
	state   atomic.Pointer[state]
	sender  *delivery.Sender
	app     *fiber.App
	traces  *traceLog
	console *ui.Console
	bodies  *budget         // the room request bodies may take (body.go)
	chatops *chatops.Worker // nil when the store keeps no chat-ops records
	closing atomic.Bool
	// inflight counts webhooks being handled, so that a shutdown waits
	// for their commits and answers, and for nothing else.
	inflight atomic.Int64

	reloadMu   sync.Mutex
	lastReload reloadStatus
}

// state is what a reload replaces as a whole: a webhook sees one config.
type state struct {
	rules   *rules.Ruleset
	sources map[string]*Source
}

type reloadStatus struct {
	OK    bool      `json:"ok"`
	At    time.Time `json:"at"`
	Error string    `json:"error,omitempty"`
}

// New loads the config and builds the service; Run starts it.
func New(opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReadToken == "" {
		opts.ReadToken = readToken()
	}
	s := &Service{opts: opts, log: opts.Logger, bodies: newBudget(bodyBudget, bodyWait)}
	rs := opts.Initial
	if rs == nil {
		var probs config.Problems
		rs, probs = opts.Load()
		for _, p := range probs.Warnings() {
			s.log.Warn(p.String())
		}
		if err := probs.Err(); err != nil {
			return nil, err
		}
	}
	s.install(rs)
	cfg := rs.Config()
	s.traces = newTraceLog(cfg.Limits.TracesKept)
	s.sender = delivery.NewSender(opts.Account, opts.Outbox, opts.Client, cfg, opts.Metrics, s.log)
	s.chatops = s.newChatOps()
	s.console = ui.New(consoleBackend{s})
	s.app = s.newApp(cfg)
	s.opts.Metrics.Reloaded(true)
	s.opts.Metrics.WatchOutbox(opts.Outbox, opts.Now)
	s.lastReload = reloadStatus{OK: true, At: opts.Now()}
	return s, nil
}

// warnStranded says when the outbox holds pending messages of another
// account (gewe.app_id changed): this sender will not send them.
func (s *Service) warnStranded() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	backlog, err := s.opts.Outbox.Backlog(ctx)
	if err != nil {
		return
	}
	for _, b := range backlog {
		if b.Account != s.opts.Account {
			s.log.Warn("pending messages of another GeWe account will not be sent by this one (gewe.app_id changed?)",
				"account", b.Account, "pending", b.Pending, "running_account", s.opts.Account)
		}
	}
}

// install makes rs the config every new webhook sees.
func (s *Service) install(rs *rules.Ruleset) {
	cfg := rs.Config()
	st := &state{rules: rs, sources: map[string]*Source{}}
	for name, sc := range cfg.Sources {
		st.sources[name] = NewSource(name, sc, cfg.Limits, CheckCredentials)
	}
	s.state.Store(st)
}

// Reload loads the config again. A config with errors is refused and the
// running one stays; messages already accepted are never affected.
func (s *Service) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	rs, probs := s.opts.Load()
	err := probs.Err()
	if err == nil && rs.Config().DryRun != s.sender.State().DryRun {
		// Dry-run decides whether sources may go unauthenticated and
		// whether messages are sent: a reload into dry-run would open
		// the sources while the sender goes on sending for real, and one
		// out of it would authenticate nothing new. Only a restart
		// changes it.
		err = errors.New("gewe.dry_run (or serve --dry-run) changes only on restart: the running config stays")
	}
	if err != nil {
		s.lastReload = reloadStatus{OK: false, At: s.opts.Now(), Error: err.Error()}
		s.opts.Metrics.Reloaded(false)
		s.log.Error("config reload failed; keeping the running config", "err", err)
		return err
	}
	for _, p := range probs.Warnings() {
		s.log.Warn(p.String())
	}
	old := s.state.Load().rules.Config()
	if restartNeeded(old, rs.Config()) {
		s.log.Warn("gewe, server, storage and delivery settings change only on restart; rules, templates, contacts and sources were reloaded")
	}
	s.install(rs)
	go releaseLoadGarbage()
	s.lastReload = reloadStatus{OK: true, At: s.opts.Now()}
	s.opts.Metrics.Reloaded(true)
	s.log.Info("config reloaded", "rules", len(rs.Config().Rules))
	return nil
}

// restartNeeded: settings the running service read once changed. (Deep
// equality: Delivery holds pointers, whose addresses differ on every load.)
func restartNeeded(a, b *config.Config) bool {
	return !reflect.DeepEqual(a.Gewe, b.Gewe) || !reflect.DeepEqual(a.Server, b.Server) ||
		!reflect.DeepEqual(a.Storage, b.Storage) || !reflect.DeepEqual(a.Delivery, b.Delivery)
}

// App is the HTTP handler, for tests.
func (s *Service) App() *fiber.App { return s.app }

// Run serves HTTP on the configured address and sends messages until ctx
// ends; then it stops accepting, finishes the send in flight and returns.
func (s *Service) Run(ctx context.Context) error {
	cfg := s.state.Load().rules.Config()
	sendCtx, stopSending := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.sender.Run(sendCtx) }()
	go func() { defer wg.Done(); s.prune(sendCtx, cfg.Storage.Retention.D()) }()
	if s.chatops != nil {
		wg.Add(1)
		go func() { defer wg.Done(); s.chatops.Run(sendCtx) }()
	}
	// Counting the backlog takes time with a large one: not before listening.
	go s.warnStranded()
	go releaseLoadGarbage()

	errc := make(chan error, 1)
	go func() { errc <- s.app.Listen(cfg.Server.Listen) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.drain()
	stopSending()
	wg.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// drain stops accepting webhooks and waits for those in flight. Then it
// closes the listener. Connections that never sent a request (a client's
// spare keep-alive connection) count as active in fasthttp until their
// read timeout; nothing is lost by not waiting for them.
func (s *Service) drain() {
	s.closing.Store(true)
	deadline := time.Now().Add(acceptTimeout + time.Second)
	for s.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.app.ShutdownWithTimeout(time.Second); err != nil {
		s.log.Debug("closed connections that sent no request", "err", err)
	}
}

// prune deletes what retention no longer keeps, hourly.
func (s *Service) prune(ctx context.Context, retention time.Duration) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := s.opts.Outbox.Prune(ctx, s.opts.Now().Add(-retention))
		if err != nil && ctx.Err() == nil {
			s.log.Error("pruning the outbox failed", "err", err)
		} else if n > 0 {
			s.log.Info("pruned old messages", "messages", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// releaseLoadGarbage returns to the OS the memory that compiling a config
// left behind (with 1,000 rules, several MB of garbage that would otherwise
// stay resident until the next collection, which an idle service may not
// run for minutes).
func releaseLoadGarbage() { debug.FreeOSMemory() }

// Config is the running config.
func (s *Service) Config() *config.Config { return s.state.Load().rules.Config() }
