package config

import (
	"net/url"
	"slices"
	"strconv"
	"time"
)

// TypeGeweCallback is the source type GeWe posts incoming WeChat messages
// to (set with /v2/api/tools/setCallback): the chat-ops commands.
const TypeGeweCallback = "gewe_callback"

// Chat-ops defaults.
const (
	DefaultAck        = time.Hour          // chatops.ack
	DefaultMaxSilence = 7 * 24 * time.Hour // chatops.max_silence
	minCallbackSecret = 16
)

// ChatOpsConfig is who may command the bridge by replying to its alert
// messages in WeChat, and how.
type ChatOpsConfig struct {
	// Allow names the contacts (keys of contacts) whose commands are
	// obeyed; anyone else gets a short refusal.
	Allow []string `yaml:"allow"`
	// Ack is how long `ack` silences the alerts; default 1h.
	Ack Duration `yaml:"ack"`
	// MaxSilence is the longest silence a command may ask for; default 7d.
	MaxSilence Duration `yaml:"max_silence"`
	// Alertmanager is used for alerts whose source names no api.
	Alertmanager *AlertmanagerAPI `yaml:"alertmanager"`
}

// AckFor is chatops.ack, or its default.
func (c ChatOpsConfig) AckFor() time.Duration {
	if c.Ack > 0 {
		return c.Ack.D()
	}
	return DefaultAck
}

// MaxSilenceFor is chatops.max_silence, or its default.
func (c ChatOpsConfig) MaxSilenceFor() time.Duration {
	if c.MaxSilence > 0 {
		return c.MaxSilence.D()
	}
	return DefaultMaxSilence
}

// Allowed reports whether the contact may command.
func (c ChatOpsConfig) Allowed(contact string) bool {
	return contact != "" && slices.Contains(c.Allow, contact)
}

// AlertmanagerAPI is how to reach an Alertmanager's API v2, with the
// credentials of Alertmanager's http_config.
type AlertmanagerAPI struct {
	URL         string     `yaml:"url"` // e.g. http://alertmanager:9093
	BearerToken Secret     `yaml:"bearer_token"`
	BasicAuth   *BasicAuth `yaml:"basic_auth"`
}

// AlertmanagerFor is the Alertmanager that silences alerts of the named
// source: the source's api, else chatops.alertmanager; nil when neither.
func (c *Config) AlertmanagerFor(source string) *AlertmanagerAPI {
	if s, ok := c.Sources[source]; ok && s.API != nil {
		return s.API
	}
	return c.ChatOps.Alertmanager
}

// ChatOpsOn reports whether a gewe_callback source takes replies: only
// then are the alerts each message tells of worth recording.
func (c *Config) ChatOpsOn() bool {
	for _, s := range c.Sources {
		if s.Type == TypeGeweCallback {
			return true
		}
	}
	return false
}

// ContactByWxid is the name of the contact with the wxid, "" when none.
func (c *Config) ContactByWxid(wxid string) string {
	for _, name := range sortedKeys(c.Contacts) {
		if c.Contacts[name].Wxid == wxid {
			return name
		}
	}
	return ""
}

func (p *loader) checkCallbackSource(c *Config, path string, s Source) {
	if s.BearerToken != "" || s.BasicAuth != nil || s.API != nil {
		p.add(p.at(path), path, "a gewe_callback source authenticates with secret only (the token in its callback URL)")
	}
	switch {
	case s.Secret == "" && c.DryRun:
		p.warn(p.at(path), path, "no secret set%s: accepting unauthenticated callbacks in dry-run mode", p.unsetHint(c, path+".secret"))
	case s.Secret == "":
		p.add(p.at(path), path, "no secret set%s: GeWe signs nothing, so the callback URL carries it (/hooks/<name>/<secret>)", p.unsetHint(c, path+".secret"))
	case len(s.Secret) < minCallbackSecret:
		p.add(p.at(path+".secret"), path+".secret", "must be at least %d characters: it is the callback's only credential", minCallbackSecret)
	}
}

func (p *loader) checkChatOps(c *Config) {
	for i, name := range c.ChatOps.Allow {
		if _, ok := c.Contacts[name]; !ok {
			path := "chatops.allow[" + itoa(i) + "]"
			p.add(p.at(path), path, "unknown contact %q: chatops.allow names contacts", name)
		}
	}
	if c.ChatOps.Ack < 0 || c.ChatOps.MaxSilence < 0 {
		p.add(p.at("chatops"), "chatops", "ack and max_silence must be positive")
	}
	p.checkAlertmanagerAPI(c, "chatops.alertmanager", c.ChatOps.Alertmanager)
	for _, name := range sortedKeys(c.Sources) {
		s := c.Sources[name]
		path := "sources[" + name + "].api"
		if s.API != nil && s.Type != "alertmanager" {
			p.add(p.at(path), path, "only an alertmanager source has an api (its Alertmanager, for silences)")
		}
		p.checkAlertmanagerAPI(c, path, s.API)
	}
}

func (p *loader) checkAlertmanagerAPI(c *Config, path string, a *AlertmanagerAPI) {
	if a == nil {
		return
	}
	if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(p.at(path+".url"), path+".url", "must be the Alertmanager's http:// or https:// URL, e.g. http://alertmanager:9093%s", p.unsetHint(c, path+".url"))
	}
	if a.BasicAuth != nil && (a.BasicAuth.Username == "" || a.BasicAuth.Password == "") {
		p.add(p.at(path+".basic_auth"), path+".basic_auth", "needs both username and password")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
