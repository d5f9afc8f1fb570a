package bridge_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/sqlite"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// reloadable serves a config that the test can change.
type reloadable struct {
	mu  sync.Mutex
	src string
}

func (r *reloadable) set(s string) { r.mu.Lock(); r.src = s; r.mu.Unlock() }

func (r *reloadable) load() (*rules.Ruleset, config.Problems) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return rules.Load([]byte(r.src), "test.yaml", func(string) string { return "" })
}

func newReloadableService(t *testing.T, cfg *reloadable, logTo io.Writer) (*bridge.Service, *sqlite.Store) {
	t.Helper()
	store, err := sqlite.Open(t.TempDir()+"/outbox.db", sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	svc, err := bridge.New(bridge.Options{Load: cfg.load, Outbox: store, Client: &fakeClient{}, Account: "wx_a",
		Logger: slog.New(slog.NewTextHandler(logTo, nil))})
	require.NoError(t, err)
	return svc, store
}

var alertSeq atomic.Int64

// matched posts a new alert (a distinct fingerprint: not a duplicate) and
// returns the rules that matched it.
func matched(t *testing.T, svc *bridge.Service) []string {
	t.Helper()
	fp := strconv.FormatInt(alertSeq.Add(1), 16)
	am := []byte(`{"version":"4","status":"firing","alerts":[{"status":"firing","fingerprint":"` + fp + `","labels":{"alertname":"A"}}]}`)
	resp, err := svc.App().Test(amRequest(am, nil), -1)
	require.NoError(t, err)
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	var answer struct{ Matched []string }
	require.NoError(t, decodeJSON(resp.Body, &answer))
	return answer.Matched
}

func TestReload(t *testing.T) {
	cfg := &reloadable{src: serviceConfig}
	svc, _ := newReloadableService(t, cfg, io.Discard)
	assert.Equal(t, []string{"all"}, matched(t, svc))

	cfg.set(strings.Replace(serviceConfig, "name: all", "name: renamed", 1))
	require.NoError(t, svc.Reload())
	assert.Equal(t, []string{"renamed"}, matched(t, svc), "a valid config takes effect")

	cfg.set(strings.Replace(serviceConfig, "name: all", "name: broken, when: \"labels.x ==\"", 1))
	err := svc.Reload()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test.yaml:")
	assert.Equal(t, []string{"renamed"}, matched(t, svc), "an invalid config is refused; the running one stays")

	r := httptestRequest(http.MethodGet, "/api/v1/status", "Bearer "+admin)
	resp, err := svc.App().Test(r, -1)
	require.NoError(t, err)
	var status struct {
		LastReload struct {
			OK    bool
			Error string
		} `json:"last_reload"`
	}
	require.NoError(t, decodeJSON(resp.Body, &status))
	assert.False(t, status.LastReload.OK)
	assert.Contains(t, status.LastReload.Error, "rules[0].when")
}

// TestReloadUnderTraffic reloads while webhooks arrive: every webhook is
// answered 202 and routed whole by one config or the other.
func TestReloadUnderTraffic(t *testing.T) {
	a := serviceConfig
	b := strings.Replace(serviceConfig, "- {name: all, to: [ops]}", "- {name: first, to: [ops], continue: true}\n  - {name: second, to: [ops]}", 1)
	cfg := &reloadable{src: a}
	svc, store := newReloadableService(t, cfg, io.Discard)
	var accepted, messages atomic.Int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got := matched(t, svc)
				switch strings.Join(got, ",") {
				case "all":
					messages.Add(1)
				case "first,second":
					messages.Add(2)
				default:
					t.Errorf("half-routed webhook: %v", got)
				}
				accepted.Add(1)
			}
		}()
	}
	for i := 0; i < 40; i++ {
		if i%2 == 0 {
			cfg.set(b)
		} else {
			cfg.set(a)
		}
		require.NoError(t, svc.Reload())
	}
	close(stop)
	wg.Wait()
	queued, err := store.List(context.Background(), outbox.ListFilter{Limit: 500})
	require.NoError(t, err)
	if messages.Load() <= 500 {
		assert.Len(t, queued, int(messages.Load()), "every accepted webhook's messages are stored")
	}
	assert.Positive(t, accepted.Load())
}

// TestSecretsNeverLogged runs refused and accepted webhooks and a failed
// reload, and looks for every secret in everything logged.
func TestSecretsNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	var mu sync.Mutex
	cfg := &reloadable{src: serviceConfig}
	svc, _ := newReloadableService(t, cfg, lockedWriter{&mu, &logs})
	body := []byte(`{"ref":"refs/heads/main"}`)
	for _, r := range []*http.Request{
		githubRequest(body, nil),
		githubRequest(body, func(r *http.Request) { r.Header.Set("X-Hub-Signature-256", "sha256=00") }),
		amRequest([]byte(`{}`), func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong-"+amToken) }),
		httptestRequest(http.MethodPost, "/-/reload", "Bearer "+admin),
	} {
		resp, err := svc.App().Test(r, -1)
		require.NoError(t, err)
		resp.Body.Close()
	}
	cfg.set(strings.Replace(serviceConfig, "sources:", "sources:\n  bad: {type: generic, bearer_token: "+amToken+", secret: [}", 1))
	_ = svc.Reload()
	mu.Lock()
	defer mu.Unlock()
	for _, secret := range []string{ghSecret, amToken, admin, "gewe-token"} {
		assert.NotContains(t, logs.String(), secret)
	}
	assert.Contains(t, logs.String(), "webhook refused", "the log did capture the requests")
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestReloadWarnsOnlyWhenRestartSettingsChange: reloading the same file
// (delivery settings included, coalesce set) says nothing about a restart;
// changing a delivery setting does.
func TestReloadWarnsOnlyWhenRestartSettingsChange(t *testing.T) {
	const base = serviceConfig + "delivery: {coalesce: true, per_minute: 20}\n"
	cfg := &reloadable{src: base}
	var logs syncBuffer
	svc, _ := newReloadableService(t, cfg, &logs)
	require.NoError(t, svc.Reload())
	assert.NotContains(t, logs.String(), "only on restart", "nothing changed")
	cfg.set(strings.Replace(base, "per_minute: 20", "per_minute: 10", 1))
	require.NoError(t, svc.Reload())
	assert.Contains(t, logs.String(), "only on restart")
}

// TestReloadIntoDryRunIsRefused: a reload cannot switch dry-run on (which
// would open sources without credentials while messages are still sent
// for real) or off; the running config stays.
func TestReloadIntoDryRunIsRefused(t *testing.T) {
	cfg := &reloadable{src: serviceConfig}
	svc, _ := newReloadableService(t, cfg, io.Discard)
	dry := strings.Replace(serviceConfig, "gewe: {token: gewe-token,", "gewe: {dry_run: true, token: gewe-token,", 1)
	dry = strings.Replace(dry, `github: {type: github, secret: "`+ghSecret+`"}`, `github: {type: github, secret: ""}`, 1)
	require.NotEqual(t, serviceConfig, dry)
	cfg.set(dry)
	err := svc.Reload()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "changes only on restart")
	// The sources still authenticate: an unsigned GitHub hook is refused.
	resp, err := svc.App().Test(githubRequest([]byte(`{}`), func(r *http.Request) {
		r.Header.Set("X-GitHub-Event", "push")
		r.Header.Del("X-Hub-Signature-256")
	}), -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}
