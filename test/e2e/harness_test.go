// Package e2e tests gewe-bridge end to end: the real binary, built once by
// TestMain, started with a config written by each test, fed webhooks over
// HTTP, and sending to the fake GeWe server of adapters/gewe/gewetest.
package e2e

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe/gewetest"
	"github.com/gewe-bridge/gewe-bridge/test/fixtures"
)

const modulePath = "github.com/gewe-bridge/gewe-bridge"

// Credentials the test configs use. None of them may appear in the logs.
const (
	githubSecret = "e2e-github-secret-9d2f"
	amToken      = "e2e-am-token-4c7e"
	deployToken  = "e2e-deploy-token-1b8a"
	adminToken   = "e2e-admin-token-6f3c"
)

var (
	repoRoot    string // the directory holding go.mod
	binPath     string // the gewe-bridge binary TestMain built
	fixturesDir string // the repository's testdata
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	var err error
	if repoRoot, err = findRepoRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if fixturesDir, err = findFixtures(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "gewe-bridge-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binPath = filepath.Join(tmp, "gewe-bridge")
	start := time.Now()
	build := exec.Command(goTool(), "build", "-o", binPath, ".")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build in %s failed: %v\n%s", repoRoot, err, out)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: built %s in %s; fixtures in %s\n", binPath, time.Since(start).Round(time.Millisecond), fixturesDir)
	return m.Run()
}

// goTool is the go command: the one on PATH, or the one of GOROOT.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// findRepoRoot walks up from the working directory to the go.mod of this
// module.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module "+modulePath)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of " + modulePath + " above the working directory")
		}
		dir = parent
	}
}

// findFixtures is the repository's testdata directory.
// GEWE_BRIDGE_FIXTURES overrides it.
func findFixtures() (string, error) {
	if d := os.Getenv("GEWE_BRIDGE_FIXTURES"); d != "" {
		return d, nil
	}
	return fixtures.Dir()
}

// fixture reads a file of testdata, e.g. "github/push.json".
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixturesDir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// cleanEnv is the environment for the binary, without the variables
// rules.example.yaml reads, so that the caller's shell cannot change what
// a test sees.
func cleanEnv() []string {
	drop := []string{"GEWE_", "GITHUB_WEBHOOK_SECRET=", "ALERTMANAGER_TOKEN=", "DEPLOY_TOKEN=",
		"ADMIN_TOKEN=", "LISTEN=", "STORAGE_PATH=", "OPS_GROUP=", "DEV_GROUP="}
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, p := range drop {
			if strings.HasPrefix(kv, p) {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects a process's output; safe for concurrent use.
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

// fastDelivery is pacing fast enough for tests, retries quick.
func fastDelivery() map[string]string {
	return map[string]string{
		"group_gap_min":         "10ms",
		"group_gap_max":         "20ms",
		"person_gap":            "10ms",
		"per_minute":            "10000",
		"recipients_per_minute": "10000",
		"initial_backoff":       "50ms",
		"max_backoff":           "500ms",
		"pause":                 "200ms",
	}
}

// Conf is the config a bridge starts with; the listen address and the
// storage path are the harness's.
type Conf struct {
	GeweURL  string            // gewe.base_url
	Token    string            // gewe.token; "" needs dry-run (DryRun or Flags -dry-run)
	DryRun   bool              // gewe.dry_run: true
	Flags    []string          // more flags for serve, e.g. -dry-run
	API      string            // gewe.api
	Timeout  string            // gewe.timeout
	Delivery map[string]string // delivery: keys
	Body     string            // the rest: sources, contacts, templates, rules, limits...
	// StorageURL is storage.url (PostgreSQL) when set; storage.path stays
	// the harness's either way.
	StorageURL string
}

// newConf is a config sending to fake with the standard rules.
func newConf(fake *gewetest.Server) *Conf {
	return &Conf{GeweURL: fake.URL(), Token: gewetest.Token, API: "v1", Timeout: "5s",
		Delivery: fastDelivery(), Body: standardRules}
}

func (c *Conf) render(listen, storage string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gewe:\n  base_url: %q\n", c.GeweURL)
	if c.Token != "" {
		fmt.Fprintf(&b, "  token: %q\n", c.Token)
	}
	if c.DryRun {
		b.WriteString("  dry_run: true\n")
	}
	fmt.Fprintf(&b, "  app_id: %q\n", gewetest.AppID)
	if c.API != "" {
		fmt.Fprintf(&b, "  api: %s\n", c.API)
	}
	if c.Timeout != "" {
		fmt.Fprintf(&b, "  timeout: %s\n", c.Timeout)
	}
	fmt.Fprintf(&b, "server:\n  listen: %q\n  admin_token: %q\n", listen, adminToken)
	fmt.Fprintf(&b, "storage:\n  path: %q\n", storage)
	if c.StorageURL != "" {
		fmt.Fprintf(&b, "  url: %q\n", c.StorageURL)
	}
	b.WriteString("timezone: Asia/Shanghai\n")
	if len(c.Delivery) > 0 {
		b.WriteString("delivery:\n")
		keys := make([]string, 0, len(c.Delivery))
		for k := range c.Delivery {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %s: %s\n", k, c.Delivery[k])
		}
	}
	b.WriteString(c.Body)
	return b.String()
}

// Bridge is one gewe-bridge process (and its restarts) on one config and
// one storage path.
type Bridge struct {
	t       *testing.T
	conf    *Conf
	Dir     string
	Config  string // the config file
	Storage string // storage.path
	URL     string // http://127.0.0.1:port
	out     *syncBuffer

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current process exited
	state   *os.ProcessState
	running bool
}

// startBridge starts the binary with conf and waits until it is ready. At
// cleanup it stops it with SIGTERM and requires a clean exit, checks that
// no secret was logged, and shows the output if the test failed.
func startBridge(t *testing.T, conf *Conf) *Bridge {
	t.Helper()
	dir := t.TempDir()
	b := &Bridge{t: t, conf: conf, Dir: dir, Config: filepath.Join(dir, "gewe-bridge.yaml"),
		Storage: filepath.Join(dir, "data", "outbox.db"), out: &syncBuffer{}}
	t.Cleanup(func() {
		b.Stop()
		out := b.Output()
		for _, secret := range []string{gewetest.Token, githubSecret, amToken, deployToken, adminToken} {
			if strings.Contains(out, secret) {
				t.Errorf("a secret (%.8s...) appears in the bridge's output", secret)
			}
		}
		if t.Failed() {
			const max = 200 << 10
			if len(out) > max {
				out = "...\n" + out[len(out)-max:]
			}
			t.Logf("bridge output:\n%s", out)
		}
	})
	b.Start()
	return b
}

// Start starts the process (again) and waits for GET /-/ready.
func (b *Bridge) Start() {
	t := b.t
	t.Helper()
	for try := 0; ; try++ {
		port := freePort(t)
		if b.URL != "" { // a restart keeps the address
			port, _ = strconv.Atoi(b.URL[strings.LastIndexByte(b.URL, ':')+1:])
		}
		listen := fmt.Sprintf("127.0.0.1:%d", port)
		if err := os.WriteFile(b.Config, []byte(b.conf.render(listen, b.Storage)), 0o600); err != nil {
			t.Fatal(err)
		}
		err := b.startOnce(listen)
		if err == nil {
			if b.URL == "" { // a restart keeps it: goroutines may be reading it
				b.URL = "http://" + listen
			}
			return
		}
		if try < 3 && strings.Contains(b.Output(), "address already in use") && b.URL == "" {
			continue // lost the race for the port: take another one
		}
		t.Fatalf("bridge did not start: %v\n%s", err, b.Output())
	}
}

func (b *Bridge) startOnce(listen string) error {
	cmd := exec.Command(binPath, append([]string{"serve", "-config", b.Config}, b.conf.Flags...)...)
	cmd.Dir = b.Dir
	cmd.Env = cleanEnv()
	cmd.Stdout, cmd.Stderr = b.out, b.out
	fmt.Fprintf(b.out, "=== e2e: starting %s serve on %s\n", binPath, listen)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	b.mu.Lock()
	b.cmd, b.done, b.state, b.running = cmd, done, nil, true
	b.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		b.mu.Lock()
		b.state = cmd.ProcessState
		b.mu.Unlock()
		close(done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-done:
			b.mu.Lock()
			b.running = false
			b.mu.Unlock()
			return fmt.Errorf("exited before it was ready: %v", cmd.ProcessState)
		default:
		}
		resp, err := client.Get("http://" + listen + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-done
	return errors.New("not ready after 30s")
}

// Stop sends SIGTERM and requires a clean exit (status 0) within 20s.
func (b *Bridge) Stop() {
	b.t.Helper()
	b.mu.Lock()
	cmd, done, running := b.cmd, b.done, b.running
	b.running = false
	b.mu.Unlock()
	if !running {
		return
	}
	// Spare connections the test client never used are the case
	// TestStopWithUnusedConnection covers; the other tests close them.
	httpClient.CloseIdleConnections()
	before := strings.Count(b.Output(), "stopped cleanly")
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		b.t.Errorf("bridge did not exit within 20s of SIGTERM")
		return
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		b.t.Errorf("bridge exited with %v after SIGTERM; want status 0", cmd.ProcessState)
	}
	if strings.Count(b.Output(), "stopped cleanly") == before {
		b.t.Errorf("bridge did not log that it stopped cleanly")
	}
}

// Kill sends SIGKILL and waits for the process to die.
func (b *Bridge) Kill() {
	b.mu.Lock()
	cmd, done, running := b.cmd, b.done, b.running
	b.running = false
	b.mu.Unlock()
	if !running {
		return
	}
	_ = cmd.Process.Kill()
	<-done
	fmt.Fprintf(b.out, "=== e2e: killed with SIGKILL\n")
}

// PeakRSS is the running process's peak resident set size in bytes
// (VmHWM in /proc/<pid>/status), or 0 where there is no /proc.
func (b *Bridge) PeakRSS(t testing.TB) int64 {
	t.Helper()
	b.mu.Lock()
	pid := b.cmd.Process.Pid
	b.mu.Unlock()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	return 0
}

// Output is everything the process (and its earlier runs) wrote.
func (b *Bridge) Output() string { return b.out.String() }

// WaitOutput waits until the output contains every one of subs.
func (b *Bridge) WaitOutput(timeout time.Duration, subs ...string) bool {
	return eventually(timeout, func() bool {
		out := b.Output()
		for _, s := range subs {
			if !strings.Contains(out, s) {
				return false
			}
		}
		return true
	})
}

// eventually polls cond every 10ms until it holds or timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Resp is an HTTP answer.
type Resp struct {
	Status int
	Body   []byte
	JSON   map[string]any // nil unless the body is a JSON object
}

func (r Resp) String() string { return fmt.Sprintf("HTTP %d %s", r.Status, bytes.TrimSpace(r.Body)) }

var httpClient = &http.Client{Timeout: 30 * time.Second}

// do makes a request; safe to call from any goroutine.
func do(method, url string, body []byte, header map[string]string) (Resp, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return Resp{}, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return Resp{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Resp{}, err
	}
	r := Resp{Status: resp.StatusCode, Body: b}
	_ = json.Unmarshal(b, &r.JSON)
	return r, nil
}

func mustDo(t testing.TB, method, url string, body []byte, header map[string]string) Resp {
	t.Helper()
	r, err := do(method, url, body, header)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

// newID returns a random UUID-shaped id, like X-GitHub-Delivery.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// sign is X-Hub-Signature-256 of body.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// githubHeaders are the headers GitHub sends with a correctly signed JSON
// delivery.
func githubHeaders(event, delivery string, body []byte) map[string]string {
	return map[string]string{
		"Content-Type":        "application/json",
		"User-Agent":          "GitHub-Hookshot/e2e",
		"X-GitHub-Event":      event,
		"X-GitHub-Delivery":   delivery,
		"X-GitHub-Hook-ID":    "109948940",
		"X-Hub-Signature-256": sign(githubSecret, body),
	}
}

// GitHub posts a signed GitHub delivery.
func (b *Bridge) GitHub(t testing.TB, event, delivery string, body []byte) Resp {
	t.Helper()
	return mustDo(t, "POST", b.URL+"/hooks/github", body, githubHeaders(event, delivery, body))
}

func amHeaders() map[string]string {
	return map[string]string{"Content-Type": "application/json", "User-Agent": "Alertmanager/0.28.1",
		"Authorization": "Bearer " + amToken}
}

// Alertmanager posts an Alertmanager notification with the bearer token.
func (b *Bridge) Alertmanager(t testing.TB, body []byte) Resp {
	t.Helper()
	return mustDo(t, "POST", b.URL+"/hooks/alertmanager", body, amHeaders())
}

// Generic posts to a generic source with the bearer token.
func (b *Bridge) Generic(t testing.TB, source string, body []byte, header map[string]string) Resp {
	t.Helper()
	h := map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + deployToken}
	for k, v := range header {
		h[k] = v
	}
	return mustDo(t, "POST", b.URL+"/hooks/"+source, body, h)
}

// Admin calls the admin API with server.admin_token.
func (b *Bridge) Admin(t testing.TB, method, path string) Resp {
	t.Helper()
	return mustDo(t, method, b.URL+path, nil, map[string]string{"Authorization": "Bearer " + adminToken})
}

// AdminMessage is one message as GET /api/v1/messages/{id} shows it.
type AdminMessage struct {
	Message struct {
		ID       int64  `json:"id"`
		EventID  string `json:"event_id"`
		State    string `json:"state"`
		Attempts int    `json:"attempts"`
		Message  struct {
			To   string   `json:"to"`
			Text string   `json:"text"`
			At   []string `json:"at"`
			XML  string   `json:"xml"`
		} `json:"message"`
		LastError string `json:"last_error"`
	} `json:"message"`
	Attempts []struct {
		At    time.Time `json:"at"`
		Error string    `json:"error"`
	} `json:"attempts"`
}

// Message reads GET /api/v1/messages/{id}.
func (b *Bridge) Message(t testing.TB, id int64) AdminMessage {
	t.Helper()
	r := b.Admin(t, "GET", fmt.Sprintf("/api/v1/messages/%d", id))
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/v1/messages/%d: %s", id, r)
	}
	var m AdminMessage
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("GET /api/v1/messages/%d: %v: %s", id, err, r.Body)
	}
	return m
}

// QueuedMessage is one entry of GET /api/v1/messages.
type QueuedMessage struct {
	ID       int64  `json:"id"`
	EventID  string `json:"event_id"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	Message  struct {
		To   string `json:"to"`
		Text string `json:"text"`
	} `json:"message"`
}

// List reads GET /api/v1/messages?state=state (up to 500).
func (b *Bridge) List(t testing.TB, state string) []QueuedMessage {
	t.Helper()
	r := b.Admin(t, "GET", "/api/v1/messages?limit=500&state="+state)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /api/v1/messages?state=%s: %s", state, r)
	}
	var out struct {
		Messages []QueuedMessage `json:"messages"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("GET /api/v1/messages: %v: %s", err, r.Body)
	}
	return out.Messages
}

// newFake starts a fake GeWe server. Unless serialOK is false, cleanup
// asserts that it never had two requests in flight: one account, one send
// at a time.
func newFake(t *testing.T, checkSerial bool) *gewetest.Server {
	fake := gewetest.New()
	t.Cleanup(func() {
		if checkSerial {
			if n := fake.MaxInFlight(); n > 1 {
				t.Errorf("the fake GeWe had %d requests in flight at once; one account must send one at a time", n)
			}
		}
		fake.Close()
	})
	return fake
}

// delivered returns the requests the fake answered with success.
func delivered(fake *gewetest.Server) []gewetest.Request {
	var out []gewetest.Request
	for _, r := range fake.Requests() {
		if r.Delivered {
			out = append(out, r)
		}
	}
	return out
}

// checkWire asserts what every request to the fake carried: POST, the
// token header, the JSON content type, the app id, and a path under
// prefix for the API version.
func checkWire(t testing.TB, fake *gewetest.Server, prefix, api string) {
	t.Helper()
	for i, r := range fake.Requests() {
		if r.Method != http.MethodPost {
			t.Errorf("request %d: method %s", i, r.Method)
		}
		if got := r.Header.Get("X-GEWE-TOKEN"); got != gewetest.Token {
			t.Errorf("request %d to %s: X-GEWE-TOKEN is %q, want the configured token", i, r.Path, got)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("request %d: Content-Type %q", i, ct)
		}
		appKey, paths := "appid", []string{"/api/message/sendmsg", "/api/message/sendapp"}
		if api == "v2" {
			appKey, paths = "appId", []string{"/v2/api/message/postText", "/v2/api/message/postAppMsg"}
		}
		if got, _ := r.JSON[appKey].(string); got != gewetest.AppID {
			t.Errorf("request %d: %s is %q, want %q (body %s)", i, appKey, got, gewetest.AppID, r.Body)
		}
		if !(r.Path == prefix+paths[0] || r.Path == prefix+paths[1]) {
			t.Errorf("request %d: path %s, want %s%s or %s%s", i, r.Path, prefix, paths[0], prefix, paths[1])
		}
	}
}

// messagesTo returns the delivered messages to one recipient.
func messagesTo(msgs []gewetest.Message, to string) []gewetest.Message {
	var out []gewetest.Message
	for _, m := range msgs {
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// contains reports which of subs s lacks.
func missing(s string, subs ...string) []string {
	var out []string
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			out = append(out, sub)
		}
	}
	return out
}

func assertContains(t testing.TB, what, s string, subs ...string) {
	t.Helper()
	if m := missing(s, subs...); len(m) > 0 {
		t.Errorf("%s lacks %q; it is:\n%s", what, m, s)
	}
}

// runCLI runs the binary with args in dir and returns its output and exit
// status.
func runCLI(t testing.TB, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running gewe-bridge %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), e.String(), code
}

// alertPayload is an Alertmanager v4 notification with one alert.
func alertPayload(status string, labels, annotations map[string]string) []byte {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sig strings.Builder
	for _, k := range keys {
		sig.WriteString(k + "=" + labels[k] + ",")
	}
	sum := sha256.Sum256([]byte(sig.String()))
	endsAt := "0001-01-01T00:00:00Z"
	if status == "resolved" {
		endsAt = time.Now().UTC().Format(time.RFC3339)
	}
	p := map[string]any{
		"version":  "4",
		"receiver": "wechat",
		"status":   status,
		"alerts": []any{map[string]any{
			"status": status, "labels": labels, "annotations": annotations,
			"startsAt": time.Now().Add(-5 * time.Minute).UTC().Format(time.RFC3339Nano), "endsAt": endsAt,
			"generatorURL": "http://prometheus:9090/graph?g0.expr=up&g0.tab=1",
			"fingerprint":  hex.EncodeToString(sum[:8]),
		}},
		"groupLabels":       map[string]string{"alertname": labels["alertname"]},
		"commonLabels":      labels,
		"commonAnnotations": annotations,
		"externalURL":       "http://alertmanager:9093",
		"groupKey":          fmt.Sprintf("{}:{alertname=%q}", labels["alertname"]),
		"truncatedAlerts":   0,
	}
	b, _ := json.Marshal(p)
	return b
}
