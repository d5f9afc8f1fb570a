package gewe_test

import (
	"context"
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

func TestCheck(t *testing.T) {
	const R, W, U = gewe.Right, gewe.Wrong, gewe.Unverified
	refused := httptest.NewServer(http.NotFoundHandler())
	refused.Close()
	tests := []struct {
		name, base, api, token, appID string
		setup                         func(*gewetest.Server)
		want                          [4]gewe.Verdict // URL, token, app id, online
		note                          string          // in String()
		ok                            bool
	}{
		{"v2 all right", "", "v2", "", "", nil, [4]gewe.Verdict{R, R, R, R}, "logged in", true},
		{"v2 as the SDKs say", "/v2/api/", "v2", "", "", nil, [4]gewe.Verdict{R, R, R, R}, "/v2/api answers", true},
		{"v2 doubled by hand", "/v2/api/v2/api", "v2", "", "", nil, [4]gewe.Verdict{W, U, U, U}, "HTTP 404 from /v2/api/v2/api/login/checkOnline", false},
		{"v1 on gewechat", "", "v1", "", "", func(s *gewetest.Server) { s.SetAPIs("v2") }, [4]gewe.Verdict{W, U, U, U}, "base_url or api is wrong", false},
		{"v1 suffix contradicts api", "/v2/api", "v1", "", "", nil, [4]gewe.Verdict{W, U, U, U}, "set api: v2", false},
		{"unreachable", "refused", "v2", "", "", nil, [4]gewe.Verdict{W, U, U, U}, "unreachable", false},
		{"v2 wrong token", "", "v2", "c9ffbedb9aeb471db49d92453ea21a17", "", nil, [4]gewe.Verdict{R, W, U, U}, "X-GEWE-TOKEN=[redacted] 不可用或已过期", false},
		{"v2 no token", "", "v2", "-", "", nil, [4]gewe.Verdict{R, W, U, U}, "header:X-GEWE-TOKEN 不可为空", false},
		{"v2 unknown app id", "", "v2", "", "wx_other", nil, [4]gewe.Verdict{R, R, W, U}, "[wx_other]设备不存在", false},
		{"v2 logged out", "", "v2", "", "", func(s *gewetest.Server) { s.SetOnline(false) }, [4]gewe.Verdict{R, R, U, W}, "not logged in", false},
		{"v2 offline answer", "", "v2", "", "", func(s *gewetest.Server) { s.SetMode(gewetest.Offline) }, [4]gewe.Verdict{R, R, R, W}, "微信已离线", false},
		{"v2 server error", "", "v2", "", "", func(s *gewetest.Server) { s.SetMode(gewetest.HTTP500) }, [4]gewe.Verdict{U, U, U, U}, "HTTP 500", false},
		{"v2 not GeWe", "", "v2", "", "", func(s *gewetest.Server) { s.SetMode(gewetest.NotJSON) }, [4]gewe.Verdict{W, U, U, U}, "not GeWe's", false},
		{"v1 all it can tell", "", "v1", "", "", nil, [4]gewe.Verdict{R, R, U, U}, "v1 has no status call", true},
		{"v1 wrong token", "", "v1", "wrong-token", "", nil, [4]gewe.Verdict{R, W, U, U}, "token invalid", false},
		{"v1 wrong app id", "", "v1", "", "wx_other", nil, [4]gewe.Verdict{R, R, W, U}, "appid 不存在", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fake(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			base := s.URL() + tt.base
			if tt.base == "refused" {
				base = refused.URL
			}
			token, appID := gewetest.Token, gewetest.AppID
			if tt.token == "-" {
				token = ""
			} else if tt.token != "" {
				token = tt.token
			}
			if tt.appID != "" {
				appID = tt.appID
			}
			c := gewe.New(gewe.Config{BaseURL: base, Token: token, AppID: appID, API: tt.api, Timeout: 5 * time.Second}, nil)
			r := c.Check(context.Background())
			out := r.String()
			assert.Equal(t, tt.want, [4]gewe.Verdict{r.URL.Verdict, r.Token.Verdict, r.AppID.Verdict, r.Online.Verdict}, out)
			assert.Contains(t, out, tt.note)
			assert.Equal(t, tt.ok, r.OK(), out)
			assert.Len(t, strings.Split(strings.TrimSuffix(out, "\n"), "\n"), 4, "one line per item")
			if token != "" {
				assert.NotContains(t, out, token)
				if r.Failure != nil {
					assert.NotContains(t, r.Failure.Error(), token)
				}
			}
			assert.Empty(t, s.Messages(), "a check sends nothing")
			for _, rq := range s.Requests() {
				assert.NotEqual(t, "postText", rq.Action)
			}
		})
	}
}

func TestCheckString(t *testing.T) {
	s := fake(t)
	r := gewe.New(gewe.Config{BaseURL: s.URL() + "/v2/api", Token: gewetest.Token, AppID: "wx_other", API: "v2"}, nil).Check(context.Background())
	base := s.URL() + "/v2/api"
	assert.Equal(t, base, r.Endpoint)
	want := "base_url/api  ok     " + base + " answers\n" +
		"token         ok     accepted\n" +
		"app_id        WRONG  GeWe has no device with this app_id: 操作失败; [wx_other]设备不存在\n" +
		"logged in     ?      not checked: app_id is wrong\n"
	assert.Equal(t, want, r.String())
	require.NotNil(t, r.Failure)
	assert.Equal(t, gewe.UnknownApp, r.Failure.Kind)
	reqs := s.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/v2/api/login/checkOnline", reqs[0].Path)
	assert.JSONEq(t, `{"appId":"wx_other"}`, string(reqs[0].Body))
}
