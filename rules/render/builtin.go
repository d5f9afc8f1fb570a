package render

import (
	"embed"
	"io/fs"
	"path"
	"strings"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// builtinFS holds the built-in templates, one file per template named
// <name>.tmpl, per language. A template missing in a language falls back
// to the Chinese one.
//
//go:embed builtin
var builtinFS embed.FS

// Builtins returns the built-in text templates for a language.
func Builtins(lang string) map[string]config.Template {
	out := map[string]config.Template{}
	for _, l := range []string{"zh", lang} {
		entries, _ := fs.ReadDir(builtinFS, "builtin/"+l)
		for _, e := range entries {
			b, err := fs.ReadFile(builtinFS, path.Join("builtin", l, e.Name()))
			if err != nil {
				continue
			}
			out[strings.TrimSuffix(e.Name(), ".tmpl")] = config.Template{Text: string(b)}
		}
	}
	return out
}

// DefaultName names the built-in template for an event when a rule
// names none: the event's own (github.push) if has says it exists, or its
// type's default.
func DefaultName(ev *event.Event, has func(name string) bool) string {
	if name := ev.Type + "." + ev.Event; ev.Event != "" && has(name) {
		return name
	}
	switch ev.Type {
	case "gitlab":
		if ev.Event == "tag_push" {
			return "gitlab.push" // it tells tag pushes apart
		}
		return "gitlab.default"
	case "alertmanager", "github", "gitea", "grafana":
		return ev.Type + ".default"
	}
	return "generic.default"
}
