// Package gitlab receives GitLab webhooks. GitLab does not sign: it sends
// the hook's secret token as is in X-Gitlab-Token, and names the event in
// X-Gitlab-Event ("Push Hook", "Merge Request Hook", ...).
package gitlab

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// Config is a GitLab source's settings.
type Config struct {
	// Token is the hook's secret token. Empty means requests are not
	// authenticated; whether that is allowed is the caller's call.
	Token string
}

// Receiver turns GitLab webhooks into events.
type Receiver struct {
	token string
}

// New returns a Receiver for cfg.
func New(cfg Config) *Receiver {
	return &Receiver{token: cfg.Token}
}

var _ adapters.Receiver = (*Receiver)(nil)

const (
	tokenHeader       = "x-gitlab-token"
	eventHeader       = "x-gitlab-event"
	uuidHeader        = "x-gitlab-event-uuid"
	idempotencyHeader = "idempotency-key" // GitLab 17.4+, kept across retries
	maxEventLength    = 100
)

// eventNames are the events rules and built-in templates know by name.
// Any other X-Gitlab-Event becomes its words in snake case without " Hook":
// "Wiki Page Hook" is wiki_page, "Confidential Issue Hook" is
// confidential_issue (kept apart, so a rule on issue never forwards a
// confidential one by surprise). The header itself stays in Headers.
var eventNames = map[string]string{
	"Push Hook":          "push",
	"Tag Push Hook":      "tag_push",
	"Merge Request Hook": "merge_request",
	"Pipeline Hook":      "pipeline",
	"Job Hook":           "job",
	"Issue Hook":         "issue",
	"Note Hook":          "note",
	"Release Hook":       "release",
}

// Receive authenticates r, then decodes it. The token is checked before
// the body is parsed.
// AuthenticateHeaders checks X-Gitlab-Token alone, before the body is
// read (adapters.HeaderAuthenticator).
func (g *Receiver) AuthenticateHeaders(header func(string) string) error {
	return g.authenticate(header("X-Gitlab-Token"))
}

func (g *Receiver) Receive(r *adapters.Request) (*event.Event, error) {
	if err := g.authenticate(r.Header(tokenHeader)); err != nil {
		return nil, err
	}
	name, err := eventName(r.Header(eventHeader))
	if err != nil {
		return nil, err
	}
	payload, err := adapters.DecodeJSONBody(r)
	if err != nil {
		return nil, err
	}

	attrs, _ := payload["object_attributes"].(map[string]any)
	ev := &event.Event{
		Source:  r.Source,
		Type:    "gitlab",
		Event:   name,
		Action:  adapters.Str(attrs, "action"),
		Payload: payload,
		Headers: r.Headers,
		Repo:    adapters.Str(payload, "project", "path_with_namespace"),
		Sender:  adapters.Str(payload, "user_username"),
		Raw:     r.Body,
	}
	if ev.Action == "" {
		ev.Action = adapters.Str(payload, "action") // release and milestone events
	}
	if ev.Sender == "" {
		ev.Sender = adapters.Str(payload, "user", "username")
	}
	g.refs(ev, payload, attrs)

	id := strings.TrimSpace(r.Header(uuidHeader))
	if id == "" {
		id = strings.TrimSpace(r.Header(idempotencyHeader))
	}
	if id != "" {
		// A resend keeps its X-Gitlab-Event-UUID. Group and project hooks
		// can share one, so the source is part of the key.
		ev.ID = id
		ev.DedupKey = "gitlab:" + r.Source + ":" + id
	} else {
		ev.ID = adapters.NewID()
	}
	return ev, nil
}

// refs fills Ref, Branch and Tag, and Status for CI events. Pushes carry
// full refs; pipelines and jobs a bare one and a tag flag; releases a tag.
func (g *Receiver) refs(ev *event.Event, payload, attrs map[string]any) {
	switch ev.Event {
	case "push", "tag_push":
		ev.Ref = adapters.Str(payload, "ref")
		if b, ok := strings.CutPrefix(ev.Ref, "refs/heads/"); ok {
			ev.Branch = b
		} else if t, ok := strings.CutPrefix(ev.Ref, "refs/tags/"); ok {
			ev.Tag = t
		}
	case "pipeline":
		ev.Ref = adapters.Str(attrs, "ref")
		ev.Status = adapters.Str(attrs, "status")
		ev.Branch, ev.Tag = bareRef(ev.Ref, attrs["tag"])
	case "job":
		ev.Ref = adapters.Str(payload, "ref")
		ev.Status = adapters.Str(payload, "build_status")
		ev.Branch, ev.Tag = bareRef(ev.Ref, payload["tag"])
	case "release":
		ev.Tag = adapters.Str(payload, "tag")
	}
}

func bareRef(ref string, isTag any) (branch, tag string) {
	if isTag == true {
		return "", ref
	}
	return ref, ""
}

// authenticate compares the token in constant time: both sides are hashed
// first, so the time taken does not depend on the lengths either.
func (g *Receiver) authenticate(got string) error {
	if g.token == "" {
		return nil
	}
	if got == "" {
		return adapters.Errorf(adapters.Unauthorized, "missing X-Gitlab-Token header")
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(g.token))
	if subtle.ConstantTimeCompare(a[:], b[:]) != 1 {
		return adapters.Errorf(adapters.Unauthorized, "X-Gitlab-Token does not match the source's token")
	}
	return nil
}

// eventName normalises X-Gitlab-Event, which must be short printable text.
func eventName(header string) (string, error) {
	h := strings.TrimSpace(header)
	switch {
	case h == "":
		return "", adapters.Errorf(adapters.Malformed, "missing X-Gitlab-Event header")
	case len(h) > maxEventLength || !utf8.ValidString(h) || strings.IndexFunc(h, unicode.IsControl) >= 0:
		return "", adapters.Errorf(adapters.Malformed, "X-Gitlab-Event is not a short printable name")
	}
	if name, ok := eventNames[h]; ok {
		return name, nil
	}
	h = strings.TrimSuffix(h, " Hook")
	var b strings.Builder
	sep := false
	for _, c := range strings.ToLower(h) {
		if c < 0x80 && (unicode.IsLetter(c) || unicode.IsDigit(c)) {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(c)
			sep = false
		} else {
			sep = true
		}
	}
	if b.Len() == 0 {
		return "", adapters.Errorf(adapters.Malformed, "X-Gitlab-Event names no event")
	}
	return b.String(), nil
}
