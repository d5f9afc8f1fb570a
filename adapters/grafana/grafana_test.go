package grafana

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
		Source:      "graf",
		ContentType: "application/json",
		Headers:     map[string]string{"user-agent": "Grafana"},
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
	require.NoError(t, json.Unmarshal(fixtures.Read(t, "grafana/firing.json"), &m))
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
	body := fixtures.Read(t, "grafana/firing.json")
	r := request(body)
	ev, err := New(Config{}).Receive(r)
	require.NoError(t, err)

	assert.Equal(t, "graf", ev.Source)
	assert.Equal(t, "grafana", ev.Type)
	assert.Equal(t, "alert", ev.Event)
	assert.Equal(t, "firing", ev.Status)
	assert.Equal(t, "My Super Webhook", ev.Receiver)
	assert.Equal(t, "https://play.grafana.org/", ev.ExternalURL)
	require.Len(t, ev.Alerts, 2)
	first := ev.Alerts[0].(map[string]any)
	assert.Equal(t, "c6eadffa33fcdf37", first["fingerprint"])
	assert.Equal(t, map[string]any{"B": 44.23943737541908, "C": int64(1)}, first["values"])
	assert.Equal(t, map[string]string{"team": "blue"}, ev.Labels)
	assert.Equal(t, map[string]string{}, ev.Annotations)
	assert.Equal(t, map[string]string{}, ev.GroupLabels)
	assert.Equal(t, int64(1), ev.Payload["orgId"])
	assert.Equal(t, "1", ev.Payload["version"])
	assert.Equal(t, r.Headers, ev.Headers)
	assert.Equal(t, body, ev.Raw)
	assert.Regexp(t, `^grafana:[0-9a-f]{32}$`, ev.DedupKey)
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
	base := key(t, "graf", firing(t))

	tests := []struct {
		name   string
		source string
		change func(m map[string]any)
		same   bool
	}{
		{"unchanged", "graf", func(map[string]any) {}, true},
		{"alerts reordered", "graf", func(m map[string]any) {
			a := m["alerts"].([]any)
			a[0], a[1] = a[1], a[0]
		}, true},
		{"other externalURL", "graf", func(m map[string]any) { m["externalURL"] = "https://grafana-1.example/" }, true},
		{"other title and message", "graf", func(m map[string]any) { m["title"] = "x"; m["message"] = "y" }, true},
		{"other values", "graf", func(m map[string]any) { alert(m, 0)["values"] = map[string]any{"B": 51.0} }, true},
		{"unknown field", "graf", func(m map[string]any) { m["futureField"] = []any{1} }, true},
		{"group resolved", "graf", func(m map[string]any) { m["status"] = "resolved" }, false},
		{"one alert resolved", "graf", func(m map[string]any) { alert(m, 1)["status"] = "resolved" }, false},
		{"other fingerprint", "graf", func(m map[string]any) { alert(m, 0)["fingerprint"] = "0000000000000001" }, false},
		{"alert removed", "graf", func(m map[string]any) { m["alerts"] = m["alerts"].([]any)[:1] }, false},
		{"other groupKey", "graf", func(m map[string]any) { m["groupKey"] = `{}:{alertname="x"}` }, false},
		{"other organisation", "graf", func(m map[string]any) { m["orgId"] = 2 }, false},
		{"other source", "graf-2", func(map[string]any) {}, false},
		{"fires again", "graf", func(m map[string]any) { alert(m, 0)["startsAt"] = "2021-10-12T10:51:03.157076+02:00" }, false},
		{"firing endsAt moved", "graf", func(m map[string]any) { alert(m, 0)["endsAt"] = "2021-10-12T11:00:00Z" }, true},
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

	t.Run("without fingerprints, labels decide", func(t *testing.T) {
		noFP := func(labels ...map[string]any) map[string]any {
			m := firing(t)
			for i, l := range labels {
				delete(alert(m, i), "fingerprint")
				alert(m, i)["labels"] = l
				alert(m, i)["startsAt"] = "2021-10-12T09:51:03Z"
			}
			return m
		}
		a := map[string]any{"alertname": "Down", "zone": "a"}
		b := map[string]any{"alertname": "Down", "zone": "b"}
		k := key(t, "graf", noFP(a, b))
		assert.Equal(t, k, key(t, "graf", noFP(b, a)))
		assert.NotEqual(t, k, key(t, "graf", noFP(a, map[string]any{"alertname": "Down", "zone": "c"})))
	})
}

func TestPayload(t *testing.T) {
	tests := []struct {
		name   string
		change func(m map[string]any)
		ok     bool
	}{
		{"version missing", func(m map[string]any) { delete(m, "version") }, true},
		{"Alertmanager's version", func(m map[string]any) { m["version"] = "4" }, true},
		{"Grafana's fields absent", func(m map[string]any) {
			for _, k := range []string{"orgId", "title", "state", "message", "truncatedAlerts"} {
				delete(m, k)
			}
		}, true},
		{"no alerts", func(m map[string]any) { m["alerts"] = []any{} }, true},
		{"alerts missing", func(m map[string]any) { delete(m, "alerts") }, false},
		{"alerts null", func(m map[string]any) { m["alerts"] = nil }, false},
		{"alerts an object", func(m map[string]any) { m["alerts"] = map[string]any{} }, false},
		{"alert a number", func(m map[string]any) { m["alerts"] = []any{1} }, false},
		{"commonLabels a list", func(m map[string]any) { m["commonLabels"] = []any{} }, false},
		{"commonAnnotations a string", func(m map[string]any) { m["commonAnnotations"] = "x" }, false},
		{"groupLabels a number", func(m map[string]any) { m["groupLabels"] = 1 }, false},
		{"labels null", func(m map[string]any) {
			m["commonLabels"], m["commonAnnotations"], m["groupLabels"] = nil, nil, nil
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := firing(t)
			tt.change(m)
			ev, err := New(Config{}).Receive(request(encode(t, m)))
			if !tt.ok {
				requireKind(t, err, adapters.Malformed)
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
	m["commonLabels"] = map[string]any{"n": 42, "f": 1.5, "b": true, "z": nil}
	ev, err := New(Config{}).Receive(request(encode(t, m)))
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"n": "42", "f": "1.5", "b": "true", "z": ""}, ev.Labels)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		kind                    adapters.Kind
	}{
		{"truncated JSON", "application/json", `{"alerts":[`, adapters.Malformed},
		{"array", "application/json", `[]`, adapters.Malformed},
		{"string", "application/json", `"firing"`, adapters.Malformed},
		{"empty", "application/json", ``, adapters.Malformed},
		{"invalid UTF-8", "application/json", "{\"alerts\":[],\"receiver\":\"\xc3\x28\"}", adapters.Malformed},
		{"too deep", "application/json", `{"alerts":[` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `]}`, adapters.Malformed},
		{"text/plain", "text/plain", `{"alerts":[]}`, adapters.Unsupported},
		{"form", "application/x-www-form-urlencoded", `{"alerts":[]}`, adapters.Unsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request([]byte(tt.body))
			r.ContentType = tt.contentType
			_, err := New(Config{}).Receive(r)
			requireKind(t, err, tt.kind)
		})
	}

	r := request([]byte(`{"status":"firing","alerts":[]}`))
	r.ContentType = ""
	_, err := New(Config{}).Receive(r)
	require.NoError(t, err)
}

func TestAuth(t *testing.T) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	token := Config{BearerToken: "s3cret-token"}
	pair := Config{BasicAuth: &BasicAuth{Username: "grafana", Password: "pa:ss"}}
	both := Config{BearerToken: "s3cret-token", BasicAuth: &BasicAuth{Username: "grafana", Password: "pa:ss"}}

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
		{"other scheme, same credentials", token, "Token s3cret-token", false},
		{"bearer without scheme", token, "s3cret-token", false},
		{"basic", pair, basic("grafana", "pa:ss"), true},
		{"basic wrong user", pair, basic("admin", "pa:ss"), false},
		{"basic wrong password", pair, basic("grafana", "pa:s"), false},
		{"basic not base64", pair, "Basic !!!", false},
		{"basic missing", pair, "", false},
		{"both, bearer", both, "Bearer s3cret-token", true},
		{"both, basic", both, basic("grafana", "pa:ss"), true},
		{"both, wrong basic", both, basic("grafana", "nope"), false},
	}
	body := fixtures.Read(t, "grafana/firing.json")
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

func FuzzGrafanaReceive(f *testing.F) {
	f.Add(fixtures.Read(f, "grafana/firing.json"), "application/json", "Bearer t")
	f.Add([]byte(`{"alerts":[{"labels":{"a":1},"values":{"B":1e308}}],"orgId":"x"}`), "", "Basic dTpw")
	f.Add([]byte(`{"alerts":[1]}`), "text/plain", "")
	f.Add([]byte(`{"alerts":{}}`), "application/json", "Basic !")

	open := New(Config{})
	guarded := New(Config{BearerToken: "t", BasicAuth: &BasicAuth{Username: "u", Password: "p"}})
	f.Fuzz(func(t *testing.T, body []byte, contentType, auth string) {
		for _, g := range []*Receiver{open, guarded} {
			ev, err := g.Receive(&adapters.Request{
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
			if ev == nil || ev.Type != "grafana" || ev.ID == "" || ev.Alerts == nil ||
				!strings.HasPrefix(ev.DedupKey, "grafana:") {
				t.Fatalf("incomplete event %+v", ev)
			}
		}
	})
}
