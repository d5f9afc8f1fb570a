package gewe

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Verdict is what Check learnt about one setting.
type Verdict int

// Verdicts.
const (
	Unverified Verdict = iota // not known: an earlier item is wrong, or the API cannot tell
	Right
	Wrong
)

func (v Verdict) String() string {
	switch v {
	case Right:
		return "ok"
	case Wrong:
		return "WRONG"
	}
	return "?"
}

// Finding is a verdict and why, in a sentence.
type Finding struct {
	Verdict Verdict
	Note    string
}

// CheckResult is what Check learnt, one finding per thing the config
// names. No text in it contains the token.
type CheckResult struct {
	Endpoint string  // the API root asked, e.g. http://host:2531/v2/api; "" when base_url or api is unusable
	URL      Finding // base_url and api: a GeWe API answers there
	Token    Finding // GeWe accepts the X-GEWE-TOKEN
	AppID    Finding // GeWe knows the app_id
	Online   Finding // the account is logged in and may send
	Failure  *Error  // the failed call behind the first Wrong or Unverified, if any
}

// OK reports whether the bridge can reach GeWe with this token and
// nothing is known to be wrong (v1 cannot tell about app_id and login).
func (r CheckResult) OK() bool {
	return r.URL.Verdict == Right && r.Token.Verdict == Right && r.AppID.Verdict != Wrong && r.Online.Verdict != Wrong
}

// String is one line per item, e.g.
//
//	base_url/api  ok     http://host:2531/v2/api answers
//	token         ok     accepted
//	app_id        WRONG  GeWe has no device with this app_id: 操作失败; [wx_1]设备不存在
//	logged in     ?      not checked: app_id is wrong
func (r CheckResult) String() string {
	var b strings.Builder
	for _, it := range []struct {
		name string
		f    Finding
	}{{"base_url/api", r.URL}, {"token", r.Token}, {"app_id", r.AppID}, {"logged in", r.Online}} {
		fmt.Fprintf(&b, "%-13s %-6s %s\n", it.name, it.f.Verdict, it.f.Note)
	}
	return b.String()
}

// Check asks GeWe whether the URL, the token and the app id are right and
// the account is logged in, and says which one is wrong. It sends nothing
// to anyone: v2 asks login/checkOnline; v1, which documents no status
// call, posts a sendmsg with an empty recipient list, which tells the URL
// and the token but not the app id or the login.
func (c *Client) Check(ctx context.Context) CheckResult {
	token := c.cfg.Token
	r := CheckResult{}
	root, err := Endpoint(c.cfg.BaseURL, c.cfg.API)
	if err != nil {
		r.URL = Finding{Wrong, redactText(err.Error(), token)}
		r.after("base_url or api is wrong", &r.Token, &r.AppID, &r.Online)
		return r
	}
	r.Endpoint = redactText(root, token)
	v2 := c.cfg.API == V2
	op, url, probe := "checkOnline", root+pathCheckOnline, any(struct {
		AppID string `json:"appId"`
	}{c.cfg.AppID})
	if !v2 {
		op, url, probe = "sendmsg", root+pathSendmsg, v1Text{c.cfg.AppID, []v1Recipient{}}
	}
	body, err := encode(probe)
	if err != nil { // cannot happen with these types
		r.URL = Finding{Unverified, err.Error()}
		return r
	}
	status, answer, e := c.post(ctx, op, url, body)
	var a *envelope
	if e == nil {
		ok := int64(0)
		if v2 {
			ok = 200
		}
		a, e = decode(op, status, answer, v2, ok)
	}
	if e != nil {
		e.Path = notFoundPath(e, url)
		r.Failure = redact(e, token)
		r.judge(r.Failure, v2)
		return r
	}
	r.URL = Finding{Right, r.Endpoint + " answers"}
	r.Token = Finding{Right, "accepted"}
	if !v2 {
		r.AppID = Finding{Unverified, "not checked: v1 has no status call; send a test message"}
		r.Online = r.AppID
		return r
	}
	var online bool
	switch {
	case json.Unmarshal(a.Data, &online) != nil:
		r.AppID = Finding{Unverified, "checkOnline answered data " + excerpt(string(a.Data), 100) + ", not true or false"}
		r.Online = r.AppID
	case online:
		r.AppID = Finding{Right, "known"}
		r.Online = Finding{Right, "logged in"}
	default:
		r.AppID = Finding{Unverified, "GeWe does not tell an unknown app_id from a logged-out one"}
		r.Online = Finding{Wrong, "not logged in: log the account in again (scan the login QR code)"}
	}
	return r
}

// judge sets the findings for a failed check call.
func (r *CheckResult) judge(e *Error, v2 bool) {
	msg := e.Msg
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	answers := Finding{Right, r.Endpoint + " answers"}
	switch e.Kind {
	case Network, Canceled:
		r.URL = Finding{Wrong, "unreachable: " + msg}
	case Timeout:
		r.URL = Finding{Wrong, "no answer in time: " + msg}
	case WrongEndpoint:
		r.URL = Finding{Wrong, fmt.Sprintf("HTTP 404 from %s: base_url or api is wrong", e.Path)}
	case Unknown:
		r.URL = Finding{Wrong, "the answer is not GeWe's: " + msg}
	case Server, Status:
		r.URL = Finding{Unverified, fmt.Sprintf("HTTP %d: %s", e.Status, msg)}
	case Token:
		r.URL = answers
		r.Token = Finding{Wrong, "GeWe refused it: " + msg}
	case UnknownApp:
		r.URL, r.Token = answers, Finding{Right, "accepted"}
		r.AppID = Finding{Wrong, "GeWe has no device with this app_id: " + msg}
	case Offline:
		r.URL, r.Token, r.AppID = answers, Finding{Right, "accepted"}, Finding{Right, "known"}
		r.Online = Finding{Wrong, msg + ": log the account in again"}
	case RiskControl:
		r.URL, r.Token, r.AppID = answers, Finding{Right, "accepted"}, Finding{Right, "known"}
		r.Online = Finding{Wrong, "WeChat restricts the account: " + msg}
	case BadRequest:
		r.URL, r.Token = answers, Finding{Right, "accepted"}
		if v2 || strings.Contains(strings.ToLower(msg), "appid") {
			r.AppID = Finding{Wrong, "GeWe refused it: " + msg}
		} else { // the empty recipient list, as expected
			r.AppID = Finding{Unverified, "not checked: v1 has no status call; send a test message"}
			r.Online = r.AppID
			return
		}
	default:
		r.URL = answers
		r.Token = Finding{Unverified, "GeWe answered: " + msg}
	}
	switch {
	case r.URL.Verdict != Right:
		r.after("base_url or api is not confirmed", &r.Token, &r.AppID, &r.Online)
	case r.Token.Verdict != Right:
		r.after("token is not accepted", &r.AppID, &r.Online)
	case r.AppID.Verdict == Wrong:
		r.after("app_id is wrong", &r.Online)
	}
}

// after marks the findings not reached because of an earlier one.
func (r *CheckResult) after(why string, fs ...*Finding) {
	for _, f := range fs {
		if f.Verdict == Unverified && f.Note == "" {
			*f = Finding{Unverified, "not checked: " + why}
		}
	}
}
