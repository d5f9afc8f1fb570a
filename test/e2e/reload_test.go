package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReload changes the config of a running bridge in the three ways an
// operator can (the file on disk, SIGHUP, POST /-/reload) and checks that
// each takes effect, and that an invalid config is refused, reported, and
// leaves the running one in place.
func TestReload(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	conf := newConf(fake)
	b := startBridge(t, conf)
	rulesNow := func() int {
		var st struct {
			Rules      int `json:"rules"`
			LastReload struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			} `json:"last_reload"`
		}
		r := b.Admin(t, "GET", "/api/v1/status")
		if err := json.Unmarshal(r.Body, &st); err != nil {
			t.Fatalf("status: %v: %s", err, r)
		}
		if !st.LastReload.OK {
			return -1
		}
		return st.Rules
	}
	base := rulesNow()
	if base <= 0 {
		t.Fatalf("status shows %d rules", base)
	}
	write := func(extra int) {
		t.Helper()
		c := *conf
		c.Body = conf.Body
		for i := 0; i < extra; i++ {
			c.Body += "  - {name: extra" + string(rune('a'+i)) + ", when: 'false', to: [wxid_extra]}\n"
		}
		text := c.render(strings.TrimPrefix(b.URL, "http://"), b.Storage)
		if err := os.WriteFile(b.Config, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The harness writes the config with the listen address and storage
	// path of this bridge; appending rules keeps both.
	if !strings.HasSuffix(conf.Body, "\n") {
		t.Fatal("the standard rules must end with a newline")
	}

	write(1)
	if !eventually(10*time.Second, func() bool { return rulesNow() == base+1 }) {
		t.Fatalf("a changed file was not reloaded: %d rules", rulesNow())
	}

	write(2)
	b.mu.Lock()
	_ = b.cmd.Process.Signal(syscall.SIGHUP)
	b.mu.Unlock()
	if !eventually(5*time.Second, func() bool { return rulesNow() == base+2 }) {
		t.Fatalf("SIGHUP did not reload: %d rules", rulesNow())
	}

	write(3)
	if r := b.Admin(t, "POST", "/-/reload"); r.Status != 200 {
		t.Fatalf("POST /-/reload: %s", r)
	}
	if got := rulesNow(); got != base+3 {
		t.Fatalf("POST /-/reload: %d rules, want %d", got, base+3)
	}

	// An invalid config is refused: the answer says where, the status and
	// the metric say it failed, and webhooks still route by the old one.
	broken := strings.Replace(b.configText(t), "rules:", "rules:\n  - {name: bad, when: 'labels.x ==', to: [wxid_x]}", 1)
	if err := os.WriteFile(b.Config, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	r := b.Admin(t, "POST", "/-/reload")
	if r.Status != 400 || !strings.Contains(string(r.Body), "rules[0].when") {
		t.Fatalf("invalid config: %s", r)
	}
	if rulesNow() != -1 {
		t.Fatal("status does not show the failed reload")
	}
	metrics := mustDo(t, "GET", b.URL+"/metrics", nil, nil)
	if !strings.Contains(string(metrics.Body), "gewe_bridge_config_last_reload_successful 0") {
		t.Fatal("metric config_last_reload_successful is not 0 after a failed reload")
	}
	if resp := b.Alertmanager(t, fixture(t, "alertmanager/firing.json")); resp.Status != 202 {
		t.Fatalf("after a refused reload the old config must keep working: %s", resp)
	}
	if got := fake.WaitFor(1, 10*time.Second); len(got) == 0 {
		t.Fatal("nothing delivered with the old config")
	}
}

// configText is the config file as it is now.
func (b *Bridge) configText(t *testing.T) string {
	data, err := os.ReadFile(b.Config)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
