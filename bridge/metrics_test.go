package bridge_test

import (
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/bridge/metrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetricsExposition(t *testing.T) {
	svc, _ := newServiceWith(t, func(o *bridge.Options) {
		o.Metrics = metrics.New()
		o.Metrics.SetBuildInfo("1.2.3")
	})

	resp, err := svc.App().Test(amRequest([]byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A"}}]}`), nil), -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp, err = svc.App().Test(amRequest([]byte(`{}`), func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }), -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, err = svc.App().Test(httptestRequest(http.MethodGet, "/metrics", ""), -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`gewe_bridge_webhooks_received_total{code="202",event="alert",source="alertmanager"} 1`,
		`gewe_bridge_webhooks_received_total{code="401",event="",source="alertmanager"} 1`,
		`gewe_bridge_webhook_auth_failures_total{source="alertmanager"} 1`,
		`gewe_bridge_rule_matches_total{rule="all"} 1`,
		`gewe_bridge_messages_queued_total 1`,
		`gewe_bridge_queue_pending{account="wx_a"} 1`,
		`gewe_bridge_oldest_pending_seconds{account="wx_a"}`,
		`gewe_bridge_config_last_reload_successful 1`,
		// Group commit at work (the sender's writes count too, so no exact
		// figure): how many writes share an fsync.
		`gewe_bridge_outbox_commits_total `,
		`gewe_bridge_outbox_committed_writes_total `,
		`go_goroutines`,
		`gewe_bridge_build_info{goversion="` + runtime.Version() + `",version="1.2.3"} 1`,
	} {
		assert.Contains(t, string(body), want)
	}
}
