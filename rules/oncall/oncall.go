// Package oncall says who is on call: a schedule's rotation of contacts,
// handed off at a wall-clock time every period, with dated overrides
// (OnCall), and the shifts ahead (Shifts). Everything is a pure function
// of the schedule and the time asked about.
package oncall

import (
	"fmt"
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// Schedule is a compiled config.Schedule.
type Schedule struct {
	Name      string
	Rotation  []string  // contact names, in turn
	Start     time.Time // the first handoff, in the schedule's zone
	Period    config.Period
	Overrides []Override
}

// Override puts Contact on call in [From, To).
type Override struct {
	From, To time.Time
	Contact  string
}

// New compiles the schedule name of the config, its times read in loc. The
// errors are the ones config.Parse reports already, at their place.
func New(name string, s config.Schedule, loc *time.Location) (*Schedule, error) {
	if len(s.Rotation) == 0 {
		return nil, fmt.Errorf("schedule %s: the rotation is empty", name)
	}
	start, err := config.ParseTime(s.Start, loc)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: start: %w", name, err)
	}
	p, err := config.ParsePeriod(s.Period)
	if err != nil {
		return nil, fmt.Errorf("schedule %s: period: %w", name, err)
	}
	out := &Schedule{Name: name, Rotation: s.Rotation, Start: start, Period: p}
	for _, o := range s.Overrides {
		from, err1 := config.ParseTime(o.From, loc)
		to, err2 := config.ParseTime(o.To, loc)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("schedule %s: an override's from or to is not a time", name)
		}
		out.Overrides = append(out.Overrides, Override{From: from, To: to, Contact: o.Contact})
	}
	return out, nil
}

// OnCall is the contact on call at t: an override's when one covers t
// (the first listed wins), else the rotation's. Before start the rotation
// runs backwards, so someone is always on call.
func OnCall(s *Schedule, t time.Time) string {
	if o, ok := s.override(t); ok {
		return o.Contact
	}
	return s.Rotation[mod(s.turn(t), len(s.Rotation))]
}

// Shift is a contact's time on call.
type Shift struct {
	Contact  string
	From, To time.Time
	Override bool
}

// Shifts returns the shift in effect at t and the n-1 after it: the
// rotation's handoffs cut by overrides.
func Shifts(s *Schedule, t time.Time, n int) []Shift {
	var out []Shift
	for len(out) < n {
		sh := s.shiftAt(t)
		if len(out) > 0 && out[len(out)-1].Contact == sh.Contact && out[len(out)-1].Override == sh.Override {
			out[len(out)-1].To = sh.To // the same person on: one shift
		} else {
			out = append(out, sh)
		}
		t = sh.To
	}
	return out
}

// shiftAt is the shift covering t.
func (s *Schedule) shiftAt(t time.Time) Shift {
	if o, ok := s.override(t); ok {
		return Shift{Contact: o.Contact, From: o.From, To: o.To, Override: true}
	}
	k := s.turn(t)
	from, to := s.handoff(k), s.handoff(k+1)
	// An override starting within the turn ends this shift early; one
	// ending within it starts it late.
	for _, o := range s.Overrides {
		if o.From.After(t) && o.From.Before(to) {
			to = o.From
		}
		if !o.To.After(t) && o.To.After(from) {
			from = o.To
		}
	}
	return Shift{Contact: s.Rotation[mod(k, len(s.Rotation))], From: from, To: to}
}

func (s *Schedule) override(t time.Time) (Override, bool) {
	for _, o := range s.Overrides {
		if !t.Before(o.From) && t.Before(o.To) {
			return o, true
		}
	}
	return Override{}, false
}

// handoff is the time of the k-th handoff (0: start). Periods in days
// keep the wall-clock time of start across daylight saving changes.
func (s *Schedule) handoff(k int) time.Time {
	if s.Period.Days > 0 {
		return s.Start.AddDate(0, 0, k*s.Period.Days)
	}
	return s.Start.Add(time.Duration(k) * s.Period.Every)
}

// turn is the k of the last handoff at or before t.
func (s *Schedule) turn(t time.Time) int {
	var span time.Duration
	if s.Period.Days > 0 {
		span = time.Duration(s.Period.Days) * 24 * time.Hour
	} else {
		span = s.Period.Every
	}
	d := t.Sub(s.Start)
	k := int(d / span)
	if d < 0 && d%span != 0 {
		k-- // floor, not truncation
	}
	// A day is not always 24 hours: correct the guess on the wall clock.
	for s.handoff(k).After(t) {
		k--
	}
	for !s.handoff(k + 1).After(t) {
		k++
	}
	return k
}

func mod(a, n int) int { return ((a % n) + n) % n }
