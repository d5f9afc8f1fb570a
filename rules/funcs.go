package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"
)

// Funcs returns the functions message templates may call. Build it once per
// ruleset and share it: every function is safe for concurrent use, reads no
// environment, file or network, and has no side effect (the only shared state
// is a bounded cache of compiled regular expressions).
//
// loc is the time zone times are shown in (nil: UTC); now is the clock
// (nil: time.Now), injected so tests are deterministic.
//
// The functions never panic. A missing map key arrives as nil; input of an
// unexpected type degrades to something printable: formatting helpers give
// "" or the input as text, list helpers an empty list, lookups nil. Only
// toJson, toPrettyJson, regexReplace, add and sub return an error, which
// text/template reports as an execution error; and replace, regexReplace
// indent and join when their result would be over 1 MiB (checked before it is
// built: a payload cannot make them allocate gigabytes).
//
// Arguments are ordered so that the value being worked on comes last and
// can be piped: {{ .title | truncate 40 }}, {{ .x | default "n/a" }}.
//
// Functions returning any (default, coalesce, ternary, first, last, get)
// may return nil, which text/template prints as "<no value>": pipe such a
// result into default (or toString) before printing it.
//
// Time:
//
//	date LAYOUT T          T formatted with a Go layout in loc; T is a
//	                       time.Time, an RFC 3339 string or unix seconds;
//	                       a zero time (Alertmanager's "0001-01-01T00:00:00Z",
//	                       unix 0) gives ""; an unparsable T is returned as text.
//	now                    the current time in loc.
//	toTime T               T parsed into a time.Time in loc; zero on failure.
//	since T                time elapsed from T to now, humanised ("3m20s");
//	                       "" for a zero or unparsable T.
//	duration A B           time from A to B, humanised; a zero, missing or
//	                       unparsable B means now (a firing alert's endsAt).
//	humanizeDuration D     D (a time.Duration, a Go duration string, or
//	                       seconds) as "45s", "3m20s", "2h5m" or "3d4h":
//	                       units d, h, m, s, seconds dropped from an hour
//	                       up, minutes from a day up, zero parts omitted.
//
// Text (every argument is converted with toString first):
//
//	truncate N S           S cut to at most N runes, ending with "…" when
//	                       cut (the "…" counts within N).
//	truncateBytes N S      S cut to at most N UTF-8 bytes, never inside a
//	                       rune, ending with "…" when cut (N < 3: no "…").
//	join SEP LIST          the list's elements as text joined by SEP; a
//	                       scalar is returned as text; a map or nil gives "".
//	upper S, lower S       S in upper or lower case.
//	title S                S with its first letter in upper case, the rest
//	                       untouched ("hello WORLD" -> "Hello WORLD").
//	trim S                 S without leading and trailing white space.
//	replace OLD NEW S      every OLD in S replaced by NEW (OLD "": S).
//	regexReplace RE REPL S every match of RE in S replaced by REPL, which
//	                       may use $1 or ${name}; an invalid RE is an error.
//	contains SUB S         whether S contains SUB.
//	hasPrefix P S          whether S starts with P.
//	hasSuffix P S          whether S ends with P.
//	split SEP S            S split around SEP; an empty S gives an empty list.
//	indent N S             every non-empty line of S prefixed with N spaces
//	                       (N at most 100).
//	xml V                  V as text, escaped for XML (& < > " ') so it can
//	                       be put inside an <appmsg>; characters XML does
//	                       not allow become U+FFFD.
//	urlEncode V            V as text, escaped for a URL query (spaces as +).
//	shortSha V             the first 7 characters of V (a commit id).
//	plural N ONE MANY      ONE when N is 1 (a number or a list of one
//	                       element), otherwise MANY.
//
// Values:
//
//	default DEF V          V, or DEF when V is empty: nil, "", false, a
//	                       zero-length list or map, the zero time. Numbers
//	                       are never empty: 0 is printed, not defaulted.
//	coalesce A B ...       the first argument that is not empty, else nil.
//	ternary A B COND       A when COND is true, else B; COND is true as in
//	                       {{ if }} (false, 0, nil, "" and empty lists are
//	                       false).
//	toString V             V as text: integers in decimal, float64 without
//	                       an exponent (1234567, not 1.234567e+06), nil as
//	                       "", a time as RFC 3339, a list as its elements
//	                       joined by ", ", a map as JSON.
//	toJson V               V as compact JSON (<, > and & not escaped);
//	                       an unencodable V (NaN, a channel) is an error.
//	toPrettyJson V         V as JSON indented by two spaces.
//	count V                the number of elements of a list or map, or of
//	                       characters (runes) of a string; 0 for anything
//	                       else, nil included.
//	first LIST, last LIST  the first or last element; nil when empty or
//	                       not a list.
//	sortAlpha LIST         the elements as text, sorted; [] if not a list.
//	keys MAP               the keys of a map, sorted; [] if not a map.
//	get MAP KEY            MAP[KEY], nil when missing or MAP is not a map.
//	add A B, sub A B       A+B and A-B. Integers stay integers; a float
//	                       result with no fraction becomes an integer; nil
//	                       counts as 0, numeric strings are parsed, anything
//	                       else is an error.
//
// Alerts (Alertmanager alerts are maps with "status", "labels",
// "annotations", "startsAt", "endsAt"):
//
//	alertsByStatus S LIST  the alerts whose status is S (case-insensitive);
//	                       an empty list when LIST is not a list.
//	label NAME ALERT       ALERT.labels[NAME] as text, "" when missing.
//	annotation NAME ALERT  ALERT.annotations[NAME] as text, "" when missing.
//	silenceURL URL LABELS [FALLBACK]
//	                       the page of the Alertmanager at URL that creates
//	                       a silence matching LABELS (FALLBACK when LABELS
//	                       is empty); "" when URL is "".
//	alertInfo LAYOUT ALERT what a message shows of one alert, read in one
//	                       call (an AlertInfo): .Resolved, .Summary,
//	                       .Instance, .StartsAt, .EndsAt (as date LAYOUT
//	                       gives them) and .Duration (how long it lasted
//	                       or has been firing).
//	alertGroup DATA        what a message's header shows of a notification
//	                       (DATA is the template's data, .), read in one
//	                       call (an AlertGroup): .Total, .Firing, .Resolved,
//	                       .Alertname and .SilenceURL.
func Funcs(loc *time.Location, now func() time.Time) template.FuncMap {
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	c := &fnClock{loc: loc, now: now}
	return template.FuncMap{
		// Time.
		"date":             c.date,
		"now":              c.current,
		"toTime":           c.toTime,
		"since":            c.since,
		"duration":         c.duration,
		"humanizeDuration": fnHumanizeDuration,

		// Text.
		"truncate":      fnTruncate,
		"truncateBytes": fnTruncateBytes,
		"join":          fnJoin,
		"upper":         func(s any) string { return strings.ToUpper(fnToString(s)) },
		"lower":         func(s any) string { return strings.ToLower(fnToString(s)) },
		"title":         fnTitle,
		"trim":          func(s any) string { return strings.TrimSpace(fnToString(s)) },
		"replace":       fnReplace,
		"regexReplace":  fnRegexReplace,
		"contains":      func(sub, s any) bool { return strings.Contains(fnToString(s), fnToString(sub)) },
		"hasPrefix":     func(p, s any) bool { return strings.HasPrefix(fnToString(s), fnToString(p)) },
		"hasSuffix":     func(p, s any) bool { return strings.HasSuffix(fnToString(s), fnToString(p)) },
		"split":         fnSplit,
		"indent":        fnIndent,
		"xml":           fnXML,
		"urlEncode":     func(v any) string { return url.QueryEscape(fnToString(v)) },
		"silenceURL":    fnSilenceURL,
		"shortSha":      func(v any) string { return fnHead(strings.TrimSpace(fnToString(v)), 7) },
		"plural":        fnPlural,

		// Values.
		"default":      fnDefault,
		"coalesce":     fnCoalesce,
		"ternary":      fnTernary,
		"toString":     fnToString,
		"toJson":       func(v any) (string, error) { return fnJSON(v, false) },
		"toPrettyJson": func(v any) (string, error) { return fnJSON(v, true) },
		"count":        fnCount,
		"first":        func(list any) any { return fnEnd(list, false) },
		"last":         func(list any) any { return fnEnd(list, true) },
		"sortAlpha":    fnSortAlpha,
		"keys":         fnKeys,
		"get":          fnGet,
		"add":          func(a, b any) (any, error) { return fnArith(a, b, false) },
		"sub":          func(a, b any) (any, error) { return fnArith(a, b, true) },

		// Alerts.
		"alertsByStatus": fnAlertsByStatus,
		"label":          func(name, alert any) string { return fnNested(alert, "labels", name) },
		"annotation":     func(name, alert any) string { return fnNested(alert, "annotations", name) },
		"alertInfo":      c.alertInfo,
		"alertGroup":     fnAlertGroup,
	}
}

// --- Time ---------------------------------------------------------------

// fnClock holds the zone and clock the time functions use.
type fnClock struct {
	loc *time.Location
	now func() time.Time
}

// current is "now": the current time in loc.
func (c *fnClock) current() time.Time { return c.now().In(c.loc) }

// date is "date LAYOUT T".
func (c *fnClock) date(layout, v any) string {
	t, ok := fnParseTime(v)
	return c.format(layout, v, t, ok)
}

// format is date for a value v already read by fnParseTime as t, ok.
func (c *fnClock) format(layout, v any, t time.Time, ok bool) string {
	if !ok {
		return fnToString(v)
	}
	if t.IsZero() {
		return ""
	}
	l := fnToString(layout)
	if l == "" {
		l = time.RFC3339
	}
	return t.In(c.loc).Format(l)
}

// toTime is "toTime T".
func (c *fnClock) toTime(v any) time.Time {
	t, _ := fnParseTime(v)
	if t.IsZero() {
		return time.Time{}
	}
	return t.In(c.loc)
}

// since is "since T".
func (c *fnClock) since(v any) string {
	t, ok := fnParseTime(v)
	return c.elapsed(t, ok, time.Time{}, false)
}

// duration is "duration A B".
func (c *fnClock) duration(a, b any) string {
	ta, aOK := fnParseTime(a)
	tb, bOK := fnParseTime(b)
	return c.elapsed(ta, aOK, tb, bOK)
}

// elapsed is how long from start to end, humanized; to now when end is
// zero or not a time, "" when start is.
func (c *fnClock) elapsed(start time.Time, startOK bool, end time.Time, endOK bool) string {
	if !startOK || start.IsZero() {
		return ""
	}
	if !endOK || end.IsZero() {
		end = c.now()
	}
	return fnHumanize(end.Sub(start))
}

// Unix seconds outside years 1 to 9999 are not taken for times.
const (
	fnMinUnix = -62135596800
	fnMaxUnix = 253402300799
)

// fnParseTime reads a time.Time, an RFC 3339 string (fractional seconds
// allowed) or unix seconds (a number or a numeric string). ok is false when
// v is none of these; Alertmanager's "0001-01-01T00:00:00Z" and unix 0 give
// the zero time with ok true.
func fnParseTime(v any) (t time.Time, ok bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case *time.Time:
		if x == nil {
			return time.Time{}, false
		}
		return *x, true
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return time.Time{}, false
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, true
		}
	}
	i, f, isInt, ok := fnNumber(v)
	if !ok {
		return time.Time{}, false
	}
	if isInt {
		if i < fnMinUnix || i > fnMaxUnix {
			return time.Time{}, false
		}
		if i == 0 {
			return time.Time{}, true
		}
		return time.Unix(i, 0), true
	}
	if !(f >= fnMinUnix && f <= fnMaxUnix) { // also rejects NaN
		return time.Time{}, false
	}
	if f == 0 {
		return time.Time{}, true
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), true
}

// fnHumanizeDuration is "humanizeDuration D". A string that is neither a Go
// duration nor a number is returned unchanged; other odd input gives its
// text, nil gives "".
func fnHumanizeDuration(v any) string {
	switch x := v.(type) {
	case time.Duration:
		return fnHumanize(x)
	case string:
		if d, err := time.ParseDuration(strings.TrimSpace(x)); err == nil {
			return fnHumanize(d)
		}
	}
	i, f, isInt, ok := fnNumber(v)
	if !ok {
		return fnToString(v)
	}
	const maxSec = math.MaxInt64 / 1_000_000_000 // untyped: fits int64 and float64
	if isInt {
		return fnHumanize(time.Duration(max(-maxSec, min(i, maxSec))) * time.Second)
	}
	if f != f {
		return ""
	}
	return fnHumanize(time.Duration(max(-maxSec, min(f, maxSec)) * float64(time.Second)))
}

// fnHumanize writes d as "45s", "3m20s", "2h5m" or "3d4h", truncating the
// unit it drops; under a second is "0s"; negative durations get a "-".
func fnHumanize(d time.Duration) string {
	neg := d < 0
	if neg {
		if d == math.MinInt64 {
			d = math.MaxInt64
		} else {
			d = -d
		}
	}
	s := int64(d / time.Second)
	if s == 0 {
		return "0s"
	}
	var buf [32]byte
	b := buf[:0]
	if neg {
		b = append(b, '-')
	}
	switch {
	case s < 60:
		b = fnAppendUnits(b, s, 's', 0, 0)
	case s < 3600:
		b = fnAppendUnits(b, s/60, 'm', s%60, 's')
	case s < 86400:
		b = fnAppendUnits(b, s/3600, 'h', s%3600/60, 'm')
	default:
		b = fnAppendUnits(b, s/86400, 'd', s%86400/3600, 'h')
	}
	return string(b)
}

func fnAppendUnits(b []byte, n int64, unit byte, rest int64, restUnit byte) []byte {
	b = strconv.AppendInt(b, n, 10)
	b = append(b, unit)
	if rest > 0 {
		b = strconv.AppendInt(b, rest, 10)
		b = append(b, restUnit)
	}
	return b
}

// --- Text ---------------------------------------------------------------

const fnEllipsis = "…"

// fnTruncate is "truncate N S". An N that is not a number leaves S whole;
// N <= 0 gives "".
func fnTruncate(n, s any) string {
	str := fnToString(s)
	limit, ok := fnToInt(n)
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
			return str[:cut] + fnEllipsis
		}
		runes++
	}
	return str
}

// fnTruncateBytes is "truncateBytes N S". An N that is not a number leaves
// S whole; N <= 0 gives "". With N < 3 the "…" does not fit and is left out.
func fnTruncateBytes(n, s any) string {
	str := fnToString(s)
	limit, ok := fnToInt(n)
	if !ok || len(str) <= limit {
		return str
	}
	if limit <= 0 {
		return ""
	}
	cut, suffix := limit-len(fnEllipsis), fnEllipsis
	if cut < 0 {
		cut, suffix = limit, ""
	}
	for cut > 0 && !utf8.RuneStart(str[cut]) {
		cut--
	}
	return str[:cut] + suffix
}

// fnHead returns the first n runes of s, without an ellipsis.
func fnHead(s string, n int) string {
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

// fnJoin is "join SEP LIST".
func fnJoin(sep, list any) (string, error) {
	sp := fnToString(sep)
	switch x := list.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case []string:
		return fnJoinStrings(x, sp)
	case []any:
		return fnJoinAny(x, sp, fnMaxResult)
	}
	switch reflect.ValueOf(list).Kind() {
	case reflect.Map:
		return "", nil
	case reflect.Slice, reflect.Array:
		return fnJoinStrings(fnStrings(list), sp)
	}
	return fnToString(list), nil
}

// fnJoinStrings is strings.Join, refused when over fnMaxResult.
func fnJoinStrings(list []string, sep string) (string, error) {
	size := len(sep) * max(len(list)-1, 0)
	if len(sep) > 0 && len(list) > fnMaxResult/len(sep) {
		size = fnMaxResult + 1
	}
	for _, s := range list {
		if size += len(s); size > fnMaxResult {
			return "", errTooBig("join", size)
		}
	}
	return strings.Join(list, sep), nil
}

// fnJoinAny joins the elements as text, refused when over limit bytes.
func fnJoinAny(list []any, sep string, limit int) (string, error) {
	switch len(list) {
	case 0:
		return "", nil
	case 1:
		return fnToString(list[0]), nil
	}
	if len(sep) > 0 && len(list) > limit/len(sep) {
		return "", errTooBig("join", len(list)*len(sep))
	}
	var b strings.Builder
	for i, v := range list {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(fnToString(v))
		if b.Len() > limit {
			return "", errTooBig("join", b.Len())
		}
	}
	return b.String(), nil
}

// fnTitle is "title S".
func fnTitle(v any) string {
	s := fnToString(v)
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

// fnMaxResult bounds the text replace, regexReplace and indent may build:
// they are checked before they build it, so a payload cannot make one call
// allocate more than this (the output limit applies only to what is
// written, and a result can be assigned without being written).
const fnMaxResult = 1 << 20

// errTooBig is what a function that would build more than fnMaxResult
// returns.
func errTooBig(fn string, n int) error {
	return fmt.Errorf("%s would build %d bytes or more; the limit is %d", fn, n, fnMaxResult)
}

// fnReplace is "replace OLD NEW S".
func fnReplace(old, new, s any) (string, error) {
	str, o := fnToString(s), fnToString(old)
	if o == "" {
		return str, nil
	}
	n := fnToString(new)
	if grow := len(n) - len(o); grow > 0 {
		if count := strings.Count(str, o); count > (fnMaxResult-len(str))/grow {
			return "", errTooBig("replace", len(str)+min(count, fnMaxResult)*grow)
		}
	}
	return strings.ReplaceAll(str, o, n), nil
}

// fnRegexReplace is "regexReplace RE REPL S".
func fnRegexReplace(pattern, repl, s any) (string, error) {
	re, err := fnRegexps.get(fnToString(pattern))
	if err != nil {
		return "", err
	}
	str, r := fnToString(s), fnToString(repl)
	if len(r) > 0 {
		// Each match adds at most REPL, and each $ref in REPL at most
		// the text it refers to, which is within S.
		matches := len(re.FindAllStringIndex(str, fnMaxResult/len(r)+1))
		bound := len(str) + matches*len(r) + strings.Count(r, "$")*len(str)
		if matches > fnMaxResult/len(r) || bound > fnMaxResult {
			return "", errTooBig("regexReplace", bound)
		}
	}
	return re.ReplaceAllString(str, r), nil
}

// fnRegexCacheMax bounds the number of compiled patterns kept.
const fnRegexCacheMax = 256

// fnRegexCache keeps compiled regular expressions by pattern, so a template
// run does not recompile its patterns. When it grows past fnRegexCacheMax
// it is emptied: templates use a handful of constant patterns, so a full
// cache means patterns are built from data and keeping them is no use.
type fnRegexCache struct {
	m sync.Map // pattern -> *regexp.Regexp
	n atomic.Int64
}

var fnRegexps fnRegexCache

func (c *fnRegexCache) get(pattern string) (*regexp.Regexp, error) {
	if re, ok := c.m.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	if c.n.Add(1) > fnRegexCacheMax {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(pattern, re)
	return re, nil
}

// fnSplit is "split SEP S".
func fnSplit(sep, s any) []string {
	str := fnToString(s)
	if str == "" {
		return []string{}
	}
	return strings.Split(str, fnToString(sep))
}

const fnMaxIndent = 100

var fnSpaces = strings.Repeat(" ", fnMaxIndent)

// fnIndent is "indent N S". An N that is not a number leaves S unchanged.
func fnIndent(n, s any) (string, error) {
	str := fnToString(s)
	k, ok := fnToInt(n)
	if !ok || k <= 0 || str == "" {
		return str, nil
	}
	pad := fnSpaces[:min(k, fnMaxIndent)]
	size := len(str) + len(pad)*(strings.Count(str, "\n")+1)
	if size > fnMaxResult {
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

// fnXML is the `xml` function: EscapeXML of the value as text.
func fnXML(v any) string { return EscapeXML(fnToString(v)) }

// fnSilenceURL is "silenceURL EXTERNAL_URL LABELS [FALLBACK_LABELS]": the
// Alertmanager page that creates a silence matching the labels (the
// fallback when the first set is empty), or "" without an external URL.
// One call in Go, where building the matchers in the template took a
// printf per label.
func fnSilenceURL(externalURL any, sets ...any) string {
	base := fnToString(externalURL)
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
				labels[k] = fnToString(v)
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

// fnPlural is "plural N ONE MANY".
func fnPlural(n, one, many any) string {
	if i, f, isInt, ok := fnNumber(n); ok {
		if (isInt && i == 1) || (!isInt && f == 1) {
			return fnToString(one)
		}
		return fnToString(many)
	}
	if _, isString := n.(string); !isString && fnCount(n) == 1 {
		return fnToString(one)
	}
	return fnToString(many)
}

// --- Values -------------------------------------------------------------

// fnDefault is "default DEF V".
func fnDefault(def, v any) any {
	if fnEmpty(v) {
		return def
	}
	return v
}

// fnCoalesce is "coalesce A B ...".
func fnCoalesce(vals ...any) any {
	for _, v := range vals {
		if !fnEmpty(v) {
			return v
		}
	}
	return nil
}

// fnTernary is "ternary A B COND".
func fnTernary(a, b, cond any) any {
	if fnTruth(cond) {
		return a
	}
	return b
}

// fnEmpty reports whether v is empty for default and coalesce: nil, "",
// false, a zero-length list or map, a nil pointer, the zero time. Numbers,
// zero included, are not empty.
func fnEmpty(v any) bool {
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

// fnTruth is the truth of {{ if }}: false, 0, nil, "" and empty lists and
// maps are false.
func fnTruth(v any) bool {
	if b, ok := v.(bool); ok {
		return b
	}
	t, _ := template.IsTrue(v)
	return t
}

// fnToString is "toString V": it never fails and does not allocate for
// strings.
func fnToString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return fnFormatFloat(x, 64)
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
		s, _ := fnJoinAny(x, ", ", math.MaxInt)
		return s
	case []string:
		return strings.Join(x, ", ")
	case map[string]any:
		return fnMapString(x, len(x))
	case map[string]string:
		return fnMapString(x, len(x))
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
		return fnFormatFloat(float64(x), 32)
	case error:
		if fnNilPointer(v) {
			return ""
		}
		return x.Error()
	case fmt.Stringer:
		if fnNilPointer(v) {
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
		return fnToString(rv.Elem().Interface())
	case reflect.String:
		return rv.String()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(rv.Uint(), 10)
	case reflect.Float32, reflect.Float64:
		return fnFormatFloat(rv.Float(), rv.Type().Bits())
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool())
	case reflect.Slice, reflect.Array:
		return strings.Join(fnStrings(v), ", ")
	case reflect.Map:
		return fnMapString(v, rv.Len())
	}
	return fmt.Sprint(v)
}

// fnFormatFloat prints integral values up to 1e15 as integers and others
// in the shortest decimal form without an exponent.
func fnFormatFloat(f float64, bits int) string {
	if f == math.Trunc(f) && math.Abs(f) <= 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, bits)
}

// fnMapString prints a map as JSON, an empty map as "".
func fnMapString(m any, n int) string {
	if n == 0 {
		return ""
	}
	if s, err := fnJSON(m, false); err == nil {
		return s
	}
	return fmt.Sprint(m)
}

func fnNilPointer(v any) bool {
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// fnJSON encodes v as JSON without HTML escaping, compact or indented.
func fnJSON(v any, pretty bool) (string, error) {
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

// fnCount is "count V".
func fnCount(v any) int {
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

// fnEnd is "first LIST" (last false) and "last LIST".
func fnEnd(list any, last bool) any {
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

// fnStrings returns a new slice with the elements of a list as text; an
// empty slice when v is not a list.
func fnStrings(v any) []string {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = fnToString(e)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
		return []string{}
	}
	out := make([]string, rv.Len())
	for i := range out {
		out[i] = fnToString(rv.Index(i).Interface())
	}
	return out
}

// fnSortAlpha is "sortAlpha LIST".
func fnSortAlpha(list any) []string {
	out := fnStrings(list)
	slices.Sort(out)
	return out
}

// fnKeys is "keys MAP".
func fnKeys(m any) []string {
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
			out = append(out, fnToString(it.Key().Interface()))
		}
	}
	slices.Sort(out)
	return out
}

// fnGet is "get MAP KEY".
func fnGet(m, key any) any {
	v, _ := fnLookup(m, fnToString(key))
	return v
}

// fnLookup returns m[key] for a map with string keys.
func fnLookup(m any, key string) (any, bool) {
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

// fnNumber reads an integer, a float, a json.Number or a numeric string.
// isInt tells whether the value is in i (true) or f (false).
func fnNumber(v any) (i int64, f float64, isInt, ok bool) {
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
		return fnParseNumber(string(x))
	case string:
		return fnParseNumber(strings.TrimSpace(x))
	}
	return 0, 0, false, false
}

func fnParseNumber(s string) (i int64, f float64, isInt, ok bool) {
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

// fnToInt reads a count: numbers are truncated and clamped to int.
func fnToInt(v any) (int, bool) {
	i, f, isInt, ok := fnNumber(v)
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

// fnArith is "add A B" (minus false) and "sub A B".
func fnArith(a, b any, minus bool) (any, error) {
	ai, af, aInt, err := fnOperand(a)
	if err != nil {
		return nil, err
	}
	bi, bf, bInt, err := fnOperand(b)
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

func fnOperand(v any) (i int64, f float64, isInt bool, err error) {
	if v == nil {
		return 0, 0, true, nil
	}
	i, f, isInt, ok := fnNumber(v)
	if !ok {
		return 0, 0, false, fmt.Errorf("not a number: %q", fnToString(v))
	}
	return i, f, isInt, nil
}

// --- Alerts -------------------------------------------------------------

// fnAlertsByStatus is "alertsByStatus S LIST".
func fnAlertsByStatus(status, alerts any) []any {
	want := fnToString(status)
	out := []any{}
	for a := range fnElements(alerts) {
		if fnHasStatus(a, want) {
			out = append(out, a)
		}
	}
	return out
}

// fnHasStatus reports whether alert.status is status, case-insensitively.
func fnHasStatus(alert any, status string) bool {
	s, _ := fnLookup(alert, "status")
	return strings.EqualFold(fnToString(s), status)
}

// fnElements yields the elements of a list, nothing when v is not a list.
func fnElements(v any) iter.Seq[any] {
	return func(yield func(any) bool) {
		switch x := v.(type) {
		case nil:
		case []any:
			for _, e := range x {
				if !yield(e) {
					return
				}
			}
		case []map[string]any:
			for _, e := range x {
				if !yield(e) {
					return
				}
			}
		default:
			rv := reflect.ValueOf(v)
			if k := rv.Kind(); k != reflect.Slice && k != reflect.Array {
				return
			}
			for i := range rv.Len() {
				if !yield(rv.Index(i).Interface()) {
					return
				}
			}
		}
	}
}

// AlertInfo is what "alertInfo LAYOUT ALERT" returns: what a message shows
// of one Alertmanager alert, read in one call. Function calls are most of
// what a template costs to run: one per alert instead of one per field
// nearly halves the cost of each alert.
type AlertInfo struct {
	// Resolved is whether status is "resolved" (exactly: the test
	// {{ eq .status "resolved" }} makes).
	Resolved bool
	// Summary is the first of annotations.summary, annotations.description
	// and labels.alertname that is not empty as {{ if }} sees it, as
	// found (not converted to text); nil when none is.
	Summary any
	// Instance is labels.instance as found, nil when missing.
	Instance any
	// StartsAt is startsAt as date LAYOUT gives it: "" for a zero or
	// missing time, the value as text when it is not a time.
	StartsAt string
	// Duration is, for a resolved alert, duration startsAt endsAt (how
	// long it lasted); for any other, since startsAt (how long it has
	// been firing). "" when startsAt is zero, missing or not a time.
	Duration string
	// EndsAt is endsAt as date LAYOUT gives it.
	EndsAt string
}

// alertInfo is "alertInfo LAYOUT ALERT".
func (c *fnClock) alertInfo(layout, alert any) AlertInfo {
	status, _ := fnLookup(alert, "status")
	labels, _ := fnLookup(alert, "labels")
	annotations, _ := fnLookup(alert, "annotations")
	info := AlertInfo{
		Resolved: status == "resolved",
		Instance: fnGet(labels, "instance"),
	}
	for _, v := range []any{fnGet(annotations, "summary"), fnGet(annotations, "description"), fnGet(labels, "alertname")} {
		if fnTruth(v) {
			info.Summary = v
			break
		}
	}

	// Each time is parsed once, where date, since and duration would
	// parse startsAt three times.
	startsAt, _ := fnLookup(alert, "startsAt")
	endsAt, _ := fnLookup(alert, "endsAt")
	start, startOK := fnParseTime(startsAt)
	end, endOK := fnParseTime(endsAt)
	info.StartsAt = c.format(layout, startsAt, start, startOK)
	info.EndsAt = c.format(layout, endsAt, end, endOK)
	if !info.Resolved {
		endOK = false // still firing: how long until now
	}
	info.Duration = c.elapsed(start, startOK, end, endOK)
	return info
}

// AlertGroup is what "alertGroup DATA" returns: what a message's header
// shows of an Alertmanager notification, DATA being the template's data
// (the keys alerts, group_labels, labels and external_url are read).
type AlertGroup struct {
	// Total is the number of alerts, Resolved the number of those
	// alertsByStatus "resolved" gives (case-insensitive), Firing the
	// others.
	Total, Firing, Resolved int
	// Alertname is group_labels.alertname, else labels.alertname (the
	// common labels), else the first alert's label alertname, as text;
	// "" when none is set.
	Alertname string
	// SilenceURL is silenceURL external_url group_labels labels.
	SilenceURL string
}

// fnAlertGroup is "alertGroup DATA".
func fnAlertGroup(data any) AlertGroup {
	alerts, _ := fnLookup(data, "alerts")
	groupLabels, _ := fnLookup(data, "group_labels")
	labels, _ := fnLookup(data, "labels")
	externalURL, _ := fnLookup(data, "external_url")

	var g AlertGroup
	for a := range fnElements(alerts) {
		g.Total++
		if fnHasStatus(a, "resolved") {
			g.Resolved++
		}
	}
	g.Firing = g.Total - g.Resolved
	g.Alertname = fnToString(fnGet(groupLabels, "alertname"))
	if g.Alertname == "" {
		g.Alertname = fnToString(fnGet(labels, "alertname"))
	}
	if g.Alertname == "" {
		g.Alertname = fnNested(fnEnd(alerts, false), "labels", "alertname")
	}
	g.SilenceURL = fnSilenceURL(externalURL, groupLabels, labels)
	return g
}

// fnNested is "label NAME ALERT" (field "labels") and "annotation".
func fnNested(m any, field string, name any) string {
	inner, _ := fnLookup(m, field)
	v, _ := fnLookup(inner, fnToString(name))
	return fnToString(v)
}
