// Package config is the config file: its types (Config and its sections,
// with the key names users write), Parse (YAML with line and column,
// ${VAR} expansion in values, defaults, validation), and the problems it
// finds, each with file:line:column and a sentence. It knows nothing of
// how rules run; the engine (package rules) compiles what it parsed.
package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the whole config file. Key names are the contract with users:
// see rules.example.yaml and README.md.
type Config struct {
	Gewe      GeweConfig          `yaml:"gewe"`
	Server    ServerConfig        `yaml:"server"`
	Timezone  string              `yaml:"timezone"`
	Language  string              `yaml:"language" validate:"omitempty,oneof=zh en"`
	Storage   StorageConfig       `yaml:"storage"`
	Delivery  DeliveryConfig      `yaml:"delivery"`
	Dedup     DedupConfig         `yaml:"dedup"`
	Limits    LimitsConfig        `yaml:"limits"`
	Sources   map[string]Source   `yaml:"sources" validate:"dive"`
	Contacts  map[string]Contact  `yaml:"contacts" validate:"dive"`
	Schedules map[string]Schedule `yaml:"schedules"` // on-call rotations (schedule.go)
	Templates map[string]Template `yaml:"templates"`
	Rules     []Rule              `yaml:"rules" validate:"dive"`
	// ChatOps is who may command the bridge from WeChat (chatops.go).
	ChatOps ChatOpsConfig `yaml:"chatops"`

	// DryRun is chosen with gewe.dry_run or serve --dry-run (ForceDryRun):
	// messages are logged and kept as dry_run, never sent.
	DryRun bool `yaml:"-"`
	// File is the path the config was read from, for messages.
	File string `yaml:"-"`
	// Clock is the time rules, templates, schedules and quiet hours see
	// (nil: the current time); At sets it, for gewe-bridge test --at.
	Clock func() time.Time `yaml:"-"`

	pos     map[string]Pos // path -> position, for problems found later
	styles  map[string]yaml.Style
	indents map[string]int
	lines   []string            // the file's lines, to place errors inside expressions
	unset   map[string][]string // path -> ${VARS} that were unset there
	// path -> the ${VARS} expanded there and their values, which
	// problems must not print
	expanded map[string][]envUse
}

// PosOf returns the position of the value at path (e.g. rules[2].when).
func (c *Config) PosOf(path string) Pos { return lookupPos(c.pos, path) }

// GeweConfig is how to reach the GeWe API.
type GeweConfig struct {
	BaseURL string   `yaml:"base_url" validate:"omitempty,url"`
	Token   Secret   `yaml:"token"`
	AppID   string   `yaml:"app_id"`
	API     string   `yaml:"api" validate:"omitempty,oneof=v1 v2"`
	Timeout Duration `yaml:"timeout"`
	DryRun  bool     `yaml:"dry_run"` // log messages instead of sending them
}

// A LoadOption changes how Load, LoadFile and Parse read a config.
type LoadOption func(*Config)

// ForceDryRun loads the config in dry-run mode whatever gewe.dry_run says
// (serve -dry-run).
func ForceDryRun() LoadOption { return func(c *Config) { c.DryRun = true } }

// ServerConfig is the HTTP server.
type ServerConfig struct {
	Listen     string `yaml:"listen"`
	AdminToken Secret `yaml:"admin_token"`
	// ReadToken opens the web console and the admin API's reads, never a
	// retry or a reload.
	ReadToken    Secret   `yaml:"read_token"`
	ReadTimeout  Duration `yaml:"read_timeout"`
	WriteTimeout Duration `yaml:"write_timeout"`
	IdleTimeout  Duration `yaml:"idle_timeout"`
}

// StorageConfig is the outbox: an embedded SQLite file (path), or a
// PostgreSQL database several replicas share (url, which wins when set).
type StorageConfig struct {
	Path      string   `yaml:"path"`
	URL       Secret   `yaml:"url"` // postgres://user:pass@host:5432/db?sslmode=...
	Retention Duration `yaml:"retention"`
}

// checkURL says what is wrong with storage.url, "" when nothing is. It
// never repeats the URL, which holds the password.
func (s StorageConfig) checkURL() string {
	if s.URL == "" {
		return ""
	}
	u, err := url.Parse(string(s.URL))
	switch {
	case err != nil:
		return "is not a URL (postgres://user:password@host:5432/database?sslmode=require)"
	case u.Scheme != "postgres" && u.Scheme != "postgresql":
		return fmt.Sprintf("must be a postgres:// URL, not %s://", u.Scheme)
	case u.Host == "":
		return "has no host (postgres://user:password@host:5432/database)"
	case strings.Trim(u.Path, "/") == "":
		return "has no database name (postgres://user:password@host:5432/database)"
	}
	return ""
}

// DeliveryConfig is how the sender paces and retries. Defaults follow the
// GeWe etiquette that keeps a personal account from being restricted.
type DeliveryConfig struct {
	PerMinute        int      `yaml:"per_minute" validate:"gte=0"`
	RecipientsPerMin int      `yaml:"recipients_per_minute" validate:"gte=0"`
	PersonGap        Duration `yaml:"person_gap"`
	GroupGapMin      Duration `yaml:"group_gap_min"`
	GroupGapMax      Duration `yaml:"group_gap_max"`
	DailyCap         int      `yaml:"daily_cap" validate:"gte=0"`
	MaxAttempts      int      `yaml:"max_attempts" validate:"gte=0"`
	MaxAge           Duration `yaml:"max_age"`
	OnTimeout        string   `yaml:"on_timeout" validate:"omitempty,oneof=retry drop"`
	Coalesce         bool     `yaml:"coalesce"` // default true (DefaultDelivery)
	InitialBackoff   Duration `yaml:"initial_backoff"`
	MaxBackoff       Duration `yaml:"max_backoff"`
	Pause            Duration `yaml:"pause"` // first pause of an offline account; doubles up to 10m
}

// DefaultDelivery is the delivery section when the file leaves a key out.
// (Numbers and durations left at 0 are also defaulted, in applyDefaults:
// 0 has always meant "the default" for them.)
func DefaultDelivery() DeliveryConfig { return DeliveryConfig{Coalesce: true} }

// UnmarshalYAML starts the section from its defaults, as Alertmanager's
// config does, so that a key the file does not set keeps its default and
// a bool can be false on purpose.
func (d *DeliveryConfig) UnmarshalYAML(n *yaml.Node) error {
	*d = DefaultDelivery()
	type plain DeliveryConfig
	return n.Decode((*plain)(d))
}

// DedupConfig is the de-duplication window for redeliveries and HA peers.
type DedupConfig struct {
	Window Duration `yaml:"window"`
}

// LimitsConfig bounds what one webhook can cost.
type LimitsConfig struct {
	TextBytes   int   `yaml:"text_bytes" validate:"gte=0"`
	MaxParts    int   `yaml:"max_parts" validate:"gte=0"`
	GitHubBody  int64 `yaml:"github_body_bytes" validate:"gte=0"`
	BodyBytes   int64 `yaml:"body_bytes" validate:"gte=0"`
	RenderBytes int   `yaml:"render_bytes" validate:"gte=0"`
	TracesKept  int   `yaml:"traces_per_source" validate:"gte=0"`
	// RenderTimeout bounds the time one webhook's templates take together;
	// RenderIterations the range iterations and template calls of one
	// render. Past either, rendering fails with ErrBudget.
	RenderTimeout    Duration `yaml:"render_timeout"`
	RenderIterations int      `yaml:"render_iterations" validate:"gte=0"`
	// MaxAlerts is the alerts a template sees in one notification (the
	// rest are counted in more_alerts), and the messages split_alerts
	// makes at most; MaxMessages the messages one webhook may queue.
	MaxAlerts   int `yaml:"max_alerts" validate:"gte=0"`
	MaxMessages int `yaml:"max_messages_per_webhook" validate:"gte=0"`
}

// Source is one webhook endpoint, POST /hooks/<name>.
type Source struct {
	Type string `yaml:"type" validate:"required,oneof=github gitea gitlab alertmanager grafana generic gewe_callback"`
	// Secret is github's and gitea's HMAC key (X-Hub-Signature-256,
	// X-Gitea-Signature / X-Forgejo-Signature), gitlab's secret token
	// (X-Gitlab-Token), generic's HMAC key: a Standard Webhooks
	// signature (webhook-signature) when it starts with whsec_, and
	// gewe_callback's token in the callback URL (/hooks/<name>/<secret>).
	Secret      Secret     `yaml:"secret"`
	BearerToken Secret     `yaml:"bearer_token"` // alertmanager, grafana, generic
	BasicAuth   *BasicAuth `yaml:"basic_auth"`   // alertmanager, grafana
	HMACHeader  string     `yaml:"hmac_header"`  // generic; default X-Signature-256
	BodyBytes   int64      `yaml:"body_bytes" validate:"gte=0"`
	// API is the Alertmanager that sent an alertmanager source's alerts,
	// where chat-ops commands create silences (chatops.go).
	API *AlertmanagerAPI `yaml:"api"`
}

// BasicAuth is what Alertmanager's http_config.basic_auth sends.
type BasicAuth struct {
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
}

// Contact is a person or group rules can name instead of a raw id.
type Contact struct {
	Wxid   string `yaml:"wxid" validate:"required"`
	Name   string `yaml:"name"`   // nickname written after @ in mentions
	GitHub string `yaml:"github"` // GitHub login, for contacts_by_github
	Quiet  *Quiet `yaml:"quiet"`  // hours when messages to this contact wait or go to others
}

// Rule routes matching events to recipients with a template.
type Rule struct {
	Name         string   `yaml:"name" validate:"required"`
	When         string   `yaml:"when"`
	To           []string `yaml:"to"`
	ToExpr       string   `yaml:"to_expr"`
	At           []string `yaml:"at"`
	AtExpr       string   `yaml:"at_expr"`
	Template     string   `yaml:"template"`
	TemplateExpr string   `yaml:"template_expr"`
	Continue     bool     `yaml:"continue"`
	SplitAlerts  bool     `yaml:"split_alerts"`
	// AllowAnyRecipient lets to_expr and at_expr name any wxid or group
	// and mention everyone; without it they may only name contacts (by
	// name or wxid): the payload does not choose who is messaged.
	AllowAnyRecipient bool `yaml:"allow_any_recipient"`
	// Quiet is when the rule's messages wait (hold) or go to others
	// (reroute), unless its bypass_when is true.
	Quiet *Quiet `yaml:"quiet"`
}

// Template is either a text template (a plain string in YAML), a link
// card, or a raw <appmsg> template.
type Template struct {
	Text   string    `yaml:"text"`
	Link   *LinkCard `yaml:"link"`
	AppMsg string    `yaml:"appmsg"`
}

// LinkCard is an appmsg of type 5; every field is a text template and the
// bridge escapes the results.
type LinkCard struct {
	Title    string `yaml:"title"`
	Des      string `yaml:"des"`
	URL      string `yaml:"url"`
	ThumbURL string `yaml:"thumb_url"`
}

// UnmarshalYAML accepts a plain string as a text template.
func (t *Template) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		t.Text = n.Value
		return nil
	}
	type plain Template
	return n.Decode((*plain)(t))
}

// Secret is a string that never prints: logs and errors show <secret>.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// MarshalJSON keeps secrets out of JSON dumps of the config.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// Duration is a time.Duration that also accepts days ("7d", "1d12h").
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML parses Go durations plus a leading day count.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		// A *yaml.TypeError carries the place and lets decoding go on to
		// report the other problems.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: column %d: %v", n.Line, n.Column, err)}}
	}
	*d = Duration(v)
	return nil
}

// ParseDuration parses "15s", "2h30m", "7d" and "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return days, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 30s, 5m, 2h, 7d)", s)
	}
	return days + v, nil
}
