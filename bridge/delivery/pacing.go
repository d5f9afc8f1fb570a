package delivery

import (
	"math/rand/v2"
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// Pacer decides when the next message to a recipient may go out, so that
// one account sends like a person, not a bot: a rolling cap per minute, a
// cap on distinct recipients per minute, a gap between messages to one
// person, a random gap between messages to groups, and an optional daily
// cap. A message that meets every limit goes out at once: pacing never
// delays a lone message.
//
// A Pacer belongs to one sender goroutine; it is not safe for concurrent use.
type Pacer struct {
	cfg        config.DeliveryConfig
	sent       []time.Time          // sends in the last minute, oldest first
	recipients map[string]time.Time // recipient -> its last send
	day        []time.Time          // sends in the last 24 h, when a daily cap is set
	lastGroup  time.Time
	groupGap   time.Duration // drawn after each group send
	rand       func() float64
}

// NewPacer returns a pacer with the given limits.
func NewPacer(cfg config.DeliveryConfig) *Pacer {
	return &Pacer{cfg: cfg, recipients: map[string]time.Time{}, rand: rand.Float64}
}

// Wait returns how long a message to `to` must wait from now; 0 means it
// may go now.
func (p *Pacer) Wait(to string, now time.Time) time.Duration {
	p.forget(now)
	var wait time.Duration
	later := func(t time.Time) {
		if d := t.Sub(now); d > wait {
			wait = d
		}
	}
	if n := p.cfg.PerMinute; n > 0 && len(p.sent) >= n {
		later(p.sent[len(p.sent)-n].Add(time.Minute))
	}
	last, known := p.recipients[to]
	if n := p.cfg.RecipientsPerMin; n > 0 && !known && p.distinctSince(now.Add(-time.Minute)) >= n {
		later(p.oldestSince(now.Add(-time.Minute)).Add(time.Minute))
	}
	if known {
		later(last.Add(p.cfg.PersonGap.D()))
	}
	if config.IsGroup(to) && !p.lastGroup.IsZero() {
		later(p.lastGroup.Add(p.groupGap))
	}
	if n := p.cfg.DailyCap; n > 0 && len(p.day) >= n {
		later(p.day[len(p.day)-n].Add(24 * time.Hour))
	}
	return wait
}

// Record notes a send to `to` at now.
func (p *Pacer) Record(to string, now time.Time) {
	p.sent = append(p.sent, now)
	if p.cfg.DailyCap > 0 {
		p.day = append(p.day, now)
	}
	p.recipients[to] = now
	if config.IsGroup(to) {
		p.lastGroup = now
		lo, hi := p.cfg.GroupGapMin.D(), p.cfg.GroupGapMax.D()
		p.groupGap = lo + time.Duration(p.rand()*float64(hi-lo))
	}
}

// forget drops what no limit looks at any more.
func (p *Pacer) forget(now time.Time) {
	minute := now.Add(-time.Minute)
	i := 0
	for i < len(p.sent) && !p.sent[i].After(minute) {
		i++
	}
	p.sent = p.sent[i:]
	day := now.Add(-24 * time.Hour)
	i = 0
	for i < len(p.day) && !p.day[i].After(day) {
		i++
	}
	p.day = p.day[i:]
	keep := minute
	if g := p.cfg.PersonGap.D(); g > time.Minute {
		keep = now.Add(-g)
	}
	for to, t := range p.recipients {
		if !t.After(keep) {
			delete(p.recipients, to)
		}
	}
}

func (p *Pacer) distinctSince(since time.Time) int {
	n := 0
	for _, t := range p.recipients {
		if t.After(since) {
			n++
		}
	}
	return n
}

// oldestSince is the earliest last send after since: when the recipient
// cap frees a place. Recipients kept longer (for a person_gap over a
// minute) do not count.
func (p *Pacer) oldestSince(since time.Time) time.Time {
	var oldest time.Time
	for _, t := range p.recipients {
		if t.After(since) && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	return oldest
}
