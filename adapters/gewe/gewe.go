// Package gewe sends messages through the GeWe HTTP API: text with
// @-mentions (sendmsg / postText) and app cards (sendapp / postAppMsg).
//
// Like Alertmanager's notifiers, Send answers the one question the caller
// needs: did it go out, and if not, is it worth another try.
package gewe

import "time"

// Message is one message to one recipient.
type Message struct {
	To   string   // wxid_... or NNNN@chatroom
	Text string   // for text messages
	At   []string // wxids to mention; "notify@all" for everyone
	XML  string   // an <appmsg> node; when set, the message is an app card
}

// Config is how to reach one GeWe account.
type Config struct {
	BaseURL string        // may carry a path prefix, e.g. http://host/gewe
	Token   string        // sent as X-GEWE-TOKEN; never logged
	AppID   string        // the logged-in device, wx_...
	API     string        // "v1" (default: /api/message/sendmsg) or "v2" (/v2/api/message/postText)
	Timeout time.Duration // per call; default 15s
}
