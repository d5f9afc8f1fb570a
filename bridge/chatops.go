package bridge

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewecallback"
	"github.com/gewe-bridge/gewe-bridge/bridge/chatops"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gofiber/fiber/v2"
)

// callbackAnswer is what GeWe expects back, within 3 s.
const callbackAnswer = "success"

// newChatOps builds the worker when the store keeps what chat-ops needs
// (outbox.ChatOps: both stores); nil otherwise.
func (s *Service) newChatOps() *chatops.Worker {
	store, ok := s.opts.Outbox.(outbox.ChatOps)
	if !ok {
		return nil
	}
	return chatops.NewWorker(chatops.Options{
		Store: store, Account: s.opts.Account, Config: s.Config, Reply: s.reply,
		Metrics: s.opts.Metrics, Log: s.log, Now: s.opts.Now,
	})
}

// callback takes a GeWe callback in: what may be a command is stored
// before the answer, and carried out by the chat-ops worker; the rest is
// answered and dropped. GeWe only wants "success", soon.
func (s *Service) callback(c *fiber.Ctx, src *Source, ev *event.Event) error {
	outcome := func(o string, code int) {
		s.opts.Metrics.Callback(src.Name, o)
		s.opts.Metrics.Webhook(src.Name, src.Label(ev.Event), code)
	}
	m, err := gewecallback.Parse(ev.Raw)
	if err != nil {
		return s.refuse(c, src, err)
	}
	now := s.opts.Now()
	switch {
	case m.TypeName != "AddMsg":
		outcome("not_a_message", fiber.StatusOK)
		return c.SendString(callbackAnswer)
	case m.Own():
		outcome("own", fiber.StatusOK)
		return c.SendString(callbackAnswer)
	case !m.Created.IsZero() && now.Sub(m.Created) > chatops.MaxAge:
		// GeWe replays history after a restart: never obey it.
		outcome("stale", fiber.StatusOK)
		s.log.Info("callback older than a minute; ignored", "source", src.Name, "new_msg_id", m.NewMsgID, "created", m.Created)
		return c.SendString(callbackAnswer)
	case !chatops.Wants(m):
		outcome("not_a_command", fiber.StatusOK)
		return c.SendString(callbackAnswer)
	case s.chatops == nil:
		outcome("unavailable", fiber.StatusServiceUnavailable)
		s.log.Error("a chat-ops command came in, but this store keeps no chat-ops records", "source", src.Name)
		return fail(c, fiber.StatusServiceUnavailable, "chat-ops is not available on this store")
	}
	store := s.opts.Outbox.(outbox.ChatOps)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // GeWe waits 3 s
	defer cancel()
	err = store.AcceptCallback(ctx, &outbox.Callback{Source: src.Name, AppID: m.AppID, NewMsgID: m.NewMsgID, ReceivedAt: now, Raw: ev.Raw})
	switch {
	case errors.Is(err, outbox.ErrDuplicate):
		outcome("duplicate", fiber.StatusOK)
		s.log.Info("duplicate callback; nothing done", "source", src.Name, "new_msg_id", m.NewMsgID)
		return c.SendString(callbackAnswer)
	case err != nil:
		outcome("unavailable", fiber.StatusServiceUnavailable)
		s.log.Error("could not store a callback; answering 503", "source", src.Name, "err", err)
		return fail(c, fiber.StatusServiceUnavailable, "cannot accept now, retry later")
	}
	outcome("stored", fiber.StatusOK)
	s.chatops.Notify()
	return c.SendString(callbackAnswer)
}

// reply queues a chat-ops answer like any message, so pacing applies.
func (s *Service) reply(ctx context.Context, cb *outbox.Callback, to, text string, at []string) error {
	if to == "" || text == "" {
		return nil
	}
	now := s.opts.Now()
	acc := &outbox.Accepted{
		EventID: "chatops-" + strconv.FormatInt(cb.ID, 10), Source: cb.Source, EventName: "chatops",
		ReceivedAt: now, Account: s.opts.Account,
		Messages: []event.Message{{Rule: "chatops", To: to, Text: text, At: at}},
	}
	ctx, cancel := context.WithTimeout(ctx, acceptTimeout)
	defer cancel()
	if err := s.opts.Outbox.Accept(ctx, acc, now); err != nil {
		return err
	}
	s.opts.Metrics.Accepted(1)
	s.sender.Notify()
	return nil
}

// listCommands is the chat-ops history: each callback stored and what
// came of it, newest first.
func (s *Service) listCommands(c *fiber.Ctx) error {
	store, ok := s.opts.Outbox.(outbox.ChatOps)
	if !ok {
		return c.JSON(fiber.Map{"commands": []outbox.Callback{}, "available": false})
	}
	_, limit := outbox.Page(0, c.QueryInt("limit"))
	cbs, err := store.Callbacks(c.Context(), int64(c.QueryInt("before")), limit)
	if err != nil {
		return fail(c, fiber.StatusServiceUnavailable, "cannot read the outbox")
	}
	if cbs == nil {
		cbs = []outbox.Callback{}
	}
	out := fiber.Map{"commands": cbs, "available": true}
	if len(cbs) == limit {
		out["next_before"] = cbs[len(cbs)-1].ID
	}
	return c.JSON(out)
}
