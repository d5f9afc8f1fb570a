// Package browser tests the web console end to end in headless Chromium
// (Debian's chromium package) driven by chromedp: log in, preview the
// Alertmanager fixture with an edited rule, find a sent and a dead message
// in the history, retry the dead one, and check that no request left
// 127.0.0.1. Screenshots of each page are saved as artefacts
// ($BROWSER_ARTIFACTS, else test/browser/screenshots).
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/sqlite"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

const (
	adminToken = "console-admin-token-123"
	amToken    = "am-token-1234567890"
)

const configText = `
gewe: {token: gewe-token, base_url: "http://127.0.0.1:1", app_id: wx_console}
server: {listen: "%s", admin_token: ` + adminToken + `}
delivery: {person_gap: 0s, group_gap_min: 0s, group_gap_max: 0s, initial_backoff: 1s, max_backoff: 1s, max_attempts: 1}
sources:
  alertmanager: {type: alertmanager, bearer_token: ` + amToken + `}
  deploys: {type: generic, bearer_token: ` + amToken + `}
contacts:
  ops: {wxid: "1234@chatroom"}
  oncall: {wxid: wxid_oncall, name: 值班}
  nobody: {wxid: wxid_dead}
templates:
  alert-short: "{{ .labels.alertname }} {{ .status }}: {{ len .alerts }} alert(s)"
rules:
  - name: critical-alerts
    when: 'type == "alertmanager" && labels.severity == "critical"'
    to: [ops]
    at: [oncall]
    template: alert-short
  - name: deploys
    when: 'source == "deploys"'
    to: [nobody]
`

// chromium finds the browser: skipped locally without one, a failure in
// CI (.ci/run installs it).
func chromium(t *testing.T) string {
	for _, p := range []string{os.Getenv("CHROMIUM_BIN"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := "chromium not found (apt-get install chromium; .ci/run installs it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// flaky is the GeWe stand-in: wxid_dead's first message fails for good
// (a dead letter), every other send succeeds.
type flaky struct {
	mu     sync.Mutex
	failed bool
}

func (f *flaky) Send(_ context.Context, m gewe.Message) (gewe.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m.To == "wxid_dead" && !f.failed {
		f.failed = true
		return gewe.GiveUp, errors.New("ret=500: the recipient is not a friend of this account")
	}
	return gewe.Sent, nil
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startBridge(t *testing.T) string {
	addr := freeAddr(t)
	yaml := fmt.Sprintf(configText, addr)
	load := func() (*rules.Ruleset, config.Problems) {
		return rules.Load([]byte(yaml), "console.yaml", func(string) string { return "" })
	}
	store, err := sqlite.Open(filepath.Join(t.TempDir(), "outbox.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := bridge.New(bridge.Options{Load: load, Outbox: store, Client: &flaky{}, Account: "wx_console",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; store.Close() })
	base := "http://" + addr
	eventually(t, 5*time.Second, "the bridge listens", func() bool {
		r, err := http.Get(base + "/-/healthy")
		if err == nil {
			r.Body.Close()
		}
		return err == nil
	})
	return base
}

func post(t *testing.T, url, body string, h map[string]string) int {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h {
		req.Header.Set(k, v)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	return r.StatusCode
}

func states(t *testing.T, base string) map[string]int {
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/messages", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var out struct {
		Messages []struct{ State string } `json:"messages"`
	}
	_ = json.NewDecoder(r.Body).Decode(&out)
	n := map[string]int{}
	for _, m := range out.Messages {
		n[m.State]++
	}
	return n
}

func eventually(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting until %s", what)
}

// byLabel is the form control a <label> with this text names.
func byLabel(text string) string {
	return fmt.Sprintf(`//*[@id=(//label[normalize-space(.)=%q]/@for)]`, text)
}

// button is the button with this text or aria-label.
func button(name string) string {
	return fmt.Sprintf(`//button[normalize-space(.)=%q or @aria-label=%q]`, name, name)
}

func repoRoot(t *testing.T) string {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

func TestConsole(t *testing.T) {
	exe := chromium(t)
	base := startBridge(t)
	fixture, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata/alertmanager/firing.json"))
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Authorization": "Bearer " + amToken}
	if c := post(t, base+"/hooks/alertmanager", string(fixture), auth); c != http.StatusAccepted {
		t.Fatalf("alertmanager hook: %d", c)
	}
	if c := post(t, base+"/hooks/deploys", `{"service":"api","version":"1.2.3"}`, map[string]string{
		"Authorization": "Bearer " + amToken, "X-Event": "deploy"}); c != http.StatusAccepted {
		t.Fatalf("deploys hook: %d", c)
	}
	eventually(t, 10*time.Second, "one message is sent and one dead", func() bool {
		s := states(t, base)
		return s["sent"] == 1 && s["dead"] == 1
	})

	artefacts := os.Getenv("BROWSER_ARTIFACTS")
	if artefacts == "" {
		artefacts = "screenshots"
	}
	if err := os.MkdirAll(artefacts, 0o755); err != nil {
		t.Fatal(err)
	}

	profile := t.TempDir()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.UserDataDir(profile), chromedp.WindowSize(1400, 1000),
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("no-pings", true), chromedp.Flag("dns-prefetch-disable", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()

	var mu sync.Mutex
	var requests []string
	var transferred int64
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithListener(func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *network.EventLoadingFinished:
			transferred += int64(e.EncodedDataLength)
		}
	}))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(artefacts, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitText := func(sel, want string) {
		t.Helper()
		var got string
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			got, _ = chromedp.Run(ctx, chromedp.Text(sel))
			if strings.Contains(got, want) {
				return
			}
		}
		t.Fatalf("%s never showed %q; it shows %q", sel, want, got)
	}
	waitValue := func(sel, want string) {
		t.Helper()
		var got string
		for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
			got, _ = chromedp.Run(ctx, chromedp.Value(sel))
			if strings.Contains(got, want) {
				return
			}
		}
		t.Fatalf("%s never held %q; it holds %q", sel, want, got)
	}
	// choose picks the option of a select whose text contains part.
	choose := func(label, part string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const s = document.getElementById([...document.querySelectorAll("label")].find(l => l.textContent.trim() === %q).htmlFor);
			const o = [...s.options].find(o => o.textContent.includes(%q)); if (!o) return false;
			s.value = o.value; s.dispatchEvent(new Event("change", {bubbles: true})); return true; })()`, label, part)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err != nil || !ok {
			t.Fatalf("choosing %q in %q: %v", part, label, err)
		}
	}

	// clear empties a field, as select-all and delete would.
	clear := func(label string) chromedp.Action[chromedp.Void] {
		js := fmt.Sprintf(`(() => { const f = document.getElementById([...document.querySelectorAll("label")].find(l => l.textContent.trim() === %q).htmlFor);
			f.value = ""; return true; })()`, label)
		return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Evaluate[bool](js)(ctx, tg)
			return chromedp.Void{}, err
		}
	}

	// The first load: the login form, and what it weighs.
	do("open the console", chromedp.Navigate(base+"/"), chromedp.WaitVisible(byLabel("Admin or read-only token")))
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	firstLoad := transferred
	mu.Unlock()
	t.Logf("first load: %d bytes transferred", firstLoad)
	if firstLoad > 150<<10 {
		t.Errorf("the first load transferred %d bytes; the budget is 150 KB", firstLoad)
	}
	shot("1-login")

	do("log in",
		chromedp.SendKeys(byLabel("Admin or read-only token"), adminToken),
		chromedp.Click(button("Log in")),
		chromedp.WaitVisible(chromedp.ID("pg-title")))

	// The playground: the Alertmanager webhook from the trace ring, the
	// rule's template edited; the preview follows the typing.
	waitText(byLabel("Recent webhook"), "alertmanager")
	choose("Recent webhook", "alertmanager")
	waitText("#chat", "NodeFilesystemSpaceFillingUp firing: 2 alert(s)")
	waitText("#chat", "@值班")
	do("edit the template", chromedp.SendKeys(byLabel("Template text"), " EDITED on {{ .labels.team }}"))
	waitText("#chat", "2 alert(s) EDITED on infra")
	// A broken `when` shows the expression with a caret under the column.
	do("break the rule", clear("When (expression)"),
		chromedp.SendKeys(byLabel("When (expression)"), `labels.severity == "critical" &&`))
	waitText("#problems", "^")
	waitText("#problems", "rules[0].when")
	shot("2-playground-error")
	do("fix the rule", clear("When (expression)"),
		chromedp.SendKeys(byLabel("When (expression)"), `labels.team == "infra"`))
	waitText("#chat", "EDITED on infra")
	waitText("#verdicts", "matched")
	waitValue(byLabel("Rule as YAML"), `when: labels.team == "infra"`)
	do("copy the rule", chromedp.Click(button("Copy rule as YAML")))
	waitText("#copy-status", "YAML")
	shot("3-playground")

	// History: a sent and a dead message; the dead one retried.
	do("open the history", chromedp.Click(`//a[normalize-space(.)="History"]`), chromedp.WaitVisible(chromedp.ID("h-title")))
	waitText("#h-table", "sent")
	waitText("#h-table", "dead")
	shot("4-history")
	choose("State", "dead")
	do("search dead letters", chromedp.Click(button("Search")))
	waitText("#h-table", "nobody (wxid_dead)")
	time.Sleep(200 * time.Millisecond)
	rows := text("#h-table tbody")
	if strings.Contains(rows, "critical-alerts") {
		t.Fatalf("the dead-letter search lists a sent message: %q", rows)
	}
	do("open the dead message", chromedp.Click(`//button[starts-with(@aria-label, "Details of message")]`))
	waitText("#d-attempts", "not a friend")
	shot("5-message")
	do("retry it", chromedp.Click(button("Retry")))
	waitText("#d-status", "pending again")
	eventually(t, 10*time.Second, "the retried message is sent", func() bool { return states(t, base)["sent"] == 2 })

	// Senders.
	do("open the senders", chromedp.Click(`//a[normalize-space(.)="Senders"]`), chromedp.WaitVisible(chromedp.ID("s-title")))
	waitText("#s-table", "wx_console")
	waitText("#s-table", "sending")
	shot("6-senders")

	// Chat-ops commands: none came in; the page says so with its table.
	do("open the commands", chromedp.Click(`//a[normalize-space(.)="Commands"]`), chromedp.WaitVisible(chromedp.ID("c-title")))
	waitText("#c-table", "Result")
	shot("7-commands")

	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		pu, err := url.Parse(u)
		if err != nil {
			t.Errorf("request to an unreadable URL %q", u)
			continue
		}
		if pu.Scheme == "data" {
			continue
		}
		if pu.Hostname() != "127.0.0.1" {
			t.Errorf("a request left 127.0.0.1: %s", u)
		}
	}
	if len(requests) == 0 {
		t.Error("no request recorded: the network listener saw nothing")
	}
	t.Logf("%d requests, all to 127.0.0.1; screenshots in %s", len(requests), artefacts)
}
