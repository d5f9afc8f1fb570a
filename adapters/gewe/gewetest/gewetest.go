// Package gewetest is a fake GeWe server for tests: it answers the v1 and v2
// message APIs and v2's login/checkOnline as docs/gewe-api.md describes
// (under a path prefix of the test's choosing), checks the token and app
// id, answers 404 for any other path, records every request, fails on
// demand and tracks how many requests were in flight at once.
package gewetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// What the fake expects unless told otherwise.
const (
	Token = "gewe-test-token-3f9a"
	AppID = "wx_test_app"
	// FirstNewMsgID is the seed's sample NewMsgId (above 2^53); the fake
	// answers it for the first delivered message and counts up from there.
	FirstNewMsgID int64 = 435902963537395300
)

// Mode is how the fake answers.
type Mode int

// Modes. Every failure answers HTTP 200 with the API's error body unless
// said otherwise; v1 failures carry ret -1, v2 failures ret 500.
const (
	OK          Mode = iota // success, with a NewMsgId above 2^53
	HTTP500                 // HTTP 500
	Fail                    // generic failure: v1 {"ret":-1,"msg_err":"失败"}
	Offline                 // 发送消息失败-微信已离线(-1)
	RiskControl             // 发送消息失败-操作过于频繁
	TokenError              // as for a wrong token
	BadRequest              // 参数错误
	ListFail                // v1: ret 0 but data.List[0].Ret -2; v2: as Fail
	NotJSON                 // HTTP 200 with an HTML body
	Slow                    // sleep the delay (SetDelay), then answer as OK
	CloseConn               // read the request, then close the connection without an answer

	// Added later; kept after the others so the values above do not change.

	NotFound     // HTTP 404 with Gewechat's (Spring's) JSON body, as for a wrong path
	TokenExpired // v2: ret 500 "HTTP HEADER: X-GEWE-TOKEN=<the token sent> 不可用或已过期"; v1: as TokenError
	UnknownAppID // ret 500 (v1 -1) with the detail only in data.msg: "[<appid>]设备不存在"
)

// Message is one recipient's message as the fake decoded it.
type Message struct {
	API      string // "v1" or "v2"
	Action   string // sendmsg, sendapp, postText, postAppMsg (or checkOnline, which has no message)
	AppID    string
	To       string
	Content  string
	At       []string // v1 at, or v2 ats split on ','
	XML      string   // sendapp xml / postAppMsg appmsg
	NewMsgID int64    // what the fake answered; 0 unless delivered
}

// Request is one request as received. Treat it as read-only.
type Request struct {
	Time      time.Time // when it arrived
	Method    string
	Path      string
	Header    http.Header
	Body      []byte
	JSON      map[string]any // the body decoded with UseNumber; nil if not a JSON object
	API       string         // "v1" or "v2"
	Action    string         // the action the path named, e.g. postText or checkOnline
	Messages  []Message      // one per recipient; none for checkOnline
	Mode      Mode           // how the fake chose to answer
	Delivered bool           // the fake answered success
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced whenever requests change
	token    string
	appID    string
	mode     Mode
	failN    int
	failMode Mode
	delay    time.Duration
	reqs     []*Request
	inFlight int
	maxIn    int
	nextID   int64
	offline  bool
	prefix   *string         // nil: any prefix without an API root in it
	apis     map[string]bool // nil: both
}

// New starts a fake expecting Token and AppID. Close it when done.
func New() *Server {
	s := &Server{changed: make(chan struct{}), token: Token, appID: AppID, delay: time.Second, nextID: FirstNewMsgID}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the base URL to configure (no trailing slash); any path prefix
// appended to it works too.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// SetToken sets the expected X-GEWE-TOKEN.
func (s *Server) SetToken(t string) { s.mu.Lock(); s.token = t; s.mu.Unlock() }

// SetAppID sets the expected app id; "" accepts any.
func (s *Server) SetAppID(id string) { s.mu.Lock(); s.appID = id; s.mu.Unlock() }

// SetMode sets how every request is answered (after any FailNext).
func (s *Server) SetMode(m Mode) { s.mu.Lock(); s.mode = m; s.mu.Unlock() }

// FailNext answers the next n requests with m, then goes back to SetMode's.
func (s *Server) FailNext(n int, m Mode) { s.mu.Lock(); s.failN, s.failMode = n, m; s.mu.Unlock() }

// SetOnline sets whether the account is logged in (default true): when it
// is not, login/checkOnline answers data false and every send answers as
// Offline.
func (s *Server) SetOnline(on bool) { s.mu.Lock(); s.offline = !on; s.mu.Unlock() }

// SetPrefix serves the APIs under exactly this path prefix ("" for the
// root, as self-hosted Gewechat on port 2531 serves /v2/api; "/gewe" as
// hosted GeWe does) and answers 404 elsewhere. Until it is called, any
// prefix is served that does not itself hold an API root, so
// /v2/api/v2/api/... and /v2/api/message/sendmsg are 404 always.
func (s *Server) SetPrefix(p string) { s.mu.Lock(); s.prefix = &p; s.mu.Unlock() }

// SetAPIs serves only these generations ("v1", "v2"); the others' paths
// answer 404, as Gewechat, which serves only v2, does. None: both.
func (s *Server) SetAPIs(apis ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apis = nil
	if len(apis) > 0 {
		s.apis = map[string]bool{}
		for _, a := range apis {
			s.apis[a] = true
		}
	}
}

// SetDelay sets how long Slow sleeps (default 1s).
func (s *Server) SetDelay(d time.Duration) { s.mu.Lock(); s.delay = d; s.mu.Unlock() }

// Reset forgets the requests and the in-flight maximum and goes back to OK;
// the token, app id and delay stay.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs, s.maxIn, s.mode, s.failN = nil, s.inFlight, OK, 0
	s.notify()
}

// MaxInFlight is the most requests the fake was answering at once.
func (s *Server) MaxInFlight() int { s.mu.Lock(); defer s.mu.Unlock(); return s.maxIn }

// Requests returns every request received, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = *r
		out[i].Messages = append([]Message(nil), r.Messages...)
	}
	return out
}

// Messages returns the messages the fake answered with success (delivered),
// oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delivered()
}

// WaitFor waits until at least n messages were delivered or timeout passes,
// and returns the delivered messages.
func (s *Server) WaitFor(n int, timeout time.Duration) []Message {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		msgs, changed := s.delivered(), s.changed
		s.mu.Unlock()
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-changed:
		case <-deadline.C:
			return msgs
		}
	}
}

func (s *Server) delivered() []Message {
	var out []Message
	for _, r := range s.reqs {
		if r.Delivered {
			out = append(out, r.Messages...)
		}
	}
	return out
}

// notify wakes WaitFor; s.mu is held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// routes maps the end of a path to the API and action.
var routes = []struct{ suffix, api, action string }{
	{"/v2/api/message/postText", "v2", "postText"},
	{"/v2/api/message/postAppMsg", "v2", "postAppMsg"},
	{"/v2/api/login/checkOnline", "v2", "checkOnline"},
	{"/api/message/sendmsg", "v1", "sendmsg"},
	{"/api/message/sendapp", "v1", "sendapp"},
}

// route finds the API and action of path, or "" when a real server would
// answer 404.
func (s *Server) route(path string) (api, action string) {
	s.mu.Lock()
	prefix, apis := s.prefix, s.apis
	s.mu.Unlock()
	for _, rt := range routes {
		p, ok := strings.CutSuffix(path, rt.suffix)
		if !ok {
			continue
		}
		switch {
		case apis != nil && !apis[rt.api]:
		case prefix != nil && p != *prefix:
		case prefix == nil && holdsRoot(p):
		default:
			return rt.api, rt.action
		}
		return "", ""
	}
	return "", ""
}

// holdsRoot reports whether a path prefix has an API root in it
// (.../api or .../v2): the client doubled the root, or asked one
// generation's action under the other's root.
func holdsRoot(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "api" || seg == "v2" {
			return true
		}
	}
	return false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.inFlight++
	s.maxIn = max(s.maxIn, s.inFlight)
	s.mu.Unlock()
	defer func() { s.mu.Lock(); s.inFlight--; s.mu.Unlock() }()

	body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	api, action := s.route(r.URL.Path)
	if action == "" {
		notFound(w, r.URL.Path)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rec := &Request{Time: time.Now(), Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, API: api, Action: action}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&rec.JSON) != nil {
		rec.JSON = nil
	}
	if action != "checkOnline" {
		rec.Messages = messages(api, action, rec.JSON)
	}

	s.mu.Lock()
	mode := s.mode
	if s.failN > 0 {
		s.failN--
		mode = s.failMode
	}
	rec.Mode = mode
	s.reqs = append(s.reqs, rec)
	s.notify()
	token, appID, delay, offline := s.token, s.appID, s.delay, s.offline
	s.mu.Unlock()

	v2 := api == "v2"
	fail := func(v1ret int, msg string) { // the API's failure answer
		if v2 {
			writeJSON(w, http.StatusOK, map[string]any{"ret": 500, "msg": msg, "data": nil})
		} else {
			writeJSON(w, http.StatusOK, map[string]any{"ret": v1ret, "msg": msg})
		}
	}
	switch mode {
	case OK:
	case Slow:
		select {
		case <-time.After(delay):
		case <-r.Context().Done(): // the client gave up; GeWe would still have sent it
		}
	case HTTP500:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"status": 500, "error": "Internal Server Error"})
		return
	case Fail:
		if v2 {
			fail(0, "失败")
		} else {
			writeJSON(w, http.StatusOK, map[string]any{"ret": -1, "msg_err": "失败"})
		}
		return
	case Offline:
		fail(-1, "发送消息失败-微信已离线(-1)")
		return
	case RiskControl:
		fail(-1, "发送消息失败-操作过于频繁,请稍后再试")
		return
	case TokenError:
		tokenError(w, v2, "wrong")
		return
	case TokenExpired:
		if v2 {
			tokenExpired(w, r.Header.Get("X-GEWE-TOKEN"))
		} else {
			tokenError(w, false, "wrong")
		}
		return
	case UnknownAppID:
		unknownApp(w, v2, sentAppID(api, rec.JSON))
		return
	case NotFound:
		notFound(w, r.URL.Path)
		return
	case BadRequest:
		fail(-1, "参数错误")
		return
	case ListFail:
		if v2 {
			fail(0, "失败")
			return
		}
		writeJSON(w, http.StatusOK, v1Answer(rec.Messages, func(int) int64 { return 0 }, -2))
		return
	case NotJSON:
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		return
	case CloseConn:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	}

	got := r.Header.Get("X-GEWE-TOKEN")
	switch {
	case got != token && v2 && got != "":
		tokenExpired(w, got)
		return
	case got != token:
		tokenError(w, v2, got)
		return
	}
	if id := sentAppID(api, rec.JSON); v2 && appID != "" && id != "" && id != appID {
		unknownApp(w, true, id)
		return
	}
	if msg := check(api, action, r.Header.Get("Content-Type"), rec.JSON, appID); msg != "" {
		fail(-1, msg)
		return
	}
	if action == "checkOnline" {
		writeJSON(w, http.StatusOK, map[string]any{"ret": 200, "msg": "操作成功", "data": !offline})
		return
	}
	if offline {
		fail(-1, "发送消息失败-微信已离线(-1)")
		return
	}

	s.mu.Lock()
	ids := make([]int64, len(rec.Messages))
	for i := range rec.Messages {
		ids[i] = s.nextID
		s.nextID++
		rec.Messages[i].NewMsgID = ids[i]
	}
	rec.Delivered = true
	s.notify()
	s.mu.Unlock()

	if v2 {
		m := rec.Messages[0]
		typ := 1
		if action == "postAppMsg" {
			typ = 49
		}
		writeJSON(w, http.StatusOK, map[string]any{"ret": 200, "msg": "操作成功", "data": map[string]any{
			"toWxid": m.To, "createTime": time.Now().Unix(), "msgId": 769533801, "newMsgId": ids[0], "type": typ}})
		return
	}
	writeJSON(w, http.StatusOK, v1Answer(rec.Messages, func(i int) int64 { return ids[i] }, 0))
}

// notFound answers a path no API serves as Gewechat (Spring) does.
func notFound(w http.ResponseWriter, path string) {
	writeJSON(w, http.StatusNotFound, map[string]any{"timestamp": time.Now().UTC().Format("2006-01-02T15:04:05.000+00:00"),
		"status": 404, "error": "Not Found", "path": path})
}

// tokenExpired is v2's answer to a token it does not know, HTTP 200 with
// the token echoed.
func tokenExpired(w http.ResponseWriter, got string) {
	writeJSON(w, http.StatusOK, map[string]any{"ret": 500, "msg": "HTTP HEADER: X-GEWE-TOKEN=" + got + " 不可用或已过期"})
}

// unknownApp answers an app id the server has no device for; the detail
// is only in data.msg.
func unknownApp(w http.ResponseWriter, v2 bool, id string) {
	ret := 500
	if !v2 {
		ret = -1
	}
	writeJSON(w, http.StatusOK, map[string]any{"ret": ret, "msg": "操作失败",
		"data": map[string]any{"code": "-1", "msg": "[" + id + "]设备不存在"}})
}

// sentAppID is the app id in a request body.
func sentAppID(api string, body map[string]any) string {
	key := map[string]string{"v1": "appid", "v2": "appId"}[api]
	id, _ := body[key].(string)
	return id
}

// tokenError answers a missing or wrong X-GEWE-TOKEN.
func tokenError(w http.ResponseWriter, v2 bool, got string) {
	switch {
	case !v2:
		writeJSON(w, http.StatusOK, map[string]any{"ret": -1, "msg": "token invalid"})
	case got == "":
		writeJSON(w, http.StatusOK, map[string]any{"ret": 500, "msg": "header:X-GEWE-TOKEN 不可为空", "data": nil})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ret": 401, "msg": "token无效或已过期", "data": nil})
	}
}

// v1Answer is a sendmsg/sendapp answer shaped like the seed's sample.
func v1Answer(msgs []Message, id func(int) int64, ret int) map[string]any {
	now := time.Now().Unix()
	list := make([]any, len(msgs))
	for i, m := range msgs {
		list[i] = map[string]any{"Ret": ret, "ToUsetName": map[string]string{"string": m.To}, "MsgId": 0,
			"NewClientMsgid": 2950238266 + i, "Createtime": now, "servertime": now, "Type": 1, "NewMsgId": id(i)}
	}
	return map[string]any{"ret": 0, "msg": "success", "data": map[string]any{
		"BaseResponse": map[string]any{"ret": 0, "errMsg": map[string]any{}},
		"Count":        len(msgs), "List": list, "NoKnow": 0}}
}

// check validates a request body; it returns the API's complaint or "".
func check(api, action, contentType string, body map[string]any, appID string) string {
	if !strings.HasPrefix(contentType, "application/json") {
		return "参数错误: Content-Type 不是 application/json"
	}
	if body == nil {
		return "参数错误: body 不是 JSON 对象"
	}
	key := map[string]string{"v1": "appid", "v2": "appId"}[api]
	if id, _ := body[key].(string); id == "" {
		return key + " 不可为空"
	} else if appID != "" && id != appID {
		return "参数错误: " + key + " 不存在"
	}
	required := map[string][]string{"sendapp": {"to_wxid", "xml"}, "postText": {"toWxid", "content"}, "postAppMsg": {"toWxid", "appmsg"}, "checkOnline": {}}[action]
	for _, k := range required {
		if v, _ := body[k].(string); v == "" {
			return k + " 不可为空"
		}
	}
	if ats, ok := body["ats"]; ok && action == "postText" {
		if _, isString := ats.(string); !isString {
			return "参数错误: ats 必须是逗号分隔的字符串"
		}
	}
	if action != "sendmsg" {
		return ""
	}
	list, _ := body["to_wxid_list"].([]any)
	if len(list) == 0 {
		return "to_wxid_list 不可为空"
	}
	for _, e := range list {
		item, _ := e.(map[string]any)
		to, _ := item["to_wxid"].(string)
		content, _ := item["content"].(string)
		_, atIsList := item["at"].([]any)
		switch {
		case to == "":
			return "to_wxid 不可为空"
		case content == "":
			return "content 不可为空"
		case item["msg_type"] != json.Number("1"):
			return "参数错误: msg_type 必须是 1"
		case !atIsList:
			return "参数错误: at 必须是数组"
		}
	}
	return ""
}

// messages decodes the recipients' messages from a body, best effort.
func messages(api, action string, body map[string]any) []Message {
	str := func(m map[string]any, k string) string { s, _ := m[k].(string); return s }
	base := Message{API: api, Action: action, AppID: str(body, "appid")}
	switch action {
	case "sendmsg":
		list, _ := body["to_wxid_list"].([]any)
		out := make([]Message, 0, len(list))
		for _, e := range list {
			item, _ := e.(map[string]any)
			m := base
			m.To, m.Content = str(item, "to_wxid"), str(item, "content")
			ats, _ := item["at"].([]any)
			for _, a := range ats {
				if s, ok := a.(string); ok {
					m.At = append(m.At, s)
				}
			}
			out = append(out, m)
		}
		return out
	case "sendapp":
		base.To, base.XML = str(body, "to_wxid"), str(body, "xml")
	case "postText", "postAppMsg":
		base.AppID, base.To = str(body, "appId"), str(body, "toWxid")
		base.Content, base.XML = str(body, "content"), str(body, "appmsg")
		if ats := str(body, "ats"); ats != "" {
			base.At = strings.Split(ats, ",")
		}
	}
	return []Message{base}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
