// Package gewe sends messages through the GeWe HTTP API: text with
// @-mentions (sendmsg / postText) and app cards (sendapp / postAppMsg).
//
// Like Alertmanager's notifiers, Send answers the one question the caller
// needs: did it go out, and if not, is it worth another try. Every error it
// returns is an *Error that also says whether the whole account should pause
// (offline, risk control, bad token) and whether the message may have been
// delivered although no answer came (a timeout).
package gewe

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Message is one message to one recipient.
type Message struct {
	To   string   // wxid_... or NNNN@chatroom
	Text string   // for text messages
	At   []string // wxids to mention; "notify@all" for everyone
	XML  string   // an <appmsg> node; when set, the message is an app card and Text is ignored
}

// Config is how to reach one GeWe account.
type Config struct {
	BaseURL string        // the server, with any path prefix (http://host/gewe); may end in the API root (/api, /v2/api): see Endpoint
	Token   string        // sent as X-GEWE-TOKEN; never logged, never in an error
	AppID   string        // the logged-in device, wx_...
	API     string        // "v1" (default: {base}/api/message/sendmsg) or "v2" ({base}/v2/api/message/postText)
	Timeout time.Duration // per call; default 15s
}

// API versions.
const (
	V1 = "v1" // snake_case bodies, ret 0 is success (the seed documentation)
	V2 = "v2" // camelCase bodies, ret 200 is success (hosted GeWe, Gewechat)
)

// DefaultTimeout bounds one call when Config.Timeout is zero.
const DefaultTimeout = 15 * time.Second

// Validate reports the first problem with the config as a sentence that
// names the field, so a bad file fails at load time rather than on the
// first send.
func (c Config) Validate() error {
	switch {
	case c.BaseURL == "":
		return errors.New("base_url is required")
	case c.Token == "":
		return errors.New("token is required")
	case c.AppID == "":
		return errors.New("app_id is required")
	case c.Timeout < 0:
		return fmt.Errorf("timeout %s is negative", c.Timeout)
	}
	_, err := Endpoint(c.BaseURL, c.API)
	return err
}

// The path each API generation lives under. Self-hosted Gewechat (port
// 2531) serves only /v2/api; hosted GeWe serves the same under /gewe.
const (
	v1Root = "/api"
	v2Root = "/v2/api"
)

// Endpoint is the root of the API that base_url and api name, the URL an
// action path such as /message/postText is appended to: base_url without
// its trailing slashes, then the generation's root (/api for v1, /v2/api
// for v2) unless base_url already ends in it. So for v2
// http://host:2531, http://host:2531/ and http://host:2531/v2/api all give
// http://host:2531/v2/api, and http://host/gewe gives
// http://host/gewe/v2/api. An empty api is v1.
//
// A base_url ending in /v2/api with api v1 is an error: v1's actions do
// not exist under the v2 root, and every call would answer 404.
func Endpoint(baseURL, api string) (string, error) {
	u, err := url.Parse(baseURL)
	switch {
	case baseURL == "":
		return "", errors.New("base_url is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", fmt.Errorf("base_url %q is not an http(s) URL", baseURL)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", fmt.Errorf("base_url %q must not have a query or fragment", baseURL)
	case api != "" && api != V1 && api != V2:
		return "", fmt.Errorf("api %q is not %q or %q", api, V1, V2)
	}
	base := strings.TrimRight(baseURL, "/")
	if api == V2 {
		return strings.TrimSuffix(base, v2Root) + v2Root, nil
	}
	if strings.HasSuffix(base, v2Root) {
		return "", fmt.Errorf("base_url %q ends in %s, the v2 API, but api is v1 (the default): set api: v2, or drop %s from base_url for a v1 server", baseURL, v2Root, v2Root)
	}
	return strings.TrimSuffix(base, v1Root) + v1Root, nil
}
