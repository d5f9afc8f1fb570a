// Package codec is how both stores (sqlite, postgres) write what they keep
// in a form of their own: times, request bodies and the alerts a message
// carried. One place, so that the two stores keep reading each other's
// conventions alike.
package codec

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// Time is t as unix nanoseconds, the zero time as 0.
func Time(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// ParseTime reads what Time wrote.
func ParseTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Raw payloads are stored compressed with S2 behind a one-byte format tag:
// bytes written per commit are what the store's throughput is bound by,
// and a 2.4 KB Alertmanager payload becomes about 1 KB for ~3 µs.
const (
	RawPlain = 0x00
	RawS2    = 0x01
)

// Raw is a request body (or a long message text) as stored.
func Raw(b []byte) []byte {
	dst := make([]byte, 1+s2.MaxEncodedLen(len(b)))
	dst[0] = RawS2
	return dst[:1+len(s2.Encode(dst[1:], b))]
}

// ParseRaw reads what Raw wrote (or a plain body behind RawPlain).
func ParseRaw(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return b, nil
	}
	switch b[0] {
	case RawPlain:
		return b[1:], nil
	case RawS2:
		return s2.Decode(nil, b[1:])
	}
	return nil, fmt.Errorf("stored payload has unknown format %#x", b[0])
}

// Alerts is the JSON of each message's alerts (chat-ops), "" for a message
// without; nil when no message has any.
func Alerts(msgs []event.Message) ([]string, error) {
	var out []string
	for i, m := range msgs {
		if len(m.Alerts) == 0 {
			continue
		}
		if out == nil {
			out = make([]string, len(msgs))
		}
		b, err := json.Marshal(m.Alerts) // valid UTF-8, NUL escaped
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	return out, nil
}

// AlertSet gathers the alerts of several messages (those one GeWe message
// carried), each alert once: by fingerprint, else by its labels.
type AlertSet struct {
	List []event.AlertRef
	seen map[string]bool
}

// Add adds the alerts of one message, as Alerts wrote them.
func (s *AlertSet) Add(js string) error {
	var refs []event.AlertRef
	if err := json.Unmarshal([]byte(js), &refs); err != nil {
		return err
	}
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	for _, r := range refs {
		key := r.Source + "\x00" + r.Fingerprint
		if r.Fingerprint == "" {
			b, _ := json.Marshal(r.Labels) // sorted keys
			key = r.Source + "\x00" + string(b)
		}
		if !s.seen[key] {
			s.seen[key] = true
			s.List = append(s.List, r)
		}
	}
	return nil
}

// Callback fills cb's stored fields from their columns: the time it came,
// the outcome (JSON, "" while pending) and the raw callback.
func Callback(cb *outbox.Callback, receivedAt int64, outcome string, raw []byte) error {
	cb.ReceivedAt = ParseTime(receivedAt)
	if outcome != "" {
		if err := json.Unmarshal([]byte(outcome), &cb.Outcome); err != nil {
			return err
		}
	}
	var err error
	cb.Raw, err = ParseRaw(raw)
	return err
}
