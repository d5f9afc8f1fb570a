package bridge

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// acceptTimeout bounds how long a webhook waits for its commit; past it the
// answer is 503 and the sender retries.
const acceptTimeout = 10 * time.Second

func (s *Service) newApp(cfg *rules.Config) *fiber.App {
	limit := cfg.Limits.BodyBytes
	for _, src := range s.state.Load().sources {
		limit = max(limit, src.limit)
	}
	app := fiber.New(fiber.Config{
		// Fiber answers 413 itself past this; each source's own limit is
		// checked in the handler.
		BodyLimit:             int(limit),
		ReadTimeout:           cfg.Server.ReadTimeout.D(),
		WriteTimeout:          cfg.Server.WriteTimeout.D(),
		IdleTimeout:           cfg.Server.IdleTimeout.D(),
		ReadBufferSize:        16 << 10, // also the cap on request headers
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler,
	})
	app.Post("/hooks/:source", s.hook)
	app.Get("/-/healthy", func(c *fiber.Ctx) error { return c.SendString("OK\n") })
	app.Get("/-/ready", s.ready)
	if m := s.opts.Metrics; m != nil {
		app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})))
	}
	// The admin check is per route: a group on "" would answer 401 to
	// every unknown path instead of 404.
	app.Post("/-/reload", s.requireAdmin, s.reload)
	app.Get("/api/v1/status", s.requireAdmin, s.status)
	app.Get("/api/v1/messages", s.requireAdmin, s.listMessages)
	app.Get("/api/v1/messages/:id", s.requireAdmin, s.getMessage)
	app.Post("/api/v1/messages/:id/retry", s.requireAdmin, s.retryMessage)
	app.Get("/api/v1/traces", s.requireAdmin, s.listTraces)
	app.Use(func(c *fiber.Ctx) error { return fail(c, fiber.StatusNotFound, "not found") })
	return app
}

// errorHandler answers JSON and never shows internals.
func errorHandler(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	msg := "internal error"
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, msg = fe.Code, fe.Message
	}
	return c.Status(code).JSON(fiber.Map{"error": msg})
}

func fail(c *fiber.Ctx, code int, msg string) error {
	return c.Status(code).JSON(fiber.Map{"error": msg})
}

// hook accepts one webhook: authenticate, decode, route, commit, answer.
// 202 only once the messages are durable; 503 when they cannot be stored
// now, so Alertmanager retries; 4xx only for what can never succeed.
func (s *Service) hook(c *fiber.Ctx) error {
	// Counted before the closing check: a shutdown that starts after this
	// point waits for this webhook.
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	st := s.state.Load()
	name := c.Params("source")
	src, ok := st.sources[name]
	if !ok {
		return fail(c, fiber.StatusNotFound, "unknown source")
	}
	if s.closing.Load() {
		s.opts.Metrics.webhook(src.name, "", fiber.StatusServiceUnavailable)
		return fail(c, fiber.StatusServiceUnavailable, "shutting down")
	}
	req, err := readRequest(c, src)
	if err != nil {
		return s.refuse(c, src, err)
	}
	ev, err := src.recv.Receive(req)
	if err != nil {
		return s.refuse(c, src, err)
	}
	// Built only for a line that is logged: With formats its fields at once,
	// and at the default level the accepted webhook logs nothing.
	log := func() *slog.Logger { return s.log.With("source", src.name, "event", ev.Event, "delivery", ev.ID) }
	if c.QueryBool("dry_run") {
		tr := st.rules.Trace(ev)
		s.opts.Metrics.webhook(src.name, ev.Event, fiber.StatusOK)
		return c.JSON(tr)
	}
	res := st.rules.Route(ev)
	s.observeRoute(log, res)
	s.traces.add(ev, res, s.opts.Now())
	if len(res.Messages) == 0 {
		log().Info("webhook accepted; no rule produced a message", "matched", res.Matched)
		s.opts.Metrics.webhook(src.name, ev.Event, fiber.StatusAccepted)
		return c.Status(fiber.StatusAccepted).JSON(accepted(ev.ID, res, 0))
	}
	now := s.opts.Now()
	acc := &Accepted{
		EventID: ev.ID, Source: src.name, EventName: ev.Event, DedupKey: ev.DedupKey,
		Raw: ev.Raw, ReceivedAt: now, Account: s.opts.Account, Messages: res.Messages,
	}
	ctx, cancel := context.WithTimeout(context.Background(), acceptTimeout)
	defer cancel()
	err = s.opts.Outbox.Accept(ctx, acc, now.Add(-st.rules.Config().Dedup.Window.D()))
	switch {
	case errors.Is(err, ErrDuplicate):
		log().Info("duplicate delivery; nothing sent", "dedup_key", ev.DedupKey)
		s.opts.Metrics.duplicate()
		s.opts.Metrics.webhook(src.name, ev.Event, fiber.StatusOK)
		return c.JSON(fiber.Map{"id": ev.ID, "duplicate": true})
	case err != nil:
		log().Error("could not store the webhook's messages; answering 503 so the sender retries", "err", err)
		s.opts.Metrics.webhook(src.name, ev.Event, fiber.StatusServiceUnavailable)
		return fail(c, fiber.StatusServiceUnavailable, "cannot accept now, retry later")
	}
	s.sender.Notify()
	s.opts.Metrics.accepted(len(res.Messages))
	s.opts.Metrics.webhook(src.name, ev.Event, fiber.StatusAccepted)
	if s.log.Enabled(ctx, slog.LevelInfo) {
		log().Info("webhook accepted", "matched", res.Matched, "queued", len(res.Messages))
	}
	return c.Status(fiber.StatusAccepted).JSON(accepted(ev.ID, res, len(res.Messages)))
}

// acceptedAnswer is the body of a 202.
type acceptedAnswer struct {
	ID      string   `json:"id"`
	Matched []string `json:"matched"`
	Queued  int      `json:"queued"`
}

func accepted(id string, res *rules.Result, queued int) acceptedAnswer {
	matched := res.Matched
	if matched == nil {
		matched = []string{}
	}
	return acceptedAnswer{ID: id, Matched: matched, Queued: queued}
}

func (s *Service) refuse(c *fiber.Ctx, src *source, err error) error {
	code := adapters.StatusOf(err)
	s.opts.Metrics.webhook(src.name, "", code)
	s.log.Warn("webhook refused", "source", src.name, "code", code, "err", err,
		"delivery", c.Get("X-GitHub-Delivery"), "remote", c.IP())
	return fail(c, code, err.Error())
}

func (s *Service) observeRoute(log func() *slog.Logger, res *rules.Result) {
	var errs []ruleErr
	for _, e := range res.Errors {
		errs = append(errs, ruleErr{e.Rule, e.Stage})
		log().Warn("rule failed", "rule", e.Rule, "stage", e.Stage, "err", e.Err)
	}
	s.opts.Metrics.routed(res.Matched, errs)
}

// readRequest copies what the adapters need out of Fiber's reused
// buffers. It reads the raw body: c.Body() would inflate a compressed
// body without a limit.
func readRequest(c *fiber.Ctx, src *source) (*adapters.Request, error) {
	if enc := strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentEncoding))); enc != "" && enc != "identity" {
		return nil, adapters.Errorf(adapters.Unsupported, "Content-Encoding %q is not accepted: send the body uncompressed", enc)
	}
	body := c.Request().Body()
	if int64(len(body)) > src.limit {
		return nil, adapters.Errorf(adapters.TooLarge, "body is %d bytes; the limit for this source is %d", len(body), src.limit)
	}
	ct := strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentType)))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	headers := make(map[string]string, 16)
	c.Request().Header.VisitAll(func(k, v []byte) {
		headers[strings.ToLower(string(k))] = string(v)
	})
	return &adapters.Request{Source: src.name, ContentType: ct, Headers: headers, Body: bytes.Clone(body)}, nil
}

func (s *Service) ready(c *fiber.Ctx) error {
	if s.closing.Load() {
		return fail(c, fiber.StatusServiceUnavailable, "shutting down")
	}
	ctx, cancel := context.WithTimeout(c.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.Outbox.Ping(ctx); err != nil {
		if errors.Is(err, ErrCorrupt) {
			// What quick_check found: pages and trees, no path or secret.
			return fail(c, fiber.StatusServiceUnavailable, err.Error())
		}
		return fail(c, fiber.StatusServiceUnavailable, "store not writable")
	}
	return c.SendString("OK\n")
}

// requireAdmin guards the admin API with server.admin_token; without one
// configured, the admin API is off.
func (s *Service) requireAdmin(c *fiber.Ctx) error {
	token := string(s.state.Load().rules.Config().Server.AdminToken)
	if token == "" {
		return fail(c, fiber.StatusForbidden, "the admin API is off: set server.admin_token")
	}
	got, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
		return fail(c, fiber.StatusUnauthorized, "missing or wrong admin token")
	}
	return c.Next()
}

func (s *Service) reload(c *fiber.Ctx) error {
	if err := s.Reload(); err != nil {
		return c.Status(fiber.StatusBadRequest).JSON(fiber.Map{"ok": false, "error": err.Error()})
	}
	return c.JSON(fiber.Map{"ok": true})
}

func (s *Service) status(c *fiber.Ctx) error {
	s.reloadMu.Lock()
	last := s.lastReload
	s.reloadMu.Unlock()
	cfg := s.state.Load().rules.Config()
	return c.JSON(fiber.Map{
		"config_file": cfg.File, "rules": len(cfg.Rules), "sources": len(cfg.Sources),
		"dry_run": cfg.DryRun, "account": s.opts.Account, "last_reload": last,
	})
}

func (s *Service) listMessages(c *fiber.Ctx) error {
	f := ListFilter{State: c.Query("state"), Before: int64(c.QueryInt("before")), Limit: c.QueryInt("limit", 50)}
	switch f.State {
	case "", StatePending, StateSent, StateDead, StateDryRun:
	default:
		return fail(c, fiber.StatusBadRequest, "state must be pending, sent, dead or dry_run")
	}
	msgs, err := s.opts.Outbox.List(c.Context(), f)
	if err != nil {
		return fail(c, fiber.StatusServiceUnavailable, "cannot read the outbox")
	}
	if msgs == nil {
		msgs = []Queued{}
	}
	out := fiber.Map{"messages": msgs}
	if len(msgs) > 0 && len(msgs) == f.Limit {
		out["next_before"] = msgs[len(msgs)-1].ID
	}
	return c.JSON(out)
}

func (s *Service) getMessage(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return fail(c, fiber.StatusBadRequest, "id must be a number")
	}
	q, attempts, err := s.opts.Outbox.Get(c.Context(), int64(id))
	if errors.Is(err, ErrNotFound) {
		return fail(c, fiber.StatusNotFound, "no such message")
	}
	if err != nil {
		return fail(c, fiber.StatusServiceUnavailable, "cannot read the outbox")
	}
	if attempts == nil {
		attempts = []Attempt{}
	}
	return c.JSON(fiber.Map{"message": q, "attempts": attempts})
}

func (s *Service) retryMessage(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return fail(c, fiber.StatusBadRequest, "id must be a number")
	}
	err = s.opts.Outbox.Requeue(c.Context(), int64(id), s.opts.Now())
	if errors.Is(err, ErrNotFound) {
		return fail(c, fiber.StatusNotFound, "no such message")
	}
	if err != nil {
		return fail(c, fiber.StatusServiceUnavailable, "cannot write the outbox")
	}
	s.sender.Notify()
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"id": id, "state": StatePending})
}

func (s *Service) listTraces(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"traces": s.traces.list(c.Query("source"))})
}
