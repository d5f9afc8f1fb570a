package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gewe-bridge/gewe-bridge/rules/oncall"
)

// quiet is a compiled rule's or contact's quiet hours.
type quiet struct {
	config.Quiet
	path   string // rules[2].quiet, contacts[alice].quiet
	window config.Window
	bypass *vm.Program // nil: nothing bypasses the window
}

// compileQuiet compiles the quiet hours at path (nil when there are none,
// or when config.Parse reported them wrong).
func (c *compiler) compileQuiet(path string, q *config.Quiet, opts []expr.Option) *quiet {
	if q == nil {
		return nil
	}
	w, err := config.ParseWindow(q)
	if err != nil {
		return nil
	}
	return &quiet{Quiet: *q, path: path, window: w,
		bypass: c.compileExpr(path+".bypass_when", q.BypassWhen, append(opts, expr.AsBool()), nil)}
}

// until reports whether the window is open at now for this event, and
// when it ends: false when now is outside it or bypass_when holds.
func (q *quiet) until(v *vm.VM, ev *exprEnv, now time.Time, notes *[]string) (time.Time, bool) {
	if q == nil {
		return time.Time{}, false
	}
	end, in := oncall.QuietUntil(q.window, now)
	if !in {
		return time.Time{}, false
	}
	if q.bypass != nil {
		out, err := v.Run(q.bypass, ev)
		if err != nil {
			// Held or rerouted: a broken bypass must not wake anyone.
			*notes = append(*notes, fmt.Sprintf("%s.bypass_when failed (%v): not bypassed", q.path, err))
		} else if b, _ := out.(bool); b {
			*notes = append(*notes, fmt.Sprintf("quiet hours (%s) until %s bypassed: bypass_when is true", q.path, end.Format(noteTime)))
			return time.Time{}, false
		}
	}
	return end, true
}

const noteTime = "2006-01-02 15:04 MST"

// applyQuiet applies the rule's quiet hours, then each recipient's, to
// the wxids a rule sends to: a window that holds gives the wxids the time
// their messages wait for (holds), one that reroutes replaces them.
func (rs *Ruleset) applyQuiet(v *vm.VM, r *rule, ev *exprEnv, now time.Time, to []string, notes *[]string) ([]string, map[string]time.Time) {
	var holds map[string]time.Time
	hold := func(wxid string, until time.Time) {
		if holds == nil {
			holds = map[string]time.Time{}
		}
		if until.After(holds[wxid]) {
			holds[wxid] = until
		}
	}
	if end, in := r.quiet.until(v, ev, now, notes); in {
		if len(r.quiet.Reroute) > 0 {
			to = rs.rerouteIDs(r.quiet.Reroute, now, notes)
			*notes = append(*notes, fmt.Sprintf("quiet hours (%s) until %s: rerouted to %s", r.quiet.path, end.Format(noteTime), strings.Join(to, ", ")))
		} else {
			for _, id := range to {
				hold(id, end)
			}
			*notes = append(*notes, fmt.Sprintf("quiet hours (%s): held until %s", r.quiet.path, end.Format(noteTime)))
		}
	}
	if len(rs.quietByWxid) == 0 {
		return to, holds
	}
	out := make([]string, 0, len(to))
	add := func(ids ...string) {
		for _, id := range ids {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	for _, id := range to {
		q := rs.quietByWxid[id]
		end, in := q.until(v, ev, now, notes)
		switch {
		case !in:
			add(id)
		case len(q.Reroute) > 0:
			ids := rs.rerouteIDs(q.Reroute, now, notes)
			*notes = append(*notes, fmt.Sprintf("quiet hours (%s) until %s: %s rerouted to %s", q.path, end.Format(noteTime), id, strings.Join(ids, ", ")))
			add(ids...)
		default:
			hold(id, end)
			*notes = append(*notes, fmt.Sprintf("quiet hours (%s): %s held until %s", q.path, id, end.Format(noteTime)))
			add(id)
		}
	}
	return out, holds
}

// rerouteIDs resolves a reroute list (contacts, raw ids, oncall:<schedule>).
func (rs *Ruleset) rerouteIDs(names []string, now time.Time, notes *[]string) []string {
	var ids []string
	for _, name := range names {
		name, ok := rs.resolveOnCall(name, now, notes)
		if !ok {
			continue
		}
		id := name
		if c, ok := rs.cfg.Contacts[name]; ok {
			id = c.Wxid
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids
}

// holdMessages sets the time each held recipient's messages wait for.
func holdMessages(msgs []event.Message, holds map[string]time.Time) {
	if len(holds) == 0 {
		return
	}
	for i := range msgs {
		if until, ok := holds[msgs[i].To]; ok {
			msgs[i].NotBefore = until
		}
	}
}
