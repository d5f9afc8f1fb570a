package render

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// partMarkRoom is the bytes kept free in each part for its "(1/3) " mark,
// up to 99 parts.
const partMarkRoom = len("(10/10) ")

// Split cuts text into parts of at most maxBytes UTF-8 bytes each, on line
// boundaries where it can and never inside a character, marked "(1/3)".
// Past maxParts the last part is cut short and ends with a marker naming
// link, where the whole content can be read.
func Split(text string, maxBytes, maxParts int, link string) []string {
	if maxBytes <= 0 || len(text) <= maxBytes {
		return []string{text}
	}
	if maxParts <= 0 {
		maxParts = 1
	}
	// Keep room in each part for its mark: partMarkRoom is enough for up
	// to 99 parts; more parts need longer marks, so cut again.
	room := partMarkRoom
	var budget int
	var chunks []string
	for {
		budget = max(maxBytes-room, 16)
		chunks = chunkLines(text, budget)
		n := min(len(chunks), maxParts)
		need := len("(/) ") + 2*len(strconv.Itoa(n))
		if need <= room {
			break
		}
		room = need
	}
	if len(chunks) > maxParts {
		chunks = chunks[:maxParts]
		marker := "\n…(truncated)"
		if link != "" {
			marker = "\n…(truncated, full text: " + link + ")"
		}
		if len(marker) > budget/2 {
			marker = "\n…(truncated)"
		}
		last := chunks[len(chunks)-1]
		chunks[len(chunks)-1] = cutAtRune(last, budget-len(marker)) + marker
	}
	if len(chunks) == 1 {
		return chunks
	}
	for i := range chunks {
		chunks[i] = fmt.Sprintf("(%d/%d) %s", i+1, len(chunks), chunks[i])
	}
	return chunks
}

// chunkLines packs whole lines into chunks of at most budget bytes; a line
// longer than that is cut at character boundaries.
func chunkLines(text string, budget int) []string {
	var chunks []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimRight(cur.String(), "\n"); s != "" {
			chunks = append(chunks, s)
		}
		cur.Reset()
	}
	for text != "" {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line = text[:i+1]
		}
		text = text[len(line):]
		if cur.Len()+len(line) > budget {
			flush()
		}
		for len(line) > budget {
			head := cutAtRune(line, budget)
			chunks = append(chunks, head)
			line = line[len(head):]
		}
		cur.WriteString(line)
	}
	flush()
	return chunks
}

// cutAtRune returns the longest prefix of s of at most n bytes that ends
// on a character boundary.
func cutAtRune(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 0 {
		n = 0
	}
	// A character is at most utf8.UTFMax bytes: look back no further, so
	// that text that is not valid UTF-8 is still cut (and progress made).
	for i := n; i > 0 && n-i < utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i]
		}
	}
	return s[:n]
}

// EventLink is the page where an event can be read in full: the PR, issue,
// release or run on GitHub, Alertmanager's UI, or a generic payload's url.
func EventLink(ev *event.Event) string {
	p := ev.Payload
	switch ev.Type {
	case "alertmanager":
		return ev.ExternalURL
	case "github":
		for _, k := range []string{"pull_request", "issue", "comment", "review", "release", "workflow_run", "workflow_job", "check_run", "discussion"} {
			if m, ok := p[k].(map[string]any); ok {
				if u, ok := m["html_url"].(string); ok && u != "" {
					return u
				}
			}
		}
		if u, ok := p["compare"].(string); ok && u != "" {
			return u
		}
		if m, ok := p["repository"].(map[string]any); ok {
			u, _ := m["html_url"].(string)
			return u
		}
	default:
		for _, k := range []string{"url", "link", "html_url"} {
			if u, ok := p[k].(string); ok {
				return u
			}
		}
	}
	return ""
}
