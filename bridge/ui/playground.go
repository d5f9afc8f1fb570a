package ui

// The playground: the running config with one rule and one template
// edited, traced against a payload. This file is where the console meets
// the rules package (Config, Compile, TraceContext), so that a change
// there is a change here only.

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"maps"
	"mime"
	"slices"
	"strconv"
	"strings"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gewe-bridge/gewe-bridge/rules/render"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gofiber/fiber/v2"
	"go.yaml.in/yaml/v3"
)

// RuleForm is one rule as the playground edits it; its YAML is the
// config's.
type RuleForm struct {
	Name              string   `json:"name" yaml:"name"`
	When              string   `json:"when,omitempty" yaml:"when,omitempty"`
	To                []string `json:"to,omitempty" yaml:"to,omitempty,flow"`
	ToExpr            string   `json:"to_expr,omitempty" yaml:"to_expr,omitempty"`
	At                []string `json:"at,omitempty" yaml:"at,omitempty,flow"`
	AtExpr            string   `json:"at_expr,omitempty" yaml:"at_expr,omitempty"`
	Template          string   `json:"template,omitempty" yaml:"template,omitempty"`
	TemplateExpr      string   `json:"template_expr,omitempty" yaml:"template_expr,omitempty"`
	Continue          bool     `json:"continue,omitempty" yaml:"continue,omitempty"`
	SplitAlerts       bool     `json:"split_alerts,omitempty" yaml:"split_alerts,omitempty"`
	AllowAnyRecipient bool     `json:"allow_any_recipient,omitempty" yaml:"allow_any_recipient,omitempty"`
}

// TemplateForm is one template: text, a link card, or a raw appmsg.
type TemplateForm struct {
	Text   string    `json:"text,omitempty" yaml:"text,omitempty"`
	Link   *LinkForm `json:"link,omitempty" yaml:"link,omitempty"`
	AppMsg string    `json:"appmsg,omitempty" yaml:"appmsg,omitempty"`
}

// LinkForm is a link card's templates.
type LinkForm struct {
	Title    string `json:"title" yaml:"title"`
	Des      string `json:"des,omitempty" yaml:"des,omitempty"`
	URL      string `json:"url" yaml:"url"`
	ThumbURL string `json:"thumb_url,omitempty" yaml:"thumb_url,omitempty"`
}

func ruleForm(r config.Rule) RuleForm {
	return RuleForm{Name: r.Name, When: r.When, To: r.To, ToExpr: r.ToExpr, At: r.At, AtExpr: r.AtExpr,
		Template: r.Template, TemplateExpr: r.TemplateExpr, Continue: r.Continue, SplitAlerts: r.SplitAlerts,
		AllowAnyRecipient: r.AllowAnyRecipient}
}

func (f RuleForm) rule() config.Rule {
	return config.Rule{Name: f.Name, When: f.When, To: f.To, ToExpr: f.ToExpr, At: f.At, AtExpr: f.AtExpr,
		Template: f.Template, TemplateExpr: f.TemplateExpr, Continue: f.Continue, SplitAlerts: f.SplitAlerts,
		AllowAnyRecipient: f.AllowAnyRecipient}
}

func templateForm(t config.Template) TemplateForm {
	f := TemplateForm{Text: t.Text, AppMsg: t.AppMsg}
	if t.Link != nil {
		f.Link = &LinkForm{Title: t.Link.Title, Des: t.Link.Des, URL: t.Link.URL, ThumbURL: t.Link.ThumbURL}
	}
	return f
}

func (f TemplateForm) template() config.Template {
	t := config.Template{Text: f.Text, AppMsg: f.AppMsg}
	if f.Link != nil {
		t.Link = &config.LinkCard{Title: f.Link.Title, Des: f.Link.Des, URL: f.Link.URL, ThumbURL: f.Link.ThumbURL}
	}
	return t
}

// playgroundConfig answers what the playground edits: the sources, the
// rules and templates of the running config, and the contacts.
func (c *Console) playgroundConfig(ctx *fiber.Ctx) error {
	rs := c.b.Ruleset()
	cfg := rs.Config()
	type source struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	type contact struct {
		Wxid string `json:"wxid"`
		Name string `json:"name,omitempty"`
	}
	out := struct {
		File      string                  `json:"file"`
		Sources   []source                `json:"sources"`
		Rules     []RuleForm              `json:"rules"`
		Templates map[string]TemplateForm `json:"templates"`
		Names     []string                `json:"template_names"` // built-in ones too
		Contacts  map[string]contact      `json:"contacts"`
	}{File: cfg.File, Sources: []source{}, Rules: []RuleForm{}, Templates: map[string]TemplateForm{},
		Names: rs.Templates(), Contacts: map[string]contact{}}
	for _, name := range slices.Sorted(maps.Keys(cfg.Sources)) {
		out.Sources = append(out.Sources, source{name, cfg.Sources[name].Type})
	}
	for _, r := range cfg.Rules {
		out.Rules = append(out.Rules, ruleForm(r))
	}
	// The built-in templates too, so that one can be edited from its text
	// (a template of the same name in the config replaces it).
	for name, t := range render.Builtins(cfg.Language) {
		out.Templates[name] = templateForm(t)
	}
	for name, t := range cfg.Templates {
		out.Templates[name] = templateForm(t)
	}
	for name, ct := range cfg.Contacts {
		out.Contacts[name] = contact{ct.Wxid, ct.Name}
	}
	return ctx.JSON(out)
}

// PreviewRequest is a playground run: a payload and its headers for a
// source, and optionally one rule and one template edited.
type PreviewRequest struct {
	Source  string            `json:"source"`
	Headers map[string]string `json:"headers"`
	Payload string            `json:"payload"`
	// RuleIndex is the rule Rule replaces; -1 (or past the end) adds
	// Rule before the others.
	RuleIndex    int           `json:"rule_index"`
	Rule         *RuleForm     `json:"rule,omitempty"`
	TemplateName string        `json:"template_name,omitempty"`
	Template     *TemplateForm `json:"template,omitempty"`
}

// Preview is what the playground shows. Nothing was sent or queued.
type Preview struct {
	// Problems are the edited config's errors (with the expression and a
	// caret under the column) and the warnings about the edited parts;
	// with an error there is no trace.
	Problems []Problem `json:"problems"`
	// Refused is the adapter's answer to a payload it refuses.
	Refused  string       `json:"refused,omitempty"`
	Trace    *rules.Trace `json:"trace,omitempty"`
	Messages []Bubble     `json:"messages"`
	// Names are the contacts' names of the wxids in the trace.
	Names        map[string]string `json:"names"`
	RuleYAML     string            `json:"rule_yaml,omitempty"`
	TemplateYAML string            `json:"template_yaml,omitempty"`
	// Error is set when the rendering ran out of its budget.
	Error string `json:"error,omitempty"`
}

// Problem is one problem of the edited config.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Warning bool   `json:"warning,omitempty"`
	// Place is file:line:column in the running file, for what was not
	// edited (an edited rule's place there is not where its text now is).
	Place string `json:"place,omitempty"`
}

// Bubble is one message as WeChat shows it.
type Bubble struct {
	Rule   string    `json:"rule"`
	To     string    `json:"to"`
	ToName string    `json:"to_name,omitempty"`
	Group  bool      `json:"group"`
	Text   string    `json:"text,omitempty"`
	At     []Mention `json:"at,omitempty"`
	Card   *Card     `json:"card,omitempty"`
	XML    string    `json:"xml,omitempty"`
	// Part of Parts: a text split in several messages.
	Part  int `json:"part"`
	Parts int `json:"parts"`
}

// Mention is one @-mention: the text shows @Name.
type Mention struct {
	Wxid string `json:"wxid"`
	Name string `json:"name,omitempty"`
}

// Card is a link card's fields.
type Card struct {
	Title    string `json:"title"`
	Des      string `json:"des"`
	URL      string `json:"url"`
	ThumbURL string `json:"thumb_url"`
	Type     string `json:"type"`
}

func (c *Console) preview(ctx *fiber.Ctx) error {
	body, err := readBody(ctx, maxPreviewBody)
	if err != nil {
		return bodyFail(ctx, err)
	}
	var in PreviewRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return fail(ctx, fiber.StatusBadRequest, "the body must be a JSON preview request: "+err.Error())
	}
	out, code, msg := c.Run(ctx.UserContext(), &in)
	if code != 0 {
		return fail(ctx, code, msg)
	}
	return ctx.JSON(out)
}

// Run traces a preview request against the running config with its
// edits; a code is an HTTP error for the request itself.
func (c *Console) Run(ctx context.Context, in *PreviewRequest) (out *Preview, code int, msg string) {
	running := c.b.Ruleset()
	cfg := running.Config()
	if _, ok := cfg.Sources[in.Source]; !ok {
		return nil, fiber.StatusBadRequest, "no source " + strconv.Quote(in.Source) + " in the config"
	}
	out = &Preview{Problems: []Problem{}, Messages: []Bubble{}, Names: map[string]string{}}
	rs := running
	if in.Rule != nil || in.Template != nil {
		edited, rulePath, tmplPath := edit(cfg, in)
		var probs config.Problems
		rs, probs = rules.Compile(edited)
		for _, p := range probs {
			mine := p.Path == rulePath || strings.HasPrefix(p.Path, rulePath+".") ||
				p.Path == tmplPath || strings.HasPrefix(p.Path, tmplPath+".")
			if p.Warning && !mine {
				continue // the running config's own warnings
			}
			pr := Problem{Path: p.Path, Message: p.Msg, Warning: p.Warning}
			if !mine && p.Pos.Line > 0 {
				pr.Place = p.File + ":" + strconv.Itoa(p.Pos.Line) + ":" + strconv.Itoa(p.Pos.Column)
			}
			out.Problems = append(out.Problems, pr)
		}
		if in.Rule != nil {
			y, _ := yaml.Marshal([]RuleForm{*in.Rule})
			out.RuleYAML = string(y)
		}
		if in.Template != nil && in.TemplateName != "" {
			out.TemplateYAML = templateYAML(in.TemplateName, *in.Template)
		}
		if rs == nil {
			return out, 0, ""
		}
	}
	ev, err := c.b.Receive(in.Source, request(in))
	if err != nil {
		out.Refused = err.Error()
		return out, 0, ""
	}
	rctx, cancel := context.WithTimeout(ctx, cfg.Limits.RenderTimeout.D())
	defer cancel()
	tr, err := rs.TraceContext(rctx, ev)
	if err != nil {
		out.Error = err.Error()
	}
	out.Trace = tr
	out.Messages = bubbles(tr.Messages, cfg.Contacts)
	names := func(ids []string) {
		for _, id := range ids {
			if n := nameOf(id, cfg.Contacts); n != "" {
				out.Names[id] = n
			}
		}
	}
	for _, r := range tr.Rules {
		names(r.To)
		names(r.At)
	}
	for _, m := range tr.Messages {
		names([]string{m.To})
		names(m.At)
	}
	return out, 0, ""
}

// edit is the running config with the request's rule and template in
// place, and their paths in it.
func edit(running *config.Config, in *PreviewRequest) (cfg *config.Config, rulePath, tmplPath string) {
	c := *running // what Compile reads; the file's positions stay shared
	c.Rules = slices.Clone(c.Rules)
	c.Templates = maps.Clone(c.Templates)
	if c.Templates == nil {
		c.Templates = map[string]config.Template{}
	}
	rulePath, tmplPath = "-", "-"
	if in.Rule != nil {
		i := in.RuleIndex
		if i < 0 || i >= len(c.Rules) {
			c.Rules = slices.Insert(c.Rules, 0, in.Rule.rule())
			i = 0
		} else {
			c.Rules[i] = in.Rule.rule()
		}
		rulePath = "rules[" + strconv.Itoa(i) + "]"
	}
	if in.Template != nil && in.TemplateName != "" {
		c.Templates[in.TemplateName] = in.Template.template()
		tmplPath = "templates[" + in.TemplateName + "]"
	}
	return &c, rulePath, tmplPath
}

// request is the webhook a preview stands for; header names are lower
// case, the content type defaults to JSON.
func request(in *PreviewRequest) *adapters.Request {
	h := make(map[string]string, len(in.Headers)+1)
	for k, v := range in.Headers {
		h[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	ct := "application/json"
	if v := h["content-type"]; v != "" {
		if mt, _, err := mime.ParseMediaType(v); err == nil {
			ct = mt
		}
	} else {
		h["content-type"] = ct
	}
	return &adapters.Request{Source: in.Source, ContentType: ct, Headers: h, Body: []byte(in.Payload)}
}

func templateYAML(name string, t TemplateForm) string {
	var v any = t
	if t.Link == nil && t.AppMsg == "" {
		v = t.Text // a text template is a plain string
	}
	y, _ := yaml.Marshal(map[string]any{name: v})
	return string(y)
}

// bubbles are the messages as WeChat shows them: a text with its
// mentions, numbered when split, or a card.
func bubbles(msgs []event.Message, contacts map[string]config.Contact) []Bubble {
	out := make([]Bubble, 0, len(msgs))
	for i, m := range msgs {
		b := Bubble{Rule: m.Rule, To: m.To, ToName: nameOf(m.To, contacts), Group: config.IsGroup(m.To), Text: m.Text, XML: m.XML, Part: 1, Parts: 1}
		for _, w := range m.At {
			b.At = append(b.At, Mention{Wxid: w, Name: mentionName(w, contacts)})
		}
		if m.XML != "" {
			b.Card = card(m.XML)
		}
		if i > 0 && m.XML == "" && out[i-1].XML == "" && out[i-1].Rule == m.Rule && out[i-1].To == m.To {
			b.Part = out[i-1].Part + 1
		}
		out = append(out, b)
	}
	// Parts: the length of each run, written back over it.
	for i := len(out) - 1; i >= 0; i-- {
		if i+1 < len(out) && out[i+1].Part == out[i].Part+1 {
			out[i].Parts = out[i+1].Parts
		} else {
			out[i].Parts = out[i].Part
		}
	}
	return out
}

// card reads a link card's fields from its appmsg.
func card(s string) *Card {
	var x struct {
		Title    string `xml:"title"`
		Des      string `xml:"des"`
		Type     string `xml:"type"`
		URL      string `xml:"url"`
		ThumbURL string `xml:"thumburl"`
	}
	if err := xml.Unmarshal([]byte(s), &x); err != nil {
		return nil
	}
	return &Card{Title: x.Title, Des: x.Des, URL: x.URL, ThumbURL: x.ThumbURL, Type: x.Type}
}

// nameOf is the contact a wxid is, as "name" (and its nickname).
func nameOf(wxid string, contacts map[string]config.Contact) string {
	if wxid == "notify@all" {
		return "everyone"
	}
	for _, name := range slices.Sorted(maps.Keys(contacts)) {
		if ct := contacts[name]; ct.Wxid == wxid {
			if ct.Name != "" && ct.Name != name {
				return name + " (" + ct.Name + ")"
			}
			return name
		}
	}
	return ""
}

// mentionName is what follows the @ in the text for a mentioned wxid.
func mentionName(wxid string, contacts map[string]config.Contact) string {
	if wxid == "notify@all" {
		return "所有人"
	}
	for _, ct := range contacts {
		if ct.Wxid == wxid {
			return ct.Name
		}
	}
	return ""
}
