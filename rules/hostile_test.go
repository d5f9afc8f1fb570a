package rules_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules"
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
		ev         *rules.Event
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
		{"allow_any_recipient", ", allow_any_recipient: true", []string{"100@chatroom", "wxid_attacker", "666@chatroom", "200@chatroom", "wxid_alice"}, []string{"notify@all", "wxid_attacker", "wxid_carol", "wxid_bob"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, probs := rules.Load([]byte(routeBase+`  hi: hi
rules:
  - {name: p, to: [ops], to_expr: 'payload.to', at_expr: 'payload.at', template: hi`+tt.opt+`}
`), "rules.yaml", noEnv)
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
