package render

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"sync"
	"text/template"
	"text/template/parse"
	"time"
)

// ErrBudget is what rendering fails with when it runs out of its time
// (limits.render_timeout, or the context RouteContext was given) or of
// its work (limits.render_iterations: range iterations and template calls
// in one render). errors.Is(err, ErrBudget) tells it from a template's
// own mistake: the event is not wrong, the bridge could not afford it
// now, so the webhook is best answered 503 for the sender to retry. When
// the context ended it, errors.Is(err, ctx.Err()) holds too.
var ErrBudget = errors.New("rendering ran out of its budget")

// budgetError is a render stopped by its budget.
type budgetError struct {
	msg   string
	cause error // the context's error, when it ended the render
}

func (e *budgetError) Error() string { return e.msg }

func (e *budgetError) Is(target error) bool { return target == ErrBudget }

func (e *budgetError) Unwrap() error { return e.cause }

// Limits are what one webhook's renders may spend: they share the
// context and the deadline; each render has its own iterations. The zero
// value limits nothing.
type Limits struct {
	ctx        context.Context // nil: none
	deadline   time.Time
	timeout    time.Duration
	iterations int
}

func NewLimits(ctx context.Context, timeout time.Duration, iterations int) *Limits {
	l := &Limits{ctx: ctx, timeout: timeout, iterations: iterations}
	if timeout > 0 {
		l.deadline = time.Now().Add(timeout)
	}
	return l
}

// Reset makes l the limits of a new webhook, in place (the engine keeps
// one in each pooled routing).
func (l *Limits) Reset(ctx context.Context, timeout time.Duration, iterations int) {
	*l = Limits{ctx: ctx, timeout: timeout, iterations: iterations}
	if timeout > 0 {
		l.deadline = time.Now().Add(timeout)
	}
}

// Err reports whether the limits are spent already: no render starts then.
func (l *Limits) Err() error {
	b := budget{Limits: l}
	return b.check()
}

// budget is one render's account: it belongs to one template instance,
// used by one goroutine at a time.
type budget struct {
	*Limits
	left  int // iterations left
	ticks int // charged since the clock was last read
	name  string
}

// check reads the context and the clock.
func (b *budget) check() error {
	if b == nil || b.Limits == nil {
		return nil
	}
	if b.ctx != nil {
		select {
		case <-b.ctx.Done():
			return &budgetError{msg: fmt.Sprintf("stopped: %v", b.ctx.Err()), cause: b.ctx.Err()}
		default:
		}
	}
	if !b.deadline.IsZero() && time.Now().After(b.deadline) {
		return &budgetError{msg: fmt.Sprintf("still running after %s (limits.render_timeout)", b.timeout)}
	}
	return nil
}

// charge spends n iterations, and reads the clock every 64.
func (b *budget) charge(n int) error {
	if b.left -= n; b.left < 0 && b.iterations > 0 {
		return &budgetError{msg: fmt.Sprintf("still running after %d range iterations and template calls (limits.render_iterations)", b.iterations)}
	}
	if b.ticks += n; b.ticks >= 64 {
		b.ticks = 0
		return b.check()
	}
	return nil
}

// stop ends the render from inside a range: text/template turns an
// ExecError panic into the error Execute returns.
func (b *budget) stop(err error) {
	panic(template.ExecError{Name: b.name, Err: err})
}

// fastRange is the length up to which a range is charged at once and
// iterated as it is; longer ones are charged as they go.
const fastRange = 16

// ranged is the hidden function every range's pipeline ends with: it
// charges what the range will walk and, for long lists and counts,
// returns an iterator that charges each step, so a range that loops
// without writing (`range 3000000000`, ranges nested over 60,000 alerts)
// stops within the budget. two: the range declares two variables.
func (b *budget) ranged(v any, two bool) (any, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int:
		if x > b.left && b.iterations > 0 {
			return nil, b.charge(x) // over the budget before it starts
		}
		if x <= fastRange || two {
			return v, b.charge(max(x, 0))
		}
		return iter.Seq[int](func(yield func(int) bool) {
			for i := range x {
				if err := b.charge(1); err != nil {
					b.stop(err)
				}
				if !yield(i) {
					return
				}
			}
		}), nil
	case []any:
		return b.list(v, len(x), func(i int) any { return x[i] }, two)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		return b.list(v, rv.Len(), func(i int) any { return rv.Index(i).Interface() }, two)
	case reflect.Map:
		return v, b.charge(rv.Len())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n := rv.Int(); n > int64(b.left) {
			return nil, b.charge(int(min(n, 1<<40)))
		}
		return v, b.charge(int(rv.Int()))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if n := rv.Uint(); n > uint64(max(b.left, 0)) {
			return nil, b.charge(int(min(n, 1<<40)))
		}
		return v, b.charge(int(rv.Uint()))
	}
	return v, b.charge(1)
}

func (b *budget) list(v any, n int, at func(int) any, two bool) (any, error) {
	if n <= fastRange {
		return v, b.charge(n)
	}
	if two {
		return iter.Seq2[int, any](func(yield func(int, any) bool) {
			for i := range n {
				if err := b.charge(1); err != nil {
					b.stop(err)
				}
				if !yield(i, at(i)) {
					return
				}
			}
		}), nil
	}
	return iter.Seq[any](func(yield func(any) bool) {
		for i := range n {
			if err := b.charge(1); err != nil {
				b.stop(err)
			}
			if !yield(at(i)) {
				return
			}
		}
	}), nil
}

// guarded is a parsed template whose ranges and template calls go through
// a budget. Each execution takes an instance (a clone with its own
// budget) from a pool: the budget is per execution, and a *guarded is safe
// for concurrent renders.
type guarded struct {
	t    *template.Template
	pool sync.Pool // *instance
}

type instance struct {
	t *template.Template
	b *budget
}

// guard rewrites t's trees so that every range's pipeline ends with the
// hidden __range1 or __range2 and every {{ template }} call's with __call
// (or is __tick): hooks that charge the budget and read the clock. The
// hidden functions exist only in the instances, so a template cannot call
// them.
func guard(t *template.Template) *guarded {
	trees := map[string]*parse.Tree{}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			trees[tt.Name()] = tt.Tree
		}
	}
	costs := map[string]int{}
	for _, tr := range trees {
		guardNode(tr, tr.Root, func(name string) int { return callCost(name, trees, costs) })
	}
	g := &guarded{t: t}
	g.pool.New = func() any {
		c := template.Must(t.Clone())
		b := &budget{name: t.Name()}
		c.Funcs(template.FuncMap{
			"__range1": func(v any) (any, error) { return b.ranged(v, false) },
			"__range2": func(v any) (any, error) { return b.ranged(v, true) },
			"__call":   func(v any) (any, error) { return v, b.charge(1) },
			"__tick":   func() (any, error) { return nil, b.charge(1) },
		})
		return &instance{t: c, b: b}
	}
	return g
}

func (g *guarded) get(lim *Limits) *instance {
	in := g.pool.Get().(*instance)
	in.b.Limits, in.b.left, in.b.ticks = lim, lim.iterations, 0
	return in
}

func (g *guarded) put(in *instance) {
	in.b.Limits = nil
	g.pool.Put(in)
}

// smallCall is the most template calls (itself and those it makes,
// ranges aside) a {{ template }} call may cause and not be hooked: the
// ranges around it charge for it. A template calling templates that call
// templates twice each, or itself, is hooked.
const smallCall = 64

// callCost is how many template calls executing name causes, ranges
// aside (their bodies counted once): smallCall+1 for a recursive one.
func callCost(name string, trees map[string]*parse.Tree, costs map[string]int) int {
	if c, ok := costs[name]; ok {
		return c
	}
	tr := trees[name]
	if tr == nil {
		return 1
	}
	costs[name] = smallCall + 1 // while it is being counted: recursion
	total := 1
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		if total > smallCall {
			return
		}
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			total += callCost(n.Name, trees, costs)
		}
	}
	walk(tr.Root)
	costs[name] = min(total, smallCall+1)
	return costs[name]
}

// guardNode adds the hooks to the nodes under n; cost gives the calls a
// {{ template }} call causes.
func guardNode(tr *parse.Tree, n parse.Node, cost func(string) int) {
	hook := func(fn string, pos parse.Pos) *parse.CommandNode {
		id := parse.NewIdentifier(fn).SetTree(tr).SetPos(pos)
		return &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{id}}
	}
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			guardNode(tr, c, cost)
		}
	case *parse.IfNode:
		guardNode(tr, n.List, cost)
		guardNode(tr, n.ElseList, cost)
	case *parse.WithNode:
		guardNode(tr, n.List, cost)
		guardNode(tr, n.ElseList, cost)
	case *parse.RangeNode:
		fn := "__range1"
		if len(n.Pipe.Decl) > 1 {
			fn = "__range2"
		}
		n.Pipe.Cmds = append(n.Pipe.Cmds, hook(fn, n.Pipe.Pos))
		guardNode(tr, n.List, cost)
		guardNode(tr, n.ElseList, cost)
	case *parse.TemplateNode:
		switch {
		case cost(n.Name) <= smallCall:
		case n.Pipe == nil:
			n.Pipe = &parse.PipeNode{NodeType: parse.NodePipe, Pos: n.Pos, Line: n.Line, Cmds: []*parse.CommandNode{hook("__tick", n.Pos)}}
		default:
			n.Pipe.Cmds = append(n.Pipe.Cmds, hook("__call", n.Pipe.Pos))
		}
	}
}
