package bridge

import "github.com/gewe-bridge/gewe-bridge/rules"

// LoadConfig is the Loader for a config file, or for the embedded default
// when path is empty. opts apply to every load, reloads included.
func LoadConfig(path string, embedded []byte, getenv func(string) string, opts ...rules.LoadOption) Loader {
	return func() (*rules.Ruleset, rules.Problems) {
		if path == "" {
			return rules.Load(embedded, "rules.example.yaml (embedded)", getenv, opts...)
		}
		return rules.LoadFile(path, getenv, opts...)
	}
}
