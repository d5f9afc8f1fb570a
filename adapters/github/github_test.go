package github

import (
	"crypto/hmac"
	"crypto/sha1"
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

const secret = "It's a Secret to Everybody"

func sign(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// request is a signed JSON delivery of body for event.
func request(event string, body []byte) *adapters.Request {
	return &adapters.Request{
		Source:      "gh",
		ContentType: "application/json",
		Headers: map[string]string{
			"x-github-event":      event,
			"x-github-delivery":   "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			"x-hub-signature-256": sign(secret, body),
			"user-agent":          "GitHub-Hookshot/044aadd",
		},
		Body: body,
	}
}

func requireKind(t *testing.T, err error, kind adapters.Kind) *adapters.Error {
	t.Helper()
	var e *adapters.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, kind, e.Kind, "error %q", e.Msg)
	return e
}

func TestSignatureVector(t *testing.T) {
	// From GitHub's documentation on validating webhook deliveries.
	body := []byte("Hello, World!")
	want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	require.Equal(t, want, sign(secret, body))

	r := &adapters.Request{Headers: map[string]string{"x-hub-signature-256": want}, Body: body}
	require.NoError(t, New(Config{Secret: secret}).verify(r))
}

func TestSignature(t *testing.T) {
	body := fixtures.Read(t, "github/push.json")
	good := sign(secret, body)
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	sha1Sig := "sha1=" + hex.EncodeToString(mac.Sum(nil))

	tests := []struct {
		name    string
		secret  string
		headers map[string]string
		ok      bool
	}{
		{"valid", secret, map[string]string{"x-hub-signature-256": good}, true},
		{"valid upper-case hex", secret, map[string]string{"x-hub-signature-256": "sha256=" + strings.ToUpper(good[7:])}, true},
		{"missing", secret, nil, false},
		{"empty", secret, map[string]string{"x-hub-signature-256": ""}, false},
		{"SHA-1 only", secret, map[string]string{"x-hub-signature": sha1Sig}, false},
		{"SHA-1 in the 256 header", secret, map[string]string{"x-hub-signature-256": sha1Sig}, false},
		{"no prefix", secret, map[string]string{"x-hub-signature-256": good[7:]}, false},
		{"prefix only", secret, map[string]string{"x-hub-signature-256": "sha256="}, false},
		{"short", secret, map[string]string{"x-hub-signature-256": good[:len(good)-2]}, false},
		{"odd length", secret, map[string]string{"x-hub-signature-256": good[:len(good)-1]}, false},
		{"long", secret, map[string]string{"x-hub-signature-256": good + "00"}, false},
		{"not hex", secret, map[string]string{"x-hub-signature-256": "sha256=" + strings.Repeat("zz", 32)}, false},
		{"other secret", secret, map[string]string{"x-hub-signature-256": sign("another secret", body)}, false},
		{"no secret configured", "", nil, true},
		{"no secret configured, signature ignored", "", map[string]string{"x-hub-signature-256": "sha256=00"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request("push", body)
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
			assert.NotContains(t, e.Msg, good[7:])
		})
	}
}

func TestFixtures(t *testing.T) {
	tests := []struct {
		file, event          string
		action, repo, sender string
		ref, branch, tag     string
	}{
		{"push.json", "push", "", "Codertocat/Hello-World", "Codertocat", "refs/heads/master", "master", ""},
		{"ping.json", "ping", "", "Octocoders/Hello-World", "Codertocat", "", "", ""},
		{"issues.opened.json", "issues", "opened", "Codertocat/Hello-World", "Codertocat", "", "", ""},
		{"pull_request.opened.json", "pull_request", "opened", "Codertocat/Hello-World", "Codertocat", "", "", ""},
		{"release.published.json", "release", "published", "Codertocat/Hello-World", "Codertocat", "", "", ""},
		{"workflow_run.completed.json", "workflow_run", "completed", "octo-org/octo-repo", "Codertocat", "", "master", ""}, // branch: head_branch
	}
	g := New(Config{Secret: secret})
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := fixtures.Read(t, "github/"+tt.file)
			r := request(tt.event, body)
			ev, err := g.Receive(r)
			require.NoError(t, err)

			assert.Equal(t, "gh", ev.Source)
			assert.Equal(t, "github", ev.Type)
			assert.Equal(t, tt.event, ev.Event)
			assert.Equal(t, tt.action, ev.Action)
			assert.Equal(t, "72d3162e-cc78-11e3-81ab-4c9367dc0958", ev.ID)
			assert.Equal(t, "github:72d3162e-cc78-11e3-81ab-4c9367dc0958", ev.DedupKey)
			assert.Equal(t, tt.repo, ev.Repo)
			assert.Equal(t, tt.sender, ev.Sender)
			assert.Equal(t, tt.ref, ev.Ref)
			assert.Equal(t, tt.branch, ev.Branch)
			assert.Equal(t, tt.tag, ev.Tag)
			assert.Equal(t, r.Headers, ev.Headers)
			assert.Equal(t, body, ev.Raw)
			require.NotNil(t, ev.Payload)
			assert.Contains(t, ev.Payload, "repository")
		})
	}
}

func TestPayloadNumbers(t *testing.T) {
	ev, err := New(Config{Secret: secret}).Receive(request("pull_request", fixtures.Read(t, "github/pull_request.opened.json")))
	require.NoError(t, err)
	assert.Equal(t, int64(2), ev.Payload["number"])
}

func TestFormEncoded(t *testing.T) {
	payload := fixtures.Read(t, "github/push.json")
	form := []byte(url.Values{"payload": {string(payload)}}.Encode())

	r := request("push", form)
	r.ContentType = "application/x-www-form-urlencoded"
	ev, err := New(Config{Secret: secret}).Receive(r)
	require.NoError(t, err)
	assert.Equal(t, "master", ev.Branch)
	assert.Equal(t, "Codertocat/Hello-World", ev.Repo)
	assert.Equal(t, "Codertocat", ev.Sender)
	assert.Equal(t, form, ev.Raw, "Raw keeps the body as signed")

	// The signature covers the form body, not the JSON inside it.
	r.Headers["x-hub-signature-256"] = sign(secret, payload)
	_, err = New(Config{Secret: secret}).Receive(r)
	requireKind(t, err, adapters.Unauthorized)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, contentType string
		body              string
		kind              adapters.Kind
	}{
		{"truncated JSON", "application/json", `{"ref": "refs/heads/main"`, adapters.Malformed},
		{"array", "application/json", `[{"ref": "refs/heads/main"}]`, adapters.Malformed},
		{"string", "application/json", `"push"`, adapters.Malformed},
		{"number", "application/json", `42`, adapters.Malformed},
		{"empty", "application/json", ``, adapters.Malformed},
		{"trailing data", "application/json", `{} {}`, adapters.Malformed},
		{"invalid UTF-8", "application/json", "{\"ref\": \"\xff\xfe\"}", adapters.Malformed},
		{"too deep", "application/json", strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100), adapters.Malformed},
		{"form without payload", "application/x-www-form-urlencoded", `other=1`, adapters.Malformed},
		{"form with bad escape", "application/x-www-form-urlencoded", `payload=%zz`, adapters.Malformed},
		{"form with an array payload", "application/x-www-form-urlencoded", `payload=%5B%5D`, adapters.Malformed},
		{"text/plain", "text/plain", `{}`, adapters.Unsupported},
		{"no content type", "", `{}`, adapters.Unsupported},
		{"multipart", "multipart/form-data", `{}`, adapters.Unsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request("push", []byte(tt.body))
			r.ContentType = tt.contentType
			_, err := New(Config{Secret: secret}).Receive(r)
			requireKind(t, err, tt.kind)
		})
	}
}

func TestHeaders(t *testing.T) {
	body := fixtures.Read(t, "github/push.json")

	r := request("push", body)
	delete(r.Headers, "x-github-event")
	_, err := New(Config{Secret: secret}).Receive(r)
	requireKind(t, err, adapters.Malformed)

	r = request("push", body)
	delete(r.Headers, "x-github-delivery")
	ev, err := New(Config{Secret: secret}).Receive(r)
	require.NoError(t, err)
	assert.Len(t, ev.ID, 36, "a generated, UUID-shaped id")
	assert.Empty(t, ev.DedupKey, "no delivery id, no de-duplication")
	ev2, err := New(Config{Secret: secret}).Receive(r)
	require.NoError(t, err)
	assert.NotEqual(t, ev.ID, ev2.ID)

	for _, name := range []string{"\xff", "push\xfe", strings.Repeat("p", 65), "push event", "push\r\nx: 1", "{{.headers}}"} {
		r = request("push", body)
		r.Headers["x-github-event"] = name
		_, err = New(Config{Secret: secret}).Receive(r)
		e := requireKind(t, err, adapters.Malformed)
		assert.Contains(t, e.Msg, "X-GitHub-Event", "%q", name)
	}

	// Gitea and Forgejo send the GitHub headers next to their own.
	r = request("push", body)
	r.Headers["x-gitea-event"] = "push"
	r.Headers["x-gitea-signature"] = sign(secret, body)[7:]
	ev, err = New(Config{Secret: secret}).Receive(r)
	require.NoError(t, err)
	assert.Equal(t, "master", ev.Branch)
}

func TestBranchOrTag(t *testing.T) {
	tests := []struct {
		name, event, body string
		branch, tag       string
	}{
		{"push to a branch", "push", `{"ref":"refs/heads/feature/x"}`, "feature/x", ""},
		{"push of a tag", "push", `{"ref":"refs/tags/v1.2.0"}`, "", "v1.2.0"},
		{"branch deleted", "push", `{"ref":"refs/heads/old","deleted":true,"head_commit":null}`, "old", ""},
		{"create branch", "create", `{"ref":"main","ref_type":"branch"}`, "main", ""},
		{"create tag", "create", `{"ref":"v1","ref_type":"tag"}`, "", "v1"},
		{"delete tag", "delete", `{"ref":"v1","ref_type":"tag"}`, "", "v1"},
		{"other ref", "push", `{"ref":"refs/pull/1/merge"}`, "", ""},
		{"bare ref, no type", "push", `{"ref":"main"}`, "", ""},
		{"ref not a string", "push", `{"ref":1}`, "", ""},
		{"no ref", "issues", `{"action":"opened","repository":null,"sender":{"login":7}}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := New(Config{Secret: secret}).Receive(request(tt.event, []byte(tt.body)))
			require.NoError(t, err)
			assert.Equal(t, tt.branch, ev.Branch)
			assert.Equal(t, tt.tag, ev.Tag)
		})
	}
}

func FuzzGitHubReceive(f *testing.F) {
	for _, name := range []string{"push", "ping", "issues.opened", "pull_request.opened", "release.published", "workflow_run.completed"} {
		body := fixtures.Read(f, "github/"+name+".json")
		f.Add(body, "application/json", strings.SplitN(name, ".", 2)[0], "")
		form := url.Values{"payload": {string(body)}}.Encode()
		f.Add([]byte(form), "application/x-www-form-urlencoded", "push", "sha256=00")
	}
	f.Add([]byte(`{"ref":"v1","ref_type":"tag"}`), "application/json", "create", "sha1=00")
	f.Add([]byte(`[`), "text/plain", "", "sha256=zz")
	f.Add([]byte(`{}`), "application/json", "\xff", "")
	f.Add([]byte(`{}`), "application/json", strings.Repeat("x", 100), "")

	g := New(Config{Secret: secret})
	f.Fuzz(func(t *testing.T, body []byte, contentType, event, signature string) {
		check := func(r *adapters.Request) {
			ev, err := g.Receive(r)
			if err != nil {
				var e *adapters.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T) is not an *adapters.Error", err, err)
				}
				return
			}
			if ev == nil || ev.Type != "github" || ev.ID == "" || ev.Payload == nil {
				t.Fatalf("incomplete event %+v", ev)
			}
			if err := adapters.EventName("X-GitHub-Event", ev.Event); err != nil || ev.Event == "" {
				t.Fatalf("event name %q accepted: %v", ev.Event, err)
			}
			if l := EventLabel(ev.Event); l != ev.Event && l != "other" {
				t.Fatalf("label %q for event %q", l, ev.Event)
			}
		}
		r := &adapters.Request{
			ContentType: contentType,
			Headers:     map[string]string{"x-github-event": event, "x-hub-signature-256": sign(secret, body)},
			Body:        body,
		}
		check(r) // signed: reaches the decoder
		r = &adapters.Request{
			ContentType: contentType,
			Headers:     map[string]string{"x-github-event": event, "x-hub-signature-256": signature},
			Body:        body,
		}
		check(r) // as sent: exercises the signature check
	})
}

func TestEventLabel(t *testing.T) {
	for name, want := range map[string]string{
		"push": "push", "pull_request": "pull_request", "workflow_run": "workflow_run", "ping": "ping",
		"": "", "pushh": "other", "Push": "other", "x-1": "other",
	} {
		assert.Equal(t, want, EventLabel(name), "%q", name)
	}
}

// BenchmarkReceive verifies the signature of and decodes a signed
// pull_request delivery (28 KB), as the webhook handler does.
func BenchmarkReceive(b *testing.B) {
	body := fixtures.Read(b, "github/pull_request.opened.json")
	g := New(Config{Secret: secret})
	r := request("pull_request", body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := g.Receive(r); err != nil {
			b.Fatal(err)
		}
	}
}
