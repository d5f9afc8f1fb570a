package oncall

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

func schedule(t *testing.T, loc *time.Location, s config.Schedule) *Schedule {
	t.Helper()
	out, err := New("primary", s, loc)
	require.NoError(t, err)
	return out
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

// TestOnCallWeeklyShanghai: a weekly rotation handed off on Mondays at
// 10:00 in a zone without daylight saving.
func TestOnCallWeeklyShanghai(t *testing.T) {
	s := schedule(t, zone(t, "Asia/Shanghai"), config.Schedule{
		Rotation: []string{"alice", "bob", "carol"}, Start: "2026-11-30T10:00:00", Period: "weekly",
	})
	for _, c := range []struct{ at, want string }{
		{"2026-11-30T10:00:00+08:00", "alice"}, // the first handoff
		{"2026-12-05T03:00:00+08:00", "alice"},
		{"2026-12-07T09:59:59+08:00", "alice"},
		{"2026-12-07T10:00:00+08:00", "bob"}, // the second
		{"2026-12-07T02:00:00Z", "bob"},      // the same instant in UTC
		{"2026-12-14T10:00:00+08:00", "carol"},
		{"2026-12-21T10:00:00+08:00", "alice"}, // round again
		{"2027-03-01T12:00:00+08:00", "bob"},   // 13 weeks on
		{"2026-11-30T09:59:59+08:00", "carol"}, // before start: backwards
		{"2026-11-20T00:00:00+08:00", "bob"},
	} {
		assert.Equal(t, c.want, OnCall(s, at(t, c.at)), c.at)
	}
}

// TestOnCallKeepsWallClockAcrossDST: in Berlin the handoff stays at 10:00
// local time when the clocks change (2026-03-29), one hour earlier in UTC.
func TestOnCallKeepsWallClockAcrossDST(t *testing.T) {
	s := schedule(t, zone(t, "Europe/Berlin"), config.Schedule{
		Rotation: []string{"alice", "bob"}, Start: "2026-03-23T10:00:00", Period: "1w",
	})
	for _, c := range []struct{ at, want string }{
		{"2026-03-23T09:00:00Z", "alice"},    // 10:00 CET
		{"2026-03-30T07:59:00Z", "alice"},    // 09:59 CEST
		{"2026-03-30T08:00:00Z", "bob"},      // 10:00 CEST: a fixed 168h would say 09:00Z
		{"2026-03-30T08:30:00Z", "bob"},      //
		{"2026-10-26T08:59:00Z", "alice"},    // 09:59 CET after the autumn change, 31 weeks on
		{"2026-10-26T09:00:00Z", "bob"},      // 10:00 CET
		{"2026-10-26T10:00:00+01:00", "bob"}, //
	} {
		assert.Equal(t, c.want, OnCall(s, at(t, c.at)), c.at)
	}
}

func TestOnCallPeriods(t *testing.T) {
	loc := zone(t, "Asia/Shanghai")
	for _, c := range []struct {
		period, at, want string
	}{
		{"daily", "2026-12-01T09:00:00+08:00", "alice"},
		{"daily", "2026-12-01T10:00:00+08:00", "bob"},
		{"12h", "2026-11-30T21:59:00+08:00", "alice"},
		{"12h", "2026-11-30T22:00:00+08:00", "bob"},
		{"12h", "2026-12-01T10:00:00+08:00", "alice"},
		{"2w", "2026-12-13T10:00:00+08:00", "alice"},
		{"2w", "2026-12-14T10:00:00+08:00", "bob"},
		{"3d", "2026-12-03T10:00:00+08:00", "bob"},
	} {
		s := schedule(t, loc, config.Schedule{Rotation: []string{"alice", "bob"}, Start: "2026-11-30T10:00:00", Period: c.period})
		assert.Equal(t, c.want, OnCall(s, at(t, c.at)), "%s at %s", c.period, c.at)
	}
}

func TestOnCallOverrides(t *testing.T) {
	s := schedule(t, zone(t, "Asia/Shanghai"), config.Schedule{
		Rotation: []string{"alice", "bob"}, Start: "2026-11-30T10:00:00", Period: "weekly",
		Overrides: []config.Override{
			{From: "2026-12-02T18:00", To: "2026-12-04T09:00", Contact: "dave"},
			{From: "2026-12-03T00:00:00+08:00", To: "2026-12-10", Contact: "erin"}, // under dave's: dave's wins
		},
	})
	for _, c := range []struct{ at, want string }{
		{"2026-12-02T17:59:59+08:00", "alice"},
		{"2026-12-02T18:00:00+08:00", "dave"},
		{"2026-12-04T08:59:59+08:00", "dave"},
		{"2026-12-04T09:00:00+08:00", "erin"},
		{"2026-12-09T23:59:59+08:00", "erin"},
		{"2026-12-10T00:00:00+08:00", "bob"},
	} {
		assert.Equal(t, c.want, OnCall(s, at(t, c.at)), c.at)
	}
}

func TestShifts(t *testing.T) {
	s := schedule(t, zone(t, "Asia/Shanghai"), config.Schedule{
		Rotation: []string{"alice", "bob"}, Start: "2026-11-30T10:00:00", Period: "weekly",
		Overrides: []config.Override{{From: "2026-12-02T18:00", To: "2026-12-04T09:00", Contact: "dave"}},
	})
	got := Shifts(s, at(t, "2026-12-01T00:00:00+08:00"), 4)
	require.Len(t, got, 4)
	want := []struct {
		who, from, to string
		override      bool
	}{
		{"alice", "2026-11-30T10:00:00+08:00", "2026-12-02T18:00:00+08:00", false},
		{"dave", "2026-12-02T18:00:00+08:00", "2026-12-04T09:00:00+08:00", true},
		{"alice", "2026-12-04T09:00:00+08:00", "2026-12-07T10:00:00+08:00", false},
		{"bob", "2026-12-07T10:00:00+08:00", "2026-12-14T10:00:00+08:00", false},
	}
	for i, w := range want {
		assert.Equal(t, w.who, got[i].Contact, i)
		assert.Equal(t, w.from, got[i].From.Format(time.RFC3339), i)
		assert.Equal(t, w.to, got[i].To.Format(time.RFC3339), i)
		assert.Equal(t, w.override, got[i].Override, i)
	}
}

func TestQuietUntil(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	win := func(hours string, days ...string) config.Window {
		w, err := config.ParseWindow(&config.Quiet{Hours: hours, Days: days})
		require.NoError(t, err)
		return w
	}
	for _, c := range []struct {
		name  string
		w     config.Window
		at    string
		quiet bool
		until string
	}{
		{"overnight, late", win("22:00-08:00"), "2026-12-05T23:00:00+08:00", true, "2026-12-06T08:00:00+08:00"},
		{"overnight, early", win("22:00-08:00"), "2026-12-05T03:00:00+08:00", true, "2026-12-05T08:00:00+08:00"},
		{"overnight, day", win("22:00-08:00"), "2026-12-05T08:00:00+08:00", false, ""},
		{"overnight, start", win("22:00-08:00"), "2026-12-05T22:00:00+08:00", true, "2026-12-06T08:00:00+08:00"},
		// 2026-12-05 is a Saturday.
		{"weekend nights only", win("22:00-08:00", "fri", "sat"), "2026-12-06T03:00:00+08:00", true, "2026-12-06T08:00:00+08:00"},
		{"not on sunday night", win("22:00-08:00", "fri", "sat"), "2026-12-06T23:00:00+08:00", false, ""},
		{"all weekend", win("", "sat", "sun"), "2026-12-05T12:00:00+08:00", true, "2026-12-07T00:00:00+08:00"},
		{"weekdays", win("", "sat", "sun"), "2026-12-07T12:00:00+08:00", false, ""},
		{"daytime", win("09:00-18:00"), "2026-12-07T12:00:00+08:00", true, "2026-12-07T18:00:00+08:00"},
		{"to midnight", win("20:00-24:00"), "2026-12-07T21:00:00+08:00", true, "2026-12-08T00:00:00+08:00"},
	} {
		until, quiet := QuietUntil(c.w, at(t, c.at).In(sh))
		assert.Equal(t, c.quiet, quiet, c.name)
		if c.quiet {
			assert.Equal(t, c.until, until.Format(time.RFC3339), c.name)
		}
	}
}
