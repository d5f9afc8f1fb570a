package bridge

import (
	"slices"
	"sync"
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// WebhookTrace is what happened to one webhook, kept so that "what became
// of the alert at 03:12" has an answer.
type WebhookTrace struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	Event  string    `json:"event"`
	Action string    `json:"action,omitempty"`
	ID     string    `json:"id"`
	// Outcome is what the bridge did with it: one of the Outcome* values.
	Outcome string `json:"outcome"`
	// Code is the HTTP status it was answered.
	Code     int      `json:"code"`
	Matched  []string `json:"matched"`
	Errors   []string `json:"errors,omitempty"`
	Messages int      `json:"messages"`
	// Refusal says why a refused webhook was refused (as its answer did).
	Refusal string `json:"refusal,omitempty"`
}

// What became of a webhook.
const (
	OutcomeQueued      = "queued"      // 202: its messages are in the outbox
	OutcomeNoMessage   = "no_message"  // 202: no rule produced a message
	OutcomeDuplicate   = "duplicate"   // 200: a redelivery within dedup.window; nothing queued
	OutcomeUnavailable = "unavailable" // 503: could not be stored or rendered now; the sender retries
	OutcomeRefused     = "refused"     // 4xx: authentication, decoding or limits refused it
)

// traceLog keeps the last n traces per source.
type traceLog struct {
	mu  sync.Mutex
	n   int
	per map[string][]WebhookTrace
}

func newTraceLog(n int) *traceLog { return &traceLog{n: n, per: map[string][]WebhookTrace{}} }

// add records a webhook that was decoded and routed (res may be nil when
// routing did not finish).
func (l *traceLog) add(ev *event.Event, res *rules.Result, at time.Time, outcome string, code int) {
	if l.n <= 0 {
		return
	}
	t := WebhookTrace{At: at, Source: ev.Source, Event: ev.Event, Action: ev.Action, ID: ev.ID,
		Outcome: outcome, Code: code, Matched: []string{}}
	if res != nil {
		t.Messages = len(res.Messages)
		if res.Matched != nil {
			t.Matched = res.Matched
		}
		for _, e := range res.Errors {
			t.Errors = append(t.Errors, e.Error())
		}
	}
	if outcome != OutcomeQueued {
		t.Messages = 0
	}
	l.put(t)
}

// refused records a webhook refused before it became an event. event and
// id are as the request named them, already checked or cut to be safe to
// show; why is the answer's text, which never holds a secret.
func (l *traceLog) refused(source, event, id string, at time.Time, code int, why string) {
	if l.n <= 0 {
		return
	}
	l.put(WebhookTrace{At: at, Source: source, Event: event, ID: id, Outcome: OutcomeRefused,
		Code: code, Matched: []string{}, Refusal: why})
}

func (l *traceLog) put(t WebhookTrace) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ring := l.per[t.Source]
	if len(ring) >= l.n {
		ring = append(ring[:0], ring[1:]...)
	}
	l.per[t.Source] = append(ring, t)
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
