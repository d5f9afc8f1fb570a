package rules_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gewe-bridge/gewe-bridge/test/fixtures"
)

// noEnv is an empty environment: no GeWe token, so configs load only in
// dry-run (config.ForceDryRun).
func noEnv(string) string { return "" }

// env returns a getenv reading from m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// mustLoad loads an in-memory config that must have no errors.
func mustLoad(t testing.TB, cfg string) *rules.Ruleset {
	t.Helper()
	rs, probs := rules.Load([]byte(cfg), "rules.yaml", noEnv, config.ForceDryRun())
	require.NoError(t, probs.Err(), "config:\n%s", cfg)
	require.NotNil(t, rs)
	return rs
}

// fixturesDir is the repository's testdata directory.
func fixturesDir(t testing.TB) string {
	t.Helper()
	return fixtures.MustDir(t)
}

// fixture decodes a fixture the way the inbound adapters do: numbers
// become int64 when they are integers, float64 otherwise.
func fixture(t testing.TB, name string) map[string]any {
	t.Helper()
	return decodeJSON(t, fixtures.Read(t, name))
}

// decodeJSON decodes a JSON object as the inbound adapters do.
func decodeJSON(t testing.TB, data []byte) map[string]any {
	t.Helper()
	m, err := adapters.DecodeObject(data)
	require.NoError(t, err)
	return m
}

func stringMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, x := range m {
		s, _ := x.(string)
		out[k] = s
	}
	return out
}

// alertmanagerEvent builds the event the Alertmanager adapter makes of a payload.
func alertmanagerEvent(source string, p map[string]any) *event.Event {
	alerts, _ := p["alerts"].([]any)
	status, _ := p["status"].(string)
	receiver, _ := p["receiver"].(string)
	external, _ := p["externalURL"].(string)
	return &event.Event{
		Source:      source,
		Type:        "alertmanager",
		Event:       "alert",
		ID:          "am-1",
		Payload:     p,
		Status:      status,
		Alerts:      alerts,
		Labels:      stringMap(p["commonLabels"]),
		Annotations: stringMap(p["commonAnnotations"]),
		GroupLabels: stringMap(p["groupLabels"]),
		Receiver:    receiver,
		ExternalURL: external,
	}
}

// githubEvent builds the event the GitHub adapter makes of a payload.
func githubEvent(source, name string, p map[string]any) *event.Event {
	ev := &event.Event{Source: source, Type: "github", Event: name, ID: "gh-1", Payload: p}
	ev.Action, _ = p["action"].(string)
	if repo, ok := p["repository"].(map[string]any); ok {
		ev.Repo, _ = repo["full_name"].(string)
	}
	if s, ok := p["sender"].(map[string]any); ok {
		ev.Sender, _ = s["login"].(string)
	}
	ev.Ref, _ = p["ref"].(string)
	if b, ok := strings.CutPrefix(ev.Ref, "refs/heads/"); ok {
		ev.Branch = b
	}
	if tag, ok := strings.CutPrefix(ev.Ref, "refs/tags/"); ok {
		ev.Tag = tag
	}
	return ev
}

func firingEvent(t testing.TB) *event.Event {
	return alertmanagerEvent("alertmanager", fixture(t, "alertmanager/firing.json"))
}

// texts returns the messages' texts.
func texts(msgs []event.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.Text
	}
	return out
}

// recipients returns the messages' recipients.
func recipients(msgs []event.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.To
	}
	return out
}
