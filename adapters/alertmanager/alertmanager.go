// Package alertmanager receives Prometheus Alertmanager webhooks (payload
// version "4"). Alertmanager cannot sign its requests: it authenticates
// with a bearer token or basic auth from its http_config.
package alertmanager

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"strings"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// Config is an Alertmanager source's settings. With both credentials set,
// either is accepted; with neither, requests are not authenticated and
// whether that is allowed is the caller's call.
type Config struct {
	BearerToken string     // Authorization: Bearer <token>
	BasicAuth   *BasicAuth // Authorization: Basic ...
}

// BasicAuth is a username and password pair for HTTP basic auth.
type BasicAuth struct {
	Username string
	Password string
}

// Receiver turns Alertmanager webhooks into events.
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

// EventLabel is the metric label for the event name: "alert", the only
// event this receiver makes, or "other".
func EventLabel(name string) string {
	if name == "" || name == "alert" {
		return name
	}
	return "other"
}

// Receive authenticates r, then decodes it.
func (a *Receiver) Receive(r *adapters.Request) (*event.Event, error) {
	if err := a.authenticate(r.Header("authorization")); err != nil {
		return nil, err
	}
	payload, err := adapters.DecodeJSONBody(r)
	if err != nil {
		return nil, err
	}
	if v, ok := payload["version"]; ok && v != nil {
		s, isString := v.(string)
		if !isString {
			return nil, adapters.Errorf(adapters.Malformed, "payload version must be the string \"4\"")
		}
		if s != "4" {
			return nil, adapters.Errorf(adapters.Malformed,
				"unsupported Alertmanager payload version %.16q: this bridge reads version \"4\"", s)
		}
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
		Type:        "alertmanager",
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

// authenticate accepts any configured credential. Comparisons hash both
// sides first, so they take the same time whatever the lengths.
func (a *Receiver) authenticate(header string) error {
	if a.token == "" && a.basic == nil {
		return nil
	}
	if header == "" {
		return adapters.Errorf(adapters.Unauthorized, "missing Authorization header")
	}
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case a.token != "" && strings.EqualFold(scheme, "bearer"):
		if adapters.BearerOK(header, a.token) {
			return nil
		}
	case a.basic != nil && strings.EqualFold(scheme, "basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			break
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		// Both comparisons always run: which one failed takes no longer.
		userOK := adapters.SecretEqual(user, a.basic.Username)
		passOK := adapters.SecretEqual(pass, a.basic.Password)
		if userOK && passOK {
			return nil
		}
	}
	return adapters.Errorf(adapters.Unauthorized, "invalid credentials")
}

// dedupKey identifies one notification: the same group, status, alerts
// (with each alert's own status, since one can resolve while the group
// still fires, and its startsAt — and endsAt once resolved — so an alert
// that fires again is news) and reason. Two Alertmanagers in HA send it
// alike, so it hashes the same; alert order does not matter. The source
// is part of it because one receiver may post the same payload to several
// sources.
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
	for _, s := range []string{source, str(payload, "groupKey"), str(payload, "status"),
		str(payload, "notification_reason")} {
		write(h, s)
	}
	for _, e := range entries {
		write(h, e)
	}
	return "alertmanager:" + hex.EncodeToString(h.Sum(nil)[:16])
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
		write(h, format(labels[k]))
	}
	return "labels:" + hex.EncodeToString(h.Sum(nil)[:8])
}

// lp length-prefixes s, so concatenations of fields cannot collide.
func lp(s string) string { return fmt.Sprintf("%d:%s", len(s), s) }

func write(h hash.Hash, s string) { h.Write([]byte(lp(s))) }

// stringMap reads an object of labels or annotations. Alertmanager sends
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
