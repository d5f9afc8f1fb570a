// Package render turns an event's data into the text or the app card
// WeChat shows: templates (Parse, Template.Render), bounded in output, time
// and work (budget.go), the functions templates call (funcs.go, by kind in
// time.go, text.go, values.go, alerts.go), the built-in templates per
// language (builtin/), splitting long text into parts (split.go) and the
// appmsg XML of link cards. It knows nothing of rules or of HTTP.
package render

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"unicode/utf8"

	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

// Template is a compiled template: text, a link card, or a raw appmsg.
type Template struct {
	name   string
	text   *guarded
	appmsg *guarded
	link   *linkTmpl
}

// Name is the template's name in the config (or the built-in's, github.push).
func (t *Template) Name() string { return t.name }

type linkTmpl struct {
	title, des, url, thumb *guarded
}

func Parse(name string, t config.Template, funcs template.FuncMap) (*Template, error) {
	parse := func(part, src string) (*guarded, error) {
		tn := name
		if part != "" {
			tn += "." + part
		}
		t, err := template.New(tn).Funcs(funcs).Option("missingkey=zero").Parse(src)
		if err != nil {
			return nil, err
		}
		if err := checkCalls(t); err != nil {
			return nil, err
		}
		return guard(t), nil
	}
	out := &Template{name: name}
	var err error
	switch {
	case t.Link != nil:
		l := &linkTmpl{}
		for _, p := range []struct {
			dst  **guarded
			part string
			src  string
		}{{&l.title, "title", t.Link.Title}, {&l.des, "des", t.Link.Des}, {&l.url, "url", t.Link.URL}, {&l.thumb, "thumb_url", t.Link.ThumbURL}} {
			if *p.dst, err = parse(p.part, p.src); err != nil {
				return nil, err
			}
		}
		out.link = l
	case t.AppMsg != "":
		out.appmsg, err = parse("", t.AppMsg)
	default:
		out.text, err = parse("", t.Text)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkCalls refuses a {{ template "x" }} of a template that is not
// defined ({{ define "x" }}) in the same source: text/template finds that
// only when it runs, and the message would be lost then.
func checkCalls(t *template.Template) error {
	for _, d := range t.Templates() {
		if d.Tree == nil {
			continue
		}
		var missing string
		walkNodes(d.Tree.Root, func(n parse.Node) {
			if tn, ok := n.(*parse.TemplateNode); ok && missing == "" && t.Lookup(tn.Name) == nil {
				missing = tn.Name
			}
		})
		if missing != "" {
			return fmt.Errorf("template: %s: {{ template %q }} calls a template that is not defined here (define it with {{ define %q }} in the same template)", t.Name(), missing, missing)
		}
	}
	return nil
}

// walkNodes calls f for n and every node below it.
func walkNodes(n parse.Node, f func(parse.Node)) {
	if n == nil {
		return
	}
	f(n)
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkNodes(c, f)
		}
	case *parse.IfNode:
		walkNodes(n.List, f)
		walkNodes(n.ElseList, f)
	case *parse.RangeNode:
		walkNodes(n.List, f)
		walkNodes(n.ElseList, f)
	case *parse.WithNode:
		walkNodes(n.List, f)
		walkNodes(n.ElseList, f)
	}
}

// errTooLong is the error of a template whose output is over the limit.
var errTooLong = errors.New("template output is over the size limit")

// limitedBuffer is a bytes.Buffer that refuses to grow past max or to keep
// writing past its budget's deadline. The clock is read every 32 writes,
// to keep a normal render cheap; the budget's range and template hooks
// read it where a template loops without writing.
type limitedBuffer struct {
	bytes.Buffer
	max    int
	budget *budget
	writes int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errTooLong
	}
	if b.writes++; b.writes%32 == 0 {
		if err := b.budget.check(); err != nil {
			return 0, err
		}
	}
	return b.Buffer.Write(p)
}

// execute runs g on data within lim. text/template prints a missing map
// key as "<no value>" even with missingkey=zero (the zero value of an
// interface is nil); like Helm, the bridge removes it so a message never
// shows it.
func execute(g *guarded, data any, max int, lim *Limits) (string, error) {
	buf := buffers.Get().(*limitedBuffer)
	defer buffers.Put(buf)
	in := g.get(lim)
	defer g.put(in)
	buf.Reset()
	buf.max, buf.budget, buf.writes = max, in.b, 0
	if err := in.t.Execute(buf, data); err != nil {
		var be *budgetError
		switch {
		case errors.Is(err, errTooLong):
			return "", fmt.Errorf("%s: output over %d bytes", g.t.Name(), max)
		case errors.As(err, &be):
			return "", fmt.Errorf("%s: %w", g.t.Name(), be)
		}
		return "", err
	}
	out := buf.String()
	if strings.Contains(out, "<no value>") {
		out = strings.ReplaceAll(out, "<no value>", "")
	}
	if buf.Cap() > 64<<10 {
		// Do not keep a huge buffer for the next render.
		buf.Buffer = bytes.Buffer{}
	}
	return out, nil
}

// buffers are reused across renders: growing a fresh one from nothing
// was a fifth of a render's allocated bytes.
var buffers = sync.Pool{New: func() any { return new(limitedBuffer) }}

// render runs a template within the default limits.
func (t *Template) Render(data any, max int) (text, xmlOut string, err error) {
	return t.RenderWithin(data, max, NewLimits(nil, config.DefaultRenderTimeout, config.DefaultRenderIterations))
}

// RenderWithin runs a template within lim: text for text templates, xml
// for cards.
func (t *Template) RenderWithin(data any, max int, lim *Limits) (text, xmlOut string, err error) {
	switch {
	case t.link != nil:
		var f [4]string
		for i, pt := range []*guarded{t.link.title, t.link.des, t.link.url, t.link.thumb} {
			if f[i], err = execute(pt, data, max, lim); err != nil {
				return "", "", err
			}
		}
		return "", LinkCardXML(strings.TrimSpace(f[0]), strings.TrimSpace(f[1]), strings.TrimSpace(f[2]), strings.TrimSpace(f[3])), nil
	case t.appmsg != nil:
		out, err := execute(t.appmsg, data, max, lim)
		if err != nil {
			return "", "", err
		}
		out = strings.TrimSpace(out)
		if err := checkAppMsg(out); err != nil {
			return "", "", fmt.Errorf("%s: %w", t.name, err)
		}
		return "", out, nil
	default:
		out, err := execute(t.text, data, max, lim)
		return strings.TrimSpace(out), "", err
	}
}

// LinkCardXML builds the <appmsg> of a link card (type 5). Every value is
// escaped: a "&" in a URL or a "<" in a title cannot break the card.
func LinkCardXML(title, des, url, thumbURL string) string {
	var b strings.Builder
	b.Grow(96 + len(title) + len(des) + len(url) + len(thumbURL))
	b.WriteString(`<appmsg appid="" sdkver="0"><title>`)
	escapeXML(&b, title)
	b.WriteString(`</title><des>`)
	escapeXML(&b, des)
	b.WriteString(`</des><type>5</type><url>`)
	escapeXML(&b, url)
	b.WriteString(`</url><thumburl>`)
	escapeXML(&b, thumbURL)
	b.WriteString(`</thumburl></appmsg>`)
	return b.String()
}

// escapeXML writes s escaped for element text and attribute values. Runes
// XML 1.0 forbids (most control characters) are dropped: a card with one
// is rejected by the parser on the other side.
func escapeXML(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '\r':
			// A parser turns a literal \r into \n; the reference keeps it.
			b.WriteString("&#xD;")
		default:
			if isXMLChar(r) {
				b.WriteRune(r)
			}
		}
	}
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// EscapeXML returns s escaped for XML; the `xml` template function. Text
// with nothing to escape is returned as it is, without allocating.
func EscapeXML(s string) string {
	for i, r := range s {
		switch {
		case r == '&', r == '<', r == '>', r == '"', r == '\'', r == '\r', !isXMLChar(r),
			r == utf8.RuneError && isInvalidAt(s, i):
			var b strings.Builder
			b.Grow(len(s) + 16)
			b.WriteString(s[:i])
			escapeXML(&b, s[i:])
			return b.String()
		}
	}
	return s
}

// isInvalidAt reports whether s holds an invalid UTF-8 byte at i (rather
// than a real U+FFFD).
func isInvalidAt(s string, i int) bool {
	_, size := utf8.DecodeRuneInString(s[i:])
	return size == 1
}

// checkAppMsg requires well-formed XML with one <appmsg> root.
func checkAppMsg(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("appmsg is not well-formed XML: %v (escape values with {{ xml ... }})", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if t.Name.Local != "appmsg" {
					return fmt.Errorf("appmsg template must produce an <appmsg> element, not <%s>", t.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("appmsg template has text outside <appmsg>")
			}
		}
	}
	if roots != 1 {
		return fmt.Errorf("appmsg template must produce exactly one <appmsg> element, got %d", roots)
	}
	return nil
}
