// Package generic receives any JSON object from any sender, authenticated
// by a bearer token, an HMAC-SHA256 signature of the body, or both; or by
// a Standard Webhooks signature when the secret is a whsec_ one.
package generic

import (
	"strings"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/adapters/standardwebhooks"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// EventLabel is the metric label for a generic event name: a generic
// sender's names are not known in advance, so every name is "other" and a
// sender cannot make a series per request; "" (no X-Event) stays "".
func EventLabel(name string) string {
	if name == "" {
		return ""
	}
	return "other"
}

// DefaultHMACHeader carries the signature when Config.HMACHeader is empty.
const DefaultHMACHeader = "X-Signature-256"

// Config is a generic source's settings. With both credentials set,
// either is accepted; with neither, requests are not authenticated and
// whether that is allowed is the caller's call.
type Config struct {
	BearerToken string // Authorization: Bearer <token>
	// HMACSecret is the key of the HMAC-SHA256 over the raw body; a
	// Standard Webhooks secret (whsec_...) checks webhook-signature instead.
	HMACSecret string
	HMACHeader string // header with sha256=<hex>; DefaultHMACHeader if empty
}

// Receiver turns JSON webhooks into events.
type Receiver struct {
	token      string
	secret     []byte
	header     string // lower case, as in adapters.Request.Headers
	headerName string // as configured, for messages
	standard   bool   // secret is a Standard Webhooks one
	now        func() time.Time
}

// New returns a Receiver for cfg.
func New(cfg Config) *Receiver {
	name := cfg.HMACHeader
	if name == "" {
		name = DefaultHMACHeader
	}
	return &Receiver{
		token:      cfg.BearerToken,
		secret:     []byte(cfg.HMACSecret),
		header:     strings.ToLower(name),
		headerName: name,
		standard:   strings.HasPrefix(cfg.HMACSecret, "whsec_"),
		now:        time.Now,
	}
}

var _ adapters.Receiver = (*Receiver)(nil)

// Receive authenticates r, then decodes it.
func (g *Receiver) Receive(r *adapters.Request) (*event.Event, error) {
	if err := g.authenticate(r); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(r.Header("x-event"))
	if err := adapters.EventName("X-Event", name); err != nil {
		return nil, err
	}
	payload, err := adapters.DecodeJSONBody(r)
	if err != nil {
		return nil, err
	}
	ev := &event.Event{
		Source:  r.Source,
		Type:    "generic",
		Event:   name,
		Payload: payload,
		Headers: r.Headers,
		Raw:     r.Body,
	}
	key := strings.TrimSpace(r.Header("idempotency-key"))
	if g.standard {
		// Verify bounds the timestamp, not replays inside its window:
		// the message id de-duplicates those.
		key = strings.TrimSpace(r.Header(standardwebhooks.IDHeader))
	}
	if key != "" {
		ev.DedupKey = "generic:" + r.Source + ":" + key
	}
	switch id := strings.TrimSpace(r.Header("x-request-id")); {
	case id != "":
		ev.ID = id
	case key != "":
		ev.ID = key
	default:
		ev.ID = adapters.NewID()
	}
	return ev, nil
}

// AuthenticateHeaders refuses, before the body is read, a request to a
// source whose only credential is a bearer token and that does not carry
// it (adapters.HeaderAuthenticator). With a signature configured the body
// is needed to tell.
func (g *Receiver) AuthenticateHeaders(header func(string) string) error {
	if g.token == "" || len(g.secret) != 0 {
		return nil
	}
	auth := header("Authorization")
	if auth == "" {
		return adapters.Errorf(adapters.Unauthorized, "missing credentials: expected %s", g.expected())
	}
	if !adapters.BearerOK(auth, g.token) {
		return adapters.Errorf(adapters.Unauthorized, "invalid credentials")
	}
	return nil
}

// authenticate accepts any configured credential that is valid.
func (g *Receiver) authenticate(r *adapters.Request) error {
	if g.token == "" && len(g.secret) == 0 {
		return nil
	}
	auth := r.Header("authorization")
	if g.standard {
		if g.token != "" && auth != "" && adapters.BearerOK(auth, g.token) {
			return nil
		}
		return standardwebhooks.Verify(string(g.secret), r.Headers, r.Body, g.now(), 0)
	}
	sig := strings.TrimSpace(r.Header(g.header))
	if g.token != "" && auth != "" && adapters.BearerOK(auth, g.token) {
		return nil
	}
	if len(g.secret) != 0 && sig != "" && adapters.CheckSignature(g.headerName, sig, g.secret, r.Body) == nil {
		return nil
	}
	if (g.token == "" || auth == "") && (len(g.secret) == 0 || sig == "") {
		return adapters.Errorf(adapters.Unauthorized, "missing credentials: expected %s", g.expected())
	}
	return adapters.Errorf(adapters.Unauthorized, "invalid credentials")
}

// expected names the credentials this receiver takes, for the message a
// sender gets when it sent none.
func (g *Receiver) expected() string {
	var ways []string
	if g.token != "" {
		ways = append(ways, "Authorization: Bearer")
	}
	if len(g.secret) != 0 {
		ways = append(ways, g.headerName+": sha256=<hex>")
	}
	return strings.Join(ways, " or ")
}
