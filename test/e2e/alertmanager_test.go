package e2e

import (
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alertmanagerVersion is the Alertmanager .ci/run installs.
const alertmanagerVersion = "v0.28.1"

// alertmanagerBin finds the alertmanager binary: $ALERTMANAGER_BIN, or
// PATH. Without one the test is skipped locally and fails in CI.
func alertmanagerBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("ALERTMANAGER_BIN")
	if p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("ALERTMANAGER_BIN: %v", err)
		}
	} else if lp, err := exec.LookPath("alertmanager"); err == nil {
		p = lp
	}
	if p == "" {
		msg := "alertmanager " + alertmanagerVersion + " not found: set ALERTMANAGER_BIN or put it on PATH " +
			"(.ci/run installs it with go install github.com/prometheus/alertmanager/cmd/alertmanager@" + alertmanagerVersion + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if bi, err := buildinfo.ReadFile(p); err == nil && bi.Main.Path == "github.com/prometheus/alertmanager" &&
		bi.Main.Version != alertmanagerVersion {
		t.Logf("warning: %s is alertmanager %s; this test is written for %s", p, bi.Main.Version, alertmanagerVersion)
	}
	return p
}

// TestRealAlertmanager runs a real Alertmanager whose webhook receiver is
// the bridge (with a bearer token, as http_config.authorization sends it),
// posts an alert to its API v2, and waits for the message at the fake
// GeWe; then resolves the alert and waits for the resolved message.
func TestRealAlertmanager(t *testing.T) {
	t.Parallel()
	bin := alertmanagerBin(t)
	fake := newFake(t, true)
	b := startBridge(t, newConf(fake))

	dir := t.TempDir()
	port := freePort(t)
	amURL := fmt.Sprintf("http://127.0.0.1:%d", port)
	cfg := fmt.Sprintf(`route:
  receiver: bridge
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: bridge
    webhook_configs:
      - url: %q
        send_resolved: true
        http_config:
          authorization:
            credentials: %q
`, b.URL+"/hooks/alertmanager", amToken)
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+fmt.Sprintf("127.0.0.1:%d", port), "--cluster.listen-address=",
		"--web.external-url="+amURL)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting alertmanager: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("alertmanager output:\n%s", out.String())
		}
	})
	ready := eventually(30*time.Second, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		r, err := do("GET", amURL+"/-/ready", nil, nil)
		return err == nil && r.Status == http.StatusOK
	})
	select {
	case <-exited:
		t.Fatalf("alertmanager exited: %v\n%s", cmd.ProcessState, out.String())
	default:
	}
	if !ready {
		t.Fatalf("alertmanager not ready after 30s\n%s", out.String())
	}

	name := "E2ERealAlertmanager" + strings.ReplaceAll(newID()[:8], "-", "")
	post := func(endsAt string) {
		t.Helper()
		alert := map[string]any{
			"labels":       map[string]string{"alertname": name, "severity": "critical", "instance": "db-7:5432"},
			"annotations":  map[string]string{"summary": "Replication lag on db-7 is 42s"},
			"startsAt":     time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
			"generatorURL": "http://prometheus:9090/graph?g0.expr=pg_replication_lag&g0.tab=1",
		}
		if endsAt != "" {
			alert["endsAt"] = endsAt
		}
		body, _ := json.Marshal([]any{alert})
		r := mustDo(t, "POST", amURL+"/api/v2/alerts", body, map[string]string{"Content-Type": "application/json"})
		if r.Status != http.StatusOK {
			t.Fatalf("POST /api/v2/alerts: %s", r)
		}
	}

	post("")
	// audit (to the on-call) and critical-alerts (to ops, mentioning them).
	reqs := waitDelivered(t, fake, 2, 30*time.Second)
	var group string
	for _, rq := range reqs[:2] {
		m := oneMessage(t, rq)
		switch m.To {
		case "wxid_oncall":
			assertContains(t, "the audit message", m.Content, name+" firing: 1 alert(s) "+amURL)
		case opsGroup:
			group = m.Content
			if !slices.Equal(m.At, []string{"wxid_oncall"}) {
				t.Errorf("ops message at %q, want [wxid_oncall]", m.At)
			}
			assertContains(t, "the ops message", m.Content, "@值班", name, "Replication lag on db-7 is 42s", "db-7:5432", "critical")
		default:
			t.Errorf("unexpected recipient %s", m.To)
		}
	}
	if group == "" {
		t.Fatalf("no message to the ops group")
	}

	// Resolve it: Alertmanager sends the resolved notification.
	post(time.Now().Add(-time.Second).UTC().Format(time.RFC3339))
	reqs = waitDelivered(t, fake, 3, 30*time.Second)
	m := oneMessage(t, reqs[2])
	if m.To != opsGroup {
		t.Errorf("resolved message to %s, want %s", m.To, opsGroup)
	}
	assertContains(t, "the resolved message", m.Content, name, "db-7:5432")
	if m.Content == group {
		t.Errorf("the resolved message is the same as the firing one:\n%s", m.Content)
	}
	checkWire(t, fake, "", "v1")
	if n := strings.Count(b.Output(), `msg="webhook accepted" source=alertmanager`); n != 2 {
		t.Errorf("the bridge logged %d accepted Alertmanager webhooks, want 2 (firing, resolved)", n)
	}
}
