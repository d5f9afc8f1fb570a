package oncall

import (
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// QuietUntil reports whether t (in the zone the window is meant in) is
// inside the quiet window w, and when the quiet ends: windows that follow
// each other without a gap (every night, all weekend) count as one.
func QuietUntil(w config.Window, t time.Time) (end time.Time, quiet bool) {
	end, quiet = windowAt(w, t)
	if !quiet {
		return time.Time{}, false
	}
	for range 8 { // a week of windows back to back at most
		next, ok := windowAt(w, end)
		if !ok || !next.After(end) {
			break
		}
		end = next
	}
	return end, true
}

// windowAt is the end of the window covering t, if one does: the one
// starting on t's day or the day before (overnight).
func windowAt(w config.Window, t time.Time) (time.Time, bool) {
	y, m, d := t.Date()
	for back := 0; back <= 1; back++ {
		day := time.Date(y, m, d-back, 0, 0, 0, 0, t.Location())
		if !w.On(day.Weekday()) {
			continue
		}
		start := clockTime(day, w.Start)
		endDay := day
		if w.End <= w.Start {
			endDay = day.AddDate(0, 0, 1)
		}
		end := clockTime(endDay, w.End)
		if !t.Before(start) && t.Before(end) {
			return end, true
		}
	}
	return time.Time{}, false
}

// clockTime is seconds after midnight of day, on the wall clock.
func clockTime(day time.Time, secs int) time.Time {
	y, m, d := day.Date()
	return time.Date(y, m, d, secs/3600, secs/60%60, secs%60, 0, day.Location())
}
