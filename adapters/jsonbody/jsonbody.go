// Package jsonbody decodes a JSON object the way the inbound adapters read
// webhook bodies: numbers become int64 when they are integers and float64
// otherwise. It imports nothing of this module, so the tests of package
// rules, which package adapters imports, can decode payloads as the
// adapters do.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Decode decodes body, which must be valid UTF-8 holding one JSON value and
// nothing after it, into a map and normalises its numbers. A JSON null
// gives a nil map and no error; callers that need an object check the
// first byte themselves, as adapters.DecodeObject does.
func Decode(body []byte) (map[string]any, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the JSON object")
	}
	normalise(m)
	return m, nil
}

// normalise replaces json.Number values in place by int64 or float64.
func normalise(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			switch x.(type) {
			case json.Number, map[string]any, []any:
				t[k] = normalise(x)
			}
		}
	case []any:
		for i, x := range t {
			t[i] = normalise(x)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i
		}
		f, _ := strconv.ParseFloat(string(t), 64)
		return f
	}
	return v
}
