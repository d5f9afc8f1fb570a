package bridge

import (
	"os"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// ReadTokenEnv names the environment variable with the console's and the
// admin API's read-only token: it opens the pages and the GET routes,
// never a retry or a reload. Unset: only the admin token opens them.
const ReadTokenEnv = "GEWE_BRIDGE_READ_TOKEN"

// consoleBackend is what the web console (bridge/ui) reads of the service.
type consoleBackend struct{ s *Service }

func (b consoleBackend) Ruleset() *rules.Ruleset { return b.s.state.Load().rules }

// Tokens are the admin and read-only tokens: server.read_token, else
// Options.ReadToken ($GEWE_BRIDGE_READ_TOKEN).
func (b consoleBackend) Tokens() (admin, read string) {
	srv := b.s.Config().Server
	read = string(srv.ReadToken)
	if read == "" {
		read = b.s.opts.ReadToken
	}
	return string(srv.AdminToken), read
}

// Receive decodes a playground request with the source's adapter, as the
// hook would, credentials unchecked (as `gewe-bridge test` does), and
// redacts its headers.
func (b consoleBackend) Receive(source string, req *adapters.Request) (*event.Event, error) {
	cfg := b.s.Config()
	src := NewSource(source, cfg.Sources[source], cfg.Limits, NoCredentials)
	if int64(len(req.Body)) > src.Limit {
		return nil, adapters.Errorf(adapters.TooLarge, "body is %d bytes; the limit for this source is %d", len(req.Body), src.Limit)
	}
	if src.DeliveryHeader != "" && req.Headers[src.DeliveryHeader] == "" {
		req.Headers[src.DeliveryHeader] = "playground"
	}
	ev, err := src.Receiver.Receive(req)
	if err != nil {
		return nil, err
	}
	ev.Headers = event.RedactHeaders(ev.Headers, src.CredentialHeader)
	return ev, nil
}

func (b consoleBackend) TraceRequest(seq uint64) (*adapters.Request, bool) {
	r, ok := b.s.traces.request(seq)
	if !ok {
		return nil, false
	}
	return &adapters.Request{Source: r.Source, Headers: r.Headers, Body: r.Body}, true
}

// readToken is the read-only token from the environment.
func readToken() string { return os.Getenv(ReadTokenEnv) }
