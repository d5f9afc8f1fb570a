package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe/gewetest"
)

// waitDelivered waits until the fake delivered at least n requests and
// returns them all; it fails the test when they do not come in time.
func waitDelivered(t testing.TB, fake *gewetest.Server, n int, timeout time.Duration) []gewetest.Request {
	t.Helper()
	var got []gewetest.Request
	eventually(timeout, func() bool { got = delivered(fake); return len(got) >= n })
	if len(got) < n {
		t.Fatalf("the fake GeWe delivered %d requests within %s, want %d", len(got), timeout, n)
	}
	return got
}

// oneMessage is the single message of a request to the fake.
func oneMessage(t testing.TB, r gewetest.Request) gewetest.Message {
	t.Helper()
	if len(r.Messages) != 1 {
		t.Fatalf("request to %s carries %d messages, want 1: %s", r.Path, len(r.Messages), r.Body)
	}
	return r.Messages[0]
}

// appMsg is the <appmsg> of a card, as encoding/xml reads it.
type appMsg struct {
	XMLName  xml.Name `xml:"appmsg"`
	AppID    string   `xml:"appid,attr"`
	SDKVer   string   `xml:"sdkver,attr"`
	Title    string   `xml:"title"`
	Des      string   `xml:"des"`
	Type     int      `xml:"type"`
	URL      string   `xml:"url"`
	ThumbURL string   `xml:"thumburl"`
}

// parseAppMsg requires s to be one well-formed <appmsg> element.
func parseAppMsg(t testing.TB, s string) appMsg {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = true
	var m appMsg
	if err := d.Decode(&m); err != nil {
		t.Fatalf("card XML does not parse: %v\n%s", err, s)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("card XML: trailing garbage: %v\n%s", err, s)
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			t.Fatalf("card XML: something after </appmsg>: %#v\n%s", tok, s)
		}
	}
	return m
}

// checkAccepted asserts a 202 answer with the delivery id, the matched
// rules and the number of messages queued.
func checkAccepted(t testing.TB, r Resp, id string, matched []string, queued int) {
	t.Helper()
	if r.Status != http.StatusAccepted {
		t.Fatalf("answer %s, want 202", r)
	}
	if got, _ := r.JSON["id"].(string); got == "" || (id != "" && got != id) {
		t.Errorf("answer id %q, want %q (%s)", got, id, r)
	}
	var got []string
	ms, ok := r.JSON["matched"].([]any)
	if !ok {
		t.Errorf("answer has no matched list: %s", r)
	}
	for _, m := range ms {
		s, _ := m.(string)
		got = append(got, s)
	}
	if !slices.Equal(got, matched) {
		t.Errorf("answer matched %q, want %q", got, matched)
	}
	if q, _ := r.JSON["queued"].(float64); int(q) != queued {
		t.Errorf("answer queued %v, want %d (%s)", r.JSON["queued"], queued, r)
	}
}

// TestFixtures sends every fixture in testdata (the GitHub ones
// signed, with the event from the file name) through a config like
// rules.example.yaml, and checks each answer and each message the fake
// GeWe received: action, token, app id, recipient, mentions, text, cards.
func TestFixtures(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	b := startBridge(t, newConf(fake))

	type step struct {
		file    string
		matched []string
		check   func(t *testing.T, reqs []gewetest.Request) // the requests this step caused
		n       int                                         // how many
	}
	text := func(t *testing.T, r gewetest.Request, to string, at []string) gewetest.Message {
		t.Helper()
		if r.Path != "/api/message/sendmsg" {
			t.Errorf("text to %s went to %s, want /api/message/sendmsg", to, r.Path)
		}
		m := oneMessage(t, r)
		if m.To != to {
			t.Errorf("message to %s, want %s", m.To, to)
		}
		if !slices.Equal(m.At, at) {
			t.Errorf("message to %s mentions %q, want %q", m.To, m.At, at)
		}
		return m
	}
	card := func(t *testing.T, r gewetest.Request, to string) appMsg {
		t.Helper()
		if r.Path != "/api/message/sendapp" {
			t.Errorf("card went to %s, want /api/message/sendapp", r.Path)
		}
		m := oneMessage(t, r)
		if m.To != to {
			t.Errorf("card to %s, want %s", m.To, to)
		}
		if to, _ := r.JSON["to_wxid"].(string); to != m.To {
			t.Errorf("sendapp to_wxid %q", to)
		}
		return parseAppMsg(t, m.XML)
	}
	byTo := func(reqs []gewetest.Request, to string) gewetest.Request {
		for _, r := range reqs {
			if len(r.Messages) > 0 && r.Messages[0].To == to {
				return r
			}
		}
		t.Fatalf("no message to %s", to)
		return gewetest.Request{}
	}

	steps := []step{
		{file: "alertmanager/firing.json", matched: []string{"audit", "critical-alerts"}, n: 2,
			check: func(t *testing.T, reqs []gewetest.Request) {
				m := text(t, byTo(reqs, "wxid_oncall"), "wxid_oncall", nil)
				if want := "NodeFilesystemSpaceFillingUp firing: 2 alert(s) http://alertmanager.monitoring.svc:9093"; m.Content != want {
					t.Errorf("audit message %q, want %q", m.Content, want)
				}
				m = text(t, byTo(reqs, opsGroup), opsGroup, []string{"wxid_oncall"})
				if !strings.HasPrefix(m.Content, "@值班") {
					t.Errorf("a mention needs @Name in the text too; the message starts %q", firstLine(m.Content))
				}
				assertContains(t, "the critical alert message", m.Content, "NodeFilesystemSpaceFillingUp", "critical",
					"Filesystem on /dev/nvme0n1p1 at 10.0.3.21:9100 has only 7.12% available space left.",
					"Filesystem on /dev/nvme0n1p1 at 10.0.3.22:9100 has only 9.84% available space left.",
					"10.0.3.21:9100", "10.0.3.22:9100", "2026-05-12 16:21:35", // startsAt in Asia/Shanghai
					"http://alertmanager.monitoring.svc:9093")
			}},
		{file: "github/issues.opened.json", matched: []string{"issues"}, n: 1,
			check: func(t *testing.T, reqs []gewetest.Request) {
				m := text(t, reqs[0], devGroup, nil)
				want := "Issue #1 opened in Codertocat/Hello-World by Codertocat: Spelling error in the README file https://github.com/Codertocat/Hello-World/issues/1"
				if m.Content != want {
					t.Errorf("issue message %q, want %q", m.Content, want)
				}
			}},
		{file: "github/ping.json", matched: []string{"github"}, n: 1,
			check: func(t *testing.T, reqs []gewetest.Request) {
				m := text(t, reqs[0], devGroup, nil)
				// The built-in templates evolve: only what any of them must say.
				assertContains(t, "the ping message (built-in template)", m.Content, "Octocoders/Hello-World")
			}},
		{file: "github/pull_request.opened.json", matched: []string{"pull-requests"}, n: 1,
			check: func(t *testing.T, reqs []gewetest.Request) {
				c := card(t, reqs[0], devGroup)
				want := appMsg{XMLName: c.XMLName, AppID: "", SDKVer: "0", Type: 5,
					Title:    "PR #2 Update the README with new information.",
					Des:      "Codertocat → Codertocat/Hello-World: changes → master <review & merge>",
					URL:      "https://github.com/Codertocat/Hello-World/pull/2?utm_source=gewe&tab=files",
					ThumbURL: "https://avatars1.githubusercontent.com/u/21031067?v=4"}
				if c != want {
					t.Errorf("PR card\n got %+v\nwant %+v", c, want)
				}
				x := reqs[0].Messages[0].XML
				assertContains(t, "the PR card's XML (escaped)", x, "?utm_source=gewe&amp;tab=files", "&lt;review &amp; merge&gt;")
			}},
		{file: "github/push.json", matched: []string{"pushes"}, n: 1,
			check: func(t *testing.T, reqs []gewetest.Request) {
				m := text(t, reqs[0], devGroup, nil)
				assertContains(t, "the push message", m.Content, "Codertocat pushed 1 commit(s) to master of Codertocat/Hello-World",
					"https://github.com/Codertocat/Hello-World/")
			}},
		{file: "github/release.published.json", matched: []string{"releases"}, n: 1,
			check: func(t *testing.T, reqs []gewetest.Request) {
				c := card(t, reqs[0], devGroup)
				if c.Title != "Codertocat/Hello-World 0.0.1 released" || c.Type != 5 ||
					c.Des != `untitled by Codertocat & "friends" <3` ||
					c.URL != "https://github.com/Codertocat/Hello-World/releases/tag/0.0.1?a=1&b=2" {
					t.Errorf("release card %+v", c)
				}
			}},
		{file: "github/workflow_run.completed.json", matched: []string{"github"}, n: 1,
			check: func(t *testing.T, reqs []gewetest.Request) {
				m := text(t, reqs[0], devGroup, nil)
				assertContains(t, "the workflow_run message (built-in template)", m.Content, "octo-org/octo-repo", "Codertocat")
			}},
	}
	seen := 0
	for _, s := range steps {
		t.Run(strings.ReplaceAll(s.file, "/", "_"), func(t *testing.T) {
			body := fixture(t, s.file)
			var r Resp
			id := ""
			if strings.HasPrefix(s.file, "github/") {
				event, _, _ := strings.Cut(filepath.Base(s.file), ".")
				id = newID()
				r = b.GitHub(t, event, id, body)
			} else {
				r = b.Alertmanager(t, body)
			}
			checkAccepted(t, r, id, s.matched, s.n)
			reqs := waitDelivered(t, fake, seen+s.n, 10*time.Second)
			if len(reqs) != seen+s.n {
				t.Fatalf("the fake got %d requests, want %d", len(reqs), seen+s.n)
			}
			s.check(t, reqs[seen:])
			seen += s.n
		})
	}
	if len(fake.Requests()) != seen {
		t.Errorf("the fake got %d requests, want %d (each delivered once)", len(fake.Requests()), seen)
	}
	checkWire(t, fake, "", "v1")
	// Every fixture was sent.
	files, _ := filepath.Glob(filepath.Join(fixturesDir, "github", "*.json"))
	if len(files) != len(steps)-1 {
		t.Errorf("testdata/github has %d files; this test covers %d: add the new ones", len(files), len(steps)-1)
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }

// TestGitHubFormEncoded sends a delivery the way a new GitHub hook does by
// default: application/x-www-form-urlencoded with the JSON in payload=,
// signed over the raw form body.
func TestGitHubFormEncoded(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	b := startBridge(t, newConf(fake))
	body := []byte("payload=" + url.QueryEscape(string(fixture(t, "github/issues.opened.json"))))
	id := newID()
	h := githubHeaders("issues", id, body)
	h["Content-Type"] = "application/x-www-form-urlencoded"
	r := mustDo(t, "POST", b.URL+"/hooks/github", body, h)
	checkAccepted(t, r, id, []string{"issues"}, 1)
	reqs := waitDelivered(t, fake, 1, 10*time.Second)
	m := oneMessage(t, reqs[0])
	if m.To != devGroup || !strings.Contains(m.Content, "Issue #1 opened in Codertocat/Hello-World") {
		t.Errorf("message %+v", m)
	}
	checkWire(t, fake, "", "v1")
}

// TestRefused sends what must be refused, with the status each deserves,
// and checks that none of it sends anything.
func TestRefused(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	b := startBridge(t, newConf(fake))
	issue := fixture(t, "github/issues.opened.json")
	alert := fixture(t, "alertmanager/firing.json")
	gz := func(p []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		_, _ = w.Write(p)
		_ = w.Close()
		return buf.Bytes()
	}
	with := func(h map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range h {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	sha1Sig := func(p []byte) string {
		mac := hmac.New(sha1.New, []byte(githubSecret))
		mac.Write(p)
		return "sha1=" + hex.EncodeToString(mac.Sum(nil))
	}
	malformed := []byte(`{"action": "opened", "issue": {`)
	bigIssue := bytes.Replace(issue, []byte(`"action"`), []byte(`"padding": "`+strings.Repeat("x", 100<<10)+`", "action"`), 1)
	bigDeploy := []byte(`{"service": "api", "padding": "` + strings.Repeat("y", 10<<10) + `"}`)

	cases := []struct {
		name   string
		source string
		body   []byte
		header map[string]string
		want   int
	}{
		{"github bad signature", "github", issue, with(githubHeaders("issues", newID(), issue), "X-Hub-Signature-256", sign("not-the-secret", issue)), 401},
		{"github signature of another body", "github", issue, with(githubHeaders("issues", newID(), issue), "X-Hub-Signature-256", sign(githubSecret, malformed)), 401},
		{"github no signature", "github", issue, with(githubHeaders("issues", newID(), issue), "X-Hub-Signature-256", ""), 401},
		{"github SHA-1 signature only", "github", issue, with(githubHeaders("issues", newID(), issue), "X-Hub-Signature-256", "", "X-Hub-Signature", sha1Sig(issue)), 401},
		{"github malformed JSON", "github", malformed, githubHeaders("issues", newID(), malformed), 400},
		{"github wrong content type", "github", issue, with(githubHeaders("issues", newID(), issue), "Content-Type", "text/plain"), 415},
		{"github gzip", "github", gz(issue), with(githubHeaders("issues", newID(), gz(issue)), "Content-Encoding", "gzip"), 415},
		{"github oversize", "github", bigIssue, githubHeaders("issues", newID(), bigIssue), 413},
		{"unknown source", "nope", alert, amHeaders(), 404},
		{"alertmanager no credentials", "alertmanager", alert, with(amHeaders(), "Authorization", ""), 401},
		{"alertmanager wrong token", "alertmanager", alert, with(amHeaders(), "Authorization", "Bearer not-the-token"), 401},
		{"alertmanager malformed JSON", "alertmanager", []byte(`{"alerts": [`), amHeaders(), 400},
		{"alertmanager wrong content type", "alertmanager", alert, with(amHeaders(), "Content-Type", "application/xml"), 415},
		{"alertmanager gzip", "alertmanager", gz(alert), with(amHeaders(), "Content-Encoding", "gzip"), 415},
		{"generic oversize", "deploys", bigDeploy, map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + deployToken}, 413},
		{"generic malformed JSON", "deploys", []byte(`{"service": `), map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + deployToken}, 400},
	}
	for _, c := range cases {
		r := mustDo(t, "POST", b.URL+"/hooks/"+c.source, c.body, c.header)
		if r.Status != c.want {
			t.Errorf("%s: answer %s, want %d", c.name, r, c.want)
			continue
		}
		if e, _ := r.JSON["error"].(string); e == "" {
			t.Errorf("%s: answer has no JSON error: %s", c.name, r)
		}
	}
	// Nothing was queued: a good webhook now is the only message sent.
	r := b.Generic(t, "deploys", []byte(`{"service": "sentinel", "version": "v1.2.3"}`), nil)
	checkAccepted(t, r, "", []string{"deploys"}, 1)
	reqs := waitDelivered(t, fake, 1, 10*time.Second)
	time.Sleep(200 * time.Millisecond) // anything queued before would have gone first
	if all := fake.Requests(); len(all) != 1 {
		t.Errorf("the fake got %d requests, want only the sentinel", len(all))
		for _, r := range all {
			t.Logf("  %s %s", r.Path, r.Body)
		}
	}
	assertContains(t, "the sentinel", oneMessage(t, reqs[0]).Content, "sentinel v1.2.3")
}

// webAlert is an alert the web-alerts rule routes to the web group and to
// Alice, mentioning Alice and the on-call.
func webAlert(name string) []byte {
	return alertPayload("firing",
		map[string]string{"alertname": name, "team": "web", "severity": "warning", "instance": "web-1:8080"},
		map[string]string{"summary": "p99 latency of checkout is 2.3s"})
}

// TestMentions checks @-mentions: in a group the wxids are in at and each
// @Name is in the text; in a direct chat there is no mention. at_expr with
// contacts_by_github finds a contact by GitHub login.
func TestMentions(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	b := startBridge(t, newConf(fake))

	r := b.Alertmanager(t, webAlert("CheckoutLatencyHigh"))
	checkAccepted(t, r, "", []string{"web-alerts"}, 2)
	reqs := waitDelivered(t, fake, 2, 10*time.Second)
	for _, rq := range reqs {
		m := oneMessage(t, rq)
		assertContains(t, "the alert to "+m.To, m.Content, "CheckoutLatencyHigh is firing",
			"p99 latency of checkout is 2.3s (web-1:8080)", "http://prometheus:9090/graph?g0.expr=up&g0.tab=1")
		list, _ := rq.JSON["to_wxid_list"].([]any)
		item, _ := list[0].(map[string]any)
		switch m.To {
		case webGroup:
			if !slices.Equal(m.At, []string{"wxid_alice", "wxid_oncall"}) {
				t.Errorf("group message at %q, want [wxid_alice wxid_oncall]", m.At)
			}
			assertContains(t, "the group message", firstLine(m.Content), "@Alice", "@值班")
		case "wxid_alice":
			if len(m.At) != 0 || strings.Contains(m.Content, "@Alice") {
				t.Errorf("a direct message mentions nobody; got at %q, text %q", m.At, m.Content)
			}
			if at, ok := item["at"].([]any); !ok || len(at) != 0 {
				t.Errorf("direct message: at is %#v, want []", item["at"])
			}
		default:
			t.Errorf("unexpected recipient %s", m.To)
		}
	}

	// at_expr: a failed workflow run mentions its actor's contact.
	var run map[string]any
	if err := json.Unmarshal(fixture(t, "github/workflow_run.completed.json"), &run); err != nil {
		t.Fatal(err)
	}
	run["workflow_run"].(map[string]any)["conclusion"] = "failure"
	body, _ := json.Marshal(run)
	r = b.GitHub(t, "workflow_run", newID(), body)
	checkAccepted(t, r, "", []string{"ci-failures"}, 1)
	reqs = waitDelivered(t, fake, 3, 10*time.Second)
	m := oneMessage(t, reqs[2])
	if m.To != devGroup || !slices.Equal(m.At, []string{"wxid_octocat"}) || !strings.HasPrefix(m.Content, "@Octocat") {
		t.Errorf("CI failure message to %s at %q: %q", m.To, m.At, m.Content)
	}
	checkWire(t, fake, "", "v1")
}

// TestGeweV2 uses the second API generation under a path prefix: text to
// postText with ats as one comma-separated string, cards to postAppMsg.
func TestGeweV2(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	conf := newConf(fake)
	conf.GeweURL, conf.API = fake.URL()+"/gewe", "v2"
	b := startBridge(t, conf)

	checkAccepted(t, b.Alertmanager(t, webAlert("CheckoutErrorsHigh")), "", []string{"web-alerts"}, 2)
	reqs := waitDelivered(t, fake, 2, 10*time.Second)
	for _, rq := range reqs {
		if rq.Path != "/gewe/v2/api/message/postText" {
			t.Errorf("text went to %s, want /gewe/v2/api/message/postText", rq.Path)
		}
		to, _ := rq.JSON["toWxid"].(string)
		content, _ := rq.JSON["content"].(string)
		assertContains(t, "the v2 text to "+to, content, "CheckoutErrorsHigh is firing", "p99 latency of checkout is 2.3s")
		switch to {
		case webGroup:
			if ats, ok := rq.JSON["ats"].(string); !ok || ats != "wxid_alice,wxid_oncall" {
				t.Errorf(`postText ats is %#v, want the string "wxid_alice,wxid_oncall"`, rq.JSON["ats"])
			}
			assertContains(t, "the v2 group text", firstLine(content), "@Alice", "@值班")
		case "wxid_alice":
			if ats, _ := rq.JSON["ats"].(string); ats != "" {
				t.Errorf("direct postText ats %q, want none", ats)
			}
		default:
			t.Errorf("unexpected recipient %q", to)
		}
	}

	checkAccepted(t, b.GitHub(t, "pull_request", newID(), fixture(t, "github/pull_request.opened.json")), "", []string{"pull-requests"}, 1)
	reqs = waitDelivered(t, fake, 3, 10*time.Second)
	if reqs[2].Path != "/gewe/v2/api/message/postAppMsg" {
		t.Errorf("card went to %s, want /gewe/v2/api/message/postAppMsg", reqs[2].Path)
	}
	appmsg, _ := reqs[2].JSON["appmsg"].(string)
	if c := parseAppMsg(t, appmsg); c.Title != "PR #2 Update the README with new information." ||
		c.URL != "https://github.com/Codertocat/Hello-World/pull/2?utm_source=gewe&tab=files" {
		t.Errorf("v2 card %+v", c)
	}
	checkWire(t, fake, "/gewe", "v2")
}

// TestDryRun starts without gewe.token, in dry-run as chosen with -dry-run:
// the bridge says so loudly, logs each message it would send, and sends
// nothing.
func TestDryRun(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	conf := newConf(fake)
	conf.Token = ""
	conf.Flags = []string{"-dry-run"}
	b := startBridge(t, conf)
	if !strings.Contains(b.Output(), "DRY-RUN") {
		t.Errorf("a dry-run start does not say DRY-RUN")
	}
	checkAccepted(t, b.Alertmanager(t, fixture(t, "alertmanager/firing.json")), "", []string{"audit", "critical-alerts"}, 2)
	checkAccepted(t, b.GitHub(t, "pull_request", newID(), fixture(t, "github/pull_request.opened.json")), "", []string{"pull-requests"}, 1)
	if !b.WaitOutput(10*time.Second, "NodeFilesystemSpaceFillingUp firing: 2 alert(s)", "10.0.3.21:9100", "PR #2 Update the README with new information.") {
		t.Errorf("the dry-run log does not show the messages' text")
	}
	assertContains(t, "the dry-run log", b.Output(), "wxid_oncall", opsGroup, devGroup)
	time.Sleep(200 * time.Millisecond)
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("dry-run sent %d requests to GeWe, want none", n)
	}
}

// TestCLI runs check and test as a user would.
func TestCLI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()

	// With nothing set in the environment, only as a dry run.
	stdout, stderr, code := runCLI(t, dir, "check", "-dry-run", "-config", filepath.Join(repoRoot, "rules.example.yaml"))
	if code != 0 || !strings.Contains(stdout, "OK") {
		t.Errorf("check rules.example.yaml: exit %d\n%s%s", code, stdout, stderr)
	}

	// The config the other tests run with passes too.
	fake := newFake(t, true)
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(newConf(fake).render("127.0.0.1:0", filepath.Join(dir, "x.db"))), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runCLI(t, dir, "check", "-config", good)
	if code != 0 {
		t.Errorf("check of the test config: exit %d\n%s%s", code, stdout, stderr)
	}

	broken := filepath.Join(dir, "broken.yaml")
	err := os.WriteFile(broken, []byte(`gewe:
  base_url: http://127.0.0.1:1
  token: x
  app_id: wx_a
sources:
  gh:
    type: github
    secret: s
rules:
  - name: r1
    when: 'type == "github" &&'
    to: [nobody]
    template: missing-template
  - name: r2
    when: '1 + 1'
    to: [wxid_x]
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runCLI(t, dir, "check", "-config", broken)
	out := stdout + stderr
	if code != 1 {
		t.Errorf("check of a broken config: exit %d, want 1\n%s", code, out)
	}
	assertContains(t, "check's report", out, "broken.yaml:13:15", "missing-template", "broken.yaml:12:", "nobody")
	for _, line := range []int{11, 15} { // the bad when expressions
		if !regexp.MustCompile(fmt.Sprintf(`broken\.yaml:%d:\d+`, line)).MatchString(out) {
			t.Errorf("check's report has no problem at broken.yaml:%d:<column>:\n%s", line, out)
		}
	}

	// test with the embedded example config, as on a fresh machine.
	stdout, stderr, code = runCLI(t, dir, "test", "-source", "alertmanager", filepath.Join(fixturesDir, "alertmanager", "firing.json"))
	if code != 0 {
		t.Errorf("test -source alertmanager: exit %d\n%s%s", code, stdout, stderr)
	}
	assertContains(t, "the output of test", stdout, "NodeFilesystemSpaceFillingUp", "12345678@chatroom", "wxid_oncall",
		"@值班", "10.0.3.21:9100", "9.84% available space left", "critical-alerts")
	if strings.Contains(stdout, "<no value>") {
		t.Errorf("the rendered message shows <no value>:\n%s", stdout)
	}

	stdout, stderr, code = runCLI(t, dir, "test", "-config", filepath.Join(repoRoot, "rules.example.yaml"),
		"-source", "github", "-event", "pull_request", filepath.Join(fixturesDir, "github", "pull_request.opened.json"))
	if code != 0 {
		t.Errorf("test -source github: exit %d\n%s%s", code, stdout, stderr)
	}
	assertContains(t, "the output of test for a PR", stdout, "<appmsg", "PR #2 Update the README with new information.", "pull-requests")
}
