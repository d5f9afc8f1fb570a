package render

// The value functions: defaults, conversions to text and numbers, JSON,
// lists and maps, arithmetic. Templates see JSON values (nil, bool,
// int64, float64, string, []any, map[string]any) and Go ones alike.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

// defaultTo is "default DEF V".
func defaultTo(def, v any) any {
	if empty(v) {
		return def
	}
	return v
}

// coalesce is "coalesce A B ...".
func coalesce(vals ...any) any {
	for _, v := range vals {
		if !empty(v) {
			return v
		}
	}
	return nil
}

// ternary is "ternary A B COND".
func ternary(a, b, cond any) any {
	if truth(cond) {
		return a
	}
	return b
}

// empty reports whether v is empty for default and coalesce: nil, "",
// false, a zero-length list or map, a nil pointer, the zero time. Numbers,
// zero included, are not empty.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case int64, float64, int:
		return false
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case map[string]string:
		return len(x) == 0
	case time.Time:
		return x.IsZero()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}

// truth is the truth of {{ if }}: false, 0, nil, "" and empty lists and
// maps are false.
func truth(v any) bool {
	if b, ok := v.(bool); ok {
		return b
	}
	t, _ := template.IsTrue(v)
	return t
}

// toString is "toString V": it never fails and does not allocate for
// strings.
func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return formatFloat(x, 64)
	case int:
		return strconv.Itoa(x)
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return string(x)
	case []byte:
		return string(x)
	case time.Time:
		return x.Format(time.RFC3339)
	case []any:
		// As large as the list: no limit but the memory the list takes.
		s, _ := joinAny(x, ", ", math.MaxInt)
		return s
	case []string:
		return strings.Join(x, ", ")
	case map[string]any:
		return mapString(x, len(x))
	case map[string]string:
		return mapString(x, len(x))
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int16:
		return strconv.FormatInt(int64(x), 10)
	case int8:
		return strconv.FormatInt(int64(x), 10)
	case uint:
		return strconv.FormatUint(uint64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case uint32:
		return strconv.FormatUint(uint64(x), 10)
	case uint16:
		return strconv.FormatUint(uint64(x), 10)
	case uint8:
		return strconv.FormatUint(uint64(x), 10)
	case float32:
		return formatFloat(float64(x), 32)
	case error:
		if nilPointer(v) {
			return ""
		}
		return x.Error()
	case fmt.Stringer:
		if nilPointer(v) {
			return ""
		}
		return x.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return ""
		}
		return toString(rv.Elem().Interface())
	case reflect.String:
		return rv.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return formatFloat(rv.Float(), rv.Type().Bits())
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool())
	case reflect.Slice, reflect.Array:
		return strings.Join(toStrings(v), ", ")
	case reflect.Map:
		return mapString(v, rv.Len())
	}
	return fmt.Sprint(v)
}

// formatFloat prints integral values up to 1e15 as integers and others
// in the shortest decimal form without an exponent.
func formatFloat(f float64, bits int) string {
	if f == math.Trunc(f) && math.Abs(f) <= 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}

// mapString prints a map as JSON, an empty map as "".
func mapString(m any, n int) string {
	if n == 0 {
		return ""
	}
	if s, err := toJSON(m, false); err == nil {
		return s
	}
	return fmt.Sprint(m)
}

func nilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// toJSON encodes v as JSON without HTML escaping, compact or indented.
func toJSON(v any, pretty bool) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// count is "count V".
func count(v any) int {
	switch x := v.(type) {
	case nil:
		return 0
	case string:
		return utf8.RuneCountInString(x)
	case []any:
		return len(x)
	case []string:
		return len(x)
	case map[string]any:
		return len(x)
	case map[string]string:
		return len(x)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return rv.Len()
	case reflect.String:
		return utf8.RuneCountInString(rv.String())
	}
	return 0
}

// end is "first LIST" (last false) and "last LIST".
func end(list any, last bool) any {
	switch x := list.(type) {
	case nil:
		return nil
	case []any:
		if len(x) == 0 {
			return nil
		}
		if last {
			return x[len(x)-1]
		}
		return x[0]
	case []string:
		if len(x) == 0 {
			return nil
		}
		if last {
			return x[len(x)-1]
		}
		return x[0]
	}
	rv := reflect.ValueOf(list)
	if k := rv.Kind(); (k != reflect.Slice && k != reflect.Array) || rv.Len() == 0 {
		return nil
	}
	if last {
		return rv.Index(rv.Len() - 1).Interface()
	}
	return rv.Index(0).Interface()
}

// toStrings returns a new slice with the elements of a list as text; an
// empty slice when v is not a list.
func toStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = toString(e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return []string{}
	}
	out := make([]string, rv.Len())
	for i := range out {
		out[i] = toString(rv.Index(i).Interface())
	}
	return out
}

// sortAlpha is "sortAlpha LIST".
func sortAlpha(list any) []string {
	out := toStrings(list)
	slices.Sort(out)
	return out
}

// keys is "keys MAP".
func keys(m any) []string {
	var out []string
	switch x := m.(type) {
	case map[string]any:
		out = make([]string, 0, len(x))
		for k := range x {
			out = append(out, k)
		}
	case map[string]string:
		out = make([]string, 0, len(x))
		for k := range x {
			out = append(out, k)
		}
	default:
		rv := reflect.ValueOf(m)
		if rv.Kind() != reflect.Map {
			return []string{}
		}
		out = make([]string, 0, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			out = append(out, toString(it.Key().Interface()))
		}
	}
	slices.Sort(out)
	return out
}

// get is "get MAP KEY".
func get(m, key any) any {
	v, _ := lookup(m, toString(key))
	return v
}

// lookup returns m[key] for a map with string keys.
func lookup(m any, key string) (any, bool) {
	switch x := m.(type) {
	case nil:
		return nil, false
	case map[string]any:
		v, ok := x[key]
		return v, ok
	case map[string]string:
		if v, ok := x[key]; ok {
			return v, true
		}
		return nil, false
	}
	rv := reflect.ValueOf(m)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	e := rv.MapIndex(reflect.ValueOf(key).Convert(rv.Type().Key()))
	if !e.IsValid() {
		return nil, false
	}
	return e.Interface(), true
}

// number reads an integer, a float, a json.Number or a numeric string.
// isInt tells whether the value is in i (true) or f (false).
func number(v any) (i int64, f float64, isInt, ok bool) {
	switch x := v.(type) {
	case int64:
		return x, 0, true, true
	case float64:
		return 0, x, false, true
	case int:
		return int64(x), 0, true, true
	case int32:
		return int64(x), 0, true, true
	case int16:
		return int64(x), 0, true, true
	case int8:
		return int64(x), 0, true, true
	case uint32:
		return int64(x), 0, true, true
	case uint16:
		return int64(x), 0, true, true
	case uint8:
		return int64(x), 0, true, true
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return int64(x), 0, true, true
		}
		return 0, float64(x), false, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), 0, true, true
		}
		return 0, float64(x), false, true
	case float32:
		return 0, float64(x), false, true
	case json.Number:
		return parseNumber(string(x))
	case string:
		return parseNumber(strings.TrimSpace(x))
	}
	return 0, 0, false, false
}

func parseNumber(s string) (i int64, f float64, isInt, ok bool) {
	if s == "" {
		return 0, 0, false, false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, 0, true, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || f != f {
		return 0, 0, false, false
	}
	return 0, f, false, true
}

// toInt reads a count: numbers are truncated and clamped to int.
func toInt(v any) (int, bool) {
	i, f, isInt, ok := number(v)
	switch {
	case !ok:
		return 0, false
	case isInt:
		return int(max(math.MinInt, min(i, math.MaxInt))), true
	case f != f:
		return 0, false
	case f >= math.MaxInt:
		return math.MaxInt, true
	case f <= math.MinInt:
		return math.MinInt, true
	}
	return int(f), true
}

// arith is "add A B" (minus false) and "sub A B".
func arith(a, b any, minus bool) (any, error) {
	ai, af, aInt, err := operand(a)
	if err != nil {
		return nil, err
	}
	bi, bf, bInt, err := operand(b)
	if err != nil {
		return nil, err
	}
	if aInt && bInt {
		if minus {
			if r := ai - bi; (r < ai) == (bi > 0) {
				return r, nil
			}
		} else if r := ai + bi; (r > ai) == (bi > 0) {
			return r, nil
		}
		// Overflow: go on in floating point.
	}
	if aInt {
		af = float64(ai)
	}
	if bInt {
		bf = float64(bi)
	}
	r := af + bf
	if minus {
		r = af - bf
	}
	if r == math.Trunc(r) && math.Abs(r) <= 1e15 {
		return int64(r), nil
	}
	return r, nil
}

func operand(v any) (i int64, f float64, isInt bool, err error) {
	if v == nil {
		return 0, 0, true, nil
	}
	i, f, isInt, ok := number(v)
	if !ok {
		return 0, 0, false, fmt.Errorf("not a number: %q", toString(v))
	}
	return i, f, isInt, nil
}
