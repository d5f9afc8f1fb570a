package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/adapters/alertmanager"
	"github.com/gewe-bridge/gewe-bridge/bridge/ui"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/gofiber/fiber/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	admin = "admin-token-abcdef"
	read  = "read-token-123456"
)

const conf = `
gewe: {token: t, base_url: "http://127.0.0.1:1", app_id: wx_a}
server: {admin_token: ` + admin + `}
sources:
  alertmanager: {type: alertmanager, bearer_token: am}
contacts:
  ops: {wxid: "1@chatroom"}
  oncall: {wxid: wxid_oncall, name: 值班}
templates:
  short: "{{ .labels.alertname }} {{ .status }}: {{ len .alerts }} alert(s)"
  card:
    link: {title: "{{ .labels.alertname }}", des: "{{ .status }}", url: "{{ .external_url }}", thumb_url: "https://example.com/t.png"}
rules:
  - {name: critical, when: 'labels.severity == "critical"', to: [ops], at: [oncall], template: short}
  - {name: cards, when: 'status == "firing"', to: [ops], template: card}
`

type backend struct {
	rs   *rules.Ruleset
	read string
	reqs map[uint64]*adapters.Request
}

func (b *backend) Ruleset() *rules.Ruleset { return b.rs }
func (b *backend) Tokens() (admin, read string) {
	return string(b.rs.Config().Server.AdminToken), b.read
}
func (b *backend) Receive(_ string, req *adapters.Request) (*event.Event, error) {
	return alertmanager.New(alertmanager.Config{}).Receive(req)
}
func (b *backend) TraceRequest(seq uint64) (*adapters.Request, bool) {
	r, ok := b.reqs[seq]
	return r, ok
}

func newApp(t testing.TB) *fiber.App {
	rs, probs := rules.Load([]byte(conf), "ui.yaml", func(string) string { return "" })
	require.NoError(t, probs.Err())
	b := &backend{rs: rs, read: read, reqs: map[uint64]*adapters.Request{
		7: {Source: "alertmanager", Headers: map[string]string{"authorization": event.Redacted}, Body: []byte(`{"a":1}`)}}}
	c := ui.New(b)
	app := fiber.New()
	c.Register(app)
	app.Post("/api/v1/messages/:id/retry", c.Guard(ui.Admin), func(ctx *fiber.Ctx) error { return ctx.SendString("retried") })
	return app
}

func fixture(t testing.TB) string {
	b, err := os.ReadFile("../../testdata/alertmanager/firing.json")
	require.NoError(t, err)
	return string(b)
}

func do(t testing.TB, app *fiber.App, method, path, body string, h map[string]string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range h {
		r.Header.Set(k, v)
	}
	res, err := app.Test(r, -1)
	require.NoError(t, err)
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func login(t *testing.T, app *fiber.App, token string) string {
	t.Helper()
	res, body := do(t, app, "POST", "/ui/login", `{"token":"`+token+`"}`, map[string]string{"X-Console": "1"})
	require.Equal(t, 200, res.StatusCode, body)
	for _, c := range res.Cookies() {
		if c.Name == "gewe_console" {
			assert.True(t, c.HttpOnly)
			assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
			assert.NotContains(t, c.Value, token)
			return c.Name + "=" + c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func TestAuth(t *testing.T) {
	app := newApp(t)
	res, _ := do(t, app, "GET", "/api/v1/session", "", nil)
	assert.Equal(t, 401, res.StatusCode)
	res, _ = do(t, app, "POST", "/ui/login", `{"token":"wrong"}`, map[string]string{"X-Console": "1"})
	assert.Equal(t, 401, res.StatusCode)
	res, _ = do(t, app, "POST", "/ui/login", "token="+admin, map[string]string{"Content-Type": "application/x-www-form-urlencoded", "X-Console": "1"})
	assert.Equal(t, 200, res.StatusCode)
	// A cross-site form cannot log anyone in: it cannot send the header.
	res, _ = do(t, app, "POST", "/ui/login", "token="+admin, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	assert.Equal(t, 403, res.StatusCode)

	adminCookie := login(t, app, admin)
	_, body := do(t, app, "GET", "/api/v1/session", "", map[string]string{"Cookie": adminCookie})
	assert.JSONEq(t, `{"role":"admin"}`, body)
	// A change through the cookie needs the CSRF header.
	res, _ = do(t, app, "POST", "/api/v1/messages/1/retry", "", map[string]string{"Cookie": adminCookie})
	assert.Equal(t, 403, res.StatusCode)
	res, _ = do(t, app, "POST", "/api/v1/messages/1/retry", "", map[string]string{"Cookie": adminCookie, "X-Console": "1"})
	assert.Equal(t, 200, res.StatusCode)

	// The read-only token reads, never changes.
	readCookie := login(t, app, read)
	_, body = do(t, app, "GET", "/api/v1/session", "", map[string]string{"Cookie": readCookie})
	assert.JSONEq(t, `{"role":"read-only"}`, body)
	res, _ = do(t, app, "POST", "/api/v1/messages/1/retry", "", map[string]string{"Cookie": readCookie, "X-Console": "1"})
	assert.Equal(t, 403, res.StatusCode)
	res, _ = do(t, app, "POST", "/api/v1/messages/1/retry", "", map[string]string{"Authorization": "Bearer " + read})
	assert.Equal(t, 403, res.StatusCode)
	res, _ = do(t, app, "POST", "/api/v1/messages/1/retry", "", map[string]string{"Authorization": "Bearer " + admin})
	assert.Equal(t, 200, res.StatusCode)
	res, _ = do(t, app, "GET", "/api/v1/session", "", map[string]string{"Authorization": "Bearer wrong"})
	assert.Equal(t, 401, res.StatusCode)

	// Logging out ends the session.
	do(t, app, "POST", "/ui/logout", "", map[string]string{"Cookie": adminCookie})
	res, _ = do(t, app, "GET", "/api/v1/session", "", map[string]string{"Cookie": adminCookie})
	assert.Equal(t, 401, res.StatusCode)
}

func TestAssets(t *testing.T) {
	app := newApp(t)
	res, _ := do(t, app, "GET", "/", "", nil)
	assert.Equal(t, 302, res.StatusCode)
	assert.Equal(t, "/ui/", res.Header.Get("Location"))
	total := 0
	for _, p := range []string{"/ui/", "/ui/app.js", "/ui/app.css"} {
		res, body := do(t, app, "GET", p, "", nil)
		require.Equal(t, 200, res.StatusCode, p)
		assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'")
		assert.NotContains(t, body, "http://", p) // nothing is loaded from elsewhere
		assert.NotContains(t, body, "https://", p)
		total += len(body)
	}
	assert.Less(t, total, 150<<10, "the page weighs %d bytes", total)
	res, _ = do(t, app, "GET", "/ui/../ui.go", "", nil)
	assert.Equal(t, 404, res.StatusCode)
}

func preview(t testing.TB, app *fiber.App, req ui.PreviewRequest) ui.Preview {
	t.Helper()
	b, _ := json.Marshal(req)
	res, body := do(t, app, "POST", "/api/v1/playground", string(b), map[string]string{"Authorization": "Bearer " + admin})
	require.Equal(t, 200, res.StatusCode, body)
	var out ui.Preview
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	return out
}

func TestPlayground(t *testing.T) {
	app := newApp(t)
	// The read-only token does not see the config's values or payloads.
	res, _ := do(t, app, "GET", "/api/v1/playground", "", map[string]string{"Authorization": "Bearer " + read})
	assert.Equal(t, 403, res.StatusCode)
	_, body := do(t, app, "GET", "/api/v1/playground", "", map[string]string{"Authorization": "Bearer " + admin})
	assert.Contains(t, body, `"name":"critical"`)
	assert.Contains(t, body, `alertmanager.default`)
	// The built-in templates come with their text, to be edited.
	var got struct {
		Templates map[string]ui.TemplateForm `json:"templates"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Contains(t, got.Templates["alertmanager.default"].Text, "alertGroup")

	// The running config: a text with the mention, then a card.
	out := preview(t, app, ui.PreviewRequest{Source: "alertmanager", Payload: fixture(t)})
	require.NotNil(t, out.Trace)
	require.Len(t, out.Messages, 1)
	m := out.Messages[0]
	assert.Equal(t, "@值班\nNodeFilesystemSpaceFillingUp firing: 2 alert(s)", m.Text)
	assert.Equal(t, []ui.Mention{{Wxid: "wxid_oncall", Name: "值班"}}, m.At)
	assert.Equal(t, "ops", m.ToName)
	assert.Equal(t, "not reached", out.Trace.Rules[1].Verdict)

	// The rule edited to go on; the card template edited.
	r := ui.RuleForm{Name: "critical", When: `labels.team == "infra"`, To: []string{"ops"}, Template: "short", Continue: true}
	out = preview(t, app, ui.PreviewRequest{Source: "alertmanager", Payload: fixture(t), RuleIndex: 0, Rule: &r,
		TemplateName: "card", Template: &ui.TemplateForm{Link: &ui.LinkForm{Title: "T {{ .labels.team }}", URL: "{{ .external_url }}", ThumbURL: "https://x/t.png"}}})
	assert.Empty(t, out.Problems)
	require.Len(t, out.Messages, 2)
	assert.Equal(t, "NodeFilesystemSpaceFillingUp firing: 2 alert(s)", out.Messages[0].Text)
	require.NotNil(t, out.Messages[1].Card)
	assert.Equal(t, "T infra", out.Messages[1].Card.Title)
	assert.Equal(t, "http://alertmanager.monitoring.svc:9093", out.Messages[1].Card.URL)
	assert.Contains(t, out.RuleYAML, "when: labels.team == \"infra\"")
	assert.Contains(t, out.RuleYAML, "continue: true")
	assert.NotContains(t, out.RuleYAML, "to_expr")
	assert.Contains(t, out.TemplateYAML, "title: T {{ .labels.team }}")

	// A broken expression: the problem with the caret, no trace.
	r.When = `labels.severity ==`
	out = preview(t, app, ui.PreviewRequest{Source: "alertmanager", Payload: fixture(t), RuleIndex: 0, Rule: &r})
	require.Len(t, out.Problems, 1)
	assert.Equal(t, "rules[0].when", out.Problems[0].Path)
	assert.Contains(t, out.Problems[0].Message, "^")
	assert.Nil(t, out.Trace)

	// A runtime error is the rule's verdict.
	r.When = `payload.alerts[0].labels.nope.deeper == "x"`
	out = preview(t, app, ui.PreviewRequest{Source: "alertmanager", Payload: fixture(t), RuleIndex: 0, Rule: &r})
	require.NotNil(t, out.Trace)
	assert.Equal(t, "error", out.Trace.Rules[0].Verdict)
	assert.Equal(t, "when", out.Trace.Rules[0].Stage)

	// A payload the adapter refuses.
	out = preview(t, app, ui.PreviewRequest{Source: "alertmanager", Payload: "not json"})
	assert.NotEmpty(t, out.Refused)

	res, _ = do(t, app, "POST", "/api/v1/playground", `{"source":"nope","payload":"{}"}`, map[string]string{"Authorization": "Bearer " + admin})
	assert.Equal(t, 400, res.StatusCode)
}

func TestTraceRequest(t *testing.T) {
	app := newApp(t)
	_, body := do(t, app, "GET", "/api/v1/traces/7/request", "", map[string]string{"Authorization": "Bearer " + admin})
	assert.JSONEq(t, `{"source":"alertmanager","headers":{"authorization":"[redacted]"},"payload":"{\"a\":1}"}`, body)
	res, _ := do(t, app, "GET", "/api/v1/traces/8/request", "", map[string]string{"Authorization": "Bearer " + admin})
	assert.Equal(t, 404, res.StatusCode)
}

// BenchmarkPreview is a playground round trip on the server for the
// Alertmanager fixture with an edited rule: decode, compile the edited
// config, trace, answer.
func BenchmarkPreview(b *testing.B) {
	app := newApp(b)
	r := ui.RuleForm{Name: "critical", When: `labels.team == "infra"`, To: []string{"ops"}, At: []string{"oncall"}, Template: "short"}
	req, _ := json.Marshal(ui.PreviewRequest{Source: "alertmanager", Payload: fixture(b), RuleIndex: 0, Rule: &r})
	b.ResetTimer()
	for b.Loop() {
		res, body := do(b, app, "POST", "/api/v1/playground", string(req), map[string]string{"Authorization": "Bearer " + admin})
		if res.StatusCode != 200 || !strings.Contains(body, "2 alert(s)") {
			b.Fatal(body)
		}
	}
}
