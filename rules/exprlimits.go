package rules

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// What the expressions of one webhook may build and loop over. The VM's
// memory budget counts the elements of ranges and literals; these count
// what it does not: the bytes of strings the string functions build and
// the elements map, filter and the other predicates walk. Without them
// `len(repeat(repeat("ab", 500000), 1000000)) > 0` allocates a terabyte,
// and `map(1..1000000, toJSON(payload))` as much.
const (
	maxExprString = 1 << 20  // bytes of one string a function builds
	maxExprBytes  = 16 << 20 // bytes of strings built in one webhook's expressions
	maxExprSteps  = 4e6      // elements walked by predicates in one webhook's expressions
)

// ErrExprLimit is what an expression that would build or walk too much
// fails with (wrapped, with the numbers).
var ErrExprLimit = errors.New("expression over its limit")

// exprUsage is what one webhook's expressions have built and walked. The
// event rules evaluate carries it (forRules); an event without one is
// bounded per call only.
type exprUsage struct {
	bytes, steps int
}

// exprEnv is what expressions run against: the event, and what they built
// and walked so far in this routing.
type exprEnv struct {
	event.Event
	usage *exprUsage
}

func usageOf(env any) *exprUsage {
	if e, ok := env.(*exprEnv); ok {
		return e.usage
	}
	return nil
}

// build charges n bytes about to be built by fn, before they are.
func (u *exprUsage) build(fn string, n int) error {
	if n > maxExprString || n < 0 {
		return fmt.Errorf("%w: %s would build a string of %d bytes; the limit is %d", ErrExprLimit, fn, n, maxExprString)
	}
	if u == nil {
		return nil
	}
	if u.bytes += n; u.bytes > maxExprBytes {
		return fmt.Errorf("%w: the expressions built more than %d bytes of strings for this event", ErrExprLimit, maxExprBytes)
	}
	return nil
}

// walk charges the n elements a predicate is about to walk.
func (u *exprUsage) walk(n int) error {
	if u == nil {
		return nil
	}
	if u.steps += n; u.steps > maxExprSteps {
		return fmt.Errorf("%w: the expressions walked more than %d elements for this event", ErrExprLimit, int(maxExprSteps))
	}
	return nil
}

// boundedBuiltins are the builtins whose result can be much larger than
// their arguments; each is replaced by a function that checks the size
// before building (the same name with "__" before it).
var boundedBuiltins = map[string]bool{"repeat": true, "replace": true, "join": true}

// sizedBuiltins build a result about as large as their input: what they
// built is charged after the call (input sizes are bounded by the body
// limit; charging bounds how often they run).
var sizedBuiltins = map[string]bool{
	"upper": true, "lower": true, "split": true, "splitAfter": true, "toJSON": true, "fromJSON": true,
	"toBase64": true, "fromBase64": true, "toPairs": true, "keys": true, "values": true, "string": true,
}

// predicates walk their first argument.
var predicates = map[string]bool{
	"all": true, "none": true, "any": true, "one": true, "filter": true, "map": true, "count": true,
	"sum": true, "find": true, "findIndex": true, "findLast": true, "findLastIndex": true,
	"groupBy": true, "sortBy": true, "reduce": true,
}

// boundExpr is the patch that routes what can grow through the checks
// above: it passes $env (the *event.Event) so the checks find the webhook's
// usage.
type boundExpr struct{}

func (boundExpr) Visit(node *ast.Node) {
	env := func() ast.Node { return &ast.IdentifierNode{Value: "$env"} }
	call := func(fn string, args ...ast.Node) {
		c := &ast.CallNode{Callee: &ast.IdentifierNode{Value: fn}, Arguments: append([]ast.Node{env()}, args...)}
		ast.Patch(node, c)
	}
	switch n := (*node).(type) {
	case *ast.BuiltinNode:
		switch {
		case boundedBuiltins[n.Name]:
			call("__"+n.Name, n.Arguments...)
		case sizedBuiltins[n.Name]:
			call("__sized", n)
		case predicates[n.Name] && len(n.Arguments) >= 2:
			if c, ok := n.Arguments[0].(*ast.CallNode); ok {
				if id, ok := c.Callee.(*ast.IdentifierNode); ok && id.Value == "__walk" {
					return // patched already
				}
			}
			w := &ast.CallNode{Callee: &ast.IdentifierNode{Value: "__walk"}, Arguments: []ast.Node{env(), n.Arguments[0]}}
			n.Arguments[0] = w
		}
	case *ast.BinaryNode:
		if n.Operator == "+" && !(isNumber(n.Left.Type()) && isNumber(n.Right.Type())) {
			call("__add", n.Left, n.Right)
		}
	}
}

func isNumber(t reflect.Type) bool {
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// boundedExprOptions are the patch and the functions it calls.
func boundedExprOptions() []expr.Option {
	return []expr.Option{
		expr.Patch(boundExpr{}),
		expr.Function("__repeat", exprRepeat, new(func(any, string, int) string)),
		expr.Function("__replace", exprReplace, new(func(any, string, string, string) string), new(func(any, string, string, string, int) string)),
		expr.Function("__join", exprJoin, new(func(any, any) string), new(func(any, any, string) string)),
		expr.Function("__add", exprAdd, new(func(any, any, any) any)),
		expr.Function("__sized", exprSized, new(func(any, any) any)),
		expr.Function("__walk", exprWalk, new(func(any, any) any)),
	}
}

func exprRepeat(args ...any) (any, error) {
	s, _ := args[1].(string)
	n, ok := args[2].(int)
	if !ok || n < 0 {
		return nil, fmt.Errorf("repeat: the count must be a positive integer, not %v", args[2])
	}
	size := math.MaxInt // what overflows is over any limit
	if len(s) == 0 || n <= math.MaxInt/len(s) {
		size = len(s) * n
	}
	if err := usageOf(args[0]).build("repeat", size); err != nil {
		return nil, err
	}
	return strings.Repeat(s, n), nil
}

func exprReplace(args ...any) (any, error) {
	s, _ := args[1].(string)
	old, _ := args[2].(string)
	new, _ := args[3].(string)
	n := -1
	if len(args) == 5 {
		n, _ = args[4].(int)
	}
	count := strings.Count(s, old) // for "" that is one more than the runes
	if old == "" {
		count = utf8.RuneCountInString(s) + 1
	}
	if n >= 0 {
		count = min(count, n)
	}
	size := math.MaxInt
	if grow := len(new) - len(old); grow <= 0 || count <= (math.MaxInt-len(s))/grow {
		size = len(s) + count*grow
	}
	if err := usageOf(args[0]).build("replace", size); err != nil {
		return nil, err
	}
	return strings.Replace(s, old, new, n), nil
}

func exprJoin(args ...any) (any, error) {
	sep := ""
	if len(args) == 3 {
		sep, _ = args[2].(string)
	}
	var list []string
	switch l := args[1].(type) {
	case []string:
		list = l
	case []any:
		list = make([]string, len(l))
		for i, x := range l {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("join: element %d is %T, not a string", i, x)
			}
			list[i] = s
		}
	default:
		return nil, fmt.Errorf("join: cannot join %T", args[1])
	}
	size := 0
	for _, s := range list {
		if size += len(s) + len(sep); size > maxExprString {
			break
		}
	}
	if err := usageOf(args[0]).build("join", size); err != nil {
		return nil, err
	}
	return strings.Join(list, sep), nil
}

func exprAdd(args ...any) (any, error) {
	a, as := args[1].(string)
	b, bs := args[2].(string)
	if as && bs {
		if err := usageOf(args[0]).build("+", len(a)+len(b)); err != nil {
			return nil, err
		}
		return a + b, nil
	}
	return runtime.Add(args[1], args[2]), nil
}

// exprSized charges what a builtin built: the bytes of a string, or a
// word per element of a list or map.
func exprSized(args ...any) (any, error) {
	size := 0
	switch v := args[1].(type) {
	case string:
		size = len(v)
	case nil:
	default:
		switch rv := reflect.ValueOf(v); rv.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map:
			size = 16 * rv.Len()
		}
	}
	u := usageOf(args[0])
	if u == nil {
		return args[1], nil
	}
	if u.bytes += size; u.bytes > maxExprBytes {
		return nil, fmt.Errorf("%w: the expressions built more than %d bytes for this event", ErrExprLimit, maxExprBytes)
	}
	return args[1], nil
}

// exprWalk charges the elements a predicate is about to walk.
func exprWalk(args ...any) (any, error) {
	n := 0
	switch v := args[1].(type) {
	case []any:
		n = len(v)
	case nil:
	default:
		switch rv := reflect.ValueOf(v); rv.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map, reflect.String:
			n = rv.Len()
		}
	}
	if err := usageOf(args[0]).walk(n); err != nil {
		return nil, err
	}
	return args[1], nil
}
