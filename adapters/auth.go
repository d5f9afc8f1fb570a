package adapters

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"slices"
	"strings"
)

// SecretEqual reports whether got equals want in time that depends on
// neither their contents nor their lengths: both sides are hashed first.
func SecretEqual(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// BearerOK reports whether the Authorization header value carries token
// as a bearer credential. The scheme is case-insensitive (RFC 9110), spaces
// around the credential are ignored, and an empty token matches nothing.
func BearerOK(header, token string) bool {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	ok := SecretEqual(strings.TrimSpace(cred), token)
	return ok && token != "" && strings.EqualFold(scheme, "bearer")
}

// CheckSignature verifies value, a header of the form sha256=<hex> named
// name, as the HMAC-SHA256 of body under secret (GitHub's
// X-Hub-Signature-256, and the generic sources' signatures). It returns
// nil or an Unauthorized *Error that names the header, never the values.
func CheckSignature(name, value string, secret, body []byte) error {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(value), "sha256=")
	if !ok {
		return Errorf(Unauthorized, "%s must start with sha256=", name)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return Errorf(Unauthorized, "malformed %s header", name)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return Errorf(Unauthorized, "%s does not match the body", name)
	}
	return nil
}

// credentialWords mark a header whose value is a credential.
var credentialWords = []string{"auth", "token", "secret", "signature", "cookie", "api-key", "apikey", "password"}

// Redacted is what RedactHeaders puts in place of a credential.
const Redacted = "[redacted]"

// IsCredentialHeader reports whether the header named name (lower case)
// carries a credential: Authorization, X-Hub-Signature-256, X-Gitlab-Token,
// Cookie, an API key... Its value must never reach a template, a trace, an
// answer or a log line.
func IsCredentialHeader(name string) bool {
	for _, w := range credentialWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

// RedactHeaders replaces in headers the value of every credential header
// (IsCredentialHeader, and the extra names given in lower case) with
// Redacted.
func RedactHeaders(headers map[string]string, extra ...string) {
	for k := range headers {
		if IsCredentialHeader(k) || slices.Contains(extra, k) {
			headers[k] = Redacted
		}
	}
}
