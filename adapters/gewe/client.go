package gewe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	neturl "net/url"
	"strconv"
	"strings"
	"sync/atomic"
)

// maxAnswer caps how much of an answer is read; GeWe's are a few hundred bytes.
const maxAnswer = 1 << 20

// Client sends messages for one GeWe account. It is safe for concurrent
// use, but an account should have one send in flight at a time: pacing is
// the caller's job.
type Client struct {
	cfg Config
	hc  *http.Client
	std bool // hc's transport is net/http's, which reports what it wrote
}

// New returns a client for cfg. A nil hc means a client with cfg.Timeout
// (DefaultTimeout when zero). Redirects are never followed, even with the
// caller's hc: Go would forward the X-GEWE-TOKEN header to the new location.
func New(cfg Config, hc *http.Client) *Client {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	} else {
		c := *hc
		hc = &c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	_, std := hc.Transport.(*http.Transport)
	return &Client{cfg: cfg, hc: hc, std: std || hc.Transport == nil}
}

// AppID is the account the client sends for.
func (c *Client) AppID() string { return c.cfg.AppID }

// Receipt is what GeWe answered for a message it accepted. Fields the answer
// did not carry are zero.
type Receipt struct {
	To         string // the recipient GeWe reports (ToUsetName / toWxid)
	MsgID      int64
	NewMsgID   int64 // above 2^53: keep it an int64
	CreateTime int64 // unix seconds
}

// Send sends m and says what came of it, the Alertmanager way but with
// the account in view: Sent, or an *Error and whether to retry the
// message, give it up or pause the account (OutcomeOf).
func (c *Client) Send(ctx context.Context, m Message) (Outcome, error) {
	_, err := c.Deliver(ctx, m)
	return OutcomeOf(err), err
}

// Deliver sends m like Send and returns GeWe's receipt. Every error is an
// *Error.
func (c *Client) Deliver(ctx context.Context, m Message) (*Receipt, error) {
	op, url, body, e := c.build(m)
	if e != nil {
		return nil, redact(e, c.cfg.Token)
	}
	status, answer, e := c.post(ctx, op, url, body)
	if e == nil {
		var r *Receipt
		if c.cfg.API == V2 {
			r, e = parseV2(op, status, answer)
		} else {
			r, e = parseV1(op, status, answer)
		}
		if e == nil {
			return r, nil
		}
		e.Path = notFoundPath(e, url)
	}
	return nil, redact(e, c.cfg.Token)
}

// notFoundPath is the path of url when e is a 404, for the error's text.
func notFoundPath(e *Error, rawURL string) string {
	if e.Kind != WrongEndpoint || e.Status != http.StatusNotFound {
		return ""
	}
	if u, err := neturl.Parse(rawURL); err == nil {
		return u.EscapedPath()
	}
	return ""
}

// Request bodies, in the API's own spelling.
type (
	v1Text struct {
		AppID      string        `json:"appid"`
		ToWxidList []v1Recipient `json:"to_wxid_list"`
	}
	v1Recipient struct {
		ToWxid    string   `json:"to_wxid"`
		Content   string   `json:"content"`
		MsgType   int      `json:"msg_type"`
		At        []string `json:"at"` // [] rather than null when nobody is mentioned
		MsgSource string   `json:"msg_source"`
	}
	v1App struct {
		AppID  string `json:"appid"`
		ToWxid string `json:"to_wxid"`
		XML    string `json:"xml"`
	}
	v2Text struct {
		AppID   string `json:"appId"`
		ToWxid  string `json:"toWxid"`
		Content string `json:"content"`
		Ats     string `json:"ats,omitempty"` // one comma-separated string
	}
	v2App struct {
		AppID  string `json:"appId"`
		ToWxid string `json:"toWxid"`
		Appmsg string `json:"appmsg"`
	}
)

// Action paths under the API root (see Endpoint).
const (
	pathSendmsg     = "/message/sendmsg"
	pathSendapp     = "/message/sendapp"
	pathPostText    = "/message/postText"
	pathPostAppMsg  = "/message/postAppMsg"
	pathCheckOnline = "/login/checkOnline"
)

// build picks the action and encodes its body. A config that cannot work
// (its URL, its api) is WrongEndpoint, which pauses the account rather
// than give up the message; a message that cannot be sent is BadRequest.
func (c *Client) build(m Message) (op, url string, body []byte, e *Error) {
	var v any
	app := m.XML != ""
	at := make([]string, 0, len(m.At))
	for _, w := range m.At {
		if w = strings.TrimSpace(w); w != "" {
			at = append(at, w)
		}
	}
	var path string
	switch {
	case c.cfg.API == V2 && app:
		op, path, v = "postAppMsg", pathPostAppMsg, v2App{c.cfg.AppID, m.To, m.XML}
	case c.cfg.API == V2:
		op, path, v = "postText", pathPostText, v2Text{c.cfg.AppID, m.To, m.Text, strings.Join(at, ",")}
	case app:
		op, path, v = "sendapp", pathSendapp, v1App{c.cfg.AppID, m.To, m.XML}
	default:
		op, path = "sendmsg", pathSendmsg
		v = v1Text{c.cfg.AppID, []v1Recipient{{ToWxid: m.To, Content: m.Text, MsgType: 1, At: at}}}
	}
	root, err := Endpoint(c.cfg.BaseURL, c.cfg.API)
	switch {
	case err != nil:
		return op, "", nil, &Error{Op: op, Kind: WrongEndpoint, Msg: "config: " + err.Error()}
	case strings.TrimSpace(m.To) == "":
		return op, "", nil, &Error{Op: op, Kind: BadRequest, Msg: "message has no recipient"}
	case !app && m.Text == "":
		return op, "", nil, &Error{Op: op, Kind: BadRequest, Msg: "message has neither text nor xml"}
	}
	body, err = encode(v)
	if err != nil {
		return op, "", nil, &Error{Op: op, Kind: BadRequest, Msg: err.Error()}
	}
	return op, root + path, body, nil
}

// encode is v as JSON, with <, > and & as they are.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <appmsg> readable; both forms are valid JSON
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// post sends one request and reads at most maxAnswer bytes of the answer.
func (c *Client) post(ctx context.Context, op, url string, body []byte) (int, []byte, *Error) {
	if err := ctx.Err(); err != nil {
		return 0, nil, &Error{Op: op, Kind: Canceled, Err: err}
	}
	// Whether the request was completely written decides whether a failure
	// may have been delivered. A transport of the caller's that reports
	// nothing (a test double) leaves it unknown: assume it was.
	var traced, wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		GetConn: func(string) { traced.Store(true) },
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	}
	sent := func() bool { return wrote.Load() || !c.std && !traced.Load() }

	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, &Error{Op: op, Kind: BadRequest, Msg: "invalid base_url", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-GEWE-TOKEN", c.cfg.Token)

	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, &Error{Op: op, Kind: classifyTransport(ctx, err, sent()), Err: err, sent: sent()}
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer)) // lets the connection be reused
		_ = resp.Body.Close()
	}()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return 0, nil, &Error{Op: op, Kind: classifyTransport(ctx, err, true), Status: resp.StatusCode, Err: err, sent: true}
	}
	if len(answer) > maxAnswer {
		return 0, nil, &Error{Op: op, Kind: Unknown, Status: resp.StatusCode, Msg: "answer larger than 1 MiB"}
	}
	// Before anything is cut from it: an excerpt could keep half a token.
	if redactable(c.cfg.Token) {
		answer = bytes.ReplaceAll(answer, []byte(c.cfg.Token), []byte(Redacted))
	}
	return resp.StatusCode, answer, nil
}

// envelope is what every answer shares. Fields are decoded leniently:
// a message that is not a string must not hide a success.
type envelope struct {
	Ret    json.Number     `json:"ret"`
	Msg    json.RawMessage `json:"msg"`
	MsgErr json.RawMessage `json:"msg_err"`
	Data   json.RawMessage `json:"data"`
}

// message joins msg, msg_err and data.msg: v2 errors may carry their
// detail only there, {"ret":500,"msg":"获取二维码失败","data":{"code":"-1","msg":"[wx_...]设备不存在"}}.
func (a *envelope) message() string {
	var d struct {
		Msg json.RawMessage `json:"msg"`
	}
	if len(a.Data) == 0 || a.Data[0] != '{' || json.Unmarshal(a.Data, &d) != nil {
		d.Msg = nil
	}
	return joinText(text(a.Msg), text(a.MsgErr), text(d.Msg))
}

// decode reads the envelope of a 2xx answer and checks ret against ok.
func decode(op string, status int, answer []byte, v2 bool, ok int64) (*envelope, *Error) {
	if status < 200 || status > 299 {
		var a envelope
		msg := excerpt(string(answer), 300)
		if json.Unmarshal(answer, &a) == nil && a.message() != "" {
			msg = a.message()
		}
		ret, _ := a.Ret.Int64()
		return nil, &Error{Op: op, Kind: classifyStatus(status, msg), Status: status, Ret: ret, Msg: excerpt(msg, 512)}
	}
	var a envelope
	if err := json.Unmarshal(answer, &a); err != nil {
		return nil, &Error{Op: op, Kind: Unknown, Status: status, Msg: "answer is not JSON: " + excerpt(string(answer), 200)}
	}
	ret, err := a.Ret.Int64()
	if err != nil {
		return nil, &Error{Op: op, Kind: Unknown, Status: status, Msg: "answer has no integer ret: " + excerpt(string(answer), 200)}
	}
	if ret != ok {
		msg := a.message()
		return nil, &Error{Op: op, Kind: classify(ret, v2, msg), Status: status, Ret: ret, Msg: excerpt(msg, 512)}
	}
	return &a, nil
}

// parseV1 checks a v1 answer: ret 0, data.BaseResponse.ret 0 when present,
// and every data.List[i].Ret 0.
func parseV1(op string, status int, answer []byte) (*Receipt, *Error) {
	a, e := decode(op, status, answer, false, 0)
	if e != nil {
		return nil, e
	}
	var d struct {
		BaseResponse *struct {
			Ret    json.Number     `json:"ret"`
			ErrMsg json.RawMessage `json:"errMsg"`
		} `json:"BaseResponse"`
		List []struct {
			Ret        json.Number     `json:"Ret"`
			ToUsetName json.RawMessage `json:"ToUsetName"` // sic; {"string": "wxid"} or "wxid"
			MsgID      json.Number     `json:"MsgId"`
			NewMsgID   json.Number     `json:"NewMsgId"`
			CreateTime json.Number     `json:"Createtime"`
		} `json:"List"`
	}
	if isNull(a.Data) {
		return &Receipt{}, nil
	}
	if err := json.Unmarshal(a.Data, &d); err != nil {
		return nil, &Error{Op: op, Kind: Unknown, Status: status, Msg: "unreadable data", Err: err}
	}
	if br := d.BaseResponse; br != nil {
		if ret, ok := intOf(br.Ret); !ok || ret != 0 {
			msg := text(br.ErrMsg)
			return nil, &Error{Op: op, Kind: classify(ret, false, msg), Status: status, Ret: ret,
				Msg: excerpt(joinText("BaseResponse.ret "+string(br.Ret), msg), 512)}
		}
	}
	r := &Receipt{}
	for i, it := range d.List {
		to := text(it.ToUsetName)
		if ret, ok := intOf(it.Ret); !ok || ret != 0 {
			return nil, &Error{Op: op, Kind: Rejected, Status: status, Ret: ret,
				Msg: fmt.Sprintf("recipient %s: List[%d].Ret %s", to, i, it.Ret)}
		}
		if i == 0 {
			r.To = to
			r.MsgID, _ = intOf(it.MsgID)
			r.NewMsgID, _ = intOf(it.NewMsgID)
			r.CreateTime, _ = intOf(it.CreateTime)
		}
	}
	return r, nil
}

// parseV2 checks a v2 answer: ret 200.
func parseV2(op string, status int, answer []byte) (*Receipt, *Error) {
	a, e := decode(op, status, answer, true, 200)
	if e != nil {
		return nil, e
	}
	var d struct {
		ToWxid     json.RawMessage `json:"toWxid"`
		MsgID      json.Number     `json:"msgId"`
		NewMsgID   json.Number     `json:"newMsgId"`
		CreateTime json.Number     `json:"createTime"`
	}
	r := &Receipt{}
	// The data is informational once ret says 200: an odd shape must not
	// turn a delivered message into a retry (and a duplicate).
	if !isNull(a.Data) && json.Unmarshal(a.Data, &d) == nil {
		r.To = text(d.ToWxid)
		r.MsgID, _ = intOf(d.MsgID)
		r.NewMsgID, _ = intOf(d.NewMsgID)
		r.CreateTime, _ = intOf(d.CreateTime)
	}
	return r, nil
}

// intOf parses an integer; absent counts as 0.
func intOf(n json.Number) (int64, bool) {
	if n == "" {
		return 0, true
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	return i, err == nil
}

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// text reads a message field that is usually a string but may be
// {"string": "..."}, {} or a number.
func text(raw json.RawMessage) string {
	if isNull(raw) {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var o struct {
		String string `json:"string"`
	}
	if json.Unmarshal(raw, &o) == nil {
		return o.String
	}
	return excerpt(string(raw), 200)
}

// joinText joins the non-empty, distinct parts with "; ".
func joinText(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" && (len(out) == 0 || out[len(out)-1] != p) {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}
