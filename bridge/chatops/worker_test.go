package chatops

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

const (
	testGroup   = "12345678@chatroom"
	testBot     = "wxid_bot"
	alertMsgID  = int64(7300000000000000001) // above 2^53, as GeWe's are
	testAccount = "acct"
)

// fakeStore is the part of outbox.ChatOps the worker uses: the alerts of
// the sent messages, and the outcomes recorded.
type fakeStore struct {
	outbox.ChatOps
	mu     sync.Mutex
	alerts map[int64][]event.AlertRef
	done   map[int64]outbox.Command
}

func (s *fakeStore) SentAlerts(_ context.Context, account string, newMsgID int64) ([]event.AlertRef, error) {
	if account != testAccount {
		return nil, nil
	}
	return s.alerts[newMsgID], nil
}

func (s *fakeStore) CallbackDone(_ context.Context, id int64, c outbox.Command) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done[id] = c
	return nil
}

// sentReply is one call of Options.Reply.
type sentReply struct {
	To, Text string
	At       []string
}

type harness struct {
	w       *Worker
	store   *fakeStore
	replies []sentReply
}

func newHarness(t *testing.T, cfg *config.Config) *harness {
	t.Helper()
	h := &harness{store: &fakeStore{alerts: map[int64][]event.AlertRef{}, done: map[int64]outbox.Command{}}}
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	h.w = NewWorker(Options{
		Store: h.store, Account: testAccount,
		Config: func() *config.Config { return cfg },
		Reply: func(_ context.Context, _ *outbox.Callback, to, text string, at []string) error {
			h.replies = append(h.replies, sentReply{To: to, Text: text, At: at})
			return nil
		},
		Now: func() time.Time { return now },
		Log: slog.New(slog.DiscardHandler),
	})
	return h
}

// run carries out one callback as the worker's loop does, and returns
// what was recorded and the reply sent (if any).
func (h *harness) run(t *testing.T, id int64, raw []byte) (outbox.Command, *sentReply) {
	t.Helper()
	n := len(h.replies)
	h.w.handle(context.Background(), &outbox.Callback{ID: id, Source: "wechat", NewMsgID: 9000 + id, Raw: raw})
	c, ok := h.store.done[id]
	require.True(t, ok, "callback %d not recorded as done", id)
	if len(h.replies) == n {
		return c, nil
	}
	require.Len(t, h.replies, n+1)
	return c, &h.replies[n]
}

// textCallback is a text message: in a group (author's wxid in front of
// the content) when chat is a group, else from author directly.
func textCallback(chat, author, text string) []byte {
	content := text
	if config.IsGroup(chat) {
		content = author + ":\n" + text
	}
	return callbackJSON(chat, 1, content)
}

// quoteCallback is a reply by author in group quoting the message svrid.
func quoteCallback(group, author string, svrid int64, text string) []byte {
	xml := `<?xml version="1.0"?><msg><appmsg appid="" sdkver="0"><title>` + text + `</title><type>57</type>` +
		`<refermsg><type>1</type><svrid>` + strconv.FormatInt(svrid, 10) + `</svrid><fromusr>` + group +
		`</fromusr><chatusr>` + testBot + `</chatusr><content>alert</content></refermsg></appmsg></msg>`
	return callbackJSON(group, 49, author+":\n"+xml)
}

func callbackJSON(from string, msgType int, content string) []byte {
	b, _ := json.Marshal(map[string]any{
		"TypeName": "AddMsg", "Appid": "app", "Wxid": testBot,
		"Data": map[string]any{
			"MsgId": 1, "NewMsgId": "9000000000000000001",
			"FromUserName": map[string]string{"string": from},
			"ToUserName":   map[string]string{"string": testBot},
			"MsgType":      msgType,
			"Content":      map[string]string{"string": content},
			"MsgSource":    "<msgsource></msgsource>",
		},
	})
	return b
}

func testConfig(amURL string) *config.Config {
	cfg := &config.Config{
		Language: "en",
		Contacts: map[string]config.Contact{
			"ops":   {Wxid: testGroup},
			"alice": {Wxid: "wxid_alice", Name: "Alice"},
			"bob":   {Wxid: "wxid_bob"}, // no name: cannot be mentioned
		},
		ChatOps: config.ChatOpsConfig{Allow: []string{"alice", "bob"}},
		Sources: map[string]config.Source{"am": {Type: "alertmanager"}},
	}
	if amURL != "" {
		cfg.Sources["am"] = config.Source{Type: "alertmanager", API: &config.AlertmanagerAPI{URL: amURL}}
	}
	return cfg
}

// TestChatOpsReplyMentionsAuthor: in a group the reply @-mentions whoever wrote
// the command, by the name the config gives them; without a name, or in
// a direct chat, it mentions no one.
func TestChatOpsReplyMentionsAuthor(t *testing.T) {
	h := newHarness(t, testConfig(""))

	c, r := h.run(t, 1, textCallback(testGroup, "wxid_alice", "@bot\u2005help"))
	require.NotNil(t, r)
	assert.Equal(t, Helped, c.Result)
	assert.Equal(t, testGroup, r.To)
	assert.Equal(t, []string{"wxid_alice"}, r.At)
	assert.True(t, strings.HasPrefix(r.Text, "@Alice Reply to (quote)"), r.Text)
	assert.Equal(t, r.Text, c.Reply, "the reply recorded is the one sent")

	// A refusal mentions its author too, when they have a name.
	h.w.opts.Config().Contacts["mallory"] = config.Contact{Wxid: "wxid_mallory", Name: "Mallory"}
	c, r = h.run(t, 2, quoteCallback(testGroup, "wxid_mallory", alertMsgID, "silence 2h"))
	require.NotNil(t, r)
	assert.Equal(t, Refused, c.Result)
	assert.Equal(t, []string{"wxid_mallory"}, r.At)
	assert.True(t, strings.HasPrefix(r.Text, "@Mallory ⛔"), r.Text)

	// A contact without a name: no mention (WeChat ignores one without it).
	c, r = h.run(t, 3, textCallback(testGroup, "wxid_bob", "@bot help"))
	require.NotNil(t, r)
	assert.Equal(t, Helped, c.Result)
	assert.Empty(t, r.At)
	assert.True(t, strings.HasPrefix(r.Text, "Reply to (quote)"), r.Text)

	// Someone who is no contact at all: no mention.
	_, r = h.run(t, 4, textCallback(testGroup, "wxid_stranger", "@bot help"))
	require.NotNil(t, r)
	assert.Empty(t, r.At)
	assert.True(t, strings.HasPrefix(r.Text, "⛔"), r.Text)

	// A direct chat: no mention.
	c, r = h.run(t, 5, textCallback("wxid_alice", "wxid_alice", "help"))
	require.NotNil(t, r)
	assert.Equal(t, Helped, c.Result)
	assert.Equal(t, "wxid_alice", r.To)
	assert.Empty(t, r.At)
	assert.True(t, strings.HasPrefix(r.Text, "Reply to (quote)"), r.Text)

	// No reply, no mention: an unaddressed "ack" in a group is ignored.
	c, r = h.run(t, 6, textCallback(testGroup, "wxid_alice", "ack"))
	assert.Equal(t, Ignored, c.Result)
	assert.Nil(t, r)
}

// TestChatOpsAlertmanagerErrors: when Alertmanager answers 5xx, the reply says
// what went wrong and the command is recorded as failed.
func TestChatOpsAlertmanagerErrors(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path)
		mu.Unlock()
		http.Error(w, "cluster not ready: peer gossip not settled", http.StatusServiceUnavailable)
	}))
	defer am.Close()
	h := newHarness(t, testConfig(am.URL))
	h.store.alerts[alertMsgID] = []event.AlertRef{{Source: "am", Labels: map[string]string{"alertname": "DiskFull", "instance": "db-1"}}}

	for i, tc := range []struct {
		text, command, call, reply string
	}{
		{"silence 2h", CmdSilence, "POST /api/v2/silences", "❌ Silencing failed: alertmanager POST /api/v2/silences: HTTP 503: cluster not ready: peer gossip not settled"},
		{"ack", CmdAck, "POST /api/v2/silences", "❌ Silencing failed: alertmanager POST /api/v2/silences: HTTP 503"},
		{"unsilence", CmdUnsilence, "GET /api/v2/silences", "❌ Unsilencing failed: alertmanager GET /api/v2/silences: HTTP 503: cluster not ready"},
		{"@bot silences", CmdSilences, "GET /api/v2/silences", "❌ Could not list silences: alertmanager GET /api/v2/silences: HTTP 503: cluster not ready"},
	} {
		mu.Lock()
		calls = nil
		mu.Unlock()
		raw := quoteCallback(testGroup, "wxid_alice", alertMsgID, tc.text)
		if tc.command == CmdSilences {
			raw = textCallback(testGroup, "wxid_alice", tc.text)
		}
		c, r := h.run(t, int64(10+i), raw)
		assert.Equal(t, tc.command, c.Command, tc.text)
		assert.Equal(t, Failed, c.Result, tc.text)
		assert.Contains(t, c.Detail, "HTTP 503", tc.text)
		require.NotNil(t, r, tc.text)
		assert.Contains(t, r.Text, tc.reply, tc.text)
		assert.True(t, strings.HasPrefix(r.Text, "@Alice ❌"), r.Text)
		mu.Lock()
		assert.Equal(t, []string{tc.call}, calls, tc.text)
		mu.Unlock()
	}
}
