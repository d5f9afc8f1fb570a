// Package adapters holds what the inbound adapters (one package per sender:
// github, gitea, gitlab, alertmanager, grafana, generic) share: the request
// they read, the errors that decide the HTTP answer, authentication
// (auth.go), event names (event.go) and JSON decoding with the limits every
// sender gets (json.go). Each turns a request into an event.Event.
package adapters

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"

	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// Request is what an inbound adapter sees of one webhook. The HTTP layer
// fills it with copies: an adapter may keep references to anything in it.
type Request struct {
	Source      string            // the source's name in the config
	ContentType string            // media type without parameters, lower case
	Headers     map[string]string // every header, lower-case names
	Body        []byte            // the raw body, size-limited, not decompressed
	// Token is the secret in the URL (/hooks/<name>/<token> or
	// ?token=), for senders that sign nothing (gewe_callback).
	Token string
}

// Header returns the named header; name must be lower case.
func (r *Request) Header(name string) string { return r.Headers[name] }

// Receiver authenticates and decodes one webhook into an event. It returns
// an *Error for requests that can never succeed (the answer is then 4xx and
// the sender gives up) and never retains the Receiver's state across calls.
type Receiver interface {
	Receive(r *Request) (*event.Event, error)
}

// HeaderAuthenticator is a Receiver whose credentials are all in the
// headers (a bearer token, basic auth, GitLab's token): the intake checks
// them before it reads, or makes room for, the body, so that an
// unauthenticated sender never holds body memory. header looks up a
// request header by name, in any case. nil means nothing against the
// request yet: Receive still decides.
type HeaderAuthenticator interface {
	AuthenticateHeaders(header func(name string) string) error
}

// Kind classifies why a request was refused; it decides the HTTP answer.
type Kind int

const (
	Malformed    Kind = iota // 400: body or headers can never be decoded
	Unauthorized             // 401: bad or missing credentials
	TooLarge                 // 413: body over the limit
	Unsupported              // 415: content type or encoding not accepted
)

// Error is a refusal with a message safe to show the sender: it never
// contains a secret or the body.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Status is the HTTP status code for the refusal.
func (e *Error) Status() int {
	switch e.Kind {
	case Unauthorized:
		return http.StatusUnauthorized
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case Unsupported:
		return http.StatusUnsupportedMediaType
	default:
		return http.StatusBadRequest
	}
}

// Errorf builds an *Error of the given kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// StatusOf returns the HTTP status for err: the *Error's, or 400.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status()
	}
	return http.StatusBadRequest
}

// NewID returns a random identifier shaped like a version 4 UUID, the
// shape of GitHub's X-GitHub-Delivery, for events whose sender gave none.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand aborts the program instead
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// MaxDepth bounds JSON nesting. Real payloads stay under 20 levels; a deep
// one costs stack and time in every decoder, so it is refused up front.
const MaxDepth = 64

// DecodeObject decodes body, which must be one JSON object, into a map.
// Numbers become int64 when they are integers and float64 otherwise, so
// ids and counts print as written ({{ .payload.number }} is "42", not
// "4.2e+01") and compare as numbers in rules.
func DecodeObject(body []byte) (map[string]any, error) {
	if err := checkDepth(body, MaxDepth); err != nil {
		return nil, err
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, Errorf(Malformed, "empty body: expected a JSON object")
	}
	if trimmed[0] != '{' {
		return nil, Errorf(Malformed, "body is not a JSON object")
	}
	m, err := decodeJSON(body)
	if err != nil {
		return nil, Errorf(Malformed, "invalid JSON: %v", err)
	}
	return m, nil
}

// DecodeJSONBody decodes the body of r, whose content type must be empty or
// application/json, with DecodeObject. Another content type is Unsupported.
func DecodeJSONBody(r *Request) (map[string]any, error) {
	if r.ContentType != "" && r.ContentType != "application/json" {
		return nil, Errorf(Unsupported,
			"unsupported content type %.64q: expected application/json", r.ContentType)
	}
	return DecodeObject(r.Body)
}

// checkDepth refuses JSON nested deeper than max without decoding it.
func checkDepth(b []byte, max int) error {
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return Errorf(Malformed, "JSON nested deeper than %d levels", max)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
}
