package rules_test

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gewe-bridge/gewe-bridge/rules/render"
)

// routeBase is the start of the routing tests' configs.
const routeBase = `sources:
  am: {type: alertmanager, bearer_token: t}
  gh: {type: github, secret: s}
  hook: {type: generic, bearer_token: t}
contacts:
  ops: {wxid: "100@chatroom"}
  dev: {wxid: "200@chatroom"}
  team-infra: {wxid: "300@chatroom"}
  alice: {wxid: wxid_alice, name: Alice, github: alice-gh}
  bob: {wxid: wxid_bob, name: Bob, github: Octocat}
  carol: {wxid: wxid_carol, name: Carol}
templates:
  short: "{{ .status }} {{ .labels.alertname }}"
`

// appMsg is what a link card's XML holds.
type appMsg struct {
	XMLName  xml.Name `xml:"appmsg"`
	Title    string   `xml:"title"`
	Des      string   `xml:"des"`
	Type     int      `xml:"type"`
	URL      string   `xml:"url"`
	ThumbURL string   `xml:"thumburl"`
}

func parseAppMsg(t *testing.T, s string) appMsg {
	t.Helper()
	var m appMsg
	require.NoError(t, xml.Unmarshal([]byte(s), &m), "card XML:\n%s", s)
	return m
}

func genericEvent(payload map[string]any) *event.Event {
	return namedEvent("deploy", payload)
}

// namedEvent is a generic event with the X-Event header event.
func namedEvent(name string, payload map[string]any) *event.Event {
	return &event.Event{Source: "hook", Type: "generic", Event: name, ID: "g-1", Payload: payload}
}

// TestRouteMatching routes the Alertmanager fixture through rule lists.
func TestRouteMatching(t *testing.T) {
	tests := []struct {
		name    string
		rules   string
		matched []string
		to      []string // recipients of the messages, in order
		errs    []string // RuleError strings
	}{
		{
			name: "first match wins",
			rules: `  - {name: a, when: 'type == "alertmanager"', to: [ops], template: short}
  - {name: b, when: 'type == "alertmanager"', to: [dev], template: short}
`,
			matched: []string{"a"},
			to:      []string{"100@chatroom"},
		},
		{
			name: "rules that do not match are skipped",
			rules: `  - {name: gh, when: 'type == "github"', to: [dev]}
  - {name: warning, when: 'labels.severity == "warning"', to: [dev]}
  - {name: critical, when: 'labels.severity == "critical"', to: [ops], template: short}
`,
			matched: []string{"critical"},
			to:      []string{"100@chatroom"},
		},
		{
			name: "continue goes on to the next match",
			rules: `  - {name: a, when: 'type == "alertmanager"', to: [ops], template: short, continue: true}
  - {name: skip, when: 'type == "github"', to: [ops]}
  - {name: b, when: 'labels.team == "infra"', to: [dev], template: short}
  - {name: c, when: 'type == "alertmanager"', to: [team-infra], template: short}
`,
			matched: []string{"a", "b"},
			to:      []string{"100@chatroom", "200@chatroom"},
		},
		{
			name: "a rule that fails at run time is not matched and is reported",
			rules: `  - {name: broken, when: 'payload.a.b == 1', to: [ops], template: short}
  - {name: nil-compare, when: 'payload.missing > 2', to: [ops], template: short}
  - {name: safe, when: 'payload.a?.b == 1', to: [ops], template: short}
  - {name: next, when: 'type == "alertmanager"', to: [dev], template: short}
`,
			matched: []string{"next"},
			to:      []string{"200@chatroom"},
			errs: []string{
				`rule "broken": when: cannot fetch b from <nil> (1:11)`,
				`rule "nil-compare": when: invalid operation: <nil> > int (1:17)`,
			},
		},
		{
			name:    "no rule matches",
			rules:   "  - {name: gh, when: 'type == \"github\"', to: [dev]}\n",
			matched: nil,
			to:      nil,
		},
		{
			name:    "to_expr giving a string",
			rules:   "  - {name: team, when: 'type == \"alertmanager\"', to_expr: '\"team-\" + labels.team', template: short}\n",
			matched: []string{"team"},
			to:      []string{"300@chatroom"},
		},
		{
			name:    "to_expr giving a list of contacts and raw ids, duplicates once",
			rules:   "  - {name: many, to: [ops], to_expr: '[\"dev\", \"wxid_raw\", \"999@chatroom\", \"ops\", \"100@chatroom\", \"\"]', template: short, allow_any_recipient: true}\n",
			matched: []string{"many"},
			to:      []string{"100@chatroom", "200@chatroom", "wxid_raw", "999@chatroom"},
		},
		{
			name:    "to_expr giving raw ids: only contacts' ids unless the rule allows any",
			rules:   "  - {name: many, to: [wxid_static], to_expr: '[\"dev\", \"wxid_raw\", \"999@chatroom\", \"wxid_alice\", \"300@chatroom\"]', template: short}\n",
			matched: []string{"many"},
			to:      []string{"wxid_static", "200@chatroom", "wxid_alice", "300@chatroom"},
		},
		{
			name:    "to_expr naming an unknown contact skips it",
			rules:   "  - {name: team, to_expr: '[\"team-\" + labels.severity, \"dev\"]', template: short}\n",
			matched: []string{"team"},
			to:      []string{"200@chatroom"},
		},
		{
			name:    "to_expr that fails at run time loses the messages, not the match",
			rules:   "  - {name: team, to_expr: 'payload.x.y', template: short}\n  - {name: later, to: [ops], template: short}\n",
			matched: []string{"team"},
			to:      nil,
			errs:    []string{`rule "team": to_expr: cannot fetch y from <nil> (1:11)`},
		},
		{
			name:    "raw ids in to",
			rules:   "  - {name: raw, to: [wxid_someone, 42@chatroom, gh_official], template: short}\n",
			matched: []string{"raw"},
			to:      []string{"wxid_someone", "42@chatroom", "gh_official"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := mustLoad(t, routeBase+"rules:\n"+tt.rules)
			res := rs.Route(firingEvent(t))
			assert.Equal(t, tt.matched, res.Matched)
			if tt.to == nil {
				assert.Empty(t, res.Messages)
			} else {
				assert.Equal(t, tt.to, recipients(res.Messages))
			}
			var errs []string
			for _, e := range res.Errors {
				// The first line; then comes expr's snippet with a caret.
				first, _, _ := strings.Cut(e.Error(), "\n")
				errs = append(errs, first)
			}
			assert.Equal(t, tt.errs, errs)
			for _, m := range res.Messages {
				assert.NotContains(t, m.Text, "<no value>")
			}
		})
	}
}

func TestRouteMentions(t *testing.T) {
	rs := mustLoad(t, routeBase+`  pr: "{{ .repo }} {{ .sender }}"
rules:
  - name: page
    when: 'type == "alertmanager"'
    to: [ops, alice, wxid_direct]
    at: [alice, carol, alice]
    template: short
  - name: everyone
    when: 'type == "generic"'
    to: [dev, carol]
    at: [all]
  - name: reviewers
    when: 'event == "pull_request"'
    to: [dev]
    at_expr: 'contacts_by_github(payload.pull_request.requested_reviewers)'
    template: pr
  - name: by-login
    when: 'event == "push"'
    to: [dev]
    at_expr: 'contacts_by_github([sender, "OCTOCAT", "ALICE-GH", "nobody", "octocat"])'
    template: pr
`)

	t.Run("contact names in a group: at list and @name in the text", func(t *testing.T) {
		res := rs.Route(firingEvent(t))
		require.Len(t, res.Messages, 3)
		group := res.Messages[0]
		assert.Equal(t, "100@chatroom", group.To)
		assert.Equal(t, []string{"wxid_alice", "wxid_carol"}, group.At, "each contact once")
		assert.Equal(t, "@Alice @Carol\nfiring NodeFilesystemSpaceFillingUp", group.Text)
		for _, direct := range res.Messages[1:] {
			assert.Nil(t, direct.At, "a mention in a direct chat is dropped: %s", direct.To)
			assert.Equal(t, "firing NodeFilesystemSpaceFillingUp", direct.Text)
		}
		assert.Equal(t, []string{"100@chatroom", "wxid_alice", "wxid_direct"}, recipients(res.Messages))
	})

	t.Run("all", func(t *testing.T) {
		res := rs.Route(genericEvent(map[string]any{"text": "deploy done"}))
		require.Len(t, res.Messages, 2)
		assert.Equal(t, []string{"notify@all"}, res.Messages[0].At)
		assert.True(t, strings.HasPrefix(res.Messages[0].Text, "@所有人\n"), res.Messages[0].Text)
		assert.Contains(t, res.Messages[0].Text, "deploy done")
		assert.Nil(t, res.Messages[1].At)
		assert.NotContains(t, res.Messages[1].Text, "@所有人")
	})

	t.Run("at_expr with contacts_by_github over requested reviewers", func(t *testing.T) {
		ev := githubEvent("gh", "pull_request", fixture(t, "github/pull_request.opened.json"))
		res := rs.Route(ev)
		require.Empty(t, res.Errors)
		require.Len(t, res.Messages, 1)
		// The fixture asks octocat for a review; bob's login is "Octocat".
		assert.Equal(t, []string{"wxid_bob"}, res.Messages[0].At)
		assert.Equal(t, "@Bob\nCodertocat/Hello-World Codertocat", res.Messages[0].Text)
	})

	t.Run("at_expr with logins, case-insensitive, unknown ones left out", func(t *testing.T) {
		ev := githubEvent("gh", "push", fixture(t, "github/push.json"))
		res := rs.Route(ev)
		require.Empty(t, res.Errors)
		require.Len(t, res.Messages, 1)
		assert.Equal(t, []string{"wxid_bob", "wxid_alice"}, res.Messages[0].At)
		assert.True(t, strings.HasPrefix(res.Messages[0].Text, "@Bob @Alice\n"), res.Messages[0].Text)
	})

	t.Run("a name already in the text is not written twice", func(t *testing.T) {
		rs := mustLoad(t, routeBase+`  hi: "hello @Alice"
rules:
  - {name: r, to: [ops], at: [alice], template: hi}
  - {name: unused, when: 'false', to: [ops], template: short}
`)
		res := rs.Route(firingEvent(t))
		require.Len(t, res.Messages, 1)
		assert.Equal(t, "hello @Alice", res.Messages[0].Text)
		assert.Equal(t, []string{"wxid_alice"}, res.Messages[0].At)
	})
}

func TestRouteTemplates(t *testing.T) {
	rs := mustLoad(t, routeBase+`  fire: "FIRE {{ .labels.alertname }}"
  calm: "calm {{ .labels.alertname }}"
  per-alert: "{{ .status }} {{ .labels.instance }} {{ len .alerts }} {{ .annotations.summary }}"
  card:
    link:
      title: "{{ .payload.title }}"
      des: "{{ .payload.des }}"
      url: "{{ .payload.url }}"
      thumb_url: "{{ .payload.thumb }}"
  raw:
    appmsg: |
      <appmsg appid="" sdkver="0"><title>{{ xml .payload.title }}</title><type>5</type><url>{{ xml .payload.url }}</url></appmsg>
  broken:
    appmsg: |
      <appmsg appid="" sdkver="0"><title>{{ .payload.title }}</title></appmsg>
  missing: "[{{ .payload.nothing }}] [{{ .labels.nope }}] [{{ .payload.deep.er }}]"
rules:
  - name: by-status
    when: 'source == "am"'
    to: [ops]
    template_expr: 'status == "firing" ? "fire" : "calm"'
  - name: split
    when: 'source == "am-split"'
    to: [ops]
    template: per-alert
    split_alerts: true
  - name: default
    when: 'source == "am-default" || type == "github"'
    to: [ops]
  - name: card
    when: 'event == "card"'
    to: [ops, wxid_direct]
    at: [alice]
    template: card
  - name: raw
    when: 'event == "raw"'
    to: [ops]
    template: raw
  - name: broken
    when: 'event == "broken"'
    to: [ops]
    template: broken
  - name: missing
    when: 'event == "missing"'
    to: [ops]
    template: missing
  - name: bad-choice
    when: 'event == "bad-choice"'
    to: [ops]
    template_expr: '"no-such-" + event'
  - name: generic
    when: 'type == "generic"'
    to: [ops]
`)

	t.Run("template_expr", func(t *testing.T) {
		ev := firingEvent(t)
		ev.Source = "am"
		res := rs.Route(ev)
		require.Len(t, res.Messages, 1)
		assert.Equal(t, "FIRE NodeFilesystemSpaceFillingUp", res.Messages[0].Text)
		ev.Status = "resolved"
		res = rs.Route(ev)
		require.Len(t, res.Messages, 1)
		assert.Equal(t, "calm NodeFilesystemSpaceFillingUp", res.Messages[0].Text)
	})

	t.Run("template_expr naming no template is a template_expr error", func(t *testing.T) {
		res := rs.Route(namedEvent("bad-choice", nil))
		assert.Equal(t, []string{"bad-choice"}, res.Matched)
		assert.Empty(t, res.Messages)
		require.Len(t, res.Errors, 1)
		assert.Equal(t, "template_expr", res.Errors[0].Stage)
		assert.Contains(t, res.Errors[0].Error(), `"no-such-bad-choice"`)
	})

	t.Run("split_alerts renders one message per alert", func(t *testing.T) {
		ev := firingEvent(t)
		ev.Source = "am-split"
		res := rs.Route(ev)
		require.Empty(t, res.Errors)
		assert.Equal(t, []string{
			"firing 10.0.3.21:9100 1 Filesystem on /dev/nvme0n1p1 at 10.0.3.21:9100 has only 7.12% available space left.",
			"firing 10.0.3.22:9100 1 Filesystem on /dev/nvme0n1p1 at 10.0.3.22:9100 has only 9.84% available space left.",
		}, texts(res.Messages))

		// One alert, or none: one message.
		ev.Alerts = ev.Alerts[:1]
		res = rs.Route(ev)
		assert.Len(t, res.Messages, 1)
	})

	t.Run("default templates when template is omitted", func(t *testing.T) {
		ev := firingEvent(t)
		ev.Source = "am-default"
		res := rs.Route(ev)
		require.Empty(t, res.Errors)
		require.Len(t, res.Messages, 1)
		text := res.Messages[0].Text
		for _, want := range []string{"NodeFilesystemSpaceFillingUp", "critical", "has only 7.12% available space left", "10.0.3.21:9100", "10.0.3.22:9100", "http://alertmanager.monitoring.svc:9093"} {
			assert.Contains(t, text, want)
		}

		res = rs.Route(githubEvent("gh", "push", fixture(t, "github/push.json")))
		require.Len(t, res.Messages, 1)
		assert.Contains(t, res.Messages[0].Text, "Codertocat/Hello-World")

		res = rs.Route(genericEvent(map[string]any{"text": "v1.2 is live"}))
		require.Len(t, res.Messages, 1)
		assert.Contains(t, res.Messages[0].Text, "v1.2 is live")
	})

	t.Run("link card values are escaped and survive a round trip", func(t *testing.T) {
		payload := map[string]any{
			"title": `Fix <b>bold</b> & "quotes" 'n' stuff`,
			"des":   "a > b && c < d; 中文 🚀",
			"url":   "https://example.com/pr?id=1&tab=files&q=<x>",
			"thumb": "https://example.com/a.png?s=40&v=4",
		}
		res := rs.Route(namedEvent("card", payload))
		require.Empty(t, res.Errors)
		require.Len(t, res.Messages, 2)
		for _, m := range res.Messages {
			assert.True(t, m.IsApp())
			assert.Empty(t, m.Text)
			assert.Nil(t, m.At, "a card cannot mention anyone")
			card := parseAppMsg(t, m.XML)
			assert.Equal(t, appMsg{XMLName: xml.Name{Local: "appmsg"}, Title: payload["title"].(string), Des: payload["des"].(string),
				Type: 5, URL: payload["url"].(string), ThumbURL: payload["thumb"].(string)}, card)
		}
	})

	t.Run("appmsg template with xml escaping", func(t *testing.T) {
		payload := map[string]any{"title": `<T & "Q">`, "url": "https://e.com/?a=1&b=2"}
		res := rs.Route(namedEvent("raw", payload))
		require.Empty(t, res.Errors)
		require.Len(t, res.Messages, 1)
		card := parseAppMsg(t, res.Messages[0].XML)
		assert.Equal(t, `<T & "Q">`, card.Title)
		assert.Equal(t, "https://e.com/?a=1&b=2", card.URL)
	})

	t.Run("appmsg that is not well-formed is a template error", func(t *testing.T) {
		res := rs.Route(namedEvent("broken", map[string]any{"title": "a & b"}))
		assert.Equal(t, []string{"broken"}, res.Matched)
		assert.Empty(t, res.Messages)
		require.Len(t, res.Errors, 1)
		assert.Equal(t, "template", res.Errors[0].Stage)
		assert.Contains(t, res.Errors[0].Error(), "not well-formed XML")

		// The same template with a harmless value renders.
		res = rs.Route(namedEvent("broken", map[string]any{"title": "a and b"}))
		assert.Empty(t, res.Errors)
		assert.Len(t, res.Messages, 1)
	})

	t.Run("missing keys render empty, never <no value>", func(t *testing.T) {
		res := rs.Route(namedEvent("missing", map[string]any{"deep": map[string]any{}}))
		require.Empty(t, res.Errors)
		require.Len(t, res.Messages, 1)
		assert.Equal(t, "[] [] []", res.Messages[0].Text)
	})

	t.Run("a template that fails is an error for that rule, not a panic", func(t *testing.T) {
		// text/template cannot take a field of null.
		res := rs.Route(namedEvent("missing", map[string]any{"deep": nil}))
		assert.Equal(t, []string{"missing"}, res.Matched)
		assert.Empty(t, res.Messages)
		require.Len(t, res.Errors, 1)
		assert.Equal(t, "template", res.Errors[0].Stage)
		assert.Equal(t, "missing", res.Errors[0].Rule)
	})
}

func TestRouteLongText(t *testing.T) {
	cfg := func(maxParts int) string {
		return routeBase + `  long: |
    {{ range .payload.lines }}{{ . }}
    {{ end }}
limits:
  text_bytes: 200
  max_parts: ` + strconv.Itoa(maxParts) + `
rules:
  - {name: r, to: [ops, wxid_direct], at: [alice], template: long}
`
	}
	var lines []any
	for i := 0; i < 12; i++ {
		lines = append(lines, strings.Repeat("告警行", 4)+" line") // 41 bytes
	}
	ev := genericEvent(map[string]any{"lines": lines, "url": "https://example.com/full"})

	groupParts := func(t *testing.T, res *rules.Result) []event.Message {
		t.Helper()
		require.Empty(t, res.Errors)
		var group []event.Message
		for _, m := range res.Messages {
			assert.LessOrEqual(t, len(m.Text), 200)
			assert.True(t, utf8.ValidString(m.Text))
			if m.To == "100@chatroom" {
				group = append(group, m)
			}
		}
		return group
	}

	t.Run("split into marked parts", func(t *testing.T) {
		group := groupParts(t, mustLoad(t, cfg(4)).Route(ev))
		require.Len(t, group, 3)
		assert.True(t, strings.HasPrefix(group[0].Text, "(1/3) @Alice\n"), group[0].Text)
		assert.Equal(t, []string{"wxid_alice"}, group[0].At, "the at list goes with the first part")
		for i, m := range group[1:] {
			assert.Nil(t, m.At)
			assert.True(t, strings.HasPrefix(m.Text, fmt.Sprintf("(%d/3) ", i+2)), m.Text)
		}
		var whole []string
		for _, m := range group {
			whole = append(whole, m.Text[len("(1/3) "):])
		}
		assert.Equal(t, 12, strings.Count(strings.Join(whole, "\n"), "告警行告警行告警行告警行 line"), "no line is lost")
	})

	t.Run("past max_parts the text is cut with a marker and the link", func(t *testing.T) {
		group := groupParts(t, mustLoad(t, cfg(2)).Route(ev))
		require.Len(t, group, 2)
		assert.True(t, strings.HasPrefix(group[1].Text, "(2/2) "), group[1].Text)
		assert.True(t, strings.HasSuffix(group[1].Text, "…(truncated, full text: https://example.com/full)"), group[1].Text)
	})
}

func TestRouteRenderLimit(t *testing.T) {
	rs := mustLoad(t, routeBase+`  big: "{{ range .payload.items }}{{ . }}{{ end }}"
limits:
  render_bytes: 100
rules:
  - {name: r, to: [ops], template: big}
`)
	res := rs.Route(genericEvent(map[string]any{"items": []any{strings.Repeat("x", 60), strings.Repeat("y", 60)}}))
	assert.Equal(t, []string{"r"}, res.Matched)
	assert.Empty(t, res.Messages)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, "template", res.Errors[0].Stage)
	assert.Contains(t, res.Errors[0].Error(), "over 100 bytes")
}

func TestLinkCardXML(t *testing.T) {
	s := render.LinkCardXML("a\x00b\x1fc & <d>", `"e"`, "http://x/?a=1&b=2", "")
	card := parseAppMsg(t, s)
	assert.Equal(t, "abc & <d>", card.Title, "characters XML forbids are dropped")
	assert.Equal(t, `"e"`, card.Des)
	assert.Equal(t, "http://x/?a=1&b=2", card.URL)
	assert.Equal(t, 5, card.Type)
	assert.Equal(t, "&lt;a&gt; &amp; &quot;b&quot; &apos;c&apos;", render.EscapeXML(`<a> & "b" 'c'`))
}

// TestRouteConcurrent routes from many goroutines at once: a Ruleset is
// shared by every request (run with -race).
func TestRouteConcurrent(t *testing.T) {
	rs := loadExample(t)
	evs := []*event.Event{
		firingEvent(t),
		githubEvent("github", "pull_request", fixture(t, "github/pull_request.opened.json")),
		githubEvent("github", "push", fixture(t, "github/push.json")),
	}
	want := make([]*rules.Result, len(evs))
	for i, ev := range evs {
		want[i] = rs.Route(ev)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				n := (g + i) % len(evs)
				got := rs.Route(evs[n])
				if !assert.Equal(t, want[n].Matched, got.Matched) || !assert.Equal(t, recipients(want[n].Messages), recipients(got.Messages)) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestExprNowInTimezone: now() in expressions is in the config's timezone,
// as in templates (it was the machine's).
func TestExprNowInTimezone(t *testing.T) {
	rs, probs := rules.Load([]byte(`gewe: {dry_run: true}
timezone: Asia/Shanghai
sources: {am: {type: alertmanager, bearer_token: t}}
rules:
  - {name: offset, when: 'now().Format("-07:00") == "+08:00"', to: [wxid_b], continue: true}
  - {name: tz, when: 'now().Location().String() == "Asia/Shanghai"', to: [wxid_a]}
`), "rules.yaml", func(string) string { return "" })
	require.NoError(t, probs.Err())
	res := rs.Route(&event.Event{Source: "am", Type: "alertmanager", Event: "alert"})
	assert.Equal(t, []string{"offset", "tz"}, res.Matched, "errors: %v", res.Errors)
}

func TestEventLink(t *testing.T) {
	pr := githubEvent("gh", "pull_request", fixture(t, "github/pull_request.opened.json"))
	assert.Equal(t, "https://github.com/Codertocat/Hello-World/pull/2", render.EventLink(pr))
	push := githubEvent("gh", "push", fixture(t, "github/push.json"))
	assert.Equal(t, push.Payload["compare"], render.EventLink(push))
	ping := githubEvent("gh", "ping", fixture(t, "github/ping.json"))
	assert.Equal(t, "https://github.com/Octocoders/Hello-World", render.EventLink(ping))
	assert.Equal(t, "http://alertmanager.monitoring.svc:9093", render.EventLink(firingEvent(t)))
	assert.Equal(t, "https://d.example/1", render.EventLink(genericEvent(map[string]any{"link": "https://d.example/1"})))
	assert.Equal(t, "", render.EventLink(genericEvent(nil)))
}

func TestHasMentionNeedsAWordBoundary(t *testing.T) {
	for _, tt := range []struct {
		text, name string
		want       bool
	}{
		{"@Alice look", "Alice", true},
		{"hi @Alice", "Alice", true},
		{"@Alice, look", "Alice", true},
		{"@Alice look", "Al", false},
		{"@Alice and @Al", "Al", true},
		{"@值班 告警", "值班", true},
		{"@值班员", "值班", false},
		{"no mention", "Alice", false},
	} {
		assert.Equal(t, tt.want, rules.HasMention(tt.text, tt.name), "%q in %q", tt.name, tt.text)
	}
}

// TestRouteReturnsNotes: what a rule leaves out comes back in the result
// for the caller to log; the rules log nothing themselves.
func TestRouteReturnsNotes(t *testing.T) {
	rs, probs := rules.Load([]byte(`gewe: {dry_run: true}
sources: {hook: {type: generic, bearer_token: t}}
contacts: {alice: {wxid: wxid_alice, name: Alice}}
rules:
  - {name: r, to_expr: 'payload.to', at: [alice]}
`), "rules.yaml", func(string) string { return "" })
	require.NoError(t, probs.Err())
	res := rs.Route(genericEvent(map[string]any{"to": []any{"wxid_alice", "wxid_stranger"}}))
	require.Len(t, res.Messages, 1)
	var texts []string
	for _, n := range res.Notes {
		assert.Equal(t, "r", n.Rule)
		texts = append(texts, n.Text)
	}
	assert.Len(t, texts, 2, "%q", texts)
	assert.Contains(t, strings.Join(texts, "\n"), "wxid_stranger")
	assert.Contains(t, strings.Join(texts, "\n"), "a mention only works in a group")
}
