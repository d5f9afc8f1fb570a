// Package event is what an inbound adapter makes of a webhook (Event) and
// what the rules make of an event (Message): the types both sides share,
// apart from the engine, so that adapters import no rule machinery.
package event

import (
	"maps"
	"slices"
	"strings"
)

// Event is one webhook, normalised by an inbound adapter: what rules
// (`when`, `*_expr`) and templates see. The expr names are the struct tags;
// templates see the same names through Vars.
//
// Typed fields carry the keys rules select on most (source, event, labels),
// so rule evaluation avoids map lookups and the router can index rules by
// them. Everything else is reachable through Payload.
type Event struct {
	Source  string            `expr:"source"`  // the source's name in the config
	Type    string            `expr:"type"`    // github, alertmanager or generic
	Event   string            `expr:"event"`   // X-GitHub-Event, "alert", or X-Event
	Action  string            `expr:"action"`  // GitHub payload.action
	ID      string            `expr:"id"`      // delivery id
	Payload map[string]any    `expr:"payload"` // the decoded JSON body
	Headers map[string]string `expr:"headers"` // lower-case names

	// Alertmanager.
	Status      string            `expr:"status"`
	Alerts      []any             `expr:"alerts"`
	Labels      map[string]string `expr:"labels"` // commonLabels
	Annotations map[string]string `expr:"annotations"`
	GroupLabels map[string]string `expr:"group_labels"`
	Receiver    string            `expr:"receiver"`
	ExternalURL string            `expr:"external_url"`

	// GitHub.
	Repo   string `expr:"repo"`   // repository.full_name
	Sender string `expr:"sender"` // sender.login
	Ref    string `expr:"ref"`
	Branch string `expr:"branch"` // ref without refs/heads/
	Tag    string `expr:"tag"`    // ref without refs/tags/

	// DedupKey identifies a delivery across retries and HA peers; empty
	// means the event is never treated as a duplicate.
	DedupKey string `expr:"-"`
	// Raw is the request body as received, kept for storage and replay.
	Raw []byte `expr:"-"`
}

// Redacted is how a credential header's value reaches rules, templates,
// traces and answers.
const Redacted = "[redacted]"

// credentialWords mark a header whose value is a credential.
var credentialWords = []string{"auth", "token", "secret", "signature", "cookie", "api-key", "apikey", "password"}

// IsCredentialHeader reports whether a header (name in any case) carries a
// credential: Authorization, X-Hub-Signature-256, X-Gitlab-Token, Cookie,
// an API key... Its value never reaches a template, a trace, an answer or
// a log line.
func IsCredentialHeader(name string) bool {
	name = strings.ToLower(name)
	for _, w := range credentialWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// RedactHeadersInPlace is RedactHeaders on a map the caller owns: the
// values are replaced in h itself, which saves a copy per request.
func RedactHeadersInPlace(h map[string]string, extra ...string) {
	for k, v := range h {
		if v != Redacted && (IsCredentialHeader(k) || slices.Contains(extra, k)) {
			h[k] = Redacted
		}
	}
}

// RedactHeaders returns h with the value of every credential header
// (IsCredentialHeader, and the extra names given in lower case) replaced
// by Redacted: h itself when it holds none, else a copy.
func RedactHeaders(h map[string]string, extra ...string) map[string]string {
	var out map[string]string
	for k, v := range h {
		if v == Redacted || !IsCredentialHeader(k) && !slices.Contains(extra, k) {
			continue
		}
		if out == nil {
			out = maps.Clone(h)
		}
		out[k] = Redacted
	}
	if out == nil {
		return h
	}
	return out
}

// Vars returns the event as template data: the same names rules use.
// Credential headers (IsCredentialHeader) are redacted.
func (e *Event) Vars() map[string]any {
	return map[string]any{
		"source":       e.Source,
		"type":         e.Type,
		"event":        e.Event,
		"action":       e.Action,
		"id":           e.ID,
		"payload":      e.Payload,
		"headers":      RedactHeaders(e.Headers),
		"status":       e.Status,
		"alerts":       e.Alerts,
		"labels":       e.Labels,
		"annotations":  e.Annotations,
		"group_labels": e.GroupLabels,
		"receiver":     e.Receiver,
		"external_url": e.ExternalURL,
		"repo":         e.Repo,
		"sender":       e.Sender,
		"ref":          e.Ref,
		"branch":       e.Branch,
		"tag":          e.Tag,
	}
}
