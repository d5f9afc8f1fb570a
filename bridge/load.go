package bridge

import (
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// LoadConfig is the Loader for a config file, or for the embedded default
// when path is empty. opts apply to every load, reloads included.
func LoadConfig(path string, embedded []byte, getenv func(string) string, opts ...config.LoadOption) Loader {
	return func() (*rules.Ruleset, config.Problems) {
		if path == "" {
			return rules.Load(embedded, "rules.example.yaml (embedded)", getenv, opts...)
		}
		return rules.LoadFile(path, getenv, opts...)
	}
}
