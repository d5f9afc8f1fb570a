package adapters

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestBearerOK(t *testing.T) {
	const token = "s3cret-token"
	tests := []struct {
		header, token string
		ok            bool
	}{
		{"Bearer s3cret-token", token, true},
		{"bearer s3cret-token", token, true},
		{"BEARER s3cret-token", token, true},
		{"  Bearer   s3cret-token  ", token, true},
		{"Bearer s3cret-tokem", token, false},
		{"Bearer s3cret", token, false},
		{"Bearer s3cret-token-and-more", token, false},
		{"Bearer ", token, false},
		{"Bearer", token, false},
		{"s3cret-token", token, false},
		{"Basic s3cret-token", token, false},
		{"Token s3cret-token", token, false},
		{"", token, false},
		{"Bearer ", "", false},
		{"Bearer", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.ok, BearerOK(tt.header, tt.token), "BearerOK(%q, %q)", tt.header, tt.token)
	}
}

func TestSecretEqual(t *testing.T) {
	assert.True(t, SecretEqual("abc", "abc"))
	assert.True(t, SecretEqual("", ""))
	assert.False(t, SecretEqual("abc", "abd"))
	assert.False(t, SecretEqual("abc", "abcd"), "a prefix is not equal")
	assert.False(t, SecretEqual("", "a"))
}

func TestCheckSignature(t *testing.T) {
	// GitHub's documented test vector.
	secret, body := []byte("It's a Secret to Everybody"), []byte("Hello, World!")
	const good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	mac := hmac.New(sha256.New, []byte("other"))
	mac.Write(body)
	other := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	tests := []struct {
		name, sig string
		msg       string // "" means accepted
	}{
		{"vector", good, ""},
		{"upper-case hex", "sha256=" + strings.ToUpper(good[7:]), ""},
		{"spaces around", "  " + good + " ", ""},
		{"other key", other, "X-Sig does not match the body"},
		{"no prefix", good[7:], "X-Sig must start with sha256="},
		{"sha1 prefix", "sha1=" + good[7:], "X-Sig must start with sha256="},
		{"short", good[:20], "malformed X-Sig header"},
		{"long", good + "00", "malformed X-Sig header"},
		{"not hex", "sha256=xyz", "malformed X-Sig header"},
		{"empty", "", "X-Sig must start with sha256="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSignature("X-Sig", tt.sig, secret, body)
			if tt.msg == "" {
				assert.NoError(t, err)
				return
			}
			var e *Error
			if assert.ErrorAs(t, err, &e) {
				assert.Equal(t, Unauthorized, e.Kind)
				assert.Equal(t, tt.msg, e.Msg)
			}
		})
	}
}

func TestEventName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"", true},
		{"push", true},
		{"pull_request", true},
		{"deploy.finished", true},
		{"ci:build/step-2", true},
		{"Deploy_V2", true},
		{strings.Repeat("a", MaxEventName), true},
		{strings.Repeat("a", MaxEventName+1), false},
		{"\xff", false},
		{"push\xfe", false},
		{"部署", false}, // valid UTF-8, but not a name any sender documents
		{"push event", false},
		{"push\r\nX-Injected: 1", false},
		{"a\x00b", false},
		{`a"b`, false},
		{"{{.headers}}", false},
	}
	for _, tt := range tests {
		err := EventName("X-Event", tt.name)
		if tt.ok {
			assert.NoError(t, err, "%q", tt.name)
			continue
		}
		var e *Error
		if assert.ErrorAs(t, err, &e, "%q", tt.name) {
			assert.Equal(t, Malformed, e.Kind)
			assert.Contains(t, e.Msg, "X-Event")
			assert.True(t, utf8.ValidString(e.Msg), "the message is valid UTF-8")
			if len(tt.name) > 3 {
				assert.NotContains(t, e.Msg, tt.name, "the value is not echoed")
			}
		}
	}
}
