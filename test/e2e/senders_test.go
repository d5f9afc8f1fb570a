package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMoreSenders sends GitLab, Gitea, Grafana and Standard Webhooks
// deliveries, each authenticated as its sender does, through the real
// binary and reads the messages the fake GeWe got: the built-in template
// of each, to the rule's group. A delivery sent twice is queued once.
func TestMoreSenders(t *testing.T) {
	t.Parallel()
	const (
		gitlabToken = "gitlab-token-0123"
		giteaSecret = "gitea-secret-4567"
		grafanaTok  = "grafana-token-89ab"
		swSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	)
	fake := newFake(t, true)
	conf := newConf(fake)
	conf.Body = `
sources:
  gitlab:  { type: gitlab, secret: "` + gitlabToken + `" }
  gitea:   { type: gitea, secret: "` + giteaSecret + `" }
  grafana: { type: grafana, bearer_token: "` + grafanaTok + `" }
  deploys: { type: generic, secret: "` + swSecret + `" }
contacts:
  dev: { wxid: "87654321@chatroom" }
  ops: { wxid: "12345678@chatroom" }
rules:
  - { name: code, when: 'type in ["gitlab", "gitea"]', to: [dev] }
  - { name: alerts, when: 'type == "grafana"', to: [ops] }
  - { name: deploys, when: 'source == "deploys"', to: [ops] }
`
	b := startBridge(t, conf)

	giteaBody := fixture(t, "gitea/push.json")
	mac := hmac.New(sha256.New, []byte(giteaSecret))
	mac.Write(giteaBody)
	swBody := []byte(`{"service":"api","version":"1.4.2"}`)
	swKey, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(swSecret, "whsec_"))
	ts := fmt.Sprint(time.Now().Unix())
	sw := hmac.New(sha256.New, swKey)
	fmt.Fprintf(sw, "msg_2hxyz.%s.%s", ts, swBody)
	json := map[string]string{"Content-Type": "application/json"}
	with := func(h map[string]string) map[string]string {
		for k, v := range json {
			h[k] = v
		}
		return h
	}
	steps := []struct {
		name   string
		source string
		body   []byte
		header map[string]string
		to     string
		want   []string // in the text
	}{
		{"gitlab push", "gitlab", fixture(t, "gitlab/push.json"),
			with(map[string]string{"X-Gitlab-Token": gitlabToken, "X-Gitlab-Event": "Push Hook", "X-Gitlab-Event-UUID": "6f1b9c1e-0d5c-4a4e-9a1e-1"}),
			"87654321@chatroom", []string{"[mike/diaspora] jsmith", "master", "b6568db"}},
		{"gitea push", "gitea", giteaBody,
			with(map[string]string{"X-Gitea-Signature": hex.EncodeToString(mac.Sum(nil)), "X-Gitea-Event": "push", "X-Gitea-Delivery": "d-1"}),
			"87654321@chatroom", []string{"[gitea/webhooks] gitea", "develop", "bffeb74 Webhooks Yay!"}},
		{"grafana alert", "grafana", fixture(t, "grafana/firing.json"),
			with(map[string]string{"Authorization": "Bearer " + grafanaTok}),
			"12345678@chatroom", []string{"High memory usage"}},
		{"standard webhooks", "deploys", swBody,
			with(map[string]string{"webhook-id": "msg_2hxyz", "webhook-timestamp": ts,
				"webhook-signature": "v1," + base64.StdEncoding.EncodeToString(sw.Sum(nil))}),
			"12345678@chatroom", []string{"api"}},
	}
	for i, st := range steps {
		r := mustDo(t, "POST", b.URL+"/hooks/"+st.source, st.body, st.header)
		if r.Status != http.StatusAccepted {
			t.Fatalf("%s: %s, want 202", st.name, r)
		}
		msgs := fake.WaitFor(i+1, 20*time.Second)
		if len(msgs) != i+1 {
			t.Fatalf("%s: the fake got %d messages, want %d", st.name, len(msgs), i+1)
		}
		m := msgs[i]
		if m.To != st.to {
			t.Errorf("%s: to %s, want %s", st.name, m.To, st.to)
		}
		for _, w := range st.want {
			if !strings.Contains(m.Content, w) {
				t.Errorf("%s: the text lacks %q:\n%s", st.name, w, m.Content)
			}
		}
		if strings.TrimSpace(m.Content) == "" {
			t.Errorf("%s: empty text", st.name)
		}
		// The same delivery again: a duplicate, nothing more is sent.
		if r := mustDo(t, "POST", b.URL+"/hooks/"+st.source, st.body, st.header); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"duplicate":true`) {
			t.Errorf("%s sent again: %s, want 200 duplicate", st.name, r)
		}
	}
	// Wrong credentials are refused by each.
	for _, st := range steps {
		h := map[string]string{"Content-Type": "application/json", "X-Gitlab-Token": "wrong", "X-Gitlab-Event": "Push Hook",
			"X-Gitea-Signature": strings.Repeat("0", 64), "X-Gitea-Event": "push", "Authorization": "Bearer wrong",
			"webhook-id": "msg_x", "webhook-timestamp": ts, "webhook-signature": "v1,AAAA"}
		if r := mustDo(t, "POST", b.URL+"/hooks/"+st.source, st.body, h); r.Status != http.StatusUnauthorized {
			t.Errorf("%s with wrong credentials: %s, want 401", st.name, r)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(fake.Messages()); n != len(steps) {
		t.Errorf("the fake got %d messages, want %d (duplicates and refusals send nothing)", n, len(steps))
	}
}
