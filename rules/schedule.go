package rules

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/oncall"
)

// compileSchedules reads the config's schedules (config.Parse reported
// their mistakes already; a schedule it could not read is left out).
func (rs *Ruleset) compileSchedules() {
	rs.schedules = map[string]*oncall.Schedule{}
	for _, name := range slices.Sorted(maps.Keys(rs.cfg.Schedules)) {
		if s, err := oncall.New(name, rs.cfg.Schedules[name], rs.loc); err == nil {
			rs.schedules[name] = s
		}
	}
}

// Schedule returns the compiled schedule name, nil when there is none.
func (rs *Ruleset) Schedule(name string) *oncall.Schedule { return rs.schedules[name] }

// Schedules returns the names of the schedules, sorted.
func (rs *Ruleset) Schedules() []string { return slices.Sorted(maps.Keys(rs.schedules)) }

// Now is the time routing sees: the config's clock (test --at) in its zone.
func (rs *Ruleset) Now() time.Time { return rs.cfg.Now().In(rs.loc) }

// onCall is the contact on call in schedule name at t; "" when there is no
// such schedule.
func (rs *Ruleset) onCall(name string, t time.Time) string {
	s := rs.schedules[name]
	if s == nil {
		return ""
	}
	return oncall.OnCall(s, t)
}

// resolveOnCall turns oncall:<schedule> in to or at into the contact on
// call at t, with a note saying who it was; other names are returned as
// they are. ok is false for an unknown schedule.
func (rs *Ruleset) resolveOnCall(name string, t time.Time, notes *[]string) (string, bool) {
	sched, isOnCall := config.ScheduleName(name)
	if !isOnCall {
		return name, true
	}
	who := rs.onCall(sched, t)
	if who == "" {
		*notes = append(*notes, fmt.Sprintf("unknown schedule %q skipped", sched))
		return "", false
	}
	*notes = append(*notes, fmt.Sprintf("%s is %s at %s", name, who, t.Format("2006-01-02 15:04 MST")))
	return who, true
}

// onCallFunc is the template function `oncall "primary"` and the expr
// function oncall("primary"): the name of the contact on call now, "" for
// an unknown schedule.
func (rs *Ruleset) onCallFunc(name string) string { return rs.onCall(name, rs.Now()) }
