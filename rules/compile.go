package rules

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/oncall"
	"github.com/gewe-bridge/gewe-bridge/rules/render"
)

// Bounds on what one expression may cost. The language has no loops, so
// size at compile time and memory at run time bound it.
const (
	maxExprLen    = 4096
	maxExprNodes  = 2000
	exprMemBudget = 1 << 20
)

// Ruleset is a compiled config: rules with their expr programs and
// templates, ready to route events. It is immutable and safe for
// concurrent use; a reload builds a new one.
type Ruleset struct {
	cfg       *config.Config
	loc       *time.Location
	rules     []*rule
	templates map[string]*render.Template
	index     *index
	byGitHub  map[string]string // lower-case GitHub login -> contact name
	byWxid    map[string]string // a contact's wxid -> its name
	schedules map[string]*oncall.Schedule
	// quietByWxid are the contacts' quiet hours, by their wxid.
	quietByWxid map[string]*quiet
	vms         sync.Pool
	chatOps     bool // record the alerts of messages (config.ChatOpsOn)
}

// rule is one compiled rule.
type rule struct {
	config.Rule
	n            int // position in the file, for ordering
	path         string
	when         *vm.Program // nil: always matches
	toExpr       *vm.Program
	atExpr       *vm.Program
	templateExpr *vm.Program
	tmpl         *render.Template // nil: template_expr or the event's default
	quiet        *quiet           // nil: no quiet hours
}

// Config returns the configuration the ruleset was compiled from.
func (rs *Ruleset) Config() *config.Config { return rs.cfg }

// Location is the configured time zone.
func (rs *Ruleset) Location() *time.Location { return rs.loc }

// Compile compiles a parsed config's expressions and templates once, so
// that a mistake is reported at load time, with its position.
func Compile(cfg *config.Config) (*Ruleset, config.Problems) {
	c := &compiler{cfg: cfg}
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		loc = time.UTC
	}
	rs := &Ruleset{cfg: cfg, loc: loc, chatOps: cfg.ChatOpsOn(), templates: map[string]*render.Template{}, byGitHub: map[string]string{}, byWxid: map[string]string{}}
	rs.vms.New = func() any { return &vm.VM{MemoryBudget: exprMemBudget} }
	for name, ct := range cfg.Contacts {
		rs.byWxid[ct.Wxid] = name
		if ct.GitHub != "" {
			rs.byGitHub[strings.ToLower(ct.GitHub)] = name
		}
	}
	rs.compileSchedules()
	funcs := render.Funcs(loc, cfg.Clock)
	funcs["oncall"] = rs.onCallFunc
	for name, b := range render.Builtins(cfg.Language) {
		t, err := render.Parse(name, b, funcs)
		if err != nil {
			// A broken built-in is a bug in this program, not the config.
			panic(fmt.Sprintf("built-in template %s: %v", name, err))
		}
		rs.templates[name] = t
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Templates)) {
		path := "templates[" + name + "]"
		t, err := render.Parse(name, cfg.Templates[name], funcs)
		if err != nil {
			c.add(path, "%v", err) // a parse error, at the template's place
			continue
		}
		rs.templates[name] = t
	}
	opts := rs.exprOptions()
	for _, name := range slices.Sorted(maps.Keys(cfg.Contacts)) {
		if q := c.compileQuiet("contacts["+name+"].quiet", cfg.Contacts[name].Quiet, opts); q != nil {
			if rs.quietByWxid == nil {
				rs.quietByWxid = map[string]*quiet{}
			}
			rs.quietByWxid[cfg.Contacts[name].Wxid] = q
		}
	}
	used := map[string]bool{}
	for i, r := range cfg.Rules {
		cr := &rule{Rule: r, n: i, path: fmt.Sprintf("rules[%d]", i)}
		cr.when = c.compileExpr(cr.path+".when", r.When, append(opts, expr.AsBool()), nil)
		cr.toExpr = c.compileExpr(cr.path+".to_expr", r.ToExpr, opts, stringOrList)
		cr.atExpr = c.compileExpr(cr.path+".at_expr", r.AtExpr, opts, stringOrList)
		cr.templateExpr = c.compileExpr(cr.path+".template_expr", r.TemplateExpr, append(opts, expr.AsKind(reflect.String)), nil)
		cr.quiet = c.compileQuiet(cr.path+".quiet", r.Quiet, opts)
		if r.Template != "" {
			used[r.Template] = true
			if t, ok := rs.templates[r.Template]; ok {
				cr.tmpl = t
			} else if _, defined := cfg.Templates[r.Template]; !defined {
				// (A defined template that failed to parse is reported once, above.)
				c.add(cr.path+".template", "unknown template %q%s", r.Template, c.knownTemplates())
			}
		}
		if r.TemplateExpr != "" {
			// Any template may be chosen at run time.
			for name := range cfg.Templates {
				used[name] = true
			}
		}
		rs.rules = append(rs.rules, cr)
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Templates)) {
		if !used[name] {
			c.warn("templates["+name+"]", "template %q is not used by any rule", name)
		}
	}
	c.checkReachable(rs.rules)
	rs.index = buildIndex(rs.rules)
	c.probs = cfg.ScrubSecrets(c.probs)
	if c.probs.Err() != nil {
		return nil, c.probs
	}
	return rs, c.probs
}

type compiler struct {
	cfg   *config.Config
	probs config.Problems
}

func (c *compiler) add(path, format string, args ...any) {
	c.probs = append(c.probs, config.Problem{File: c.cfg.File, Pos: c.cfg.PosOf(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *compiler) warn(path, format string, args ...any) {
	c.probs = append(c.probs, config.Problem{File: c.cfg.File, Pos: c.cfg.PosOf(path), Path: path, Msg: fmt.Sprintf(format, args...), Warning: true})
}

func (c *compiler) knownTemplates() string {
	names := slices.Sorted(maps.Keys(c.cfg.Templates))
	if len(names) == 0 {
		return " (no templates are defined; built-ins are named like github.default)"
	}
	return fmt.Sprintf(" (defined: %s)", strings.Join(names, ", "))
}

// stringOrList is the result check of to_expr and at_expr.
var stringOrList = func(t reflect.Type) bool {
	if t == nil {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Interface:
		return true
	case reflect.Slice, reflect.Array:
		k := t.Elem().Kind()
		return k == reflect.String || k == reflect.Interface
	}
	return false
}

// compileExpr compiles src (empty: nil program). A compile error is
// reported at the expression's place in the file, line and column.
func (c *compiler) compileExpr(path, src string, opts []expr.Option, resultOK func(reflect.Type) bool) *vm.Program {
	if strings.TrimSpace(src) == "" {
		return nil
	}
	if len(src) > maxExprLen {
		c.add(path, "expression is %d bytes long; the limit is %d", len(src), maxExprLen)
		return nil
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			c.probs = append(c.probs, config.Problem{File: c.cfg.File, Pos: c.cfg.PosInValue(path, src, fe.Line, fe.Column, fe.From), Path: path,
				Msg: exprMessage(fe)})
		} else {
			c.add(path, "%v", err)
		}
		return nil
	}
	if resultOK != nil {
		if t := prog.Node().Type(); !resultOK(t) {
			c.add(path, "must give a string or a list of strings, not %v", t)
			return nil
		}
	}
	return prog
}

// exprMessage is expr's message with its snippet, which shows the caret
// under the column.
func exprMessage(fe *file.Error) string {
	msg := fe.Message
	if fe.Snippet != "" {
		msg += fe.Snippet
	}
	return msg
}

// checkReachable warns about rules after a catch-all that stops.
func (c *compiler) checkReachable(rules []*rule) {
	for i, r := range rules {
		if r.When == "" && !r.Continue && r.when == nil && i+1 < len(rules) {
			c.warn(rules[i+1].path, "rule %q can never match: rule %q before it matches every event and has no `continue: true`", rules[i+1].Name, r.Name)
			return
		}
	}
}

// Templates returns the names of every template, built-in and defined.
func (rs *Ruleset) Templates() []string { return slices.Sorted(maps.Keys(rs.templates)) }

func (rs *Ruleset) exprOptions() []expr.Option {
	return append([]expr.Option{
		expr.Env(exprEnv{}),
		expr.MaxNodes(maxExprNodes),
		// now() in the config's timezone, as in templates. (expr's own
		// Timezone option also rewrites date(), wrongly in this version.)
		expr.Function("now", func(...any) (any, error) { return rs.Now(), nil }, new(func() time.Time)),
		expr.Function("oncall", func(args ...any) (any, error) { s, _ := args[0].(string); return rs.onCallFunc(s), nil }, new(func(string) string)),
		expr.Function("contacts_by_github", rs.contactsByGitHub, new(func(any) []string)),
	}, boundedExprOptions()...)
}

// contactsByGitHub maps GitHub users (logins, or user objects with a
// login, as in pull_request.requested_reviewers) to contact names; users
// without a contact are left out.
func (rs *Ruleset) contactsByGitHub(args ...any) (any, error) {
	var out []string
	add := func(v any) {
		login, _ := v.(string)
		if m, ok := v.(map[string]any); ok {
			login, _ = m["login"].(string)
		}
		if name, ok := rs.byGitHub[strings.ToLower(login)]; ok {
			out = append(out, name)
		}
	}
	switch v := args[0].(type) {
	case []any:
		for _, x := range v {
			add(x)
		}
	case []string:
		for _, x := range v {
			add(x)
		}
	default:
		add(v)
	}
	return out, nil
}

// hasTemplate reports whether a template of that name (built-in or
// defined) exists.
func (rs *Ruleset) hasTemplate(name string) bool {
	_, ok := rs.templates[name]
	return ok
}
