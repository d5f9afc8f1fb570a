package gewetest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// post sends body to path with the default token and returns the answer.
func post(t *testing.T, s *Server, path, body string) (int, map[string]any) {
	t.Helper()
	return postToken(t, s, Token, path, body)
}

// postToken is post with the X-GEWE-TOKEN given.
func postToken(t *testing.T, s *Server, token, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GEWE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.UseNumber()
	_ = d.Decode(&m)
	return resp.StatusCode, m
}

const sendmsg = `{"appid":"wx_test_app","to_wxid_list":[
	{"to_wxid":"wxid_a","content":"a","msg_type":1,"at":[],"msg_source":""},
	{"to_wxid":"1@chatroom","content":"@b hi","msg_type":1,"at":["wxid_b"],"msg_source":""}]}`

func TestSeveralRecipients(t *testing.T) {
	s := New()
	defer s.Close()
	status, ans := post(t, s, "/prefix/api/message/sendmsg", sendmsg)
	require.Equal(t, 200, status)
	assert.Equal(t, json.Number("0"), ans["ret"])
	list := ans["data"].(map[string]any)["List"].([]any)
	require.Len(t, list, 2)
	assert.Equal(t, json.Number("435902963537395301"), list[1].(map[string]any)["NewMsgId"])

	msgs := s.WaitFor(2, time.Second)
	require.Len(t, msgs, 2)
	assert.Equal(t, Message{API: "v1", Action: "sendmsg", AppID: AppID, To: "1@chatroom", Content: "@b hi",
		At: []string{"wxid_b"}, NewMsgID: FirstNewMsgID + 1}, msgs[1])
}

func TestRejects(t *testing.T) {
	tests := []struct{ path, body, want string }{
		{"/api/message/sendmsg", `{"appid":"wx_test_app","to_wxid_list":[{"to_wxid":"a","content":"b","msg_type":1,"at":null}]}`, "at 必须是数组"},
		{"/api/message/sendmsg", `{"appid":"wx_test_app","to_wxid_list":[]}`, "to_wxid_list 不可为空"},
		{"/api/message/sendmsg", `{"appid":"wx_test_app","to_wxid_list":[{"to_wxid":"a","content":"b","msg_type":"1","at":[]}]}`, "msg_type"},
		{"/api/message/sendapp", `{"appid":"wx_test_app","to_wxid":"a"}`, "xml 不可为空"},
		{"/v2/api/message/postText", `{"appId":"wx_test_app","toWxid":"a","content":"b","ats":["x"]}`, "ats"},
		{"/v2/api/message/postAppMsg", `{"appid":"wx_test_app","toWxid":"a","appmsg":"<appmsg/>"}`, "appId 不可为空"},
		{"/api/message/sendmsg", `not json`, "参数错误"},
	}
	s := New()
	defer s.Close()
	for _, tt := range tests {
		_, ans := post(t, s, tt.path, tt.body)
		assert.Contains(t, ans["msg"], tt.want, tt.body)
	}
	assert.Empty(t, s.Messages())
	assert.Len(t, s.Requests(), len(tests))

	status, _ := post(t, s, "/api/message/other", `{}`)
	assert.Equal(t, 404, status)
}

func TestMaxInFlightAndModes(t *testing.T) {
	s := New()
	defer s.Close()
	s.SetMode(Slow)
	s.SetDelay(100 * time.Millisecond)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { post(t, s, "/api/message/sendmsg", sendmsg) })
	}
	wg.Wait()
	assert.Equal(t, 3, s.MaxInFlight())
	assert.Len(t, s.Messages(), 6)

	s.Reset()
	assert.Equal(t, 0, s.MaxInFlight())
	assert.Empty(t, s.Requests())
	s.FailNext(2, Offline)
	_, a := post(t, s, "/v2/api/message/postText", `{"appId":"wx_test_app","toWxid":"a","content":"b"}`)
	assert.Equal(t, json.Number("500"), a["ret"])
	_, a = post(t, s, "/api/message/sendmsg", sendmsg)
	assert.Equal(t, "发送消息失败-微信已离线(-1)", a["msg"])
	_, a = post(t, s, "/v2/api/message/postText", `{"appId":"wx_test_app","toWxid":"a","content":"b","ats":"x,y"}`)
	assert.Equal(t, json.Number("200"), a["ret"])
	reqs := s.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, []Mode{Offline, Offline, OK}, []Mode{reqs[0].Mode, reqs[1].Mode, reqs[2].Mode})
	assert.Equal(t, []string{"x", "y"}, s.Messages()[0].At)
	assert.Empty(t, s.WaitFor(5, 10*time.Millisecond)[1:])
}

func TestNotFound(t *testing.T) {
	s := New()
	defer s.Close()
	text := `{"appId":"wx_test_app","toWxid":"a","content":"b"}`
	for _, path := range []string{
		"/v2/api/v2/api/message/postText", // base_url .../v2/api with the root added again
		"/v2/api/message/sendmsg",         // a v1 action under the v2 root
		"/api/api/message/sendmsg",
		"/v2/api/message/other",
		"/",
	} {
		status, ans := post(t, s, path, text)
		assert.Equal(t, 404, status, path)
		assert.Equal(t, "Not Found", ans["error"], path)
		assert.Equal(t, path, ans["path"], path)
	}
	assert.Empty(t, s.Requests(), "404s are not recorded")

	s.SetPrefix("") // self-hosted Gewechat: /v2/api at the root, v2 only
	s.SetAPIs("v2")
	status, _ := post(t, s, "/gewe/v2/api/message/postText", text)
	assert.Equal(t, 404, status)
	status, _ = post(t, s, "/api/message/sendmsg", sendmsg)
	assert.Equal(t, 404, status)
	status, ans := post(t, s, "/v2/api/message/postText", text)
	assert.Equal(t, 200, status)
	assert.Equal(t, json.Number("200"), ans["ret"])

	s.SetPrefix("/gewe") // hosted
	s.SetAPIs()
	status, _ = post(t, s, "/v2/api/message/postText", text)
	assert.Equal(t, 404, status)
	status, _ = post(t, s, "/gewe/v2/api/message/postText", text)
	assert.Equal(t, 200, status)

	s.FailNext(1, NotFound)
	status, _ = post(t, s, "/gewe/v2/api/message/postText", text)
	assert.Equal(t, 404, status)
	assert.Equal(t, NotFound, s.Requests()[len(s.Requests())-1].Mode)
}

func TestRealShapes(t *testing.T) {
	s := New()
	defer s.Close()
	text := `{"appId":"wx_test_app","toWxid":"a","content":"b"}`

	// A wrong v2 token is echoed, HTTP 200, ret 500, no data.
	status, ans := postToken(t, s, "c9ffbedb9aeb471db49d92453ea21a17", "/v2/api/message/postText", text)
	assert.Equal(t, 200, status)
	assert.Equal(t, json.Number("500"), ans["ret"])
	assert.Equal(t, "HTTP HEADER: X-GEWE-TOKEN=c9ffbedb9aeb471db49d92453ea21a17 不可用或已过期", ans["msg"])
	assert.NotContains(t, ans, "data")
	s.FailNext(1, TokenExpired)
	_, ans = post(t, s, "/v2/api/message/postText", text)
	assert.Equal(t, "HTTP HEADER: X-GEWE-TOKEN="+Token+" 不可用或已过期", ans["msg"])

	// An unknown v2 app id: the detail is in data.msg only.
	_, ans = post(t, s, "/v2/api/message/postText", `{"appId":"wx_other","toWxid":"a","content":"b"}`)
	assert.Equal(t, json.Number("500"), ans["ret"])
	assert.Equal(t, map[string]any{"code": "-1", "msg": "[wx_other]设备不存在"}, ans["data"])
	s.FailNext(1, UnknownAppID)
	_, ans = post(t, s, "/api/message/sendmsg", sendmsg)
	assert.Equal(t, json.Number("-1"), ans["ret"])
	assert.Equal(t, "[wx_test_app]设备不存在", ans["data"].(map[string]any)["msg"])
	assert.Empty(t, s.Messages())

	// login/checkOnline.
	online := `{"appId":"wx_test_app"}`
	_, ans = post(t, s, "/v2/api/login/checkOnline", online)
	assert.Equal(t, map[string]any{"ret": json.Number("200"), "msg": "操作成功", "data": true}, ans)
	s.SetOnline(false)
	_, ans = post(t, s, "/v2/api/login/checkOnline", online)
	assert.Equal(t, false, ans["data"])
	_, ans = post(t, s, "/v2/api/message/postText", text)
	assert.Equal(t, "发送消息失败-微信已离线(-1)", ans["msg"], "a logged-out account cannot send")
	s.SetOnline(true)
	_, ans = post(t, s, "/v2/api/login/checkOnline", `{}`)
	assert.Equal(t, "appId 不可为空", ans["msg"])
	status, _ = post(t, s, "/api/login/checkOnline", online) // v1 documents no status call
	assert.Equal(t, 404, status)

	last := s.Requests()[len(s.Requests())-1]
	assert.Equal(t, "checkOnline", last.Action)
	assert.Equal(t, "v2", last.API)
	assert.Empty(t, last.Messages)
	assert.Empty(t, s.Messages())
}
