package config

import (
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${VAR} and ${VAR:-default} in every scalar value of
// the document. Expanding values, not the file's text, keeps a secret with
// YAML syntax in it (": ", "#") from changing the document's structure, and
// keeps positions exact. It records the variables referenced but unset,
// and the values the set ones gave (so that problems never print them), by
// the node of the value that used them.
func expandEnv(n *yaml.Node, getenv func(string) string, unset map[*yaml.Node][]string, used map[*yaml.Node][]envUse) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			expandEnv(c, getenv, unset, used)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandEnv(n.Content[i], getenv, unset, used)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v := getenv(m[1]); v != "" {
				used[n] = append(used[n], envUse{ref: "${" + m[1] + "}", value: v})
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			unset[n] = append(unset[n], m[1])
			return ""
		})
		// Let a plain (unquoted) value resolve again after expansion, so
		// `per_minute: ${RATE:-20}` decodes into an int. String fields
		// still get the text as written.
		if n.Style == 0 {
			n.Tag = ""
		}
	}
}

// envUse is a ${VAR} that expanded to a value.
type envUse struct {
	ref   string // ${VAR}, as written
	value string
}

// ScrubSecrets rewrites problems found after Parse (the engine's, about
// expressions and templates) as Parse rewrites its own: none prints a
// value that came from ${VAR}.
func (c *Config) ScrubSecrets(probs Problems) Problems { return scrubSecrets(probs, c.expanded) }

// scrubSecrets rewrites problems so that none prints a value that came
// from the environment: a config error is logged, answered by /-/reload
// and shown in the status, and ${TOKEN} must not end up there. A value is
// replaced by its ${VAR}; where only part of it shows (an expression
// error names the identifier "s3cr3t" of "s3cr3t-value"), that part
// becomes <part of ${VAR}>. Short values (under 4 bytes: a port, a rate)
// are scrubbed only from problems about the value that used them, where
// they are most likely to be echoed.
func scrubSecrets(probs Problems, used map[string][]envUse) Problems {
	if len(used) == 0 {
		return probs
	}
	for i := range probs {
		p := &probs[i]
		for path, uses := range used {
			related := pathRelated(p.Path, path)
			for _, u := range uses {
				p.Msg = scrubValue(p.Msg, u, related)
			}
		}
	}
	return probs
}

// scrubValue removes u's value, whole or in part, from msg.
func scrubValue(msg string, u envUse, related bool) string {
	if related {
		// However short, a value quoted in a problem about it is the value.
		msg = strings.ReplaceAll(msg, strconv.Quote(u.value), strconv.Quote(u.ref))
	}
	if len(u.value) < 4 && !related || len(u.value) < 2 {
		return msg
	}
	msg = strings.ReplaceAll(msg, u.value, u.ref)
	if len(u.value) < 8 && !related {
		return msg
	}
	// A part as long as half the value (at least 4 bytes) is a leak.
	min := max(4, len(u.value)/2)
	if related {
		min = max(2, len(u.value)/2)
	}
	for range 16 {
		part := longestCommon(msg, u.value)
		if len(part) < min {
			break
		}
		msg = strings.ReplaceAll(msg, part, "<part of "+u.ref+">")
	}
	return msg
}

// pathRelated reports whether a problem at a is about the value at b: the
// same value, or one inside the other (rules[0] and rules[0].when).
func pathRelated(a, b string) bool {
	inside := func(x, y string) bool {
		return strings.HasPrefix(x, y) && (len(x) == len(y) || x[len(y)] == '.' || x[len(y)] == '[')
	}
	return a != "" && b != "" && (inside(a, b) || inside(b, a))
}

// longestCommon returns the longest common substring of a and b.
func longestCommon(a, b string) string {
	if len(a) == 0 || len(b) == 0 {
		return ""
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	best, end := 0, 0
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			if a[i-1] == b[j-1] {
				cur[j] = prev[j-1] + 1
				if cur[j] > best {
					best, end = cur[j], i
				}
			} else {
				cur[j] = 0
			}
		}
		prev, cur = cur, prev
	}
	return a[end-best : end]
}
