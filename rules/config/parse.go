package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/go-playground/validator/v10"
	"go.yaml.in/yaml/v3"
)

// Parse decodes and validates a config without compiling its rules.
// getenv expands ${VAR} and ${VAR:-default} in values (nil: os.Getenv).
func Parse(data []byte, file string, getenv func(string) string, opts ...LoadOption) (*Config, Problems) {
	if getenv == nil {
		getenv = os.Getenv
	}
	p := &loader{file: file, pos: map[string]Pos{}, styles: map[string]yaml.Style{}, indents: map[string]int{},
		lines: strings.Split(string(data), "\n")}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		p.addYAMLError(err)
		return nil, p.probs
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		p.add(Pos{Line: 1, Column: 1}, "", "the config must be a YAML mapping (gewe:, sources:, rules: ...)")
		return nil, p.probs
	}
	doc := root.Content[0]
	unset := map[*yaml.Node][]string{}
	used := map[*yaml.Node][]envUse{}
	expandEnv(doc, getenv, unset, used)
	p.index(doc, "")
	expanded := map[string][]envUse{}
	for n, uses := range used {
		expanded[p.paths[n]] = uses
	}
	// Every problem found from here on may quote an expanded value.
	p.checkKeys(doc, reflect.TypeOf(Config{}), "")

	cfg := &Config{File: file, Delivery: DefaultDelivery()}
	if err := doc.Decode(cfg); err != nil {
		p.addYAMLError(err)
		return nil, scrubSecrets(p.probs, expanded)
	}
	cfg.expanded = expanded
	cfg.pos, cfg.styles, cfg.indents, cfg.lines = p.pos, p.styles, p.indents, p.lines
	cfg.unset = map[string][]string{}
	for n, vars := range unset {
		cfg.unset[p.paths[n]] = vars
	}
	for _, o := range opts {
		o(cfg)
	}
	applyDefaults(cfg)
	p.validate(cfg)
	p.checkSemantics(cfg)
	return cfg, scrubSecrets(p.probs, expanded)
}

type loader struct {
	file  string
	pos   map[string]Pos        // path -> position of the value
	paths map[*yaml.Node]string // value node -> path
	// How each scalar is written, to place errors inside expressions.
	styles  map[string]yaml.Style
	indents map[string]int // block scalars: the content's indentation
	lines   []string
	probs   Problems
}

func (p *loader) add(pos Pos, path, format string, args ...any) {
	p.probs = append(p.probs, Problem{File: p.file, Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (p *loader) warn(pos Pos, path, format string, args ...any) {
	p.probs = append(p.probs, Problem{File: p.file, Pos: pos, Path: path, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// at returns the position of path, or of its closest parent.
func (p *loader) at(path string) Pos {
	return lookupPos(p.pos, path)
}

func lookupPos(pos map[string]Pos, path string) Pos {
	for path != "" {
		if v, ok := pos[path]; ok {
			return v
		}
		i := strings.LastIndexAny(path, ".[")
		if i <= 0 {
			break
		}
		path = path[:i]
	}
	return Pos{}
}

// index records the position of every value by its path, in the format
// the validator uses for namespaces: sources[github].secret, rules[0].when.
func (p *loader) index(n *yaml.Node, path string) {
	if p.paths == nil {
		p.paths = map[*yaml.Node]string{}
	}
	p.pos[path] = Pos{n.Line, n.Column}
	p.paths[n] = path
	switch n.Kind {
	case yaml.ScalarNode:
		p.styles[path] = n.Style
		if n.Style == yaml.LiteralStyle || n.Style == yaml.FoldedStyle {
			if n.Line < len(p.lines) {
				l := p.lines[n.Line] // the first content line (0-based index = Line)
				p.indents[path] = len(l) - len(strings.TrimLeft(l, " "))
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			var child string
			switch {
			case path == "":
				child = k.Value
			case isMapField(path):
				child = path + "[" + k.Value + "]"
			default:
				child = path + "." + k.Value
			}
			p.index(v, child)
			// The key's own position is where a user looks for an
			// unknown or duplicate key.
			p.pos[child+"#key"] = Pos{k.Line, k.Column}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.index(c, path+"["+strconv.Itoa(i)+"]")
		}
	}
}

// isMapField reports whether the value at path is a map keyed by names.
func isMapField(path string) bool {
	switch path {
	case "sources", "contacts", "templates", "schedules":
		return true
	}
	return false
}

var yamlLine = regexp.MustCompile(`line (\d+)(?:: column (\d+))?`)

// addYAMLError turns a yaml.v3 error ("yaml: line 3: ...", or a
// *yaml.TypeError with one line per problem) into problems.
func (p *loader) addYAMLError(err error) {
	var te *yaml.TypeError
	msgs := []string{err.Error()}
	if errors.As(err, &te) {
		msgs = te.Errors
	}
	for _, m := range msgs {
		m = strings.TrimPrefix(m, "yaml: ")
		pos := Pos{}
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			pos.Line, _ = strconv.Atoi(sm[1])
			pos.Column = 1
			if sm[2] != "" {
				pos.Column, _ = strconv.Atoi(sm[2])
			}
			m = strings.TrimSpace(strings.TrimPrefix(m[strings.Index(m, sm[0])+len(sm[0]):], ":"))
			if parserContextError(m) {
				// yaml.v3 reports these at the line of the collection
				// they are in, counted from 0: the line before it.
				pos.Line++
			}
		}
		if hint := p.flowHint(pos.Line); hint != "" {
			m += hint
		}
		p.add(pos, "", "%s", m)
	}
}

// parserContextError reports whether m is one of the yaml.v3 parser errors
// whose line is the 0-based line of the collection being parsed.
func parserContextError(m string) bool {
	switch m {
	case "did not find expected ',' or '}'", "did not find expected ',' or ']'",
		"did not find expected key", "did not find expected node content", "did not find expected '-' indicator":
		return true
	}
	return false
}

// flowHint explains the commonest cause of a broken line: ${VAR} written
// unquoted inside { } or [ ], where the braces end the collection.
func (p *loader) flowHint(line int) string {
	if line < 1 || line > len(p.lines) {
		return ""
	}
	l := p.lines[line-1]
	i := strings.Index(l, "${")
	if i < 0 || !strings.ContainsAny(l[:i], "{[") || strings.ContainsAny(l[i-1:i], `"'`) {
		return ""
	}
	return ` (a ${VAR} inside { } or [ ] must be quoted: "${VAR}")`
}

// checkKeys reports keys the config does not know: a misspelt key is
// otherwise silently ignored, and a rule without its `when` matches all.
func (p *loader) checkKeys(n *yaml.Node, t reflect.Type, path string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.ShortTag() == "!!merge" {
				// `<<: *anchor` merges a mapping whose keys are checked
				// where it is written.
				continue
			}
			child := k.Value
			if path != "" {
				child = path + "." + k.Value
			}
			ft, ok := fields[k.Value]
			if !ok {
				p.add(Pos{k.Line, k.Column}, path, "unknown key %q%s", k.Value, suggest(k.Value, fields))
				continue
			}
			p.checkKeys(v, ft, child)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			p.checkKeys(n.Content[i+1], t.Elem(), path+"["+n.Content[i].Value+"]")
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			p.checkKeys(c, t.Elem(), path+"["+strconv.Itoa(i)+"]")
		}
	}
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out[name] = f.Type
	}
	return out
}

// suggest names the closest known key for a misspelt one.
func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 3
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if d := editDistance(key, name); d < bestD {
			best, bestD = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return v
}()

// validate runs the struct tags' checks and reports each at its place.
func (p *loader) validate(cfg *Config) {
	err := validate.Struct(cfg)
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return
	}
	for _, fe := range verrs {
		path := strings.TrimPrefix(fe.Namespace(), "Config.")
		var msg string
		switch fe.Tag() {
		case "required":
			msg = "is required"
		case "oneof":
			msg = fmt.Sprintf("must be one of %s, not %q", strings.ReplaceAll(fe.Param(), " ", ", "), fmt.Sprint(fe.Value()))
		case "url":
			msg = fmt.Sprintf("%q is not a URL", fmt.Sprint(fe.Value()))
		case "gte":
			msg = fmt.Sprintf("must be at least %s", fe.Param())
		default:
			msg = fmt.Sprintf("fails the %q check", fe.Tag())
		}
		p.add(p.at(path), path, "%s", msg)
	}
}
