package gewe

import (
	"errors"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		ret  int64
		v2   bool
		msg  string
		want Kind
	}{
		{-1, false, "发送消息失败-微信已离线(-1)", Offline},
		{500, true, "发送消息失败-微信已离线(-1)", Offline},
		{-1, false, "微信未登录", Offline},
		{-1, false, "登录过期", Offline},
		{-1, false, "账号已被风控", RiskControl},
		{-1, false, "操作过于频繁,请稍后再试", RiskControl},
		{-1, false, "发送受限制", RiskControl},
		{-1, false, "token invalid", Token},
		{-1, false, "Invalid TOKEN", Token},
		{500, true, "header:X-GEWE-TOKEN 不可为空", Token}, // token before 不可为空
		{401, true, "unauthorized", Token},
		{401, false, "unauthorized", Rejected}, // 401 only means token in v2
		{500, true, "HTTP HEADER: X-GEWE-TOKEN=[redacted] 不可用或已过期", Token},
		{500, true, "获取二维码失败; [wx_lM-h71Ffc_lIqKy]设备不存在", UnknownApp},
		{-1, false, "[wx_x]设备不存在", UnknownApp},
		{-1, false, "参数错误", BadRequest},
		{500, true, "content不可为空", BadRequest},
		{-1, false, "失败", Rejected},
		{-2, false, "", Rejected},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, classify(tt.ret, tt.v2, tt.msg), "%d %v %q", tt.ret, tt.v2, tt.msg)
	}
}

func TestClassifyStatus(t *testing.T) {
	tests := []struct {
		status int
		msg    string
		want   Kind
		retry  bool
	}{
		{500, "", Server, true},
		{503, "upstream", Server, true},
		{502, "微信已离线", Offline, true},
		{400, "", BadRequest, false},
		{401, "", Token, false},
		{403, "", Token, false},
		{404, "", WrongEndpoint, true},            // was Status, permanent: every message dead-lettered
		{404, "token 限制 离线", WrongEndpoint, true}, // a 404's body may echo a path with any words in it
		{405, "", Status, false},
		{408, "", Status, true},
		{429, "", Status, true},
		{301, "", Status, false},
	}
	for _, tt := range tests {
		k := classifyStatus(tt.status, tt.msg)
		assert.Equal(t, tt.want, k, "%d %q", tt.status, tt.msg)
		assert.Equal(t, tt.retry, (&Error{Kind: k, Status: tt.status}).Retryable(), "%d", tt.status)
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{Op: "sendmsg", Kind: Offline, Ret: -1, Msg: "发送消息失败-微信已离线(-1)"}, "gewe sendmsg: account offline: 发送消息失败-微信已离线(-1)"},
		{Error{Op: "sendapp", Kind: Rejected, Ret: -2}, "gewe sendapp: send failed: ret -2"},
		{Error{Op: "postText", Kind: Server, Status: 502, Msg: "Bad Gateway"}, "gewe postText: server error: HTTP 502: Bad Gateway"},
		{Error{Op: "sendmsg", Kind: Kind(99)}, "gewe sendmsg: kind 99"},
		{Error{Op: "postText", Kind: WrongEndpoint, Status: 404, Path: "/v2/api/v2/api/message/postText"},
			"gewe postText: wrong base_url or api (HTTP 404 from /v2/api/v2/api/message/postText)"},
		{Error{Op: "sendmsg", Kind: WrongEndpoint, Msg: `config: api "v3" is not "v1" or "v2"`},
			`gewe sendmsg: wrong base_url or api: config: api "v3" is not "v1" or "v2"`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.e.Error())
	}
}

func TestRedact(t *testing.T) {
	e := redact(&Error{Msg: "bad token abcdef", Err: assert.AnError}, "abcdef")
	assert.Equal(t, "bad token [redacted]", e.Msg) // was "<token>"
	e = redact(&Error{Msg: "a b c"}, "a")          // too short to redact safely
	assert.Equal(t, "a b c", e.Msg)
}

func TestExcerpt(t *testing.T) {
	assert.Equal(t, "a b", excerpt(" a\n\tb ", 10))
	assert.Equal(t, "微…", excerpt("微信已离线", 4)) // never cuts a rune
}

func TestKindReason(t *testing.T) {
	want := map[Kind]string{
		Unknown: "unrecognised_answer", Network: "network", Timeout: "timeout", Canceled: "canceled",
		Server: "server_error", Status: "http_status", Rejected: "rejected", Offline: "offline",
		RiskControl: "risk_control", Token: "token", BadRequest: "bad_request",
		WrongEndpoint: "wrong_endpoint", UnknownApp: "unknown_app_id", Kind(99): "kind_99",
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	for k, r := range want {
		assert.Equal(t, r, k.Reason(), k.String())
		assert.Regexp(t, snake, k.Reason())
	}
	for k := Unknown; k <= UnknownApp; k++ {
		assert.Contains(t, want, k, "every kind has a reason in this table")
	}
	assert.Equal(t, "network error", Network.String())
}

func TestKindPauses(t *testing.T) {
	for k := Unknown; k <= UnknownApp; k++ {
		pauses := k == Offline || k == RiskControl || k == Token || k == WrongEndpoint || k == UnknownApp
		assert.Equal(t, pauses, k.Pauses(), k.String())
		assert.Equal(t, pauses, (&Error{Kind: k}).Pauses(), k.String())
	}
	// Nothing that pauses is lost by a caller that reads only the retry
	// bool, except Token, which was permanent before.
	assert.True(t, (&Error{Kind: WrongEndpoint, Status: 404}).Retryable())
	assert.True(t, (&Error{Kind: UnknownApp}).Retryable())
	assert.False(t, (&Error{Kind: Token}).Retryable())
}

func TestRedactText(t *testing.T) {
	const token = "c9ffbedb9aeb471db49d92453ea21a17"
	assert.Equal(t, "HTTP HEADER: X-GEWE-TOKEN=[redacted] 不可用或已过期", redactText("HTTP HEADER: X-GEWE-TOKEN="+token+" 不可用或已过期", token))
	e := redact(&Error{Path: "/" + token + "/api/message/sendmsg", Err: errors.New("Post \"http://h/" + token + "\": EOF")}, token)
	assert.Equal(t, "/[redacted]/api/message/sendmsg", e.Path)
	assert.Equal(t, `Post "http://h/[redacted]": EOF`, e.Err.Error())
}
