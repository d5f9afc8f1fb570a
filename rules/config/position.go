package config

import "go.yaml.in/yaml/v3"

// PosInValue maps a place inside the value at path (an expression: line
// is 1-based within src, column 0-based on that line, from the offset in
// runes, as expr's errors give them) to the file, so that an error inside
// an expression points at the right character of the YAML.
func (c *Config) PosInValue(path, src string, line, column, from int) Pos {
	start := c.PosOf(path)
	if start.Line == 0 {
		return start
	}
	switch c.styles[path] {
	case yaml.LiteralStyle:
		// Lines are kept as written, less the block's indentation; the
		// text starts on the line after the indicator.
		return Pos{Line: start.Line + line, Column: c.indents[path] + column + 1}
	case yaml.FoldedStyle:
		start = Pos{Line: start.Line + 1, Column: c.indents[path] + 1}
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		start.Column++ // after the opening quote
	}
	// Plain, quoted and folded values may be folded over several lines
	// and hold escapes: find the expression's characters in the file.
	return seekValue(c.lines, start, c.styles[path] == yaml.DoubleQuotedStyle, []rune(src), from)
}

// seekValue returns the place in the file of value[n] (or just after the
// value when n is past its end), for a scalar whose text starts at start.
// It walks the file and the value side by side, skipping what YAML took
// out of the text: line breaks and indentation of folded lines, doubled
// single quotes and, in double quotes, backslash escapes (one character).
func seekValue(lines []string, start Pos, doubleQuoted bool, value []rune, n int) Pos {
	if start.Line > len(lines) || n < 0 {
		return start
	}
	n = min(n, len(value))
	line, cur := start.Line, []rune(lines[start.Line-1])
	i := start.Column - 1
	for k := 0; k <= n; k++ {
		if k == len(value) {
			return Pos{Line: line, Column: i + 1} // just after the value
		}
		for {
			if i >= len(cur) {
				if k == n && value[k] == '\n' {
					return Pos{Line: line, Column: i + 1}
				}
				if line >= len(lines) {
					return start // not found: the value's start is the best guess
				}
				line, cur, i = line+1, []rune(lines[line]), 0
				if k < n && value[k] == '\n' {
					break // a line break kept in the value
				}
				continue
			}
			if k == n {
				if cur[i] == value[k] || doubleQuoted && cur[i] == '\\' {
					return Pos{Line: line, Column: i + 1}
				}
				i++
				continue
			}
			if doubleQuoted && cur[i] == '\\' && i+1 < len(cur) {
				i += escapeLen(cur[i+1])
				break
			}
			if cur[i] == value[k] {
				i++
				break
			}
			i++
		}
	}
	return start
}

// escapeLen is the length of a YAML double-quoted escape starting with
// a backslash and c.
func escapeLen(c rune) int {
	switch c {
	case 'x':
		return 4
	case 'u':
		return 6
	case 'U':
		return 10
	}
	return 2
}
