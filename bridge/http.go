package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/bridge/metrics"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/ui"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
)

// acceptTimeout bounds how long a webhook waits for its commit; past it the
// answer is 503 and the sender retries.
const acceptTimeout = 10 * time.Second

func (s *Service) newApp(cfg *config.Config) *fiber.App {
	app := fiber.New(fiber.Config{
		// Bodies are streamed: a hook reads its own, at most its source's
		// limit, after routing and the checks on Content-Length (body.go).
		// Past this, fasthttp no longer reads ahead.
		StreamRequestBody:     true,
		BodyLimit:             smallBody,
		ReadTimeout:           cfg.Server.ReadTimeout.D(),
		WriteTimeout:          cfg.Server.WriteTimeout.D(),
		IdleTimeout:           cfg.Server.IdleTimeout.D(),
		ReadBufferSize:        16 << 10, // also the cap on request headers
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler,
	})
	// Requests fasthttp cannot parse never reach Fiber; its answer (and
	// Fiber's) would show the request as read, Authorization included.
	app.Server().ErrorHandler = parseErrorHandler
	app.Use(s.recoverPanic)
	app.Post("/hooks/:source", s.hook)
	app.Post("/hooks/:source/:token", s.hook) // gewe_callback: the secret in the path
	// Below the hooks, a request that sent a body has its connection
	// closed after the answer: the routes below read no body (or, the
	// console's POSTs, not always all of it: a refusal leaves it unread),
	// and what is left would be parsed as the next request.
	app.Use(closeWithBody)
	// The web console and its JSON API (bridge/ui); its POST routes read
	// their own bodies, bounded.
	s.console.Register(app)
	read, admin := s.console.Guard(ui.Reader), s.console.Guard(ui.Admin)
	app.Get("/-/healthy", func(c *fiber.Ctx) error { return c.SendString("OK\n") })
	app.Get("/-/ready", s.ready)
	if m := s.opts.Metrics; m != nil {
		// The adaptor reads the whole body into an http.Request, unbounded.
		app.Get("/metrics", refuseBody, adaptor.HTTPHandler(promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})))
	}
	// The admin check is per route: a group on "" would answer 401 to
	// every unknown path instead of 404.
	// The read-only token (and a read-only session) opens the GET routes.
	app.Post("/-/reload", admin, s.reload)
	app.Get("/api/v1/status", read, s.status)
	app.Get("/api/v1/messages", read, s.listMessages)
	app.Get("/api/v1/messages/:id", read, s.getMessage)
	app.Post("/api/v1/messages/:id/retry", admin, s.retryMessage)
	app.Get("/api/v1/traces", read, s.listTraces)
	app.Get("/api/v1/commands", read, s.listCommands) // chatops.go
	app.Use(func(c *fiber.Ctx) error { return fail(c, fiber.StatusNotFound, "not found") })
	return app
}

// recoverPanic answers 500 to a request whose handler panicked, logs the
// panic with its stack, and keeps the process serving.
func (s *Service) recoverPanic(c *fiber.Ctx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("a request handler panicked; answered 500", "panic", fmt.Sprint(p),
				"method", c.Method(), "path", c.Path(), "stack", string(debug.Stack()))
			c.Context().SetConnectionClose() // what is left of the body is unread
			err = fail(c, fiber.StatusInternalServerError, "internal error")
		}
	}()
	return c.Next()
}

// parseErrorHandler answers a request fasthttp could not read with a
// fixed body that echoes nothing of it. fasthttp closes the connection.
func parseErrorHandler(ctx *fasthttp.RequestCtx, err error) {
	code, msg := fiber.StatusBadRequest, "malformed request"
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.As(err, &small):
		code, msg = fiber.StatusRequestHeaderFieldsTooLarge, "request headers too large"
	case errors.As(err, &netErr) && netErr.Timeout(), strings.Contains(err.Error(), "timeout"):
		code, msg = fiber.StatusRequestTimeout, "request timeout"
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		code, msg = fiber.StatusRequestEntityTooLarge, "body too large"
	}
	ctx.Response.Reset()
	ctx.SetStatusCode(code)
	ctx.SetContentType(fiber.MIMEApplicationJSON)
	ctx.SetBodyString(`{"error":"` + msg + `"}`)
}

// closeWithBody closes the connection after the answer to a request with
// a body its handler does not read (the rest of it would be read as the
// next request).
func closeWithBody(c *fiber.Ctx) error {
	if hasBody(c) {
		c.Context().SetConnectionClose()
	}
	return c.Next()
}

// hasBody: a Content-Length above 0, or chunked (-1). fasthttp reads no
// body without either (-2).
func hasBody(c *fiber.Ctx) bool {
	n := c.Request().Header.ContentLength()
	return n > 0 || n == -1
}

// refuseBody answers 413 to a request with a body, unread.
func refuseBody(c *fiber.Ctx) error {
	if hasBody(c) {
		return fail(c, fiber.StatusRequestEntityTooLarge, "this endpoint takes no body")
	}
	return c.Next()
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
		discardBody(c)
		c.Context().SetConnectionClose() // its body is not read (beyond drainMax)
		return fail(c, fiber.StatusNotFound, "unknown source")
	}
	if c.Params("token") != "" && src.Type != config.TypeGeweCallback {
		c.Context().SetConnectionClose()
		return fail(c, fiber.StatusNotFound, "unknown source")
	}
	if s.closing.Load() {
		c.Context().SetConnectionClose()
		s.opts.Metrics.Webhook(src.Name, "", fiber.StatusServiceUnavailable)
		return fail(c, fiber.StatusServiceUnavailable, "shutting down")
	}
	// Credentials carried in headers are checked before the body is read
	// or given room: an unauthenticated sender holds no body memory.
	if ha, ok := src.Receiver.(adapters.HeaderAuthenticator); ok {
		if err := ha.AuthenticateHeaders(func(name string) string { return c.Get(name) }); err != nil {
			discardBody(c)
			c.Context().SetConnectionClose()
			return s.refuse(c, src, err)
		}
	}
	req, done, err := s.readRequest(c, src)
	defer done()
	if err != nil {
		c.Context().SetConnectionClose() // the body is unread, or read in part
		return s.refuse(c, src, err)
	}
	if src.Type == config.TypeGeweCallback {
		req.Token = strings.Clone(c.Params("token", c.Query("token")))
	}
	ev, err := src.Receiver.Receive(req)
	if err != nil {
		return s.refuse(c, src, err)
	}
	if src.Type == config.TypeGeweCallback {
		return s.callback(c, src, ev) // chatops.go
	}
	// Templates, traces and answers see no credential.
	// The headers map is this request's own (readRequest built it).
	event.RedactHeadersInPlace(ev.Headers, src.CredentialHeader)
	label := src.Label(ev.Event)
	// Built only for a line that is logged: With formats its fields at once,
	// and at the default level the accepted webhook logs nothing.
	log := func() *slog.Logger { return s.log.With("source", src.Name, "event", ev.Event, "delivery", ev.ID) }
	// Rendering is bounded in time and work (limits.render_timeout and
	// render_iterations); a webhook that runs out is answered 503, so the
	// sender retries and nothing is lost, and no core is held for long.
	rctx, rcancel := context.WithTimeout(context.Background(), st.rules.Config().Limits.RenderTimeout.D())
	defer rcancel()
	if c.QueryBool("dry_run") {
		tr, err := st.rules.TraceContext(rctx, ev)
		if err != nil {
			return s.renderTooCostly(c, src, label, log, err)
		}
		s.opts.Metrics.Webhook(src.Name, label, fiber.StatusOK)
		return c.JSON(tr)
	}
	res, err := st.rules.RouteContext(rctx, ev)
	s.observeRoute(log, res)
	if err != nil {
		s.traces.add(ev, res, s.opts.Now(), OutcomeUnavailable, fiber.StatusServiceUnavailable)
		return s.renderTooCostly(c, src, label, log, err)
	}
	if len(res.Messages) == 0 {
		s.traces.add(ev, res, s.opts.Now(), OutcomeNoMessage, fiber.StatusAccepted)
		log().Info("webhook accepted; no rule produced a message", "matched", res.Matched)
		s.opts.Metrics.Webhook(src.Name, label, fiber.StatusAccepted)
		return c.Status(fiber.StatusAccepted).JSON(accepted(ev.ID, res, 0))
	}
	now := s.opts.Now()
	acc := &outbox.Accepted{
		EventID: ev.ID, Source: src.Name, EventName: ev.Event, DedupKey: ev.DedupKey,
		Raw: ev.Raw, ReceivedAt: now, Account: s.opts.Account, Messages: res.Messages,
	}
	ctx, cancel := context.WithTimeout(context.Background(), acceptTimeout)
	defer cancel()
	err = s.opts.Outbox.Accept(ctx, acc, now.Add(-st.rules.Config().Dedup.Window.D()))
	switch {
	case errors.Is(err, outbox.ErrDuplicate):
		s.traces.add(ev, res, now, OutcomeDuplicate, fiber.StatusOK)
		log().Info("duplicate delivery; nothing sent", "dedup_key", ev.DedupKey)
		s.opts.Metrics.Duplicate()
		s.opts.Metrics.Webhook(src.Name, label, fiber.StatusOK)
		return c.JSON(fiber.Map{"id": ev.ID, "duplicate": true})
	case err != nil:
		s.traces.add(ev, res, now, OutcomeUnavailable, fiber.StatusServiceUnavailable)
		log().Error("could not store the webhook's messages; answering 503 so the sender retries", "err", err)
		s.opts.Metrics.Webhook(src.Name, label, fiber.StatusServiceUnavailable)
		return fail(c, fiber.StatusServiceUnavailable, "cannot accept now, retry later")
	}
	s.traces.add(ev, res, now, OutcomeQueued, fiber.StatusAccepted)
	s.sender.Notify()
	s.opts.Metrics.Accepted(len(res.Messages))
	s.opts.Metrics.Webhook(src.Name, label, fiber.StatusAccepted)
	if s.log.Enabled(ctx, slog.LevelInfo) {
		log().Info("webhook accepted", "matched", res.Matched, "queued", len(res.Messages))
	}
	return c.Status(fiber.StatusAccepted).JSON(accepted(ev.ID, res, len(res.Messages)))
}

// renderTooCostly answers a webhook whose rendering ran out of its budget.
func (s *Service) renderTooCostly(c *fiber.Ctx, src *Source, label string, log func() *slog.Logger, err error) error {
	log().Error("rendering ran out of its time or work budget; answering 503 (limits.render_timeout, limits.render_iterations)", "err", err)
	s.opts.Metrics.Webhook(src.Name, label, fiber.StatusServiceUnavailable)
	c.Set(fiber.HeaderRetryAfter, retryAfter)
	return fail(c, fiber.StatusServiceUnavailable, "rendering this webhook took too long; retry later")
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

func (s *Service) refuse(c *fiber.Ctx, src *Source, err error) error {
	if errors.Is(err, errNoRoom) {
		s.opts.Metrics.Webhook(src.Name, "", fiber.StatusServiceUnavailable)
		s.log.Warn("webhook refused: too many large bodies in flight; answered 503 so the sender retries",
			"source", src.Name, "bytes", c.Request().Header.ContentLength(), "remote", c.IP())
		c.Set(fiber.HeaderRetryAfter, retryAfter)
		return fail(c, fiber.StatusServiceUnavailable, "too busy, retry later")
	}
	code := adapters.StatusOf(err)
	s.opts.Metrics.Webhook(src.Name, "", code)
	delivery := safeHeader(c, "X-GitHub-Delivery", "X-Gitea-Delivery", "Idempotency-Key")
	s.log.Warn("webhook refused", "source", src.Name, "code", code, "err", err,
		"delivery", delivery, "remote", c.IP())
	s.traces.refused(src.Name, safeHeader(c, "X-GitHub-Event", "X-Event"), delivery, s.opts.Now(), code, err.Error())
	return fail(c, code, err.Error())
}

// safeHeader is the first of the named headers that is set, if it is safe
// to log and show (what adapters.EventName accepts), else "".
func safeHeader(c *fiber.Ctx, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(c.Get(n)); v != "" {
			if adapters.EventName(n, v) != nil {
				return ""
			}
			// c.Get's string is fasthttp's reused header buffer: kept in
			// a trace, it would later read as another request's header.
			return strings.Clone(v)
		}
	}
	return ""
}

func (s *Service) observeRoute(log func() *slog.Logger, res *rules.Result) {
	var errs []metrics.RuleError
	for _, e := range res.Errors {
		errs = append(errs, metrics.RuleError{Rule: e.Rule, Stage: e.Stage})
		log().Warn("rule failed", "rule", e.Rule, "stage", e.Stage, "err", e.Err)
	}
	for _, n := range res.Notes {
		log().Warn("rule left something out", "rule", n.Rule, "note", n.Text)
	}
	s.opts.Metrics.Routed(res.Matched, errs)
}

// readRequest reads the body (readBody) and copies the headers out of
// Fiber's reused buffers. done gives back the body's room in the budget.
func (s *Service) readRequest(c *fiber.Ctx, src *Source) (req *adapters.Request, done func(), err error) {
	if enc := strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentEncoding))); enc != "" && enc != "identity" {
		return nil, func() {}, adapters.Errorf(adapters.Unsupported, "Content-Encoding %.32q is not accepted: send the body uncompressed", enc)
	}
	body, done, err := s.readBody(c, src.Limit)
	if err != nil {
		return nil, done, err
	}
	ct := strings.ToLower(strings.TrimSpace(c.Get(fiber.HeaderContentType)))
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = strings.TrimSpace(ct[:i])
	}
	headers := make(map[string]string, 16)
	c.Request().Header.VisitAll(func(k, v []byte) {
		headers[strings.ToLower(string(k))] = string(v)
	})
	return &adapters.Request{Source: src.Name, ContentType: ct, Headers: headers, Body: body}, done, nil
}

func (s *Service) ready(c *fiber.Ctx) error {
	if s.closing.Load() {
		return fail(c, fiber.StatusServiceUnavailable, "shutting down")
	}
	ctx, cancel := context.WithTimeout(c.Context(), 2*time.Second)
	defer cancel()
	if err := s.opts.Outbox.Ping(ctx); err != nil {
		if errors.Is(err, outbox.ErrCorrupt) {
			// What quick_check found: pages and trees, no path or secret.
			return fail(c, fiber.StatusServiceUnavailable, err.Error())
		}
		return fail(c, fiber.StatusServiceUnavailable, "store not writable")
	}
	return c.SendString("OK\n")
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
	out := fiber.Map{
		"version": s.opts.Version, "config_file": cfg.File, "rules": len(cfg.Rules), "sources": len(cfg.Sources),
		"dry_run": s.sender.State().DryRun, "account": s.opts.Account, "last_reload": last,
		"sender": s.sender.State(),
	}
	ctx, cancel := context.WithTimeout(c.Context(), 2*time.Second)
	defer cancel()
	type queue struct {
		Account string    `json:"account"`
		Pending int       `json:"pending"`
		Oldest  time.Time `json:"oldest_pending,omitzero"`
	}
	if backlog, err := s.opts.Outbox.Backlog(ctx); err == nil {
		q := make([]queue, 0, len(backlog))
		for _, b := range backlog {
			q = append(q, queue{b.Account, b.Pending, b.Oldest})
		}
		out["queue"] = q
	} else {
		out["queue_error"] = "cannot read the outbox"
	}
	out["pace"] = s.pace(ctx, cfg)
	return c.JSON(out)
}

// paceUsed is how much of delivery.per_minute the sender used in the
// last minute: the messages recorded sent in it (a coalesced send counts
// each message it carried).
type paceUsed struct {
	Account   string `json:"account"`
	PerMinute int    `json:"per_minute"`
	SentInMin int    `json:"sent_last_minute"`
	DailyCap  int    `json:"daily_cap,omitempty"`
}

func (s *Service) pace(ctx context.Context, cfg *config.Config) paceUsed {
	p := paceUsed{Account: s.opts.Account, PerMinute: cfg.Delivery.PerMinute, DailyCap: cfg.Delivery.DailyCap}
	// Sent messages are listed newest first by id; those sent in the last
	// minute are among the newest unless retries sent old ones.
	sent, err := s.opts.Outbox.List(ctx, outbox.ListFilter{State: outbox.StateSent, Limit: max(2*p.PerMinute, 100)})
	if err != nil {
		return p
	}
	since := s.opts.Now().Add(-time.Minute)
	for _, q := range sent {
		if q.Account == s.opts.Account && q.SentAt.After(since) {
			p.SentInMin++
		}
	}
	return p
}

func (s *Service) listMessages(c *fiber.Ctx) error {
	f := outbox.ListFilter{State: c.Query("state"), Before: int64(c.QueryInt("before")),
		To: s.recipient(c.Query("to")), Rule: strings.Clone(c.Query("rule")), Source: strings.Clone(c.Query("source"))}
	// As the store pages it: a limit over the largest still gets next_before.
	_, f.Limit = outbox.Page(0, c.QueryInt("limit"))
	switch f.State {
	case "", outbox.StatePending, outbox.StateSent, outbox.StateDead, outbox.StateDryRun:
	default:
		return fail(c, fiber.StatusBadRequest, "state must be pending, sent, dead or dry_run")
	}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := c.Query(t.name); v != "" {
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return fail(c, fiber.StatusBadRequest, t.name+" must be an RFC 3339 time, e.g. 2026-05-12T08:00:00Z")
			}
			*t.to = at
		}
	}
	msgs, err := s.opts.Outbox.List(c.Context(), f)
	if err != nil {
		return fail(c, fiber.StatusServiceUnavailable, "cannot read the outbox")
	}
	if msgs == nil {
		msgs = []outbox.Queued{}
	}
	out := fiber.Map{"messages": msgs}
	if len(msgs) > 0 && len(msgs) == f.Limit {
		out["next_before"] = msgs[len(msgs)-1].ID
	}
	return c.JSON(out)
}

// recipient is the wxid a history search names: a contact's name, or
// the wxid itself.
func (s *Service) recipient(q string) string {
	q = strings.TrimSpace(q)
	if ct, ok := s.Config().Contacts[q]; ok {
		return ct.Wxid
	}
	return strings.Clone(q)
}

func (s *Service) getMessage(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return fail(c, fiber.StatusBadRequest, "id must be a number")
	}
	q, attempts, err := s.opts.Outbox.Get(c.Context(), int64(id))
	if errors.Is(err, outbox.ErrNotFound) {
		return fail(c, fiber.StatusNotFound, "no such message")
	}
	if err != nil {
		return fail(c, fiber.StatusServiceUnavailable, "cannot read the outbox")
	}
	if attempts == nil {
		attempts = []outbox.Attempt{}
	}
	return c.JSON(fiber.Map{"message": q, "attempts": attempts})
}

func (s *Service) retryMessage(c *fiber.Ctx) error {
	id, err := c.ParamsInt("id")
	if err != nil {
		return fail(c, fiber.StatusBadRequest, "id must be a number")
	}
	q, _, err := s.opts.Outbox.Get(c.Context(), int64(id))
	if errors.Is(err, outbox.ErrNotFound) {
		return fail(c, fiber.StatusNotFound, "no such message")
	}
	if err != nil {
		return fail(c, fiber.StatusServiceUnavailable, "cannot read the outbox")
	}
	switch {
	case q.State == outbox.StateDryRun:
		return fail(c, fiber.StatusConflict, "a dry-run message is never sent")
	case q.State == outbox.StateSent && !c.QueryBool("force"):
		// Sending it again is a duplicate in the chat: only on purpose.
		return fail(c, fiber.StatusConflict, "the message was sent already; retry with ?force=true to send it again")
	}
	err = s.opts.Outbox.Requeue(c.Context(), int64(id), s.opts.Now())
	if errors.Is(err, outbox.ErrNotFound) {
		return fail(c, fiber.StatusNotFound, "no such message")
	}
	if err != nil {
		return fail(c, fiber.StatusServiceUnavailable, "cannot write the outbox")
	}
	s.sender.Notify()
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"id": id, "state": outbox.StatePending})
}

func (s *Service) listTraces(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"traces": s.traces.list(c.Query("source"))})
}
