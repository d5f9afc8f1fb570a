package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gewe-bridge/gewe-bridge/rules/render"
)

// Result is what the rules made of one event.
type Result struct {
	Matched  []string        // names of the rules that matched, in order
	Messages []event.Message // rendered, one per recipient (and part)
	Errors   []*RuleError    // rules that failed at run time: not matched, or no message
	// Notes say what a matching rule left out and why (a refused
	// recipient, a dropped mention, messages over a cap): the caller logs
	// them; the rules log nothing themselves.
	Notes []Note
}

// Note is something a rule left out of its messages, and why.
type Note struct {
	Rule string `json:"rule"`
	Text string `json:"text"`
}

// RuleError is a rule that failed for one event. A failing `when` counts
// as not matched; a failing recipient list or template loses that rule's
// messages for the event, and nothing else.
type RuleError struct {
	Rule  string `json:"rule"`
	Stage string `json:"stage"` // when, to_expr, at_expr, template_expr, template
	Err   error  `json:"-"`
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("rule %q: %s: %v", e.Rule, e.Stage, e.Err)
}

// Unwrap gives the rule's error: errors.Is(e, render.ErrBudget) holds for a
// render that ran out of its budget.
func (e *RuleError) Unwrap() error { return e.Err }

// Verdicts of a rule in a trace.
const (
	Matched    = "matched"
	NotMatched = "not matched"
	Errored    = "error"
	NotReached = "not reached" // an earlier rule matched without continue
)

// Trace is everything the rules did with one event, for `gewe-bridge
// test`, dry runs and the trace API.
type Trace struct {
	Source   string          `json:"source"`
	Event    string          `json:"event"`
	Action   string          `json:"action,omitempty"`
	ID       string          `json:"id"`
	Rules    []RuleTrace     `json:"rules"`
	Messages []event.Message `json:"messages"`
}

// RuleTrace is one rule's part in a trace.
type RuleTrace struct {
	Name     string   `json:"name"`
	Verdict  string   `json:"verdict"`
	Error    string   `json:"error,omitempty"`
	Stage    string   `json:"stage,omitempty"`
	Template string   `json:"template,omitempty"`
	To       []string `json:"to,omitempty"`
	At       []string `json:"at,omitempty"`
	Notes    []string `json:"notes,omitempty"`
}

// Route evaluates the rules in order against ev and renders the messages
// of those that match. The first match wins unless it has continue: true.
// It is RouteContext without a context: a render that runs out of its
// budget is one of res.Errors (errors.Is(e, render.ErrBudget)) and stops routing.
func (rs *Ruleset) Route(ev *event.Event) *Result {
	res, _ := rs.RouteContext(context.Background(), ev)
	return res
}

// RouteContext is Route bounded by ctx and by the limits of the config
// (limits.render_timeout for all of the webhook's templates together,
// limits.render_iterations for each render). When rendering runs out of
// them, routing stops and err wraps render.ErrBudget (and ctx.Err() when ctx
// ended it): the event is fine, the bridge could not afford it now, and
// the caller should answer 503 so the sender retries, queueing none of
// res.Messages. err is nil otherwise, whatever the rules did: res.Errors
// holds each rule's own failure. res is never nil.
func (rs *Ruleset) RouteContext(ctx context.Context, ev *event.Event) (*Result, error) {
	res := &Result{}
	r := rs.newRun(ctx, ev)
	defer rs.done(r)
	r.notes = &res.Notes
	env := &r.env
	if err := r.lim.Err(); err != nil {
		return res, err
	}
	var buf [64]int
	var data map[string]any
	for _, n := range rs.index.candidates(&env.Event, buf[:0]) {
		rl := rs.rules[n]
		ok, err := rs.matches(r.vm, rl, env)
		if err != nil {
			res.Errors = append(res.Errors, err)
			continue
		}
		if !ok {
			continue
		}
		res.Matched = append(res.Matched, rl.Name)
		if data == nil {
			data = env.Vars()
		}
		msgs, err := rs.messages(r, rl, env, data, nil)
		res.Messages = append(res.Messages, msgs...)
		if err != nil {
			res.Errors = append(res.Errors, err)
			if errors.Is(err.Err, render.ErrBudget) {
				return res, err
			}
		}
		if !rl.Continue {
			break
		}
	}
	return res, nil
}

// Trace is Route that records every rule's verdict. It evaluates every
// rule, not only the index's candidates, so the trace shows all of them.
func (rs *Ruleset) Trace(ev *event.Event) *Trace {
	tr, _ := rs.TraceContext(context.Background(), ev)
	return tr
}

// TraceContext is Trace bounded as RouteContext is, with the same error:
// a rule whose rendering ran out of its budget shows the error, and the
// rules after it are not reached.
func (rs *Ruleset) TraceContext(ctx context.Context, ev *event.Event) (*Trace, error) {
	tr := &Trace{Source: ev.Source, Event: ev.Event, Action: ev.Action, ID: ev.ID, Messages: []event.Message{}}
	r := rs.newRun(ctx, ev)
	defer rs.done(r)
	env := &r.env
	data := env.Vars()
	stopped, note := "", ""
	var budgetErr error
	if err := r.lim.Err(); err != nil {
		budgetErr, note = err, "not evaluated: "+err.Error()
	}
	for _, rl := range rs.rules {
		rt := RuleTrace{Name: rl.Name}
		if stopped != "" || note != "" {
			// Not evaluated: Route would not have evaluated it either.
			rt.Verdict = NotReached
			if note == "" {
				note = fmt.Sprintf("rule %q matched first and has no continue: true", stopped)
			}
			rt.Notes = append(rt.Notes, note)
			tr.Rules = append(tr.Rules, rt)
			continue
		}
		switch ok, err := rs.matches(r.vm, rl, env); {
		case err != nil:
			rt.Verdict, rt.Stage, rt.Error = Errored, err.Stage, err.Err.Error()
		case !ok:
			rt.Verdict = NotMatched
		default:
			rt.Verdict = Matched
			msgs, err := rs.messages(r, rl, env, data, &rt)
			if err != nil {
				rt.Stage, rt.Error = err.Stage, err.Err.Error()
				if errors.Is(err.Err, render.ErrBudget) {
					budgetErr = err
					note = fmt.Sprintf("rule %q ran out of the render budget: routing stopped", rl.Name)
				}
			}
			tr.Messages = append(tr.Messages, msgs...)
			if !rl.Continue {
				stopped = rl.Name
			}
		}
		tr.Rules = append(tr.Rules, rt)
	}
	return tr, budgetErr
}

// run is one routing's state: the event as rules see it, its VM, its
// render limits and the messages it may still queue. Runs are pooled: a
// routing allocates none of it.
type run struct {
	env      exprEnv // the caller's event, headers redacted, counting expr usage
	usage    exprUsage
	vm       *vm.VM
	lim      render.Limits
	msgsLeft int       // limits.max_messages_per_webhook less what was made
	notes    *[]Note   // where a routing's notes go; nil: not kept
	now      time.Time // the routing's time: schedules and quiet hours
}

var runs = sync.Pool{New: func() any { return new(run) }}

func (rs *Ruleset) newRun(ctx context.Context, ev *event.Event) *run {
	l := rs.cfg.Limits
	r := runs.Get().(*run)
	r.env.Event = *ev
	r.env.Headers = event.RedactHeaders(ev.Headers)
	r.usage = exprUsage{}
	r.env.usage = &r.usage
	r.vm = rs.vms.Get().(*vm.VM)
	r.lim.Reset(ctx, l.RenderTimeout.D(), l.RenderIterations)
	r.msgsLeft = l.MaxMessages
	r.now = rs.Now()
	return r
}

func (rs *Ruleset) done(r *run) {
	rs.vms.Put(r.vm)
	*r = run{}
	runs.Put(r)
}

func (rs *Ruleset) matches(v *vm.VM, r *rule, ev *exprEnv) (bool, *RuleError) {
	if r.when == nil {
		return true, nil
	}
	out, err := v.Run(r.when, ev)
	if err != nil {
		return false, &RuleError{Rule: r.Name, Stage: "when", Err: err}
	}
	b, _ := out.(bool)
	return b, nil
}

// messages resolves a matched rule's recipients, mentions and template and
// renders one message per recipient. rt, when not nil, records the steps.
func (rs *Ruleset) messages(run *run, r *rule, ev *exprEnv, data map[string]any, rt *RuleTrace) ([]event.Message, *RuleError) {
	fail := func(stage string, err error) ([]event.Message, *RuleError) {
		return nil, &RuleError{Rule: r.Name, Stage: stage, Err: err}
	}
	v := run.vm
	var notes []string
	to, err := rs.recipients(v, r, ev, run.now, &notes)
	if err != nil {
		return fail("to_expr", err)
	}
	at, err := rs.mentions(v, r, ev, run.now, &notes)
	if err != nil {
		return fail("at_expr", err)
	}
	to, holds := rs.applyQuiet(v, r, ev, run.now, to, &notes)
	t, err := rs.template(v, r, ev)
	if err != nil {
		return fail("template_expr", err)
	}
	if rt != nil {
		rt.Template = t.Name()
		for _, m := range at {
			rt.At = append(rt.At, m.wxid)
		}
		rt.To = to
		defer func() { rt.Notes = append(rt.Notes, notes...) }()
	}
	if run.notes != nil {
		defer func() {
			for _, n := range notes {
				*run.notes = append(*run.notes, Note{Rule: r.Name, Text: n})
			}
		}()
	}
	if len(to) == 0 {
		notes = append(notes, "no recipients: nothing to send")
		return nil, nil
	}
	if ev.Type == "alertmanager" && len(ev.Alerts) == 0 {
		notes = append(notes, "the notification holds no alerts: nothing to send")
		return nil, nil
	}
	if run.msgsLeft <= 0 {
		notes = append(notes, fmt.Sprintf("nothing sent: this webhook made %d messages already (limits.max_messages_per_webhook)", rs.cfg.Limits.MaxMessages))
		return nil, nil
	}
	maxAlerts := rs.cfg.Limits.MaxAlerts
	var datas []map[string]any
	more := 0 // alerts no message shows
	if r.SplitAlerts && len(ev.Alerts) > 1 {
		shown := ev.Alerts
		if maxAlerts > 0 && len(shown) > maxAlerts {
			shown, more = shown[:maxAlerts], len(shown)-maxAlerts
		}
		datas = splitAlerts(data, shown)
	} else {
		datas = []map[string]any{capAlerts(data, ev.Alerts, maxAlerts)}
	}
	var out []event.Message
	ends := make([]int, 0, len(datas)) // where each alert's messages end in out
	shown := len(datas)
	for i, d := range datas {
		text, xmlOut, err := t.RenderWithin(d, rs.cfg.Limits.RenderBytes, &run.lim)
		if err != nil {
			run.msgsLeft -= len(out)
			holdMessages(out, holds)
			return out, &RuleError{Rule: r.Name, Stage: "template", Err: err}
		}
		if text == "" && xmlOut == "" {
			notes = append(notes, fmt.Sprintf("template %s rendered no text: nothing to send", t.Name()))
			ends = append(ends, len(out))
			continue
		}
		n := len(out)
		for _, wxid := range to {
			out = append(out, rs.compose(r.Name, wxid, text, xmlOut, at, ev, &notes)...)
		}
		// The alerts each message tells of, for chat-ops replies (only
		// with a gewe_callback source): its own alert when split, else
		// the whole notification's.
		if rs.chatOps {
			refAlerts := ev.Alerts
			if len(datas) > 1 {
				refAlerts, _ = d["alerts"].([]any)
			}
			if refs := ev.Event.AlertRefs(refAlerts); refs != nil {
				for j := n; j < len(out); j++ {
					out[j].Alerts = refs
				}
			}
		}
		if len(out) > run.msgsLeft {
			if len(datas) == 1 {
				notes = append(notes, fmt.Sprintf("%d messages not queued: over limits.max_messages_per_webhook (%d)", len(out)-run.msgsLeft, rs.cfg.Limits.MaxMessages))
				out = out[:run.msgsLeft]
				break
			}
			out, shown = out[:n], i
			break
		}
		ends = append(ends, len(out))
	}
	if len(datas) > 1 {
		// The alerts not shown are told in one last message per
		// recipient, which needs room too.
		more += len(datas) - shown
		for more > 0 && shown > 0 && len(out)+len(to) > run.msgsLeft {
			shown--
			more++
			out = out[:endBefore(ends, shown)]
		}
		switch {
		case more == 0:
		case len(out)+len(to) <= run.msgsLeft:
			notes = append(notes, fmt.Sprintf("split_alerts: %d of %d alerts told in one last message (limits.max_alerts %d, limits.max_messages_per_webhook %d)", more, len(ev.Alerts), maxAlerts, rs.cfg.Limits.MaxMessages))
			text := rs.moreAlerts(more, ev)
			for _, wxid := range to {
				out = append(out, event.Message{Rule: r.Name, To: wxid, Text: text})
			}
		default:
			notes = append(notes, fmt.Sprintf("split_alerts: %d alerts not sent: over limits.max_messages_per_webhook (%d)", more, rs.cfg.Limits.MaxMessages))
		}
	}
	run.msgsLeft -= len(out)
	holdMessages(out, holds)
	return out, nil
}

// endBefore is where the messages of alert k start.
func endBefore(ends []int, k int) int {
	if k == 0 {
		return 0
	}
	return ends[k-1]
}

// moreAlerts is the last message of a split notification with alerts
// left over.
func (rs *Ruleset) moreAlerts(n int, ev *exprEnv) string {
	var text string
	if rs.cfg.Language == "en" {
		text = fmt.Sprintf("… and %d more alerts", n)
		if n == 1 {
			text = "… and 1 more alert"
		}
	} else {
		text = fmt.Sprintf("…另有 %d 条告警", n)
	}
	if link := render.EventLink(&ev.Event); link != "" {
		text += "\n" + link
	}
	return text
}

// capAlerts gives templates at most max alerts; more_alerts counts the
// others, which the built-in templates add to their "and N more".
func capAlerts(data map[string]any, alerts []any, max int) map[string]any {
	if max <= 0 || len(alerts) <= max {
		return data
	}
	d := make(map[string]any, len(data)+1)
	for k, v := range data {
		d[k] = v
	}
	d["alerts"] = alerts[:max]
	d["more_alerts"] = len(alerts) - max
	return d
}

// compose builds the messages for one recipient: mentions only in groups,
// long text split into parts.
func (rs *Ruleset) compose(rule, to, text, xmlOut string, at []mention, ev *exprEnv, notes *[]string) []event.Message {
	if xmlOut != "" {
		if len(at) > 0 {
			*notes = append(*notes, "mentions are dropped: an app card cannot mention anyone")
		}
		return []event.Message{{Rule: rule, To: to, XML: xmlOut}}
	}
	var wxids []string
	if len(at) > 0 {
		if config.IsGroup(to) {
			text, wxids = withMentions(text, at)
		} else {
			*notes = append(*notes, fmt.Sprintf("mentions dropped for %s: a mention only works in a group", to))
		}
	}
	parts := render.Split(text, rs.cfg.Limits.TextBytes, rs.cfg.Limits.MaxParts, render.EventLink(&ev.Event))
	msgs := make([]event.Message, len(parts))
	for i, p := range parts {
		msgs[i] = event.Message{Rule: rule, To: to, Text: p}
		if i == 0 {
			msgs[i].At = wxids
		}
	}
	return msgs
}

// mention is one resolved @-mention.
type mention struct {
	wxid string
	name string // "" for a raw wxid: only the at list carries it
}

// withMentions writes "@name" for each mention the text does not already
// contain, on a first line, and returns the at list. WeChat shows a
// mention only when both are present.
func withMentions(text string, at []mention) (string, []string) {
	var head strings.Builder
	wxids := make([]string, 0, len(at))
	for _, m := range at {
		wxids = append(wxids, m.wxid)
		if m.name == "" || hasMention(text, m.name) {
			continue
		}
		head.WriteString("@")
		head.WriteString(m.name)
		head.WriteString(" ")
	}
	if head.Len() == 0 {
		return text, wxids
	}
	return strings.TrimRight(head.String(), " ") + "\n" + text, wxids
}

// hasMention reports whether text already mentions name: "@name" followed
// by a space, punctuation or the end, so "@Al" is not found in "@Alice".
func hasMention(text, name string) bool {
	at := "@" + name
	for i := strings.Index(text, at); i >= 0; {
		end := i + len(at)
		if end == len(text) {
			return true
		}
		r, _ := utf8.DecodeRuneInString(text[end:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' {
			return true
		}
		j := strings.Index(text[end:], at)
		if j < 0 {
			return false
		}
		i = end + j
	}
	return false
}

func (rs *Ruleset) recipients(v *vm.VM, r *rule, ev *exprEnv, now time.Time, notes *[]string) ([]string, error) {
	names := r.To
	static := len(names) // names from the config; the rest came from to_expr
	if r.toExpr != nil {
		out, err := v.Run(r.toExpr, ev)
		if err != nil {
			return nil, err
		}
		names = append(append([]string{}, names...), toStrings(out)...)
	}
	seen := make(map[string]bool, len(names))
	ids := make([]string, 0, len(names))
	for i, name := range names {
		name, ok := rs.resolveOnCall(name, now, notes)
		if !ok {
			continue
		}
		id := name
		if c, ok := rs.cfg.Contacts[name]; ok {
			id = c.Wxid
		} else if !config.IsRawID(name) {
			*notes = append(*notes, fmt.Sprintf("unknown contact %q skipped", name))
			continue
		} else if _, known := rs.byWxid[name]; i >= static && !known && !r.AllowAnyRecipient {
			*notes = append(*notes, fmt.Sprintf("to_expr gave %q, which is not a contact's id: refused (a rule with allow_any_recipient: true may send to any id)", name))
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func (rs *Ruleset) mentions(v *vm.VM, r *rule, ev *exprEnv, now time.Time, notes *[]string) ([]mention, error) {
	names := r.At
	static := len(names) // names from the config; the rest came from at_expr
	if r.atExpr != nil {
		out, err := v.Run(r.atExpr, ev)
		if err != nil {
			return nil, err
		}
		names = append(append([]string{}, names...), toStrings(out)...)
	}
	var at []mention
	seen := map[string]bool{}
	for i, name := range names {
		name, ok := rs.resolveOnCall(name, now, notes)
		if !ok {
			continue
		}
		var m mention
		dynamic := i >= static && !r.AllowAnyRecipient
		c, ok := rs.cfg.Contacts[name]
		if !ok && strings.HasPrefix(name, "wxid_") {
			if cn, known := rs.byWxid[name]; known {
				c, ok = rs.cfg.Contacts[cn], true
			}
		}
		switch {
		case (name == config.MentionAll || name == "notify@all") && dynamic:
			*notes = append(*notes, fmt.Sprintf("at_expr gave %q: mentioning everyone is refused (a rule with allow_any_recipient: true may)", name))
			continue
		case name == config.MentionAll || name == "notify@all":
			m = mention{wxid: "notify@all", name: "所有人"}
		case ok:
			m = mention{wxid: c.Wxid, name: c.Name}
		case strings.HasPrefix(name, "wxid_") && dynamic:
			*notes = append(*notes, fmt.Sprintf("at_expr gave %q, which is not a contact's id: not mentioned (a rule with allow_any_recipient: true may mention any id)", name))
			continue
		case strings.HasPrefix(name, "wxid_"):
			m = mention{wxid: name}
		default:
			*notes = append(*notes, fmt.Sprintf("unknown contact %q not mentioned", name))
			continue
		}
		if m.name == "" {
			// WeChat ignores a mention whose @name is not in the text:
			// sending it would look like a mention and notify no one.
			*notes = append(*notes, fmt.Sprintf("%q has no contact name to write after @: not mentioned (add a contact with name:)", name))
			continue
		}
		if !seen[m.wxid] {
			seen[m.wxid] = true
			at = append(at, m)
		}
	}
	return at, nil
}

func (rs *Ruleset) template(v *vm.VM, r *rule, ev *exprEnv) (*render.Template, error) {
	if r.tmpl != nil {
		return r.tmpl, nil
	}
	if r.templateExpr != nil {
		out, err := v.Run(r.templateExpr, ev)
		if err != nil {
			return nil, err
		}
		name, _ := out.(string)
		if t, ok := rs.templates[name]; ok {
			return t, nil
		}
		return nil, fmt.Errorf("template_expr gave %q, which is not a template", name)
	}
	return rs.templates[render.DefaultName(&ev.Event, rs.hasTemplate)], nil
}

// toStrings accepts what to_expr and at_expr may give: a string or a list.
func toStrings(v any) []string {
	switch t := v.(type) {
	case string:
		if t == "" {
			return nil
		}
		return []string{t}
	case []string:
		return t
	case []any:
		out := make([]string, 0, len(t))
		for _, x := range t {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// splitAlerts gives one template data per alert, as split_alerts asks:
// alerts holds that alert only, and status and labels are its own.
func splitAlerts(data map[string]any, alerts []any) []map[string]any {
	out := make([]map[string]any, 0, len(alerts))
	for _, a := range alerts {
		d := make(map[string]any, len(data))
		for k, v := range data {
			d[k] = v
		}
		d["alerts"] = []any{a}
		if am, ok := a.(map[string]any); ok {
			if s, ok := am["status"].(string); ok {
				d["status"] = s
			}
			if l, ok := am["labels"].(map[string]any); ok {
				labels := make(map[string]string, len(l))
				for k, v := range l {
					labels[k] = fmt.Sprint(v)
				}
				d["labels"] = labels
			}
			if an, ok := am["annotations"].(map[string]any); ok {
				anns := make(map[string]string, len(an))
				for k, v := range an {
					anns[k] = fmt.Sprint(v)
				}
				d["annotations"] = anns
			}
		}
		out = append(out, d)
	}
	return out
}
