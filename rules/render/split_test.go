package render_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gewe-bridge/gewe-bridge/rules/render"
)

var partMark = regexp.MustCompile(`^\((\d+)/(\d+)\) `)

// unmark removes the "(i/n) " marks, checking that they count 1..n.
func unmark(t *testing.T, parts []string) []string {
	t.Helper()
	if len(parts) == 1 {
		assert.False(t, partMark.MatchString(parts[0]), "a single part is not marked: %q", parts[0])
		return parts
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		m := partMark.FindStringSubmatch(p)
		require.NotNil(t, m, "part %d is not marked: %q", i, p)
		assert.Equal(t, fmt.Sprint(i+1), m[1])
		assert.Equal(t, fmt.Sprint(len(parts)), m[2])
		out[i] = p[len(m[0]):]
	}
	return out
}

func TestSplitShortTextUntouched(t *testing.T) {
	for _, text := range []string{"", "short", "两行\n文字 🚀", strings.Repeat("x", 100)} {
		assert.Equal(t, []string{text}, render.Split(text, 100, 4, "https://x"))
	}
	// No limit: nothing is split.
	long := strings.Repeat("长", 1000)
	assert.Equal(t, []string{long}, render.Split(long, 0, 4, ""))
}

func TestSplitRespectsBytesAndCharacters(t *testing.T) {
	lines := []string{
		"告警：磁盘空间不足 🔥🔥",
		"实例: 10.0.3.21:9100",
		strings.Repeat("中文字符和表情😀", 9), // a line longer than most limits
		"",
		"ascii only line",
		"👨‍👩‍👧‍👦 family emoji, several code points",
		"末行",
	}
	texts := map[string]string{
		"lines":          strings.Join(lines, "\n"),
		"one long line":  strings.Repeat("汉字🚀x", 200),
		"emoji only":     strings.Repeat("😀", 300),
		"blank lines":    strings.Repeat("段落内容\n\n\n", 40),
		"trailing lines": strings.Repeat("行\n", 300),
	}
	for name, text := range texts {
		for _, maxBytes := range []int{32, 33, 34, 35, 37, 50, 64, 100, 257, 1000} {
			t.Run(fmt.Sprintf("%s/%d", name, maxBytes), func(t *testing.T) {
				parts := render.Split(text, maxBytes, 1000, "")
				require.NotEmpty(t, parts)
				for i, p := range parts {
					assert.LessOrEqual(t, len(p), maxBytes, "part %d: %q", i, p)
					assert.True(t, utf8.ValidString(p), "part %d is not valid UTF-8: %q", i, p)
				}
				// Nothing lost but line breaks at the cuts.
				joined := strings.Join(unmark(t, parts), "")
				assert.Equal(t, strings.ReplaceAll(text, "\n", ""), strings.ReplaceAll(joined, "\n", ""))
			})
		}
	}
}

func TestSplitOnLineBoundaries(t *testing.T) {
	text := "第一行 line one\n第二行 line two\n第三行 line three\n第四行 line four"
	parts := render.Split(text, 50, 4, "")
	assert.Equal(t, []string{
		"(1/2) 第一行 line one\n第二行 line two",
		"(2/2) 第三行 line three\n第四行 line four",
	}, parts)
}

func TestSplitTruncates(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, "第%d行：一些告警内容 some text\n", i)
	}
	text := b.String()

	t.Run("with a link", func(t *testing.T) {
		parts := render.Split(text, 200, 3, "https://example.com/pr/1?x=1&y=2")
		require.Len(t, parts, 3)
		for _, p := range parts {
			assert.LessOrEqual(t, len(p), 200)
			assert.True(t, utf8.ValidString(p))
		}
		assert.True(t, strings.HasPrefix(parts[2], "(3/3) "))
		assert.True(t, strings.HasSuffix(parts[2], "\n…(truncated, full text: https://example.com/pr/1?x=1&y=2)"), parts[2])
		assert.True(t, strings.HasPrefix(parts[0], "(1/3) 第0行"))
	})
	t.Run("without a link", func(t *testing.T) {
		parts := render.Split(text, 200, 2, "")
		require.Len(t, parts, 2)
		assert.True(t, strings.HasSuffix(parts[1], "\n…(truncated)"), parts[1])
	})
	t.Run("a link too long for the part is left out", func(t *testing.T) {
		parts := render.Split(text, 200, 2, "https://example.com/"+strings.Repeat("x", 150))
		require.Len(t, parts, 2)
		assert.True(t, strings.HasSuffix(parts[1], "\n…(truncated)"), parts[1])
		assert.LessOrEqual(t, len(parts[1]), 200)
	})
	t.Run("one part at most: truncated, not marked", func(t *testing.T) {
		parts := render.Split(text, 200, 1, "https://e.com")
		require.Len(t, parts, 1)
		assert.False(t, partMark.MatchString(parts[0]))
		assert.True(t, strings.HasSuffix(parts[0], "…(truncated, full text: https://e.com)"), parts[0])
		assert.LessOrEqual(t, len(parts[0]), 200)
	})
	t.Run("cut inside a long line of wide characters", func(t *testing.T) {
		parts := render.Split(strings.Repeat("宽😀", 500), 101, 2, "")
		require.Len(t, parts, 2)
		for _, p := range parts {
			assert.LessOrEqual(t, len(p), 101)
			assert.True(t, utf8.ValidString(p), p)
		}
	})
}

func TestSplitManyParts(t *testing.T) {
	// Marks like "(100/150) " are longer than "(1/4) ": the limit holds.
	text := strings.Repeat("一二三四五六七八九十 and some ASCII to fill each line\n", 500) + strings.Repeat("x", 100000)
	for _, maxParts := range []int{9, 10, 99, 100, 150, 1000} {
		parts := render.Split(text, 64, maxParts, "")
		assert.Len(t, parts, maxParts)
		for i, p := range parts {
			require.LessOrEqual(t, len(p), 64, "max_parts %d, part %d: %q", maxParts, i, p)
		}
	}
}

func TestSplitInvalidUTF8DoesNotHang(t *testing.T) {
	// Templates can slice strings by byte; whatever comes out, Split ends.
	text := strings.Repeat("\x80", 500) + "\n" + strings.Repeat("\xbf", 500)
	done := make(chan []string)
	go func() { done <- render.Split(text, 100, 20, "") }()
	select {
	case parts := <-done:
		for _, p := range parts {
			assert.LessOrEqual(t, len(p), 100)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Split does not return on invalid UTF-8")
	}
}
