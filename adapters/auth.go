package adapters

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
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
