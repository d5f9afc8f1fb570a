package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// quietRules holds the night rule's messages in a quiet window given as
// %s (HH:MM:SS-HH:MM:SS in Asia/Shanghai, the harness's timezone), except
// the critical ones; the rotation puts alice on call, mentioned.
const quietRules = `
sources:
  deploys:
    type: generic
    bearer_token: "` + deployToken + `"
contacts:
  ops:   { wxid: "12345678@chatroom" }
  alice: { wxid: wxid_alice, name: Alice }
  bob:   { wxid: wxid_bob, name: Bob }
schedules:
  primary: { rotation: [alice, bob], start: "2020-01-06T10:00:00", period: 100000d }
templates:
  note: '{{ .payload.text }} ({{ oncall "primary" }} on call)'
rules:
  - name: night
    to: [ops]
    at: [oncall:primary]
    template: note
    quiet:
      hours: "%s"
      hold: true
      bypass_when: 'payload.severity == "critical"'
`

// TestQuietHoursHoldSurvivesRestart: messages held by quiet hours are in
// the outbox, not sent, while the window lasts; they survive a restart
// and arrive together, coalesced, when it ends; a critical one bypasses
// the window and goes at once.
func TestQuietHoursHoldSurvivesRestart(t *testing.T) {
	fake := newFake(t, true)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	end := now.Add(4 * time.Second).Truncate(time.Second)
	window := now.Add(-time.Minute).Format("15:04:05") + "-" + end.Format("15:04:05")
	conf := newConf(fake)
	conf.Body = fmt.Sprintf(quietRules, window)
	b := startBridge(t, conf)

	for _, text := range []string{"first held", "second held"} {
		if r := b.Generic(t, "deploys", []byte(`{"text":"`+text+`"}`), nil); r.Status != 202 {
			t.Fatalf("webhook: %s", r)
		}
	}
	if r := b.Generic(t, "deploys", []byte(`{"text":"disk full","severity":"critical"}`), nil); r.Status != 202 {
		t.Fatalf("webhook: %s", r)
	}
	if !eventually(3*time.Second, func() bool { return len(delivered(fake)) == 1 }) {
		t.Fatalf("the critical message was not sent at once: %d delivered", len(delivered(fake)))
	}
	if got := delivered(fake)[0].Messages[0].Content; !strings.Contains(got, "disk full") {
		t.Fatalf("the first message sent is %q, want the critical one", got)
	}
	pending := b.List(t, "pending")
	if len(pending) != 2 {
		t.Fatalf("%d messages pending, want the 2 held", len(pending))
	}

	b.Stop()
	if time.Now().After(end) {
		t.Skip("the machine is too slow for a 4s window")
	}
	b.Start()

	if !eventually(end.Sub(time.Now())+5*time.Second, func() bool { return len(delivered(fake)) >= 2 }) {
		t.Fatalf("the held messages were not sent after the window: %d delivered", len(delivered(fake)))
	}
	time.Sleep(300 * time.Millisecond) // nothing more should come
	got := delivered(fake)
	if len(got) != 2 {
		t.Fatalf("%d sends, want the critical one and one coalesced message", len(got))
	}
	held := got[1]
	if held.Time.Before(end) {
		t.Errorf("the held messages were sent at %s, before the window ended at %s", held.Time.Format(time.RFC3339Nano), end.Format(time.RFC3339))
	}
	m := held.Messages[0]
	if m.To != "12345678@chatroom" {
		t.Errorf("sent to %s", m.To)
	}
	if miss := missing(m.Content, "first held (alice on call)", "second held (alice on call)", "@Alice"); len(miss) > 0 {
		t.Errorf("the coalesced message lacks %q:\n%s", miss, m.Content)
	}
	if len(m.At) != 1 || m.At[0] != "wxid_alice" {
		t.Errorf("at %v, want [wxid_alice]", m.At)
	}
	if n := len(b.List(t, "pending")); n != 0 {
		t.Errorf("%d messages still pending", n)
	}
}
