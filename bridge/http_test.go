package bridge_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/sqlite"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	ghSecret = "It's a Secret to Everybody"
	amToken  = "am-token-1234567890"
	admin    = "admin-token-abcdef"
)

const serviceConfig = `
gewe: {token: gewe-token, base_url: "http://127.0.0.1:1", app_id: wx_a}
server: {admin_token: ` + admin + `}
sources:
  github: {type: github, secret: "` + ghSecret + `"}
  alertmanager: {type: alertmanager, bearer_token: ` + amToken + `}
  small: {type: generic, bearer_token: ` + amToken + `, body_bytes: 1024}
contacts:
  ops: {wxid: "1@chatroom"}
rules:
  - {name: all, to: [ops]}
`

func newService(t *testing.T) (*bridge.Service, *sqlite.Store) {
	return newServiceWith(t, func(*bridge.Options) {})
}

// newServiceWith builds the test service on serviceConfig and a fresh
// store; change adjusts its options (metrics, a failing outbox).
func newServiceWith(t *testing.T, change func(*bridge.Options)) (*bridge.Service, *sqlite.Store) {
	t.Helper()
	store, err := sqlite.Open(t.TempDir()+"/outbox.db", sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	load := func() (*rules.Ruleset, rules.Problems) {
		return rules.Load([]byte(serviceConfig), "test.yaml", func(string) string { return "" })
	}
	opts := bridge.Options{Load: load, Outbox: store, Client: &fakeClient{}, Account: "wx_a",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	change(&opts)
	svc, err := bridge.New(opts)
	require.NoError(t, err)
	return svc, store
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(ghSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func githubRequest(body []byte, mutate func(*http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/github", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-GitHub-Event", "push")
	r.Header.Set("X-GitHub-Delivery", "d-1")
	r.Header.Set("X-Hub-Signature-256", sign(body))
	if mutate != nil {
		mutate(r)
	}
	return r
}

func amRequest(body []byte, mutate func(*http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/alertmanager", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+amToken)
	if mutate != nil {
		mutate(r)
	}
	return r
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// TestHostileRequests sends what anything on the network might, and checks
// each answer and that nothing was queued.
func TestHostileRequests(t *testing.T) {
	valid := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"a/b"},"sender":{"login":"x"}}`)
	am := []byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`)
	deep := []byte(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))
	deepObj := append(append([]byte(`{"a":`), deep...), '}')
	bomb := gzipped(bytes.Repeat([]byte(`{"a":"aaaaaaaa"}`), 1<<16))
	sha1sig := func() string {
		m := hmac.New(sha1.New, []byte(ghSecret))
		m.Write(valid)
		return "sha1=" + hex.EncodeToString(m.Sum(nil))
	}()
	tests := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"wrong signature", githubRequest(valid, func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", sign([]byte("other"))) }), 401},
		{"missing signature", githubRequest(valid, func(r *http.Request) { r.Header.Del("X-Hub-Signature-256") }), 401},
		{"short signature", githubRequest(valid, func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", sign(valid)[:20]) }), 401},
		{"signature without sha256= prefix", githubRequest(valid, func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", sign(valid)[7:]) }), 401},
		{"SHA-1 signature only", githubRequest(valid, func(r *http.Request) {
			r.Header.Del("X-Hub-Signature-256")
			r.Header.Set("X-Hub-Signature", sha1sig)
		}), 401},
		{"missing bearer token", amRequest(am, func(r *http.Request) { r.Header.Del("Authorization") }), 401},
		{"wrong bearer token", amRequest(am, func(r *http.Request) { r.Header.Set("Authorization", "Bearer nope") }), 401},
		{"malformed JSON", amRequest([]byte(`{"version":`), nil), 400},
		{"truncated JSON", amRequest(am[:len(am)-3], nil), 400},
		{"JSON array", amRequest([]byte(`[1,2,3]`), nil), 400},
		{"JSON string", amRequest([]byte(`"firing"`), nil), 400},
		{"empty body", amRequest(nil, nil), 400},
		{"non-UTF-8 bytes", amRequest([]byte("{\"status\":\"\xff\xfe\"}"), nil), 400},
		{"100k-deep nesting", amRequest(deepObj, nil), 400},
		{"signed but 100k-deep", githubRequest(deepObj, nil), 400},
		{"oversized body", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/hooks/small", bytes.NewReader(bytes.Repeat([]byte("a"), 2048)))
			r.Header.Set("Authorization", "Bearer "+amToken)
			r.Header.Set("Content-Type", "application/json")
			return r
		}(), 413},
		{"gzip bomb", amRequest(bomb, func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") }), 415},
		{"deflate encoding", amRequest(am, func(r *http.Request) { r.Header.Set("Content-Encoding", "deflate") }), 415},
		{"wrong content type", amRequest(am, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }), 415},
		{"github without event header", githubRequest(valid, func(r *http.Request) { r.Header.Del("X-GitHub-Event") }), 400},
		{"unknown source", httptest.NewRequest(http.MethodPost, "/hooks/nope", bytes.NewReader(am)), 404},
		{"path traversal", httptest.NewRequest(http.MethodPost, "/hooks/../api/v1/messages", bytes.NewReader(am)), 404},
		{"encoded traversal", httptest.NewRequest(http.MethodPost, "/hooks/%2e%2e%2fapi", bytes.NewReader(am)), 404},
		{"extra path segment", httptest.NewRequest(http.MethodPost, "/hooks/alertmanager/x", bytes.NewReader(am)), 404},
		{"GET a hook", httptest.NewRequest(http.MethodGet, "/hooks/alertmanager", nil), 404},
		{"header flood", amRequest(am, func(r *http.Request) {
			for i := 0; i < 2000; i++ {
				r.Header.Add("X-Flood", strings.Repeat("x", 64))
			}
		}), 431},
		{"admin API without token", httptest.NewRequest(http.MethodGet, "/api/v1/messages", nil), 401},
		{"admin API with a source's token", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/-/reload", nil)
			r.Header.Set("Authorization", "Bearer "+amToken)
			return r
		}(), 401},
	}
	svc, store := newService(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := svc.App().Test(tt.req, -1)
			if tt.want == 431 && err != nil {
				// fasthttp answers 431 and closes; app.Test sees the close.
				assert.Contains(t, err.Error(), "small read buffer")
				return
			}
			require.NoError(t, err)
			defer resp.Body.Close()
			assert.Equal(t, tt.want, resp.StatusCode)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 431 {
				var answer map[string]any
				assert.NoError(t, json.Unmarshal(body, &answer), "answers are JSON: %s", body)
			}
			assert.NotContains(t, string(body), ghSecret)
			assert.NotContains(t, string(body), amToken)
		})
	}
	queued, err := store.List(context.Background(), bridge.ListFilter{Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, queued, "a refused request must queue nothing")
}

func TestAcceptedWebhookIsQueuedAndDuplicateIsNot(t *testing.T) {
	svc, store := newService(t)
	body := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"a/b"},"sender":{"login":"x"}}`)
	for i, want := range []int{202, 200} {
		resp, err := svc.App().Test(githubRequest(body, nil), -1)
		require.NoError(t, err)
		assert.Equal(t, want, resp.StatusCode, "delivery %d", i)
		var answer map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
		if want == 200 {
			assert.Equal(t, true, answer["duplicate"])
		} else {
			assert.Equal(t, []any{"all"}, answer["matched"])
			assert.EqualValues(t, 1, answer["queued"])
		}
	}
	queued, err := store.List(context.Background(), bridge.ListFilter{Limit: 10})
	require.NoError(t, err)
	assert.Len(t, queued, 1)
}

func TestDryRunQueryReturnsTraceAndQueuesNothing(t *testing.T) {
	svc, store := newService(t)
	am := []byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}],"commonLabels":{"alertname":"A"}}`)
	r := amRequest(am, nil)
	r.URL.RawQuery = "dry_run=true"
	r.RequestURI = r.URL.RequestURI()
	resp, err := svc.App().Test(r, -1)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	var tr rules.Trace
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
	require.Len(t, tr.Rules, 1)
	assert.Equal(t, rules.Matched, tr.Rules[0].Verdict)
	require.Len(t, tr.Messages, 1)
	assert.Contains(t, tr.Messages[0].Text, "A")
	queued, _ := store.List(context.Background(), bridge.ListFilter{Limit: 10})
	assert.Empty(t, queued)
}

func httptestRequest(method, path, auth string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	return r
}

func decodeJSON(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// failingOutbox is a store whose commits fail, as a full disk's would.
type failingOutbox struct{ bridge.Outbox }

func (failingOutbox) Accept(context.Context, *bridge.Accepted, time.Time) error {
	return errors.New("disk I/O error")
}

// TestCommitFailureAnswers503: when the messages cannot be stored the
// answer is 503, which Alertmanager retries, never 2xx or 4xx.
func TestCommitFailureAnswers503(t *testing.T) {
	svc, _ := newServiceWith(t, func(o *bridge.Options) { o.Outbox = failingOutbox{o.Outbox} })
	resp, err := svc.App().Test(amRequest([]byte(`{"version":"4","status":"firing","alerts":[]}`), nil), -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	assert.NotContains(t, string(body), "disk I/O", "internals are not shown to the sender")
}
