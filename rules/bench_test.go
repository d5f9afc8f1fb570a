package rules_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

var benchRulesets sync.Map // number of rules -> *rules.Ruleset

// benchRuleset has n rules of the form `source == "x" && labels.team ==
// "team-i"`; the one in the middle selects the fixture's team, infra.
func benchRuleset(b *testing.B, n int) *rules.Ruleset {
	if rs, ok := benchRulesets.Load(n); ok {
		return rs.(*rules.Ruleset)
	}
	var cfg strings.Builder
	cfg.WriteString("sources:\n  x: {type: alertmanager, bearer_token: t}\ntemplates:\n  t: \"{{ .labels.alertname }} {{ .status }}\"\nrules:\n")
	for i := 0; i < n; i++ {
		team := fmt.Sprintf("team-%d", i)
		if i == n/2 {
			team = "infra"
		}
		fmt.Fprintf(&cfg, "  - {name: r%d, when: 'source == \"x\" && labels.team == \"%s\"', to: [\"%d@chatroom\"], template: t}\n", i, team, i)
	}
	rs, probs := rules.Load([]byte(cfg.String()), "bench.yaml", noEnv, config.ForceDryRun())
	require.NoError(b, probs.Err())
	benchRulesets.Store(n, rs)
	return rs
}

func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			rs := benchRuleset(b, n)
			ev := alertmanagerEvent("x", fixture(b, "alertmanager/firing.json"))
			res := rs.Route(ev)
			require.Equal(b, []string{fmt.Sprintf("r%d", n/2)}, res.Matched)
			require.Len(b, res.Messages, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rs.Route(ev)
			}
		})
	}
}

// BenchmarkTrace evaluates every rule, as routing without the index would.
func BenchmarkTrace(b *testing.B) {
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			rs := benchRuleset(b, n)
			ev := alertmanagerEvent("x", fixture(b, "alertmanager/firing.json"))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				rs.Trace(ev)
			}
		})
	}
}

// BenchmarkRender routes the Alertmanager fixture to one rule that uses
// the built-in alertmanager template: the cost is the rendering.
func BenchmarkRender(b *testing.B) {
	rs, probs := rules.Load([]byte(`sources:
  am: {type: alertmanager, bearer_token: t}
rules:
  - {name: all, to: ["1@chatroom"]}
`), "bench.yaml", noEnv, config.ForceDryRun())
	require.NoError(b, probs.Err())
	ev := firingEvent(b)
	res := rs.Route(ev)
	require.Empty(b, res.Errors)
	require.Len(b, res.Messages, 1)
	require.Contains(b, res.Messages[0].Text, "10.0.3.22:9100")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rs.Route(ev)
	}
}
