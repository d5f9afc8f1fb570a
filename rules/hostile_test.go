package rules_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gewe-bridge/gewe-bridge/rules/render"
)

// Issue 16: hostile input must not take the bridge down, nor leak what
// it should keep.

// TestHeadersRedacted: templates, expressions and traces never see a
// credential header's value.
func TestHeadersRedacted(t *testing.T) {
	rs := mustLoad(t, routeBase+`  hdr: "{{ range $k, $v := .headers }}{{ $k }}={{ $v }};{{ end }}"
rules:
  - {name: h, when: 'source == "hook"', to: [ops], template: hdr, to_expr: 'headers["x-token"]'}
`)
	secret := "s3cr3t-value"
	headers := map[string]string{
		"authorization": "Bearer " + secret, "proxy-authorization": secret, "cookie": secret,
		"x-hub-signature": secret, "x-hub-signature-256": secret, "x-signature-256": secret,
		"x-gitlab-token": secret, "x-gitea-signature": secret, "x-gogs-signature": secret,
		"x-api-key": secret, "x-token": secret, "x-my-secret": secret, "x-custom-auth": secret,
		"content-type": "application/json", "x-event": "deploy",
	}
	ev := genericEvent(map[string]any{})
	ev.Headers = headers
	res := rs.Route(ev)
	require.Len(t, res.Messages, 1)
	text := res.Messages[0].Text
	assert.NotContains(t, text, secret)
	assert.Contains(t, text, "authorization=[redacted];")
	assert.Contains(t, text, "content-type=application/json;")
	assert.Contains(t, text, "x-event=deploy;")
	for k := range headers {
		want := k + "=[redacted];"
		if k == "content-type" || k == "x-event" {
			continue
		}
		assert.Contains(t, text, want)
	}
	tr := rs.Trace(ev)
	assert.NotContains(t, traceText(tr), secret)
	assert.Equal(t, "Bearer "+secret, ev.Headers["authorization"], "the caller's event is not changed")
}

// traceText is everything a trace shows, as one string.
func traceText(tr *rules.Trace) string {
	var b strings.Builder
	for _, r := range tr.Rules {
		b.WriteString(r.Name + " " + r.Verdict + " " + r.Error + " " + strings.Join(r.To, ",") + " " + strings.Join(r.At, ",") + " " + strings.Join(r.Notes, "\n") + "\n")
	}
	for _, m := range tr.Messages {
		b.WriteString(m.To + " " + m.Text + m.XML + "\n")
	}
	return b.String()
}

// TestEmptyAlertsSendNothing: a notification without alerts, or a template
// that renders nothing, gives no message and a note saying why.
func TestEmptyAlertsSendNothing(t *testing.T) {
	rs := mustLoad(t, routeBase+`  blank: "{{ if .payload.x }}x{{ end }}"
rules:
  - {name: am, when: 'source == "am"', to: [ops]}
  - {name: blank, when: 'source == "hook"', to: [ops], template: blank}
`)
	tests := []struct {
		name, note string
		ev         *event.Event
	}{
		{"no alerts", "no alerts", alertmanagerEvent("am", map[string]any{"status": "firing", "alerts": []any{}})},
		{"alerts missing", "no alerts", alertmanagerEvent("am", map[string]any{"status": "firing"})},
		{"blank text", "rendered no text", genericEvent(map[string]any{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := rs.Route(tt.ev)
			assert.Empty(t, res.Messages)
			assert.Empty(t, res.Errors)
			tr := rs.Trace(tt.ev)
			assert.Empty(t, tr.Messages)
			assert.Contains(t, traceText(tr), tt.note)
		})
	}
}

// TestProblemsHideEnvValues: a problem about a value from ${VAR} never
// prints the value, whole or in part.
func TestProblemsHideEnvValues(t *testing.T) {
	const secret = "s3cr3t-value"
	getenv := env(map[string]string{"TOKEN": secret, "RATE": "x"})
	tests := []struct {
		name, cfg, want string
	}{
		{"oneof", "delivery: {on_timeout: '${TOKEN}'}\n", "delivery.on_timeout: must be one of retry, drop, not \"${TOKEN}\""},
		{"expression", "rules:\n  - {name: a, when: 'labels.x == ${TOKEN}', to: [ops]}\n", "${TOKEN}"},
		{"quoted expression", "rules:\n  - {name: a, when: 'labels.x == \"${TOKEN}\" &&', to: [ops]}\n", "${TOKEN}"},
		{"int", "delivery:\n  per_minute: ${TOKEN}\n", "${TOKEN}"},
		{"template", "templates: {t: '{{ ${TOKEN} }}'}\nrules:\n  - {name: a, to: [ops], template: t}\n", "templates[t]"},
		{"short value", "delivery: {on_timeout: '${RATE}'}\n", `not "${RATE}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := "sources: {am: {type: alertmanager, bearer_token: t}}\ncontacts: {ops: {wxid: '1@chatroom'}}\n" + tt.cfg
			_, probs := rules.Load([]byte(cfg), "rules.yaml", getenv)
			require.Error(t, probs.Err())
			text := probs.Error()
			assert.NotContains(t, text, "s3cr3t")
			assert.NotContains(t, text, "-value")
			assert.Contains(t, text, tt.want)
			t.Log(text)
		})
	}
}

// TestRecipientsFromPayload: to_expr and at_expr name contacts only (by
// name or wxid), and never everyone, unless the rule allows any recipient.
func TestRecipientsFromPayload(t *testing.T) {
	payload := map[string]any{
		"to": []any{"wxid_attacker", "666@chatroom", "dev", "wxid_alice"},
		"at": []any{"all", "notify@all", "wxid_attacker", "carol", "wxid_bob"},
	}
	tests := []struct {
		name, opt string
		to, at    []string
		notes     []string
	}{
		{"contacts only", "", []string{"100@chatroom", "200@chatroom", "wxid_alice"}, []string{"wxid_carol", "wxid_bob"},
			[]string{`to_expr gave "wxid_attacker"`, `to_expr gave "666@chatroom"`, `at_expr gave "all"`, `at_expr gave "notify@all"`, `at_expr gave "wxid_attacker"`}},
		{"allow_any_recipient", ", allow_any_recipient: true", []string{"100@chatroom", "wxid_attacker", "666@chatroom", "200@chatroom", "wxid_alice"}, []string{"notify@all", "wxid_carol", "wxid_bob"}, nil}, // wxid_attacker has no name to write after @: not mentioned
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, probs := rules.Load([]byte(routeBase+`  hi: hi
rules:
  - {name: p, to: [ops], to_expr: 'payload.to', at_expr: 'payload.at', template: hi`+tt.opt+`}
`), "rules.yaml", noEnv, config.ForceDryRun())
			require.NoError(t, probs.Err())
			if tt.opt != "" {
				assert.Contains(t, probs.Warnings().String(), "allow_any_recipient: rule \"p\" lets the payload choose")
			}
			ev := genericEvent(payload)
			tr := rs.Trace(ev)
			require.Len(t, tr.Rules, 1)
			assert.Equal(t, tt.to, tr.Rules[0].To)
			assert.Equal(t, tt.at, tr.Rules[0].At)
			notes := strings.Join(tr.Rules[0].Notes, "\n")
			for _, n := range tt.notes {
				assert.Contains(t, notes, n)
			}
			assert.Equal(t, tt.to, recipients(rs.Route(ev).Messages))
		})
	}
}

// TestExpressionsBounded: what an expression builds or walks is bounded
// before it is allocated; an expression over the bounds is a rule error.
func TestExpressionsBounded(t *testing.T) {
	big := strings.Repeat("x", 900<<10)
	list := make([]any, 100000)
	for i := range list {
		list[i] = i
	}
	tests := []struct {
		name, when, want string
	}{
		{"repeat of repeat (issue 16)", `len(repeat(repeat("ab", 500000), 1000000)) > 0`, "repeat would build a string of 1000000000000 bytes"},
		{"repeat overflowing", `len(repeat("ab", 9223372036854775807)) > 0`, "repeat would build"},
		{"replace amplifying", `len(replace(repeat("a", 100000), "a", repeat("b", 100000))) > 0`, "replace would build"},
		{"replace of empty", `len(replace(repeat("a", 1000), "", repeat("b", 10000))) > 0`, "replace would build"},
		{"join", `len(join(map(1..100000, repeat("ab", 100)), ",")) > 0`, "limit"},
		{"string doubling", `let a = payload.big; let b = a + a; let c = b + b; let d = c + c; len(d + d) > 0`, "+ would build"},
		{"sized results", `len(map(1..1000, toJSON(payload))) > 0`, "built more than"},
		{"nested walks", `sum(payload.list, count(payload.list, # >= 0)) > 0`, "walked more than"},
		{"range", `len(1..100000000) > 0`, "memory budget exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := mustLoad(t, routeBase+"rules:\n  - {name: r, when: '"+strings.ReplaceAll(tt.when, "'", "''")+"', to: [ops], template: short}\n")
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res := rs.Route(genericEvent(map[string]any{"big": big, "list": list}))
			runtime.ReadMemStats(&after)
			assert.Empty(t, res.Matched)
			require.Len(t, res.Errors, 1)
			assert.Equal(t, "when", res.Errors[0].Stage)
			assert.Contains(t, res.Errors[0].Err.Error(), tt.want)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(256<<20), "allocated %d MiB", (after.TotalAlloc-before.TotalAlloc)>>20)
		})
	}
	t.Run("normal use", func(t *testing.T) {
		rs := mustLoad(t, routeBase+`rules:
  - {name: r, when: 'len(repeat("ab", 3) + join(["a", "b"], "-") + replace("aXb", "X", "--")) == 13 && 1 + 2 == 3 && len(filter(1..10, # > 5)) == 5 && upper("a") == "A"', to: [ops], template: short}
`)
		res := rs.Route(genericEvent(map[string]any{}))
		assert.Empty(t, res.Errors)
		assert.Equal(t, []string{"r"}, res.Matched)
	})
}

// TestTemplateFuncsBounded: template functions whose result can outgrow
// their arguments refuse before they build it, even when the result is
// assigned rather than written.
// TestPrintfStillWorks: the bounded print functions print as before.
func TestPrintfStillWorks(t *testing.T) {
	rs := mustLoad(t, routeBase+"  f: '{{ printf \"%05d|%-4s|%.2f|%[2]v\" 42 \"ab\" 3.14159 }} {{ print 1 \"x\" }} {{ println \"y\" }}'\nrules:\n  - {name: r, to: [ops], template: f}\n")
	res := rs.Route(genericEvent(map[string]any{}))
	require.Empty(t, res.Errors)
	require.Len(t, res.Messages, 1)
	assert.Equal(t, "00042|ab  |3.14|ab 1x y", strings.TrimSpace(res.Messages[0].Text)) // print is fmt.Sprint, as text/template's
}

func TestTemplateFuncsBounded(t *testing.T) {
	big := strings.Repeat("a\n", 200<<10)
	list := make([]any, 100000)
	for i := range list {
		list[i] = "x"
	}
	tests := []struct{ name, src, want string }{
		{"replace", `{{ $x := replace "a" .payload.big .payload.big }}`, "replace would build"},
		{"regexReplace", `{{ $x := regexReplace "a" .payload.big .payload.big }}`, "regexReplace would build"},
		{"regexReplace refs", `{{ $x := regexReplace "(a+)" "$1$1$1$1$1$1" .payload.big }}`, "regexReplace would build"},
		{"indent", `{{ $x := indent 100 (indent 100 .payload.big) }}`, "indent would build"},
		{"join", `{{ $x := join .payload.big .payload.list }}`, "join would build"},
		// Found in review: text/template's own print functions.
		{"printf doubling", `{{ $x := "abcdefgh" }}{{ range 35 }}{{ $x = printf "%s%s" $x $x }}{{ end }}`, "printf would build"},
		{"printf width", `{{ printf "%999999999d" 1 }}`, "width or precision over"},
		{"printf width from an argument", `{{ printf "%*d" 999999999 1 }}`, "taken from an argument"},
		{"print doubling", `{{ $x := "abcdefgh" }}{{ range 35 }}{{ $x = print $x $x }}{{ end }}`, "print would build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := mustLoad(t, routeBase+"  f: '"+tt.src+"ok'\nrules:\n  - {name: r, to: [ops], template: f}\n")
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			res := rs.Route(genericEvent(map[string]any{"big": big, "list": list}))
			runtime.ReadMemStats(&after)
			require.Len(t, res.Errors, 1)
			assert.Equal(t, "template", res.Errors[0].Stage)
			assert.Contains(t, res.Errors[0].Err.Error(), tt.want)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20))
		})
	}
}

// manyAlerts is an Alertmanager notification with n firing alerts.
func manyAlerts(n int) *event.Event {
	alerts := make([]any, n)
	for i := range alerts {
		alerts[i] = map[string]any{"status": "firing", "labels": map[string]any{"alertname": "Hot", "instance": fmt.Sprintf("host-%d", i)},
			"annotations": map[string]any{"summary": fmt.Sprintf("host-%d is hot", i)}, "startsAt": "2026-05-12T16:21:35Z"}
	}
	return alertmanagerEvent("am", map[string]any{"status": "firing", "alerts": alerts, "externalURL": "http://am:9093",
		"commonLabels": map[string]any{"alertname": "Hot"}, "groupLabels": map[string]any{"alertname": "Hot"}})
}

// TestRenderBudget: a template that loops, writing or not, stops within
// its budget with an error the caller can tell apart (ErrBudget).
func TestRenderBudget(t *testing.T) {
	big := manyAlerts(60000)
	tests := []struct {
		name, src, limits string
		ev                *event.Event
	}{
		{"range over a huge count", `{{ range 3000000000 }}{{ end }}`, "", nil},
		{"range over a count in the budget", `{{ range 900000 }}{{ range 2 }}{{ end }}{{ end }}`, "", nil},
		{"nested ranges over 60k alerts", `{{ range .payload.alerts }}{{ range $.payload.alerts }}{{ end }}{{ end }}`, "", big},
		{"nested ranges with two variables", `{{ range $i, $a := .payload.alerts }}{{ range $j, $b := $.payload.alerts }}{{ end }}{{ end }}`, "", big},
		{"template calls doubling", `{{ define "a" }}{{ template "b" }}{{ template "b" }}{{ end }}{{ define "b" }}{{ template "c" }}{{ template "c" }}{{ end }}{{ define "c" }}{{ template "d" }}{{ template "d" }}{{ end }}{{ define "d" }}{{ range 1000 }}{{ end }}{{ range 1000 }}{{ end }}{{ end }}{{ range 1000 }}{{ template "a" }}{{ end }}`, "", nil},
		{"timeout without writing", `{{ range 900000 }}{{ $x := toJson $.payload }}{{ end }}`, "limits: {render_timeout: 100ms}\n",
			genericEvent(map[string]any{"big": strings.Repeat("x", 100000)})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := mustLoad(t, routeBase+"  loop: '"+tt.src+"x'\n"+tt.limits+"rules:\n  - {name: r, to: [ops], template: loop}\n  - {name: later, to: [dev], template: loop}\n")
			ev := tt.ev
			if ev == nil {
				ev = genericEvent(map[string]any{})
			}
			start := time.Now()
			res, err := rs.RouteContext(context.Background(), ev)
			took := time.Since(start)
			require.Error(t, err)
			assert.ErrorIs(t, err, render.ErrBudget)
			assert.Contains(t, err.Error(), "still running after")
			assert.Less(t, took, 4*time.Second)
			require.Len(t, res.Errors, 1)
			assert.ErrorIs(t, res.Errors[0], render.ErrBudget)
			assert.Equal(t, "template", res.Errors[0].Stage)
			assert.Equal(t, []string{"r"}, res.Matched, "routing stops at the rule out of budget")

			tr, err := rs.TraceContext(context.Background(), ev)
			assert.ErrorIs(t, err, render.ErrBudget)
			require.Len(t, tr.Rules, 2)
			assert.Contains(t, tr.Rules[0].Error, "still running after")
			assert.Equal(t, rules.NotReached, tr.Rules[1].Verdict)
		})
	}
}

// TestRouteContext: the caller's context bounds rendering; Route and a
// template within its budget are unchanged.
func TestRouteContext(t *testing.T) {
	rs := mustLoad(t, routeBase+`  loop: '{{ range 900000 }}{{ $x := toJson $.payload }}{{ end }}x'
rules:
  - {name: am, when: 'type == "alertmanager"', to: [ops]}
  - {name: loop, when: 'source == "hook"', to: [ops], template: loop}
`)
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := rs.RouteContext(ctx, firingEvent(t))
		assert.ErrorIs(t, err, render.ErrBudget)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := rs.RouteContext(ctx, genericEvent(map[string]any{"big": strings.Repeat("x", 10000)}))
		assert.ErrorIs(t, err, render.ErrBudget)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), time.Second)
	})
	t.Run("within budget, concurrently", func(t *testing.T) {
		want := rs.Route(firingEvent(t))
		require.Len(t, want.Messages, 1)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 20 {
					res, err := rs.RouteContext(context.Background(), firingEvent(t))
					assert.NoError(t, err)
					assert.Equal(t, want.Messages, res.Messages)
				}
			})
		}
		wg.Wait()
	})
}

// TestAlertCaps: a template sees at most limits.max_alerts alerts and
// counts the rest; split_alerts makes at most
// limits.max_messages_per_webhook messages, the last telling the rest.
func TestAlertCaps(t *testing.T) {
	t.Run("template sees max_alerts", func(t *testing.T) {
		for lang, want := range map[string]string{"en": "... and 290 more", "zh": "…另有 290 条"} {
			rs := mustLoad(t, "language: "+lang+"\nlimits: {max_alerts: 20}\n"+routeBase+"rules:\n  - {name: am, to: [ops]}\n")
			res := rs.Route(manyAlerts(300))
			require.Len(t, res.Messages, 1)
			assert.Contains(t, res.Messages[0].Text, want)
		}
	})
	tests := []struct {
		name, lang, to string
		alerts, msgs   int
		last           string
	}{
		{"100k alerts, one recipient", "en", "[ops]", 100000, 50, "… and 99951 more alerts\nhttp://am:9093"},
		{"100k alerts, zh", "zh", "[ops]", 100000, 50, "…另有 99951 条告警\nhttp://am:9093"},
		{"two recipients", "en", "[ops, dev]", 1000, 50, "… and 976 more alerts\nhttp://am:9093"},
		{"max_alerts before messages", "en", "[ops]", 30, 21, "… and 10 more alerts\nhttp://am:9093"},
		{"under the caps", "en", "[ops]", 20, 20, ""},
		{"exactly the cap", "en", "[ops]", 50, 50, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limits := ""
			if tt.name == "max_alerts before messages" {
				limits = "limits: {max_alerts: 20}\n"
			}
			rs, probs := rules.Load([]byte("language: "+tt.lang+"\n"+limits+routeBase+"rules:\n  - {name: split, to: "+tt.to+", split_alerts: true}\n"), "rules.yaml", noEnv, config.ForceDryRun())
			require.NoError(t, probs.Err())
			assert.Contains(t, probs.Warnings().String(), "limits.max_messages_per_webhook")
			res := rs.Route(manyAlerts(tt.alerts))
			require.Empty(t, res.Errors)
			require.Len(t, res.Messages, tt.msgs)
			last := res.Messages[len(res.Messages)-1].Text
			if tt.last != "" {
				assert.Equal(t, tt.last, last)
			} else {
				assert.NotContains(t, last, "more alerts")
			}
			tr := rs.Trace(manyAlerts(tt.alerts))
			assert.Len(t, tr.Messages, tt.msgs)
		})
	}
	t.Run("the cap is per webhook, over rules", func(t *testing.T) {
		rs := mustLoad(t, routeBase+"rules:\n  - {name: a, to: [ops], split_alerts: true, continue: true}\n  - {name: b, to: [dev]}\n")
		res := rs.Route(manyAlerts(100))
		assert.Len(t, res.Messages, 50)
		tr := rs.Trace(manyAlerts(100))
		assert.Contains(t, strings.Join(tr.Rules[1].Notes, "\n"), "max_messages_per_webhook")
	})
}
