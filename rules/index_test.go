package rules_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// whens are the rule conditions the property test draws from: indexable
// ones, ones the index must leave alone, and ones that fail at run time.
// {1}, {2} and {3} stand for small random numbers.
var whens = []string{
	``,
	`source == "s{1}"`,
	`"s{1}" == source`,
	`type == "t{1}"`,
	`event == "e{1}"`,
	`event in ["e{1}", "e{2}"]`,
	`action == "a{1}"`,
	`labels.team == "team-{1}"`,
	`labels["team"] == "team-{1}"`,
	`labels.team in ["team-{1}", "team-{2}"]`,
	`labels.team == ""`,
	`labels?.team == "team-{1}"`,
	`type == "t{1}" && labels.x == "x{2}"`,
	`source == "s{1}" && event == "e{2}" && labels.team == "team-{3}"`,
	`source == "s{1}" and action == "a{2}"`,
	`source == "s{1}" && payload.x == {2}`,
	`payload.x == {1}`,
	`payload.x > {1}`,
	`payload.y.z == {1}`,
	`source == "s{1}" && payload.y.z == {2}`,
	`payload.y.z == {2} && source == "s{1}"`,
	`source == "s{1}" || event == "e{2}"`,
	`(source == "s{1}" || event == "e{2}") && labels.team == "team-{3}"`,
	`!(source == "s{1}")`,
	`source != "s{1}"`,
	`event not in ["e{1}", "e{2}"]`,
	`not (labels.team == "team-{1}")`,
	`labels.team != "team-{1}" && type == "t{2}"`,
	`source == "s{1}" ? event == "e{2}" : labels.x == "x{3}"`,
	`source startsWith "s{1}"`,
	`any(alerts, {.labels.team == "team-{1}"})`,
	`let s = source; s == "s{1}"`,
	`true`,
	`false`,
}

func randomRules(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString("sources:\n  s: {type: generic, bearer_token: t}\ntemplates:\n  t: \"{{ .source }}\"\nrules:\n")
	n := 1 + r.IntN(30)
	for i := 0; i < n; i++ {
		when := strings.NewReplacer("{1}", strconv.Itoa(1+r.IntN(3)), "{2}", strconv.Itoa(1+r.IntN(3)), "{3}", strconv.Itoa(1+r.IntN(3))).
			Replace(whens[r.IntN(len(whens))])
		fmt.Fprintf(&b, "  - name: r%d\n", i)
		if when != "" {
			fmt.Fprintf(&b, "    when: '%s'\n", when)
		}
		fmt.Fprintf(&b, "    to: [wxid_r%d]\n    template: t\n", i)
		if r.IntN(3) == 0 {
			b.WriteString("    continue: true\n")
		}
	}
	return b.String()
}

func randomEvent(r *rand.Rand) *event.Event {
	pick := func(prefix string, n int) string {
		if r.IntN(n+1) == 0 {
			return ""
		}
		return fmt.Sprintf("%s%d", prefix, 1+r.IntN(n))
	}
	ev := &event.Event{
		Source:  pick("s", 3),
		Type:    pick("t", 3),
		Event:   pick("e", 3),
		Action:  pick("a", 3),
		Payload: map[string]any{},
	}
	if r.IntN(4) > 0 {
		ev.Labels = map[string]string{}
		if team := pick("team-", 3); team != "" || r.IntN(2) == 0 {
			ev.Labels["team"] = team
		}
		if x := pick("x", 3); x != "" {
			ev.Labels["x"] = x
		}
	}
	if r.IntN(2) == 0 {
		ev.Payload["x"] = int64(1 + r.IntN(3))
	}
	if r.IntN(2) == 0 {
		ev.Payload["y"] = map[string]any{"z": int64(1 + r.IntN(3))}
	}
	if r.IntN(3) == 0 {
		ev.Alerts = []any{map[string]any{"labels": map[string]any{"team": pick("team-", 3)}}}
	}
	return ev
}

// TestIndexMatchesNaiveEvaluation checks the rule index against the
// definition: evaluating every rule in order (which Trace does).
func TestIndexMatchesNaiveEvaluation(t *testing.T) {
	const ruleSets, eventsPerSet = 400, 60
	for seed := uint64(1); seed <= ruleSets; seed++ {
		r := rand.New(rand.NewPCG(seed, 42))
		cfg := randomRules(r)
		rs, probs := rules.Load([]byte(cfg), "rules.yaml", noEnv, config.ForceDryRun())
		require.NoError(t, probs.Err(), "seed %d:\n%s", seed, cfg)
		for i := 0; i < eventsPerSet; i++ {
			ev := randomEvent(r)
			res := rs.Route(ev)
			tr := rs.Trace(ev)
			var naive []string
			errored := map[string]bool{}
			for _, rt := range tr.Rules {
				switch rt.Verdict {
				case rules.Matched:
					naive = append(naive, rt.Name)
				case rules.Errored:
					errored[rt.Name] = true
				}
			}
			require.Equal(t, naive, res.Matched, "seed %d, event %+v\nrules:\n%s", seed, *ev, cfg)
			require.Equal(t, tr.Messages, nonNil(res.Messages), "seed %d, event %+v\nrules:\n%s", seed, *ev, cfg)
			for _, e := range res.Errors {
				require.True(t, errored[e.Rule], "Route reports an error Trace does not: %v", e)
			}
		}
	}
}

func nonNil(m []event.Message) []event.Message {
	if m == nil {
		return []event.Message{}
	}
	return m
}
