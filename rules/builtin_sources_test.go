package rules_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/adapters/gitea"
	"github.com/gewe-bridge/gewe-bridge/adapters/gitlab"
	"github.com/gewe-bridge/gewe-bridge/adapters/grafana"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gewe-bridge/gewe-bridge/test/fixtures"
)

// The built-in templates of the GitLab, Gitea/Forgejo and Grafana sources,
// rendered through the public API: the real adapter makes the event of a
// fixture in testdata/{gitlab,gitea,grafana}, a ruleset names the template
// (the default-template switch does not know these types yet).

// srcRules picks each source type's templates by event.
const srcRules = `timezone: Asia/Shanghai
sources:
  hook: {type: generic, bearer_token: t} # gitlab, gitea, grafana: not yet a source type
contacts:
  ops: {wxid: "100@chatroom"}
rules:
  - name: gitlab
    when: type == "gitlab"
    to: [ops]
    template_expr: 'event in ["push", "merge_request", "pipeline", "job", "issue", "note", "release"] ? "gitlab." + event : event == "tag_push" ? "gitlab.push" : "gitlab.default"'
  - name: gitea
    when: type == "gitea"
    to: [ops]
    template_expr: 'event in ["push", "pull_request", "issues", "issue_comment", "release", "create", "delete"] ? "gitea." + event : "gitea.default"'
  - name: grafana
    when: type == "grafana"
    to: [ops]
    template: grafana.default
`

// srcForbidden and srcForbiddenRE are what builtin_test.go forbids in every
// built-in template's output: Go's spellings of missing values, empty
// decorations, a "#" without its number, a label with nothing after it.
var (
	srcForbidden   = []string{"<no value>", "<nil>", "map[", "%!", "()", "[]", "（）", "【】", "[ ]", "( )", " · ·"}
	srcForbiddenRE = regexp.MustCompile(`(^|[^#\w])#($|[\s,.:;)）·])|(^|\n)· | ·($|\n)|(^|\n)[^\n]*[:：]($|\n)`)
)

func srcCheckClean(t *testing.T, out string) {
	t.Helper()
	assert.NotEmpty(t, out)
	for _, bad := range srcForbidden {
		assert.NotContains(t, out, bad, "output:\n%s", out)
	}
	assert.NotContains(t, out, "\n\n", "blank line in:\n%s", out)
	assert.False(t, srcForbiddenRE.MatchString(out), "empty decoration %q in:\n%s", srcForbiddenRE.FindString(out), out)
	for i, line := range strings.Split(out, "\n") {
		assert.Equal(t, strings.TrimSpace(line), line, "line %d has white space around it:\n%s", i+1, out)
	}
}

// srcEvent is the event the adapter of typ makes of body sent with the
// event header (X-Gitlab-Event, X-Gitea-Event; none for Grafana).
func srcEvent(t *testing.T, typ, header string, body []byte) *event.Event {
	t.Helper()
	r := &adapters.Request{Source: typ, ContentType: "application/json", Headers: map[string]string{}, Body: body}
	var rc adapters.Receiver
	switch typ {
	case "gitlab":
		r.Headers["x-gitlab-event"] = header
		rc = gitlab.New(gitlab.Config{})
	case "gitea":
		r.Headers["x-gitea-event"] = header
		rc = gitea.New(gitea.Config{})
	case "grafana":
		rc = grafana.New(grafana.Config{})
	}
	ev, err := rc.Receive(r)
	require.NoError(t, err)
	return ev
}

// srcRender routes ev and returns the one message's text.
func srcRender(t *testing.T, rs *rules.Ruleset, ev *event.Event) string {
	t.Helper()
	res := rs.Route(ev)
	require.Empty(t, res.Errors)
	require.NotEmpty(t, res.Messages)
	return strings.Join(texts(res.Messages), "\n")
}

func srcRulesets(t *testing.T) map[string]*rules.Ruleset {
	return map[string]*rules.Ruleset{
		"zh": mustLoad(t, "language: zh\n"+srcRules),
		"en": mustLoad(t, "language: en\n"+srcRules),
	}
}

type srcFixture struct {
	typ, file, header string
	want              []string // in every language
	wantZh, wantEn    []string
}

var srcFixtures = []srcFixture{
	{typ: "gitlab", file: "push.json", header: "Push Hook",
		want: []string{"[mike/diaspora]", "jsmith", "master",
			"b6568db Update Catalan translation to e38cb41. (Jordi Mallach)", "da15608 fixed readme (GitLab dev user)",
			"http://example.com/mike/diaspora/-/compare/95790bf891e76fee5e1747ab589903a6a1f80f22...da1560886d4f094c3e6c9ef40349f7d38b5d27d7"},
		wantZh: []string{"jsmith 向 master 推送了 4 个提交", "…另有 2 个提交"},
		wantEn: []string{"4 commits pushed to master by jsmith", "... and 2 more"}},
	{typ: "gitlab", file: "tag_push.json", header: "Tag Push Hook",
		want:   []string{"[jsmith/example]", "v1.0.0", "John Smith", "http://example.com/jsmith/example/-/tags/v1.0.0"},
		wantZh: []string{"推送了标签 v1.0.0"}, wantEn: []string{"Tag v1.0.0 pushed by John Smith"}},
	{typ: "gitlab", file: "merge_request.open.json", header: "Merge Request Hook",
		want:   []string{"[gitlabhq/gitlab-test]", "root", "MR !1", "MS-Viewport", "ms-viewport → master", "http://example.com/diaspora/merge_requests/1"},
		wantZh: []string{"root 创建了 MR !1"}, wantEn: []string{"MR !1 opened by root"}},
	{typ: "gitlab", file: "pipeline.success.json", header: "Pipeline Hook",
		want:   []string{"[gitlab-org/gitlab-test] ✅", "#3", "Pipeline for branch: master", "master", "root", "1m3s", "bcbb5ec test", "http://example.com/gitlab-org/gitlab-test/-/pipelines/31"},
		wantZh: []string{"流水线 #3 成功", "耗时 1m3s"}, wantEn: []string{"Pipeline #3 succeeded", "took 1m3s"}},
	{typ: "gitlab", file: "job.json", header: "Job Hook",
		want: []string{"[gitlab-org/gitlab-test] ⏳", "test", "gitlab-script-trigger", "User", "shared-runners-manager-6.gitlab.com",
			"2293ada test", "http://192.168.64.1:3005/gitlab-org/gitlab-test/-/jobs/1977"},
		wantZh: []string{"作业 test 等待中", "阶段 test · 分支 gitlab-script-trigger · 触发者 User · 运行器 shared-runners-manager-6.gitlab.com"},
		wantEn: []string{"Job test pending", "stage test · branch gitlab-script-trigger · by User · runner shared-runners-manager-6.gitlab.com"}},
	{typ: "gitlab", file: "note.issue.json", header: "Note Hook",
		want:   []string{"[gitlab-org/gitlab-test]", "root", "Issue #17", "\ntest\nHello world\n", "http://example.com/gitlab-org/gitlab-test/issues/17#note_1241"},
		wantZh: []string{"root 评论了 Issue #17"}, wantEn: []string{"New comment on Issue #17 by root"}},
	{typ: "gitlab", file: "issue.open.json", header: "Issue Hook",
		want: []string{"[gitlabhq/gitlab-test]", "root", "Issue #23", "New API: create/update/delete file", "user1",
			"Create new API for manipulations with repository", "http://example.com/diaspora/issues/23"},
		wantZh: []string{"root 创建了 Issue #23", "标签：API", "指派给：user1"},
		wantEn: []string{"Issue #23 opened by root", "Labels: API", "Assignees: user1"}},
	{typ: "gitlab", file: "release.create.json", header: "Release Hook",
		want: []string{"[gitlab-org/release-webhook-example]", "v1.1", "v1.1 has been released", "ee0a3fb Release v1.1",
			"https://example.com/gitlab-org/release-webhook-example/-/releases/v1.1"},
		wantZh: []string{"发布了版本 v1.1"}, wantEn: []string{"Release v1.1 published"}},
	{typ: "gitea", file: "push.json", header: "push",
		want: []string{"[gitea/webhooks]", "gitea", "develop", "bffeb74 Webhooks Yay! (gitea)",
			"http://localhost:3000/gitea/webhooks/compare/28e1879d029cb852e4844d9c718537df08844e03...bffeb74224043ba2feb48d137756c8a9331c449a"}},
	{typ: "gitea", file: "pull_request.opened.json", header: "pull_request",
		want: []string{"[gordon/hello-world]", "gordon", "PR #1", "Update the README with new information", "feature/changes → main", "http://gitea.golang.org/gordon/hello-world/pull/1"}},
	{typ: "gitea", file: "create.tag.json", header: "create",
		want: []string{"[gordon/hello-world]", "gordon", "v1.0.0"}},
	{typ: "gitea", file: "release.published.json", header: "release",
		want: []string{"[anbraten/demo]", "anbraten", "Version 0.0.5", "0.0.5", "https://git.xxx/anbraten/demo/releases/tag/0.0.5"}},
	{typ: "grafana", file: "firing.json",
		want: []string{"This alert was triggered for zone us-1", "This alert was triggered for zone eu-1",
			"2021-10-12 15:51:03", "2021-10-12 15:56:03", "B=44.23943737541908, C=1",
			"https://play.grafana.org/alerting/1afz29v7z/edit", "https://play.grafana.org/alerting/d1rdpdv7k/edit",
			"https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT2%2Cteam%3Dblue%2Czone%3Dus-1",
			"https://play.grafana.org/alerting/silence/new?alertmanager=grafana&matchers=alertname%3DT1%2Cteam%3Dblue%2Czone%3Deu-1"},
		wantZh: []string{"【告警:2】High memory usage", "静默："}, wantEn: []string{"[FIRING:2] High memory usage", "Silence: "}},
}

func TestSourceTemplatesFixtures(t *testing.T) {
	for lang, rs := range srcRulesets(t) {
		for _, f := range srcFixtures {
			t.Run(lang+"/"+f.typ+"/"+f.file, func(t *testing.T) {
				ev := srcEvent(t, f.typ, f.header, fixtures.Read(t, f.typ+"/"+f.file))
				got := srcRender(t, rs, ev)
				t.Logf("\n%s", got)
				srcCheckClean(t, got)
				want := append([]string{}, f.want...)
				if lang == "zh" {
					want = append(want, f.wantZh...)
				} else {
					want = append(want, f.wantEn...)
				}
				for _, w := range want {
					assert.Contains(t, got, w)
				}
			})
		}
	}
}

func TestSourceTemplatesOtherCases(t *testing.T) {
	tests := []struct {
		name, typ, header, body string
		want, notWant           []string
	}{
		{"gitlab branch deleted", "gitlab", "Push Hook",
			`{"ref":"refs/heads/old","before":"95790bf891e76fee5e1747ab589903a6a1f80f22","after":"0000000000000000000000000000000000000000","user_username":"jsmith","total_commits_count":0,"commits":[],"project":{"path_with_namespace":"mike/diaspora","web_url":"http://example.com/mike/diaspora"}}`,
			[]string{"old", "jsmith"}, []string{"compare", "commit"}},
		{"gitlab branch created", "gitlab", "Push Hook",
			`{"ref":"refs/heads/new","before":"0000000000000000000000000000000000000000","after":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","total_commits_count":1,"commits":[{"id":"da1560886d4f094c3e6c9ef40349f7d38b5d27d7","message":"fixed readme\n\nlong text"}],"project":{"web_url":"http://example.com/mike/diaspora"}}`,
			[]string{"new", "da15608 fixed readme", "http://example.com/mike/diaspora/-/tree/new"}, []string{"compare", "long text"}},
		{"gitlab merge request merged", "gitlab", "Merge Request Hook",
			`{"user":{"username":"root"},"object_attributes":{"iid":7,"title":"Fix","action":"merge","source_branch":"fix","target_branch":"main","draft":true}}`,
			[]string{"MR !7", "Fix", "fix → main"}, nil},
		{"gitlab pipeline failed", "gitlab", "Pipeline Hook",
			`{"object_attributes":{"id":9,"ref":"main","status":"failed"},"builds":[{"name":"lint","status":"failed"},{"name":"flaky","status":"failed","allow_failure":true},{"name":"unit","status":"success"},null,{"status":"failed"}]}`,
			[]string{"❌", "#9", "lint", "main"}, []string{"flaky", "unit"}},
		{"gitlab tag pipeline", "gitlab", "Pipeline Hook",
			`{"object_attributes":{"iid":2,"ref":"v2.0","tag":true,"status":"running"}}`,
			[]string{"⏳", "#2", "v2.0"}, nil},
		{"gitlab confidential issue", "gitlab", "Confidential Issue Hook",
			`{"object_attributes":{"iid":5,"title":"Secret","description":"hush","action":"open","url":"http://x/5"}}`,
			[]string{"confidential_issue", "http://x/5"}, []string{"Secret", "hush"}},
		{"gitlab job failed", "gitlab", "Job Hook",
			`{"ref":"v2.0","tag":true,"build_id":7,"build_name":"unit","build_stage":"test","build_status":"failed","build_duration":83.2,"build_allow_failure":false,"build_failure_reason":"script_failure","user":{"name":"Ann","username":"ann"},"commit":{"sha":"ce587453ced02b1526dfb4cb910479d431683101","message":"fix: tests\n\nbody"},"environment":{"name":"staging"},"project":{"path_with_namespace":"acme/api","web_url":"https://gl/acme/api"}}`,
			[]string{"[acme/api] ❌", "unit", "script", "v2.0", "staging", "ann", "1m23s", "ce58745 fix: tests", "https://gl/acme/api/-/jobs/7"}, []string{"body", "⚠️"}},
		{"gitlab job failed, allowed to fail", "gitlab", "Job Hook",
			`{"build_name":"flaky","build_status":"failed","build_allow_failure":true}`,
			[]string{"[GitLab] ⚠️", "flaky"}, []string{"❌"}},
		{"gitlab job succeeded", "gitlab", "Job Hook",
			`{"build_name":"lint","build_status":"success","build_failure_reason":"unknown_failure","project":{"web_url":"https://gl/acme/api"}}`,
			[]string{"✅", "lint", "https://gl/acme/api"}, []string{"unknown", "jobs"}},
		{"gitlab issue closed", "gitlab", "Issue Hook",
			`{"user":{"username":"root"},"object_attributes":{"iid":4,"title":"Crash","description":"stack trace","action":"close","url":"http://x/4"},"labels":[{"title":"bug"}]}`,
			[]string{"#4", "Crash", "root", "http://x/4"}, []string{"stack trace", "bug"}},
		{"gitlab confidential issue in an issue hook", "gitlab", "Issue Hook",
			`{"user":{"username":"root"},"object_attributes":{"iid":5,"title":"Secret","description":"hush","confidential":true,"action":"open","url":"http://x/5"}}`,
			[]string{"#5", "http://x/5"}, []string{"Secret", "hush"}},
		{"gitlab note on a merge request", "gitlab", "Note Hook",
			`{"user":{"username":"ann"},"object_attributes":{"note":"LGTM","noteable_type":"MergeRequest","action":"create","url":"http://x/mr/3#note_1"},"merge_request":{"iid":3,"title":"Fix"}}`,
			[]string{"MR !3", "Fix", "LGTM", "ann", "http://x/mr/3#note_1"}, nil},
		{"gitlab note on a commit, edited", "gitlab", "Note Hook",
			`{"user":{"username":"ann"},"object_attributes":{"note":"typo here","noteable_type":"Commit","action":"update","commit_id":"ce587453ced02b1526dfb4cb910479d431683101"},"commit":{"id":"ce587453ced02b1526dfb4cb910479d431683101","message":"docs: readme\n\nlong"}}`,
			[]string{"ce58745", "docs: readme", "typo here"}, []string{"long"}},
		{"gitlab note on a snippet", "gitlab", "Note Hook",
			`{"object_attributes":{"note":"nice","noteable_type":"Snippet"},"snippet":{"id":53,"title":"config"}}`,
			[]string{"$53", "config", "nice"}, nil},
		{"gitlab internal note", "gitlab", "Note Hook",
			`{"user":{"username":"ann"},"object_attributes":{"note":"password is hunter2","noteable_type":"Issue","internal":true,"url":"http://x/1#note_2"},"issue":{"iid":1,"title":"Login"}}`,
			[]string{"#1", "ann", "http://x/1#note_2"}, []string{"hunter2", "Login"}},
		{"gitlab note on a confidential issue", "gitlab", "Note Hook",
			`{"object_attributes":{"note":"details","noteable_type":"Issue"},"issue":{"iid":1,"title":"Leak","confidential":true}}`,
			[]string{"#1"}, []string{"details", "Leak"}},
		{"gitlab confidential note", "gitlab", "Confidential Note Hook",
			`{"object_attributes":{"note":"details","noteable_type":"Issue","action":"create"}}`,
			[]string{"confidential_note"}, []string{"details"}},
		{"gitlab release deleted", "gitlab", "Release Hook",
			`{"action":"delete","name":"First","tag":"v1.0","description":"notes","project":{"path_with_namespace":"acme/api","web_url":"https://gl/acme/api"}}`,
			[]string{"[acme/api]", "First", "v1.0", "https://gl/acme/api/-/releases/v1.0"}, []string{"notes"}},
		{"grafana resolved", "grafana", "",
			`{"status":"resolved","alerts":[{"status":"resolved","labels":{"alertname":"Disk"},"annotations":{},"startsAt":"2026-05-12T08:00:00Z","endsAt":"2026-05-12T08:10:30Z","silenceURL":"http://g/silence","panelURL":"http://g/d/x?viewPanel=2"}],"commonLabels":{"alertname":"Disk","severity":"critical"}}`,
			[]string{"✅", "Disk", "[critical]", "10m30s", "http://g/d/x?viewPanel=2"}, []string{"http://g/silence", "🔥"}},
		{"grafana, 12 alerts, 3 truncated", "grafana", "", grafanaMany(12, 3),
			[]string{"zone z1", "zone z10"}, []string{"zone z11"}},
	}
	for lang, rs := range srcRulesets(t) {
		for _, tt := range tests {
			t.Run(lang+"/"+tt.name, func(t *testing.T) {
				got := srcRender(t, rs, srcEvent(t, tt.typ, tt.header, []byte(tt.body)))
				t.Logf("\n%s", got)
				srcCheckClean(t, got)
				for _, w := range tt.want {
					assert.Contains(t, got, w)
				}
				for _, w := range tt.notWant {
					assert.NotContains(t, got, w)
				}
			})
		}
	}
}

func grafanaMany(n, truncated int) string {
	var alerts []string
	for i := 1; i <= n; i++ {
		alerts = append(alerts, fmt.Sprintf(`{"status":"firing","labels":{"alertname":"Mem"},"annotations":{"summary":"zone z%d"},"startsAt":"2026-05-12T08:00:00Z"}`, i))
	}
	return fmt.Sprintf(`{"status":"firing","alerts":[%s],"truncatedAlerts":%d}`, strings.Join(alerts, ","), truncated)
}

// srcVariants returns p with the values at each depth made null, removed,
// or every string emptied, as TestBuiltinNullAndMissingFields does.
func srcVariants(p any) map[string]any {
	out := map[string]any{"blank strings": srcMap(p, -1, func(v any) (any, bool) {
		if _, ok := v.(string); ok {
			return "", true
		}
		return v, true
	})}
	for depth := 1; depth <= 4; depth++ {
		out[fmt.Sprintf("null at depth %d", depth)] = srcMap(p, depth, func(any) (any, bool) { return nil, true })
		out[fmt.Sprintf("missing at depth %d", depth)] = srcMap(p, depth, func(any) (any, bool) { return nil, false })
	}
	return out
}

// srcMap copies v applying f to the values at depth (-1: to every
// string, wherever it is); lists are not a level of their own.
func srcMap(v any, depth int, f func(any) (any, bool)) any {
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
			out[k] = srcMap(e, depth-1, f)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = srcMap(e, depth, f)
		}
		return out
	}
	if depth == -1 {
		n, _ := f(v)
		return n
	}
	return v
}

// Every fixture with nulls, missing values or empty strings at each
// depth, and an empty object, renders without an error and cleanly.
func TestSourceTemplatesNullAndMissingFields(t *testing.T) {
	for lang, rs := range srcRulesets(t) {
		for _, f := range srcFixtures {
			var p any
			require.NoError(t, json.Unmarshal(fixtures.Read(t, f.typ+"/"+f.file), &p))
			variants := srcVariants(p)
			variants["empty object"] = map[string]any{}
			for name, v := range variants {
				t.Run(lang+"/"+f.typ+"/"+f.file+"/"+name, func(t *testing.T) {
					body, err := json.Marshal(v)
					require.NoError(t, err)
					if f.typ == "grafana" {
						if m := v.(map[string]any); m["alerts"] == nil {
							m["alerts"] = []any{} // the adapter refuses a notification without a list
							body, err = json.Marshal(m)
							require.NoError(t, err)
						}
					}
					srcCheckClean(t, srcRender(t, rs, srcEvent(t, f.typ, f.header, body)))
				})
			}
		}
	}
}
