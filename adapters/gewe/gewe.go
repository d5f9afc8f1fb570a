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
	BaseURL string        // may carry a path prefix, e.g. http://host/gewe; a trailing '/' is ignored
	Token   string        // sent as X-GEWE-TOKEN; never logged, never in an error
	AppID   string        // the logged-in device, wx_...
	API     string        // "v1" (default: /api/message/sendmsg) or "v2" (/v2/api/message/postText)
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
	u, err := url.Parse(c.BaseURL)
	switch {
	case c.BaseURL == "":
		return errors.New("base_url is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("base_url %q is not an http(s) URL", c.BaseURL)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("base_url %q must not have a query or fragment", c.BaseURL)
	case c.Token == "":
		return errors.New("token is required")
	case c.AppID == "":
		return errors.New("app_id is required")
	case c.API != "" && c.API != V1 && c.API != V2:
		return fmt.Errorf("api %q is not %q or %q", c.API, V1, V2)
	case c.Timeout < 0:
		return fmt.Errorf("timeout %s is negative", c.Timeout)
	}
	return nil
}

// endpoint joins the base URL and an API path, whatever the base ends with.
func (c Config) endpoint(path string) string {
	return strings.TrimRight(c.BaseURL, "/") + path
}
