package gitea

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/test/fixtures"
)

const (
	secret   = "3gEsCfjlV2ugRwgpU"
	delivery = "f6266f16-1bf3-46a5-9ea4-602e06ead473"
)

func sign(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// request is a signed JSON delivery as Gitea sends it: its own headers,
// Gogs' and GitHub's (services/webhook/deliver.go).
func request(event, eventType string, body []byte) *adapters.Request {
	sig := sign(secret, body)
	return &adapters.Request{
		Source:      "tea",
		ContentType: "application/json",
		Headers: map[string]string{
			"x-gitea-delivery":    delivery,
			"x-gitea-event":       event,
			"x-gitea-event-type":  eventType,
			"x-gitea-signature":   sig,
			"x-gogs-delivery":     delivery,
			"x-gogs-event":        event,
			"x-gogs-signature":    sig,
			"x-github-delivery":   delivery,
			"x-github-event":      event,
			"x-hub-signature-256": "sha256=" + sig,
			"user-agent":          "Gitea/1.22.0",
		},
		Body: body,
	}
}

// forgejo turns r into what Forgejo sends: X-Forgejo-* beside X-Gitea-*.
func forgejo(r *adapters.Request) *adapters.Request {
	for _, name := range []string{"delivery", "event", "event-type", "signature"} {
		r.Headers["x-forgejo-"+name] = r.Headers["x-gitea-"+name]
	}
	r.Headers["user-agent"] = "Forgejo/9.0.0"
	return r
}

func requireKind(t *testing.T, err error, kind adapters.Kind) *adapters.Error {
	t.Helper()
	var e *adapters.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, kind, e.Kind, "error %q", e.Msg)
	return e
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		file, event, eventType string
		action, repo, sender   string
		ref, branch, tag       string
	}{
		{"push.json", "push", "push", "", "gitea/webhooks", "gitea", "refs/heads/develop", "develop", ""},
		{"pull_request.opened.json", "pull_request", "pull_request", "opened", "gordon/hello-world", "gordon", "", "", ""},
		{"create.tag.json", "create", "create", "", "gordon/hello-world", "gordon", "v1.0.0", "", "v1.0.0"},
		{"release.published.json", "release", "release", "published", "anbraten/demo", "anbraten", "", "", ""},
	}
	g := New(Config{Secret: secret})
	for _, tt := range tests {
		for _, fj := range []bool{false, true} {
			name := tt.file
			if fj {
				name += "/forgejo"
			}
			t.Run(name, func(t *testing.T) {
				body := fixtures.Read(t, "gitea/"+tt.file)
				r := request(tt.event, tt.eventType, body)
				if fj {
					r = forgejo(r)
				}
				ev, err := g.Receive(r)
				require.NoError(t, err)

				assert.Equal(t, "tea", ev.Source)
				assert.Equal(t, "gitea", ev.Type)
				assert.Equal(t, tt.event, ev.Event)
				assert.Equal(t, tt.action, ev.Action)
				assert.Equal(t, delivery, ev.ID)
				assert.Equal(t, "gitea:"+delivery, ev.DedupKey)
				assert.Equal(t, tt.repo, ev.Repo)
				assert.Equal(t, tt.sender, ev.Sender)
				assert.Equal(t, tt.ref, ev.Ref)
				assert.Equal(t, tt.branch, ev.Branch)
				assert.Equal(t, tt.tag, ev.Tag)
				assert.Equal(t, r.Headers, ev.Headers)
				assert.Equal(t, body, ev.Raw)
				assert.Contains(t, ev.Payload, "repository")
			})
		}
	}
}

func TestPayloadNumbers(t *testing.T) {
	ev, err := New(Config{Secret: secret}).Receive(request("pull_request", "pull_request", fixtures.Read(t, "gitea/pull_request.opened.json")))
	require.NoError(t, err)
	assert.Equal(t, int64(1), ev.Payload["number"])
}

func TestSignature(t *testing.T) {
	body := fixtures.Read(t, "gitea/push.json")
	good := sign(secret, body)
	tests := []struct {
		name    string
		secret  string
		headers map[string]string
		ok      bool
	}{
		{"gitea", secret, map[string]string{"x-gitea-signature": good}, true},
		{"forgejo", secret, map[string]string{"x-forgejo-signature": good}, true},
		{"both", secret, map[string]string{"x-forgejo-signature": good, "x-gitea-signature": good}, true},
		{"upper-case hex", secret, map[string]string{"x-gitea-signature": strings.ToUpper(good)}, true},
		{"missing", secret, nil, false},
		{"empty, as Gitea sends without a secret", secret, map[string]string{"x-gitea-signature": ""}, false},
		{"GitHub's header only", secret, map[string]string{"x-hub-signature-256": "sha256=" + good}, false},
		{"with a sha256= prefix", secret, map[string]string{"x-gitea-signature": "sha256=" + good}, false},
		{"short", secret, map[string]string{"x-gitea-signature": good[:62]}, false},
		{"odd length", secret, map[string]string{"x-gitea-signature": good[:63]}, false},
		{"long", secret, map[string]string{"x-gitea-signature": good + "00"}, false},
		{"not hex", secret, map[string]string{"x-gitea-signature": strings.Repeat("zz", 32)}, false},
		{"other secret", secret, map[string]string{"x-gitea-signature": sign("another", body)}, false},
		{"forgejo wrong, gitea right: Forgejo's is read", secret, map[string]string{"x-forgejo-signature": sign("another", body), "x-gitea-signature": good}, false},
		{"no secret configured", "", nil, true},
		{"no secret configured, signature ignored", "", map[string]string{"x-gitea-signature": "00"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request("push", "push", body)
			delete(r.Headers, "x-gitea-signature")
			delete(r.Headers, "x-hub-signature-256")
			for k, v := range tt.headers {
				r.Headers[k] = v
			}
			ev, err := New(Config{Secret: tt.secret}).Receive(r)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, "push", ev.Event)
				return
			}
			e := requireKind(t, err, adapters.Unauthorized)
			assert.NotContains(t, e.Msg, secret)
			assert.NotContains(t, e.Msg, good)
		})
	}

	t.Run("checked before the headers and the body", func(t *testing.T) {
		r := request("", "", []byte(`not json`))
		r.ContentType = "text/plain"
		r.Headers["x-gitea-signature"] = sign("wrong", r.Body)
		_, err := New(Config{Secret: secret}).Receive(r)
		requireKind(t, err, adapters.Unauthorized)
	})
}

func TestFormEncoded(t *testing.T) {
	payload := fixtures.Read(t, "gitea/push.json")
	form := []byte(url.Values{"payload": {string(payload)}}.Encode())
	r := request("push", "push", form)
	r.ContentType = "application/x-www-form-urlencoded"
	ev, err := New(Config{Secret: secret}).Receive(r)
	require.NoError(t, err)
	assert.Equal(t, "develop", ev.Branch)
	assert.Equal(t, form, ev.Raw, "Raw keeps the body as signed")

	r.Headers["x-gitea-signature"] = sign(secret, payload)
	_, err = New(Config{Secret: secret}).Receive(r)
	requireKind(t, err, adapters.Unauthorized)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		kind                    adapters.Kind
	}{
		{"truncated JSON", "application/json", `{"ref": "refs/heads/main"`, adapters.Malformed},
		{"array", "application/json", `[{"ref": "refs/heads/main"}]`, adapters.Malformed},
		{"string", "application/json", `"push"`, adapters.Malformed},
		{"empty", "application/json", ``, adapters.Malformed},
		{"trailing data", "application/json", `{} {}`, adapters.Malformed},
		{"invalid UTF-8", "application/json", "{\"ref\": \"\xff\xfe\"}", adapters.Malformed},
		{"too deep", "application/json", strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100), adapters.Malformed},
		{"form without payload", "application/x-www-form-urlencoded", `other=1`, adapters.Malformed},
		{"form with bad escape", "application/x-www-form-urlencoded", `payload=%zz`, adapters.Malformed},
		{"form with an array payload", "application/x-www-form-urlencoded", `payload=%5B%5D`, adapters.Malformed},
		{"text/plain", "text/plain", `{}`, adapters.Unsupported},
		{"multipart", "multipart/form-data", `{}`, adapters.Unsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request("push", "push", []byte(tt.body))
			r.ContentType = tt.contentType
			_, err := New(Config{Secret: secret}).Receive(r)
			requireKind(t, err, tt.kind)
		})
	}
}

func TestHeaders(t *testing.T) {
	body := fixtures.Read(t, "gitea/push.json")
	for _, tt := range []struct{ name, event, eventType string }{
		{"missing", "", ""},
		{"invalid UTF-8", "pu\xffsh", "push"},
		{"control character", "push\r\nX: 1", "push"},
		{"too long", strings.Repeat("push", 30), "push"},
		{"invalid UTF-8 in the type, no event", "", "\xc3\x28"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{Secret: secret}).Receive(request(tt.event, tt.eventType, body))
			requireKind(t, err, adapters.Malformed)
		})
	}

	t.Run("events without a GitHub name: the type", func(t *testing.T) {
		ev, err := New(Config{Secret: secret}).Receive(request("", "package", []byte(`{"action":"created","package":{"name":"x"}}`)))
		require.NoError(t, err)
		assert.Equal(t, "package", ev.Event)
		assert.Equal(t, "created", ev.Action)
	})
	t.Run("the finer type stays in the headers", func(t *testing.T) {
		ev, err := New(Config{Secret: secret}).Receive(request("pull_request", "pull_request_label", fixtures.Read(t, "gitea/pull_request.opened.json")))
		require.NoError(t, err)
		assert.Equal(t, "pull_request", ev.Event)
		assert.Equal(t, "pull_request_label", ev.Headers["x-gitea-event-type"])
	})
	t.Run("no delivery: a generated id, no de-duplication", func(t *testing.T) {
		r := request("push", "push", body)
		delete(r.Headers, "x-gitea-delivery")
		ev, err := New(Config{Secret: secret}).Receive(r)
		require.NoError(t, err)
		assert.Len(t, ev.ID, 36)
		assert.Empty(t, ev.DedupKey)
	})
	t.Run("Forgejo's delivery first", func(t *testing.T) {
		r := forgejo(request("push", "push", body))
		r.Headers["x-forgejo-delivery"] = "0b5f0b3e-0000-4000-8000-00000000000f"
		ev, err := New(Config{Secret: secret}).Receive(r)
		require.NoError(t, err)
		assert.Equal(t, "gitea:0b5f0b3e-0000-4000-8000-00000000000f", ev.DedupKey)
	})
}

func TestBranchOrTag(t *testing.T) {
	tests := []struct {
		name, event, body string
		branch, tag       string
	}{
		{"push to a branch", "push", `{"ref":"refs/heads/feature/x"}`, "feature/x", ""},
		{"push of a tag", "push", `{"ref":"refs/tags/v1.2.0"}`, "", "v1.2.0"},
		{"create branch", "create", `{"ref":"main","ref_type":"branch"}`, "main", ""},
		{"delete tag", "delete", `{"ref":"v1","ref_type":"tag"}`, "", "v1"},
		{"other ref", "push", `{"ref":"refs/pull/1/head"}`, "", ""},
		{"bare ref, no type", "push", `{"ref":"main"}`, "", ""},
		{"nulls", "issues", `{"action":null,"repository":null,"sender":null,"ref":null}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := New(Config{Secret: secret}).Receive(request(tt.event, tt.event, []byte(tt.body)))
			require.NoError(t, err)
			assert.Equal(t, tt.branch, ev.Branch)
			assert.Equal(t, tt.tag, ev.Tag)
		})
	}
}

func FuzzGiteaReceive(f *testing.F) {
	for _, tt := range []struct{ file, event string }{
		{"push", "push"}, {"pull_request.opened", "pull_request"}, {"create.tag", "create"}, {"release.published", "release"},
	} {
		body := fixtures.Read(f, "gitea/"+tt.file+".json")
		f.Add(body, "application/json", tt.event, "")
		f.Add([]byte(url.Values{"payload": {string(body)}}.Encode()), "application/x-www-form-urlencoded", "", tt.event)
	}
	f.Add([]byte(`[`), "text/plain", "\xff", "00")

	g := New(Config{Secret: secret})
	f.Fuzz(func(t *testing.T, body []byte, contentType, event, signature string) {
		for _, sig := range []string{sign(secret, body), signature} {
			ev, err := g.Receive(&adapters.Request{
				ContentType: contentType,
				Headers:     map[string]string{"x-gitea-event": event, "x-gitea-event-type": event, "x-gitea-signature": sig},
				Body:        body,
			})
			if err != nil {
				var e *adapters.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T) is not an *adapters.Error", err, err)
				}
				continue
			}
			if ev == nil || ev.Type != "gitea" || ev.ID == "" || ev.Payload == nil || ev.Event == "" {
				t.Fatalf("incomplete event %+v", ev)
			}
		}
	})
}
