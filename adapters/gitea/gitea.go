// Package gitea receives Gitea and Forgejo webhooks. Their payloads are
// GitHub's shape (repository.full_name, sender.login, ref, action); their
// headers are their own: X-Gitea-Signature (Forgejo: X-Forgejo-Signature)
// is the lowercase hex HMAC-SHA256 of the raw body with no prefix,
// X-Gitea-Event the GitHub-like event name, X-Gitea-Event-Type the finer
// one, X-Gitea-Delivery the delivery's UUID.
package gitea

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// Config is a Gitea or Forgejo source's settings.
type Config struct {
	// Secret is the webhook secret set on the hook. Empty means requests
	// are not authenticated; whether that is allowed is the caller's call.
	Secret string
}

// Receiver turns Gitea and Forgejo webhooks into events.
type Receiver struct {
	secret []byte
}

// New returns a Receiver for cfg.
func New(cfg Config) *Receiver {
	return &Receiver{secret: []byte(cfg.Secret)}
}

var _ adapters.Receiver = (*Receiver)(nil)

const maxEventLength = 100

// header returns the Forgejo header of that name, else Gitea's: Forgejo
// sends both, older Forgejo and Gitea only X-Gitea-*.
func header(r *adapters.Request, name string) string {
	if v := strings.TrimSpace(r.Header("x-forgejo-" + name)); v != "" {
		return v
	}
	return strings.TrimSpace(r.Header("x-gitea-" + name))
}

// Receive authenticates r, then decodes it. The signature is checked
// before anything else is read.
func (g *Receiver) Receive(r *adapters.Request) (*event.Event, error) {
	if err := g.verify(r); err != nil {
		return nil, err
	}
	// X-Gitea-Event is empty for the events without a GitHub name
	// (package, status, schedule): X-Gitea-Event-Type names those.
	name := header(r, "event")
	if name == "" {
		name = header(r, "event-type")
	}
	if err := checkEvent(name); err != nil {
		return nil, err
	}
	payload, err := adapters.DecodeJSONOrForm(r, true)
	if err != nil {
		return nil, err
	}

	delivery := header(r, "delivery")
	ev := &event.Event{
		Source:  r.Source,
		Type:    "gitea",
		Event:   name,
		Action:  adapters.Str(payload, "action"),
		ID:      delivery,
		Payload: payload,
		Headers: r.Headers,
		Repo:    adapters.Str(payload, "repository", "full_name"),
		Sender:  adapters.Str(payload, "sender", "login"),
		Ref:     adapters.Str(payload, "ref"),
		Raw:     r.Body,
	}
	if ev.Sender == "" {
		ev.Sender = adapters.Str(payload, "sender", "username")
	}
	if delivery != "" {
		// A redelivery keeps its X-Gitea-Delivery, as GitHub's does.
		ev.DedupKey = "gitea:" + delivery
	} else {
		ev.ID = adapters.NewID()
	}
	ev.Branch, ev.Tag = branchOrTag(ev.Ref, adapters.Str(payload, "ref_type"))
	return ev, nil
}

// verify checks X-Forgejo-Signature or X-Gitea-Signature against the raw
// body. Gitea sends the header empty when the hook has no secret.
func (g *Receiver) verify(r *adapters.Request) error {
	if len(g.secret) == 0 {
		return nil
	}
	sig := header(r, "signature")
	if sig == "" {
		return adapters.Errorf(adapters.Unauthorized, "missing X-Gitea-Signature (or X-Forgejo-Signature) header")
	}
	got, err := hex.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return adapters.Errorf(adapters.Unauthorized, "malformed X-Gitea-Signature header: expected 64 hex digits")
	}
	mac := hmac.New(sha256.New, g.secret)
	mac.Write(r.Body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return adapters.Errorf(adapters.Unauthorized, "X-Gitea-Signature does not match the body")
	}
	return nil
}

// checkEvent refuses an event name that is missing or not short printable
// UTF-8: it ends up in rules, logs and messages.
func checkEvent(name string) error {
	switch {
	case name == "":
		return adapters.Errorf(adapters.Malformed, "missing X-Gitea-Event header")
	case len(name) > maxEventLength || !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return adapters.Errorf(adapters.Malformed, "X-Gitea-Event is not a short printable name")
	}
	return nil
}

// branchOrTag derives the branch or tag a ref names: push refs are full
// (refs/heads/main); create and delete send a bare name and ref_type.
func branchOrTag(ref, refType string) (branch, tag string) {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return b, ""
	}
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return "", t
	}
	if strings.HasPrefix(ref, "refs/") {
		return "", ""
	}
	switch refType {
	case "branch":
		return ref, ""
	case "tag":
		return "", ref
	}
	return "", ""
}
