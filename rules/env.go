package rules

import (
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// expandEnv replaces ${VAR} and ${VAR:-default} in every scalar value of
// the document. Expanding values, not the file's text, keeps a secret with
// YAML syntax in it (": ", "#") from changing the document's structure, and
// keeps positions exact. It returns the variables referenced but unset, by
// the path of the value that used them.
func expandEnv(n *yaml.Node, getenv func(string) string, unset map[*yaml.Node][]string) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			expandEnv(c, getenv, unset)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			expandEnv(n.Content[i], getenv, unset)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v := getenv(m[1]); v != "" {
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
