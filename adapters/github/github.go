// Package github receives GitHub webhooks (and Gitea's and Forgejo's, which
// send the same headers): it checks X-Hub-Signature-256 over the raw body,
// then decodes the payload into an event.
package github

import (
	"strings"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// Config is a GitHub source's settings.
type Config struct {
	// Secret is the webhook secret set on the hook. Empty means requests
	// are not authenticated; whether that is allowed is the caller's call.
	Secret string
}

// Receiver turns GitHub webhooks into events.
type Receiver struct {
	secret []byte
}

// New returns a Receiver for cfg.
func New(cfg Config) *Receiver {
	return &Receiver{secret: []byte(cfg.Secret)}
}

var _ adapters.Receiver = (*Receiver)(nil)

const (
	signatureHeader = "x-hub-signature-256"
	eventHeader     = "x-github-event"
	deliveryHeader  = "x-github-delivery"
)

// Receive authenticates r, then decodes it. The signature is checked
// before the body is parsed, so an unauthenticated sender never reaches
// the decoder.
func (g *Receiver) Receive(r *adapters.Request) (*event.Event, error) {
	if err := g.verify(r); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(r.Header(eventHeader))
	if name == "" {
		return nil, adapters.Errorf(adapters.Malformed, "missing X-GitHub-Event header")
	}
	if err := adapters.EventName("X-GitHub-Event", name); err != nil {
		return nil, err
	}
	payload, err := adapters.DecodeJSONOrForm(r, false)
	if err != nil {
		return nil, err
	}

	delivery := strings.TrimSpace(r.Header(deliveryHeader))
	ev := &event.Event{
		Source:  r.Source,
		Type:    "github",
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
	if delivery != "" {
		// A redelivery keeps its X-GitHub-Delivery: the natural key.
		ev.DedupKey = "github:" + delivery
	} else {
		ev.ID = adapters.NewID()
	}
	ev.Branch, ev.Tag = branchOrTag(ev.Ref, adapters.Str(payload, "ref_type"))
	if ev.Branch == "" && ev.Tag == "" {
		ev.Branch = headBranch(payload)
	}
	return ev, nil
}

// verify checks X-Hub-Signature-256 against the raw body. The legacy
// SHA-1 X-Hub-Signature is never a fallback.
func (g *Receiver) verify(r *adapters.Request) error {
	if len(g.secret) == 0 {
		return nil
	}
	sig := strings.TrimSpace(r.Header(signatureHeader))
	if sig == "" {
		if r.Header("x-hub-signature") != "" {
			return adapters.Errorf(adapters.Unauthorized,
				"missing X-Hub-Signature-256 header (the SHA-1 X-Hub-Signature is not accepted)")
		}
		return adapters.Errorf(adapters.Unauthorized, "missing X-Hub-Signature-256 header")
	}
	return adapters.CheckSignature("X-Hub-Signature-256", sig, g.secret, r.Body)
}

// branchOrTag derives the branch or tag a ref names. push refs are full
// (refs/heads/main); create and delete send a bare name and say what it is
// in ref_type.
func branchOrTag(ref, refType string) (branch, tag string) {
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		return b, ""
	}
	if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		return "", t
	}
	if strings.HasPrefix(ref, "refs/") {
		return "", "" // refs/pull/..., refs/notes/...: neither
	}
	switch refType {
	case "branch":
		return ref, ""
	case "tag":
		return "", ref
	}
	return "", ""
}

// headBranch is the branch CI events ran on: they carry no ref, and
// `branch == "main"` is what a rule about failing builds asks.
func headBranch(p map[string]any) string {
	for _, path := range [][]string{
		{"workflow_run", "head_branch"},
		{"workflow_job", "head_branch"},
		{"check_run", "check_suite", "head_branch"},
		{"check_suite", "head_branch"},
	} {
		if b := adapters.Str(p, path...); b != "" {
			return b
		}
	}
	return ""
}
