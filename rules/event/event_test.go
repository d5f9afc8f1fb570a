package event

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRedactHeaders(t *testing.T) {
	in := map[string]string{
		"authorization":       "Bearer t0ken",
		"proxy-authorization": "Basic eA==",
		"x-hub-signature-256": "sha256=00",
		"x-hub-signature":     "sha1=00",
		"x-signature-256":     "sha256=11",
		"x-gitlab-token":      "glt",
		"x-api-key":           "k",
		"cookie":              "session=1",
		"x-my-sig":            "custom",
		"x-github-event":      "push",
		"content-type":        "application/json",
		"idempotency-key":     "job-7",
	}
	out := RedactHeaders(in, "x-my-sig")
	for _, k := range []string{"authorization", "proxy-authorization", "x-hub-signature-256", "x-hub-signature",
		"x-signature-256", "x-gitlab-token", "x-api-key", "cookie", "x-my-sig"} {
		assert.Equal(t, Redacted, out[k], k)
	}
	for _, k := range []string{"x-github-event", "content-type", "idempotency-key"} {
		assert.Equal(t, in[k], out[k], k)
	}
}

// TestRedactHeadersCopies: the caller's map is left as it was.
func TestRedactHeadersCopies(t *testing.T) {
	in := map[string]string{"authorization": "Bearer t", "content-type": "application/json"}
	out := RedactHeaders(in)
	assert.Equal(t, "Bearer t", in["authorization"])
	assert.Equal(t, Redacted, out["authorization"])
	clean := map[string]string{"content-type": "application/json"}
	assert.Equal(t, clean, RedactHeaders(clean))
}

// TestRedactHeadersOnce: headers already redacted are not copied again, and
// the in-place form changes the map it is given.
func TestRedactHeadersOnce(t *testing.T) {
	h := map[string]string{"authorization": "Bearer t", "x-my-sig": "s", "accept": "*/*"}
	RedactHeadersInPlace(h, "x-my-sig")
	assert.Equal(t, map[string]string{"authorization": Redacted, "x-my-sig": Redacted, "accept": "*/*"}, h)
	again := RedactHeaders(h)
	h["accept"] = "changed"
	assert.Equal(t, "changed", again["accept"], "no copy: nothing was left to redact")
}
