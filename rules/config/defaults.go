package config

import (
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
)

// Defaults. The delivery ones follow the GeWe sending etiquette
// (docs/gewe-api.md): a personal account that sends faster
// or more uniformly than a person risks being restricted for good.
const (
	DefaultListen          = ":8080"
	DefaultTimezone        = "Asia/Shanghai"
	DefaultStoragePath     = "data/gewe-bridge.db"
	DefaultTextBytes       = 2000
	DefaultMaxParts        = 4
	DefaultGitHubBodyBytes = 25 << 20
	DefaultBodyBytes       = 1 << 20
	DefaultRenderBytes     = 64 << 10
	// DefaultRenderTimeout is what one webhook's templates may take
	// together; DefaultRenderIterations what one render may loop.
	DefaultRenderTimeout    = 2 * time.Second
	DefaultRenderIterations = 1_000_000
	// DefaultMaxAlerts is the alerts one message shows (the rest are
	// counted as "and N more"); DefaultMaxMessages what one webhook may
	// queue.
	DefaultMaxAlerts   = 200
	DefaultMaxMessages = 50
)

func applyDefaults(c *Config) {
	setDur := func(d *Duration, v time.Duration) {
		if *d == 0 {
			*d = Duration(v)
		}
	}
	setInt := func(i *int, v int) {
		if *i == 0 {
			*i = v
		}
	}
	setStr := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	setStr(&c.Gewe.API, "v1")
	setDur(&c.Gewe.Timeout, gewe.DefaultTimeout)
	setStr(&c.Server.Listen, DefaultListen)
	setDur(&c.Server.ReadTimeout, 30*time.Second)
	setDur(&c.Server.WriteTimeout, 30*time.Second)
	setDur(&c.Server.IdleTimeout, 2*time.Minute)
	setStr(&c.Timezone, DefaultTimezone)
	setStr(&c.Language, "zh")
	setStr(&c.Storage.Path, DefaultStoragePath)
	setDur(&c.Storage.Retention, 7*24*time.Hour)

	d := &c.Delivery
	setInt(&d.PerMinute, 20)
	setInt(&d.RecipientsPerMin, 10)
	setDur(&d.PersonGap, time.Second)
	setDur(&d.GroupGapMin, 2*time.Second)
	setDur(&d.GroupGapMax, 5*time.Second)
	setInt(&d.MaxAttempts, 10)
	setDur(&d.MaxAge, 12*time.Hour)
	setStr(&d.OnTimeout, "retry")
	setDur(&d.InitialBackoff, 2*time.Second)
	setDur(&d.MaxBackoff, 5*time.Minute)
	setDur(&d.Pause, 30*time.Second)

	setDur(&c.Dedup.Window, 10*time.Minute)

	l := &c.Limits
	setInt(&l.TextBytes, DefaultTextBytes)
	setInt(&l.MaxParts, DefaultMaxParts)
	if l.GitHubBody == 0 {
		l.GitHubBody = DefaultGitHubBodyBytes
	}
	if l.BodyBytes == 0 {
		l.BodyBytes = DefaultBodyBytes
	}
	setInt(&l.RenderBytes, DefaultRenderBytes)
	setInt(&l.TracesKept, 50)
	setDur(&l.RenderTimeout, DefaultRenderTimeout)
	setInt(&l.RenderIterations, DefaultRenderIterations)
	setInt(&l.MaxAlerts, DefaultMaxAlerts)
	setInt(&l.MaxMessages, DefaultMaxMessages)

	// Never implied by a missing token: an unset GEWE_TOKEN is an error
	// (check.go), not a bridge that silently sends nothing.
	c.DryRun = c.DryRun || c.Gewe.DryRun
}
