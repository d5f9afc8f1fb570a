// Package alertmanager receives Prometheus Alertmanager webhooks (payload
// version "4"). Alertmanager cannot sign its requests: it authenticates
// with a bearer token or basic auth from its http_config.
package alertmanager

import (
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
type BasicAuth = adapters.BasicAuth

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
// AuthenticateHeaders checks the Authorization header alone, before the
// body is read (adapters.HeaderAuthenticator).
func (a *Receiver) AuthenticateHeaders(header func(string) string) error {
	return a.authenticate(header("Authorization"))
}

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
	ev, err := adapters.AlertEvent(r, "alertmanager", payload)
	if err != nil {
		return nil, err
	}
	ev.DedupKey = dedupKey(r.Source, payload, ev.Alerts)
	return ev, nil
}

// authenticate accepts any configured credential. Comparisons hash both
// sides first, so they take the same time whatever the lengths.
func (a *Receiver) authenticate(header string) error {
	return adapters.AlertSenderAuth(header, a.token, a.basic)
}

// dedupKey identifies one notification: the same group, status, alerts
// (with each alert's own status, since one can resolve while the group
// still fires, and its startsAt — and endsAt once resolved — so an alert
// that fires again is news) and reason. Two Alertmanagers in HA send it
// alike, so it hashes the same; alert order does not matter. The source
// is part of it because one receiver may post the same payload to several
// sources.
func dedupKey(source string, payload map[string]any, alerts []any) string {
	return adapters.NotificationKey("alertmanager", []string{source, adapters.Str(payload, "groupKey"), adapters.Str(payload, "status"), adapters.Str(payload, "notification_reason")}, alerts)
}
