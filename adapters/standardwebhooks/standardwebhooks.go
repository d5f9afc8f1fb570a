// Package standardwebhooks verifies requests signed as the Standard
// Webhooks specification says (standardwebhooks.com): an HMAC-SHA256 of
// "webhook-id.webhook-timestamp.body" keyed with the base64 secret after
// its whsec_ prefix, sent as one or more "v1,<base64>" entries in
// webhook-signature. Senders that sign this way (Svix and the services
// built on it, OpenAI, Clerk, Resend...) post to generic sources.
//
// Verify checks the signature and that the timestamp is recent; it cannot
// see a replay within the tolerance. Callers de-duplicate on webhook-id,
// which the specification keeps unchanged across retries.
package standardwebhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters"
)

// The headers of a signed request, lower case as in adapters.Request.
const (
	IDHeader        = "webhook-id"
	TimestampHeader = "webhook-timestamp"
	SignatureHeader = "webhook-signature"
)

// DefaultTolerance is how far webhook-timestamp may be from now, either
// way, when Verify is given no tolerance: the specification's five minutes.
const DefaultTolerance = 5 * time.Minute

const secretPrefix = "whsec_"

// maxIDLength bounds webhook-id: it becomes part of a de-duplication key.
const maxIDLength = 256

// DecodeSecret returns the HMAC key of a secret: the standard base64 after
// an optional whsec_ prefix. Check a configured secret with it at load time:
// Verify reports a bad secret as a plain error, not as the sender's fault.
func DecodeSecret(secret string) ([]byte, error) {
	s := strings.TrimPrefix(strings.TrimSpace(secret), secretPrefix)
	if s == "" {
		return nil, errors.New("standard webhooks secret is empty")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("standard webhooks secret is not base64 after its whsec_ prefix")
	}
	return key, nil
}

// Verify checks a request's signature headers (lower-case names) against
// body. A timestamp further than tolerance from now, either way, is
// refused (tolerance <= 0 means DefaultTolerance). A refusal is an
// *adapters.Error of kind Unauthorized whose message never contains the
// secret or a signature; a secret DecodeSecret refuses is a plain error.
func Verify(secret string, headers map[string]string, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := DecodeSecret(secret)
	if err != nil {
		return err
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	id := strings.TrimSpace(headers[IDHeader])
	ts := strings.TrimSpace(headers[TimestampHeader])
	sigs := strings.TrimSpace(headers[SignatureHeader])
	switch {
	case id == "":
		return adapters.Errorf(adapters.Unauthorized, "missing webhook-id header")
	case ts == "":
		return adapters.Errorf(adapters.Unauthorized, "missing webhook-timestamp header")
	case sigs == "":
		return adapters.Errorf(adapters.Unauthorized, "missing webhook-signature header")
	case len(id) > maxIDLength:
		return adapters.Errorf(adapters.Unauthorized, "webhook-id is longer than %d bytes", maxIDLength)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return adapters.Errorf(adapters.Unauthorized, "webhook-timestamp is not a number of seconds")
	}
	// Compared in seconds: no overflow for any int64 the header can hold.
	age := now.Unix() - secs
	limit := int64(tolerance / time.Second)
	if age > limit {
		return adapters.Errorf(adapters.Unauthorized, "webhook-timestamp is more than %s old", tolerance)
	}
	if -age > limit {
		return adapters.Errorf(adapters.Unauthorized, "webhook-timestamp is more than %s in the future", tolerance)
	}

	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	want := mac.Sum(nil)

	// Every v1 entry is compared, so which one matched takes no longer;
	// other versions (v1a is asymmetric) are skipped.
	ok := false
	for _, entry := range strings.Fields(sigs) {
		version, sig, found := strings.Cut(entry, ",")
		if !found || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return adapters.Errorf(adapters.Unauthorized, "webhook-signature does not match the body")
	}
	return nil
}
