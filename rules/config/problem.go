package config

import (
	"fmt"
	"strings"
)

// Pos is a place in the config file, 1-based.
type Pos struct {
	Line, Column int
}

// Problem is one thing wrong (or worth a warning) in a config, with the
// place to look: "rules.yaml:12:11: rules[0].when: ...".
type Problem struct {
	File    string
	Pos     Pos
	Path    string // where in the document, e.g. rules[0].when
	Msg     string
	Warning bool
}

func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteByte(':')
	}
	if p.Pos.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", p.Pos.Line, p.Pos.Column)
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is everything a load or compile found. It is an error only
// when it holds at least one problem that is not a warning.
type Problems []Problem

// Err returns the problems as an error when any is not a warning.
func (ps Problems) Err() error {
	for _, p := range ps {
		if !p.Warning {
			return ps
		}
	}
	return nil
}

// Warnings returns only the warnings.
func (ps Problems) Warnings() Problems {
	var out Problems
	for _, p := range ps {
		if p.Warning {
			out = append(out, p)
		}
	}
	return out
}

func (ps Problems) Error() string {
	var lines []string
	for _, p := range ps {
		if !p.Warning {
			lines = append(lines, p.String())
		}
	}
	return strings.Join(lines, "\n")
}

// String is every problem, warnings included, one a line.
func (ps Problems) String() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
