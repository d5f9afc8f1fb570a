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

// scheduleBase adds a weekly schedule handed off on Mondays at 10:00
// Shanghai time (the default zone) to routeBase.
const scheduleBase = routeBase + `  page: |-
    {{ oncall "primary" }} on call at {{ now | date "2006-01-02 15:04" }}
schedules:
  primary:
    rotation: [alice, bob, carol]
    start: "2026-11-30T10:00:00"
    period: weekly
    overrides:
      - {from: "2026-12-24T18:00", to: "2026-12-26T10:00", contact: carol}
`

// loadAt loads cfg as gewe-bridge test --at does.
func loadAt(t testing.TB, cfg, at string) *rules.Ruleset {
	t.Helper()
	when, err := time.Parse(time.RFC3339, at)
	require.NoError(t, err)
	rs, probs := rules.Load([]byte(cfg), "rules.yaml", noEnv, config.ForceDryRun(), config.At(when))
	require.NoError(t, probs.Err(), "config:\n%s", cfg)
	return rs
}

// TestOnCallInToAndAt: oncall:primary in to and at is whoever is on call
// at the routing time, across a handoff and an override; templates and
// expressions see the same person and the same now.
func TestOnCallInToAndAt(t *testing.T) {
	cfg := scheduleBase + `rules:
  - name: page
    when: 'oncall("primary") != "" && now().Year() == 2026'
    to: [oncall:primary, ops]
    at: [oncall:primary]
    template: page
`
	for _, c := range []struct{ at, who, wxid, text string }{
		{"2026-12-05T03:00:00+08:00", "alice", "wxid_alice", "alice on call at 2026-12-05 03:00"},
		{"2026-12-07T09:59:00+08:00", "alice", "wxid_alice", "alice on call at 2026-12-07 09:59"},
		{"2026-12-07T10:00:00+08:00", "bob", "wxid_bob", "bob on call at 2026-12-07 10:00"},
		{"2026-12-07T02:30:00Z", "bob", "wxid_bob", "bob on call at 2026-12-07 10:30"},
		{"2026-12-25T12:00:00+08:00", "carol", "wxid_carol", "carol on call at 2026-12-25 12:00"}, // override (in alice's week)
		{"2026-12-26T10:00:00+08:00", "alice", "wxid_alice", "alice on call at 2026-12-26 10:00"},
	} {
		rs := loadAt(t, cfg, c.at)
		res := rs.Route(firingEvent(t))
		require.Equal(t, []string{"page"}, res.Matched, c.at)
		require.Equal(t, []string{c.wxid, "100@chatroom"}, recipients(res.Messages), c.at)
		name := strings.ToUpper(c.who[:1]) + c.who[1:]
		assert.Equal(t, c.text, res.Messages[0].Text, c.at, "no mention to a person")
		assert.Equal(t, "@"+name+"\n"+c.text, res.Messages[1].Text, c.at)
		assert.Equal(t, []string{c.wxid}, res.Messages[1].At, c.at)

		tr := rs.Trace(firingEvent(t))
		assert.Contains(t, strings.Join(tr.Rules[0].Notes, "\n"), "oncall:primary is "+c.who, c.at)
	}
}

func TestCheckSchedules(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown contact", `schedules:
  primary: {rotation: [alice, zed], start: "2026-11-30T10:00", period: weekly}
rules: [{name: r, to: [ops]}]
`, "rules.yaml:16:31: schedules[primary].rotation[1]: unknown contact \"zed\""},
		{"bad period", `schedules:
  primary: {rotation: [alice], start: "2026-11-30T10:00", period: fortnightly}
rules: [{name: r, to: [ops]}]
`, "schedules[primary].period: \"fortnightly\" is not a period"},
		{"bad start", `schedules:
  primary: {rotation: [alice], start: "next monday", period: weekly}
rules: [{name: r, to: [ops]}]
`, "rules.yaml:16:39: schedules[primary].start: \"next monday\" is not a time"},
		{"override backwards", `schedules:
  primary:
    rotation: [alice]
    start: "2026-11-30T10:00"
    period: weekly
    overrides: [{from: "2026-12-02", to: "2026-12-01", contact: dave}]
rules: [{name: r, to: [ops]}]
`, "schedules[primary].overrides[0].to: must be after from"},
		{"override contact", `schedules:
  primary:
    rotation: [alice]
    start: "2026-11-30T10:00"
    period: weekly
    overrides: [{from: "2026-12-01", to: "2026-12-02", contact: dave}]
rules: [{name: r, to: [ops]}]
`, "schedules[primary].overrides[0].contact: unknown contact \"dave\""},
		{"unknown schedule in to", `rules:
  - {name: r, to: [oncall:secondary]}
`, "rules.yaml:16:20: rules[0].to[0]: unknown schedule \"secondary\" (no schedules are defined)"},
		{"unknown schedule in at", `schedules:
  primary: {rotation: [alice], start: "2026-11-30T10:00", period: weekly}
rules:
  - {name: r, to: [ops], at: [oncall:secondary]}
`, "rules[0].at[0]: unknown schedule \"secondary\" (defined: primary)"},
	} {
		_, probs := rules.Load([]byte(routeBase+"  page: x\n"+c.yaml), "rules.yaml", noEnv, config.ForceDryRun())
		require.Error(t, probs.Err(), c.name)
		assert.Contains(t, probs.String(), c.want, c.name)
	}
}

// TestHoldLongerThanMaxAgeWarns: check says when quiet hours may hold a
// message past delivery.max_age, which counts from acceptance.
func TestHoldLongerThanMaxAgeWarns(t *testing.T) {
	const cfg = "gewe: {dry_run: true}\nsources: {am: {type: alertmanager, bearer_token: t}}\ncontacts: {ops: {wxid: \"1@chatroom\"}}\n"
	for _, tt := range []struct {
		quiet string
		warn  bool
	}{
		{`{hours: "22:00-08:00", hold: true}`, false},                   // 10h < 12h
		{`{hours: "20:00-09:00", hold: true}`, true},                    // 13h
		{`{hours: "22:00-08:00", days: [sat, sun], hold: true}`, false}, // two 10h windows
		{`{days: [sat, sun], hold: true}`, true},                        // all weekend: 48h
		{`{hours: "20:00-09:00", reroute: [ops]}`, false},               // nothing held
	} {
		_, probs := rules.Load([]byte(cfg+"rules:\n  - {name: r, to: [ops], quiet: "+tt.quiet+"}\n"), "rules.yaml", func(string) string { return "" })
		require.NoError(t, probs.Err(), tt.quiet)
		assert.Equal(t, tt.warn, strings.Contains(probs.Warnings().String(), "longer than delivery.max_age"), "%s: %s", tt.quiet, probs.Warnings())
	}
}
