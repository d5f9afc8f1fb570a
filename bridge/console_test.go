package bridge_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConsoleAPI: the history filters, the trace's kept request for the
// playground (credentials redacted), a playground run through the
// service's adapter, the read-only token, and the pace in the status.
func TestConsoleAPI(t *testing.T) {
	svc, _ := newServiceWith(t, func(o *bridge.Options) { o.ReadToken = "reader-token-42" })
	am := `{"version":"4","groupKey":"g%d","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A%d"},"startsAt":"2026-01-01T00:00:00Z"}]}`
	for i := range 3 {
		resp, err := svc.App().Test(amRequest(fmt.Appendf(nil, am, i, i), nil), -1)
		require.NoError(t, err)
		require.Equal(t, 202, resp.StatusCode)
	}
	resp, err := svc.App().Test(githubRequest([]byte(`{"ref":"refs/heads/main","repository":{"full_name":"a/b"},"sender":{"login":"x"}}`), nil), -1)
	require.NoError(t, err)
	require.Equal(t, 202, resp.StatusCode)

	get := func(path, token string) (int, map[string]any) {
		t.Helper()
		resp, err := svc.App().Test(httptestRequest(http.MethodGet, path, "Bearer "+token), -1)
		require.NoError(t, err)
		var out map[string]any
		_ = decodeJSON(resp.Body, &out)
		return resp.StatusCode, out
	}
	count := func(q string) int {
		t.Helper()
		code, out := get("/api/v1/messages?"+q, admin)
		require.Equal(t, 200, code, q)
		return len(out["messages"].([]any))
	}
	assert.Equal(t, 4, count(""))
	assert.Equal(t, 3, count("source=alertmanager"))
	assert.Equal(t, 1, count("source=github&state=pending"))
	assert.Equal(t, 4, count("to=ops"), "a contact's name finds its wxid")
	assert.Equal(t, 4, count("to=1@chatroom&rule=all"))
	assert.Equal(t, 0, count("rule=nope"))
	assert.Equal(t, 0, count("until=2000-01-01T00:00:00Z"))
	assert.Equal(t, 4, count("since="+time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)))
	assert.Equal(t, 2, count("source=alertmanager&limit=2"))
	code, _ := get("/api/v1/messages?since=yesterday", admin)
	assert.Equal(t, 400, code)

	// The read-only token reads the admin API, and changes nothing.
	code, _ = get("/api/v1/status", "reader-token-42")
	assert.Equal(t, 200, code)
	r := httptestRequest(http.MethodPost, "/api/v1/messages/1/retry", "Bearer reader-token-42")
	resp, err = svc.App().Test(r, -1)
	require.NoError(t, err)
	assert.Equal(t, 403, resp.StatusCode)

	// The pace in the status.
	_, st := get("/api/v1/status", admin)
	pace := st["pace"].(map[string]any)
	assert.Equal(t, "wx_a", pace["account"])
	assert.Contains(t, pace, "sent_last_minute")

	// The traces keep their requests, redacted.
	_, tr := get("/api/v1/traces?source=alertmanager", admin)
	traces := tr["traces"].([]any)
	require.Len(t, traces, 3)
	first := traces[0].(map[string]any)
	assert.Equal(t, true, first["has_request"])
	seq := int(first["seq"].(float64))
	code, req := get("/api/v1/traces/"+strconv.Itoa(seq)+"/request", admin)
	require.Equal(t, 200, code)
	assert.Equal(t, "[redacted]", req["headers"].(map[string]any)["authorization"])
	assert.Contains(t, req["payload"], `"groupKey":"g2"`)

	// The playground runs the payload through the source's adapter,
	// credentials unchecked; nothing is queued.
	body, _ := json.Marshal(map[string]any{"source": "alertmanager", "payload": req["payload"]})
	pr := httptest.NewRequest(http.MethodPost, "/api/v1/playground", bytes.NewReader(body))
	pr.Header.Set("Authorization", "Bearer "+admin)
	pr.Header.Set("Content-Type", "application/json")
	resp, err = svc.App().Test(pr, -1)
	require.NoError(t, err)
	var out map[string]any
	require.NoError(t, decodeJSON(resp.Body, &out))
	require.Equal(t, 200, resp.StatusCode, out)
	assert.Len(t, out["messages"], 1)
	assert.Equal(t, 4, count(""), "the playground queues nothing")
}

// TestReadTokenFromConfig: server.read_token opens the reads, not retries.
func TestReadTokenFromConfig(t *testing.T) {
	svc, _ := newServiceWith(t, func(o *bridge.Options) {
		o.Load = func() (*rules.Ruleset, config.Problems) {
			return rules.Load([]byte(strings.Replace(serviceConfig, "server: {admin_token: "+admin+"}",
				"server: {admin_token: "+admin+", read_token: reader-from-config}", 1)), "test.yaml", func(string) string { return "" })
		}
	})
	resp, err := svc.App().Test(httptestRequest(http.MethodGet, "/api/v1/status", "Bearer reader-from-config"), -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = svc.App().Test(httptestRequest(http.MethodPost, "/api/v1/messages/1/retry", "Bearer reader-from-config"), -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
}
