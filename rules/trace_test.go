package rules_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules"
)

func TestTrace(t *testing.T) {
	rs := mustLoad(t, routeBase+`  bad: "{{ .payload.a.b }}"
rules:
  - name: github-only
    when: 'type == "github"'
    to: [dev]
  - name: broken
    when: 'payload.commonLabels.severity == "critical" && payload.nothing.deeper == 1'
    to: [dev]
  - name: critical
    when: 'labels.severity == "critical"'
    to: [ops, wxid_direct]
    to_expr: '"nobody-known"'
    at: [alice, all]
    template: short
    continue: true
  - name: bad-template
    when: 'type == "alertmanager"'
    to: [dev]
    template: bad
  - name: never
    to: [dev]
`)
	ev := firingEvent(t)
	tr := rs.Trace(ev)
	assert.Equal(t, "alertmanager", tr.Source)
	assert.Equal(t, "alert", tr.Event)
	assert.Equal(t, "am-1", tr.ID)
	require.Len(t, tr.Rules, 5)

	verdicts := map[string]string{}
	for _, r := range tr.Rules {
		verdicts[r.Name] = r.Verdict
	}
	assert.Equal(t, map[string]string{
		"github-only":  rules.NotMatched,
		"broken":       rules.Errored,
		"critical":     rules.Matched,
		"bad-template": rules.Matched,
		"never":        rules.NotReached,
	}, verdicts)

	t.Run("not matched", func(t *testing.T) {
		r := tr.Rules[0]
		assert.Equal(t, rules.RuleTrace{Name: "github-only", Verdict: rules.NotMatched}, r)
	})
	t.Run("error with stage and the expression's position", func(t *testing.T) {
		r := tr.Rules[1]
		assert.Equal(t, "when", r.Stage)
		assert.Contains(t, r.Error, "cannot fetch deeper from <nil> (1:64)")
		assert.Contains(t, r.Error, "payload.nothing.deeper == 1\n | ", "the snippet shows where")
		assert.Empty(t, r.To)
	})
	t.Run("matched, with recipients, mentions and notes", func(t *testing.T) {
		r := tr.Rules[2]
		assert.Empty(t, r.Error)
		assert.Equal(t, "short", r.Template)
		assert.Equal(t, []string{"100@chatroom", "wxid_direct"}, r.To)
		assert.Equal(t, []string{"wxid_alice", "notify@all"}, r.At)
		assert.Contains(t, r.Notes, `unknown contact "nobody-known" skipped`)
		assert.Contains(t, r.Notes, "mentions dropped for wxid_direct: a mention only works in a group")
	})
	t.Run("matched, but the template failed", func(t *testing.T) {
		r := tr.Rules[3]
		assert.Equal(t, "template", r.Stage)
		assert.Contains(t, r.Error, "nil pointer evaluating")
		assert.Equal(t, "bad", r.Template)
	})
	t.Run("not reached", func(t *testing.T) {
		r := tr.Rules[4]
		assert.Equal(t, []string{`rule "bad-template" matched first and has no continue: true`}, r.Notes)
	})
	t.Run("messages as Route gives them", func(t *testing.T) {
		res := rs.Route(ev)
		assert.Equal(t, []string{"critical", "bad-template"}, res.Matched)
		assert.Equal(t, res.Messages, tr.Messages)
		require.Len(t, tr.Messages, 2)
		assert.Equal(t, "@Alice @所有人\nfiring NodeFilesystemSpaceFillingUp", tr.Messages[0].Text)
		assert.Equal(t, []string{"wxid_alice", "notify@all"}, tr.Messages[0].At)
		assert.Equal(t, "firing NodeFilesystemSpaceFillingUp", tr.Messages[1].Text)
		assert.Nil(t, tr.Messages[1].At)
	})
	t.Run("JSON", func(t *testing.T) {
		b, err := json.Marshal(tr)
		require.NoError(t, err)
		var back rules.Trace
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, *tr, back)
	})
	t.Run("an event nothing matches", func(t *testing.T) {
		tr := rs.Trace(namedEvent("x", nil))
		require.Len(t, tr.Rules, 5)
		assert.Equal(t, rules.NotMatched, tr.Rules[0].Verdict)
		assert.Equal(t, rules.Errored, tr.Rules[1].Verdict)
		assert.Equal(t, rules.NotMatched, tr.Rules[2].Verdict)
		assert.Equal(t, rules.NotMatched, tr.Rules[3].Verdict)
		assert.Equal(t, rules.Matched, tr.Rules[4].Verdict)
		assert.NotNil(t, tr.Messages)
	})
}
