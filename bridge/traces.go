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
	// Seq numbers the traces of this process; TraceRequest(Seq) gives the
	// request of one that HasRequest, for the console's playground.
	Seq        uint64 `json:"seq"`
	HasRequest bool   `json:"has_request"`

	req *TraceRequest
}

// TraceRequest is what a traced webhook sent: its headers, credentials
// already redacted, and its body. Only webhooks that passed their
// source's authentication are kept, within traceBodyBytes each and
// traceBytes in all.
type TraceRequest struct {
	Source  string            `json:"source"`
	Headers map[string]string `json:"headers"`
	Body    []byte            `json:"-"`
}

// The memory the kept requests may take: a larger body is not kept, and
// past the total the oldest requests are let go (their traces stay).
const (
	traceBodyBytes = 256 << 10
	traceBytes     = 8 << 20
)

func (r *TraceRequest) size() int {
	n := len(r.Body)
	for k, v := range r.Headers {
		n += len(k) + len(v)
	}
	return n
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
	mu    sync.Mutex
	n     int
	per   map[string][]WebhookTrace
	seq   uint64
	bytes int // of the requests kept
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
	if len(ev.Raw) <= traceBodyBytes {
		// ev.Raw is the hook's own copy; the headers were copied out of
		// Fiber's buffers and redacted in place (readRequest,
		// RedactHeadersInPlace), and nothing changes them after: kept
		// as they are, without another copy.
		t.req = &TraceRequest{Source: ev.Source, Headers: ev.Headers, Body: ev.Raw}
	}
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
	l.seq++
	t.Seq = l.seq
	ring := l.per[t.Source]
	if len(ring) >= l.n {
		if old := ring[0].req; old != nil {
			l.bytes -= old.size()
		}
		ring = append(ring[:0], ring[1:]...)
	}
	if t.req != nil {
		t.HasRequest = true
		l.bytes += t.req.size()
	}
	l.per[t.Source] = append(ring, t)
	for l.bytes > traceBytes && l.dropOldestRequest() {
	}
}

// dropOldestRequest lets the oldest kept request go; false when none is.
func (l *traceLog) dropOldestRequest() bool {
	var oldest *WebhookTrace
	for _, ring := range l.per {
		for i := range ring {
			if ring[i].req != nil {
				if oldest == nil || ring[i].Seq < oldest.Seq {
					oldest = &ring[i]
				}
				break // a ring is oldest first
			}
		}
	}
	if oldest == nil {
		return false
	}
	l.bytes -= oldest.req.size()
	oldest.req, oldest.HasRequest = nil, false
	return true
}

// request returns the request of trace seq, if it is still kept.
func (l *traceLog) request(seq uint64) (*TraceRequest, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ring := range l.per {
		for _, t := range ring {
			if t.Seq == seq && t.req != nil {
				return t.req, true
			}
		}
	}
	return nil, false
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
