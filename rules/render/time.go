package render

// The time functions: date, now, toTime, since, duration, humanizeDuration,
// in the ruleset's time zone.

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// clock holds the zone and clock the time functions use.
type clock struct {
	loc *time.Location
	now func() time.Time
}

// current is "now": the current time in loc.
func (c *clock) current() time.Time { return c.now().In(c.loc) }

// date is "date LAYOUT T".
func (c *clock) date(layout, v any) string {
	t, ok := parseTime(v)
	return c.format(layout, v, t, ok)
}

// format is date for a value v already read by parseTime as t, ok.
func (c *clock) format(layout, v any, t time.Time, ok bool) string {
	if !ok {
		return toString(v)
	}
	if t.IsZero() {
		return ""
	}
	l := toString(layout)
	if l == "" {
		l = time.RFC3339
	}
	return t.In(c.loc).Format(l)
}

// toTime is "toTime T".
func (c *clock) toTime(v any) time.Time {
	t, _ := parseTime(v)
	if t.IsZero() {
		return time.Time{}
	}
	return t.In(c.loc)
}

// since is "since T".
func (c *clock) since(v any) string {
	t, ok := parseTime(v)
	return c.elapsed(t, ok, time.Time{}, false)
}

// duration is "duration A B".
func (c *clock) duration(a, b any) string {
	ta, aOK := parseTime(a)
	tb, bOK := parseTime(b)
	return c.elapsed(ta, aOK, tb, bOK)
}

// elapsed is how long from start to end, humanized; to now when end is
// zero or not a time, "" when start is.
func (c *clock) elapsed(start time.Time, startOK bool, end time.Time, endOK bool) string {
	if !startOK || start.IsZero() {
		return ""
	}
	if !endOK || end.IsZero() {
		end = c.now()
	}
	return humanize(end.Sub(start))
}

// Unix seconds outside years 1 to 9999 are not taken for times.
const (
	minUnix = -62135596800
	maxUnix = 253402300799
)

// parseTime reads a time.Time, an RFC 3339 string (fractional seconds
// allowed) or unix seconds (a number or a numeric string). ok is false when
// v is none of these; Alertmanager's "0001-01-01T00:00:00Z" and unix 0 give
// the zero time with ok true.
func parseTime(v any) (t time.Time, ok bool) {
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
	i, f, isInt, ok := number(v)
	if !ok {
		return time.Time{}, false
	}
	if isInt {
		if i < minUnix || i > maxUnix {
			return time.Time{}, false
		}
		if i == 0 {
			return time.Time{}, true
		}
		return time.Unix(i, 0), true
	}
	if !(f >= minUnix && f <= maxUnix) { // also rejects NaN
		return time.Time{}, false
	}
	if f == 0 {
		return time.Time{}, true
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64((f-sec)*1e9)), true
}

// humanizeDuration is "humanizeDuration D". A string that is neither a Go
// duration nor a number is returned unchanged; other odd input gives its
// text, nil gives "".
func humanizeDuration(v any) string {
	switch x := v.(type) {
	case time.Duration:
		return humanize(x)
	case string:
		if d, err := time.ParseDuration(strings.TrimSpace(x)); err == nil {
			return humanize(d)
		}
	}
	i, f, isInt, ok := number(v)
	if !ok {
		return toString(v)
	}
	const maxSec = math.MaxInt64 / 1_000_000_000 // untyped: fits int64 and float64
	if isInt {
		return humanize(time.Duration(max(-maxSec, min(i, maxSec))) * time.Second)
	}
	if f != f {
		return ""
	}
	return humanize(time.Duration(max(-maxSec, min(f, maxSec)) * float64(time.Second)))
}

// humanize writes d as "45s", "3m20s", "2h5m" or "3d4h", truncating the
// unit it drops; under a second is "0s"; negative durations get a "-".
func humanize(d time.Duration) string {
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
		b = appendUnits(b, s, 's', 0, 0)
	case s < 3600:
		b = appendUnits(b, s/60, 'm', s%60, 's')
	case s < 86400:
		b = appendUnits(b, s/3600, 'h', s%3600/60, 'm')
	default:
		b = appendUnits(b, s/86400, 'd', s%86400/3600, 'h')
	}
	return string(b)
}

func appendUnits(b []byte, n int64, unit byte, rest int64, restUnit byte) []byte {
	b = strconv.AppendInt(b, n, 10)
	b = append(b, unit)
	if rest > 0 {
		b = strconv.AppendInt(b, rest, 10)
		b = append(b, restUnit)
	}
	return b
}
