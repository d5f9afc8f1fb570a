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
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/bridge/delivery"
	"github.com/gewe-bridge/gewe-bridge/bridge/metrics"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/sqlite"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
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
	load := func() (*rules.Ruleset, config.Problems) {
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

// smallRequest is a webhook to the generic source "small" (limit 1024).
func smallRequest(body []byte, mutate func(*http.Request)) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/small", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer "+amToken)
	if mutate != nil {
		mutate(r)
	}
	return r
}

// dryRun makes r a ?dry_run=true request.
func dryRun(r *http.Request) {
	r.URL.RawQuery = "dry_run=true"
	r.RequestURI = r.URL.RequestURI()
}

// chunked makes r send its body chunked. (app.Test adds a Content-Length
// to a request without one; Transfer-Encoding wins over it.)
func chunked(r *http.Request) {
	r.TransferEncoding = []string{"chunked"}
	r.Header.Set("Content-Length", "0")
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
		{"invalid UTF-8 X-Event", smallRequest([]byte(`{}`), func(r *http.Request) { r.Header.Set("X-Event", "\xff") }), 400},
		{"invalid UTF-8 X-Event, dry run", smallRequest([]byte(`{}`), func(r *http.Request) {
			r.Header.Set("X-Event", "\xff")
			dryRun(r)
		}), 400},
		{"invalid UTF-8 X-GitHub-Event", githubRequest(valid, func(r *http.Request) { r.Header.Set("X-GitHub-Event", "push\xfe") }), 400},
		{"invalid UTF-8 X-GitHub-Event, dry run", githubRequest(valid, func(r *http.Request) {
			r.Header.Set("X-GitHub-Event", "\xc3\x28")
			dryRun(r)
		}), 400},
		{"1 KB X-Event", smallRequest([]byte(`{}`), func(r *http.Request) { r.Header.Set("X-Event", strings.Repeat("e", 1024)) }), 400},
		{"X-Event with spaces", smallRequest([]byte(`{}`), func(r *http.Request) { r.Header.Set("X-Event", "a b") }), 400},
		{"chunked body over the limit", smallRequest(bytes.Repeat([]byte(" "), 4096), chunked), 413},
		{"chunked body to an unknown source", httptest.NewRequest(http.MethodPost, "/hooks/nope", bytes.NewReader(bytes.Repeat([]byte(" "), 1<<20))), 404},
		{"body to /metrics", httptest.NewRequest(http.MethodGet, "/metrics", bytes.NewReader(am)), 413},
		{"admin API without token", httptest.NewRequest(http.MethodGet, "/api/v1/messages", nil), 401},
		{"admin API, token of another length", httptestRequest(http.MethodGet, "/api/v1/messages", "Bearer "+admin+"x"), 401},
		{"admin API, token without scheme", httptestRequest(http.MethodGet, "/api/v1/messages", admin), 401},
		{"admin API, empty bearer", httptestRequest(http.MethodGet, "/api/v1/messages", "Bearer "), 401},
		{"admin API with a source's token", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/-/reload", nil)
			r.Header.Set("Authorization", "Bearer "+amToken)
			return r
		}(), 401},
	}
	// With metrics: a bad label value panics in them.
	svc, store := newServiceWith(t, func(o *bridge.Options) { o.Metrics = metrics.New() })
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
	queued, err := store.List(context.Background(), outbox.ListFilter{Limit: 10})
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
	queued, err := store.List(context.Background(), outbox.ListFilter{Limit: 10})
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
	queued, _ := store.List(context.Background(), outbox.ListFilter{Limit: 10})
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
type failingOutbox struct{ outbox.Store }

func (failingOutbox) Accept(context.Context, *outbox.Accepted, time.Time) error {
	return errors.New("disk I/O error")
}

// TestCommitFailureAnswers503: when the messages cannot be stored the
// answer is 503, which Alertmanager retries, never 2xx or 4xx.
func TestCommitFailureAnswers503(t *testing.T) {
	svc, _ := newServiceWith(t, func(o *bridge.Options) { o.Outbox = failingOutbox{o.Outbox} })
	resp, err := svc.App().Test(amRequest([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`), nil), -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	assert.NotContains(t, string(body), "disk I/O", "internals are not shown to the sender")
}

// panickingOutbox panics in its first commit, as a bug would.
type panickingOutbox struct {
	outbox.Store
	panicked *atomic.Bool
}

func (o panickingOutbox) Accept(ctx context.Context, a *outbox.Accepted, since time.Time) error {
	if !o.panicked.Swap(true) {
		panic("bug in the outbox")
	}
	return o.Store.Accept(ctx, a, since)
}

// TestPanicAnswers500AndServiceLives: a handler that panics answers 500
// JSON, is logged with its stack at error level, and the next request is
// served.
func TestPanicAnswers500AndServiceLives(t *testing.T) {
	var logs syncBuffer
	svc, _ := newServiceWith(t, func(o *bridge.Options) {
		o.Outbox = panickingOutbox{o.Outbox, new(atomic.Bool)}
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	body := []byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`)
	resp, err := svc.App().Test(amRequest(body, nil), -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	var answer map[string]any
	require.NoError(t, decodeJSON(resp.Body, &answer))
	assert.Equal(t, "internal error", answer["error"])
	assert.Contains(t, logs.String(), `"level":"ERROR"`)
	assert.Contains(t, logs.String(), "bug in the outbox")
	assert.Contains(t, logs.String(), "goroutine ", "the stack is logged")

	resp, err = svc.App().Test(amRequest(body, nil), -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode, "the next request is served")
}

// TestEventLabelsAreBounded: a sender choosing event names cannot make a
// metric series per request; the name itself is still in the answers.
func TestEventLabelsAreBounded(t *testing.T) {
	svc, _ := newServiceWith(t, func(o *bridge.Options) { o.Metrics = metrics.New() })
	valid := []byte(`{"ref":"refs/heads/main","repository":{"full_name":"a/b"},"sender":{"login":"x"}}`)
	for i := 0; i < 1000; i++ {
		event := fmt.Sprintf("deploy-%d", i)
		resp, err := svc.App().Test(smallRequest([]byte(`{}`), func(r *http.Request) {
			r.Header.Set("X-Event", event)
			dryRun(r)
		}), -1)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var tr rules.Trace
		require.NoError(t, decodeJSON(resp.Body, &tr))
		require.Equal(t, event, tr.Event, "the real name is kept in the trace")
		resp, err = svc.App().Test(githubRequest(valid, func(r *http.Request) {
			r.Header.Set("X-GitHub-Event", event)
			dryRun(r)
		}), -1)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, err := svc.App().Test(githubRequest(valid, dryRun), -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = svc.App().Test(httptestRequest(http.MethodGet, "/metrics", ""), -1)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	var series []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "gewe_bridge_webhooks_received_total{") {
			series = append(series, line)
		}
	}
	assert.ElementsMatch(t, []string{
		`gewe_bridge_webhooks_received_total{code="200",event="other",source="small"} 1000`,
		`gewe_bridge_webhooks_received_total{code="200",event="other",source="github"} 1000`,
		`gewe_bridge_webhooks_received_total{code="200",event="push",source="github"} 1`,
	}, series)
	assert.Less(t, len(body), 64<<10, "/metrics stays small")
}

// TestMalformedRequestEchoesNothing: a request fasthttp cannot parse gets
// a fixed answer, not the request (Authorization included) echoed back.
func TestMalformedRequestEchoesNothing(t *testing.T) {
	svc, _ := newService(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go svc.App().Listener(ln)
	t.Cleanup(func() { svc.App().Shutdown() })
	for _, req := range []string{
		"POST /hooks/alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + amToken + "\r\nBad Header: x\r\n\r\n",
		"POST /hooks/alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + amToken + "\r\nContent-Length: abc\r\n\r\n",
	} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Write([]byte(req))
		require.NoError(t, err)
		answer, _ := io.ReadAll(conn)
		conn.Close()
		assert.Contains(t, string(answer), "HTTP/1.1 400", "%q", req)
		assert.Contains(t, string(answer), `{"error":"malformed request"}`)
		assert.NotContains(t, string(answer), amToken)
		assert.NotContains(t, string(answer), "Authorization")
	}
}

func TestAdminTokenCheck(t *testing.T) {
	svc, _ := newService(t)
	for auth, want := range map[string]int{
		"Bearer " + admin:         200,
		"bearer " + admin:         200,
		"BEARER " + admin:         200,
		"Bearer  " + admin + " ":  200,
		"Bearer " + admin[:5]:     401,
		"Bearer " + admin + admin: 401,
		"Basic " + admin:          401,
		"Bearer " + amToken:       401,
		"":                        401,
	} {
		resp, err := svc.App().Test(httptestRequest(http.MethodGet, "/api/v1/status", auth), -1)
		require.NoError(t, err)
		assert.Equal(t, want, resp.StatusCode, "%q", auth)
	}
}

// TestCredentialsAreRedacted: templates, dry-run answers and traces see
// no credential header, whatever prints them.
func TestCredentialsAreRedacted(t *testing.T) {
	const configText = `
gewe: {token: gewe-token, base_url: "http://127.0.0.1:1", app_id: wx_a}
server: {admin_token: ` + admin + `}
sources:
  github: {type: github, secret: "` + ghSecret + `"}
  alertmanager: {type: alertmanager, bearer_token: ` + amToken + `}
  signed: {type: generic, secret: "` + ghSecret + `", hmac_header: X-Webhook-Sig}
contacts:
  ops: {wxid: "1@chatroom"}
templates:
  dump: "{{ .headers }} {{ .headers.authorization }}"
rules:
  - {name: all, to: [ops], template: dump}
`
	svc, _ := newServiceWith(t, func(o *bridge.Options) {
		o.Load = func() (*rules.Ruleset, config.Problems) {
			return rules.Load([]byte(configText), "test.yaml", func(string) string { return "" })
		}
	})
	am := []byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`)
	body := []byte(`{"a":1}`)
	signed := httptest.NewRequest(http.MethodPost, "/hooks/signed", bytes.NewReader(body))
	signed.Header.Set("Content-Type", "application/json")
	signed.Header.Set("X-Webhook-Sig", sign(body))
	signed.Header.Set("X-Api-Key", "api-key-0001")
	var answers []string
	for _, r := range []*http.Request{amRequest(am, dryRun), githubRequest(body, dryRun), signed, amRequest(am, nil)} {
		if r == signed {
			dryRun(r)
		}
		resp, err := svc.App().Test(r, -1)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, 2, resp.StatusCode/100, "%s", b)
		answers = append(answers, string(b))
	}
	resp, err := svc.App().Test(httptestRequest(http.MethodGet, "/api/v1/traces", "Bearer "+admin), -1)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	answers = append(answers, string(b))
	for _, a := range answers {
		assert.NotContains(t, a, amToken)
		assert.NotContains(t, a, sign(body)[7:])
		assert.NotContains(t, a, "api-key-0001")
	}
	assert.Contains(t, answers[0], "[redacted]", "the template printed the header, redacted: %s", answers[0])
}

func TestChunkedBodyWithinTheLimitIsAccepted(t *testing.T) {
	svc, _ := newService(t)
	resp, err := svc.App().Test(smallRequest([]byte(`{"a":"`+strings.Repeat("x", 900)+`"}`), chunked), -1)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode, "%s", b)
}

// syncBuffer is a log destination safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestTracesTellWhatBecameOfEachWebhook: the trace API shows a queued
// webhook, its redelivery as a duplicate, and a refused one with why.
func TestTracesTellWhatBecameOfEachWebhook(t *testing.T) {
	svc, _ := newService(t)
	am := []byte(`{"version":"4","groupKey":"g","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-01-01T00:00:00Z"}]}`)
	for _, r := range []*http.Request{
		amRequest(am, nil),
		amRequest(am, nil), // the HA peer's copy
		amRequest(am, func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong") }),
	} {
		resp, err := svc.App().Test(r, -1)
		require.NoError(t, err)
		resp.Body.Close()
	}
	resp, err := svc.App().Test(httptestRequest(http.MethodGet, "/api/v1/traces?source=alertmanager", "Bearer "+admin), -1)
	require.NoError(t, err)
	var got struct{ Traces []bridge.WebhookTrace }
	require.NoError(t, decodeJSON(resp.Body, &got))
	require.Len(t, got.Traces, 3)
	// Newest first.
	want := []struct {
		outcome string
		code    int
	}{{bridge.OutcomeRefused, 401}, {bridge.OutcomeDuplicate, 200}, {bridge.OutcomeQueued, 202}}
	for i, w := range want {
		assert.Equal(t, w.outcome, got.Traces[i].Outcome, "trace %d", i)
		assert.Equal(t, w.code, got.Traces[i].Code, "trace %d", i)
	}
	assert.Equal(t, 1, got.Traces[2].Messages)
	assert.Zero(t, got.Traces[1].Messages, "a duplicate queues nothing")
	assert.NotEmpty(t, got.Traces[0].Refusal)
	assert.NotContains(t, got.Traces[0].Refusal, "wrong")
}

// TestStatusShowsVersionQueueAndSender: /api/v1/status says which build
// runs, how many messages wait per account, and whether the sender is
// paused.
func TestStatusShowsVersionQueueAndSender(t *testing.T) {
	svc, _ := newServiceWith(t, func(o *bridge.Options) { o.Version = "1.2.3" })
	resp, err := svc.App().Test(amRequest([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`), nil), -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp, err = svc.App().Test(httptestRequest(http.MethodGet, "/api/v1/status", "Bearer "+admin), -1)
	require.NoError(t, err)
	var got struct {
		Version string
		DryRun  bool `json:"dry_run"`
		Sender  delivery.SenderState
		Queue   []struct {
			Account string
			Pending int
		}
	}
	require.NoError(t, decodeJSON(resp.Body, &got))
	assert.Equal(t, "1.2.3", got.Version)
	assert.False(t, got.DryRun)
	assert.Equal(t, "wx_a", got.Sender.Account)
	assert.False(t, got.Sender.Paused)
	require.Len(t, got.Queue, 1)
	assert.Equal(t, "wx_a", got.Queue[0].Account)
	assert.Equal(t, 1, got.Queue[0].Pending)
}

// TestRetryAsksBeforeSendingAgain: the retry API requeues a dead message,
// sends a sent one again only with ?force=true, and never a dry-run one.
func TestRetryAsksBeforeSendingAgain(t *testing.T) {
	svc, store := newService(t)
	ctx := context.Background()
	for i := range 3 {
		am := []byte(fmt.Sprintf(`{"version":"4","groupKey":"g%d","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`, i))
		resp, err := svc.App().Test(amRequest(am, nil), -1)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
	}
	now := time.Now()
	require.NoError(t, store.Sent(ctx, []int64{1}, now))
	require.NoError(t, store.DryRun(ctx, []int64{2}, now))
	require.NoError(t, store.Dead(ctx, []int64{3}, outbox.Attempt{At: now, Error: "permanent"}))
	retry := func(path string) int {
		resp, err := svc.App().Test(httptestRequest(http.MethodPost, path, "Bearer "+admin), -1)
		require.NoError(t, err)
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusConflict, retry("/api/v1/messages/1/retry"), "sent: not without force")
	assert.Equal(t, http.StatusAccepted, retry("/api/v1/messages/1/retry?force=true"))
	assert.Equal(t, http.StatusConflict, retry("/api/v1/messages/2/retry?force=true"), "dry_run: never")
	assert.Equal(t, http.StatusAccepted, retry("/api/v1/messages/3/retry"), "dead: yes")
	assert.Equal(t, http.StatusNotFound, retry("/api/v1/messages/99/retry"))
}

// TestRenderingThatRunsOutAnswers503: a template that loops without
// writing is stopped by the render budget; the webhook gets 503 (the
// sender retries) and the service goes on answering.
func TestRenderingThatRunsOutAnswers503(t *testing.T) {
	const configText = `
gewe: {token: gewe-token, base_url: "http://127.0.0.1:1", app_id: wx_a}
server: {admin_token: ` + admin + `}
limits: {render_timeout: 200ms}
sources:
  alertmanager: {type: alertmanager, bearer_token: ` + amToken + `}
contacts:
  ops: {wxid: "1@chatroom"}
templates:
  spin: "{{ range 3000000000 }}{{ end }}done"
  nested: "{{ range .alerts }}{{ range $.alerts }}{{ range $.alerts }}{{ end }}{{ end }}{{ end }}"
rules:
  - {name: spin, when: 'labels.alertname == "Spin"', to: [ops], template: spin}
  - {name: nested, when: 'labels.alertname == "Nested"', to: [ops], template: nested}
  - {name: other, to: [ops]}
`
	svc, store := newServiceWith(t, func(o *bridge.Options) {
		o.Load = func() (*rules.Ruleset, config.Problems) {
			return rules.Load([]byte(configText), "test.yaml", func(string) string { return "" })
		}
	})
	many := make([]string, 200)
	for i := range many {
		many[i] = fmt.Sprintf(`{"status":"firing","labels":{"alertname":"Nested","i":"%d"}}`, i)
	}
	for _, body := range []string{
		`{"version":"4","status":"firing","commonLabels":{"alertname":"Spin"},"alerts":[{"status":"firing","labels":{"alertname":"Spin"}}]}`,
		`{"version":"4","status":"firing","commonLabels":{"alertname":"Nested"},"alerts":[` + strings.Join(many, ",") + `]}`,
	} {
		for _, mutate := range []func(*http.Request){nil, dryRun} {
			resp, err := svc.App().Test(amRequest([]byte(body), mutate), 10_000)
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", b)
			assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		}
	}
	resp, err := svc.App().Test(amRequest([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"Fine"}}]}`), nil), -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusAccepted, resp.StatusCode, "the service still works")
	msgs, err := store.List(context.Background(), outbox.ListFilter{Limit: 10})
	require.NoError(t, err)
	assert.Len(t, msgs, 1, "nothing of the webhooks that ran out was queued")
}

// TestRefusedTraceKeepsItsOwnHeaders: a refused webhook's trace keeps the
// delivery id it came with, not what later requests wrote into the
// server's reused header buffers (an admin token, once).
func TestRefusedTraceKeepsItsOwnHeaders(t *testing.T) {
	svc, _ := newService(t)
	const delivery = "delivery-AAAAAAAAAAAAAAAAAAAAAAAA"
	r := githubRequest([]byte(`{}`), func(r *http.Request) {
		r.Header.Set("X-GitHub-Event", "push")
		r.Header.Set("X-GitHub-Delivery", delivery)
		r.Header.Set("X-Hub-Signature-256", "sha256=00")
	})
	resp, err := svc.App().Test(r, -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	for range 20 {
		resp, err := svc.App().Test(httptestRequest(http.MethodGet, "/api/v1/status", "Bearer "+admin), -1)
		require.NoError(t, err)
		resp.Body.Close()
	}
	resp, err = svc.App().Test(httptestRequest(http.MethodGet, "/api/v1/traces?source=github", "Bearer "+admin), -1)
	require.NoError(t, err)
	var got struct{ Traces []bridge.WebhookTrace }
	require.NoError(t, decodeJSON(resp.Body, &got))
	require.Len(t, got.Traces, 1)
	assert.Equal(t, delivery, got.Traces[0].ID)
	assert.Equal(t, "push", got.Traces[0].Event)
}

// TestConsoleBodyIsNotReadAsTheNextRequest: a console POST whose body is
// refused unread closes its connection, so what the body held is never
// answered as a second request on it.
func TestConsoleBodyIsNotReadAsTheNextRequest(t *testing.T) {
	svc, _ := newService(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go svc.App().Listener(ln)
	t.Cleanup(func() { svc.App().Shutdown() })
	smuggled := "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
	body := strings.Repeat("x", 8192) + smuggled
	for _, path := range []string{"/ui/login", "/api/v1/playground", "/ui/logout"} {
		conn, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nX-Console: 1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
		_, err = conn.Write([]byte(req))
		require.NoError(t, err)
		answer, _ := io.ReadAll(conn)
		conn.Close()
		assert.Equal(t, 1, strings.Count(string(answer), "HTTP/1.1 "), "%s: one answer, got:\n%s", path, answer)
		assert.NotContains(t, string(answer), "OK\n", path)
	}
}

// TestListPagesPastTheLargestLimit: a limit over the store's largest still
// gets next_before when the page is full, so a script paging with
// ?limit=1000 does not stop after the first 500.
func TestListPagesPastTheLargestLimit(t *testing.T) {
	svc, _ := newService(t)
	for i := range outbox.MaxListLimit + 1 {
		am := []byte(fmt.Sprintf(`{"version":"4","groupKey":"g%d","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`, i))
		resp, err := svc.App().Test(amRequest(am, nil), -1)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, resp.StatusCode)
	}
	resp, err := svc.App().Test(httptestRequest(http.MethodGet, "/api/v1/messages?limit=1000", "Bearer "+admin), -1)
	require.NoError(t, err)
	var got struct {
		Messages   []outbox.Queued `json:"messages"`
		NextBefore int64           `json:"next_before"`
	}
	require.NoError(t, decodeJSON(resp.Body, &got))
	assert.Len(t, got.Messages, outbox.MaxListLimit)
	assert.NotZero(t, got.NextBefore)
}
