// Package chatops carries out the commands people write back in WeChat:
// replying to (quoting) an alert message with `silence 2h`, `ack` or
// `unsilence`, or asking the bot for `silences` and `help`. Silences are
// made through the Alertmanager API v2 (alertmanager.go); the worker
// (worker.go) reads the callbacks the bridge stored, checks who may
// command, acts, replies in the chat and records the outcome.
package chatops

import (
	"strings"
	"time"
	"unicode"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// Command kinds.
const (
	CmdSilence   = "silence"
	CmdAck       = "ack"
	CmdUnsilence = "unsilence"
	CmdSilences  = "silences"
	CmdHelp      = "help"
)

// Command is one parsed command.
type Command struct {
	Kind     string
	Duration time.Duration // silence; 0 for ack's default
	Comment  string
	// Mention: the text started with an @-mention (of the bot, in a group).
	Mention bool
	// BadDuration is the duration word that did not parse.
	BadDuration string
}

// words maps what people write to command kinds.
var words = map[string]string{
	"silence": CmdSilence, "静默": CmdSilence, "mute": CmdSilence,
	"ack": CmdAck, "确认": CmdAck, "收到": CmdAck,
	"unsilence": CmdUnsilence, "取消静默": CmdUnsilence, "unmute": CmdUnsilence,
	"silences": CmdSilences, "静默列表": CmdSilences,
	"help": CmdHelp, "帮助": CmdHelp,
}

// Parse reads a command from text; ok is false when the text is not one.
// A leading "@name " (WeChat writes a U+2005 after the name) is cut off
// and noted in Mention.
func Parse(text string) (c Command, ok bool) {
	text = strings.TrimSpace(text)
	if strings.HasPrefix(text, "@") {
		i := strings.IndexFunc(text, unicode.IsSpace)
		if i < 0 {
			return c, false
		}
		c.Mention = true
		text = strings.TrimSpace(text[i:])
	}
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return c, false
	}
	kind, known := words[strings.ToLower(fields[0])]
	if !known {
		return c, false
	}
	c.Kind = kind
	rest := fields[1:]
	if kind == CmdSilence || kind == CmdAck {
		if len(rest) > 0 {
			if d, err := config.ParseDuration(rest[0]); err == nil && d > 0 {
				c.Duration, rest = d, rest[1:]
			} else if kind == CmdSilence && looksLikeDuration(rest[0]) {
				c.BadDuration, rest = rest[0], rest[1:]
			}
		}
		c.Comment = strings.Join(rest, " ")
	}
	return c, true
}

// looksLikeDuration: starts with a digit, so "silence 2x" is a mistake
// and "silence disk is fine" a comment.
func looksLikeDuration(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// NeedsQuote reports whether the command acts on the alerts of the
// message it replies to.
func (c Command) NeedsQuote() bool {
	return c.Kind == CmdSilence || c.Kind == CmdAck || c.Kind == CmdUnsilence
}
