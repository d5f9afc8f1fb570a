package gewe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind says why a send failed.
type Kind int

// Kinds of failure. GeWe publishes no table of error codes: answers are
// classified by ret and by words in msg / msg_err, as its clients do.
const (
	Unknown     Kind = iota // an answer that cannot be understood (not JSON, no ret): retryable
	Network                 // no answer: connection refused, reset or closed: retryable
	Timeout                 // the request was sent and no answer came in time: retryable, may have been delivered
	Canceled                // the caller's context ended before an answer came: retryable
	Server                  // HTTP 5xx: retryable
	Status                  // another unexpected HTTP status: 408 and 429 retryable, the rest permanent
	Rejected                // GeWe answered a failure in words it does not explain (e.g. "失败"): retryable
	Offline                 // the WeChat account is logged out: retryable, pauses the account
	RiskControl             // WeChat throttles the account: retryable, pauses the account
	Token                   // X-GEWE-TOKEN missing, wrong or expired: permanent, pauses the account
	BadRequest              // GeWe (or the client) refused the message itself: permanent
)

var kindNames = [...]string{
	Unknown:     "unrecognised answer",
	Network:     "network error",
	Timeout:     "timeout (the message may have been delivered)",
	Canceled:    "canceled",
	Server:      "server error",
	Status:      "unexpected HTTP status",
	Rejected:    "send failed",
	Offline:     "account offline",
	RiskControl: "risk control",
	Token:       "token rejected",
	BadRequest:  "bad request",
}

// String is the phrase Error uses, e.g. "account offline".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(int(k))
}

// Error is a failed send. Its text never contains the token.
type Error struct {
	Op     string // the API action: sendmsg, sendapp, postText or postAppMsg
	Kind   Kind
	Status int    // the HTTP status; 0 when no answer came
	Ret    int64  // the failing ret (or data.BaseResponse.ret / data.List[i].Ret); 0 when none
	Msg    string // the API's own words (msg, msg_err, errMsg) or an excerpt of the answer
	Err    error  // the transport or decoding error underneath, if any

	sent bool // the request was completely written before the failure
}

// Error reads like "gewe sendmsg: account offline: 发送消息失败-微信已离线(-1)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gewe ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Status != 0 && (e.Status < 200 || e.Status > 299) {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	} else if e.Ret != 0 {
		fmt.Fprintf(&b, ": ret %d", e.Ret)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap gives the transport or decoding error, so errors.Is(err,
// context.Canceled) and the like work.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the same message may succeed on another try.
func (e *Error) Retryable() bool {
	switch e.Kind {
	case Token, BadRequest:
		return false
	case Status:
		return e.Status == 408 || e.Status == 429
	}
	return true
}

// Pauses reports whether the whole account cannot send now (offline, risk
// control, bad token): the caller should stop sending for this account
// rather than move on to its next message.
func (e *Error) Pauses() bool {
	return e.Kind == Offline || e.Kind == RiskControl || e.Kind == Token
}

// Timeout reports whether the request was sent and no answer came in time
// (client timeout or context deadline): GeWe may have delivered the message,
// so a retry risks a duplicate and giving up risks a loss.
func (e *Error) Timeout() bool { return e.Kind == Timeout }

// MaybeDelivered is wider than Timeout: the request was completely sent
// and no answer was read, whatever the reason (timeout, connection closed
// or reset, the caller's cancellation).
func (e *Error) MaybeDelivered() bool {
	return e.sent && (e.Kind == Timeout || e.Kind == Network || e.Kind == Canceled)
}

// AsError finds the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// words maps the words GeWe's messages use to a kind, first match wins:
// "header:X-GEWE-TOKEN 不可为空" is a token problem, not a bad request.
var words = []struct {
	kind  Kind
	words []string
}{
	{Token, []string{"token"}}, // matched case-insensitively
	{Offline, []string{"离线", "未登录", "登录过期", "掉线"}},
	{RiskControl, []string{"风控", "频繁", "限制"}},
	{BadRequest, []string{"参数", "不可为空", "不能为空"}},
}

// kindOfWords classifies a message by its words; ok is false when none match.
func kindOfWords(msg string) (k Kind, ok bool) {
	lower := strings.ToLower(msg)
	for _, w := range words {
		for _, s := range w.words {
			if strings.Contains(lower, s) {
				return w.kind, true
			}
		}
	}
	return Rejected, false
}

// classify gives the kind of a failure answer (HTTP 2xx, ret not success).
func classify(ret int64, v2 bool, msg string) Kind {
	if v2 && ret == 401 {
		return Token
	}
	k, _ := kindOfWords(msg)
	return k
}

// classifyStatus gives the kind of a non-2xx answer: the words of its body
// first when they say something specific, then the status.
func classifyStatus(status int, msg string) Kind {
	if k, ok := kindOfWords(msg); ok {
		return k
	}
	switch {
	case status >= 500:
		return Server
	case status == 400:
		return BadRequest
	case status == 401 || status == 403:
		return Token
	}
	return Status
}

// classifyTransport gives the kind of an error from the HTTP round trip or
// from reading the answer. sent: the request was completely written.
func classifyTransport(ctx context.Context, err error, sent bool) Kind {
	var ne net.Error
	timeout := errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
	switch {
	case timeout && sent:
		return Timeout
	case ctx.Err() != nil:
		return Canceled
	}
	return Network
}

// redact removes the token from e's texts. The token travels in a header,
// so net/http errors (which quote the URL) should not contain it; this is
// the belt to that brace, and covers an API that echoes the token.
func redact(e *Error, token string) *Error {
	if len(token) < 4 { // replacing a one-letter token would garble every message
		return e
	}
	e.Msg = strings.ReplaceAll(e.Msg, token, "<token>")
	if e.Err != nil && strings.Contains(e.Err.Error(), token) {
		e.Err = errors.New(strings.ReplaceAll(e.Err.Error(), token, "<token>"))
	}
	return e
}

// excerpt shortens s to at most n bytes on a rune boundary, on one line.
func excerpt(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
