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
	Status                  // another unexpected HTTP status (not 404): 408 and 429 retryable, the rest permanent
	Rejected                // GeWe answered a failure in words it does not explain (e.g. "失败"): retryable
	Offline                 // the WeChat account is logged out: retryable, pauses the account
	RiskControl             // WeChat throttles the account: retryable, pauses the account
	Token                   // X-GEWE-TOKEN missing, wrong or expired: permanent, pauses the account
	BadRequest              // GeWe (or the client) refused the message itself: permanent

	// Added later; kept after the others so the values above do not change.

	WrongEndpoint // HTTP 404, or a base_url/api that cannot work: retryable, pauses the account
	UnknownApp    // GeWe does not know the app_id (设备不存在): retryable, pauses the account
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

	WrongEndpoint: "wrong base_url or api",
	UnknownApp:    "app_id unknown to GeWe",
}

var kindReasons = [...]string{
	Unknown:       "unrecognised_answer",
	Network:       "network",
	Timeout:       "timeout",
	Canceled:      "canceled",
	Server:        "server_error",
	Status:        "http_status",
	Rejected:      "rejected",
	Offline:       "offline",
	RiskControl:   "risk_control",
	Token:         "token",
	BadRequest:    "bad_request",
	WrongEndpoint: "wrong_endpoint",
	UnknownApp:    "unknown_app_id",
}

// String is the phrase Error uses, e.g. "account offline".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(int(k))
}

// Reason is the kind as a short snake_case word for metric labels and log
// fields, e.g. "offline", "wrong_endpoint"; String is for sentences.
func (k Kind) Reason() string {
	if k >= 0 && int(k) < len(kindReasons) {
		return kindReasons[k]
	}
	return "kind_" + strconv.Itoa(int(k))
}

// Pauses reports whether a failure of this kind stops the whole account
// (offline, risk control, token, wrong endpoint, unknown app id): every
// message would fail the same way until the account or the config is
// fixed, so none of them is the message's fault.
func (k Kind) Pauses() bool {
	switch k {
	case Offline, RiskControl, Token, WrongEndpoint, UnknownApp:
		return true
	}
	return false
}

// Outcome is what a send's result means for the message and its account.
// It is decided here, once, from the answer; the sender applies the
// operator's policy (max_attempts, max_age, on_timeout) on top of it.
type Outcome int

const (
	Sent   Outcome = iota // GeWe accepted the message
	Retry                 // try it again after a backoff
	GiveUp                // it can never be sent as it is: dead-letter it
	Pause                 // the account cannot send now: pause it; the message waits
)

var outcomeNames = [...]string{Sent: "sent", Retry: "retry", GiveUp: "give_up", Pause: "pause"}

func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "outcome " + strconv.Itoa(int(o))
}

// Retry reports whether the message is kept for another try (Retry or
// Pause).
func (o Outcome) Retry() bool { return o == Retry || o == Pause }

// OutcomeOf classifies the result of a send: nil is Sent; an error that
// is not an *Error (no answer could be classified) is Retry.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return Sent
	}
	e, ok := AsError(err)
	switch {
	case !ok:
		return Retry
	case e.Pauses():
		return Pause
	case e.Retryable():
		return Retry
	}
	return GiveUp
}

// Error is a failed send. Its text never contains the token.
type Error struct {
	Op     string // the API action: sendmsg, sendapp, postText, postAppMsg or checkOnline
	Kind   Kind
	Status int    // the HTTP status; 0 when no answer came
	Ret    int64  // the failing ret (or data.BaseResponse.ret / data.List[i].Ret); 0 when none
	Msg    string // the API's own words (msg, msg_err, data.msg, errMsg) or an excerpt of the answer
	Err    error  // the transport or decoding error underneath, if any
	Path   string // the URL path that answered 404 (WrongEndpoint); the token redacted

	sent bool // the request was completely written before the failure
}

// Error reads like "gewe sendmsg: account offline: 发送消息失败-微信已离线(-1)"
// or "gewe postText: wrong base_url or api (HTTP 404 from /v2/api/v2/api/message/postText)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("gewe ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Path != "" {
		fmt.Fprintf(&b, " (HTTP %d from %s)", e.Status, e.Path)
	} else if e.Status != 0 && (e.Status < 200 || e.Status > 299) {
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
// Kinds that pause the account are retryable except Token, which was
// permanent before WrongEndpoint and UnknownApp were added; a caller must
// test Pauses before Retryable and never give up a message for a pausing
// failure (only for its age).
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
// control, bad token, wrong base_url or api, unknown app id): the caller
// should stop sending for this account rather than move on to its next
// message, and keep the message.
func (e *Error) Pauses() bool { return e.Kind.Pauses() }

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
	{Token, []string{"token"}}, // matched case-insensitively; "X-GEWE-TOKEN=... 不可用或已过期" too
	{UnknownApp, []string{"设备不存在"}},
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

// classifyStatus gives the kind of a non-2xx answer: a 404 means the URL
// is wrong whatever its body says (it may echo a path with any words in
// it); otherwise the words of its body first when they say something
// specific, then the status.
func classifyStatus(status int, msg string) Kind {
	if status == 404 {
		return WrongEndpoint
	}
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

// Redacted replaces the token in texts taken from GeWe's answers: the v2
// token error echoes it ("X-GEWE-TOKEN=<token> 不可用或已过期").
const Redacted = "[redacted]"

// redactable: replacing a one-letter token would garble every message.
func redactable(token string) bool { return len(token) >= 4 }

// redactText replaces the token in s.
func redactText(s, token string) string {
	if !redactable(token) {
		return s
	}
	return strings.ReplaceAll(s, token, Redacted)
}

// redact removes the token from e's texts. Answers are redacted before
// they are cut into excerpts (a cut could keep half a token); the token
// travels in a header, so net/http errors (which quote the URL) should
// not contain it either: this is the belt to those braces.
func redact(e *Error, token string) *Error {
	if !redactable(token) {
		return e
	}
	e.Msg = redactText(e.Msg, token)
	e.Path = redactText(e.Path, token)
	if e.Err != nil && strings.Contains(e.Err.Error(), token) {
		e.Err = errors.New(redactText(e.Err.Error(), token))
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
