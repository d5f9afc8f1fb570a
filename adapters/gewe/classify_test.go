package gewe

import (
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
		{404, "", Status, false},
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
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.e.Error())
	}
}

func TestRedact(t *testing.T) {
	e := redact(&Error{Msg: "bad token abcdef", Err: assert.AnError}, "abcdef")
	assert.Equal(t, "bad token <token>", e.Msg)
	e = redact(&Error{Msg: "a b c"}, "a") // too short to redact safely
	assert.Equal(t, "a b c", e.Msg)
}

func TestExcerpt(t *testing.T) {
	assert.Equal(t, "a b", excerpt(" a\n\tb ", 10))
	assert.Equal(t, "微…", excerpt("微信已离线", 4)) // never cuts a rune
}
