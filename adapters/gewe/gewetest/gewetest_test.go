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
	req, err := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GEWE-TOKEN", Token)
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
