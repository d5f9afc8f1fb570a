package chatops

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewecallback"
	"github.com/gewe-bridge/gewe-bridge/bridge/metrics"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// MaxAge is how old an incoming message may be and still be obeyed:
// GeWe replays history after a restart.
const MaxAge = time.Minute

// Command results, as recorded, logged and counted.
const (
	Silenced       = "silenced"
	Unsilenced     = "unsilenced"
	Listed         = "listed"
	Helped         = "help"
	Refused        = "refused"
	UnknownMessage = "unknown_message"
	NoQuote        = "no_quote"
	BadArgs        = "bad_arguments"
	Failed         = "failed"
	Ignored        = "ignored"
)

// Wants reports whether an incoming message may be a command worth
// storing: text that parses as one, from someone else.
func Wants(m *gewecallback.Message) bool {
	if m.TypeName != "AddMsg" || m.Own() {
		return false
	}
	text, _ := m.Text()
	_, ok := Parse(text)
	return ok
}

// Options are what a Worker needs.
type Options struct {
	Store   outbox.ChatOps
	Account string                // the GeWe account whose sent messages are looked up
	Config  func() *config.Config // the running config (reloads apply)
	// Reply queues text to the chat through the outbox, @-mentioning the
	// wxids of at (a group reply to its author).
	Reply   func(ctx context.Context, cb *outbox.Callback, to, text string, at []string) error
	Metrics *metrics.Metrics
	Log     *slog.Logger
	Now     func() time.Time
	HTTP    *http.Client // to Alertmanager; nil: a 10s timeout
}

// Worker carries out the stored callbacks, one at a time, oldest first.
type Worker struct {
	opts Options
	wake chan struct{}
}

// NewWorker returns a worker; Run starts it.
func NewWorker(opts Options) *Worker {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Worker{opts: opts, wake: make(chan struct{}, 1)}
}

// Notify wakes the worker: a callback was stored.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends; it also picks up what a crash left pending.
func (w *Worker) Run(ctx context.Context) {
	for ctx.Err() == nil {
		cbs, err := w.opts.Store.PendingCallbacks(ctx, 16)
		if err != nil && ctx.Err() == nil {
			w.opts.Log.Error("reading pending chat-ops callbacks failed", "err", err)
		}
		for i := range cbs {
			w.handle(context.WithoutCancel(ctx), &cbs[i])
		}
		if len(cbs) > 0 && err == nil {
			continue
		}
		t := time.NewTimer(30 * time.Second)
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

func (w *Worker) handle(ctx context.Context, cb *outbox.Callback) {
	c, at := w.carryOut(ctx, cb)
	c.DoneAt = w.opts.Now()
	if c.Reply != "" {
		if err := w.opts.Reply(ctx, cb, c.Chat, c.Reply, at); err != nil {
			w.opts.Log.Error("queuing the chat-ops reply failed", "callback", cb.ID, "err", err)
			c.Detail = strings.TrimSpace(c.Detail + "; reply not queued: " + err.Error())
		}
	}
	if err := w.opts.Store.CallbackDone(ctx, cb.ID, c); err != nil {
		// It stays pending and is done again on the next turn; commands
		// are idempotent enough (a second silence, a second reply).
		w.opts.Log.Error("recording a chat-ops outcome failed", "callback", cb.ID, "err", err)
		time.Sleep(time.Second)
		return
	}
	w.opts.Metrics.Command(orNone(c.Command), c.Result)
	w.opts.Log.Info("chat-ops command", "command", c.Command, "result", c.Result, "chat", c.Chat,
		"author", c.Author, "contact", c.Contact, "quoted", c.Quoted, "detail", c.Detail, "callback", cb.ID)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Handle carries out one callback's command and says what came of it,
// with the reply to send (none when Reply is "").
func (w *Worker) Handle(ctx context.Context, cb *outbox.Callback) outbox.Command {
	c, _ := w.carryOut(ctx, cb)
	return c
}

// carryOut is Handle, with the wxids the reply @-mentions.
func (w *Worker) carryOut(ctx context.Context, cb *outbox.Callback) (outbox.Command, []string) {
	cfg := w.opts.Config()
	c := w.command(ctx, cfg, cb)
	if c.Reply == "" {
		return c, nil
	}
	text, at := mention(cfg, c)
	c.Reply = text
	return c, at
}

// mention makes a group reply @-mention its author: "@<name> " in front
// and the author's wxid in the at list. WeChat shows a mention only with
// both, so an author without a contact name (or a direct chat) gets none.
func mention(cfg *config.Config, c outbox.Command) (string, []string) {
	if !config.IsGroup(c.Chat) || c.Author == "" || c.Contact == "" {
		return c.Reply, nil
	}
	name := cfg.Contacts[c.Contact].Name
	if name == "" {
		return c.Reply, nil
	}
	return "@" + name + " " + c.Reply, []string{c.Author}
}

func (w *Worker) command(ctx context.Context, cfg *config.Config, cb *outbox.Callback) outbox.Command {
	en := cfg.Language == "en"
	m, err := gewecallback.Parse(cb.Raw)
	if err != nil {
		return outbox.Command{Result: Ignored, Detail: err.Error()}
	}
	text, quoted := m.Text()
	c := outbox.Command{Chat: m.Chat(), Author: m.Author(), Text: text, Quoted: quoted}
	c.Contact = cfg.ContactByWxid(c.Author)
	cmd, ok := Parse(text)
	if !ok || m.Own() {
		c.Result = Ignored
		return c
	}
	c.Command = cmd.Kind
	// In a group, people say "ack" to each other: only a quote of an
	// alert message or an @-mention makes it a command for the bot.
	addressed := !m.IsGroup() || cmd.Mention || quoted != 0 || m.Mentions(m.Wxid)
	if !addressed {
		c.Result = Ignored
		return c
	}
	if !cfg.ChatOps.Allowed(c.Contact) {
		c.Result = Refused
		c.Reply = say(en, "⛔ 你不在 chatops.allow 中，不能操作告警。", "⛔ You are not in chatops.allow: the bridge does not take commands from you.")
		return c
	}
	switch cmd.Kind {
	case CmdHelp:
		c.Result, c.Reply = Helped, helpText(en, cfg)
		return c
	case CmdSilences:
		return w.list(ctx, cfg, c, en)
	}
	if quoted == 0 {
		c.Result = NoQuote
		c.Reply = say(en, "请引用（回复）一条告警消息再发 "+cmd.Kind+"。", "Reply to (quote) an alert message with "+cmd.Kind+".")
		return c
	}
	refs, err := w.opts.Store.SentAlerts(ctx, w.opts.Account, quoted)
	if err != nil {
		c.Result, c.Detail = Failed, err.Error()
		c.Reply = say(en, "❌ 读取消息记录失败，请稍后再试。", "❌ Could not read the message records; try again later.")
		return c
	}
	if len(refs) == 0 {
		c.Result = UnknownMessage
		c.Reply = say(en, "❓ 引用的消息不是本机器人发出的告警（或已过保留期）。", "❓ The quoted message is not an alert this bridge sent (or it is past retention).")
		return c
	}
	if cmd.Kind == CmdUnsilence {
		return w.unsilence(ctx, cfg, c, refs, en)
	}
	return w.silence(ctx, cfg, c, cmd, refs, cb, en)
}

func (w *Worker) silence(ctx context.Context, cfg *config.Config, c outbox.Command, cmd Command, refs []event.AlertRef, cb *outbox.Callback, en bool) outbox.Command {
	d := cmd.Duration
	if cmd.BadDuration != "" {
		c.Result = BadArgs
		c.Reply = say(en, fmt.Sprintf("❌ 无法识别时长 %q（例：30m、2h、1d）。", cmd.BadDuration), fmt.Sprintf("❌ %q is not a duration (e.g. 30m, 2h, 1d).", cmd.BadDuration))
		return c
	}
	if d == 0 {
		d = cfg.ChatOps.AckFor()
	}
	if max := cfg.ChatOps.MaxSilenceFor(); d > max {
		c.Result = BadArgs
		c.Reply = say(en, fmt.Sprintf("❌ 最长静默 %s（chatops.max_silence）。", max), fmt.Sprintf("❌ The longest silence is %s (chatops.max_silence).", max))
		return c
	}
	who := c.Contact
	comment := cmd.Comment
	if comment == "" && cmd.Kind == CmdAck {
		comment = "ack"
	}
	comment = strings.TrimSpace(fmt.Sprintf("%s (WeChat message %d replying to %d, via gewe-bridge)", comment, cb.NewMsgID, c.Quoted))
	now := w.opts.Now()
	ends := now.Add(d)
	var ids, fails []string
	link := ""
	for _, r := range refs {
		api := cfg.AlertmanagerFor(r.Source)
		if api == nil {
			fails = append(fails, fmt.Sprintf("no Alertmanager for source %s (set sources.%s.api.url or chatops.alertmanager.url)", r.Source, r.Source))
			continue
		}
		id, err := NewAlertmanager(*api, w.opts.HTTP).Create(ctx, Silence{
			Matchers: MatchersFor(r.Labels), StartsAt: now, EndsAt: ends, CreatedBy: who, Comment: comment})
		if err != nil {
			fails = append(fails, err.Error())
			continue
		}
		ids = append(ids, id)
		if link == "" && r.ExternalURL != "" {
			link = strings.TrimRight(r.ExternalURL, "/") + "/#/silences/" + id
		}
	}
	c.Detail = strings.Join(append(append([]string{}, ids...), fails...), "; ")
	until := ends.In(location(cfg)).Format("01-02 15:04")
	if len(ids) == 0 {
		c.Result = Failed
		c.Reply = say(en, "❌ 静默失败："+fails[0], "❌ Silencing failed: "+fails[0])
		return c
	}
	c.Result = Silenced
	names := alertNames(refs)
	c.Reply = say(en,
		fmt.Sprintf("🔕 %s 已静默 %s，至 %s（%s）\nsilence %s", names, d, until, who, strings.Join(ids, ", ")),
		fmt.Sprintf("🔕 %s silenced for %s, until %s (by %s)\nsilence %s", names, d, until, who, strings.Join(ids, ", ")))
	if link != "" {
		c.Reply += "\n" + link
	}
	if len(fails) > 0 {
		c.Reply += say(en, fmt.Sprintf("\n⚠️ %d 条失败：%s", len(fails), fails[0]), fmt.Sprintf("\n⚠️ %d failed: %s", len(fails), fails[0]))
	}
	return c
}

func (w *Worker) unsilence(ctx context.Context, cfg *config.Config, c outbox.Command, refs []event.AlertRef, en bool) outbox.Command {
	byAPI := map[config.AlertmanagerAPI][]event.AlertRef{}
	var fails, ids []string
	for _, r := range refs {
		api := cfg.AlertmanagerFor(r.Source)
		if api == nil {
			fails = append(fails, "no Alertmanager for source "+r.Source)
			continue
		}
		key := *api
		key.BasicAuth = nil // a pointer: key on what is comparable
		byAPI[key] = append(byAPI[key], r)
	}
	for _, rs := range byAPI {
		api := cfg.AlertmanagerFor(rs[0].Source)
		am := NewAlertmanager(*api, w.opts.HTTP)
		all, err := am.List(ctx)
		if err != nil {
			fails = append(fails, err.Error())
			continue
		}
		for _, s := range all {
			if !s.Active() {
				continue
			}
			for _, r := range rs {
				if s.MatchesExactly(r.Labels) {
					if err := am.Expire(ctx, s.ID); err != nil {
						fails = append(fails, err.Error())
					} else {
						ids = append(ids, s.ID)
					}
					break
				}
			}
		}
	}
	c.Detail = strings.Join(append(append([]string{}, ids...), fails...), "; ")
	switch {
	case len(ids) > 0:
		c.Result = Unsilenced
		c.Reply = say(en, fmt.Sprintf("🔔 已解除 %d 个静默：%s", len(ids), strings.Join(ids, ", ")), fmt.Sprintf("🔔 Expired %d silence(s): %s", len(ids), strings.Join(ids, ", ")))
	case len(fails) > 0:
		c.Result = Failed
		c.Reply = say(en, "❌ 解除静默失败："+fails[0], "❌ Unsilencing failed: "+fails[0])
	default:
		c.Result = Unsilenced
		c.Reply = say(en, "没有针对这些告警的静默。", "No active silence matches these alerts.")
	}
	return c
}

// list answers `silences`: the active silences of every Alertmanager
// the config names.
func (w *Worker) list(ctx context.Context, cfg *config.Config, c outbox.Command, en bool) outbox.Command {
	seen := map[string]bool{}
	var lines, fails []string
	apis := []*config.AlertmanagerAPI{cfg.ChatOps.Alertmanager}
	for _, name := range sortedKeys(cfg.Sources) {
		apis = append(apis, cfg.Sources[name].API)
	}
	loc := location(cfg)
	for _, api := range apis {
		if api == nil || seen[api.URL] {
			continue
		}
		seen[api.URL] = true
		all, err := NewAlertmanager(*api, w.opts.HTTP).List(ctx)
		if err != nil {
			fails = append(fails, err.Error())
			continue
		}
		sort.Slice(all, func(i, j int) bool { return all[i].EndsAt.Before(all[j].EndsAt) })
		for _, s := range all {
			if s.Status == nil || s.Status.State != "active" {
				continue
			}
			var ms []string
			for _, m := range s.Matchers {
				op := "="
				if m.IsRegex {
					op = "=~"
				}
				if m.IsEqual != nil && !*m.IsEqual {
					op = map[bool]string{true: "!~", false: "!="}[m.IsRegex]
				}
				ms = append(ms, m.Name+op+strconv.Quote(m.Value))
			}
			lines = append(lines, fmt.Sprintf("• %s until %s by %s: %s", shortID(s.ID), s.EndsAt.In(loc).Format("01-02 15:04"), s.CreatedBy, strings.Join(ms, ", ")))
		}
	}
	c.Result = Listed
	switch {
	case len(lines) == 0 && len(fails) > 0:
		c.Result, c.Detail = Failed, strings.Join(fails, "; ")
		c.Reply = say(en, "❌ 读取静默失败："+fails[0], "❌ Could not list silences: "+fails[0])
	case len(lines) == 0 && len(seen) == 0:
		c.Result = Failed
		c.Reply = say(en, "未配置 Alertmanager（sources.<name>.api 或 chatops.alertmanager）。", "No Alertmanager configured (sources.<name>.api or chatops.alertmanager).")
	case len(lines) == 0:
		c.Reply = say(en, "当前没有生效的静默。", "No active silences.")
	default:
		const most = 20
		if len(lines) > most {
			lines = append(lines[:most], fmt.Sprintf("… +%d", len(lines)-most))
		}
		c.Reply = say(en, "生效的静默：\n", "Active silences:\n") + strings.Join(lines, "\n")
	}
	return c
}

func helpText(en bool, cfg *config.Config) string {
	ack := cfg.ChatOps.AckFor()
	if en {
		return fmt.Sprintf(`Reply to (quote) an alert message with:
• silence 2h [comment]: silence its alerts
• ack: silence them for %s
• unsilence: expire those silences
Or write @bot silences, @bot help.`, ack)
	}
	return fmt.Sprintf(`引用（回复）告警消息并发送：
• 静默 2h [说明]（silence 2h）：静默这些告警
• ack：静默 %s
• unsilence（取消静默）：解除这些静默
或发送 @机器人 silences / help。`, ack)
}

func say(en bool, zh, english string) string {
	if en {
		return english
	}
	return zh
}

func alertNames(refs []event.AlertRef) string {
	var names []string
	seen := map[string]bool{}
	for _, r := range refs {
		n := r.Labels["alertname"]
		if n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	switch {
	case len(names) == 0:
		return fmt.Sprintf("%d alert(s)", len(refs))
	case len(names) > 3:
		names = append(names[:3], "…")
	}
	return strings.Join(names, ", ")
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func location(cfg *config.Config) *time.Location {
	if loc, err := time.LoadLocation(cfg.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
