package chatops

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ok   bool
		want Command
	}{
		{"silence 2h", true, Command{Kind: CmdSilence, Duration: 2 * time.Hour}},
		{"静默 2h 换盘中", true, Command{Kind: CmdSilence, Duration: 2 * time.Hour, Comment: "换盘中"}},
		{"Silence 1d12h disk swap", true, Command{Kind: CmdSilence, Duration: 36 * time.Hour, Comment: "disk swap"}},
		{"silence disk is fine", true, Command{Kind: CmdSilence, Comment: "disk is fine"}},
		{"silence 2x", true, Command{Kind: CmdSilence, BadDuration: "2x"}},
		{"ack", true, Command{Kind: CmdAck}},
		{"ack 30m", true, Command{Kind: CmdAck, Duration: 30 * time.Minute}},
		{"unsilence", true, Command{Kind: CmdUnsilence}},
		{"@bot\u2005silences", true, Command{Kind: CmdSilences, Mention: true}},
		{"@机器人 help", true, Command{Kind: CmdHelp, Mention: true}},
		{"@bot", false, Command{}},
		{"hello", false, Command{}},
		{"", false, Command{}},
	} {
		got, ok := Parse(tc.in)
		assert.Equal(t, tc.ok, ok, tc.in)
		if ok {
			assert.Equal(t, tc.want, got, tc.in)
		}
	}
}

func TestMatchesExactly(t *testing.T) {
	labels := map[string]string{"alertname": "A", "instance": "x"}
	s := Silence{Matchers: MatchersFor(labels)}
	assert.True(t, s.MatchesExactly(labels))
	assert.False(t, s.MatchesExactly(map[string]string{"alertname": "A"}))
	s.Matchers[0].IsRegex = true
	assert.False(t, s.MatchesExactly(labels))
}
