package generic

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/test/fixtures"
)

func sign(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func request(body []byte, headers map[string]string) *adapters.Request {
	h := map[string]string{"user-agent": "curl/8.5.0"}
	for k, v := range headers {
		h[k] = v
	}
	return &adapters.Request{Source: "ci", ContentType: "application/json", Headers: h, Body: body}
}

func requireKind(t *testing.T, err error, kind adapters.Kind) *adapters.Error {
	t.Helper()
	var e *adapters.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, kind, e.Kind, "error %q", e.Msg)
	return e
}

func TestReceive(t *testing.T) {
	body := fixtures.Read(t, "github/pull_request.opened.json")
	r := request(body, map[string]string{"x-event": "deploy"})
	ev, err := New(Config{}).Receive(r)
	require.NoError(t, err)

	assert.Equal(t, "ci", ev.Source)
	assert.Equal(t, "generic", ev.Type)
	assert.Equal(t, "deploy", ev.Event)
	assert.Equal(t, int64(2), ev.Payload["number"], "integers stay integers")
	assert.Equal(t, r.Headers, ev.Headers)
	assert.Equal(t, body, ev.Raw)
	assert.Len(t, ev.ID, 36, "a generated, UUID-shaped id")
	assert.Empty(t, ev.DedupKey)
	assert.Empty(t, ev.Repo, "generic reads no sender-specific fields")
}

func TestEventNames(t *testing.T) {
	body := []byte(`{}`)
	for _, tt := range []struct {
		event string
		ok    bool
	}{
		{"", true}, {"deploy", true}, {"  deploy.finished ", true}, {"ci:build/step-2", true},
		{"\xff", false}, {"deploy\xfe", false}, {strings.Repeat("e", 65), false},
		{"deploy now", false}, {"a\x00", false}, {"部署", false},
	} {
		ev, err := New(Config{}).Receive(request(body, map[string]string{"x-event": tt.event}))
		if tt.ok {
			require.NoError(t, err, "%q", tt.event)
			assert.Equal(t, strings.TrimSpace(tt.event), ev.Event)
			continue
		}
		e := requireKind(t, err, adapters.Malformed)
		assert.Contains(t, e.Msg, "X-Event")
	}
	assert.Equal(t, "", EventLabel(""))
	assert.Equal(t, "other", EventLabel("deploy"))
}

func TestIDs(t *testing.T) {
	tests := []struct {
		name        string
		headers     map[string]string
		id, dedup   string
		generatedID bool
	}{
		{"none", nil, "", "", true},
		{"no X-Event", map[string]string{}, "", "", true},
		{"request id", map[string]string{"x-request-id": "req-1"}, "req-1", "", false},
		{"idempotency key", map[string]string{"idempotency-key": "k-1"}, "k-1", "generic:ci:k-1", false},
		{"both", map[string]string{"x-request-id": "req-1", "idempotency-key": "k-1"}, "req-1", "generic:ci:k-1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := New(Config{}).Receive(request([]byte(`{"a":1}`), tt.headers))
			require.NoError(t, err)
			assert.Equal(t, "", ev.Event)
			assert.Equal(t, tt.dedup, ev.DedupKey)
			if tt.generatedID {
				assert.Len(t, ev.ID, 36)
			} else {
				assert.Equal(t, tt.id, ev.ID)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	const secret, token = "hmac-key", "bearer-token"
	body := []byte(`{"build":"green","number":7}`)
	good := sign(secret, body)

	tests := []struct {
		name    string
		config  Config
		headers map[string]string
		ok      bool
	}{
		{"none configured", Config{}, nil, true},
		{"bearer", Config{BearerToken: token}, map[string]string{"authorization": "Bearer " + token}, true},
		{"bearer wrong", Config{BearerToken: token}, map[string]string{"authorization": "Bearer bearer-tokem"}, false},
		{"bearer other scheme", Config{BearerToken: token}, map[string]string{"authorization": "Token " + token}, false},
		{"bearer missing", Config{BearerToken: token}, nil, false},
		{"hmac", Config{HMACSecret: secret}, map[string]string{"x-signature-256": good}, true},
		{"hmac upper-case hex", Config{HMACSecret: secret}, map[string]string{"x-signature-256": "sha256=" + strings.ToUpper(good[7:])}, true},
		{"hmac wrong key", Config{HMACSecret: secret}, map[string]string{"x-signature-256": sign("other", body)}, false},
		{"hmac no prefix", Config{HMACSecret: secret}, map[string]string{"x-signature-256": good[7:]}, false},
		{"hmac short", Config{HMACSecret: secret}, map[string]string{"x-signature-256": good[:20]}, false},
		{"hmac not hex", Config{HMACSecret: secret}, map[string]string{"x-signature-256": "sha256=xyz"}, false},
		{"hmac missing", Config{HMACSecret: secret}, nil, false},
		{"hmac in another header", Config{HMACSecret: secret}, map[string]string{"x-hub-signature-256": good}, false},
		{"hmac custom header", Config{HMACSecret: secret, HMACHeader: "X-Hub-Signature-256"}, map[string]string{"x-hub-signature-256": good}, true},
		{"hmac custom header, default sent", Config{HMACSecret: secret, HMACHeader: "X-Hub-Signature-256"}, map[string]string{"x-signature-256": good}, false},
		{"both, bearer", Config{BearerToken: token, HMACSecret: secret}, map[string]string{"authorization": "Bearer " + token}, true},
		{"both, hmac", Config{BearerToken: token, HMACSecret: secret}, map[string]string{"x-signature-256": good}, true},
		{"both, wrong bearer, good hmac", Config{BearerToken: token, HMACSecret: secret},
			map[string]string{"authorization": "Bearer nope", "x-signature-256": good}, true},
		{"both, good bearer, wrong hmac", Config{BearerToken: token, HMACSecret: secret},
			map[string]string{"authorization": "Bearer " + token, "x-signature-256": "sha256=00"}, true},
		{"both, both wrong", Config{BearerToken: token, HMACSecret: secret},
			map[string]string{"authorization": "Bearer nope", "x-signature-256": "sha256=00"}, false},
		{"both, none", Config{BearerToken: token, HMACSecret: secret}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := New(tt.config).Receive(request(body, tt.headers))
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, "green", ev.Payload["build"])
				return
			}
			e := requireKind(t, err, adapters.Unauthorized)
			assert.NotContains(t, e.Msg, secret)
			assert.NotContains(t, e.Msg, token)
			assert.NotContains(t, e.Msg, good[7:])
		})
	}

	t.Run("missing names what is expected", func(t *testing.T) {
		_, err := New(Config{BearerToken: token, HMACSecret: secret, HMACHeader: "X-Sig"}).Receive(request(body, nil))
		e := requireKind(t, err, adapters.Unauthorized)
		assert.Contains(t, e.Msg, "Authorization: Bearer")
		assert.Contains(t, e.Msg, "X-Sig")
	})

	t.Run("checked before the body", func(t *testing.T) {
		r := request([]byte(`[`), nil)
		r.ContentType = "text/plain"
		_, err := New(Config{HMACSecret: secret}).Receive(r)
		requireKind(t, err, adapters.Unauthorized)
	})
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		kind                    adapters.Kind
	}{
		{"truncated JSON", "application/json", `{"a":`, adapters.Malformed},
		{"array", "application/json", `[{"a":1}]`, adapters.Malformed},
		{"string", "application/json", `"hello"`, adapters.Malformed},
		{"number", "application/json", `1`, adapters.Malformed},
		{"null", "application/json", `null`, adapters.Malformed},
		{"empty", "application/json", ``, adapters.Malformed},
		{"invalid UTF-8", "application/json", "{\"a\":\"\xff\"}", adapters.Malformed},
		{"text/plain", "text/plain", `{}`, adapters.Unsupported},
		{"form", "application/x-www-form-urlencoded", `a=1`, adapters.Unsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request([]byte(tt.body), nil)
			r.ContentType = tt.contentType
			_, err := New(Config{}).Receive(r)
			requireKind(t, err, tt.kind)
		})
	}

	r := request([]byte(`{"a":1}`), nil)
	r.ContentType = ""
	_, err := New(Config{}).Receive(r)
	require.NoError(t, err, "no content type is read as JSON")
}

func FuzzGenericReceive(f *testing.F) {
	f.Add(fixtures.Read(f, "alertmanager/firing.json"), "application/json", "")
	f.Add(fixtures.Read(f, "github/push.json"), "", "sha256=00")
	f.Add([]byte(`{"a":[1,2.5,-3e400]}`), "application/json", "sha256=zz")
	f.Add([]byte(`[]`), "text/plain", "")
	f.Add([]byte(`{}`), "application/json", "\xff")

	const secret = "k"
	open := New(Config{})
	guarded := New(Config{BearerToken: "t", HMACSecret: secret})
	f.Fuzz(func(t *testing.T, body []byte, contentType, signature string) {
		for _, r := range []struct {
			g   *Receiver
			sig string
		}{{open, signature}, {guarded, signature}, {guarded, sign(secret, body)}} {
			ev, err := r.g.Receive(&adapters.Request{
				ContentType: contentType,
				Headers:     map[string]string{"x-signature-256": r.sig, "idempotency-key": signature, "x-event": signature},
				Body:        body,
			})
			if err != nil {
				var e *adapters.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T) is not an *adapters.Error", err, err)
				}
				continue
			}
			if ev == nil || ev.Type != "generic" || ev.ID == "" || ev.Payload == nil {
				t.Fatalf("incomplete event %+v", ev)
			}
			if err := adapters.EventName("X-Event", ev.Event); err != nil {
				t.Fatalf("event name %q accepted: %v", ev.Event, err)
			}
		}
	})
}

// TestStandardWebhooks: with a whsec_ secret, a generic source checks the
// Standard Webhooks signature and de-duplicates on webhook-id.
func TestStandardWebhooks(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	body := []byte(`{"type":"deploy.done","service":"api"}`)
	now := time.Unix(1_800_000_000, 0)
	signed := func(id string, ts time.Time, b []byte) map[string]string {
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%d.%s", id, ts.Unix(), b)
		return map[string]string{"webhook-id": id, "webhook-timestamp": fmt.Sprint(ts.Unix()),
			"webhook-signature": "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))}
	}
	r := New(Config{HMACSecret: secret})
	r.now = func() time.Time { return now }
	tests := []struct {
		name    string
		headers map[string]string
		body    []byte
		ok      bool
	}{
		{"signed", signed("msg_1", now, body), body, true},
		{"signed a minute ago", signed("msg_2", now.Add(-time.Minute), body), body, true},
		{"body changed", signed("msg_3", now, body), []byte(`{"type":"deploy.done","service":"db"}`), false},
		{"too old (a replay)", signed("msg_4", now.Add(-10*time.Minute), body), body, false},
		{"no signature", map[string]string{}, body, false},
		{"the HMAC header instead", map[string]string{"x-signature-256": sign(secret, body)}, body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := r.Receive(request(tt.body, tt.headers))
			if !tt.ok {
				requireKind(t, err, adapters.Unauthorized)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "generic:ci:"+tt.headers["webhook-id"], ev.DedupKey, "the message id de-duplicates")
		})
	}
}

// TestAuthenticateHeaders: a bearer-only source refuses from the headers
// alone; one with a signature cannot tell before the body.
func TestAuthenticateHeaders(t *testing.T) {
	h := func(auth string) func(string) string {
		return func(name string) string {
			if strings.EqualFold(name, "Authorization") {
				return auth
			}
			return ""
		}
	}
	bearer := New(Config{BearerToken: "tok"})
	assert.NoError(t, bearer.AuthenticateHeaders(h("Bearer tok")))
	requireKind(t, bearer.AuthenticateHeaders(h("Bearer nope")), adapters.Unauthorized)
	requireKind(t, bearer.AuthenticateHeaders(h("")), adapters.Unauthorized)
	both := New(Config{BearerToken: "tok", HMACSecret: "s"})
	assert.NoError(t, both.AuthenticateHeaders(h("")), "the signature may still come with the body")
	assert.NoError(t, New(Config{}).AuthenticateHeaders(h("")))
}
