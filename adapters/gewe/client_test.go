package gewe_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
	"github.com/gewe-bridge/gewe-bridge/adapters/gewe/gewetest"
)

func client(base, api string) *gewe.Client {
	return gewe.New(gewe.Config{BaseURL: base, Token: gewetest.Token, AppID: gewetest.AppID, API: api, Timeout: 5 * time.Second}, nil)
}

func fake(t *testing.T) *gewetest.Server {
	t.Helper()
	s := gewetest.New()
	t.Cleanup(s.Close)
	return s
}

// rawJSON decodes a recorded body keeping the exact JSON of each field.
func rawJSON(t *testing.T, b []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func TestSendText(t *testing.T) {
	tests := []struct {
		name, api, prefix, path string
		at                      []string
		wantRawAt               string // v1: to_wxid_list[0].at; v2: ats (or "" when absent)
	}{
		{"v1 no at", "v1", "", "/api/message/sendmsg", nil, `[]`},
		{"v1 empty at", "", "/", "/api/message/sendmsg", []string{}, `[]`},
		{"v1 at", "v1", "/gewe", "/gewe/api/message/sendmsg", []string{"wxid_a", "wxid_b"}, `["wxid_a","wxid_b"]`},
		{"v1 prefix slash", "v1", "/gewe/", "/gewe/api/message/sendmsg", []string{"notify@all"}, `["notify@all"]`},
		{"v2 no at", "v2", "", "/v2/api/message/postText", nil, ``},
		{"v2 at", "v2", "/gewe", "/gewe/v2/api/message/postText", []string{"wxid_a", "wxid_b"}, `"wxid_a,wxid_b"`},
		{"v2 prefix slash", "v2", "/gewe/", "/gewe/v2/api/message/postText", []string{"notify@all"}, `"notify@all"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fake(t)
			text := "@张三 @李四 构建失败 <b>&amp;</b> \"quoted\"\n第二行"
			out, err := client(s.URL()+tt.prefix, tt.api).Send(context.Background(), gewe.Message{To: "123@chatroom", Text: text, At: tt.at})
			retry := out.Retry()
			require.NoError(t, err)
			assert.False(t, retry)

			reqs := s.Requests()
			require.Len(t, reqs, 1)
			r := reqs[0]
			assert.Equal(t, tt.path, r.Path)
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			assert.Equal(t, gewetest.Token, r.Header.Get("X-GEWE-TOKEN"))

			body := rawJSON(t, r.Body)
			if tt.api == "v2" {
				assert.JSONEq(t, `"`+gewetest.AppID+`"`, string(body["appId"]))
				assert.Equal(t, tt.wantRawAt, string(body["ats"]))
			} else {
				var list []map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(body["to_wxid_list"], &list))
				require.Len(t, list, 1)
				assert.Equal(t, tt.wantRawAt, string(list[0]["at"]))
				assert.Equal(t, `1`, string(list[0]["msg_type"]))
				assert.Equal(t, `""`, string(list[0]["msg_source"]))
			}

			msgs := s.Messages()
			require.Len(t, msgs, 1)
			m := msgs[0]
			assert.Equal(t, gewetest.AppID, m.AppID)
			assert.Equal(t, "123@chatroom", m.To)
			assert.Equal(t, text, m.Content)
			if len(tt.at) == 0 {
				assert.Empty(t, m.At)
			} else {
				assert.Equal(t, tt.at, m.At)
			}
		})
	}
}

func TestSendApp(t *testing.T) {
	xml := `<appmsg appid="" sdkver="0"><title>构建 #42 &amp; "发布" &lt;ok&gt;</title><des>a < b > c & 'd'</des>` +
		"\n\t<type>5</type><url>https://example.com/a?x=1&amp;y=2</url>" +
		`<weappinfo><username><![CDATA[gh_44fc2ced7f87@app]]></username></weappinfo></appmsg>`
	for _, tt := range []struct{ api, path string }{
		{"v1", "/api/message/sendapp"},
		{"v2", "/v2/api/message/postAppMsg"},
	} {
		t.Run(tt.api, func(t *testing.T) {
			s := fake(t)
			r, err := client(s.URL(), tt.api).Deliver(context.Background(), gewe.Message{To: "wxid_x", Text: "ignored", XML: xml})
			require.NoError(t, err)
			assert.Equal(t, "wxid_x", r.To)
			require.Len(t, s.Requests(), 1)
			assert.Equal(t, tt.path, s.Requests()[0].Path)
			msgs := s.Messages()
			require.Len(t, msgs, 1)
			assert.Equal(t, xml, msgs[0].XML)
			assert.Empty(t, msgs[0].Content)
		})
	}
}

func TestReceiptNewMsgIDAbove2to53(t *testing.T) {
	for _, api := range []string{"v1", "v2"} {
		t.Run(api, func(t *testing.T) {
			s := fake(t)
			c := client(s.URL(), api)
			for i := range int64(2) {
				r, err := c.Deliver(context.Background(), gewe.Message{To: "wxid_x", Text: "hi"})
				require.NoError(t, err)
				assert.Equal(t, gewetest.FirstNewMsgID+i, r.NewMsgID)
				assert.Greater(t, r.NewMsgID, int64(1)<<53)
				assert.Equal(t, s.Messages()[i].NewMsgID, r.NewMsgID)
			}
		})
	}
	// The seed's second sample, whose id a float64 would round.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ret":0,"msg":"success","data":{"BaseResponse":{"ret":0,"errMsg":{}},"Count":1,"List":[{"Ret":0,"ToUsetName":{"string":"zhandaddddd88"},"MsgId":0,"NewClientMsgid":3218469563,"Createtime":1689922358,"servertime":1689922360,"Type":1,"NewMsgId":8015075888668773694}],"NoKnow":0}}`)
	}))
	defer srv.Close()
	r, err := client(srv.URL, "v1").Deliver(context.Background(), gewe.Message{To: "zhandaddddd88", Text: "hi"})
	require.NoError(t, err)
	assert.Equal(t, gewe.Receipt{To: "zhandaddddd88", NewMsgID: 8015075888668773694, CreateTime: 1689922358}, *r)
}

func TestFailureModes(t *testing.T) {
	tests := []struct {
		mode                     gewetest.Mode
		api                      string
		kind                     gewe.Kind
		retry, pauses, timeout   bool
		maybeDelivered, delivers bool
		want                     string // in err.Error()
	}{
		{gewetest.HTTP500, "v1", gewe.Server, true, false, false, false, false, "gewe sendmsg: server error: HTTP 500"},
		{gewetest.HTTP500, "v2", gewe.Server, true, false, false, false, false, "gewe postText: server error: HTTP 500"},
		{gewetest.Fail, "v1", gewe.Rejected, true, false, false, false, false, "gewe sendmsg: send failed: 失败"},
		{gewetest.Fail, "v2", gewe.Rejected, true, false, false, false, false, "gewe postText: send failed: 失败"},
		{gewetest.Offline, "v1", gewe.Offline, true, true, false, false, false, "gewe sendmsg: account offline: 发送消息失败-微信已离线(-1)"},
		{gewetest.Offline, "v2", gewe.Offline, true, true, false, false, false, "gewe postText: account offline: 发送消息失败-微信已离线(-1)"},
		{gewetest.RiskControl, "v1", gewe.RiskControl, true, true, false, false, false, "risk control: 发送消息失败-操作过于频繁"},
		{gewetest.TokenError, "v1", gewe.Token, false, true, false, false, false, "gewe sendmsg: token rejected: token invalid"},
		{gewetest.TokenError, "v2", gewe.Token, false, true, false, false, false, "gewe postText: token rejected: token无效"},
		{gewetest.BadRequest, "v1", gewe.BadRequest, false, false, false, false, false, "gewe sendmsg: bad request: 参数错误"},
		{gewetest.BadRequest, "v2", gewe.BadRequest, false, false, false, false, false, "bad request: 参数错误"},
		{gewetest.ListFail, "v1", gewe.Rejected, true, false, false, false, false, "recipient wxid_x: List[0].Ret -2"},
		{gewetest.NotJSON, "v1", gewe.Unknown, true, false, false, false, false, "unrecognised answer: answer is not JSON: <html>"},
		{gewetest.NotJSON, "v2", gewe.Unknown, true, false, false, false, false, "unrecognised answer"},
		{gewetest.CloseConn, "v1", gewe.Network, true, false, false, true, false, "gewe sendmsg: network error"},
		{gewetest.CloseConn, "v2", gewe.Network, true, false, false, true, false, "gewe postText: network error"},
		{gewetest.Slow, "v1", gewe.Timeout, true, false, true, true, true, "gewe sendmsg: timeout (the message may have been delivered)"},
		{gewetest.Slow, "v2", gewe.Timeout, true, false, true, true, true, "timeout"},
		{gewetest.NotFound, "v1", gewe.WrongEndpoint, true, true, false, false, false, "gewe sendmsg: wrong base_url or api (HTTP 404 from /api/message/sendmsg)"},
		{gewetest.NotFound, "v2", gewe.WrongEndpoint, true, true, false, false, false, "gewe postText: wrong base_url or api (HTTP 404 from /v2/api/message/postText)"},
		{gewetest.TokenExpired, "v2", gewe.Token, false, true, false, false, false, "gewe postText: token rejected: HTTP HEADER: X-GEWE-TOKEN=[redacted] 不可用或已过期"},
		{gewetest.UnknownAppID, "v1", gewe.UnknownApp, true, true, false, false, false, "gewe sendmsg: app_id unknown to GeWe: 操作失败; [wx_test_app]设备不存在"},
		{gewetest.UnknownAppID, "v2", gewe.UnknownApp, true, true, false, false, false, "gewe postText: app_id unknown to GeWe: 操作失败; [wx_test_app]设备不存在"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%s", tt.mode, tt.api), func(t *testing.T) {
			s := fake(t)
			s.SetDelay(2 * time.Second)
			s.FailNext(1, tt.mode)
			c := gewe.New(gewe.Config{BaseURL: s.URL(), Token: gewetest.Token, AppID: gewetest.AppID, API: tt.api, Timeout: 200 * time.Millisecond}, nil)
			out, err := c.Send(context.Background(), gewe.Message{To: "wxid_x", Text: "hi"})
			retry := out.Retry()
			require.Error(t, err)
			e, ok := gewe.AsError(err)
			require.True(t, ok)
			assert.Equal(t, tt.kind, e.Kind, err.Error())
			// The outcome: an account failure pauses (and keeps the
			// message) whether or not the failure itself is retryable.
			assert.Equal(t, tt.retry || tt.pauses, retry)
			assert.Equal(t, tt.retry, e.Retryable())
			assert.Equal(t, tt.pauses, e.Pauses())
			assert.Equal(t, tt.pauses, out == gewe.Pause, "outcome %s", out)
			assert.Equal(t, tt.timeout, e.Timeout())
			assert.Equal(t, tt.maybeDelivered, e.MaybeDelivered())
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), gewetest.Token)

			if tt.delivers { // the fake sent it although the client gave up
				assert.Len(t, s.WaitFor(1, 5*time.Second), 1)
			} else {
				assert.Empty(t, s.Messages())
			}
			// The next message goes through: the failure was one-off.
			_, err = gewe.New(gewe.Config{BaseURL: s.URL(), Token: gewetest.Token, AppID: gewetest.AppID, API: tt.api}, nil).
				Send(context.Background(), gewe.Message{To: "wxid_x", Text: "hi"})
			require.NoError(t, err)
		})
	}
}

func TestFakeValidates(t *testing.T) {
	tests := []struct {
		name, api, token, appID string
		kind                    gewe.Kind
		want                    string
	}{
		{"v1 wrong token", "v1", "nope-nope", gewetest.AppID, gewe.Token, "token invalid"},
		{"v1 no token", "v1", "", gewetest.AppID, gewe.Token, "token invalid"},
		{"v2 no token", "v2", "", gewetest.AppID, gewe.Token, "header:X-GEWE-TOKEN 不可为空"},
		// Was ret 401 "token无效或已过期", a shape of the fake's own; real v2 echoes the token.
		{"v2 wrong token", "v2", "nope-nope", gewetest.AppID, gewe.Token, "token rejected: HTTP HEADER: X-GEWE-TOKEN=[redacted] 不可用或已过期"},
		{"v1 wrong app id", "v1", gewetest.Token, "wx_other", gewe.BadRequest, "appid 不存在"},
		// Was BadRequest "参数错误: appId 不存在", a shape of the fake's own: real v2 says
		// 设备不存在 in data.msg, and a wrong app id pauses rather than dead-letters.
		{"v2 wrong app id", "v2", gewetest.Token, "wx_other", gewe.UnknownApp, "app_id unknown to GeWe: 操作失败; [wx_other]设备不存在"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fake(t)
			c := gewe.New(gewe.Config{BaseURL: s.URL(), Token: tt.token, AppID: tt.appID, API: tt.api}, nil)
			out, err := c.Send(context.Background(), gewe.Message{To: "wxid_x", Text: "hi"})
			retry := out.Retry()
			e, ok := gewe.AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, tt.kind, e.Kind)
			want := gewe.Pause // a wrong token or app id pauses the account and keeps the message
			if tt.kind == gewe.BadRequest {
				want = gewe.GiveUp
			}
			assert.Equal(t, want, out)
			assert.Equal(t, want.Retry(), retry)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "nope-nope")
		})
	}
}

func TestInvalidMessage(t *testing.T) {
	s := fake(t)
	c := client(s.URL(), "v1")
	for _, m := range []gewe.Message{{Text: "no recipient"}, {To: " "}, {To: "wxid_x"}} {
		out, err := c.Send(context.Background(), m)
		retry := out.Retry()
		e, ok := gewe.AsError(err)
		require.True(t, ok)
		assert.Equal(t, gewe.BadRequest, e.Kind)
		assert.False(t, retry)
	}
	_, err := gewe.New(gewe.Config{BaseURL: s.URL(), API: "v3"}, nil).Send(context.Background(), gewe.Message{To: "x", Text: "y"})
	assert.ErrorContains(t, err, `api "v3"`)
	assert.Empty(t, s.Requests())
}

// answer is a server that answers every request with status and body.
func answer(t *testing.T, status int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestAnswers(t *testing.T) {
	tests := []struct {
		name   string
		api    string
		status int
		body   string
		kind   gewe.Kind // -1: success
		retry  bool
	}{
		{"v1 ok without data", "v1", 200, `{"ret":0,"msg":"success"}`, -1, false},
		{"v1 ok ToUsetName string", "v1", 200, `{"ret":0,"data":{"List":[{"Ret":0,"ToUsetName":"wxid_x","NewMsgId":"435902963537395300"}]}}`, -1, false},
		{"v1 BaseResponse failed", "v1", 200, `{"ret":0,"msg":"success","data":{"BaseResponse":{"ret":-104,"errMsg":{"string":"操作频繁"}},"List":[]}}`, gewe.RiskControl, true},
		{"v1 BaseResponse failed silently", "v1", 200, `{"ret":0,"data":{"BaseResponse":{"ret":-1,"errMsg":{}}}}`, gewe.Rejected, true},
		{"v1 second List entry failed", "v1", 200, `{"ret":0,"data":{"BaseResponse":{"ret":0},"List":[{"Ret":0},{"Ret":-44}]}}`, gewe.Rejected, true},
		{"v1 ret 200 is not success", "v1", 200, `{"ret":200,"msg":"操作成功"}`, gewe.Rejected, true},
		{"v1 no ret", "v1", 200, `{"msg":"success"}`, gewe.Unknown, true},
		{"v1 float ret", "v1", 200, `{"ret":0.5}`, gewe.Unknown, true},
		{"empty 204", "v1", 204, ``, gewe.Unknown, true},
		{"v1 msg is an object", "v1", 200, `{"ret":-1,"msg":{"string":"微信未登录"}}`, gewe.Offline, true},
		{"v2 ok", "v2", 200, `{"ret":200,"msg":"操作成功","data":{"toWxid":"wxid_x","newMsgId":7353245226413457497}}`, -1, false},
		{"v2 ok odd data", "v2", 200, `{"ret":200,"msg":"操作成功","data":"ok"}`, -1, false},
		{"v2 ret 0 is not success", "v2", 200, `{"ret":0,"msg":"success"}`, gewe.Rejected, true},
		{"v2 ret 401", "v2", 200, `{"ret":401,"msg":"unauthorized"}`, gewe.Token, false},
		{"v2 login expired", "v2", 200, `{"ret":500,"msg":"登录过期,请重新登录"}`, gewe.Offline, true},
		{"400", "v1", 400, `bad`, gewe.BadRequest, false},
		{"401", "v1", 401, ``, gewe.Token, false},
		{"404", "v1", 404, `404 page not found`, gewe.WrongEndpoint, true}, // was Status, permanent
		{"404 Spring", "v2", 404, `{"timestamp":"2025-04-23T10:00:00.000+00:00","status":404,"error":"Not Found","path":"/v2/api/v2/api/message/postText"}`, gewe.WrongEndpoint, true},
		{"v2 token echoed", "v2", 200, `{"ret":500,"msg":"HTTP HEADER: X-GEWE-TOKEN=abc 不可用或已过期"}`, gewe.Token, false},
		{"v2 detail in data.msg", "v2", 200, `{"ret":500,"msg":"获取二维码失败","data":{"code":"-1","msg":"[wx_a]设备不存在"}}`, gewe.UnknownApp, true},
		{"v2 offline in data.msg", "v2", 200, `{"ret":500,"msg":"发送消息失败","data":{"code":"-2","msg":"微信已离线"}}`, gewe.Offline, true},
		{"v2 data.msg not a string", "v2", 200, `{"ret":500,"msg":"失败","data":{"msg":{"string":"未登录"}}}`, gewe.Offline, true},
		{"v2 data a string", "v2", 200, `{"ret":500,"msg":"失败","data":"未登录"}`, gewe.Rejected, true},
		{"408", "v1", 408, ``, gewe.Status, true},
		{"429", "v2", 429, `slow down`, gewe.Status, true},
		{"502", "v1", 502, `<html>Bad Gateway</html>`, gewe.Server, true},
		{"500 offline words", "v2", 500, `{"ret":500,"msg":"发送消息失败-微信已离线(-1)"}`, gewe.Offline, true},
		{"redirect not followed", "v1", 302, ``, gewe.Status, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client(answer(t, tt.status, tt.body), tt.api).Send(context.Background(), gewe.Message{To: "wxid_x", Text: "hi"})
			if e, ok := gewe.AsError(err); ok && e.Pauses() {
				assert.Equal(t, gewe.Pause, out, "an account failure pauses, keeping the message")
			} else {
				assert.Equal(t, tt.retry, out.Retry())
			}
			if tt.kind < 0 {
				require.NoError(t, err)
				return
			}
			e, ok := gewe.AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, tt.kind, e.Kind, err.Error())
		})
	}
}

func TestRedirectKeepsToken(t *testing.T) {
	var leaked string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = r.Header.Get("X-GEWE-TOKEN")
		io.WriteString(w, `{"ret":0}`)
	}))
	defer other.Close()
	redir := httptest.NewServer(http.RedirectHandler(other.URL+"/api/message/sendmsg", http.StatusTemporaryRedirect))
	defer redir.Close()
	hc := &http.Client{} // even the caller's client does not follow
	_, err := gewe.New(gewe.Config{BaseURL: redir.URL, Token: gewetest.Token, AppID: "wx"}, hc).Send(context.Background(), gewe.Message{To: "x", Text: "y"})
	assert.ErrorContains(t, err, "HTTP 307")
	assert.Empty(t, leaked)
	assert.Nil(t, hc.CheckRedirect, "the caller's client is not modified")
}

func TestLargeAnswer(t *testing.T) {
	big := `{"ret":0,"msg":"` + strings.Repeat("x", 2<<20) + `"}`
	_, err := client(answer(t, 200, big), "v1").Send(context.Background(), gewe.Message{To: "x", Text: "y"})
	assert.ErrorContains(t, err, "larger than 1 MiB")
}

func TestContext(t *testing.T) {
	s := fake(t)
	s.SetMode(gewetest.Slow)
	s.SetDelay(5 * time.Second)
	c := client(s.URL(), "v1")

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	out, err := c.Send(ctx, gewe.Message{To: "x", Text: "y"})
	retry := out.Retry()
	assert.True(t, retry)
	assert.ErrorIs(t, err, context.Canceled)
	e, _ := gewe.AsError(err)
	assert.Equal(t, gewe.Canceled, e.Kind)
	assert.False(t, e.Timeout())
	assert.True(t, e.MaybeDelivered())

	ctx, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	out, err = c.Send(ctx, gewe.Message{To: "x", Text: "y"})
	retry = out.Retry()
	assert.True(t, retry)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	e, _ = gewe.AsError(err)
	assert.Equal(t, gewe.Timeout, e.Kind)
	assert.True(t, e.Timeout())

	// A context that ended before the send: nothing went out.
	_, err = c.Send(ctx, gewe.Message{To: "x", Text: "y"})
	e, _ = gewe.AsError(err)
	assert.Equal(t, gewe.Canceled, e.Kind)
	assert.False(t, e.MaybeDelivered())
	assert.Len(t, s.Requests(), 2)
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	out, err := client(url, "v1").Send(context.Background(), gewe.Message{To: "x", Text: "y"})
	retry := out.Retry()
	assert.True(t, retry)
	e, ok := gewe.AsError(err)
	require.True(t, ok)
	assert.Equal(t, gewe.Network, e.Kind)
	assert.False(t, e.MaybeDelivered(), "nothing was written")
	assert.False(t, e.Timeout())
	assert.Contains(t, err.Error(), "gewe sendmsg: network error: Post")
}

// TestTokenNeverInErrors runs every failure the client can meet with a
// token that is also echoed by the server, and looks for it in the text.
func TestTokenNeverInErrors(t *testing.T) {
	const token = "secret-token-6b1d2c"
	var errs []error
	send := func(base, api string, timeout time.Duration, ctx context.Context) {
		c := gewe.New(gewe.Config{BaseURL: base, Token: token, AppID: gewetest.AppID, API: api, Timeout: timeout}, nil)
		_, err := c.Send(ctx, gewe.Message{To: "wxid_x", Text: "hi"})
		require.Error(t, err)
		errs = append(errs, err)
	}
	s := fake(t)
	s.SetToken(token)
	s.SetDelay(time.Second)
	for _, api := range []string{"v1", "v2"} {
		for _, mode := range []gewetest.Mode{gewetest.HTTP500, gewetest.Fail, gewetest.Offline, gewetest.RiskControl,
			gewetest.TokenError, gewetest.BadRequest, gewetest.ListFail, gewetest.NotJSON, gewetest.CloseConn, gewetest.Slow,
			gewetest.NotFound, gewetest.TokenExpired, gewetest.UnknownAppID} {
			s.FailNext(1, mode)
			send(s.URL()+"/"+token, api, 100*time.Millisecond, context.Background()) // even a token in the URL
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		send(s.URL(), api, time.Second, ctx)
		s.SetToken("another-token")
		send(s.URL(), api, time.Second, context.Background())
		s.SetToken(token)
	}
	for _, status := range []int{200, 400, 401, 404, 500} {
		echo := `{"ret":-1,"msg":"token ` + token + ` is invalid"}`
		send(answer(t, status, echo), "v1", time.Second, context.Background())
		send(answer(t, status, "<pre>"+token+"</pre>"), "v2", time.Second, context.Background())
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	send(srv.URL+"/"+token, "v1", time.Second, context.Background())
	send("http://exa mple/"+token, "v1", time.Second, context.Background())

	require.Len(t, errs, 2*15+10+2)
	for _, err := range errs {
		assert.NotContains(t, err.Error(), token)
		assert.NotContains(t, fmt.Sprintf("%+v", err), token)
		for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
			assert.NotContains(t, u.Error(), token)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := gewe.Config{BaseURL: "http://h/gewe", Token: "t", AppID: "wx_1"}
	require.NoError(t, ok.Validate())
	tests := []struct {
		edit func(*gewe.Config)
		want string
	}{
		{func(c *gewe.Config) { c.BaseURL = "" }, "base_url is required"},
		{func(c *gewe.Config) { c.BaseURL = "h/gewe" }, "not an http(s) URL"},
		{func(c *gewe.Config) { c.BaseURL = "ftp://h" }, "not an http(s) URL"},
		{func(c *gewe.Config) { c.BaseURL = "http://h?a=1" }, "query"},
		{func(c *gewe.Config) { c.Token = "" }, "token is required"},
		{func(c *gewe.Config) { c.AppID = "" }, "app_id is required"},
		{func(c *gewe.Config) { c.API = "V2" }, `api "V2"`},
		{func(c *gewe.Config) { c.Timeout = -time.Second }, "negative"},
	}
	for _, tt := range tests {
		c := ok
		tt.edit(&c)
		assert.ErrorContains(t, c.Validate(), tt.want)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A transport of the caller's that reports nothing: a failure may have
// been delivered.
func TestCustomTransport(t *testing.T) {
	hc := &http.Client{Transport: roundTripper(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("connection reset by peer")
	})}
	_, err := gewe.New(gewe.Config{BaseURL: "http://h", Token: "t", AppID: "wx"}, hc).Send(context.Background(), gewe.Message{To: "x", Text: "y"})
	e, ok := gewe.AsError(err)
	require.True(t, ok)
	assert.Equal(t, gewe.Network, e.Kind)
	assert.True(t, e.MaybeDelivered())
}

func TestEndpoint(t *testing.T) {
	tests := []struct{ base, api, want, err string }{
		{"http://h:2531", "v2", "http://h:2531/v2/api", ""},
		{"http://h:2531/", "v2", "http://h:2531/v2/api", ""},
		{"http://h:2531/v2/api", "v2", "http://h:2531/v2/api", ""}, // what the SDKs tell users to set
		{"http://h:2531/v2/api//", "v2", "http://h:2531/v2/api", ""},
		{"https://h/gewe", "v2", "https://h/gewe/v2/api", ""},
		{"https://h/gewe/v2/api/", "v2", "https://h/gewe/v2/api", ""},
		{"http://h", "", "http://h/api", ""},
		{"http://h/", "v1", "http://h/api", ""},
		{"http://h/api", "v1", "http://h/api", ""}, // the seed's URL without its action
		{"http://h/gewe/api/", "v1", "http://h/gewe/api", ""},
		{"http://h:2531/v2/api", "", "", "ends in /v2/api, the v2 API, but api is v1 (the default): set api: v2"},
		{"http://h:2531/v2/api/", "v1", "", "set api: v2"},
		{"", "v2", "", "base_url is required"},
		{"h:2531", "v2", "", "not an http(s) URL"},
		{"http://h?x=1", "v2", "", "query"},
		{"http://h", "v3", "", `api "v3" is not "v1" or "v2"`},
	}
	for _, tt := range tests {
		got, err := gewe.Endpoint(tt.base, tt.api)
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, "%s %s", tt.base, tt.api)
			continue
		}
		require.NoError(t, err, "%s %s", tt.base, tt.api)
		assert.Equal(t, tt.want, got, "%s %s", tt.base, tt.api)
	}
	c := gewe.Config{BaseURL: "http://h:2531/v2/api", Token: "t", AppID: "wx_1"}
	assert.ErrorContains(t, c.Validate(), "set api: v2")
	c.API = "v2"
	assert.NoError(t, c.Validate())
}

// Every base_url form reaches the same path on a server that serves only
// that path, as Gewechat (v2 only, at the root) and hosted GeWe (/gewe) do.
func TestBaseURLForms(t *testing.T) {
	tests := []struct {
		name, prefix, api string
		bases             []string
		path              string
	}{
		{"gewechat 2531", "", "v2", []string{"", "/", "/v2/api", "/v2/api/"}, "/v2/api/message/postText"},
		{"hosted", "/gewe", "v2", []string{"/gewe", "/gewe/", "/gewe/v2/api", "/gewe/v2/api/"}, "/gewe/v2/api/message/postText"},
		{"v1", "", "v1", []string{"", "/", "/api", "/api/"}, "/api/message/sendmsg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fake(t)
			s.SetPrefix(tt.prefix)
			s.SetAPIs(tt.api)
			for _, b := range tt.bases {
				_, err := client(s.URL()+b, tt.api).Send(context.Background(), gewe.Message{To: "wxid_x", Text: "base " + b})
				require.NoError(t, err, "base_url %q", b)
			}
			for _, r := range s.Requests() {
				assert.Equal(t, tt.path, r.Path)
			}
			assert.Len(t, s.Messages(), len(tt.bases))
		})
	}
}

// A 404 pauses the account and keeps the message, whatever answers it.
func TestNotFoundPauses(t *testing.T) {
	s := fake(t)
	s.SetPrefix("")
	s.SetAPIs("v2") // Gewechat: v1's paths do not exist
	tests := []struct{ name, base, api, path string }{
		{"v1 on gewechat", s.URL(), "v1", "/api/message/sendmsg"},
		{"wrong prefix", s.URL() + "/gewe", "v2", "/gewe/v2/api/message/postText"},
		{"token in the path", s.URL() + "/x" + gewetest.Token, "v2", "/x[redacted]/v2/api/message/postText"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client(tt.base, tt.api).Send(context.Background(), gewe.Message{To: "wxid_x", Text: "hi"})
			retry := out.Retry()
			e, ok := gewe.AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, gewe.WrongEndpoint, e.Kind)
			assert.True(t, retry)
			assert.True(t, e.Pauses())
			assert.Equal(t, tt.path, e.Path)
			assert.Contains(t, err.Error(), "wrong base_url or api (HTTP 404 from "+tt.path+")")
			assert.NotContains(t, err.Error(), gewetest.Token)
			assert.Equal(t, "wrong_endpoint", e.Kind.Reason())
		})
	}
	assert.Empty(t, s.Messages())

	// A config that cannot work fails before any request, the same way.
	before := len(s.Requests())
	out, err := client(s.URL()+"/v2/api", "v1").Send(context.Background(), gewe.Message{To: "wxid_x", Text: "hi"})
	retry := out.Retry()
	e, _ := gewe.AsError(err)
	require.NotNil(t, e)
	assert.Equal(t, gewe.WrongEndpoint, e.Kind)
	assert.True(t, retry)
	assert.True(t, e.Pauses())
	assert.Contains(t, err.Error(), "set api: v2")
	assert.Len(t, s.Requests(), before)
}

// The v2 token error echoes the token: it never reaches an error text,
// not even half of it cut by an excerpt.
func TestTokenEchoRedacted(t *testing.T) {
	const token = "c9ffbedb9aeb471db49d92453ea21a17"
	s := fake(t) // expects gewetest.Token: answers the real token error
	c := gewe.New(gewe.Config{BaseURL: s.URL(), Token: token, AppID: gewetest.AppID, API: "v2"}, nil)
	out, err := c.Send(context.Background(), gewe.Message{To: "wxid_x", Text: "hi"})
	retry := out.Retry()
	e, ok := gewe.AsError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, gewe.Token, e.Kind)
	assert.Equal(t, gewe.Pause, out)
	assert.True(t, retry, "the message waits for a working token")
	assert.True(t, e.Pauses())
	assert.Equal(t, int64(500), e.Ret)
	assert.Equal(t, "HTTP HEADER: X-GEWE-TOKEN=[redacted] 不可用或已过期", e.Msg)
	assert.Equal(t, "gewe postText: token rejected: HTTP HEADER: X-GEWE-TOKEN=[redacted] 不可用或已过期", err.Error())
	assert.Contains(t, string(s.Requests()[0].Body), gewetest.AppID)

	half := token[:8] // what a cut excerpt kept of it before the answer was redacted first
	for _, body := range []string{
		strings.Repeat("x", 190) + token,                              // "answer is not JSON: " + 200 bytes
		`{"ret":-1,"msg":"` + strings.Repeat("错", 166) + token + `"}`, // cut at 512 bytes
		`{"ret":500,"msg":"失败","data":{"msg":"` + token + `"}}`,
	} {
		_, err := gewe.New(gewe.Config{BaseURL: answer(t, 200, body), Token: token, AppID: "wx"}, nil).Send(context.Background(), gewe.Message{To: "x", Text: "y"})
		require.Error(t, err)
		assert.NotContains(t, err.Error(), half)
		assert.Contains(t, err.Error(), "[redacted]")
	}
}
