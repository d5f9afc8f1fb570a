package bridge

import (
	"slices"
	"sync"
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules"
)

// WebhookTrace is what happened to one webhook, kept so that "what became
// of the alert at 03:12" has an answer.
type WebhookTrace struct {
	At       time.Time `json:"at"`
	Source   string    `json:"source"`
	Event    string    `json:"event"`
	Action   string    `json:"action,omitempty"`
	ID       string    `json:"id"`
	Matched  []string  `json:"matched"`
	Errors   []string  `json:"errors,omitempty"`
	Messages int       `json:"messages"`
}

// traceLog keeps the last n traces per source.
type traceLog struct {
	mu  sync.Mutex
	n   int
	per map[string][]WebhookTrace
}

func newTraceLog(n int) *traceLog { return &traceLog{n: n, per: map[string][]WebhookTrace{}} }

func (l *traceLog) add(ev *rules.Event, res *rules.Result, at time.Time) {
	if l.n <= 0 {
		return
	}
	t := WebhookTrace{At: at, Source: ev.Source, Event: ev.Event, Action: ev.Action, ID: ev.ID,
		Matched: res.Matched, Messages: len(res.Messages)}
	for _, e := range res.Errors {
		t.Errors = append(t.Errors, e.Error())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	ring := l.per[ev.Source]
	if len(ring) >= l.n {
		ring = append(ring[:0], ring[1:]...)
	}
	l.per[ev.Source] = append(ring, t)
}

// list returns the traces of a source (all when empty), newest first.
func (l *traceLog) list(source string) []WebhookTrace {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []WebhookTrace{}
	for name, ring := range l.per {
		if source != "" && name != source {
			continue
		}
		out = append(out, ring...)
	}
	slices.SortStableFunc(out, func(a, b WebhookTrace) int { return b.At.Compare(a.At) })
	return out
}
