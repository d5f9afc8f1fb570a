package rules

import (
	"os"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// LoadFile reads, validates (config.Parse) and compiles (Compile) the
// config at path. The problems are errors and warnings, each with
// file:line:column; the Ruleset is nil when their Err() is not.
func LoadFile(path string, getenv func(string) string, opts ...config.LoadOption) (*Ruleset, config.Problems) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, config.Problems{{File: path, Msg: err.Error()}}
	}
	return Load(data, path, getenv, opts...)
}

// Load is LoadFile for a config already in memory; file names it in messages.
func Load(data []byte, file string, getenv func(string) string, opts ...config.LoadOption) (*Ruleset, config.Problems) {
	cfg, probs := config.Parse(data, file, getenv, opts...)
	if cfg == nil {
		return nil, probs
	}
	// Compile even when Parse found problems, so that one run reports
	// every problem in the file, expressions and templates included.
	rs, cprobs := Compile(cfg)
	probs = append(probs, cprobs...)
	if probs.Err() != nil {
		return nil, probs
	}
	return rs, probs
}
