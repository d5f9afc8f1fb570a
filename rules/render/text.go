package render

// The text functions: truncation in characters or bytes, joining, case,
// replacing, splitting, indenting, escaping, plurals.

import (
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"
)

const ellipsis = "…"

// truncate is "truncate N S". An N that is not a number leaves S whole;
// N <= 0 gives "".
func truncate(n, s any) string {
	str := toString(s)
	limit, ok := toInt(n)
	if !ok || len(str) <= limit { // a string has no more runes than bytes
		return str
	}
	if limit <= 0 {
		return ""
	}
	runes, cut := 0, 0
	for i := range str {
		if runes == limit-1 {
			cut = i
		} else if runes == limit {
			return str[:cut] + ellipsis
		}
		runes++
	}
	return str
}

// truncateBytes is "truncateBytes N S". An N that is not a number leaves
// S whole; N <= 0 gives "". With N < 3 the "…" does not fit and is left out.
func truncateBytes(n, s any) string {
	str := toString(s)
	limit, ok := toInt(n)
	if !ok || len(str) <= limit {
		return str
	}
	if limit <= 0 {
		return ""
	}
	cut, suffix := limit-len(ellipsis), ellipsis
	if cut < 0 {
		cut, suffix = limit, ""
	}
	for cut > 0 && !utf8.RuneStart(str[cut]) {
		cut--
	}
	return str[:cut] + suffix
}

// head returns the first n runes of s, without an ellipsis.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	runes := 0
	for i := range s {
		if runes == n {
			return s[:i]
		}
		runes++
	}
	return s
}

// join is "join SEP LIST".
func join(sep, list any) (string, error) {
	sp := toString(sep)
	switch x := list.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case []string:
		return joinStrings(x, sp)
	case []any:
		return joinAny(x, sp, maxResult)
	}
	switch reflect.ValueOf(list).Kind() {
	case reflect.Map:
		return "", nil
	case reflect.Slice, reflect.Array:
		return joinStrings(toStrings(list), sp)
	}
	return toString(list), nil
}

// joinStrings is strings.Join, refused when over maxResult.
func joinStrings(list []string, sep string) (string, error) {
	size := len(sep) * max(len(list)-1, 0)
	if len(sep) > 0 && len(list) > maxResult/len(sep) {
		size = maxResult + 1
	}
	for _, s := range list {
		if size += len(s); size > maxResult {
			return "", errTooBig("join", size)
		}
	}
	return strings.Join(list, sep), nil
}

// joinAny joins the elements as text, refused when over limit bytes.
func joinAny(list []any, sep string, limit int) (string, error) {
	switch len(list) {
	case 0:
		return "", nil
	case 1:
		return toString(list[0]), nil
	}
	if len(sep) > 0 && len(list) > limit/len(sep) {
		return "", errTooBig("join", len(list)*len(sep))
	}
	var b strings.Builder
	for i, v := range list {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(toString(v))
		if b.Len() > limit {
			return "", errTooBig("join", b.Len())
		}
	}
	return b.String(), nil
}

// title is "title S".
func title(v any) string {
	s := toString(v)
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	u := unicode.ToUpper(r)
	if u == r {
		return s
	}
	return string(u) + s[size:]
}

// maxResult bounds the text replace, regexReplace and indent may build:
// they are checked before they build it, so a payload cannot make one call
// allocate more than this (the output limit applies only to what is
// written, and a result can be assigned without being written).
const maxResult = 1 << 20

// errTooBig is what a function that would build more than maxResult
// returns.
func errTooBig(fn string, n int) error {
	return fmt.Errorf("%s would build %d bytes or more; the limit is %d", fn, n, maxResult)
}

// replace is "replace OLD NEW S".
func replace(old, new, s any) (string, error) {
	str, o := toString(s), toString(old)
	if o == "" {
		return str, nil
	}
	n := toString(new)
	if grow := len(n) - len(o); grow > 0 {
		if count := strings.Count(str, o); count > (maxResult-len(str))/grow {
			return "", errTooBig("replace", len(str)+min(count, maxResult)*grow)
		}
	}
	return strings.ReplaceAll(str, o, n), nil
}

// regexReplace is "regexReplace RE REPL S".
func regexReplace(pattern, repl, s any) (string, error) {
	re, err := regexps.get(toString(pattern))
	if err != nil {
		return "", err
	}
	str, r := toString(s), toString(repl)
	if len(r) > 0 {
		// Each match adds at most REPL, and each $ref in REPL at most
		// the text it refers to, which is within S.
		matches := len(re.FindAllStringIndex(str, maxResult/len(r)+1))
		bound := len(str) + matches*len(r) + strings.Count(r, "$")*len(str)
		if matches > maxResult/len(r) || bound > maxResult {
			return "", errTooBig("regexReplace", bound)
		}
	}
	return re.ReplaceAllString(str, r), nil
}

// regexCacheMax bounds the number of compiled patterns kept.
const regexCacheMax = 256

// regexCache keeps compiled regular expressions by pattern, so a template
// run does not recompile its patterns. When it grows past regexCacheMax
// it is emptied: templates use a handful of constant patterns, so a full
// cache means patterns are built from data and keeping them is no use.
type regexCache struct {
	m sync.Map // pattern -> *regexp.Regexp
	n atomic.Int64
}

var regexps regexCache

func (c *regexCache) get(pattern string) (*regexp.Regexp, error) {
	if re, ok := c.m.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	if c.n.Add(1) > regexCacheMax {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(pattern, re)
	return re, nil
}

// split is "split SEP S".
func split(sep, s any) []string {
	str := toString(s)
	if str == "" {
		return []string{}
	}
	return strings.Split(str, toString(sep))
}

const maxIndent = 100

var spaces = strings.Repeat(" ", maxIndent)

// indent is "indent N S". An N that is not a number leaves S unchanged.
func indent(n, s any) (string, error) {
	str := toString(s)
	k, ok := toInt(n)
	if !ok || k <= 0 || str == "" {
		return str, nil
	}
	pad := spaces[:min(k, maxIndent)]
	size := len(str) + len(pad)*(strings.Count(str, "\n")+1)
	if size > maxResult {
		return "", errTooBig("indent", size)
	}
	var b strings.Builder
	b.Grow(size)
	for str != "" {
		line := str
		if i := strings.IndexByte(str, '\n'); i >= 0 {
			line = str[:i+1]
		}
		if line != "\n" && line != "\r\n" {
			b.WriteString(pad)
		}
		b.WriteString(line)
		str = str[len(line):]
	}
	return b.String(), nil
}

// xmlEscape is the `xml` function: EscapeXML of the value as text.
func xmlEscape(v any) string { return EscapeXML(toString(v)) }

// silenceURL is "silenceURL EXTERNAL_URL LABELS [FALLBACK_LABELS]": the
// Alertmanager page that creates a silence matching the labels (the
// fallback when the first set is empty), or "" without an external URL.
// One call in Go, where building the matchers in the template took a
// printf per label.
func silenceURL(externalURL any, sets ...any) string {
	base := toString(externalURL)
	if base == "" {
		return ""
	}
	var labels map[string]string
	for _, set := range sets {
		switch m := set.(type) {
		case map[string]string:
			labels = m
		case map[string]any:
			labels = make(map[string]string, len(m))
			for k, v := range m {
				labels[k] = toString(v)
			}
		}
		if len(labels) > 0 {
			break
		}
	}
	const page = "/#/silences/new"
	if len(labels) == 0 {
		return base + page
	}
	// Sized so that the usual few labels need no allocation.
	keys := make([]string, 0, 16)
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	filter := make([]byte, 0, 256)
	filter = append(filter, '{')
	for i, k := range keys {
		if i > 0 {
			filter = append(filter, ',')
		}
		filter = append(filter, k...)
		filter = append(filter, '=')
		filter = strconv.AppendQuote(filter, labels[k])
	}
	filter = append(filter, '}')
	return base + page + "?filter=" + url.QueryEscape(string(filter))
}

// plural is "plural N ONE MANY".
func plural(n, one, many any) string {
	if i, f, isInt, ok := number(n); ok {
		if (isInt && i == 1) || (!isInt && f == 1) {
			return toString(one)
		}
		return toString(many)
	}
	if _, isString := n.(string); !isString && count(n) == 1 {
		return toString(one)
	}
	return toString(many)
}

// maxWidth bounds the width and precision a printf verb may ask for:
// fmt builds the whole padded text in memory before it writes it.
const maxWidth = 4096

// printfCapped is text/template's printf with its text bounded: no width
// or precision over maxWidth, none taken from an argument (*), and a result
// of at most maxResult (a loop that doubles a string stops there).
func printfCapped(f any, args ...any) (string, error) {
	format := toString(f)
	if err := checkVerbs(format); err != nil {
		return "", err
	}
	if n := argsLen(args) + len(format); n > maxResult {
		return "", errTooBig("printf", n)
	}
	out := fmt.Sprintf(format, args...)
	if len(out) > maxResult {
		return "", errTooBig("printf", len(out))
	}
	return out, nil
}

// printCapped is print or println with the same bound on the result.
func printCapped(name string, sprint func(...any) string, args []any) (string, error) {
	if n := argsLen(args); n > maxResult {
		return "", errTooBig(name, n)
	}
	out := sprint(args...)
	if len(out) > maxResult {
		return "", errTooBig(name, len(out))
	}
	return out, nil
}

// argsLen is the length of the text arguments (what a print copies at
// least).
func argsLen(args []any) int {
	n := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
		}
	}
	return n
}

// checkVerbs refuses a format whose verbs ask for more than maxWidth
// characters of padding or precision, or for a width from an argument.
func checkVerbs(format string) error {
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		if i < len(format) && format[i] == '%' {
			continue
		}
		for i < len(format) && strings.IndexByte("+-# 0", format[i]) >= 0 {
			i++
		}
		for part := 0; part < 2; part++ { // width, then .precision
			if i < len(format) && format[i] == '[' { // an argument index
				for i < len(format) && format[i] != ']' {
					i++
				}
				i++
			}
			if i < len(format) && format[i] == '*' {
				return fmt.Errorf("printf: a width or precision taken from an argument (*) is not allowed")
			}
			n := 0
			for i < len(format) && format[i] >= '0' && format[i] <= '9' {
				n = min(n*10+int(format[i]-'0'), maxWidth+1)
				i++
			}
			if n > maxWidth {
				return fmt.Errorf("printf: a width or precision over %d is not allowed", maxWidth)
			}
			if part == 0 && i < len(format) && format[i] == '.' {
				i++
				continue
			}
			break
		}
	}
	return nil
}
