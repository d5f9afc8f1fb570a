package config

// On-call schedules and quiet hours: their types, the parsing of their
// times, periods and windows, and their checks. Which contact is on call
// at a time is package rules/oncall's.

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a rotation of contacts, handed off every period from start
// (a wall-clock time in the config's timezone), with dated overrides.
// Rules name it as oncall:<name> in to and at; templates as
// {{ oncall "<name>" }}.
type Schedule struct {
	Rotation  []string   `yaml:"rotation"`
	Start     string     `yaml:"start"`  // the first handoff: 2026-11-30T10:00:00
	Period    string     `yaml:"period"` // daily, weekly, 1w, 2w, 3d, 12h
	Overrides []Override `yaml:"overrides"`
}

// Override puts contact on call from from until to, whatever the rotation.
type Override struct {
	From    string `yaml:"from"`
	To      string `yaml:"to"`
	Contact string `yaml:"contact"`
}

// OnCallPrefix marks a schedule in to and at: oncall:primary.
const OnCallPrefix = "oncall:"

// ScheduleName returns the schedule a name in to or at refers to
// (oncall:primary -> primary).
func ScheduleName(s string) (string, bool) {
	return strings.CutPrefix(s, OnCallPrefix)
}

// Quiet is a time window in which a rule's or a contact's messages are not
// sent: held until the window ends (hold), or sent to others (reroute);
// those for which bypass_when is true go out at once.
type Quiet struct {
	Hours      string   `yaml:"hours"` // "22:00-08:00" (HH:MM or HH:MM:SS); empty: all day
	Days       []string `yaml:"days"`  // mon ... sun: the days a window starts on; empty: every day
	Hold       bool     `yaml:"hold"`
	Reroute    []string `yaml:"reroute"`
	BypassWhen string   `yaml:"bypass_when"` // an expression
}

// Window is a parsed quiet window: seconds from midnight, and the days it
// starts on (Sunday = 0; all false: every day).
type Window struct {
	Start, End int
	Days       [7]bool
}

// ParseWindow reads a Quiet's hours and days.
func ParseWindow(q *Quiet) (Window, error) {
	w := Window{Start: 0, End: 24 * 3600}
	if h := strings.TrimSpace(q.Hours); h != "" {
		a, b, ok := strings.Cut(h, "-")
		if !ok {
			return w, fmt.Errorf("hours %q must be HH:MM-HH:MM, e.g. 22:00-08:00", q.Hours)
		}
		var err error
		if w.Start, err = clockSeconds(a); err != nil {
			return w, err
		}
		if w.End, err = clockSeconds(b); err != nil {
			return w, err
		}
		if w.Start == w.End {
			return w, fmt.Errorf("hours %q is an empty window", q.Hours)
		}
	}
	for _, d := range q.Days {
		n, ok := weekdays[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			return w, fmt.Errorf("unknown day %q (use mon, tue, wed, thu, fri, sat, sun)", d)
		}
		w.Days[n] = true
	}
	return w, nil
}

var weekdays = map[string]int{
	"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
	"sunday": 0, "monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6,
}

// clockSeconds reads "HH:MM" or "HH:MM:SS" (00:00 to 24:00).
func clockSeconds(s string) (int, error) {
	s = strings.TrimSpace(s)
	parts := strings.Split(s, ":")
	bad := fmt.Errorf("%q is not a time of day (HH:MM)", s)
	if len(parts) < 2 || len(parts) > 3 {
		return 0, bad
	}
	n := 0
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || i > 0 && v > 59 {
			return 0, bad
		}
		n = n*60 + v
	}
	if len(parts) == 2 {
		n *= 60
	}
	if n > 24*3600 {
		return 0, bad
	}
	return n, nil
}

// Period is a schedule's period: a number of calendar days (handoffs at
// the same wall-clock time, across daylight saving changes), or a fixed
// duration under a day.
type Period struct {
	Days  int
	Every time.Duration
}

func (p Period) String() string {
	switch {
	case p.Days == 1:
		return "daily"
	case p.Days == 7:
		return "weekly"
	case p.Days%7 == 0 && p.Days > 0:
		return fmt.Sprintf("%dw", p.Days/7)
	case p.Days > 0:
		return fmt.Sprintf("%dd", p.Days)
	}
	return p.Every.String()
}

// ParsePeriod reads daily, weekly, 2w, 3d or a Go duration (12h). A
// duration of whole days counts in calendar days.
func ParsePeriod(s string) (Period, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "daily":
		return Period{Days: 1}, nil
	case "weekly":
		return Period{Days: 7}, nil
	case "":
		return Period{}, fmt.Errorf("is required: daily, weekly, 2w, 3d or a duration like 12h")
	}
	if n, ok := strings.CutSuffix(s, "w"); ok {
		if w, err := strconv.Atoi(n); err == nil && w > 0 {
			return Period{Days: 7 * w}, nil
		}
	}
	d, err := ParseDuration(s)
	switch {
	case err != nil:
		return Period{}, fmt.Errorf("%q is not a period: daily, weekly, 2w, 3d or a duration like 12h", s)
	case d < time.Minute:
		return Period{}, fmt.Errorf("%q is too short: at least 1m", s)
	case d%(24*time.Hour) == 0:
		return Period{Days: int(d / (24 * time.Hour))}, nil
	}
	return Period{Every: d}, nil
}

// localLayouts are the wall-clock forms a schedule's times are written in.
var localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

// ParseTime reads a time written in the config or on the command line: RFC
// 3339 (2026-12-05T03:00:00+08:00), or a wall-clock time in loc
// (2026-11-30T10:00:00, 2026-11-30 10:00, 2026-11-30).
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.In(loc), nil
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: write 2026-11-30T10:00:00 (in timezone) or 2026-11-30T10:00:00+08:00", s)
}

// Location is the config's time zone (UTC when it is unknown, which Parse
// reports).
func (c *Config) Location() *time.Location {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// At evaluates rules, templates, schedules and quiet hours as if it were t
// (gewe-bridge test --at): now() in expressions and templates is t.
func At(t time.Time) LoadOption {
	return func(c *Config) { c.Clock = func() time.Time { return t } }
}

// Now is the time the rules see: the clock At set, else the current time.
func (c *Config) Now() time.Time {
	if c.Clock != nil {
		return c.Clock()
	}
	return time.Now()
}

// checkSchedules reports schedules that name unknown contacts or have a
// bad start, period or override.
func (p *loader) checkSchedules(c *Config) {
	loc := c.Location()
	for _, name := range sortedKeys(c.Schedules) {
		s := c.Schedules[name]
		path := "schedules[" + name + "]"
		if !sourceName.MatchString(name) {
			p.add(p.at(path+"#key"), path, "schedule name %q must be letters, digits, '-', '_' or '.'", name)
		}
		if len(s.Rotation) == 0 {
			p.add(p.at(path), path+".rotation", "is empty: list the contacts who take turns, e.g. [alice, bob]")
		}
		for i, ct := range s.Rotation {
			ep := fmt.Sprintf("%s.rotation[%d]", path, i)
			if _, ok := c.Contacts[ct]; !ok {
				p.add(p.at(ep), ep, "unknown contact %q: a rotation names contacts", ct)
			}
		}
		if _, err := ParseTime(s.Start, loc); s.Start == "" {
			p.add(p.at(path), path+".start", "is required: the first handoff, e.g. 2026-11-30T10:00:00 (in timezone %s)", c.Timezone)
		} else if err != nil {
			p.add(p.at(path+".start"), path+".start", "%v", err)
		}
		if _, err := ParsePeriod(s.Period); err != nil {
			p.add(p.at(path+".period"), path+".period", "%v", err)
		}
		for i, o := range s.Overrides {
			op := fmt.Sprintf("%s.overrides[%d]", path, i)
			from, errFrom := ParseTime(o.From, loc)
			to, errTo := ParseTime(o.To, loc)
			if errFrom != nil {
				p.add(p.at(op+".from"), op+".from", "%v", errFrom)
			}
			if errTo != nil {
				p.add(p.at(op+".to"), op+".to", "%v", errTo)
			}
			if errFrom == nil && errTo == nil && !to.After(from) {
				p.add(p.at(op+".to"), op+".to", "must be after from")
			}
			if _, ok := c.Contacts[o.Contact]; !ok {
				p.add(p.at(op+".contact"), op+".contact", "unknown contact %q", o.Contact)
			}
		}
	}
}

// checkOnCallName checks a name in a rule's to or at (path) that starts
// with oncall:, and reports whether it does.
func (p *loader) checkOnCallName(c *Config, path, name string) bool {
	s, ok := ScheduleName(name)
	if !ok {
		return false
	}
	if _, known := c.Schedules[s]; !known {
		p.add(p.at(path), path, "unknown schedule %q%s", s, knownNames(c.Schedules))
	}
	return true
}

// checkQuiet checks a rule's or a contact's quiet hours at path.
func (p *loader) checkQuiet(c *Config, path string, q *Quiet) {
	if q == nil {
		return
	}
	if _, err := ParseWindow(&Quiet{Hours: q.Hours}); err != nil {
		p.add(p.at(path+".hours"), path+".hours", "%v", err)
	}
	if _, err := ParseWindow(&Quiet{Days: q.Days}); err != nil {
		p.add(p.at(path+".days"), path+".days", "%v", err)
	}
	switch {
	case q.Hold && len(q.Reroute) > 0:
		p.add(p.at(path), path, "set hold: true or reroute, not both")
	case !q.Hold && len(q.Reroute) == 0:
		p.add(p.at(path), path, "says nothing of what to do in the window: set hold: true (deliver when it ends) or reroute: [contact]")
	}
	if q.Hold {
		// A held message's age counts from when it was accepted, and
		// delivery.max_age ends a message on its next failed send.
		if w, err := ParseWindow(q); err == nil {
			longest := time.Duration(w.End-w.Start) * time.Second
			if w.End <= w.Start {
				longest += 24 * time.Hour // overnight
			}
			if strings.TrimSpace(q.Hours) == "" {
				// All day on the days listed: days in a row are one window.
				longest = time.Duration(longestRun(w.Days)) * 24 * time.Hour
			}
			if max := c.Delivery.MaxAge.D(); max > 0 && longest >= max {
				p.warn(p.at(path+".hold"), path+".hold", "a message may be held up to %s, longer than delivery.max_age (%s), which counts from when it was accepted: a held message whose first send fails is then given up; raise delivery.max_age", longest, max)
			}
		}
	}
	for i, r := range q.Reroute {
		ep := fmt.Sprintf("%s.reroute[%d]", path, i)
		if p.checkOnCallName(c, ep, r) {
			continue
		}
		if _, ok := c.Contacts[r]; !ok && !IsRawID(r) {
			p.add(p.at(ep), ep, "unknown contact %q", r)
		}
	}
}

func knownNames[V any](m map[string]V) string {
	if len(m) == 0 {
		return " (no schedules are defined)"
	}
	return fmt.Sprintf(" (defined: %s)", strings.Join(sortedKeys(m), ", "))
}

// On reports whether a window starts on day d.
func (w Window) On(d time.Weekday) bool {
	return w.Days == [7]bool{} || w.Days[d]
}

// longestRun is the most days in a row (the week wrapping round) a
// window's days cover; every day when none is listed.
func longestRun(days [7]bool) int {
	any := false
	for _, d := range days {
		any = any || d
	}
	if !any {
		return 7
	}
	best, run := 0, 0
	for i := 0; i < 14; i++ {
		if days[i%7] {
			run++
			best = max(best, min(run, 7))
		} else {
			run = 0
		}
	}
	return best
}
