package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/oncall"
)

// loadAt loads the config (file, or the embedded one) as if it were at
// (--at; "": now). A time without an offset is read in the config's
// timezone, so the config is read once to know it.
func loadAt(file, at string, opts ...config.LoadOption) (*rules.Ruleset, config.Problems) {
	rs, probs := bridge.LoadConfig(file, defaultConfig, os.Getenv, opts...)()
	if at == "" || probs.Err() != nil {
		return rs, probs
	}
	t, err := config.ParseTime(at, rs.Location())
	if err != nil {
		return nil, config.Problems{{Path: "--at", Msg: err.Error()}}
	}
	return bridge.LoadConfig(file, defaultConfig, os.Getenv, append(opts, config.At(t))...)()
}

// oncallCmd prints each schedule's shift now (or --at) and the next ones.
func oncallCmd(c *cli, stdout, stderr io.Writer) int {
	rs, probs := loadAt(c.oncall.config, c.oncall.at, config.ForceDryRun())
	if probs.Err() != nil {
		fmt.Fprintln(stderr, probs.Error())
		return 1
	}
	names := rs.Schedules()
	if len(names) == 0 {
		fmt.Fprintln(stderr, "oncall: the config has no schedules")
		return 1
	}
	now := rs.Now()
	fmt.Fprintf(stdout, "at %s\n", now.Format(shiftLayout))
	for _, name := range names {
		printSchedule(stdout, rs.Schedule(name), now, max(c.oncall.shifts, 1))
	}
	return 0
}

const shiftLayout = "Mon 2006-01-02 15:04 MST"

func printSchedule(w io.Writer, s *oncall.Schedule, now time.Time, n int) {
	fmt.Fprintf(w, "\n%s: %s, %s from %s\n", s.Name, strings.Join(s.Rotation, ", "), s.Period, s.Start.Format(shiftLayout))
	for i, sh := range oncall.Shifts(s, now, n) {
		label := "next"
		if i == 0 {
			label = "now"
		}
		extra := ""
		if sh.Override {
			extra = " (override)"
		}
		fmt.Fprintf(w, "  %-4s  %-12s %s  ->  %s%s\n", label, sh.Contact, sh.From.Format(shiftLayout), sh.To.Format(shiftLayout), extra)
	}
}
