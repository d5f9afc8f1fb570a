package gewecallback

import (
	"testing"

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A quoted reply in a group, shaped as GeWe sends it (NewMsgId above
// 2^53, as a string; the author's wxid in front of Content).
const quoteInGroup = `{"TypeName":"AddMsg","Appid":"wx_app","Wxid":"wxid_bot","Data":{"MsgId":1040356095,
"NewMsgId":"7283417355447012345","FromUserName":{"string":"123@chatroom"},"ToUserName":{"string":"wxid_bot"},
"MsgType":49,"CreateTime":1740026948,"MsgSource":"<msgsource><atuserlist>wxid_bot</atuserlist></msgsource>",
"Content":{"string":"wxid_alice:\n<?xml version=\"1.0\"?>\n<msg><appmsg appid=\"\" sdkver=\"0\"><title>silence 2h</title><type>57</type><refermsg><type>1</type><svrid>435902963537395301</svrid><fromusr>123@chatroom</fromusr><chatusr>wxid_bot</chatusr><content>alert</content></refermsg></appmsg></msg>"}}}`

func TestParseQuote(t *testing.T) {
	m, err := Parse([]byte(quoteInGroup))
	require.NoError(t, err)
	assert.Equal(t, int64(7283417355447012345), m.NewMsgID)
	assert.Equal(t, "123@chatroom", m.Chat())
	assert.Equal(t, "wxid_alice", m.Author())
	assert.False(t, m.Own())
	assert.True(t, m.Mentions("wxid_bot"))
	text, quoted := m.Text()
	assert.Equal(t, "silence 2h", text)
	assert.Equal(t, int64(435902963537395301), quoted)
	assert.Equal(t, "wx_app:7283417355447012345", m.Key())
}

func TestParseTextAndOwn(t *testing.T) {
	m, err := Parse([]byte(`{"TypeName":"AddMsg","Appid":"wx_app","Wxid":"wxid_bot","Data":{"NewMsgId":346853901463423953,
"FromUserName":{"string":"wxid_bot"},"MsgType":1,"Content":{"string":" help "}}}`))
	require.NoError(t, err)
	assert.Equal(t, int64(346853901463423953), m.NewMsgID) // a number above 2^53, exact
	assert.True(t, m.Own())
	text, quoted := m.Text()
	assert.Equal(t, "help", text)
	assert.Zero(t, quoted)
}

func TestReceiveToken(t *testing.T) {
	r := New(Config{Secret: "s3cret-s3cret-s3cret"})
	req := &adapters.Request{Source: "wechat", ContentType: "application/json", Body: []byte(quoteInGroup)}
	_, err := r.Receive(req)
	assert.Equal(t, 401, adapters.StatusOf(err))
	req.Token = "s3cret-s3cret-s3cret"
	ev, err := r.Receive(req)
	require.NoError(t, err)
	assert.Equal(t, "gewe_callback:wx_app:7283417355447012345", ev.DedupKey)
	assert.Equal(t, "wxid_alice", ev.Sender)
}
