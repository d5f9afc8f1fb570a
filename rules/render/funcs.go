package render

import (
	"fmt"
	"net/url"
	"strings"
	"text/template"
	"time"
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
	c := &clock{loc: loc, now: now}
	return template.FuncMap{
		// Time.
		"date":             c.date,
		"now":              c.current,
		"toTime":           c.toTime,
		"since":            c.since,
		"duration":         c.duration,
		"humanizeDuration": humanizeDuration,

		// Text.
		"truncate":      truncate,
		"truncateBytes": truncateBytes,
		"join":          join,
		"upper":         func(s any) string { return strings.ToUpper(toString(s)) },
		"lower":         func(s any) string { return strings.ToLower(toString(s)) },
		"title":         title,
		"trim":          func(s any) string { return strings.TrimSpace(toString(s)) },
		"replace":       replace,
		"regexReplace":  regexReplace,
		"contains":      func(sub, s any) bool { return strings.Contains(toString(s), toString(sub)) },
		"hasPrefix":     func(p, s any) bool { return strings.HasPrefix(toString(s), toString(p)) },
		"hasSuffix":     func(p, s any) bool { return strings.HasSuffix(toString(s), toString(p)) },
		"split":         split,
		"indent":        indent,
		"xml":           xmlEscape,
		"urlEncode":     func(v any) string { return url.QueryEscape(toString(v)) },
		"silenceURL":    silenceURL,
		"shortSha":      func(v any) string { return head(strings.TrimSpace(toString(v)), 7) },
		"plural":        plural,
		"printf":        printfCapped,
		"print":         func(args ...any) (string, error) { return printCapped("print", fmt.Sprint, args) },
		"println":       func(args ...any) (string, error) { return printCapped("println", fmt.Sprintln, args) },

		// Values.
		"default":      defaultTo,
		"coalesce":     coalesce,
		"ternary":      ternary,
		"toString":     toString,
		"toJson":       func(v any) (string, error) { return toJSON(v, false) },
		"toPrettyJson": func(v any) (string, error) { return toJSON(v, true) },
		"count":        count,
		"first":        func(list any) any { return end(list, false) },
		"last":         func(list any) any { return end(list, true) },
		"sortAlpha":    sortAlpha,
		"keys":         keys,
		"get":          get,
		"add":          func(a, b any) (any, error) { return arith(a, b, false) },
		"sub":          func(a, b any) (any, error) { return arith(a, b, true) },

		// Alerts.
		"alertsByStatus": alertsByStatus,
		"label":          func(name, alert any) string { return nested(alert, "labels", name) },
		"annotation":     func(name, alert any) string { return nested(alert, "annotations", name) },
		"alertInfo":      c.alertInfo,
		"alertGroup":     alertGroup,
	}
}
