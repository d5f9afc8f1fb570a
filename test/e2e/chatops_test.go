package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe/gewetest"
)

const (
	callbackSecret = "e2e-callback-secret-9d2f71"
	botWxid        = "wxid_bridgebot"
)

// startAlertmanager runs the real Alertmanager on port, sending to hook,
// and waits until it is ready.
func startAlertmanager(t *testing.T, bin string, port int, hook string) string {
	t.Helper()
	dir := t.TempDir()
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
`, hook, amToken)
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
	if !eventually(30*time.Second, func() bool {
		r, err := do("GET", amURL+"/-/ready", nil, nil)
		return err == nil && r.Status == http.StatusOK
	}) {
		t.Fatalf("alertmanager not ready after 30s\n%s", out.String())
	}
	return amURL
}

// quoteCallback is GeWe's callback for a group message by author quoting
// the message svrid (MsgType 49, appmsg type 57), as GeWe sends it:
// NewMsgId as a string, the author's wxid in front of Content.
func quoteCallback(newMsgID, svrid int64, author, group, text string) []byte {
	xml := `<?xml version="1.0"?>
<msg><appmsg appid="" sdkver="0"><title>` + text + `</title><des /><type>57</type>` +
		`<refermsg><type>1</type><svrid>` + strconv.FormatInt(svrid, 10) + `</svrid><fromusr>` + group +
		`</fromusr><chatusr>` + botWxid + `</chatusr><displayname>bot</displayname><content>alert</content></refermsg></appmsg></msg>`
	body, _ := json.Marshal(map[string]any{
		"TypeName": "AddMsg", "Appid": gewetest.AppID, "Wxid": botWxid,
		"Data": map[string]any{
			"MsgId": 1040356095, "NewMsgId": strconv.FormatInt(newMsgID, 10),
			"FromUserName": map[string]string{"string": group},
			"ToUserName":   map[string]string{"string": botWxid},
			"MsgType":      49,
			"Content":      map[string]string{"string": author + ":\n" + xml},
			"CreateTime":   time.Now().Unix(),
			"MsgSource":    "<msgsource></msgsource>",
		},
	})
	return body
}

// textCallback is GeWe's callback for a plain text message by author in
// group (MsgType 1), such as "@bot silences".
func textCallback(newMsgID int64, author, group, text string) []byte {
	body, _ := json.Marshal(map[string]any{
		"TypeName": "AddMsg", "Appid": gewetest.AppID, "Wxid": botWxid,
		"Data": map[string]any{
			"MsgId": 1040356096, "NewMsgId": strconv.FormatInt(newMsgID, 10),
			"FromUserName": map[string]string{"string": group},
			"ToUserName":   map[string]string{"string": botWxid},
			"MsgType":      1,
			"Content":      map[string]string{"string": author + ":\n" + text},
			"CreateTime":   time.Now().Unix(),
			"MsgSource":    "<msgsource><atuserlist>" + botWxid + "</atuserlist></msgsource>",
		},
	})
	return body
}

type amSilence struct {
	ID        string    `json:"id"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
	StartsAt  time.Time `json:"startsAt"`
	EndsAt    time.Time `json:"endsAt"`
	Matchers  []struct {
		Name, Value string
		IsRegex     bool `json:"isRegex"`
	} `json:"matchers"`
	Status struct{ State string } `json:"status"`
}

// allSilences is GET /api/v2/silences: active, pending and expired.
func allSilences(t *testing.T, amURL string) []amSilence {
	t.Helper()
	r := mustDo(t, "GET", amURL+"/api/v2/silences", nil, nil)
	var all []amSilence
	if err := json.Unmarshal(r.Body, &all); err != nil {
		t.Fatalf("GET /api/v2/silences: %v: %s", err, r)
	}
	return all
}

func activeSilences(t *testing.T, amURL string) []amSilence {
	t.Helper()
	var out []amSilence
	for _, s := range allSilences(t, amURL) {
		if s.Status.State == "active" {
			out = append(out, s)
		}
	}
	return out
}

// TestChatOpsSilence: an alert goes through the real Alertmanager into a
// group; replies quoting it command silences back through Alertmanager's
// API v2 (silence, unsilence, ack), and @-mentions of the bot list them
// (silences) and explain (help). Replies @-mention their author.
func TestChatOpsSilence(t *testing.T) {
	t.Parallel()
	bin := alertmanagerBin(t)
	fake := newFake(t, true)
	amPort := freePort(t)
	amURL := fmt.Sprintf("http://127.0.0.1:%d", amPort)
	conf := newConf(fake)
	conf.Body = `
sources:
  alertmanager:
    type: alertmanager
    bearer_token: "` + amToken + `"
    api: { url: "` + amURL + `" }
  wechat:
    type: gewe_callback
    secret: "` + callbackSecret + `"
contacts:
  ops:     { wxid: "` + opsGroup + `" }
  alice:   { wxid: wxid_alice, name: Alice }
  mallory: { wxid: wxid_mallory, name: Mallory }
chatops:
  allow: [alice]
  ack: 45m
rules:
  - name: ops
    when: source == "alertmanager"
    to: [ops]
`
	b := startBridge(t, conf)
	startAlertmanager(t, bin, amPort, b.URL+"/hooks/alertmanager")
	callback := func(body []byte, path string) Resp {
		t.Helper()
		return mustDo(t, "POST", b.URL+path, body, map[string]string{"Content-Type": "application/json"})
	}

	// A bad token is 401, in the path or the query.
	for _, path := range []string{"/hooks/wechat/wrong-token", "/hooks/wechat?token=wrong", "/hooks/wechat"} {
		if r := callback(quoteCallback(1, 2, "wxid_alice", opsGroup, "silence 2h"), path); r.Status != http.StatusUnauthorized {
			t.Errorf("POST %s: %s, want 401", path, r)
		}
	}

	name := "E2EChatOps" + strings.ReplaceAll(newID()[:8], "-", "")
	labels := map[string]string{"alertname": name, "severity": "critical", "instance": "db-7:5432"}
	alert, _ := json.Marshal([]any{map[string]any{
		"labels": labels, "annotations": map[string]string{"summary": "Replication lag"},
		"startsAt": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339),
	}})
	if r := mustDo(t, "POST", amURL+"/api/v2/alerts", alert, map[string]string{"Content-Type": "application/json"}); r.Status != http.StatusOK {
		t.Fatalf("POST /api/v2/alerts: %s", r)
	}
	msgs := fake.WaitFor(1, 30*time.Second)
	if len(msgs) < 1 || msgs[0].To != opsGroup || msgs[0].NewMsgID == 0 {
		t.Fatalf("the alert did not reach the ops group: %+v", msgs)
	}
	alertMsg := msgs[0].NewMsgID
	time.Sleep(300 * time.Millisecond) // its NewMsgId is recorded just after the send

	cbPath := "/hooks/wechat/" + callbackSecret
	// waitReply waits for the n-th message sent and returns it.
	waitReply := func(n int, subs ...string) gewetest.Message {
		t.Helper()
		got := fake.WaitFor(n, 20*time.Second)
		if len(got) < n {
			t.Fatalf("%d messages sent, want %d: %+v", len(got), n, got)
		}
		m := got[n-1]
		if m.To != opsGroup {
			t.Errorf("reply to %s, want %s", m.To, opsGroup)
		}
		assertContains(t, "the reply", m.Content, subs...)
		return m
	}

	// A stranger's reply: refused, nothing silenced.
	if r := callback(quoteCallback(9000000000000000001, alertMsg, "wxid_mallory", opsGroup, "silence 2h"), cbPath); r.Status != http.StatusOK || string(r.Body) != "success" {
		t.Fatalf("stranger's callback: %s", r)
	}
	waitReply(2, "chatops.allow")

	// A reply to a message the bridge does not know: nothing silenced.
	if r := callback(quoteCallback(9000000000000000002, 424242, "wxid_alice", opsGroup, "silence 2h"), cbPath); r.Status != http.StatusOK {
		t.Fatalf("unknown quote callback: %s", r)
	}
	waitReply(3, "❓")
	if s := activeSilences(t, amURL); len(s) != 0 {
		t.Fatalf("silences after a stranger's and an unknown reply: %+v", s)
	}

	// Alice says silence 2h, in the query-token form.
	cmd := quoteCallback(9000000000000000003, alertMsg, "wxid_alice", opsGroup, "静默 2h disk is being replaced")
	if r := callback(cmd, "/hooks/wechat?token="+callbackSecret); r.Status != http.StatusOK || string(r.Body) != "success" {
		t.Fatalf("alice's callback: %s", r)
	}
	var silences []amSilence
	if !eventually(20*time.Second, func() bool { silences = activeSilences(t, amURL); return len(silences) > 0 }) {
		t.Fatalf("no silence in Alertmanager after alice's reply")
	}
	s := silences[0]
	if len(silences) != 1 || s.CreatedBy != "alice" {
		t.Errorf("silences %+v, want one by alice", silences)
	}
	got := map[string]string{}
	for _, m := range s.Matchers {
		if m.IsRegex {
			t.Errorf("matcher %s is a regex", m.Name)
		}
		got[m.Name] = m.Value
	}
	for k, v := range labels {
		if got[k] != v {
			t.Errorf("silence matcher %s=%q, want %q (matchers %v)", k, got[k], v, got)
		}
	}
	assertContains(t, "the silence's comment", s.Comment, "disk is being replaced", "9000000000000000003", strconv.FormatInt(alertMsg, 10))
	if m := waitReply(4, s.ID, name); !strings.HasPrefix(m.Content, "@Alice ") || !slices.Equal(m.At, []string{"wxid_alice"}) {
		t.Errorf("the reply to alice does not @-mention her: at %v, %q", m.At, m.Content)
	}

	// The same callback again (GeWe redelivers): nothing more.
	if r := callback(cmd, cbPath); r.Status != http.StatusOK || string(r.Body) != "success" {
		t.Fatalf("replayed callback: %s", r)
	}
	time.Sleep(time.Second)
	if n := len(activeSilences(t, amURL)); n != 1 {
		t.Errorf("%d silences after a replayed callback, want 1", n)
	}
	if n := len(fake.Messages()); n != 4 {
		t.Errorf("%d messages sent after a replayed callback, want 4", n)
	}

	// The history shows every command and its outcome.
	r := b.Admin(t, "GET", "/api/v1/commands")
	var hist struct {
		Commands []struct {
			NewMsgID string `json:"new_msg_id"`
			Outcome  struct{ Command, Result, Contact string }
		}
	}
	if err := json.Unmarshal(r.Body, &hist); err != nil {
		t.Fatalf("/api/v1/commands: %v: %s", err, r)
	}
	var results []string
	for _, c := range hist.Commands {
		results = append(results, c.Outcome.Command+":"+c.Outcome.Result)
	}
	want := []string{"silence:silenced", "silence:unknown_message", "silence:refused"}
	if !slices.Equal(results, want) {
		t.Errorf("history %v, want %v", results, want)
	}
	metrics := mustDo(t, "GET", b.URL+"/metrics", nil, nil)
	assertContains(t, "the metrics", string(metrics.Body),
		`gewe_bridge_chatops_commands_total{command="silence",result="silenced"} 1`,
		`gewe_bridge_chatops_callbacks_total{outcome="duplicate",source="wechat"} 1`)

	// unsilence: the silence alice made is expired in Alertmanager.
	if r := callback(quoteCallback(9000000000000000004, alertMsg, "wxid_alice", opsGroup, "unsilence"), cbPath); r.Status != http.StatusOK {
		t.Fatalf("unsilence callback: %s", r)
	}
	waitReply(5, "@Alice ", "🔔", s.ID)
	state := func(id string) string {
		for _, x := range allSilences(t, amURL) {
			if x.ID == id {
				return x.Status.State
			}
		}
		return "missing"
	}
	if st := state(s.ID); st != "expired" {
		t.Errorf("silence %s is %s after unsilence, want expired", s.ID, st)
	}
	if a := activeSilences(t, amURL); len(a) != 0 {
		t.Errorf("active silences after unsilence: %+v", a)
	}

	// ack: a silence of chatops.ack (45m) from now.
	before := time.Now()
	if r := callback(quoteCallback(9000000000000000005, alertMsg, "wxid_alice", opsGroup, "ack"), cbPath); r.Status != http.StatusOK {
		t.Fatalf("ack callback: %s", r)
	}
	if !eventually(20*time.Second, func() bool { silences = activeSilences(t, amURL); return len(silences) > 0 }) {
		t.Fatalf("no silence in Alertmanager after alice's ack")
	}
	after := time.Now()
	ack := silences[0]
	if len(silences) != 1 || ack.ID == s.ID || ack.CreatedBy != "alice" {
		t.Errorf("silences after ack %+v, want one new one by alice", silences)
	}
	const ackFor = 45 * time.Minute
	if lo, hi := before.Add(ackFor-2*time.Second), after.Add(ackFor+2*time.Second); ack.EndsAt.Before(lo) || ack.EndsAt.After(hi) {
		t.Errorf("the ack's silence ends %s, want about %s from now (between %s and %s)", ack.EndsAt, ackFor, lo, hi)
	}
	if d := ack.EndsAt.Sub(ack.StartsAt); d < ackFor-2*time.Second || d > ackFor+2*time.Second {
		t.Errorf("the ack's silence lasts %s (%s to %s), want %s", d, ack.StartsAt, ack.EndsAt, ackFor)
	}
	assertContains(t, "the ack's comment", ack.Comment, "ack", "9000000000000000005")
	waitReply(6, "@Alice ", ack.ID, "45m0s")

	// @bot silences: the ack's silence is listed, the expired one is not.
	if r := callback(textCallback(9000000000000000006, "wxid_alice", opsGroup, "@bot\u2005silences"), cbPath); r.Status != http.StatusOK {
		t.Fatalf("silences callback: %s", r)
	}
	m := waitReply(7, "@Alice ", ack.ID[:8], "alice", `alertname="`+name+`"`, `instance="db-7:5432"`)
	if strings.Contains(m.Content, s.ID[:8]) {
		t.Errorf("the expired silence %s is listed: %q", s.ID, m.Content)
	}

	// @bot help: the commands, with chatops.ack.
	if r := callback(textCallback(9000000000000000007, "wxid_alice", opsGroup, "@bot help"), cbPath); r.Status != http.StatusOK {
		t.Fatalf("help callback: %s", r)
	}
	waitReply(8, "@Alice ", "silence 2h", "ack", "45m0s", "unsilence", "silences")

	// Each is in the history, newest first.
	r = b.Admin(t, "GET", "/api/v1/commands")
	hist.Commands = nil
	if err := json.Unmarshal(r.Body, &hist); err != nil {
		t.Fatalf("/api/v1/commands: %v: %s", err, r)
	}
	results = nil
	for _, c := range hist.Commands[:4] {
		results = append(results, c.Outcome.Command+":"+c.Outcome.Result)
	}
	want = []string{"help:help", "silences:listed", "ack:silenced", "unsilence:unsilenced"}
	if !slices.Equal(results, want) {
		t.Errorf("history %v, want %v first", results, want)
	}
}
