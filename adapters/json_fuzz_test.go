package adapters

import (
	"math"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeMatchesExact: the fast path (goccy/go-json, float64 numbers)
// and the exact path (encoding/json, numbers from their text) accept and
// refuse the same documents and give the same values.
func FuzzDecodeMatchesExact(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":[1.5,"x",null,true,{"c":-2}],"d":"\u00e9\ud83d\ude00"}`,
		`{"id":8015075888668773694}`, `{"a":1e400}`, `{"a":1} {"b":2}`, `{"a":"\x"}`,
		`{"a":01}`, `{"a":[1,]}`, `{"a":1,"a":2}`, `{}`, `null`, `{"a":"\ud800"}`, ` {"a" : 1 } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ferr := decodeJSON(body)
		if !utf8.Valid(body) {
			if ferr == nil {
				t.Fatalf("invalid UTF-8 accepted: %q", body)
			}
			return
		}
		exact, eerr := decodeExact(body)
		if (ferr == nil) != (eerr == nil) {
			t.Fatalf("fast err %v, exact err %v for %q", ferr, eerr, body)
		}
		if ferr == nil && !sameJSON(fast, exact) {
			t.Fatalf("fast %#v != exact %#v for %q", fast, exact, body)
		}
	})
}

// sameJSON compares decoded values, numbers by value.
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameJSON(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameJSON(x[i], y[i]) {
				return false
			}
		}
		return true
	case int64, float64:
		return number(a) == number(b) || math.IsNaN(number(a)) && math.IsNaN(number(b))
	}
	return a == b
}

func number(v any) float64 {
	switch n := v.(type) {
	case int64:
		return float64(n)
	case float64:
		return n
	}
	return math.NaN()
}
