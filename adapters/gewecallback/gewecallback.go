// Package gewecallback receives the callbacks GeWe makes with the WeChat
// messages its account receives (the URL set with /v2/api/tools/setCallback,
// or v1's own): the chat-ops commands. GeWe signs nothing, so the secret
// travels in the callback URL, /hooks/<name>/<secret> or ?token=<secret>,
// and is compared in constant time.
//
// A callback is JSON: {"TypeName": "AddMsg", "Appid", "Wxid" (the
// account's own wxid), "Data": {"MsgId", "NewMsgId" (a number above 2^53,
// or a string), "FromUserName": {"string"}, "ToUserName": {"string"},
// "MsgType", "Content": {"string"}, "CreateTime", "MsgSource", ...}}. In a
// group, FromUserName is the group and Content starts with the author's
// wxid and ":\n". A quoted reply is MsgType 49 whose <appmsg> has
// <type>57</type>, the reply in <title> and the quoted message in
// <refermsg>, whose <svrid> is the quoted message's NewMsgId.
package gewecallback

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"strconv"
	"strings"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// Config is a gewe_callback source's settings.
type Config struct {
	// Secret is the token in the callback URL; "" accepts any (dry runs).
	Secret string
}

// Receiver turns GeWe callbacks into events.
type Receiver struct{ secret string }

// New returns a Receiver for cfg.
func New(cfg Config) *Receiver { return &Receiver{secret: cfg.Secret} }

var _ adapters.Receiver = (*Receiver)(nil)

// EventLabel is the metric label of a callback's TypeName.
func EventLabel(name string) string {
	switch name {
	case "", "AddMsg", "ModContacts", "DelContacts", "Offline":
		return name
	}
	return "other"
}

// Receive checks the URL's token, then decodes the callback. The event's
// Sender is the author's wxid, its ID "<Appid>:<NewMsgId>", which is also
// the de-duplication key GeWe asks receivers to use.
func (a *Receiver) Receive(r *adapters.Request) (*event.Event, error) {
	if a.secret != "" && !adapters.SecretEqual(r.Token, a.secret) {
		return nil, adapters.Errorf(adapters.Unauthorized, "invalid or missing callback token")
	}
	if r.ContentType != "" && r.ContentType != "application/json" && r.ContentType != "text/plain" {
		return nil, adapters.Errorf(adapters.Unsupported, "unsupported content type %.64q: expected application/json", r.ContentType)
	}
	payload, err := adapters.DecodeObject(r.Body)
	if err != nil {
		return nil, err
	}
	m, err := Parse(r.Body)
	if err != nil {
		return nil, err
	}
	ev := &event.Event{
		Source:  r.Source,
		Type:    "gewe_callback",
		Event:   m.TypeName,
		ID:      m.Key(),
		Payload: payload,
		Headers: r.Headers,
		Sender:  m.Author(),
		Raw:     r.Body,
	}
	if m.NewMsgID != 0 {
		ev.DedupKey = "gewe_callback:" + m.Key()
	}
	return ev, nil
}

// Message is a callback, the fields chat-ops reads.
type Message struct {
	TypeName string
	AppID    string
	Wxid     string // the account's own wxid
	MsgID    int64
	NewMsgID int64
	From     string // FromUserName: the person, or the group
	To       string
	MsgType  int
	Content  string // as sent: with "wxid:\n" in front in a group
	Created  time.Time
	Source   string // MsgSource XML (mentions: <atuserlist>)
}

type wireString struct {
	String string `json:"string"`
}

type wire struct {
	TypeName string `json:"TypeName"`
	Appid    string `json:"Appid"`
	Wxid     string `json:"Wxid"`
	Data     *struct {
		MsgID        flexInt    `json:"MsgId"`
		NewMsgID     flexInt    `json:"NewMsgId"`
		FromUserName wireString `json:"FromUserName"`
		ToUserName   wireString `json:"ToUserName"`
		MsgType      flexInt    `json:"MsgType"`
		Content      wireString `json:"Content"`
		CreateTime   flexInt    `json:"CreateTime"`
		MsgSource    string     `json:"MsgSource"`
	} `json:"Data"`
}

// flexInt is an integer sent as a JSON number or a string: GeWe sends
// NewMsgId both ways, and it is above 2^53, so never through a float.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

// Parse decodes a callback body.
func Parse(body []byte) (*Message, error) {
	var w wire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, adapters.Errorf(adapters.Malformed, "not a GeWe callback: %v", err)
	}
	m := &Message{TypeName: w.TypeName, AppID: w.Appid, Wxid: w.Wxid}
	if d := w.Data; d != nil {
		m.MsgID, m.NewMsgID = int64(d.MsgID), int64(d.NewMsgID)
		m.From, m.To = d.FromUserName.String, d.ToUserName.String
		m.MsgType, m.Content, m.Source = int(d.MsgType), d.Content.String, d.MsgSource
		if d.CreateTime > 0 {
			m.Created = time.Unix(int64(d.CreateTime), 0)
		}
	}
	return m, nil
}

// Key is "<Appid>:<NewMsgId>", what GeWe says identifies a message.
func (m *Message) Key() string { return m.AppID + ":" + strconv.FormatInt(m.NewMsgID, 10) }

// IsGroup reports whether the message was written in a group.
func (m *Message) IsGroup() bool { return strings.HasSuffix(m.From, "@chatroom") }

// Chat is where to answer: the group, or the person.
func (m *Message) Chat() string { return m.From }

// Author is the wxid of who wrote the message: in a group the prefix of
// Content, else From.
func (m *Message) Author() string {
	if !m.IsGroup() {
		return m.From
	}
	who, _ := m.split()
	return who
}

// split cuts a group message's "wxid:\n" prefix off.
func (m *Message) split() (who, body string) {
	if !m.IsGroup() {
		return "", m.Content
	}
	if i := strings.Index(m.Content, ":\n"); i > 0 && !strings.ContainsAny(m.Content[:i], " <\n") {
		return m.Content[:i], m.Content[i+2:]
	}
	return "", m.Content
}

// Own reports whether the account sent the message itself.
func (m *Message) Own() bool {
	return m.Wxid != "" && (m.From == m.Wxid || m.Author() == m.Wxid)
}

// MsgTypeApp is an app message (cards, quoted replies); AppTypeQuote the
// appmsg type of a quoted reply.
const (
	MsgTypeText  = 1
	MsgTypeApp   = 49
	AppTypeQuote = 57
)

type appmsgXML struct {
	AppMsg struct {
		Title    string `xml:"title"`
		Type     int    `xml:"type"`
		ReferMsg *struct {
			Type    int    `xml:"type"`
			SvrID   string `xml:"svrid"`
			FromUsr string `xml:"fromusr"`
			ChatUsr string `xml:"chatusr"`
			Content string `xml:"content"`
		} `xml:"refermsg"`
	} `xml:"appmsg"`
}

// Text is what the author wrote (a quoted reply's title), and the
// NewMsgId of the message it quotes, 0 when it quotes none.
func (m *Message) Text() (text string, quoted int64) {
	_, body := m.split()
	switch m.MsgType {
	case MsgTypeText:
		return strings.TrimSpace(body), 0
	case MsgTypeApp:
		var x appmsgXML
		// The XML starts after any "<?xml ...?>"; the decoder reads it.
		if err := xml.Unmarshal([]byte(strings.TrimSpace(body)), &x); err != nil || x.AppMsg.Type != AppTypeQuote {
			return "", 0
		}
		if r := x.AppMsg.ReferMsg; r != nil {
			quoted, _ = strconv.ParseInt(strings.TrimSpace(r.SvrID), 10, 64)
		}
		return strings.TrimSpace(x.AppMsg.Title), quoted
	}
	return "", 0
}

// Mentions reports whether the message @-mentions wxid (MsgSource's
// <atuserlist>).
func (m *Message) Mentions(wxid string) bool {
	if wxid == "" {
		return false
	}
	var x struct {
		AtUserList string `xml:"atuserlist"`
	}
	if err := xml.Unmarshal([]byte(m.Source), &x); err != nil {
		return false
	}
	for _, w := range strings.Split(x.AtUserList, ",") {
		if strings.TrimSpace(w) == wxid {
			return true
		}
	}
	return false
}
