package rules

import "strings"

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

	usage *exprUsage // what the expressions built and walked, in a routing's copy
}

// Redacted is how a credential header's value reaches rules, templates
// and traces.
const Redacted = "[redacted]"

// IsCredentialHeader reports whether a header (name in any case) carries a
// credential: its value never reaches rules, templates or traces.
func IsCredentialHeader(name string) bool {
	name = strings.ToLower(name)
	switch name {
	case "authorization", "proxy-authorization", "cookie", "set-cookie",
		"x-hub-signature", "x-hub-signature-256", "x-gitlab-token",
		"x-gitea-signature", "x-gogs-signature", "x-api-key":
		return true
	}
	return strings.HasPrefix(name, "x-signature") ||
		strings.Contains(name, "token") || strings.Contains(name, "secret") ||
		strings.Contains(name, "signature") || strings.Contains(name, "auth") ||
		strings.Contains(name, "api-key") || strings.Contains(name, "apikey")
}

// redactHeaders returns h with credential values replaced by Redacted: h
// itself (and false) when it holds none, else a copy.
func redactHeaders(h map[string]string) (map[string]string, bool) {
	var out map[string]string
	for k := range h {
		if !IsCredentialHeader(k) {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(h))
			for k, v := range h {
				out[k] = v
			}
		}
		out[k] = Redacted
	}
	if out == nil {
		return h, false
	}
	return out, true
}

func redactedHeaders(h map[string]string) map[string]string {
	h, _ = redactHeaders(h)
	return h
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
		"headers":      redactedHeaders(e.Headers),
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
