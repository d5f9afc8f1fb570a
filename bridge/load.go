package bridge

import "github.com/gewe-bridge/gewe-bridge/rules"

// LoadConfig is the Loader for a config file, or for the embedded default
// when path is empty.
func LoadConfig(path string, embedded []byte, getenv func(string) string) Loader {
	return func() (*rules.Ruleset, rules.Problems) {
		if path == "" {
			return rules.Load(embedded, "rules.example.yaml (embedded)", getenv)
		}
		return rules.LoadFile(path, getenv)
	}
}
