// Package grafana receives notifications from a Grafana Alerting webhook
// contact point: Alertmanager's payload (receiver, status, alerts, group
// and common labels, groupKey, truncatedAlerts) with Grafana's additions
// (orgId, title, state, message; per alert silenceURL, dashboardURL,
// panelURL, values), payload version "1". Grafana cannot sign: it sends
// basic auth or an Authorization header, "Bearer <credentials>" by default.
package grafana

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strings"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// Config is a Grafana source's settings. With both credentials set,
// either is accepted; with neither, requests are not authenticated and
// whether that is allowed is the caller's call.
type Config struct {
	BearerToken string     // Authorization: Bearer <token>
	BasicAuth   *BasicAuth // the contact point's basic auth user and password
}

// BasicAuth is a username and password pair for HTTP basic auth.
type BasicAuth struct {
	Username string
	Password string
}

// Receiver turns Grafana Alerting notifications into events.
type Receiver struct {
	token string
	basic *BasicAuth
}

// New returns a Receiver for cfg.
func New(cfg Config) *Receiver {
	r := &Receiver{token: cfg.BearerToken}
	if b := cfg.BasicAuth; b != nil && (b.Username != "" || b.Password != "") {
		r.basic = &BasicAuth{Username: b.Username, Password: b.Password}
	}
	return r
}

var _ adapters.Receiver = (*Receiver)(nil)

// Receive authenticates r, then decodes it. Unknown fields are ignored,
// absent newer ones tolerated; the version is not checked, since Grafana
// has sent "1" since unified alerting and promises nothing about it.
func (g *Receiver) Receive(r *adapters.Request) (*event.Event, error) {
	if err := g.authenticate(r.Header("authorization")); err != nil {
		return nil, err
	}
	payload, err := adapters.DecodeJSONBody(r)
	if err != nil {
		return nil, err
	}
	alerts, ok := payload["alerts"].([]any)
	if !ok {
		return nil, adapters.Errorf(adapters.Malformed, "alerts is missing or not a list")
	}
	for i, x := range alerts {
		if _, ok := x.(map[string]any); !ok {
			return nil, adapters.Errorf(adapters.Malformed, "alerts[%d] is not an object", i)
		}
	}
	ev := &event.Event{
		Source:      r.Source,
		Type:        "grafana",
		Event:       "alert",
		ID:          adapters.NewID(),
		Payload:     payload,
		Headers:     r.Headers,
		Status:      str(payload, "status"),
		Alerts:      alerts,
		Receiver:    str(payload, "receiver"),
		ExternalURL: str(payload, "externalURL"),
		Raw:         r.Body,
	}
	if ev.Labels, err = stringMap(payload, "commonLabels"); err != nil {
		return nil, err
	}
	if ev.Annotations, err = stringMap(payload, "commonAnnotations"); err != nil {
		return nil, err
	}
	if ev.GroupLabels, err = stringMap(payload, "groupLabels"); err != nil {
		return nil, err
	}
	ev.DedupKey = dedupKey(r.Source, payload, alerts)
	return ev, nil
}

// authenticate accepts any configured credential, as the alertmanager
// adapter does. Comparisons hash both sides first, so they take the same
// time whatever the lengths.
func (g *Receiver) authenticate(header string) error {
	if g.token == "" && g.basic == nil {
		return nil
	}
	if header == "" {
		return adapters.Errorf(adapters.Unauthorized, "missing Authorization header")
	}
	scheme, cred, _ := strings.Cut(header, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case g.token != "" && strings.EqualFold(scheme, "bearer"):
		if equal(cred, g.token) {
			return nil
		}
	case g.basic != nil && strings.EqualFold(scheme, "basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			break
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		// Both comparisons always run: which one failed takes no longer.
		userOK := equal(user, g.basic.Username)
		passOK := equal(pass, g.basic.Password)
		if userOK && passOK {
			return nil
		}
	}
	return adapters.Errorf(adapters.Unauthorized, "invalid credentials")
}

func equal(got, want string) bool {
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// dedupKey identifies one notification as the alertmanager adapter's does:
// the organisation, group, status and alerts (each alert's fingerprint,
// status, startsAt, and endsAt once resolved), in any order. Grafana
// instances in HA send it alike; externalURL, title and message are not
// part of it.
func dedupKey(source string, payload map[string]any, alerts []any) string {
	entries := make([]string, len(alerts))
	for i, x := range alerts {
		alert := x.(map[string]any)
		fp := str(alert, "fingerprint")
		if fp == "" {
			fp = labelsFingerprint(alert["labels"])
		}
		status := str(alert, "status")
		entries[i] = lp(fp) + lp(status) + lp(str(alert, "startsAt"))
		if status == "resolved" {
			entries[i] += lp(str(alert, "endsAt"))
		}
	}
	slices.Sort(entries)

	h := sha256.New()
	for _, s := range []string{source, format(payload["orgId"]), str(payload, "groupKey"), str(payload, "status")} {
		write(h, s)
	}
	for _, e := range entries {
		write(h, e)
	}
	return "grafana:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// labelsFingerprint stands in for a missing fingerprint: a hash of the
// alert's sorted labels.
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
		write(h, format(labels[k]))
	}
	return "labels:" + hex.EncodeToString(h.Sum(nil)[:8])
}

// lp length-prefixes s, so concatenations of fields cannot collide.
func lp(s string) string { return fmt.Sprintf("%d:%s", len(s), s) }

func write(h hash.Hash, s string) { h.Write([]byte(lp(s))) }

// stringMap reads an object of labels or annotations. Grafana sends
// strings only; anything else is printed. Absent or null gives an empty map.
func stringMap(payload map[string]any, key string) (map[string]string, error) {
	out := map[string]string{}
	switch m := payload[key].(type) {
	case nil:
	case map[string]any:
		for k, v := range m {
			out[k] = format(v)
		}
	default:
		return nil, adapters.Errorf(adapters.Malformed, "%s is not an object", key)
	}
	return out, nil
}

func format(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return ""
	default:
		return fmt.Sprint(t)
	}
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}
