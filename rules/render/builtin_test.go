package render

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai without the system's zoneinfo

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gewe-bridge/gewe-bridge/test/fixtures"
)

// Tests of the built-in templates (rules/builtin/<lang>/<name>.tmpl):
// golden files for the fixtures in testdata, and payloads with null, empty and
// missing fields. `go test ./rules -run Golden -update` rewrites the golden
// files in testdata/golden/<lang>/.

var updateGolden = flag.Bool("update", false, "rewrite the golden files of the built-in templates (testdata/golden)")

// btNow is the clock of the golden files: 2026-05-12 16:25:00 in Shanghai,
// a few minutes after the fixture's alerts started.
var btNow = time.Date(2026, 5, 12, 8, 25, 0, 0, time.UTC)

var btLanguages = []string{"zh", "en"}

// btGitHubEvents are the GitHub events with a template of their own.
var btGitHubEvents = []string{
	"push", "pull_request", "pull_request_review", "issues", "issue_comment",
	"workflow_run", "workflow_job", "check_run", "release", "deployment_status",
	"create", "delete", "ping",
}

// btForbidden must never appear in a built-in template's output: Go's
// spellings of missing or odd values, and decorations left empty.
var btForbidden = []string{"<no value>", "<nil>", "map[", "%!", "()", "[]", "（）", "【】", "[ ]", "( )", " · ·"}

// btForbiddenRE catches the same in patterns: a "#" without its number,
// a separator or a label with nothing after it.
var btForbiddenRE = regexp.MustCompile(`(^|[^#\w])#($|[\s,.:;)）·])|(^|\n)· | ·($|\n)|(^|\n)[^\n]*[:：]($|\n)`)

// btTemplates compiles the built-in templates of a language the way Compile
// does, with the fixed clock and the Shanghai time zone.
func btTemplates(tb testing.TB, lang string) map[string]*Template {
	tb.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(tb, err)
	funcs := Funcs(loc, func() time.Time { return btNow })
	out := map[string]*Template{}
	for name, src := range Builtins(lang) {
		t, err := Parse(name, src, funcs)
		require.NoError(tb, err, "built-in template %s (%s)", name, lang)
		out[name] = t
	}
	return out
}

// has is the lookup DefaultName takes, over compiled templates.
func has(templates map[string]*Template) func(string) bool {
	return func(name string) bool { _, ok := templates[name]; return ok }
}

// btRenderLimit is the output limit renders run with: far above any
// built-in message.
const btRenderLimit = 64 << 10

func btRender(templates map[string]*Template, name string, ev *event.Event) (string, error) {
	t, ok := templates[name]
	if !ok {
		return "", fmt.Errorf("no template %q", name)
	}
	text, _, err := t.Render(ev.Vars(), btRenderLimit)
	return text, err
}

// btCheckClean fails when out shows a missing value or an empty decoration,
// or is badly laid out (empty, blank lines, trailing spaces).
func btCheckClean(t testing.TB, out string) {
	t.Helper()
	assert.NotEmpty(t, out)
	for _, bad := range btForbidden {
		assert.NotContains(t, out, bad, "output:\n%s", out)
	}
	assert.NotContains(t, out, "\n\n", "blank line in:\n%s", out)
	assert.False(t, btForbiddenRE.MatchString(out), "empty decoration %q in:\n%s", btForbiddenRE.FindString(out), out)
	for i, line := range strings.Split(out, "\n") {
		assert.Equal(t, strings.TrimRight(line, " \t"), line, "line %d ends with white space:\n%s", i+1, out)
		assert.Equal(t, strings.TrimLeft(line, " \t"), line, "line %d starts with white space:\n%s", i+1, out)
	}
}

// --- Events as the inbound adapters build them -----------------------------

// btDecode decodes a JSON object as the adapters do: numbers become int64
// when they are integers, float64 otherwise.
func btDecode(tb testing.TB, data []byte) map[string]any {
	tb.Helper()
	m, err := adapters.DecodeObject(data)
	require.NoError(tb, err)
	return m
}

// btStr is the string at path in m, "" when missing or not a string.
func btStr(m map[string]any, path ...string) string {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return ""
		}
		m = next
	}
	s, _ := m[path[len(path)-1]].(string)
	return s
}

func btStrMap(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := make(map[string]string, len(m))
	for k, x := range m {
		if s, ok := x.(string); ok {
			out[k] = s
		}
	}
	return out
}

// btGitHubEvent builds the event the GitHub adapter builds for a payload.
func btGitHubEvent(name string, p map[string]any) *event.Event {
	ev := &event.Event{
		Source:  "github",
		Type:    "github",
		Event:   name,
		Action:  btStr(p, "action"),
		ID:      "72d3162e-cc78-11e3-81ab-4c9367dc0958",
		Payload: p,
		Repo:    btStr(p, "repository", "full_name"),
		Sender:  btStr(p, "sender", "login"),
		Ref:     btStr(p, "ref"),
	}
	switch ref := ev.Ref; {
	case strings.HasPrefix(ref, "refs/heads/"):
		ev.Branch = strings.TrimPrefix(ref, "refs/heads/")
	case strings.HasPrefix(ref, "refs/tags/"):
		ev.Tag = strings.TrimPrefix(ref, "refs/tags/")
	case strings.HasPrefix(ref, "refs/"):
	case btStr(p, "ref_type") == "branch":
		ev.Branch = ref
	case btStr(p, "ref_type") == "tag":
		ev.Tag = ref
	}
	return ev
}

// btAlertEvent builds the event the Alertmanager adapter builds.
func btAlertEvent(p map[string]any) *event.Event {
	alerts, _ := p["alerts"].([]any)
	return &event.Event{
		Source:      "alertmanager",
		Type:        "alertmanager",
		Event:       "alert",
		ID:          "01JV0000000000000000000000",
		Payload:     p,
		Status:      btStr(p, "status"),
		Alerts:      alerts,
		Receiver:    btStr(p, "receiver"),
		ExternalURL: btStr(p, "externalURL"),
		Labels:      btStrMap(p["commonLabels"]),
		Annotations: btStrMap(p["commonAnnotations"]),
		GroupLabels: btStrMap(p["groupLabels"]),
	}
}

// btGenericEvent builds the event the generic adapter builds.
func btGenericEvent(name string, p map[string]any) *event.Event {
	return &event.Event{Source: "deploys", Type: "generic", Event: name, ID: "req-1", Payload: p}
}

// btFixture is one fixture of testdata: its name (github.push,
// github.pull_request.opened, alertmanager.firing), its raw bytes and how to
// turn a payload into an event.
type btFixture struct {
	name  string
	data  []byte
	event func(p map[string]any) *event.Event
}

func (f btFixture) build(tb testing.TB) *event.Event {
	return f.event(btDecode(tb, f.data))
}

func btFixtures(tb testing.TB) []btFixture {
	tb.Helper()
	dir := fixtures.MustDir(tb)
	var out []btFixture
	for _, sub := range []string{"alertmanager", "github"} {
		files, err := filepath.Glob(filepath.Join(dir, sub, "*.json"))
		require.NoError(tb, err)
		slices.Sort(files)
		for _, file := range files {
			data, err := os.ReadFile(file)
			require.NoError(tb, err)
			base := strings.TrimSuffix(filepath.Base(file), ".json")
			f := btFixture{name: sub + "." + base, data: data}
			if sub == "github" {
				name, _, _ := strings.Cut(base, ".") // X-GitHub-Event, then the action
				f.event = func(p map[string]any) *event.Event { return btGitHubEvent(name, p) }
			} else {
				f.event = btAlertEvent
			}
			out = append(out, f)
		}
	}
	require.NotEmpty(tb, out, "no fixtures in %s", dir)
	return out
}

// --- Golden files -----------------------------------------------------------

// btFixtureFacts are facts each fixture's message must show, whatever the
// golden files say: a careless -update cannot lose them.
var btFixtureFacts = map[string][]string{
	"alertmanager.firing": {
		"NodeFilesystemSpaceFillingUp", "critical",
		"Filesystem on /dev/nvme0n1p1 at 10.0.3.21:9100 has only 7.12% available space left.",
		"Filesystem on /dev/nvme0n1p1 at 10.0.3.22:9100 has only 9.84% available space left.",
		"2026-05-12 16:21:35", "3m24s", "2026-05-12 16:23:05", "1m54s",
		"http://prometheus-k8s-0:9090/graph?g0.expr=%28node_filesystem_avail_bytes%7Bfstype%21~%22tmpfs%22%7D+%2F+node_filesystem_size_bytes%29+%3C+0.1&g0.tab=1",
		"http://alertmanager.monitoring.svc:9093/#/silences/new?filter=%7Balertname%3D%22NodeFilesystemSpaceFillingUp%22%2Cteam%3D%22infra%22%7D",
	},
	"github.issues.opened": {"Codertocat/Hello-World", "#1", "Spelling error in the README file", "Codertocat", "https://github.com/Codertocat/Hello-World/issues/1"},
	"github.ping":          {"Octocoders/Hello-World", "109948940", "Anything added dilutes everything else.", "Webhook"},
	"github.pull_request.opened": {
		"Codertocat/Hello-World", "#2", "Update the README with new information.", "Codertocat",
		"changes → master", "https://github.com/Codertocat/Hello-World/pull/2",
	},
	"github.push": {
		"Codertocat/Hello-World", "master", "6113728 Initial commit", "Codertocat",
		"https://github.com/Codertocat/Hello-World/commit/6113728f27ae82c7b1a177c8d03f9e96e0adf246",
	},
	"github.release.published":      {"Codertocat/Hello-World", "0.0.1", "Codertocat", "https://github.com/Codertocat/Hello-World/releases/tag/0.0.1"},
	"github.workflow_run.completed": {"octo-org/octo-repo", "✅", "test", "ci(action): update actions/setup-node digest to 8c91899", "master", "#163", "Codertocat", "https://github.com/octo-org/octo-repo/actions/runs/289782451"},
}

func TestBuiltinGolden(t *testing.T) {
	fixtures := btFixtures(t)
	for _, lang := range btLanguages {
		templates := btTemplates(t, lang)
		for _, f := range fixtures {
			t.Run(lang+"/"+f.name, func(t *testing.T) {
				ev := f.build(t)
				name := DefaultName(ev, has(templates))
				if ev.Type == "github" {
					require.True(t, name == "github."+ev.Event || name == "github.default", name)
				}
				got, err := btRender(templates, name, ev)
				require.NoError(t, err)
				btCheckClean(t, got)
				for _, fact := range btFixtureFacts[f.name] {
					assert.Contains(t, got, fact)
				}

				path := filepath.Join("testdata", "golden", lang, f.name+".txt")
				if *updateGolden {
					require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
					require.NoError(t, os.WriteFile(path, []byte(got+"\n"), 0o644))
					return
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "missing golden file: run go test ./rules -run Golden -update")
				assert.Equal(t, string(want), got+"\n", "%s: run go test ./rules -run Golden -update after checking the difference", path)
			})
		}
	}
}

// Every fixture has its facts, and every golden file its fixture.
func TestBuiltinGoldenFilesMatchFixtures(t *testing.T) {
	var names []string
	for _, f := range btFixtures(t) {
		names = append(names, f.name)
		assert.Contains(t, btFixtureFacts, f.name, "no facts listed for fixture %s", f.name)
	}
	for _, lang := range btLanguages {
		files, err := filepath.Glob(filepath.Join("testdata", "golden", lang, "*.txt"))
		require.NoError(t, err)
		for _, file := range files {
			assert.Contains(t, names, strings.TrimSuffix(filepath.Base(file), ".txt"), "golden file without a fixture: %s", file)
		}
	}
}

// --- Every template exists in both languages ---------------------------------

func TestBuiltinTemplateSet(t *testing.T) {
	want := []string{"alertmanager.default", "generic.default", "github.default", "grafana.default",
		"gitlab.push", "gitlab.merge_request", "gitlab.pipeline", "gitlab.job", "gitlab.issue", "gitlab.note", "gitlab.release", "gitlab.default",
		"gitea.push", "gitea.pull_request", "gitea.issues", "gitea.issue_comment", "gitea.release",
		"gitea.create", "gitea.delete", "gitea.default"}
	for _, e := range btGitHubEvents {
		want = append(want, "github."+e)
	}
	for _, lang := range btLanguages {
		entries, err := builtinFS.ReadDir("builtin/" + lang)
		require.NoError(t, err)
		var got []string
		for _, e := range entries {
			got = append(got, strings.TrimSuffix(e.Name(), ".tmpl"))
		}
		assert.ElementsMatch(t, want, got, "templates in builtin/%s (each language has its own file: no fallback)", lang)

		templates := btTemplates(t, lang)
		for _, e := range btGitHubEvents {
			assert.Equal(t, "github."+e, DefaultName(&event.Event{Type: "github", Event: e}, has(templates)))
		}
		assert.Equal(t, "github.default", DefaultName(&event.Event{Type: "github", Event: "star"}, has(templates)))
		for _, e := range []string{"push", "merge_request", "pipeline", "job", "issue", "note", "release"} {
			assert.Equal(t, "gitlab."+e, DefaultName(&event.Event{Type: "gitlab", Event: e}, has(templates)))
		}
		// Confidential issues and notes have no template of their own: the
		// issue and note ones are not used for them.
		for _, e := range []string{"confidential_issue", "confidential_note", "wiki_page"} {
			assert.Equal(t, "gitlab.default", DefaultName(&event.Event{Type: "gitlab", Event: e}, has(templates)))
		}
		assert.Equal(t, "alertmanager.default", DefaultName(&event.Event{Type: "alertmanager", Event: "alert"}, has(templates)))
		assert.Equal(t, "generic.default", DefaultName(&event.Event{Type: "generic", Event: "deploy"}, has(templates)))
	}
}

// --- Synthetic payloads: nulls, empty and missing fields, other actions -------

// btPayload decodes a JSON literal the way the adapters do.
func btPayload(tb testing.TB, s string) map[string]any {
	tb.Helper()
	return btDecode(tb, []byte(s))
}

// btFixturePayload decodes a fixture of testdata, to be changed by a case.
func btFixturePayload(tb testing.TB, name string) map[string]any {
	tb.Helper()
	return btDecode(tb, fixtures.Read(tb, name))
}

// btAlert is an Alertmanager alert with the given status, summary,
// instance and times.
func btAlert(status, name, summary, instance, startsAt, endsAt string) map[string]any {
	a := map[string]any{
		"status":       status,
		"labels":       map[string]any{"alertname": name, "severity": "warning"},
		"annotations":  map[string]any{},
		"startsAt":     startsAt,
		"endsAt":       endsAt,
		"generatorURL": "http://prometheus:9090/graph?g0.expr=up",
		"fingerprint":  "f00d" + instance,
	}
	if summary != "" {
		a["annotations"].(map[string]any)["summary"] = summary
	}
	if instance != "" {
		a["labels"].(map[string]any)["instance"] = instance
	}
	return a
}

func btAlertGroup(status string, alerts []any, extra map[string]any) map[string]any {
	p := map[string]any{
		"receiver":          "wechat",
		"status":            status,
		"alerts":            alerts,
		"groupLabels":       map[string]any{"alertname": "HostDown"},
		"commonLabels":      map[string]any{"alertname": "HostDown", "severity": "warning"},
		"commonAnnotations": map[string]any{},
		"externalURL":       "http://am.example:9093",
		"version":           "4",
		"groupKey":          `{}:{alertname="HostDown"}`,
		"truncatedAlerts":   int64(0),
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

type btCase struct {
	name     string
	event    func(tb testing.TB) *event.Event
	template string   // "" for the event's default template
	want     []string // in every language
	wantZh   []string
	wantEn   []string
	notWant  []string // in every language
}

func btCases() []btCase {
	gh := func(name, payload string) func(tb testing.TB) *event.Event {
		return func(tb testing.TB) *event.Event { return btGitHubEvent(name, btPayload(tb, payload)) }
	}
	prFixture := func(change func(p, pr map[string]any)) func(tb testing.TB) *event.Event {
		return func(tb testing.TB) *event.Event {
			p := btFixturePayload(tb, "github/pull_request.opened.json")
			change(p, p["pull_request"].(map[string]any))
			return btGitHubEvent("pull_request", p)
		}
	}
	am := func(p func() map[string]any) func(tb testing.TB) *event.Event {
		return func(tb testing.TB) *event.Event {
			// Through JSON, so the types are those of a real delivery.
			data, err := json.Marshal(p())
			require.NoError(tb, err)
			return btAlertEvent(btDecode(tb, data))
		}
	}
	var sevenCommits []string
	for i := 1; i <= 7; i++ {
		author := `{"name":"Alice Liddell","username":"alice"}`
		if i == 3 {
			author = "null"
		}
		sevenCommits = append(sevenCommits, fmt.Sprintf(`{"id":"%d0c9a1f2e3d4b5a69788796a5b4c3d2e1f0a9b8c","message":"Commit number %d\r\n\nLonger explanation","author":%s}`, i, i, author))
	}
	longBody := strings.Repeat("这是一条很长的评论。", 30) // 300 runes

	return []btCase{
		{
			name: "push deleting a branch: head_commit null",
			event: gh("push", `{"ref":"refs/heads/feature/login","before":"9049f1265b7d61be4a8904a9a27120d2064dab3b",
				"after":"0000000000000000000000000000000000000000","created":false,"deleted":true,"forced":false,"base_ref":null,
				"compare":"https://github.com/acme/api/compare/9049f1265b7d...000000000000","commits":[],"head_commit":null,
				"repository":{"full_name":"acme/api","html_url":"https://github.com/acme/api"},
				"pusher":{"name":"alice","email":"alice@example.com"},"sender":{"login":"alice"}}`),
			want:    []string{"[acme/api]", "feature/login", "alice"},
			wantEn:  []string{"Branch feature/login deleted by alice"},
			wantZh:  []string{"alice 删除了分支 feature/login"},
			notWant: []string{"compare", "0000000"},
		},
		{
			name:   "push deleting a branch: nothing but ref and deleted",
			event:  gh("push", `{"ref":"refs/heads/old","deleted":true,"head_commit":null,"commits":null}`),
			want:   []string{"[GitHub]", "old"},
			wantEn: []string{"Branch old deleted"},
			wantZh: []string{"删除了分支 old"},
		},
		{
			name: "push creating a tag",
			event: gh("push", `{"ref":"refs/tags/v1.2.0","created":true,"deleted":false,"forced":false,"commits":[],
				"head_commit":{"id":"9049f1265b7d61be4a8904a9a27120d2064dab3b","message":"Release v1.2.0\n\nNotes","author":{"name":"Bob","username":"bob"}},
				"compare":"https://github.com/acme/api/compare/v1.2.0","repository":{"full_name":"acme/api"},"sender":{"login":"bob"}}`),
			want:    []string{"v1.2.0", "9049f12 Release v1.2.0 (bob)", "https://github.com/acme/api/compare/v1.2.0"},
			wantEn:  []string{"Tag v1.2.0 created by bob"},
			wantZh:  []string{"bob 创建了标签 v1.2.0"},
			notWant: []string{"Notes", "commit"},
		},
		{
			name: "push of 7 commits, forced: 5 shown, first lines only",
			event: gh("push", `{"ref":"refs/heads/main","created":false,"deleted":false,"forced":true,
				"commits":[`+strings.Join(sevenCommits, ",")+`],"head_commit":null,
				"compare":"https://github.com/acme/api/compare/1111111...7777777","repository":{"full_name":"acme/api"},"sender":{"login":"alice"}}`),
			want:    []string{"10c9a1f Commit number 1 (alice)", "30c9a1f Commit number 3\n", "50c9a1f Commit number 5 (alice)", "https://github.com/acme/api/compare/1111111...7777777"},
			wantEn:  []string{"7 commits force-pushed to main by alice", "... and 2 more"},
			wantZh:  []string{"alice 向 main 强制推送了 7 个提交", "…另有 2 个提交"},
			notWant: []string{"Commit number 6", "Longer explanation", "\r"},
		},
		{
			name:   "push of one commit: singular",
			event:  gh("push", `{"ref":"refs/heads/main","commits":[{"id":"abcdef0123456789","message":"Fix","author":{"name":"Eve"}}],"repository":{"full_name":"acme/api"}}`),
			want:   []string{"abcdef0 Fix (Eve)"},
			wantEn: []string{"1 commit pushed to main"},
			wantZh: []string{"向 main 推送了 1 个提交"},
		},
		{
			name: "push from Gitea: compare_url, total_commits, pusher.login",
			event: gh("push", `{"ref":"refs/heads/main","before":"a","after":"b","compare_url":"https://gitea.example/acme/api/compare/a...b",
				"commits":[{"id":"ce587453ced02b1526dfb4cb910479d431683101","message":"Fix bug\n","author":{"name":"Alice","username":"alice"}}],
				"total_commits":1,"repository":{"full_name":"acme/api"},"pusher":{"login":"alice","username":"alice"}}`),
			want:   []string{"ce58745 Fix bug (alice)", "https://gitea.example/acme/api/compare/a...b"},
			wantEn: []string{"1 commit pushed to main by alice"},
			wantZh: []string{"alice 向 main 推送了 1 个提交"},
		},
		{
			name:   "push with null commits in the list",
			event:  gh("push", `{"ref":"refs/heads/main","commits":[null,{"id":"abcdef0123","message":"Fix"}],"repository":{"full_name":"acme/api"}}`),
			want:   []string{"abcdef0 Fix"},
			wantEn: []string{"2 commits pushed to main"},
		},
		{
			name: "workflow_run with an empty name and no workflow: display_title",
			event: gh("workflow_run", `{"action":"completed","workflow_run":{"name":"","display_title":"Fix flaky test","status":"completed",
				"conclusion":"failure","head_branch":"main","run_number":7,"run_attempt":2,"actor":null,
				"run_started_at":"2026-05-12T08:00:00Z","updated_at":"2026-05-12T08:03:20Z","html_url":"https://github.com/acme/api/actions/runs/9"},
				"workflow":null,"repository":{"full_name":"acme/api"},"sender":{"login":"carol"}}`),
			want:   []string{"❌", "Fix flaky test", "main", "#7", "carol", "3m20s", "https://github.com/acme/api/actions/runs/9"},
			wantEn: []string{"❌ Workflow Fix flaky test failed", "attempt 2"},
			wantZh: []string{"❌ 工作流 Fix flaky test 失败", "第 2 次尝试"},
		},
		{
			name: "workflow_run in progress",
			event: gh("workflow_run", `{"action":"in_progress","workflow_run":{"name":"CI","display_title":"Add login","status":"in_progress",
				"conclusion":null,"head_branch":"feature/login","run_number":12,"run_attempt":1,"actor":{"login":"dave"},
				"run_started_at":"2026-05-12T08:00:00Z","updated_at":"2026-05-12T08:01:00Z"},"repository":{"full_name":"acme/api"}}`),
			want:    []string{"⏳", "CI", "Add login", "feature/login", "dave"},
			wantEn:  []string{"in progress"},
			wantZh:  []string{"运行中"},
			notWant: []string{"took", "耗时", "attempt", "尝试"},
		},
		{
			name: "release with an empty name: the tag; pre-release",
			event: gh("release", `{"action":"prereleased","release":{"name":"","tag_name":"v2.0.0-rc.1","prerelease":true,"draft":false,
				"body":"## Changes\r\n- faster\n- smaller","author":{"login":"erin"},"html_url":"https://github.com/acme/api/releases/tag/v2.0.0-rc.1"},
				"repository":{"full_name":"acme/api"},"sender":{"login":"erin"}}`),
			want:   []string{"v2.0.0-rc.1", "erin", "## Changes - faster - smaller", "https://github.com/acme/api/releases/tag/v2.0.0-rc.1"},
			wantEn: []string{"Release v2.0.0-rc.1 [pre-release] published by erin"},
			wantZh: []string{"erin 发布了版本 v2.0.0-rc.1（预发布）"},
		},
		{
			name:   "release with a name and a tag",
			event:  gh("release", `{"action":"released","release":{"name":"Spring","tag_name":"v3.0.0","draft":true},"repository":{"full_name":"acme/api"}}`),
			wantEn: []string{"Release Spring (v3.0.0) [draft] released"},
			wantZh: []string{"正式发布了版本 Spring（v3.0.0）（草稿）"},
		},
		{
			name:   "release with null name, tag and author",
			event:  gh("release", `{"action":"published","release":{"name":null,"tag_name":null,"author":null,"body":null,"html_url":null}}`),
			wantEn: []string{"[GitHub] Release published"},
			wantZh: []string{"[GitHub] 发布了版本"},
		},
		{
			name: "pull_request closed and merged",
			event: prFixture(func(p, pr map[string]any) {
				p["action"] = "closed"
				pr["merged"] = true
				pr["state"] = "closed"
				pr["merged_by"] = map[string]any{"login": "octocat"}
				p["sender"] = map[string]any{"login": "octocat"}
			}),
			want:    []string{"#2", "Update the README with new information.", "changes → master", "https://github.com/Codertocat/Hello-World/pull/2"},
			wantEn:  []string{"PR #2 merged by octocat", "author Codertocat"},
			wantZh:  []string{"octocat 合并了 PR #2", "作者 Codertocat"},
			notWant: []string{"closed", "关闭"},
		},
		{
			name: "pull_request closed without merging",
			event: prFixture(func(p, pr map[string]any) {
				p["action"] = "closed"
				pr["merged"] = false
			}),
			wantEn: []string{"PR #2 closed by Codertocat"},
			wantZh: []string{"Codertocat 关闭了 PR #2"},
		},
		{
			name: "pull_request review_requested",
			event: prFixture(func(p, pr map[string]any) {
				p["action"] = "review_requested"
				p["requested_reviewer"] = map[string]any{"login": "octocat"}
			}),
			wantEn: []string{"PR #2: review requested from octocat by Codertocat"},
			wantZh: []string{"Codertocat 请求 octocat 评审 PR #2"},
		},
		{
			name: "pull_request ready_for_review, draft from a fork",
			event: prFixture(func(p, pr map[string]any) {
				p["action"] = "ready_for_review"
				pr["head"].(map[string]any)["label"] = "someone:patch-1"
				pr["head"].(map[string]any)["repo"] = map[string]any{"full_name": "someone/Hello-World"}
			}),
			want:   []string{"someone:patch-1 → master"},
			wantEn: []string{"PR #2 ready for review by Codertocat"},
			wantZh: []string{"Codertocat 将 PR #2 标记为可评审"},
		},
		{
			name: "pull_request with user, head, base and merged_by null",
			event: gh("pull_request", `{"action":"closed","number":7,"pull_request":{"number":7,"title":"Add login","user":null,"head":null,
				"base":null,"merged":true,"merged_by":null,"html_url":"https://github.com/acme/api/pull/7"},"repository":{"full_name":"acme/api"},"sender":null}`),
			want:    []string{"#7", "Add login", "https://github.com/acme/api/pull/7"},
			wantEn:  []string{"PR #7 merged\n"},
			wantZh:  []string{"合并了 PR #7\n"},
			notWant: []string{"→", "author", "作者"},
		},
		{
			name: "pull_request_review approved",
			event: gh("pull_request_review", `{"action":"submitted","review":{"state":"approved","user":{"login":"bob"},"body":null,
				"html_url":"https://github.com/acme/api/pull/7#pullrequestreview-1"},"pull_request":{"number":7,"title":"Add login",
				"html_url":"https://github.com/acme/api/pull/7"},"repository":{"full_name":"acme/api"},"sender":{"login":"bob"}}`),
			want:   []string{"✅", "Add login", "https://github.com/acme/api/pull/7#pullrequestreview-1"},
			wantEn: []string{"✅ PR #7 approved by bob"},
			wantZh: []string{"✅ bob 批准了 PR #7"},
		},
		{
			name: "pull_request_review requesting changes, body on several lines",
			event: gh("pull_request_review", `{"action":"submitted","review":{"state":"CHANGES_REQUESTED","user":{"login":"bob"},
				"body":"Please add tests.\n\nAnd docs."},"pull_request":{"number":7,"title":"Add login"},"repository":{"full_name":"acme/api"}}`),
			want:   []string{"❌", "Please add tests. And docs."},
			wantEn: []string{"❌ Changes requested on PR #7 by bob"},
			wantZh: []string{"❌ bob 要求修改 PR #7"},
		},
		{
			name: "issue_comment on a PR: the comment cut to 200 characters",
			event: gh("issue_comment", `{"action":"created","issue":{"number":7,"title":"Add login","pull_request":{"url":"x"}},
				"comment":{"body":"`+longBody+`","user":{"login":"carol"},"html_url":"https://github.com/acme/api/pull/7#issuecomment-1"},
				"repository":{"full_name":"acme/api"},"sender":{"login":"carol"}}`),
			want:   []string{"Add login", strings.Repeat("这是一条很长的评论。", 19) + "这是一条很长的评论…", "https://github.com/acme/api/pull/7#issuecomment-1"},
			wantEn: []string{"New comment on PR #7 by carol"},
			wantZh: []string{"carol 评论了 PR #7"},
		},
		{
			name:   "issue_comment with a null comment body and user",
			event:  gh("issue_comment", `{"action":"deleted","issue":{"number":3,"title":"Crash"},"comment":{"body":null,"user":null}}`),
			want:   []string{"#3", "Crash"},
			wantEn: []string{"Comment deleted on issue #3"},
			wantZh: []string{"删除了 Issue #3 上的评论"},
		},
		{
			name: "issues opened with null labels in the list",
			event: gh("issues", `{"action":"opened","issue":{"number":4,"title":"Slow","labels":[null,{"name":"perf"},{"name":null}],"body":null},
				"repository":{"full_name":"acme/api"},"sender":{"login":"alice"}}`),
			want:   []string{"Slow", "perf"},
			wantEn: []string{"Labels: perf"},
			wantZh: []string{"标签：perf"},
		},
		{
			name: "issue_comment on a Gitea PR: is_pull",
			event: gh("issue_comment", `{"action":"created","is_pull":true,"issue":{"number":9,"title":"Bump"},"comment":{"body":"LGTM","user":{"login":"bob"}},
				"repository":{"full_name":"acme/api"}}`),
			want:   []string{"PR #9", "LGTM"},
			wantEn: []string{"New comment on PR #9 by bob"},
			wantZh: []string{"bob 评论了 PR #9"},
		},
		{
			name: "issues closed as not planned",
			event: gh("issues", `{"action":"closed","issue":{"number":3,"title":"Crash on start","state":"closed","state_reason":"not_planned",
				"labels":[],"body":"ignored","html_url":"https://github.com/acme/api/issues/3"},"repository":{"full_name":"acme/api"},"sender":{"login":"alice"}}`),
			want:    []string{"Crash on start", "https://github.com/acme/api/issues/3"},
			wantEn:  []string{"Issue #3 closed as not planned by alice"},
			wantZh:  []string{"alice 关闭了 Issue #3（不计划处理）"},
			notWant: []string{"ignored"},
		},
		{
			name: "workflow_job failed: the failed step",
			event: gh("workflow_job", `{"action":"completed","workflow_job":{"name":"test","workflow_name":"CI","status":"completed","conclusion":"failure",
				"head_branch":"main","runner_name":"ubuntu-1","started_at":"2026-05-12T08:00:00Z","completed_at":"2026-05-12T08:02:05Z",
				"steps":[{"name":"Checkout","conclusion":"success"},{"name":"Run tests","conclusion":"failure"},{"name":"Upload","conclusion":"skipped"}],
				"html_url":"https://github.com/acme/api/actions/runs/9/job/1"},"repository":{"full_name":"acme/api"}}`),
			want:   []string{"❌", "CI / test", "Run tests", "main", "ubuntu-1", "2m5s", "https://github.com/acme/api/actions/runs/9/job/1"},
			wantEn: []string{"❌ Job CI / test failed", "Failed step: Run tests"},
			wantZh: []string{"❌ 作业 CI / test 失败", "失败步骤：Run tests"},
		},
		{
			name: "workflow_job failed, a null step",
			event: gh("workflow_job", `{"action":"completed","workflow_job":{"name":"lint","status":"completed","conclusion":"failure",
				"steps":[null,{"name":"golangci-lint","conclusion":"failure"}]}}`),
			want:   []string{"golangci-lint"},
			wantEn: []string{"❌ Job lint failed"},
			wantZh: []string{"❌ 作业 lint 失败"},
		},
		{
			name:   "workflow_job queued, steps null",
			event:  gh("workflow_job", `{"action":"queued","workflow_job":{"name":"build","status":"queued","conclusion":null,"steps":null,"runner_name":null}}`),
			want:   []string{"⏳", "build"},
			wantEn: []string{"Job build queued"},
			wantZh: []string{"作业 build 排队中"},
		},
		{
			name: "check_run succeeded",
			event: gh("check_run", `{"action":"completed","check_run":{"name":"build","status":"completed","conclusion":"success",
				"head_sha":"ce587453ced02b1526dfb4cb910479d431683101","started_at":"2026-05-12T08:00:00Z","completed_at":"2026-05-12T08:00:45Z",
				"output":{"title":"All good","summary":null},"app":{"name":"GitHub Actions"},"check_suite":{"head_branch":"main"},
				"html_url":"https://github.com/acme/api/runs/4"},"repository":{"full_name":"acme/api"}}`),
			want:   []string{"✅", "build", "All good", "main", "ce58745", "GitHub Actions", "45s", "https://github.com/acme/api/runs/4"},
			wantEn: []string{"✅ Check build succeeded"},
			wantZh: []string{"✅ 检查 build 成功"},
		},
		{
			name: "deployment_status success",
			event: gh("deployment_status", `{"action":"created","deployment_status":{"state":"success","description":"Deployed v1.2.0",
				"environment":"production","environment_url":"https://api.acme.dev","target_url":"https://ci.acme.dev/deploys/5",
				"creator":{"login":"deploy-bot"}},"deployment":{"ref":"main","sha":"ce587453ced02b1526dfb4cb910479d431683101","environment":"production"},
				"repository":{"full_name":"acme/api"}}`),
			want:   []string{"✅", "production", "Deployed v1.2.0", "main", "ce58745", "deploy-bot", "https://ci.acme.dev/deploys/5"},
			wantEn: []string{"✅ Deployment to production succeeded", "Environment: https://api.acme.dev"},
			wantZh: []string{"✅ 部署到 production 成功", "环境地址：https://api.acme.dev"},
		},
		{
			name:   "deployment_status with deployment null",
			event:  gh("deployment_status", `{"action":"created","deployment_status":{"state":"failure","environment":"staging"},"deployment":null}`),
			want:   []string{"❌", "staging"},
			wantEn: []string{"Deployment to staging failed"},
			wantZh: []string{"部署到 staging 失败"},
		},
		{
			name:   "create a tag",
			event:  gh("create", `{"ref":"v1.0","ref_type":"tag","master_branch":"main","repository":{"full_name":"acme/api"},"sender":{"login":"alice"}}`),
			wantEn: []string{"[acme/api] Tag v1.0 created by alice"},
			wantZh: []string{"[acme/api] alice 创建了标签 v1.0"},
		},
		{
			name:   "delete a branch",
			event:  gh("delete", `{"ref":"feature-x","ref_type":"branch","repository":{"full_name":"acme/api"},"sender":{"login":"alice"}}`),
			wantEn: []string{"[acme/api] Branch feature-x deleted by alice"},
			wantZh: []string{"[acme/api] alice 删除了分支 feature-x"},
		},
		{
			name:   "ping of an organization hook",
			event:  gh("ping", `{"zen":"Keep it logically awesome.","hook_id":42,"hook":{"events":["push","pull_request"]},"organization":{"login":"acme"}}`),
			want:   []string{"[acme]", "42", "push, pull_request", "Keep it logically awesome."},
			wantEn: []string{"Webhook is set up (hook 42)"},
			wantZh: []string{"Webhook 已配置（hook 42）"},
		},
		{
			name: "an event without its own template: star",
			event: gh("star", `{"action":"created","starred_at":"2026-05-12T08:00:00Z","repository":{"full_name":"acme/api",
				"html_url":"https://github.com/acme/api"},"sender":{"login":"dave"}}`),
			template: "github.default",
			want:     []string{"[acme/api]", "star", "created", "dave", "https://github.com/acme/api"},
		},
		{
			name: "an event without its own template: discussion",
			event: gh("discussion", `{"action":"created","discussion":{"number":5,"title":"How do I rotate keys?",
				"html_url":"https://github.com/acme/api/discussions/5"},"repository":{"full_name":"acme/api","html_url":"https://github.com/acme/api"},"sender":{"login":"dave"}}`),
			template: "github.default",
			want:     []string{"discussion", "#5 How do I rotate keys?", "https://github.com/acme/api/discussions/5"},
			notWant:  []string{"https://github.com/acme/api\n"},
		},
		{
			name: "resolved alert with endsAt: how long it lasted",
			event: am(func() map[string]any {
				return btAlertGroup("resolved", []any{btAlert("resolved", "HostDown", "Host web-1 is down", "web-1:9100", "2026-05-12T08:00:00Z", "2026-05-12T08:10:30Z")}, nil)
			}),
			want:    []string{"✅ Host web-1 is down", "web-1:9100", "2026-05-12 16:00:00", "2026-05-12 16:10:30", "10m30s", "[warning]", "http://prometheus:9090/graph?g0.expr=up"},
			wantEn:  []string{"[RESOLVED] HostDown", "Started: 2026-05-12 16:00:00, resolved: 2026-05-12 16:10:30 (lasted 10m30s)"},
			wantZh:  []string{"【已恢复】HostDown", "开始：2026-05-12 16:00:00，恢复：2026-05-12 16:10:30（持续 10m30s）"},
			notWant: []string{"🔥", "firing for", "已持续"},
		},
		{
			name: "alert without annotations or instance: its alertname",
			event: am(func() map[string]any {
				a := btAlert("firing", "Watchdog", "", "", "2026-05-12T06:25:00Z", "0001-01-01T00:00:00Z")
				a["annotations"] = nil
				return btAlertGroup("firing", []any{a}, map[string]any{"groupLabels": map[string]any{}, "commonLabels": map[string]any{"alertname": "Watchdog"}})
			}),
			want:    []string{"🔥 Watchdog", "2h", "http://am.example:9093/#/silences/new?filter=%7Balertname%3D%22Watchdog%22%7D"},
			wantEn:  []string{"[FIRING:1] Watchdog", "(firing for 2h)"},
			wantZh:  []string{"【告警:1】Watchdog", "（已持续 2h）"},
			notWant: []string{"Instance", "实例"},
		},
		{
			name: "13 alerts, one resolved, 3 truncated: firing first, 10 shown",
			event: am(func() map[string]any {
				alerts := []any{btAlert("resolved", "HostDown", "Host r-1 is down", "r-1", "2026-05-12T08:00:00Z", "2026-05-12T08:05:00Z")}
				for i := 1; i <= 11; i++ {
					alerts = append(alerts, btAlert("firing", "HostDown", fmt.Sprintf("Host f-%d is down", i), fmt.Sprintf("f-%d", i), "2026-05-12T08:00:00Z", "0001-01-01T00:00:00Z"))
				}
				return btAlertGroup("firing", alerts, map[string]any{"truncatedAlerts": 3})
			}),
			want:    []string{"Host f-1 is down", "Host f-10 is down"},
			wantEn:  []string{"[FIRING:11, RESOLVED:1] HostDown [warning]", "... and 5 more"},
			wantZh:  []string{"【告警:11 已恢复:1】HostDown [warning]", "…另有 5 条"},
			notWant: []string{"Host f-11 is down", "Host r-1 is down"},
		},
		{
			name: "alert group without externalURL: no silence link",
			event: am(func() map[string]any {
				return btAlertGroup("firing", []any{btAlert("firing", "HostDown", "Host web-1 is down", "web-1", "2026-05-12T08:00:00Z", "0001-01-01T00:00:00Z")},
					map[string]any{"externalURL": ""})
			}),
			want:    []string{"Host web-1 is down"},
			notWant: []string{"silences", "Silence", "静默"},
		},
		{
			name: "alert group without group labels: silence by the common labels",
			event: am(func() map[string]any {
				return btAlertGroup("firing", []any{btAlert("firing", "HostDown", "Host web-1 is down", "web-1", "2026-05-12T08:00:00Z", "0001-01-01T00:00:00Z")},
					map[string]any{"groupLabels": nil, "commonLabels": map[string]any{"alertname": "HostDown", "instance": "web-1"}})
			}),
			want: []string{"http://am.example:9093/#/silences/new?filter=%7Balertname%3D%22HostDown%22%2Cinstance%3D%22web-1%22%7D"},
		},
		{
			name: "alert with every field null",
			event: am(func() map[string]any {
				return map[string]any{"status": "firing", "alerts": []any{map[string]any{"status": nil, "labels": nil, "annotations": nil,
					"startsAt": nil, "endsAt": nil, "generatorURL": nil}}, "groupLabels": nil, "commonLabels": nil, "externalURL": nil}
			}),
			wantEn: []string{"[FIRING:1] Alertmanager\n🔥"},
			wantZh: []string{"【告警:1】Alertmanager\n🔥"},
		},
		{
			name: "generic with title, text and url",
			event: func(tb testing.TB) *event.Event {
				return btGenericEvent("deploy", btPayload(tb, `{"title":"Deploy","text":"v1.2 is live","url":"https://ci.example/5"}`))
			},
			template: "generic.default",
			want:     []string{"[deploys] deploy\nDeploy\nv1.2 is live\nhttps://ci.example/5"},
		},
		{
			name: "generic without known fields: compact JSON",
			event: func(tb testing.TB) *event.Event {
				return btGenericEvent("", btPayload(tb, `{"service":"api","version":"1.4.2","n":3}`))
			},
			template: "generic.default",
			want:     []string{"[deploys]\n" + `{"n":3,"service":"api","version":"1.4.2"}`},
		},
		{
			name: "generic with an object as message",
			event: func(tb testing.TB) *event.Event {
				return btGenericEvent("", btPayload(tb, `{"message":{"level":"warn","n":1}}`))
			},
			template: "generic.default",
			want:     []string{`{"level":"warn","n":1}`},
		},
		{
			name: "generic with a huge payload: cut",
			event: func(tb testing.TB) *event.Event {
				return btGenericEvent("", map[string]any{"data": strings.Repeat("x", 5000)})
			},
			template: "generic.default",
			want:     []string{"…"},
		},
	}
}

func TestBuiltinSynthetic(t *testing.T) {
	for _, lang := range btLanguages {
		templates := btTemplates(t, lang)
		for _, c := range btCases() {
			t.Run(lang+"/"+c.name, func(t *testing.T) {
				ev := c.event(t)
				name := DefaultName(ev, has(templates))
				if c.template != "" {
					assert.Equal(t, c.template, name, "default template")
				}
				got, err := btRender(templates, name, ev)
				require.NoError(t, err)
				t.Logf("%s:\n%s", name, got)
				btCheckClean(t, got)
				want := c.want
				if lang == "zh" {
					want = append(slices.Clone(want), c.wantZh...)
				} else {
					want = append(slices.Clone(want), c.wantEn...)
				}
				for _, w := range want {
					assert.Contains(t, got, w)
				}
				for _, w := range c.notWant {
					assert.NotContains(t, got, w)
				}
			})
		}
	}
}

// --- Empty, null and missing everywhere ---------------------------------------

// btEventFor builds the event a template is the default for, from p.
func btEventFor(name string, p map[string]any) *event.Event {
	kind, event, _ := strings.Cut(name, ".")
	switch kind {
	case "alertmanager":
		return btAlertEvent(p)
	case "github":
		if event == "default" {
			event = "star"
		}
		return btGitHubEvent(event, p)
	}
	return btGenericEvent("", p)
}

// Every template renders an empty payload, a null one and a payload whose
// objects are all null, in every language.
func TestBuiltinEmptyPayloads(t *testing.T) {
	nulls := map[string]any{}
	for _, k := range []string{"action", "ref", "ref_type", "before", "after", "created", "deleted", "forced", "compare", "commits",
		"head_commit", "pusher", "sender", "repository", "organization", "pull_request", "number", "review", "issue", "comment",
		"workflow_run", "workflow", "workflow_job", "check_run", "release", "deployment", "deployment_status", "hook", "hook_id",
		"zen", "label", "assignee", "requested_reviewer", "requested_team", "status", "alerts", "groupLabels", "commonLabels",
		"commonAnnotations", "externalURL", "truncatedAlerts", "title", "text", "message", "url"} {
		nulls[k] = nil
	}
	payloads := map[string]func() map[string]any{
		"{}":        func() map[string]any { return map[string]any{} },
		"null":      func() map[string]any { return nil },
		"all nulls": func() map[string]any { return maps.Clone(nulls) },
	}
	for _, lang := range btLanguages {
		templates := btTemplates(t, lang)
		for name := range templates {
			for pname, p := range payloads {
				t.Run(lang+"/"+name+"/"+pname, func(t *testing.T) {
					ev := btEventFor(name, p())
					got, err := btRender(templates, name, ev)
					require.NoError(t, err)
					btCheckClean(t, got)
					// Not even the source: the empty event.
					got, err = btRender(templates, name, &event.Event{})
					require.NoError(t, err)
					btCheckClean(t, got)
				})
			}
		}
	}
}

// btMutate returns a deep copy of v with f applied to every value at depth
// (1: the payload's own keys); f returns the new value and whether to keep
// the key at all.
func btMutate(v any, depth int, f func(any) (any, bool)) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if depth == 1 {
				if n, keep := f(e); keep {
					out[k] = n
				}
				continue
			}
			out[k] = btMutate(e, depth-1, f)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = btMutate(e, depth, f) // a list is not a level of its own
		}
		return out
	}
	return v
}

// btBlankStrings returns a deep copy of v with every string empty.
func btBlankStrings(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = btBlankStrings(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = btBlankStrings(e)
		}
		return out
	case string:
		return ""
	}
	return v
}

// Each fixture and synthetic payload, with the values at each depth made
// null, removed, or every string emptied, renders without an error and
// without a trace of the missing values.
func TestBuiltinNullAndMissingFields(t *testing.T) {
	type source struct {
		name    string
		payload map[string]any
		event   func(p map[string]any) *event.Event
	}
	var sources []source
	for _, f := range btFixtures(t) {
		ev := f.build(t)
		sources = append(sources, source{f.name, ev.Payload, f.event})
	}
	for _, c := range btCases() {
		ev := c.event(t)
		if ev.Type == "generic" {
			continue // its fallback prints the payload as JSON, nulls included
		}
		e := *ev
		sources = append(sources, source{c.name, ev.Payload, func(p map[string]any) *event.Event {
			if e.Type == "alertmanager" {
				return btAlertEvent(p)
			}
			return btGitHubEvent(e.Event, p)
		}})
	}
	null := func(any) (any, bool) { return nil, true }
	drop := func(any) (any, bool) { return nil, false }
	for _, lang := range btLanguages {
		templates := btTemplates(t, lang)
		for _, s := range sources {
			variants := map[string]map[string]any{"blank strings": btBlankStrings(s.payload).(map[string]any)}
			for depth := 1; depth <= 4; depth++ {
				variants[fmt.Sprintf("null at depth %d", depth)] = btMutate(s.payload, depth, null).(map[string]any)
				variants[fmt.Sprintf("missing at depth %d", depth)] = btMutate(s.payload, depth, drop).(map[string]any)
			}
			for vname, p := range variants {
				t.Run(lang+"/"+s.name+"/"+vname, func(t *testing.T) {
					ev := s.event(p)
					name := DefaultName(ev, has(templates))
					got, err := btRender(templates, name, ev)
					require.NoError(t, err, "%s", name)
					btCheckClean(t, got)
				})
			}
		}
	}
}

// --- Speed --------------------------------------------------------------------

func BenchmarkBuiltinTemplates(b *testing.B) {
	fixtures := btFixtures(b)
	for _, lang := range btLanguages {
		templates := btTemplates(b, lang)
		for _, f := range fixtures {
			ev := f.build(b)
			name := DefaultName(ev, has(templates))
			vars := ev.Vars()
			b.Run(lang+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := templates[name].Render(vars, btRenderLimit); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
