package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
)

var sourceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// checkSemantics finds what struct tags cannot: credentials, recipients
// and names that must refer to something.
func (p *loader) checkSemantics(c *Config) {
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		p.add(p.at("timezone"), "timezone", "unknown time zone %q", c.Timezone)
	}
	switch {
	case c.DryRun:
	case c.Gewe.Token == "":
		p.add(p.at("gewe.token"), "gewe.token", "is empty%s: set it, or choose dry-run with gewe.dry_run: true or serve --dry-run", p.unsetHint(c, "gewe.token"))
	default:
		if c.Gewe.BaseURL == "" {
			p.add(p.at("gewe.base_url"), "gewe.base_url", "is required when gewe.token is set%s", p.unsetHint(c, "gewe.base_url"))
		}
		if c.Gewe.AppID == "" {
			p.add(p.at("gewe.app_id"), "gewe.app_id", "is required when gewe.token is set%s", p.unsetHint(c, "gewe.app_id"))
		}
		// The client's own rule for base_url and api, at load time: a
		// mismatch would otherwise pause the account at the first send.
		if _, err := gewe.Endpoint(c.Gewe.BaseURL, c.Gewe.API); err != nil && c.Gewe.BaseURL != "" {
			p.add(p.at("gewe.base_url"), "gewe.base_url", "%v", err)
		}
	}
	if msg := c.Storage.checkURL(); msg != "" {
		p.add(p.at("storage.url"), "storage.url", "%s", msg)
	}
	if d := c.Delivery; d.GroupGapMax < d.GroupGapMin {
		p.add(p.at("delivery.group_gap_max"), "delivery.group_gap_max", "must not be less than group_gap_min")
	}
	if len(c.Sources) == 0 {
		p.add(p.at("sources"), "sources", "no sources: add at least one, e.g. `alertmanager: {type: alertmanager, bearer_token: ...}`")
	}
	for _, name := range sortedKeys(c.Sources) {
		p.checkSource(c, name, c.Sources[name])
	}
	p.checkChatOps(c)
	for _, name := range sortedKeys(c.Templates) {
		t := c.Templates[name]
		path := "templates[" + name + "]"
		n := 0
		for _, set := range []bool{t.Text != "", t.Link != nil, t.AppMsg != ""} {
			if set {
				n++
			}
		}
		if n != 1 {
			p.add(p.at(path), path, "a template is a string, or exactly one of text, link or appmsg")
		}
		if t.Link != nil && (t.Link.Title == "" || t.Link.URL == "") {
			p.add(p.at(path+".link"), path+".link", "a link card needs a title and a url")
		}
	}
	p.checkSchedules(c)
	for _, name := range sortedKeys(c.Contacts) {
		p.checkQuiet(c, "contacts["+name+"].quiet", c.Contacts[name].Quiet)
	}
	seen := map[string]int{}
	for i, r := range c.Rules {
		path := fmt.Sprintf("rules[%d]", i)
		if j, dup := seen[r.Name]; dup && r.Name != "" {
			p.add(p.at(path+".name"), path+".name", "rule name %q is already used by rules[%d]", r.Name, j)
		}
		seen[r.Name] = i
		if len(r.To) == 0 && r.ToExpr == "" {
			p.add(p.at(path), path, "rule %q has no recipients: set to or to_expr", r.Name)
		}
		if r.SplitAlerts {
			p.warn(p.at(path+".split_alerts"), path+".split_alerts", "rule %q sends one message per alert: at most %d alerts (limits.max_alerts) and %d messages a webhook (limits.max_messages_per_webhook); the rest are counted in one last message", r.Name, c.Limits.MaxAlerts, c.Limits.MaxMessages)
		}
		if r.AllowAnyRecipient {
			if r.ToExpr == "" && r.AtExpr == "" {
				p.warn(p.at(path+".allow_any_recipient"), path+".allow_any_recipient", "has no effect: the rule has no to_expr or at_expr")
			} else {
				p.warn(p.at(path+".allow_any_recipient"), path+".allow_any_recipient", "rule %q lets the payload choose: to_expr and at_expr may send to any wxid or group and mention everyone (notify@all)", r.Name)
			}
		}
		if t, ok := c.Templates[r.Template]; ok && (t.Link != nil || t.AppMsg != "") && (len(r.At) > 0 || r.AtExpr != "") {
			p.warn(p.at(path+".template"), path+".template", "rule %q mentions people but template %q is a card: cards cannot mention anyone, so at and at_expr do nothing", r.Name, r.Template)
		}
		if r.Template != "" && r.TemplateExpr != "" {
			p.add(p.at(path+".template_expr"), path, "set template or template_expr, not both")
		}
		p.checkQuiet(c, path+".quiet", r.Quiet)
		for j, to := range r.To {
			if p.checkOnCallName(c, fmt.Sprintf("%s.to[%d]", path, j), to) {
				continue
			}
			if _, ok := c.Contacts[to]; !ok && !IsRawID(to) {
				ep := fmt.Sprintf("%s.to[%d]", path, j)
				p.add(p.at(ep), ep, "unknown contact %q: add it under contacts, or use a wxid (wxid_...) or a group id (...@chatroom)", to)
			}
		}
		for j, at := range r.At {
			ep := fmt.Sprintf("%s.at[%d]", path, j)
			ct, ok := c.Contacts[at]
			switch {
			case p.checkOnCallName(c, ep, at):
			case at == MentionAll:
			case ok && ct.Name == "":
				p.add(p.at(ep), ep, "contact %q has no name: a mention needs it (WeChat notifies only when the text carries @name)", at)
			case ok:
			case IsGroup(at):
				p.add(p.at(ep), ep, "%q is a group: at names people to mention; put the group in to", at)
			case IsRawID(at):
				p.warn(p.at(ep), ep, "%q is a raw id: without a contact name there is no @name to write, so it is not mentioned; add a contact with a name", at)
			default:
				p.add(p.at(ep), ep, "unknown contact %q", at)
			}
		}
	}
}

func (p *loader) checkSource(c *Config, name string, s Source) {
	path := "sources[" + name + "]"
	if !sourceName.MatchString(name) {
		p.add(p.at(path+"#key"), path, "source name %q must be letters, digits, '-', '_' or '.': it is the URL path /hooks/%s", name, name)
	}
	if s.BasicAuth != nil && (s.BasicAuth.Username == "" || s.BasicAuth.Password == "") {
		p.add(p.at(path+".basic_auth"), path+".basic_auth", "needs both username and password%s", p.unsetHint(c, path+".basic_auth.password"))
	}
	var missing, field string
	switch s.Type {
	case "github":
		if s.Secret == "" {
			missing, field = "secret", "secret"
		}
		if s.BearerToken != "" || s.BasicAuth != nil {
			p.add(p.at(path), path, "a github source authenticates with secret (X-Hub-Signature-256) only")
		}
	case "gitea", "gitlab":
		if s.Secret == "" {
			missing, field = "secret", "secret"
		}
		if s.BearerToken != "" || s.BasicAuth != nil {
			p.add(p.at(path), path, "a %s source authenticates with secret only", s.Type)
		}
	case "alertmanager", "grafana":
		if s.BearerToken == "" && s.BasicAuth == nil {
			missing, field = "bearer_token or basic_auth", "bearer_token"
		}
	case TypeGeweCallback:
		p.checkCallbackSource(c, path, s)
		return
	case "generic":
		if s.BearerToken == "" && s.Secret == "" {
			missing, field = "bearer_token or secret (HMAC)", "bearer_token"
		}
	}
	if missing == "" {
		return
	}
	hint := p.unsetHint(c, path+"."+field)
	if hint == "" && field == "bearer_token" {
		hint = p.unsetHint(c, path+".secret")
	}
	// Point at the empty credential when it is written, else at the source.
	at := p.at(path + "." + field)
	if c.DryRun {
		// Nothing is sent in dry-run mode, which is chosen explicitly: let
		// a fresh machine try the example config, but say that the
		// endpoint is open.
		p.warn(at, path, "no %s set%s: accepting unauthenticated requests in dry-run mode", missing, hint)
		return
	}
	p.add(at, path, "no %s set%s: every request would be refused", missing, hint)
}

// unsetHint names the environment variables that left the value at path empty.
func (p *loader) unsetHint(c *Config, path string) string {
	if vars := c.unset[path]; len(vars) > 0 {
		return fmt.Sprintf(" (%s is not set)", strings.Join(vars, ", "))
	}
	return ""
}

// MentionAll in `at` mentions everyone in a group.
const MentionAll = "all"

// IsRawID reports whether s looks like a WeChat id rather than a contact
// name: a personal wxid_..., a group ...@chatroom, or an official account.
func IsRawID(s string) bool {
	return strings.HasPrefix(s, "wxid_") || strings.HasSuffix(s, "@chatroom") || strings.HasPrefix(s, "gh_")
}

// IsGroup reports whether the id is a group chat.
func IsGroup(id string) bool { return strings.HasSuffix(id, "@chatroom") }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
