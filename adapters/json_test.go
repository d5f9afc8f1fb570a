package adapters

import (
	"testing"

	"github.com/gewe-bridge/gewe-bridge/test/fixtures"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecodeObject(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]any
		err  string
	}{
		{"integers stay integers", `{"n": 42, "big": 435902963537395300}`, map[string]any{"n": int64(42), "big": int64(435902963537395300)}, ""},
		{"fractions are floats", `{"f": 1.5, "g": -0.25}`, map[string]any{"f": 1.5, "g": -0.25}, ""},
		{"a number without a fraction is an integer", `{"e": 1e3, "x": 2.0}`, map[string]any{"e": int64(1000), "x": int64(2)}, ""},
		{"integers beyond 2^53 keep every digit", `{"id": 8015075888668773694, "n": [9007199254740993]}`, map[string]any{"id": int64(8015075888668773694), "n": []any{int64(9007199254740993)}}, ""},
		{"nested numbers", `{"a": [1, {"b": 2.5}]}`, map[string]any{"a": []any{int64(1), map[string]any{"b": 2.5}}}, ""},
		{"beyond int64 is a float", `{"n": 123456789012345678901234}`, map[string]any{"n": 1.2345678901234568e23}, ""},
		{"null", `{"a": null}`, map[string]any{"a": nil}, ""},
		{"whitespace around", " \n{\"a\": \"b\"}\n ", map[string]any{"a": "b"}, ""},
		{"unicode", `{"a": "告警 🔥 \u0026"}`, map[string]any{"a": "告警 🔥 &"}, ""},
		{"empty", ``, nil, "empty body"},
		{"array", `[1]`, nil, "not a JSON object"},
		{"string", `"x"`, nil, "not a JSON object"},
		{"truncated", `{"a": `, nil, "invalid JSON"},
		{"trailing data", `{"a": 1} {"b": 2}`, nil, "invalid JSON"},
		{"invalid UTF-8", "{\"a\": \"\xff\"}", nil, "UTF-8"},
		{"too deep", `{"a":` + deepArray(100) + `}`, nil, "nested deeper"},
		{"brackets in strings do not count", `{"a": "` + deepArray(100) + `"}`, map[string]any{"a": deepArray(100)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeObject([]byte(tt.body))
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.Equal(t, Malformed, err.(*Error).Kind)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func deepArray(n int) string {
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		b = append(b, '[')
	}
	for i := 0; i < n; i++ {
		b = append(b, ']')
	}
	return string(b)
}

func BenchmarkDecodeObject(b *testing.B) {
	body := fixtures.ReadOrSkip(b, "alertmanager/firing.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := DecodeObject(body); err != nil {
			b.Fatal(err)
		}
	}
}
