package rules

import (
	"github.com/expr-lang/expr/ast"
	exprparser "github.com/expr-lang/expr/parser"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// index finds the rules that can match an event without evaluating every
// rule. A rule whose `when` is a conjunction containing an equality on an
// indexable field (source == "x", event in ["a", "b"], labels.team == "y")
// can only match events with that value, so it is listed under it; other
// rules are always candidates. Candidates keep file order, so "first match
// wins" is unchanged.
type index struct {
	fields []string           // indexed fields: source, type, event, action, labels.<name>
	values []map[string][]int // per field: value -> rule numbers, ascending
	always []int              // rules that must always be evaluated
}

// fieldRank orders the fields by how selective they usually are: one
// conjunct per rule is indexed, the best one.
func fieldRank(f string) int {
	switch f {
	case "type":
		return 1
	case "source":
		return 2
	case "event":
		return 3
	case "action":
		return 4
	}
	return 5 // labels.<name>
}

func buildIndex(rules []*rule) *index {
	ix := &index{}
	pos := map[string]int{}
	for _, r := range rules {
		field, vals, ok := indexKey(r.When)
		if !ok || r.when == nil {
			ix.always = append(ix.always, r.n)
			continue
		}
		i, seen := pos[field]
		if !seen {
			i = len(ix.fields)
			pos[field] = i
			ix.fields = append(ix.fields, field)
			ix.values = append(ix.values, map[string][]int{})
		}
		for _, v := range vals {
			list := ix.values[i][v]
			if n := len(list); n == 0 || list[n-1] != r.n {
				ix.values[i][v] = append(list, r.n)
			}
		}
	}
	return ix
}

// candidates returns, in file order, the rules that may match ev. buf is
// reused for the result.
func (ix *index) candidates(ev *event.Event, buf []int) []int {
	lists := make([][]int, 0, 8)
	if len(ix.always) > 0 {
		lists = append(lists, ix.always)
	}
	for i, f := range ix.fields {
		if l := ix.values[i][fieldValue(ev, f)]; len(l) > 0 {
			lists = append(lists, l)
		}
	}
	return merge(lists, buf[:0])
}

// merge merges ascending lists into out, ascending, without duplicates.
func merge(lists [][]int, out []int) []int {
	switch len(lists) {
	case 0:
		return out
	case 1:
		return append(out, lists[0]...)
	}
	var small [16]int
	heads := small[:0]
	if len(lists) > len(small) {
		heads = make([]int, 0, len(lists))
	}
	heads = heads[:len(lists)]
	for {
		best := -1
		for i, l := range lists {
			if heads[i] < len(l) && (best < 0 || l[heads[i]] < lists[best][heads[best]]) {
				best = i
			}
		}
		if best < 0 {
			return out
		}
		v := lists[best][heads[best]]
		if n := len(out); n == 0 || out[n-1] != v {
			out = append(out, v)
		}
		heads[best]++
	}
}

func fieldValue(ev *event.Event, f string) string {
	switch f {
	case "source":
		return ev.Source
	case "type":
		return ev.Type
	case "event":
		return ev.Event
	case "action":
		return ev.Action
	}
	return ev.Labels[f[len("labels."):]]
}

// indexKey finds the best indexable conjunct of a `when` expression.
func indexKey(src string) (field string, vals []string, ok bool) {
	if src == "" {
		return "", nil, false
	}
	tree, err := exprparser.Parse(src)
	if err != nil {
		return "", nil, false
	}
	best := 0
	var visit func(n ast.Node)
	visit = func(n ast.Node) {
		b, isBin := n.(*ast.BinaryNode)
		if !isBin {
			return
		}
		switch b.Operator {
		case "&&", "and":
			visit(b.Left)
			visit(b.Right)
			return
		}
		f, vs, isKey := equality(b)
		if isKey && fieldRank(f) > best {
			best, field, vals, ok = fieldRank(f), f, vs, true
		}
	}
	visit(tree.Node)
	return field, vals, ok
}

// equality recognises `field == "v"`, `"v" == field` and
// `field in ["a", "b"]`.
func equality(b *ast.BinaryNode) (string, []string, bool) {
	switch b.Operator {
	case "==":
		if f, ok := indexedField(b.Left); ok {
			if s, ok := b.Right.(*ast.StringNode); ok {
				return f, []string{s.Value}, true
			}
		}
		if f, ok := indexedField(b.Right); ok {
			if s, ok := b.Left.(*ast.StringNode); ok {
				return f, []string{s.Value}, true
			}
		}
	case "in":
		f, ok := indexedField(b.Left)
		arr, isArr := b.Right.(*ast.ArrayNode)
		if !ok || !isArr || len(arr.Nodes) == 0 {
			return "", nil, false
		}
		vals := make([]string, 0, len(arr.Nodes))
		for _, n := range arr.Nodes {
			s, ok := n.(*ast.StringNode)
			if !ok {
				return "", nil, false
			}
			vals = append(vals, s.Value)
		}
		return f, vals, true
	}
	return "", nil, false
}

func indexedField(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.IdentifierNode:
		switch t.Value {
		case "source", "type", "event", "action":
			return t.Value, true
		}
	case *ast.MemberNode:
		id, ok := t.Node.(*ast.IdentifierNode)
		prop, isStr := t.Property.(*ast.StringNode)
		if ok && isStr && id.Value == "labels" && !t.Optional {
			return "labels." + prop.Value, true
		}
	}
	return "", false
}
