package rules_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

const (
	exampleOps = "12345678@chatroom"
	exampleDev = "87654321@chatroom"
)

// loadExample loads rules.example.yaml from the repository root as a fresh
// machine would with serve -dry-run: nothing set in the environment.
func loadExample(t testing.TB) *rules.Ruleset {
	t.Helper()
	rs, probs := rules.LoadFile(filepath.Join("..", "rules.example.yaml"), noEnv, config.ForceDryRun())
	require.NoError(t, probs.Err())
	for _, p := range probs {
		// Only the dry-run warnings about unauthenticated sources.
		assert.Contains(t, p.Msg, "dry-run", p.String())
	}
	require.True(t, rs.Config().DryRun)
	return rs
}

func TestExampleConfig(t *testing.T) {
	rs := loadExample(t)

	t.Run("alertmanager firing", func(t *testing.T) {
		res := rs.Route(firingEvent(t))
		require.Empty(t, res.Errors)
		assert.Contains(t, res.Matched, "critical-alerts")
		var toOps []event.Message
		for _, m := range res.Messages {
			assert.False(t, m.IsApp())
			if m.To == exampleOps {
				toOps = append(toOps, m)
			}
		}
		require.Len(t, toOps, 1, "one message to the ops group: %+v", res.Messages)
		page := toOps[0]
		assert.Equal(t, []string{"wxid_oncall"}, page.At)
		assert.True(t, strings.HasPrefix(page.Text, "@值班\n"), page.Text)
		for _, want := range []string{
			"NodeFilesystemSpaceFillingUp",
			"Filesystem on /dev/nvme0n1p1 at 10.0.3.21:9100 has only 7.12% available space left.",
			"10.0.3.21:9100", "10.0.3.22:9100",
		} {
			assert.Contains(t, page.Text, want)
		}
	})

	t.Run("alertmanager, another team", func(t *testing.T) {
		ev := firingEvent(t)
		ev.Labels = map[string]string{"alertname": "Slow", "team": "web", "severity": "warning"}
		res := rs.Route(ev)
		require.Empty(t, res.Errors)
		assert.Equal(t, []string{"team-alerts"}, res.Matched)
		assert.Equal(t, []string{exampleDev}, recipients(res.Messages))
		assert.Nil(t, res.Messages[0].At)
	})

	t.Run("pull_request opened", func(t *testing.T) {
		res := rs.Route(githubEvent("github", "pull_request", fixture(t, "github/pull_request.opened.json")))
		require.Empty(t, res.Errors)
		assert.Equal(t, []string{"pull-requests"}, res.Matched)
		require.Len(t, res.Messages, 1)
		m := res.Messages[0]
		assert.Equal(t, exampleDev, m.To)
		require.True(t, m.IsApp())
		card := parseAppMsg(t, m.XML)
		assert.Equal(t, "PR #2 Update the README with new information.", card.Title, "a PR number is an integer, not 2e+00")
		assert.Equal(t, "https://github.com/Codertocat/Hello-World/pull/2", card.URL)
		assert.Equal(t, 5, card.Type)
		assert.Contains(t, card.Des, "Codertocat/Hello-World")
		assert.Contains(t, card.Des, "changes → master")
		assert.NotEmpty(t, card.ThumbURL)
	})

	tests := []struct {
		file, event string
		rule        string
		want        []string // in the text
	}{
		{"push.json", "push", "github", []string{"Codertocat/Hello-World"}},
		{"issues.opened.json", "issues", "github", []string{"Codertocat/Hello-World"}},
		{"release.published.json", "release", "github", []string{"Codertocat/Hello-World"}},
		{"ping.json", "ping", "github", []string{"Octocoders/Hello-World"}},
		{"workflow_run.completed.json", "workflow_run", "github", []string{"octo-org/octo-repo"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			res := rs.Route(githubEvent("github", tt.event, fixture(t, filepath.Join("github", tt.file))))
			require.Empty(t, res.Errors)
			assert.Equal(t, []string{tt.rule}, res.Matched)
			require.Len(t, res.Messages, 1)
			m := res.Messages[0]
			assert.Equal(t, exampleDev, m.To)
			assert.False(t, m.IsApp())
			for _, want := range tt.want {
				assert.Contains(t, m.Text, want)
			}
		})
	}

	t.Run("failed workflow run mentions the actor", func(t *testing.T) {
		p := fixture(t, "github/workflow_run.completed.json")
		p["workflow_run"].(map[string]any)["conclusion"] = "failure"
		res := rs.Route(githubEvent("github", "workflow_run", p))
		require.Empty(t, res.Errors)
		assert.Equal(t, []string{"ci-failures"}, res.Matched)
		require.Len(t, res.Messages, 1)
		assert.Equal(t, []string{"wxid_octocat"}, res.Messages[0].At)
		assert.True(t, strings.HasPrefix(res.Messages[0].Text, "@Octocat\n"), res.Messages[0].Text)
	})

	t.Run("deploys", func(t *testing.T) {
		ev := &event.Event{Source: "deploys", Type: "generic", Payload: map[string]any{"service": "api", "version": "v1.2.3", "status": "ok"}}
		res := rs.Route(ev)
		require.Empty(t, res.Errors)
		require.Len(t, res.Messages, 1)
		assert.Equal(t, exampleOps, res.Messages[0].To)
		assert.Equal(t, "🚀 api v1.2.3 → production (ok)", res.Messages[0].Text)

		res = rs.Route(&event.Event{Source: "deploys", Type: "generic", Payload: map[string]any{}})
		require.Len(t, res.Messages, 1)
		assert.Equal(t, "🚀 a service  → production", res.Messages[0].Text)
	})
}

// TestExampleEveryFixture routes every fixture file through the example
// config: each gives at least one message, and none shows <no value>.
func TestExampleEveryFixture(t *testing.T) {
	rs := loadExample(t)
	dir := fixturesDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		t.Run(rel, func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			p := decodeJSON(t, data)
			var ev *event.Event
			switch filepath.Base(filepath.Dir(f)) {
			case "alertmanager":
				ev = alertmanagerEvent("alertmanager", p)
			case "github":
				name, _, _ := strings.Cut(filepath.Base(f), ".")
				ev = githubEvent("github", name, p)
			default:
				t.Skip("no adapter for this fixture directory")
			}
			tr := rs.Trace(ev)
			res := rs.Route(ev)
			require.Empty(t, res.Errors)
			require.NotEmpty(t, res.Messages, "trace: %+v", tr.Rules)
			for _, m := range res.Messages {
				assert.True(t, m.Text != "" || m.XML != "")
				assert.NotContains(t, m.Text, "<no value>")
				assert.NotContains(t, m.XML, "no value")
				assert.NotContains(t, m.Text, "%!")
				if m.IsApp() {
					parseAppMsg(t, m.XML)
				}
			}
		})
	}
}
