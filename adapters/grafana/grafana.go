// Package grafana receives notifications from a Grafana Alerting webhook
// contact point: Alertmanager's payload (receiver, status, alerts, group
// and common labels, groupKey, truncatedAlerts) with Grafana's additions
// (orgId, title, state, message; per alert silenceURL, dashboardURL,
// panelURL, values), payload version "1". Grafana cannot sign: it sends
// basic auth or an Authorization header, "Bearer <credentials>" by default.
package grafana

import (
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
type BasicAuth = adapters.BasicAuth

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
// AuthenticateHeaders checks the Authorization header alone, before the
// body is read (adapters.HeaderAuthenticator).
func (g *Receiver) AuthenticateHeaders(header func(string) string) error {
	return g.authenticate(header("Authorization"))
}

func (g *Receiver) Receive(r *adapters.Request) (*event.Event, error) {
	if err := g.authenticate(r.Header("authorization")); err != nil {
		return nil, err
	}
	payload, err := adapters.DecodeJSONBody(r)
	if err != nil {
		return nil, err
	}
	ev, err := adapters.AlertEvent(r, "grafana", payload)
	if err != nil {
		return nil, err
	}
	ev.DedupKey = dedupKey(r.Source, payload, ev.Alerts)
	return ev, nil
}

// authenticate accepts any configured credential, as the alertmanager
// adapter does. Comparisons hash both sides first, so they take the same
// time whatever the lengths.
func (g *Receiver) authenticate(header string) error {
	return adapters.AlertSenderAuth(header, g.token, g.basic)
}

// dedupKey identifies one notification as the alertmanager adapter's does:
// the organisation, group, status and alerts (each alert's fingerprint,
// status, startsAt, and endsAt once resolved), in any order. Grafana
// instances in HA send it alike; externalURL, title and message are not
// part of it.
func dedupKey(source string, payload map[string]any, alerts []any) string {
	return adapters.NotificationKey("grafana", []string{source, adapters.Format(payload["orgId"]), adapters.Str(payload, "groupKey"), adapters.Str(payload, "status")}, alerts)
}
