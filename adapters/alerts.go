package adapters

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strings"

	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// What the alert senders (alertmanager, grafana) share: their Authorization
// header, their alert lists and the key that tells an HA peer's copy of a
// notification from a new one.

// BasicAuth is a username and password pair for HTTP basic auth.
type BasicAuth struct {
	Username string
	Password string
}

// AlertSenderAuth checks an Authorization header the way Alertmanager's and
// Grafana's http_config send it: Bearer token or Basic user:password, the
// scheme in any case. With neither configured, requests are not
// authenticated (whether that is allowed is the caller's call). Every
// comparison hashes both sides first, and both halves of basic auth are
// compared, so no answer takes longer for being closer.
func AlertSenderAuth(header, token string, basic *BasicAuth) error {
	if token == "" && basic == nil {
		return nil
	}
	if header == "" {
		return Errorf(Unauthorized, "missing Authorization header")
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case token != "" && strings.EqualFold(scheme, "bearer"):
		if BearerOK(header, token) {
			return nil
		}
	case basic != nil && strings.EqualFold(scheme, "basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			break
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		userOK := SecretEqual(user, basic.Username)
		passOK := SecretEqual(pass, basic.Password)
		if userOK && passOK {
			return nil
		}
	}
	return Errorf(Unauthorized, "invalid credentials")
}

// NotificationKey identifies one alert notification: the fields given
// (source, group, status, ...) and its alerts, each by fingerprint (a hash
// of its labels when it has none), status and startsAt, and endsAt once
// resolved, so an alert that fires again is news. Alert order does not
// matter: HA peers send the same alerts in any order and hash the same.
func NotificationKey(prefix string, fields []string, alerts []any) string {
	entries := make([]string, len(alerts))
	for i, x := range alerts {
		alert, _ := x.(map[string]any)
		fp := Str(alert, "fingerprint")
		if fp == "" {
			fp = labelsFingerprint(alert["labels"])
		}
		status := Str(alert, "status")
		entries[i] = lp(fp) + lp(status) + lp(Str(alert, "startsAt"))
		if status == "resolved" {
			entries[i] += lp(Str(alert, "endsAt"))
		}
	}
	slices.Sort(entries)
	h := sha256.New()
	for _, s := range fields {
		write(h, s)
	}
	for _, e := range entries {
		write(h, e)
	}
	return prefix + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}

// labelsFingerprint stands in for the fingerprint older senders omit: a
// hash of the alert's sorted labels, the same on every HA peer.
func labelsFingerprint(v any) string {
	labels, _ := v.(map[string]any)
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		write(h, k)
		write(h, Format(labels[k]))
	}
	return "labels:" + hex.EncodeToString(h.Sum(nil)[:8])
}

// lp length-prefixes s, so concatenations of fields cannot collide.
func lp(s string) string { return fmt.Sprintf("%d:%s", len(s), s) }

func write(h hash.Hash, s string) { h.Write([]byte(lp(s))) }

// StringMap reads an object of labels or annotations. Senders send strings
// only; anything else is printed. Absent or null gives an empty map.
func StringMap(payload map[string]any, key string) (map[string]string, error) {
	out := map[string]string{}
	switch m := payload[key].(type) {
	case nil:
	case map[string]any:
		for k, v := range m {
			out[k] = Format(v)
		}
	default:
		return nil, Errorf(Malformed, "%s is not an object", key)
	}
	return out, nil
}

// Format prints a JSON value as a label value: strings as they are, null
// as "", anything else with fmt.
func Format(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	default:
		return fmt.Sprint(t)
	}
}

// Str is the string at path in m (m["a"]["b"] for "a", "b"), else "".
func Str(m map[string]any, path ...string) string {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return ""
		}
		m = next
	}
	s, _ := m[path[len(path)-1]].(string)
	return s
}

// AlertEvent makes the event of an Alertmanager-shaped notification
// (Alertmanager's own, Grafana's): its alerts, each an object, its status,
// receiver, external URL and label maps. typ names the source type; the
// caller sets the DedupKey.
func AlertEvent(r *Request, typ string, payload map[string]any) (*event.Event, error) {
	alerts, ok := payload["alerts"].([]any)
	if !ok {
		return nil, Errorf(Malformed, "alerts is missing or not a list")
	}
	for i, x := range alerts {
		if _, ok := x.(map[string]any); !ok {
			return nil, Errorf(Malformed, "alerts[%d] is not an object", i)
		}
	}
	ev := &event.Event{
		Source:      r.Source,
		Type:        typ,
		Event:       "alert",
		ID:          NewID(),
		Payload:     payload,
		Headers:     r.Headers,
		Status:      Str(payload, "status"),
		Alerts:      alerts,
		Receiver:    Str(payload, "receiver"),
		ExternalURL: Str(payload, "externalURL"),
		Raw:         r.Body,
	}
	var err error
	if ev.Labels, err = StringMap(payload, "commonLabels"); err != nil {
		return nil, err
	}
	if ev.Annotations, err = StringMap(payload, "commonAnnotations"); err != nil {
		return nil, err
	}
	if ev.GroupLabels, err = StringMap(payload, "groupLabels"); err != nil {
		return nil, err
	}
	return ev, nil
}
