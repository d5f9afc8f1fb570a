package render

import (
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// FuzzLinkCardXML proves that no value can break out of its element: every
// card parses back and yields each value intact (less the characters XML
// cannot carry, which are dropped).
func FuzzLinkCardXML(f *testing.F) {
	for _, s := range [][4]string{
		{"PR #1 <b>bold</b>", "a & b", "https://x/?a=1&b=2", "https://x/p.png"},
		{"]]>", "<![CDATA[x]]>", "\"'", "</appmsg><appmsg>"},
		{"告警 🔥", "\x00\x01", "\xff\xfe", "&amp;"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, title, des, url, thumb string) {
		out := LinkCardXML(title, des, url, thumb)
		var card struct {
			XMLName xml.Name `xml:"appmsg"`
			Title   string   `xml:"title"`
			Des     string   `xml:"des"`
			Type    string   `xml:"type"`
			URL     string   `xml:"url"`
			Thumb   string   `xml:"thumburl"`
		}
		if err := xml.Unmarshal([]byte(out), &card); err != nil {
			t.Fatalf("card does not parse: %v\n%s", err, out)
		}
		for _, c := range []struct{ got, want string }{{card.Title, title}, {card.Des, des}, {card.URL, url}, {card.Thumb, thumb}} {
			if c.got != xmlText(c.want) {
				t.Fatalf("value changed: got %q, want %q", c.got, xmlText(c.want))
			}
		}
		if card.Type != "5" {
			t.Fatalf("type is %q", card.Type)
		}
		if err := checkAppMsg(out); err != nil {
			t.Fatal(err)
		}
	})
}

// xmlText is what an XML parser gives back for s: invalid UTF-8 becomes
// U+FFFD and characters XML forbids are gone.
func xmlText(s string) string {
	var b strings.Builder
	for _, r := range s { // one U+FFFD per invalid byte, as escapeXML writes
		if isXMLChar(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// FuzzSplit: parts respect the byte limit, never cut a character, and
// (below max_parts) carry the whole text.
func FuzzSplit(f *testing.F) {
	f.Add("line one\nline two 告警 🔥\n"+strings.Repeat("长", 500), 100, 4)
	f.Add(strings.Repeat("a", 5000), 2000, 4)
	f.Add("short", 2000, 4)
	f.Fuzz(func(t *testing.T, text string, max, parts int) {
		if max < 0 || max > 10000 || parts < 0 || parts > 50 || !utf8.ValidString(text) {
			return
		}
		out := Split(text, max, parts, "https://x/y")
		if len(out) == 0 {
			t.Fatal("no parts")
		}
		if parts > 0 && len(out) > max2(parts, 1) {
			t.Fatalf("%d parts, max %d", len(out), parts)
		}
		for _, p := range out {
			if !utf8.ValidString(p) {
				t.Fatalf("part splits a character: %q", p)
			}
			if max >= 64 && len(out) > 1 && len(p) > max {
				t.Fatalf("part of %d bytes over the limit %d", len(p), max)
			}
		}
	})
}

func max2(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// FuzzRender: user templates over arbitrary payload values never panic and
// never print "<no value>".
func FuzzRender(f *testing.F) {
	f.Add("{{ .payload.a }} {{ .labels.x | default \"n\" }}", "value", int64(3))
	f.Add("{{ truncate 3 .payload.a }}{{ xml .payload.a }}{{ toJson .payload }}", "<&>", int64(-1))
	f.Add("{{ range .alerts }}{{ .labels.y }}{{ end }}{{ date \"2006\" .payload.b }}", "告警", int64(1<<40))
	// Issue 16: loops that write nothing, amplifying functions.
	f.Add("{{ range 3000000000 }}{{ end }}", "", int64(0))
	f.Add("{{ range .payload.b }}{{ range $.payload.b }}{{ end }}{{ end }}", "", int64(1<<40))
	f.Add("{{ range $i, $x := .payload.d }}{{ range $i }}{{ end }}{{ end }}", "x", int64(5))
	f.Add("{{ define \"a\" }}{{ template \"a\" . }}{{ end }}{{ template \"a\" . }}", "", int64(0))
	f.Add("{{ $x := replace \"a\" .payload.a .payload.a }}{{ indent 100 (indent 100 .payload.a) }}{{ join .payload.a .payload.d }}", "aaaa\naaaa", int64(3))
	f.Fuzz(func(t *testing.T, src, s string, n int64) {
		tm, err := Parse("f", config.Template{Text: src}, Funcs(nil, nil))
		if err != nil {
			return
		}
		ev := &event.Event{Payload: map[string]any{"a": s, "b": n, "c": nil, "d": []any{s, n}},
			Labels: map[string]string{"x": s}, Alerts: []any{map[string]any{"labels": map[string]any{"y": s}}}}
		text, _, err := tm.Render(ev.Vars(), 4096)
		if err == nil && strings.Contains(text, "<no value>") && !strings.Contains(s, "<no value>") && !strings.Contains(src, "<no value>") {
			t.Fatalf("rendered <no value>: %q", text)
		}
	})
}

func TestRenderLimits(t *testing.T) {
	big := make([]any, 20000)
	for i := range big {
		big[i] = "x"
	}
	data := map[string]any{"payload": map[string]any{"big": big}}
	tests := []struct {
		name, src, want string
	}{
		{"output cap", `{{ range .payload.big }}{{ . }}{{ end }}`, "output over"},
		{"time limit", `{{ range .payload.big }}{{ range $.payload.big }}{{ "" }}{{ end }}{{ end }}`, "still running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tm, err := Parse("t", config.Template{Text: tt.src}, Funcs(nil, nil))
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = tm.Render(data, 4096)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func BenchmarkLinkCardXML(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = LinkCardXML("PR #1347 Update the README with new information & more", "Codertocat → Codertocat/Hello-World: changes → master",
			"https://github.com/Codertocat/Hello-World/pull/2?a=1&b=2", "https://avatars1.githubusercontent.com/u/21031067?v=4")
	}
}
