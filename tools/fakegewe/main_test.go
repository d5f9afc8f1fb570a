package main

import (
	"testing"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe/gewetest"
)

func TestRender(t *testing.T) {
	cases := []struct {
		name string
		m    gewetest.Message
		want string
	}{
		{"text with a mention",
			gewetest.Message{API: "v2", Action: "postText", To: "1@chatroom", At: []string{"wxid_a"}, Content: "@Alice disk full"},
			"--- to 1@chatroom (v2 postText), mentions wxid_a\n@Alice disk full\n"},
		{"link card, escaped",
			gewetest.Message{API: "v1", Action: "sendapp", To: "wxid_b",
				XML: `<appmsg appid="" sdkver="0"><title>PR #1 a &amp; b</title><des>x &lt;y&gt;</des><type>5</type><url>https://e.com/?a=1&amp;b=2</url><thumburl>https://e.com/t.png</thumburl></appmsg>`},
			"--- to wxid_b (v1 sendapp)\n[card, type 5]\n  PR #1 a & b\n  x <y>\n  https://e.com/?a=1&b=2\n  thumbnail https://e.com/t.png\n"},
		{"broken card",
			gewetest.Message{API: "v1", Action: "sendapp", To: "wxid_b", XML: `<appmsg><title>a & b</title></appmsg>`},
			"--- to wxid_b (v1 sendapp)\n[card that WeChat cannot show: XML syntax error on line 1: invalid character entity & (no semicolon)]\n<appmsg><title>a & b</title></appmsg>\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := render(tc.m); got != tc.want {
				t.Errorf("render:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
