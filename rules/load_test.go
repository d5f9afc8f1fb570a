package rules_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// base is the start of most test configs: six lines, so the first rule's
// "- name:" is on line 7 and its keys' values start at column 11.
const base = `sources:
  am: {type: alertmanager, bearer_token: t}
contacts:
  ops: {wxid: "1@chatroom"}
  alice: {wxid: wxid_alice, name: Alice, github: alice-gh}
rules:
`

// problemStrings loads cfg and returns its problems as the user sees them.
func problemStrings(t *testing.T, cfg string, getenv func(string) string, opts ...config.LoadOption) (errs, warns []string) {
	t.Helper()
	rs, probs := rules.Load([]byte(cfg), "rules.yaml", getenv, opts...)
	for _, p := range probs {
		if p.Warning {
			warns = append(warns, p.String())
		} else {
			errs = append(errs, p.String())
		}
	}
	if len(errs) > 0 {
		assert.Nil(t, rs, "a config with errors gives no ruleset")
		require.Error(t, probs.Err())
	} else {
		assert.NotNil(t, rs)
		require.NoError(t, probs.Err())
	}
	return errs, warns
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		want []string // every error, exactly, in order
	}{
		{
			name: "unknown key with a suggestion",
			cfg: base + `  - name: r
    wen: type == "github"
    to: [ops]
`,
			want: []string{`rules.yaml:8:5: rules[0]: unknown key "wen" (did you mean "when"?)`},
		},
		{
			name: "unknown top-level key",
			cfg:  base + "  - {name: r, to: [ops]}\ntimezon: UTC\n",
			want: []string{`rules.yaml:8:1: unknown key "timezon" (did you mean "timezone"?)`},
		},
		{
			name: "unknown key without a close match",
			cfg:  base + "  - {name: r, to: [ops], colour: red}\n",
			want: []string{`rules.yaml:7:26: rules[0]: unknown key "colour"`},
		},
		{
			// The README's example once did this: the braces of ${VAR}
			// end the flow mapping. The error names the line written so.
			name: "${VAR} unquoted inside { }",
			cfg: "gewe: {dry_run: true}\nsources:\n  am: { type: alertmanager, bearer_token: t }\n" +
				"  github: { type: github, secret: ${GITHUB_WEBHOOK_SECRET} }\nrules:\n  - {name: r, to: [wxid_a]}\n",
			want: []string{`rules.yaml:4:1: did not find expected ',' or '}' (a ${VAR} inside { } or [ ] must be quoted: "${VAR}")`},
		},
		{
			name: "a call of a template that is not defined",
			cfg:  base + "  - {name: r, to: [ops], template: t}\ntemplates:\n  t: '{{ template \"x\" }}'\n",
			want: []string{`rules.yaml:9:6: templates[t]: template: t: {{ template "x" }} calls a template that is not defined here (define it with {{ define "x" }} in the same template)`},
		},
		{
			name: "mention of a contact without a name",
			cfg:  base + "  - {name: r, to: [ops], at: [ops]}\n",
			want: []string{`rules.yaml:7:31: rules[0].at[0]: contact "ops" has no name: a mention needs it (WeChat notifies only when the text carries @name)`},
		},
		{
			name: "unknown key in a source",
			cfg:  "sources:\n  am:\n    type: alertmanager\n    bearer_tokn: t\nrules:\n  - {name: r, to: [wxid_a]}\n",
			want: []string{
				`rules.yaml:4:5: sources[am]: unknown key "bearer_tokn" (did you mean "bearer_token"?)`,
			},
		},
		{
			name: "unknown template",
			cfg: base + `  - name: r
    to: [ops]
    template: alrt
`,
			want: []string{`rules.yaml:9:15: rules[0].template: unknown template "alrt" (no templates are defined; built-ins are named like github.default)`},
		},
		{
			name: "unknown template names the defined ones",
			cfg: base + `  - name: r
    to: [ops]
    template: alrt
templates:
  alert: "{{ .status }}"
  pr: "{{ .action }}"
`,
			want: []string{`rules.yaml:9:15: rules[0].template: unknown template "alrt" (defined: alert, pr)`},
		},
		{
			name: "unknown contact in to",
			cfg: base + `  - name: r
    to: [ops, bob]
`,
			want: []string{`rules.yaml:8:15: rules[0].to[1]: unknown contact "bob": add it under contacts, or use a wxid (wxid_...) or a group id (...@chatroom)`},
		},
		{
			name: "unknown contact in at",
			cfg: base + `  - name: r
    to: [ops]
    at:
      - alice
      - bob
`,
			want: []string{`rules.yaml:11:9: rules[0].at[1]: unknown contact "bob"`},
		},
		{
			name: "a group in at",
			cfg: base + `  - name: r
    to: [ops]
    at: [alice, "123@chatroom"]
`,
			want: []string{`rules.yaml:9:17: rules[0].at[1]: "123@chatroom" is a group: at names people to mention; put the group in to`},
		},
		{
			name: "when that is not boolean",
			cfg: base + `  - name: r
    when: labels.team
    to: [ops]
`,
			want: []string{`rules.yaml:8:11: rules[0].when: expected bool, but got string`},
		},
		{
			name: "to_expr of the wrong type",
			cfg: base + `  - name: r
    to_expr: 'len(alerts) + 1'
`,
			want: []string{`rules.yaml:8:14: rules[0].to_expr: must give a string or a list of strings, not int`},
		},
		{
			name: "at_expr of the wrong type",
			cfg: base + `  - name: r
    to: [ops]
    at_expr: 'labels.team == "x"'
`,
			want: []string{`rules.yaml:9:14: rules[0].at_expr: must give a string or a list of strings, not bool`},
		},
		{
			name: "duplicate rule name",
			cfg: base + `  - name: r
    when: type == "github"
    to: [ops]
  - name: r
    to: [ops]
`,
			want: []string{`rules.yaml:10:11: rules[1].name: rule name "r" is already used by rules[0]`},
		},
		{
			name: "missing recipients",
			cfg: base + `  - name: r
    when: type == "github"
`,
			want: []string{`rules.yaml:7:5: rules[0]: rule "r" has no recipients: set to or to_expr`},
		},
		{
			name: "missing rule name",
			cfg:  base + "  - {to: [ops]}\n",
			want: []string{`rules.yaml:7:5: rules[0].name: is required`},
		},
		{
			name: "template and template_expr together",
			cfg: base + `  - name: r
    to: [ops]
    template: github.default
    template_expr: '"github.default"'
`,
			want: []string{`rules.yaml:10:20: rules[0]: set template or template_expr, not both`},
		},
		{
			name: "invalid duration",
			cfg: base + `  - {name: r, to: [ops]}
gewe:
  timeout: 5x
`,
			want: []string{`rules.yaml:9:12: invalid duration "5x" (use e.g. 30s, 5m, 2h, 7d)`},
		},
		{
			name: "invalid timezone",
			cfg:  base + "  - {name: r, to: [ops]}\ntimezone: Mars/Olympus\n",
			want: []string{`rules.yaml:8:11: timezone: unknown time zone "Mars/Olympus"`},
		},
		{
			name: "invalid language",
			cfg:  base + "  - {name: r, to: [ops]}\nlanguage: fr\n",
			want: []string{`rules.yaml:8:11: language: must be one of zh, en, not "fr"`},
		},
		{
			name: "source of an unknown type",
			cfg: `sources:
  am: {type: prometheus}
rules:
  - {name: r, to: [wxid_a]}
`,
			want: []string{`rules.yaml:2:14: sources[am].type: must be one of github, gitea, gitlab, alertmanager, grafana, generic, gewe_callback, not "prometheus"`},
		},
		{
			name: "a value of the wrong type",
			cfg:  base + "  - {name: r, to: [ops]}\ndelivery:\n  per_minute: many\n",
			want: []string{"rules.yaml:9:1: cannot unmarshal !!str `many` into int"},
		},
		{
			name: "template that does not parse",
			cfg: base + `  - {name: r, to: [ops], template: t}
templates:
  t: "{{ .status "
`,
			want: []string{`rules.yaml:9:6: templates[t]: template: t:1: unclosed action`},
		},
		{
			name: "link card without a url",
			cfg: base + `  - {name: r, to: [ops], template: t}
templates:
  t:
    link: {title: x}
`,
			want: []string{`rules.yaml:10:11: templates[t].link: a link card needs a title and a url`},
		},
		{
			name: "every problem is reported, not only the first",
			cfg: base + `  - name: a
    when: type = "github"
    to: [nobody]
  - name: a
    to: [ops]
    template: nope
`,
			want: []string{
				`rules.yaml:9:10: rules[0].to[0]: unknown contact "nobody": add it under contacts, or use a wxid (wxid_...) or a group id (...@chatroom)`,
				`rules.yaml:10:11: rules[1].name: rule name "a" is already used by rules[0]`,
				`rules.yaml:8:16: rules[0].when: unexpected token Operator("=")` + "\n | type = \"github\"\n | .....^",
				`rules.yaml:12:15: rules[1].template: unknown template "nope" (no templates are defined; built-ins are named like github.default)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs, _ := problemStrings(t, tt.cfg, noEnv, config.ForceDryRun())
			assert.Equal(t, tt.want, errs)
		})
	}
}

// An expression that does not compile is reported at the place of the
// mistake inside the expression, however the YAML value is written.
func TestLoadExprErrorPosition(t *testing.T) {
	tests := []struct {
		name string
		when string // the rule's `when:` line(s), starting at line 8
		pos  string // file:line:column of the error
	}{
		{"plain", "    when: type == \"github\" &&& true\n", "rules.yaml:8:30:"},
		{"single quoted", "    when: 'type == \"github\" &&& true'\n", "rules.yaml:8:31:"},
		{"double quoted", "    when: \"type == 'github' &&& true\"\n", "rules.yaml:8:31:"},
		{"double quoted with an escape", "    when: \"type == \\\"github\\\" &&& true\"\n", "rules.yaml:8:33:"},
		{"single quoted with a doubled quote", "    when: 'type == ''github'' &&& true'\n", "rules.yaml:8:33:"},
		{"block literal", "    when: |\n      type == \"github\"\n        &&& true\n", "rules.yaml:10:11:"},
		{"block literal, first line", "    when: |\n      type === \"github\"\n", "rules.yaml:9:14:"},
		{"block folded", "    when: >\n      type == \"github\"\n        &&& true\n", "rules.yaml:10:11:"},
		{"plain over two lines", "    when: type == \"github\"\n      &&& true\n", "rules.yaml:9:9:"},
		{"single quoted over two lines", "    when: 'type == \"github\"\n      &&& true'\n", "rules.yaml:9:9:"},
		{"block folded, a folded line", "    when: >\n      type == \"github\"\n      &&& true\n", "rules.yaml:10:9:"},
		{"double quoted over two lines", "    when: \"type == 'github'\n      &&& true\"\n", "rules.yaml:9:9:"},
		{"non-ASCII before the error", "    when: 'labels.x == \"值班\" &&& true'\n", "rules.yaml:8:31:"},
		{"unexpected end", "    when: 'type == '\n", "rules.yaml:8:19:"},
		{"unknown name", "    when: 'type == \"github\" && lables.team == \"x\"'\n", "rules.yaml:8:32:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base + "  - name: r\n" + tt.when + "    to: [ops]\n"
			errs, _ := problemStrings(t, cfg, noEnv, config.ForceDryRun())
			require.Len(t, errs, 1, "config:\n%s", cfg)
			assert.True(t, strings.HasPrefix(errs[0], tt.pos+" rules[0].when: "), "got %q, want it at %s\nconfig:\n%s", errs[0], tt.pos, cfg)
		})
	}
}

func TestLoadSecrets(t *testing.T) {
	const cfg = `gewe:
  base_url: http://gewe.local
  token: ${GEWE_TOKEN}
  app_id: wx_app
sources:
  gh:
    type: github
    secret: ${GITHUB_WEBHOOK_SECRET}
  am:
    type: alertmanager
  hook:
    type: generic
rules:
  - {name: r, to: [wxid_a]}
`
	t.Run("token set: a missing secret is an error", func(t *testing.T) {
		errs, warns := problemStrings(t, cfg, env(map[string]string{"GEWE_TOKEN": "tok"}))
		assert.Equal(t, []string{
			`rules.yaml:10:5: sources[am]: no bearer_token or basic_auth set: every request would be refused`,
			`rules.yaml:8:13: sources[gh]: no secret set (GITHUB_WEBHOOK_SECRET is not set): every request would be refused`,
			`rules.yaml:12:5: sources[hook]: no bearer_token or secret (HMAC) set: every request would be refused`,
		}, errs)
		assert.Empty(t, warns)
	})
	t.Run("no token, no dry-run: an error, not a silent dry run", func(t *testing.T) {
		errs, _ := problemStrings(t, cfg, noEnv)
		require.NotEmpty(t, errs)
		assert.Equal(t, `rules.yaml:3:10: gewe.token: is empty (GEWE_TOKEN is not set): set it, or choose dry-run with gewe.dry_run: true or serve --dry-run`, errs[0])
		errs, _ = problemStrings(t, "sources: {am: {type: alertmanager, bearer_token: t}}\nrules: [{name: r, to: [wxid_a]}]\n", noEnv)
		assert.Equal(t, []string{`rules.yaml: gewe.token: is empty: set it, or choose dry-run with gewe.dry_run: true or serve --dry-run`}, errs)
	})
	t.Run("dry-run chosen: warns", func(t *testing.T) {
		for name, tc := range map[string]struct {
			cfg  string
			opts []config.LoadOption
		}{
			"serve -dry-run": {cfg, []config.LoadOption{config.ForceDryRun()}},
			"gewe.dry_run":   {strings.Replace(cfg, "  app_id: wx_app\n", "  app_id: wx_app\n  dry_run: true\n", 1), nil},
		} {
			rs, probs := rules.Load([]byte(tc.cfg), "rules.yaml", noEnv, tc.opts...)
			require.NoError(t, probs.Err(), name)
			require.True(t, rs.Config().DryRun, name)
			ws := probs.Warnings()
			require.Len(t, ws, 3, name)
			assert.Contains(t, ws[1].String(), `: warning: sources[gh]: no secret set (GITHUB_WEBHOOK_SECRET is not set): accepting unauthenticated requests in dry-run mode`, name)
		}
		_, probs := rules.Load([]byte(cfg), "rules.yaml", noEnv, config.ForceDryRun())
		assert.Equal(t, `rules.yaml:8:13: warning: sources[gh]: no secret set (GITHUB_WEBHOOK_SECRET is not set): accepting unauthenticated requests in dry-run mode`, probs.Warnings()[1].String())
	})
	t.Run("secret set: only the sources without credentials fail", func(t *testing.T) {
		errs, warns := problemStrings(t, cfg, env(map[string]string{"GEWE_TOKEN": "tok", "GITHUB_WEBHOOK_SECRET": "s"}))
		assert.Len(t, errs, 2) // am and hook still have nothing
		assert.Empty(t, warns)
	})
	t.Run("token set: base_url and app_id are required", func(t *testing.T) {
		errs, _ := problemStrings(t, `gewe:
  token: tok
  app_id: ${GEWE_APP_ID}
sources:
  am: {type: alertmanager, bearer_token: t}
rules:
  - {name: r, to: [wxid_a]}
`, noEnv)
		assert.Equal(t, []string{
			`rules.yaml:2:3: gewe.base_url: is required when gewe.token is set`,
			`rules.yaml:3:11: gewe.app_id: is required when gewe.token is set (GEWE_APP_ID is not set)`,
		}, errs)
	})
}

func TestLoadEnvExpansion(t *testing.T) {
	const cfg = `gewe:
  base_url: ${GEWE_BASE_URL:-http://127.0.0.1:2531}
  token: ${GEWE_TOKEN}
  app_id: ${APP_ID:-wx_default}
  timeout: ${TIMEOUT:-20s}
server:
  listen: ${LISTEN:-:8080}
delivery:
  per_minute: ${RATE:-20}
  daily_cap: ${CAP}
sources:
  gh: {type: github, secret: "${SECRET}"}
  am:
    type: alertmanager
    bearer_token: ${AM_TOKEN:-am-default}   # a comment
contacts:
  ops: {wxid: "${OPS:-123@chatroom}"}
rules:
  - name: r
    when: 'source == "${SRC:-gh}"'
    to: [ops]
`
	environ := map[string]string{
		"GEWE_TOKEN": "tok: with # and: colons",
		"SECRET":     "s3cret: #not-a-comment",
		"RATE":       "35",
		"CAP":        "500",
		"OPS":        "999@chatroom",
	}
	rs, probs := rules.Load([]byte(cfg), "rules.yaml", env(environ))
	require.NoError(t, probs.Err())
	assert.Empty(t, probs)
	c := rs.Config()
	assert.Equal(t, "http://127.0.0.1:2531", c.Gewe.BaseURL)
	assert.Equal(t, config.Secret("tok: with # and: colons"), c.Gewe.Token)
	assert.False(t, c.DryRun)
	assert.Equal(t, "wx_default", c.Gewe.AppID)
	assert.Equal(t, 20*time.Second, c.Gewe.Timeout.D())
	assert.Equal(t, ":8080", c.Server.Listen)
	assert.Equal(t, 35, c.Delivery.PerMinute)
	assert.Equal(t, 500, c.Delivery.DailyCap)
	assert.Equal(t, config.Secret("s3cret: #not-a-comment"), c.Sources["gh"].Secret)
	assert.Equal(t, config.Secret("am-default"), c.Sources["am"].BearerToken)
	assert.Equal(t, "999@chatroom", c.Contacts["ops"].Wxid)
	assert.Equal(t, `source == "gh"`, c.Rules[0].When)

	// The default applies to an int field too, and to an empty variable.
	rs, probs = rules.Load([]byte(cfg), "rules.yaml", env(map[string]string{"RATE": ""}), config.ForceDryRun())
	require.NoError(t, probs.Err())
	assert.Equal(t, 20, rs.Config().Delivery.PerMinute)
	assert.True(t, rs.Config().DryRun)

	// Secrets never print.
	assert.Equal(t, "<secret>", config.Secret("x").String())
	assert.Equal(t, "", config.Secret("").String())
}

func TestLoadWarnings(t *testing.T) {
	tests := []struct {
		name string
		cfg  string
		want []string
	}{
		{
			name: "unreachable rule after a catch-all",
			cfg: base + `  - name: everything
    to: [ops]
  - name: github
    when: type == "github"
    to: [ops]
`,
			want: []string{`rules.yaml:9:5: warning: rules[1]: rule "github" can never match: rule "everything" before it matches every event and has no ` + "`continue: true`"},
		},
		{
			name: "a catch-all with continue is fine",
			cfg: base + `  - name: everything
    to: [ops]
    continue: true
  - name: github
    when: type == "github"
    to: [ops]
`,
		},
		{
			name: "a catch-all at the end is fine",
			cfg:  base + "  - {name: github, when: type == \"github\", to: [ops]}\n  - {name: rest, to: [ops]}\n",
		},
		{
			name: "unused template",
			cfg: base + `  - {name: r, to: [ops], template: used}
templates:
  used: "{{ .status }}"
  spare: "{{ .status }}"
`,
			want: []string{`rules.yaml:10:10: warning: templates[spare]: template "spare" is not used by any rule`},
		},
		{
			name: "template_expr may use any template",
			cfg: base + `  - {name: r, to: [ops], template_expr: '"t" + status'}
templates:
  tfiring: "{{ .status }}"
  tresolved: "{{ .status }}"
`,
		},
		{
			name: "mentions with a card",
			cfg:  base + "  - {name: r, to: [ops], at: [alice], template: card}\ntemplates:\n  card: {link: {title: t, url: 'https://e.com'}}\n",
			want: []string{
				`rules.yaml:7:49: warning: rules[0].template: rule "r" mentions people but template "card" is a card: cards cannot mention anyone, so at and at_expr do nothing`,
			},
		},
		{
			name: "mention of a raw id",
			cfg:  base + "  - {name: r, to: [ops], at: [wxid_raw]}\n",
			want: []string{
				`rules.yaml:7:31: warning: rules[0].at[0]: "wxid_raw" is a raw id: without a contact name there is no @name to write, so it is not mentioned; add a contact with a name`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs, warns := problemStrings(t, tt.cfg, noEnv, config.ForceDryRun())
			assert.Empty(t, errs)
			assert.Equal(t, tt.want, warns)
		})
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    config.Problem
		want string
	}{
		{config.Problem{File: "rules.yaml", Pos: config.Pos{Line: 3, Column: 7}, Path: "rules[0].when", Msg: "bad"}, "rules.yaml:3:7: rules[0].when: bad"},
		{config.Problem{File: "rules.yaml", Pos: config.Pos{Line: 3, Column: 7}, Path: "rules[0]", Msg: "odd", Warning: true}, "rules.yaml:3:7: warning: rules[0]: odd"},
		{config.Problem{File: "rules.yaml", Msg: "no such file"}, "rules.yaml: no such file"},
		{config.Problem{Pos: config.Pos{Line: 1, Column: 1}, Msg: "m"}, "1:1: m"},
		{config.Problem{Msg: "m"}, "m"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.p.String())
	}

	ps := config.Problems{
		{File: "f", Pos: config.Pos{Line: 1, Column: 2}, Msg: "w", Warning: true},
		{File: "f", Pos: config.Pos{Line: 3, Column: 4}, Msg: "e1"},
		{File: "f", Pos: config.Pos{Line: 5, Column: 6}, Msg: "e2"},
	}
	require.Error(t, ps.Err())
	assert.Equal(t, "f:3:4: e1\nf:5:6: e2", ps.Err().Error(), "the error lists the errors, not the warnings")
	assert.NoError(t, ps[:1].Err(), "warnings alone are not an error")
	assert.Len(t, ps.Warnings(), 1)
}

func TestLoadFile(t *testing.T) {
	_, probs := rules.LoadFile("does-not-exist.yaml", noEnv)
	require.Error(t, probs.Err())
	assert.Contains(t, probs[0].String(), "does-not-exist.yaml: ")

	_, probs = rules.Load([]byte("- a\n- b\n"), "rules.yaml", noEnv)
	require.Error(t, probs.Err())
	assert.Equal(t, "rules.yaml:1:1: the config must be a YAML mapping (gewe:, sources:, rules: ...)", probs[0].String())

	_, probs = rules.Load([]byte("rules: [\n"), "rules.yaml", noEnv)
	require.Error(t, probs.Err())
	assert.True(t, strings.HasPrefix(probs[0].String(), "rules.yaml:"), probs[0].String())
}

func TestDefaults(t *testing.T) {
	rs := mustLoad(t, base+"  - {name: r, to: [ops]}\n")
	c := rs.Config()
	assert.Equal(t, config.DefaultTextBytes, c.Limits.TextBytes)
	assert.Equal(t, config.DefaultMaxParts, c.Limits.MaxParts)
	assert.Equal(t, "Asia/Shanghai", rs.Location().String())
	assert.Equal(t, "zh", c.Language)
	assert.Equal(t, 15*time.Second, c.Gewe.Timeout.D())
	assert.Equal(t, 7*24*time.Hour, c.Storage.Retention.D())
	assert.True(t, c.DryRun)
	assert.Contains(t, rs.Templates(), "alertmanager.default")
	assert.Contains(t, rs.Templates(), "github.default")
	assert.Contains(t, rs.Templates(), "generic.default")
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"15s", 15 * time.Second, false},
		{"2h30m", 150 * time.Minute, false},
		{"7d", 7 * 24 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"5x", 0, true},
		{"xd", 0, true},
		{"1d5x", 0, true},
	}
	for _, tt := range tests {
		got, err := config.ParseDuration(tt.in)
		if tt.err {
			assert.Error(t, err, tt.in)
			continue
		}
		assert.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

func TestLoadMergeKeys(t *testing.T) {
	rs := mustLoad(t, base+`  - &page
    name: critical
    when: 'labels.severity == "critical"'
    to: [ops]
    at: [alice]
  - <<: *page
    name: warning
    when: 'labels.severity == "warning"'
`)
	c := rs.Config()
	require.Len(t, c.Rules, 2)
	assert.Equal(t, []string{"ops"}, c.Rules[1].To)
	assert.Equal(t, []string{"alice"}, c.Rules[1].At)
	assert.Equal(t, `labels.severity == "warning"`, c.Rules[1].When)

	ev := firingEvent(t)
	ev.Labels = map[string]string{"severity": "warning"}
	res := rs.Route(ev)
	assert.Equal(t, []string{"warning"}, res.Matched)
	assert.Equal(t, []string{"wxid_alice"}, res.Messages[0].At)
}

// TestCoalesceDefault: coalesce is on unless the file turns it off,
// whether or not it has a delivery section.
func TestCoalesceDefault(t *testing.T) {
	for _, tt := range []struct {
		delivery string
		want     bool
	}{
		{"", true},
		{"delivery: {per_minute: 10}\n", true},
		{"delivery: {coalesce: false}\n", false},
		{"delivery: {coalesce: true}\n", true},
	} {
		rs, probs := rules.Load([]byte(tt.delivery+base+"  - {name: r, to: [ops]}\n"), "rules.yaml", noEnv, config.ForceDryRun())
		require.NoError(t, probs.Err(), tt.delivery)
		assert.Equal(t, tt.want, rs.Config().Delivery.Coalesce, "%q", tt.delivery)
	}
}

// TestGeweEndpointChecked: a base_url that names the v2 API with api: v1
// is refused at load, where it is written.
func TestGeweEndpointChecked(t *testing.T) {
	errs, _ := problemStrings(t, "gewe: {token: t, app_id: wx_a, base_url: 'http://h:2531/v2/api', api: v1}\n"+base+"  - {name: r, to: [ops]}\n", noEnv)
	require.Len(t, errs, 1, "%q", errs)
	assert.Contains(t, errs[0], "rules.yaml:1:42: gewe.base_url:")
	assert.Contains(t, errs[0], "set api: v2")
}
