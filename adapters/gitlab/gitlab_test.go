package gitlab

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/test/fixtures"
)

const (
	token = "glpat-hook-s3cret"
	uuid  = "9cdbd1ab-9b3c-4f59-8e70-d5d9e1c3f7a1"
)

// request is a delivery of body for the X-Gitlab-Event header event, as
// GitLab sends it.
func request(event string, body []byte) *adapters.Request {
	return &adapters.Request{
		Source:      "gl",
		ContentType: "application/json",
		Headers: map[string]string{
			"x-gitlab-event":        event,
			"x-gitlab-token":        token,
			"x-gitlab-event-uuid":   uuid,
			"x-gitlab-webhook-uuid": "2ed3a9bd-5fd2-4c6b-b37b-c4e7b4e0b0d1",
			"x-gitlab-instance":     "https://gitlab.example.com",
			"user-agent":            "GitLab/17.6.0",
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

func TestFixtures(t *testing.T) {
	tests := []struct {
		file, header, event    string
		action, repo, sender   string
		ref, branch, tag, stat string
	}{
		{"push.json", "Push Hook", "push", "", "mike/diaspora", "jsmith", "refs/heads/master", "master", "", ""},
		{"tag_push.json", "Tag Push Hook", "tag_push", "", "jsmith/example", "", "refs/tags/v1.0.0", "", "v1.0.0", ""},
		{"merge_request.open.json", "Merge Request Hook", "merge_request", "open", "gitlabhq/gitlab-test", "root", "", "", "", ""},
		{"pipeline.success.json", "Pipeline Hook", "pipeline", "", "gitlab-org/gitlab-test", "root", "master", "master", "", "success"},
		{"job.json", "Job Hook", "job", "", "gitlab-org/gitlab-test", "", "gitlab-script-trigger", "gitlab-script-trigger", "", "created"},
		{"note.issue.json", "Note Hook", "note", "create", "gitlab-org/gitlab-test", "root", "", "", "", ""},
		{"issue.open.json", "Issue Hook", "issue", "open", "gitlabhq/gitlab-test", "root", "", "", "", ""},
		{"release.create.json", "Release Hook", "release", "create", "gitlab-org/release-webhook-example", "", "", "", "v1.1", ""},
	}
	g := New(Config{Token: token})
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := fixtures.Read(t, "gitlab/"+tt.file)
			r := request(tt.header, body)
			ev, err := g.Receive(r)
			require.NoError(t, err)

			assert.Equal(t, "gl", ev.Source)
			assert.Equal(t, "gitlab", ev.Type)
			assert.Equal(t, tt.event, ev.Event)
			assert.Equal(t, tt.action, ev.Action)
			assert.Equal(t, tt.repo, ev.Repo)
			assert.Equal(t, tt.sender, ev.Sender)
			assert.Equal(t, tt.ref, ev.Ref)
			assert.Equal(t, tt.branch, ev.Branch)
			assert.Equal(t, tt.tag, ev.Tag)
			assert.Equal(t, tt.stat, ev.Status)
			assert.Equal(t, uuid, ev.ID)
			assert.Equal(t, "gitlab:gl:"+uuid, ev.DedupKey)
			assert.Equal(t, tt.header, ev.Headers["x-gitlab-event"], "the raw header stays available")
			assert.Equal(t, body, ev.Raw)
			require.NotNil(t, ev.Payload)
			assert.Contains(t, ev.Payload, "object_kind")
		})
	}
}

func TestPayloadNumbers(t *testing.T) {
	ev, err := New(Config{}).Receive(request("Merge Request Hook", fixtures.Read(t, "gitlab/merge_request.open.json")))
	require.NoError(t, err)
	attrs := ev.Payload["object_attributes"].(map[string]any)
	assert.Equal(t, int64(1), attrs["iid"])
}

func TestEventNames(t *testing.T) {
	tests := []struct {
		header, event string
	}{
		{"Push Hook", "push"},
		{" Push Hook ", "push"},
		{"Tag Push Hook", "tag_push"},
		{"Merge Request Hook", "merge_request"},
		{"Pipeline Hook", "pipeline"},
		{"Job Hook", "job"},
		{"Issue Hook", "issue"},
		{"Note Hook", "note"},
		{"Release Hook", "release"},
		{"Confidential Issue Hook", "confidential_issue"},
		{"Confidential Note Hook", "confidential_note"},
		{"Wiki Page Hook", "wiki_page"},
		{"Deployment Hook", "deployment"},
		{"Resource Access Token Hook", "resource_access_token"},
		{"System Hook", "system"},
		{"Emoji Hook", "emoji"},
		{"Some-New Thing", "some_new_thing"},
	}
	body := []byte(`{"object_kind":"x"}`)
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			ev, err := New(Config{}).Receive(request(tt.header, body))
			require.NoError(t, err)
			assert.Equal(t, tt.event, ev.Event)
		})
	}
}

func TestHeaders(t *testing.T) {
	body := fixtures.Read(t, "gitlab/push.json")
	for _, tt := range []struct{ name, header string }{
		{"missing", ""},
		{"blank", "   "},
		{"invalid UTF-8", "Push \xff Hook"},
		{"control character", "Push\x00Hook"},
		{"newline", "Push Hook\nX-Other: 1"},
		{"too long", strings.Repeat("Push ", 30) + "Hook"},
		{"no letters", "!!! Hook"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := request(tt.header, body)
			_, err := New(Config{Token: token}).Receive(r)
			requireKind(t, err, adapters.Malformed)
		})
	}

	t.Run("no event uuid: Idempotency-Key", func(t *testing.T) {
		r := request("Push Hook", body)
		delete(r.Headers, "x-gitlab-event-uuid")
		r.Headers["idempotency-key"] = "f9b4a0c2-0000-4000-8000-000000000001"
		ev, err := New(Config{}).Receive(r)
		require.NoError(t, err)
		assert.Equal(t, "gitlab:gl:f9b4a0c2-0000-4000-8000-000000000001", ev.DedupKey)
	})
	t.Run("no ids: a generated one, no de-duplication", func(t *testing.T) {
		r := request("Push Hook", body)
		delete(r.Headers, "x-gitlab-event-uuid")
		ev, err := New(Config{}).Receive(r)
		require.NoError(t, err)
		assert.Len(t, ev.ID, 36)
		assert.Empty(t, ev.DedupKey)
		again, err := New(Config{}).Receive(r)
		require.NoError(t, err)
		assert.NotEqual(t, ev.ID, again.ID)
	})
	t.Run("the source is part of the key", func(t *testing.T) {
		r := request("Push Hook", body)
		r.Source = "gl-2"
		ev, err := New(Config{}).Receive(r)
		require.NoError(t, err)
		assert.Equal(t, "gitlab:gl-2:"+uuid, ev.DedupKey)
	})
}

func TestToken(t *testing.T) {
	body := fixtures.Read(t, "gitlab/push.json")
	tests := []struct {
		name, config string
		header       *string
		ok           bool
	}{
		{"valid", token, ptr(token), true},
		{"missing", token, nil, false},
		{"empty", token, ptr(""), false},
		{"wrong", token, ptr("glpat-hook-s3creT"), false},
		{"prefix of the token", token, ptr("glpat-hook"), false},
		{"token with a suffix", token, ptr(token + "x"), false},
		{"as a bearer token", token, ptr("Bearer " + token), false},
		{"none configured", "", nil, true},
		{"none configured, header ignored", "", ptr("anything"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request("Push Hook", body)
			delete(r.Headers, "x-gitlab-token")
			if tt.header != nil {
				r.Headers["x-gitlab-token"] = *tt.header
			}
			ev, err := New(Config{Token: tt.config}).Receive(r)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, "push", ev.Event)
				return
			}
			e := requireKind(t, err, adapters.Unauthorized)
			assert.NotContains(t, e.Msg, "s3cret")
		})
	}

	t.Run("checked before the headers and the body", func(t *testing.T) {
		r := request("", []byte(`not json`))
		r.ContentType = "text/plain"
		r.Headers["x-gitlab-token"] = "wrong"
		_, err := New(Config{Token: token}).Receive(r)
		requireKind(t, err, adapters.Unauthorized)
	})
}

func ptr(s string) *string { return &s }

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		kind                    adapters.Kind
	}{
		{"truncated JSON", "application/json", `{"object_kind": "push"`, adapters.Malformed},
		{"array", "application/json", `[{"object_kind": "push"}]`, adapters.Malformed},
		{"string", "application/json", `"push"`, adapters.Malformed},
		{"empty", "application/json", ``, adapters.Malformed},
		{"trailing data", "application/json", `{} {}`, adapters.Malformed},
		{"invalid UTF-8", "application/json", "{\"ref\": \"\xff\xfe\"}", adapters.Malformed},
		{"too deep", "application/json", strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100), adapters.Malformed},
		{"text/plain", "text/plain", `{}`, adapters.Unsupported},
		{"form", "application/x-www-form-urlencoded", `payload=%7B%7D`, adapters.Unsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request("Push Hook", []byte(tt.body))
			r.ContentType = tt.contentType
			_, err := New(Config{Token: token}).Receive(r)
			requireKind(t, err, tt.kind)
		})
	}

	// curl users often leave the content type out.
	r := request("Push Hook", []byte(`{"ref":"refs/heads/main"}`))
	r.ContentType = ""
	ev, err := New(Config{Token: token}).Receive(r)
	require.NoError(t, err)
	assert.Equal(t, "main", ev.Branch)
}

func TestOddPayloads(t *testing.T) {
	tests := []struct {
		name, header, body string
		branch, tag        string
	}{
		{"push of a tag under Push Hook", "Push Hook", `{"ref":"refs/tags/v2"}`, "", "v2"},
		{"pipeline of a tag", "Pipeline Hook", `{"object_attributes":{"ref":"v1.0","tag":true,"status":"failed"}}`, "", "v1.0"},
		{"pipeline with tag not a bool", "Pipeline Hook", `{"object_attributes":{"ref":"main","tag":"true"}}`, "main", ""},
		{"object_attributes not an object", "Issue Hook", `{"object_attributes":[1],"user":"root"}`, "", ""},
		{"nulls everywhere", "Job Hook", `{"ref":null,"tag":null,"project":null,"user":null,"build_status":null}`, "", ""},
		{"numbers where strings go", "Push Hook", `{"ref":1,"user_username":2,"project":{"path_with_namespace":3}}`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := New(Config{}).Receive(request(tt.header, []byte(tt.body)))
			require.NoError(t, err)
			assert.Equal(t, tt.branch, ev.Branch)
			assert.Equal(t, tt.tag, ev.Tag)
		})
	}
}

func FuzzGitLabReceive(f *testing.F) {
	for _, tt := range []struct{ file, header string }{
		{"push", "Push Hook"}, {"tag_push", "Tag Push Hook"}, {"merge_request.open", "Merge Request Hook"},
		{"pipeline.success", "Pipeline Hook"}, {"job", "Job Hook"}, {"note.issue", "Note Hook"},
		{"issue.open", "Issue Hook"}, {"release.create", "Release Hook"},
	} {
		f.Add(fixtures.Read(f, "gitlab/"+tt.file+".json"), "application/json", tt.header, token)
	}
	f.Add([]byte(`{"object_attributes":{"tag":true}}`), "", "Pipeline Hook", "")
	f.Add([]byte(`[`), "text/plain", "\xff", "x")

	g := New(Config{Token: token})
	f.Fuzz(func(t *testing.T, body []byte, contentType, event, tok string) {
		for _, tk := range []string{token, tok} {
			ev, err := g.Receive(&adapters.Request{
				ContentType: contentType,
				Headers:     map[string]string{"x-gitlab-event": event, "x-gitlab-token": tk},
				Body:        body,
			})
			if err != nil {
				var e *adapters.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T) is not an *adapters.Error", err, err)
				}
				continue
			}
			if ev == nil || ev.Type != "gitlab" || ev.ID == "" || ev.Payload == nil || ev.Event == "" {
				t.Fatalf("incomplete event %+v", ev)
			}
			if tk != token {
				t.Fatalf("accepted token %q", tk)
			}
		}
	})
}

// BenchmarkReceive checks the token of and decodes a merge request
// delivery, as the webhook handler does.
func BenchmarkReceive(b *testing.B) {
	body := fixtures.Read(b, "gitlab/merge_request.open.json")
	g := New(Config{Token: token})
	r := request("Merge Request Hook", body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := g.Receive(r); err != nil {
			b.Fatal(err)
		}
	}
}
