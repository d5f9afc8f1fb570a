package delivery

import (
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/stretchr/testify/assert"
)

func pacingConfig() config.DeliveryConfig {
	return config.DeliveryConfig{
		PerMinute: 3, RecipientsPerMin: 2,
		PersonGap:   config.Duration(time.Second),
		GroupGapMin: config.Duration(2 * time.Second), GroupGapMax: config.Duration(5 * time.Second),
	}
}

func TestPacerWait(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type send struct {
		to string
		at time.Duration
	}
	tests := []struct {
		name    string
		cfg     func(*config.DeliveryConfig)
		history []send
		to      string
		at      time.Duration
		want    time.Duration
	}{
		{name: "a lone message goes at once", to: "wxid_a", want: 0},
		{name: "same person within the gap waits", history: []send{{"wxid_a", 0}}, to: "wxid_a", at: 300 * time.Millisecond, want: 700 * time.Millisecond},
		{name: "another person does not wait for the person gap", history: []send{{"wxid_a", 0}}, to: "wxid_b", at: 300 * time.Millisecond, want: 0},
		{name: "groups wait the random group gap", history: []send{{"1@chatroom", 0}}, to: "2@chatroom", at: time.Second, want: 2500 * time.Millisecond},
		{name: "group gap is over", history: []send{{"1@chatroom", 0}}, to: "2@chatroom", at: 4 * time.Second, want: 0},
		{name: "per-minute cap", cfg: func(c *config.DeliveryConfig) { c.RecipientsPerMin = 0 },
			history: []send{{"wxid_a", 0}, {"wxid_b", 10 * time.Second}, {"wxid_c", 20 * time.Second}}, to: "wxid_d", at: 30 * time.Second, want: 30 * time.Second},
		{name: "per-minute cap frees after a minute", cfg: func(c *config.DeliveryConfig) { c.RecipientsPerMin = 0 },
			history: []send{{"wxid_a", 0}, {"wxid_b", 10 * time.Second}, {"wxid_c", 20 * time.Second}}, to: "wxid_d", at: 61 * time.Second, want: 0},
		{name: "distinct recipients cap", history: []send{{"wxid_a", 0}, {"wxid_b", 10 * time.Second}}, to: "wxid_c", at: 20 * time.Second, want: 40 * time.Second},
		{name: "distinct recipients cap with a person gap over a minute", cfg: func(c *config.DeliveryConfig) { c.PersonGap = config.Duration(5 * time.Minute) },
			history: []send{{"wxid_old", 0}, {"wxid_a", 70 * time.Second}, {"wxid_b", 80 * time.Second}}, to: "wxid_c", at: 90 * time.Second, want: 40 * time.Second},
		{name: "a known recipient is not a new one", cfg: func(c *config.DeliveryConfig) { c.PerMinute = 10 },
			history: []send{{"wxid_a", 0}, {"wxid_b", 10 * time.Second}}, to: "wxid_a", at: 20 * time.Second, want: 0},
		{name: "daily cap", cfg: func(c *config.DeliveryConfig) { c.DailyCap = 2; c.PerMinute = 0; c.RecipientsPerMin = 0 },
			history: []send{{"wxid_a", 0}, {"wxid_b", time.Hour}}, to: "wxid_c", at: 2 * time.Hour, want: 22 * time.Hour},
		{name: "zero limits mean none", cfg: func(c *config.DeliveryConfig) { *c = config.DeliveryConfig{} },
			history: []send{{"wxid_a", 0}, {"wxid_a", 0}, {"wxid_a", 0}, {"wxid_a", 0}}, to: "wxid_a", at: 0, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pacingConfig()
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			p := NewPacer(cfg)
			p.rand = func() float64 { return 0.5 } // group gap 3.5s
			for _, s := range tt.history {
				p.Record(s.to, t0.Add(s.at))
			}
			assert.Equal(t, tt.want, p.Wait(tt.to, t0.Add(tt.at)))
		})
	}
}

// TestPacerNeverFasterThanConfigured drives a simulated clock through a
// burst and checks every limit on the schedule the pacer produced.
func TestPacerNeverFasterThanConfigured(t *testing.T) {
	cfg := config.DeliveryConfig{PerMinute: 20, RecipientsPerMin: 10, PersonGap: config.Duration(time.Second),
		GroupGapMin: config.Duration(2 * time.Second), GroupGapMax: config.Duration(5 * time.Second)}
	p := NewPacer(cfg)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	recipients := []string{"1@chatroom", "wxid_a", "wxid_b", "2@chatroom", "wxid_a"}
	var sends []time.Time
	var groups []time.Time
	for i := 0; i < 200; i++ {
		to := recipients[i%len(recipients)]
		now = now.Add(p.Wait(to, now))
		assert.Zero(t, p.Wait(to, now))
		p.Record(to, now)
		sends = append(sends, now)
		if config.IsGroup(to) {
			groups = append(groups, now)
		}
	}
	for i := 20; i < len(sends); i++ {
		assert.GreaterOrEqual(t, sends[i].Sub(sends[i-20]), time.Minute, "more than 20 sends in a minute at %d", i)
	}
	for i := 1; i < len(groups); i++ {
		assert.GreaterOrEqual(t, groups[i].Sub(groups[i-1]), 2*time.Second, "group sends closer than 2s")
	}
}
