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

// TestQuietHours: a rule's quiet hours hold its messages until the window
// ends or reroute them; bypass_when lets critical ones through; a
// contact's own quiet hours hold what is sent to that contact only.
// 2026-12-05 is a Saturday; the firing fixture's severity is critical.
func TestQuietHours(t *testing.T) {
	// erin, a contact with quiet hours of her own.
	base := strings.Replace(scheduleBase, "templates:\n", "  erin: {wxid: wxid_erin, name: Erin, quiet: {hours: \"20:00-09:00\", hold: true}}\ntemplates:\n", 1)
	for _, c := range []struct {
		name, rule, at string
		to             []string // the recipients of the messages
		held           []string // the NotBefore of each message, RFC 3339, "" for none
		note           string
	}{
		{"held at night", `quiet: {hours: "22:00-08:00", hold: true}`, "2026-12-05T03:00:00+08:00",
			[]string{"100@chatroom", "wxid_bob"}, []string{"2026-12-05T08:00:00+08:00", "2026-12-05T08:00:00+08:00"},
			"quiet hours (rules[0].quiet): held until 2026-12-05 08:00 CST"},
		{"not in the day", `quiet: {hours: "22:00-08:00", hold: true}`, "2026-12-05T12:00:00+08:00",
			[]string{"100@chatroom", "wxid_bob"}, []string{"", ""}, ""},
		{"weekend days only", `quiet: {days: [sat, sun], hold: true}`, "2026-12-05T12:00:00+08:00",
			[]string{"100@chatroom", "wxid_bob"}, []string{"2026-12-07T00:00:00+08:00", "2026-12-07T00:00:00+08:00"}, "held until 2026-12-07 00:00"},
		{"bypassed", `quiet: {hours: "22:00-08:00", hold: true, bypass_when: 'labels.severity == "critical"'}`, "2026-12-05T03:00:00+08:00",
			[]string{"100@chatroom", "wxid_bob"}, []string{"", ""}, "bypassed: bypass_when is true"},
		{"not bypassed", `quiet: {hours: "22:00-08:00", hold: true, bypass_when: 'labels.severity == "info"'}`, "2026-12-05T03:00:00+08:00",
			[]string{"100@chatroom", "wxid_bob"}, []string{"2026-12-05T08:00:00+08:00", "2026-12-05T08:00:00+08:00"}, "held until"},
		{"rerouted to on call", `quiet: {hours: "22:00-08:00", reroute: ["oncall:primary"]}`, "2026-12-05T03:00:00+08:00",
			[]string{"wxid_alice"}, []string{""}, "rerouted to wxid_alice"},
		{"contact's own quiet hours", "", "2026-12-05T21:00:00+08:00",
			[]string{"100@chatroom", "wxid_bob", "wxid_erin"}, []string{"", "", "2026-12-06T09:00:00+08:00"}, "wxid_erin held until 2026-12-06 09:00 CST"},
	} {
		to := "[ops, bob]"
		if c.rule == "" {
			to = "[ops, bob, erin]"
		}
		cfg := base + "rules:\n  - name: night\n    to: " + to + "\n    template: short\n    " + c.rule + "\n"
		rs := loadAt(t, cfg, c.at)
		tr := rs.Trace(firingEvent(t))
		require.Equal(t, c.to, recipients(tr.Messages), c.name)
		var held []string
		for _, m := range tr.Messages {
			if m.NotBefore.IsZero() {
				held = append(held, "")
			} else {
				held = append(held, m.NotBefore.Format(time.RFC3339))
			}
		}
		assert.Equal(t, c.held, held, c.name)
		if c.note != "" {
			assert.Contains(t, strings.Join(tr.Rules[0].Notes, "\n"), c.note, c.name)
		}
	}
}

func TestCheckQuiet(t *testing.T) {
	for _, c := range []struct{ quiet, want string }{
		{`{hours: "22-08", hold: true}`, `rules[0].quiet.hours: "22" is not a time of day`},
		{`{hours: "22:00-08:00", days: [caturday], hold: true}`, `rules[0].quiet.days: unknown day "caturday"`},
		{`{hours: "22:00-08:00"}`, `rules[0].quiet: says nothing of what to do in the window`},
		{`{hours: "22:00-08:00", hold: true, reroute: [bob]}`, `rules[0].quiet: set hold: true or reroute, not both`},
		{`{hours: "22:00-08:00", reroute: [zed]}`, `rules[0].quiet.reroute[0]: unknown contact "zed"`},
		{`{hours: "22:00-08:00", hold: true, bypass_when: 'nosuch == 1'}`, `rules[0].quiet.bypass_when: unknown name nosuch`},
	} {
		cfg := routeBase + "rules:\n  - {name: r, to: [ops], template: short, quiet: " + c.quiet + "}\n"
		_, probs := rules.Load([]byte(cfg), "rules.yaml", noEnv, config.ForceDryRun())
		require.Error(t, probs.Err(), c.quiet)
		assert.Contains(t, probs.String(), c.want, c.quiet)
	}
}
