package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

const oncallConfig = `gewe: {dry_run: true}
timezone: Asia/Shanghai
sources:
  deploys: {type: generic, bearer_token: t}
contacts:
  ops: {wxid: "100@chatroom"}
  alice: {wxid: wxid_alice, name: Alice}
  bob: {wxid: wxid_bob, name: Bob}
  dave: {wxid: wxid_dave, name: Dave}
schedules:
  primary:
    rotation: [alice, bob]
    start: "2026-11-30T10:00:00"
    period: weekly
    overrides: [{from: "2026-12-09T18:00", to: "2026-12-11T09:00", contact: dave}]
templates:
  page: '{{ oncall "primary" }} at {{ now | date "15:04" }}'
rules:
  - {name: page, to: [ops], at: [oncall:primary], template: page}
`

// TestOnCallAndTestAt: gewe-bridge oncall --at prints the shifts around a
// time, test --at routes as if it were then.
func TestOnCallAndTestAt(t *testing.T) {
	cfg := writeFile(t, "rules.yaml", oncallConfig)
	payload := writeFile(t, "deploy.json", `{"service":"api"}`)
	for _, c := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
	}{
		{"oncall", []string{"oncall", "--config", cfg, "--at", "2026-12-08T12:00"}, 0, []string{
			"at Tue 2026-12-08 12:00 CST",
			"primary: alice, bob, weekly from Mon 2026-11-30 10:00 CST",
			"now   bob          Mon 2026-12-07 10:00 CST  ->  Wed 2026-12-09 18:00 CST",
			"next  dave         Wed 2026-12-09 18:00 CST  ->  Fri 2026-12-11 09:00 CST (override)",
			"next  bob          Fri 2026-12-11 09:00 CST  ->  Mon 2026-12-14 10:00 CST",
			"next  alice        Mon 2026-12-14 10:00 CST  ->  Mon 2026-12-21 10:00 CST",
		}},
		{"test at", []string{"test", "--config", cfg, "--source", "deploys", "--at", "2026-12-05T03:00:00+08:00", payload}, 0, []string{
			"at: 2026-12-05T03:00:00+08:00", "note: oncall:primary is alice", "@Alice\nalice at 03:00",
		}},
		{"test at in UTC", []string{"test", "--config", cfg, "--source", "deploys", "--at", "2026-12-10T00:00:00Z", payload}, 0, []string{
			"@Dave\ndave at 08:00",
		}},
		{"bad at", []string{"oncall", "--config", cfg, "--at", "tomorrow"}, 1, nil},
	} {
		var stdout, stderr bytes.Buffer
		code := run(c.args, &stdout, &stderr)
		assert.Equal(t, c.code, code, "%s: %s", c.name, stderr.String())
		for _, want := range c.stdout {
			assert.Contains(t, stdout.String(), want, c.name)
		}
		if c.code != 0 {
			assert.True(t, strings.Contains(stderr.String(), "--at"), "%s: %s", c.name, stderr.String())
		}
	}
}
