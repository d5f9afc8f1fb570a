package alertmanager

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/test/fixtures"
)

func request(body []byte) *adapters.Request {
	return &adapters.Request{
		Source:      "am",
		ContentType: "application/json",
		Headers:     map[string]string{"user-agent": "Alertmanager/0.34.0"},
		Body:        body,
	}
}

func requireKind(t *testing.T, err error, kind adapters.Kind) *adapters.Error {
	t.Helper()
	var e *adapters.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, kind, e.Kind, "error %q", e.Msg)
	return e
}

// firing returns the fixture decoded, for tests that change it.
func firing(t *testing.T) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal(fixtures.Read(t, "alertmanager/firing.json"), &m))
	return m
}

func encode(t *testing.T, m map[string]any) []byte {
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

func alert(m map[string]any, i int) map[string]any {
	return m["alerts"].([]any)[i].(map[string]any)
}

func TestFixture(t *testing.T) {
	body := fixtures.Read(t, "alertmanager/firing.json")
	r := request(body)
	ev, err := New(Config{}).Receive(r)
	require.NoError(t, err)

	assert.Equal(t, "am", ev.Source)
	assert.Equal(t, "alertmanager", ev.Type)
	assert.Equal(t, "alert", ev.Event)
	assert.Equal(t, "firing", ev.Status)
	assert.Equal(t, "wechat-ops-group", ev.Receiver)
	assert.Equal(t, "http://alertmanager.monitoring.svc:9093", ev.ExternalURL)
	require.Len(t, ev.Alerts, 2)
	first := ev.Alerts[0].(map[string]any)
	assert.Equal(t, "a29c402ab1f673f9", first["fingerprint"])
	assert.Contains(t, first["generatorURL"], "0.1&g0.tab=1", `\u0026 decodes to &`)
	assert.Equal(t, "critical", ev.Labels["severity"])
	assert.Equal(t, "infra", ev.Labels["team"])
	assert.NotContains(t, ev.Labels, "instance", "commonLabels only")
	assert.Equal(t, map[string]string{
		"runbook_url": "https://runbooks.prometheus-operator.dev/runbooks/node/nodefilesystemspacefillingup",
	}, ev.Annotations)
	assert.Equal(t, map[string]string{"alertname": "NodeFilesystemSpaceFillingUp", "team": "infra"}, ev.GroupLabels)
	assert.Equal(t, int64(0), ev.Payload["truncatedAlerts"])
	assert.Equal(t, r.Headers, ev.Headers)
	assert.Equal(t, body, ev.Raw)
	assert.Regexp(t, `^alertmanager:[0-9a-f]{32}$`, ev.DedupKey)
	assert.Len(t, ev.ID, 36)

	again, err := New(Config{}).Receive(request(body))
	require.NoError(t, err)
	assert.NotEqual(t, ev.ID, again.ID, "every notification gets its own id")
	assert.Equal(t, ev.DedupKey, again.DedupKey)
}

func TestDedupKey(t *testing.T) {
	key := func(t *testing.T, source string, m map[string]any) string {
		r := request(encode(t, m))
		r.Source = source
		ev, err := New(Config{}).Receive(r)
		require.NoError(t, err)
		return ev.DedupKey
	}
	base := key(t, "am", firing(t))

	tests := []struct {
		name   string
		source string
		change func(m map[string]any)
		same   bool
	}{
		{"unchanged", "am", func(map[string]any) {}, true},
		{"alerts reordered", "am", func(m map[string]any) {
			a := m["alerts"].([]any)
			a[0], a[1] = a[1], a[0]
		}, true},
		// HA peers each put their own URL here.
		{"other externalURL", "am", func(m map[string]any) { m["externalURL"] = "http://alertmanager-1:9093" }, true},
		{"newer fields absent", "am", func(m map[string]any) {
			delete(m, "routeLabels")
			delete(m, "truncatedAlerts")
		}, true},
		{"unknown field", "am", func(m map[string]any) { m["futureField"] = []any{1, "x"} }, true},
		{"group resolved", "am", func(m map[string]any) { m["status"] = "resolved" }, false},
		{"one alert resolved", "am", func(m map[string]any) { alert(m, 1)["status"] = "resolved" }, false},
		{"other fingerprint", "am", func(m map[string]any) { alert(m, 0)["fingerprint"] = "0000000000000001" }, false},
		{"alert removed", "am", func(m map[string]any) { m["alerts"] = m["alerts"].([]any)[:1] }, false},
		{"other groupKey", "am", func(m map[string]any) { m["groupKey"] = "{}:{}" }, false},
		{"other notification_reason", "am", func(m map[string]any) { m["notification_reason"] = "repeat interval elapsed" }, false},
		{"no notification_reason", "am", func(m map[string]any) { delete(m, "notification_reason") }, false},
		{"other source", "am-2", func(map[string]any) {}, false},
		// A flapping alert fires again: same fingerprint, a new start.
		{"fires again", "am", func(m map[string]any) { alert(m, 0)["startsAt"] = "2026-05-12T08:31:35.712Z" }, false},
		// A firing alert's endsAt is not part of it: repeats may move it.
		{"firing endsAt moved", "am", func(m map[string]any) { alert(m, 0)["endsAt"] = "2026-05-12T09:00:00Z" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := firing(t)
			tt.change(m)
			if tt.same {
				assert.Equal(t, base, key(t, tt.source, m))
			} else {
				assert.NotEqual(t, base, key(t, tt.source, m))
			}
		})
	}

	t.Run("a resolution at another time is another notification", func(t *testing.T) {
		resolved := func(endsAt string) map[string]any {
			m := firing(t)
			alert(m, 0)["status"] = "resolved"
			alert(m, 0)["endsAt"] = endsAt
			return m
		}
		assert.Equal(t, key(t, "am", resolved("2026-05-12T09:00:00Z")), key(t, "am", resolved("2026-05-12T09:00:00Z")))
		assert.NotEqual(t, key(t, "am", resolved("2026-05-12T09:00:00Z")), key(t, "am", resolved("2026-05-12T09:05:00Z")))
	})

	t.Run("without fingerprints, labels decide", func(t *testing.T) {
		noFP := func(labels ...map[string]any) map[string]any {
			m := firing(t)
			for i, l := range labels {
				delete(alert(m, i), "fingerprint")
				alert(m, i)["labels"] = l
				alert(m, i)["startsAt"] = "2026-05-12T08:21:35.712Z" // the labels alone tell them apart
			}
			return m
		}
		a := map[string]any{"alertname": "Down", "instance": "a"}
		b := map[string]any{"alertname": "Down", "instance": "b"}
		k := key(t, "am", noFP(a, b))
		assert.Equal(t, k, key(t, "am", noFP(b, a)))
		assert.NotEqual(t, k, key(t, "am", noFP(a, map[string]any{"alertname": "Down", "instance": "c"})))
	})
}

func TestPayload(t *testing.T) {
	tests := []struct {
		name   string
		change func(m map[string]any)
		kind   adapters.Kind // checked when !ok
		ok     bool
	}{
		{"version missing", func(m map[string]any) { delete(m, "version") }, 0, true},
		{"version null", func(m map[string]any) { m["version"] = nil }, 0, true},
		{"version 3", func(m map[string]any) { m["version"] = "3" }, adapters.Malformed, false},
		{"version as a number", func(m map[string]any) { m["version"] = 4 }, adapters.Malformed, false},
		{"newer fields absent", func(m map[string]any) {
			delete(m, "notification_reason")
			delete(m, "routeLabels")
			delete(m, "truncatedAlerts")
		}, 0, true},
		{"unknown fields", func(m map[string]any) { m["x"] = map[string]any{"y": 1} }, 0, true},
		{"no alerts", func(m map[string]any) { m["alerts"] = []any{} }, 0, true},
		{"alerts missing", func(m map[string]any) { delete(m, "alerts") }, adapters.Malformed, false},
		{"alerts null", func(m map[string]any) { m["alerts"] = nil }, adapters.Malformed, false},
		{"alerts an object", func(m map[string]any) { m["alerts"] = map[string]any{} }, adapters.Malformed, false},
		{"alert a string", func(m map[string]any) { m["alerts"] = []any{"x"} }, adapters.Malformed, false},
		{"commonLabels a list", func(m map[string]any) { m["commonLabels"] = []any{} }, adapters.Malformed, false},
		{"groupLabels a string", func(m map[string]any) { m["groupLabels"] = "x" }, adapters.Malformed, false},
		{"labels missing", func(m map[string]any) {
			delete(m, "commonLabels")
			delete(m, "commonAnnotations")
			delete(m, "groupLabels")
		}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := firing(t)
			tt.change(m)
			ev, err := New(Config{}).Receive(request(encode(t, m)))
			if !tt.ok {
				requireKind(t, err, tt.kind)
				return
			}
			require.NoError(t, err)
			assert.NotNil(t, ev.Labels)
			assert.NotNil(t, ev.Annotations)
			assert.NotNil(t, ev.GroupLabels)
		})
	}
}

func TestNonStringLabels(t *testing.T) {
	m := firing(t)
	m["groupLabels"] = map[string]any{"n": 42, "f": 1.5, "b": true, "z": nil, "s": "x"}
	ev, err := New(Config{}).Receive(request(encode(t, m)))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"n": "42", "f": "1.5", "b": "true", "z": "", "s": "x"}, ev.GroupLabels)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		kind                    adapters.Kind
	}{
		{"truncated JSON", "application/json", `{"version":"4","alerts":[`, adapters.Malformed},
		{"array", "application/json", `[]`, adapters.Malformed},
		{"string", "application/json", `"firing"`, adapters.Malformed},
		{"empty", "application/json", ``, adapters.Malformed},
		{"invalid UTF-8", "application/json", "{\"version\":\"4\",\"alerts\":[],\"receiver\":\"\xc3\x28\"}", adapters.Malformed},
		{"text/plain", "text/plain", `{"version":"4","alerts":[]}`, adapters.Unsupported},
		{"form", "application/x-www-form-urlencoded", `{"version":"4","alerts":[]}`, adapters.Unsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request([]byte(tt.body))
			r.ContentType = tt.contentType
			_, err := New(Config{}).Receive(r)
			requireKind(t, err, tt.kind)
		})
	}

	// curl users often leave the content type out.
	r := request([]byte(`{"version":"4","status":"firing","alerts":[]}`))
	r.ContentType = ""
	_, err := New(Config{}).Receive(r)
	require.NoError(t, err)
}

func TestAuth(t *testing.T) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	token := Config{BearerToken: "s3cret-token"}
	pair := Config{BasicAuth: &BasicAuth{Username: "am", Password: "pa:ss"}}
	both := Config{BearerToken: "s3cret-token", BasicAuth: &BasicAuth{Username: "am", Password: "pa:ss"}}

	tests := []struct {
		name   string
		config Config
		auth   string
		ok     bool
	}{
		{"none configured", Config{}, "", true},
		{"none configured, header ignored", Config{}, "Bearer whatever", true},
		{"empty basic auth is none", Config{BasicAuth: &BasicAuth{}}, "", true},
		{"bearer", token, "Bearer s3cret-token", true},
		{"bearer, lower-case scheme", token, "bearer s3cret-token", true},
		{"bearer missing", token, "", false},
		{"bearer wrong", token, "Bearer s3cret-tokem", false},
		{"bearer prefix of the token", token, "Bearer s3cret", false},
		{"bearer empty", token, "Bearer ", false},
		{"bearer without scheme", token, "s3cret-token", false},
		{"bearer as basic", token, basic("s3cret-token", ""), false},
		{"basic", pair, basic("am", "pa:ss"), true},
		{"basic wrong user", pair, basic("root", "pa:ss"), false},
		{"basic wrong password", pair, basic("am", "pa:s"), false},
		{"basic not base64", pair, "Basic !!!", false},
		{"basic missing", pair, "", false},
		{"basic sent as bearer", pair, "Bearer am:pa:ss", false},
		{"both, bearer", both, "Bearer s3cret-token", true},
		{"both, basic", both, basic("am", "pa:ss"), true},
		{"both, wrong bearer", both, "Bearer nope", false},
		{"both, wrong basic", both, basic("am", "nope"), false},
		{"both, none", both, "", false},
	}
	body := fixtures.Read(t, "alertmanager/firing.json")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(body)
			if tt.auth != "" {
				r.Headers["authorization"] = tt.auth
			}
			ev, err := New(tt.config).Receive(r)
			if tt.ok {
				require.NoError(t, err)
				assert.Equal(t, "firing", ev.Status)
				return
			}
			e := requireKind(t, err, adapters.Unauthorized)
			assert.NotContains(t, e.Msg, "s3cret")
			assert.NotContains(t, e.Msg, "pa:ss")
		})
	}

	t.Run("checked before the body", func(t *testing.T) {
		r := request([]byte(`not json`))
		r.ContentType = "text/plain"
		_, err := New(token).Receive(r)
		requireKind(t, err, adapters.Unauthorized)
	})
}

func FuzzAlertmanagerReceive(f *testing.F) {
	f.Add(fixtures.Read(f, "alertmanager/firing.json"), "application/json", "Bearer t")
	f.Add([]byte(`{"version":"4","alerts":[{"labels":{"a":1}}],"commonLabels":{"x":null}}`), "", "Basic dTpw")
	f.Add([]byte(`{"alerts":[1]}`), "text/plain", "")
	f.Add([]byte(`{"version":4,"alerts":{}}`), "application/json", "Basic !")

	open := New(Config{})
	guarded := New(Config{BearerToken: "t", BasicAuth: &BasicAuth{Username: "u", Password: "p"}})
	f.Fuzz(func(t *testing.T, body []byte, contentType, auth string) {
		for _, a := range []*Receiver{open, guarded} {
			ev, err := a.Receive(&adapters.Request{
				ContentType: contentType,
				Headers:     map[string]string{"authorization": auth},
				Body:        body,
			})
			if err != nil {
				var e *adapters.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T) is not an *adapters.Error", err, err)
				}
				continue
			}
			if ev == nil || ev.Type != "alertmanager" || ev.ID == "" || ev.Alerts == nil ||
				!strings.HasPrefix(ev.DedupKey, "alertmanager:") {
				t.Fatalf("incomplete event %+v", ev)
			}
		}
	})
}
