package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"
	_ "time/tzdata" // Asia/Shanghai without the system's zoneinfo
	"unicode/utf8"

	"github.com/gewe-bridge/gewe-bridge/rules/event"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fnTestNow is the clock of every test: 16:25 in Shanghai.
var fnTestNow = time.Date(2026, 5, 12, 8, 25, 0, 0, time.UTC)

func fnShanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	return loc
}

func fnTestFuncs(t testing.TB) template.FuncMap {
	return Funcs(fnShanghai(t), func() time.Time { return fnTestNow })
}

// fnArgs are the arguments of one call, in template order.
type fnArgs = []any

// fnCase is one call of a template function and what it must give.
type fnCase struct {
	fn   string
	args fnArgs
	want any
	err  string // a part of the expected error; "" for none
}

// fnCall calls a function of fm the way text/template does: through
// reflection, with nil for a missing value.
func fnCall(fm template.FuncMap, name string, args ...any) (any, error) {
	f := reflect.ValueOf(fm[name])
	ft := f.Type()
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		var pt reflect.Type
		if ft.IsVariadic() && i >= ft.NumIn()-1 {
			pt = ft.In(ft.NumIn() - 1).Elem()
		} else {
			pt = ft.In(i)
		}
		if a == nil {
			in[i] = reflect.Zero(pt)
		} else {
			in[i] = reflect.ValueOf(a)
		}
	}
	out := f.Call(in)
	var err error
	if len(out) == 2 && !out[1].IsNil() {
		err = out[1].Interface().(error)
	}
	return out[0].Interface(), err
}

func fnRun(t *testing.T, fm template.FuncMap, cases []fnCase) {
	t.Helper()
	for i, c := range cases {
		what := fmt.Sprintf("case %d: %s %#v", i, c.fn, c.args)
		got, err := fnCall(fm, c.fn, c.args...)
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, what)
			continue
		}
		if !assert.NoError(t, err, what) {
			continue
		}
		if want, ok := c.want.(time.Time); ok {
			gt, ok := got.(time.Time)
			if assert.True(t, ok, what) {
				assert.True(t, want.Equal(gt), "%s: want %v, got %v", what, want, gt)
				assert.Equal(t, want.Location().String(), gt.Location().String(), what)
			}
			continue
		}
		assert.Equal(t, c.want, got, what)
	}
}

func TestFnTime(t *testing.T) {
	sh := fnShanghai(t)
	fnRun(t, fnTestFuncs(t), []fnCase{
		{"date", fnArgs{"2006-01-02 15:04", "2026-05-12T08:21:35.712Z"}, "2026-05-12 16:21", ""},
		{"date", fnArgs{"2006-01-02 15:04:05.000 MST", "2026-05-12T08:21:35.712Z"}, "2026-05-12 16:21:35.712 CST", ""},
		{"date", fnArgs{"15:04", "2026-05-12T00:21:35-08:00"}, "16:21", ""},
		{"date", fnArgs{"15:04", " 2026-05-12T08:21:35Z\n"}, "16:21", ""},
		{"date", fnArgs{"01/02 15:04", time.Date(2026, 5, 12, 23, 30, 0, 0, time.UTC)}, "05/13 07:30", ""},
		{"date", fnArgs{"15:04:05", int64(1778574095)}, "16:21:35", ""},
		{"date", fnArgs{"15:04:05.000", 1778574095.25}, "16:21:35.250", ""},
		{"date", fnArgs{"15:04:05", 1778574095}, "16:21:35", ""},
		{"date", fnArgs{"15:04:05", "1778574095"}, "16:21:35", ""},
		{"date", fnArgs{"15:04:05", json.Number("1778574095")}, "16:21:35", ""},
		{"date", fnArgs{"", "2026-05-12T08:21:35Z"}, "2026-05-12T16:21:35+08:00", ""},
		{"date", fnArgs{"2006-01-02 15:04", "0001-01-01T00:00:00Z"}, "", ""},
		{"date", fnArgs{"2006-01-02 15:04", time.Time{}}, "", ""},
		{"date", fnArgs{"15:04", int64(0)}, "", ""},
		{"date", fnArgs{"15:04", nil}, "", ""},
		{"date", fnArgs{"15:04", ""}, "", ""},
		{"date", fnArgs{"15:04", "not a time"}, "not a time", ""},
		{"date", fnArgs{"15:04", true}, "true", ""},
		{"date", fnArgs{"15:04", int64(1e18)}, "1000000000000000000", ""},
		{"date", fnArgs{"15:04", math.NaN()}, "NaN", ""},
		{"date", fnArgs{"15:04", (*time.Time)(nil)}, "", ""},
		{"date", fnArgs{nil, "2026-05-12T08:21:35Z"}, "2026-05-12T16:21:35+08:00", ""},

		{"now", fnArgs{}, fnTestNow.In(sh), ""},

		{"toTime", fnArgs{"2026-05-12T08:21:35.712Z"}, time.Date(2026, 5, 12, 16, 21, 35, 712e6, sh), ""},
		{"toTime", fnArgs{int64(1778574095)}, time.Date(2026, 5, 12, 16, 21, 35, 0, sh), ""},
		{"toTime", fnArgs{"0001-01-01T00:00:00Z"}, time.Time{}, ""},
		{"toTime", fnArgs{"garbage"}, time.Time{}, ""},
		{"toTime", fnArgs{nil}, time.Time{}, ""},
		{"toTime", fnArgs{[]any{1}}, time.Time{}, ""},

		{"since", fnArgs{"2026-05-12T08:21:35.712Z"}, "3m24s", ""},
		{"since", fnArgs{"2026-05-12T08:24:15Z"}, "45s", ""},
		{"since", fnArgs{"2026-05-12T06:20:00Z"}, "2h5m", ""},
		{"since", fnArgs{"2026-05-09T04:00:00Z"}, "3d4h", ""},
		{"since", fnArgs{"2026-05-12T08:25:00Z"}, "0s", ""},
		{"since", fnArgs{"2026-05-12T08:30:00Z"}, "-5m", ""},
		{"since", fnArgs{int64(1778574095)}, "3m25s", ""},
		{"since", fnArgs{"0001-01-01T00:00:00Z"}, "", ""},
		{"since", fnArgs{nil}, "", ""},
		{"since", fnArgs{"garbage"}, "", ""},

		{"duration", fnArgs{"2026-05-12T08:00:00Z", "2026-05-12T08:03:20Z"}, "3m20s", ""},
		{"duration", fnArgs{"2026-05-12T08:00:00Z", "0001-01-01T00:00:00Z"}, "25m", ""},
		{"duration", fnArgs{"2026-05-12T08:00:00Z", nil}, "25m", ""},
		{"duration", fnArgs{"2026-05-12T08:00:00Z", "garbage"}, "25m", ""},
		{"duration", fnArgs{"2026-05-12T08:00:00Z", "2026-05-12T07:59:00Z"}, "-1m", ""},
		{"duration", fnArgs{"0001-01-01T00:00:00Z", "2026-05-12T08:00:00Z"}, "", ""},
		{"duration", fnArgs{nil, nil}, "", ""},

		{"humanizeDuration", fnArgs{time.Duration(0)}, "0s", ""},
		{"humanizeDuration", fnArgs{500 * time.Millisecond}, "0s", ""},
		{"humanizeDuration", fnArgs{45 * time.Second}, "45s", ""},
		{"humanizeDuration", fnArgs{int64(60)}, "1m", ""},
		{"humanizeDuration", fnArgs{200}, "3m20s", ""},
		{"humanizeDuration", fnArgs{int64(3600)}, "1h", ""},
		{"humanizeDuration", fnArgs{int64(7530)}, "2h5m", ""},
		{"humanizeDuration", fnArgs{86400.0}, "1d", ""},
		{"humanizeDuration", fnArgs{int64(3*86400 + 4*3600 + 59*60)}, "3d4h", ""},
		{"humanizeDuration", fnArgs{59.9}, "59s", ""},
		{"humanizeDuration", fnArgs{int64(-200)}, "-3m20s", ""},
		{"humanizeDuration", fnArgs{"90m"}, "1h30m", ""},
		{"humanizeDuration", fnArgs{"1h0m1s"}, "1h", ""},
		{"humanizeDuration", fnArgs{"120"}, "2m", ""},
		{"humanizeDuration", fnArgs{json.Number("120")}, "2m", ""},
		{"humanizeDuration", fnArgs{time.Duration(math.MinInt64)}, "-106751d23h", ""},
		{"humanizeDuration", fnArgs{int64(math.MaxInt64)}, "106751d23h", ""},
		{"humanizeDuration", fnArgs{1e300}, "106751d23h", ""},
		{"humanizeDuration", fnArgs{math.NaN()}, "", ""},
		{"humanizeDuration", fnArgs{"soon"}, "soon", ""},
		{"humanizeDuration", fnArgs{nil}, "", ""},
	})
}

func TestFnText(t *testing.T) {
	fnRun(t, fnTestFuncs(t), []fnCase{
		{"truncate", fnArgs{5, "hello world"}, "hell…", ""},
		{"truncate", fnArgs{11, "hello world"}, "hello world", ""},
		{"truncate", fnArgs{3, "abc"}, "abc", ""},
		{"truncate", fnArgs{5, "你好世界，再见"}, "你好世界…", ""},
		{"truncate", fnArgs{7, "你好世界，再见"}, "你好世界，再见", ""},
		{"truncate", fnArgs{3, "👍👍👍👍"}, "👍👍…", ""},
		{"truncate", fnArgs{4, "👍👍👍👍"}, "👍👍👍👍", ""},
		{"truncate", fnArgs{1, "abc"}, "…", ""},
		{"truncate", fnArgs{0, "abc"}, "", ""},
		{"truncate", fnArgs{-1, "abc"}, "", ""},
		{"truncate", fnArgs{int64(5), "hello world"}, "hell…", ""},
		{"truncate", fnArgs{5.0, "hello world"}, "hell…", ""},
		{"truncate", fnArgs{"5", "hello world"}, "hell…", ""},
		{"truncate", fnArgs{nil, "hello"}, "hello", ""},
		{"truncate", fnArgs{"x", "hello"}, "hello", ""},
		{"truncate", fnArgs{5, nil}, "", ""},
		{"truncate", fnArgs{5, int64(1234567)}, "1234…", ""},
		{"truncate", fnArgs{math.Inf(1), "abc"}, "abc", ""},

		{"truncateBytes", fnArgs{10, "hello world"}, "hello w…", ""},
		{"truncateBytes", fnArgs{11, "hello world"}, "hello world", ""},
		{"truncateBytes", fnArgs{10, "你好世界"}, "你好…", ""},
		{"truncateBytes", fnArgs{9, "你好世界"}, "你好…", ""},
		{"truncateBytes", fnArgs{12, "你好世界"}, "你好世界", ""},
		{"truncateBytes", fnArgs{8, "👍👍👍"}, "👍…", ""},
		{"truncateBytes", fnArgs{6, "👍👍👍"}, "…", ""},
		{"truncateBytes", fnArgs{3, "abcd"}, "…", ""},
		{"truncateBytes", fnArgs{2, "abc"}, "ab", ""},
		{"truncateBytes", fnArgs{2, "你好"}, "", ""},
		{"truncateBytes", fnArgs{0, "abc"}, "", ""},
		{"truncateBytes", fnArgs{"10", "hello world"}, "hello w…", ""},
		{"truncateBytes", fnArgs{nil, "abc"}, "abc", ""},
		{"truncateBytes", fnArgs{5, nil}, "", ""},

		{"join", fnArgs{", ", []any{"a", int64(1), 2.5, nil, true}}, "a, 1, 2.5, , true", ""},
		{"join", fnArgs{"/", []string{"a", "b"}}, "a/b", ""},
		{"join", fnArgs{",", []int{1, 2}}, "1,2", ""},
		{"join", fnArgs{",", []any{1234567.0}}, "1234567", ""},
		{"join", fnArgs{",", []any{}}, "", ""},
		{"join", fnArgs{",", nil}, "", ""},
		{"join", fnArgs{",", map[string]any{"a": 1}}, "", ""},
		{"join", fnArgs{",", map[string]string{"a": "b"}}, "", ""},
		{"join", fnArgs{",", "solo"}, "solo", ""},
		{"join", fnArgs{",", int64(7)}, "7", ""},
		{"join", fnArgs{nil, []string{"a", "b"}}, "ab", ""},

		{"upper", fnArgs{"héllo wörld"}, "HÉLLO WÖRLD", ""},
		{"upper", fnArgs{int64(1)}, "1", ""},
		{"upper", fnArgs{nil}, "", ""},
		{"lower", fnArgs{"ABC 中文"}, "abc 中文", ""},
		{"lower", fnArgs{nil}, "", ""},
		{"title", fnArgs{"hello WORLD"}, "Hello WORLD", ""},
		{"title", fnArgs{"élan"}, "Élan", ""},
		{"title", fnArgs{"Already"}, "Already", ""},
		{"title", fnArgs{"你好"}, "你好", ""},
		{"title", fnArgs{""}, "", ""},
		{"title", fnArgs{"\xffx"}, "\xffx", ""},
		{"title", fnArgs{nil}, "", ""},
		{"trim", fnArgs{"  a b \n"}, "a b", ""},
		{"trim", fnArgs{nil}, "", ""},

		{"replace", fnArgs{"-", "_", "a-b-c"}, "a_b_c", ""},
		{"replace", fnArgs{"", "x", "abc"}, "abc", ""},
		{"replace", fnArgs{"a", nil, "banana"}, "bnn", ""},
		{"replace", fnArgs{"世界", "World", "你好世界"}, "你好World", ""},
		{"replace", fnArgs{nil, "x", nil}, "", ""},

		{"regexReplace", fnArgs{`(\w+)@(\w+)`, "$2:$1", "bob@host"}, "host:bob", ""},
		{"regexReplace", fnArgs{`(?P<user>\w+)@\w+`, "${user}", "bob@host"}, "bob", ""},
		{"regexReplace", fnArgs{`\s+`, " ", "a  b\t\nc"}, "a b c", ""},
		{"regexReplace", fnArgs{`^refs/(heads|tags)/`, "", "refs/tags/v1.2"}, "v1.2", ""},
		{"regexReplace", fnArgs{`\d`, "#", int64(12)}, "##", ""},
		{"regexReplace", fnArgs{`x`, "y", nil}, "", ""},
		{"regexReplace", fnArgs{"", "-", "ab"}, "-a-b-", ""},
		{"regexReplace", fnArgs{`(`, "", "x"}, nil, "missing closing )"},
		{"regexReplace", fnArgs{`a{2000}`, "", "x"}, nil, "invalid repeat count"},

		{"contains", fnArgs{"WIP", "WIP: fix login"}, true, ""},
		{"contains", fnArgs{"wip", "WIP: fix login"}, false, ""},
		{"contains", fnArgs{"x", nil}, false, ""},
		{"contains", fnArgs{"2", int64(123)}, true, ""},
		{"hasPrefix", fnArgs{"refs/tags/", "refs/tags/v1"}, true, ""},
		{"hasPrefix", fnArgs{"refs/tags/", "refs/heads/main"}, false, ""},
		{"hasPrefix", fnArgs{"refs/tags/", nil}, false, ""},
		{"hasSuffix", fnArgs{"@chatroom", "123@chatroom"}, true, ""},
		{"hasSuffix", fnArgs{"@chatroom", "wxid_abc"}, false, ""},
		{"hasSuffix", fnArgs{nil, nil}, true, ""},

		{"split", fnArgs{",", "a,b,,c"}, []string{"a", "b", "", "c"}, ""},
		{"split", fnArgs{"/", "中/文"}, []string{"中", "文"}, ""},
		{"split", fnArgs{"", "ab"}, []string{"a", "b"}, ""},
		{"split", fnArgs{",", ""}, []string{}, ""},
		{"split", fnArgs{",", nil}, []string{}, ""},

		{"indent", fnArgs{2, "a\nb"}, "  a\n  b", ""},
		{"indent", fnArgs{2, "a\n\nb\r\n\r\nc\n"}, "  a\n\n  b\r\n\r\n  c\n", ""},
		{"indent", fnArgs{"4", "x"}, "    x", ""},
		{"indent", fnArgs{1000, "x"}, strings.Repeat(" ", 100) + "x", ""},
		{"indent", fnArgs{0, "x"}, "x", ""},
		{"indent", fnArgs{-3, "x"}, "x", ""},
		{"indent", fnArgs{nil, "x"}, "x", ""},
		{"indent", fnArgs{2, ""}, "", ""},
		{"indent", fnArgs{2, nil}, "", ""},

		{"xml", fnArgs{`<a href="x">Tom & Jerry's</a>`}, "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;", ""},
		{"xml", fnArgs{"告警 🔥 resolved"}, "告警 🔥 resolved", ""},
		{"xml", fnArgs{"中<文"}, "中&lt;文", ""},
		{"xml", fnArgs{"a\tb\nc\r"}, "a\tb\nc&#xD;", ""}, // a literal \r would be read back as \n
		{"xml", fnArgs{"a\x00b\x1f"}, "ab", ""},          // characters XML cannot carry are dropped
		{"xml", fnArgs{"bad\xffutf8 & more"}, "bad\uFFFDutf8 &amp; more", ""},
		{"xml", fnArgs{"x\uFFFEy\uFFFD"}, "xy\uFFFD", ""},
		{"xml", fnArgs{int64(5)}, "5", ""},
		{"xml", fnArgs{nil}, "", ""},

		{"urlEncode", fnArgs{"a b&c=d/中"}, "a+b%26c%3Dd%2F%E4%B8%AD", ""},
		{"urlEncode", fnArgs{int64(42)}, "42", ""},
		{"silenceURL", fnArgs{"http://am:9093", map[string]string{"team": "infra", "alertname": "Disk"}}, "http://am:9093/#/silences/new?filter=%7Balertname%3D%22Disk%22%2Cteam%3D%22infra%22%7D", ""},
		{"silenceURL", fnArgs{"http://am", map[string]string{}, map[string]any{"a": "x\"y"}}, "http://am/#/silences/new?filter=%7Ba%3D%22x%5C%22y%22%7D", ""},
		{"silenceURL", fnArgs{"http://am", nil}, "http://am/#/silences/new", ""},
		{"silenceURL", fnArgs{"", map[string]string{"a": "b"}}, "", ""},
		{"urlEncode", fnArgs{nil}, "", ""},

		{"shortSha", fnArgs{"0123456789abcdef0123456789abcdef01234567"}, "0123456", ""},
		{"shortSha", fnArgs{" 0123456789 "}, "0123456", ""},
		{"shortSha", fnArgs{"abc"}, "abc", ""},
		{"shortSha", fnArgs{"提交编号一二三四五"}, "提交编号一二三", ""},
		{"shortSha", fnArgs{nil}, "", ""},

		{"plural", fnArgs{int64(1), "alert", "alerts"}, "alert", ""},
		{"plural", fnArgs{int64(2), "alert", "alerts"}, "alerts", ""},
		{"plural", fnArgs{0, "alert", "alerts"}, "alerts", ""},
		{"plural", fnArgs{1.0, "alert", "alerts"}, "alert", ""},
		{"plural", fnArgs{"1", "alert", "alerts"}, "alert", ""},
		{"plural", fnArgs{[]any{"a"}, "alert", "alerts"}, "alert", ""},
		{"plural", fnArgs{[]any{"a", "b"}, "alert", "alerts"}, "alerts", ""},
		{"plural", fnArgs{"x", "alert", "alerts"}, "alerts", ""},
		{"plural", fnArgs{nil, "alert", "alerts"}, "alerts", ""},
		{"plural", fnArgs{int64(1), nil, nil}, "", ""},
	})
}

type fnNamedString string

func TestFnValues(t *testing.T) {
	sh := fnShanghai(t)
	one := 1
	fnRun(t, fnTestFuncs(t), []fnCase{
		{"default", fnArgs{"n/a", nil}, "n/a", ""},
		{"default", fnArgs{"n/a", ""}, "n/a", ""},
		{"default", fnArgs{"n/a", false}, "n/a", ""},
		{"default", fnArgs{"n/a", []any{}}, "n/a", ""},
		{"default", fnArgs{"n/a", []int{}}, "n/a", ""},
		{"default", fnArgs{"n/a", map[string]any{}}, "n/a", ""},
		{"default", fnArgs{"n/a", map[string]string(nil)}, "n/a", ""},
		{"default", fnArgs{"n/a", time.Time{}}, "n/a", ""},
		{"default", fnArgs{"n/a", (*int)(nil)}, "n/a", ""},
		{"default", fnArgs{"n/a", fnNamedString("")}, "n/a", ""},
		{"default", fnArgs{"n/a", "x"}, "x", ""},
		{"default", fnArgs{"n/a", true}, true, ""},
		{"default", fnArgs{"n/a", int64(0)}, int64(0), ""},
		{"default", fnArgs{"n/a", 0.0}, 0.0, ""},
		{"default", fnArgs{"n/a", []string{"a"}}, []string{"a"}, ""},
		{"default", fnArgs{"n/a", struct{}{}}, struct{}{}, ""},
		{"default", fnArgs{nil, nil}, nil, ""},

		{"coalesce", fnArgs{nil, "", "x", "y"}, "x", ""},
		{"coalesce", fnArgs{nil, int64(0), "x"}, int64(0), ""},
		{"coalesce", fnArgs{nil, ""}, nil, ""},
		{"coalesce", fnArgs{}, nil, ""},

		{"ternary", fnArgs{"yes", "no", true}, "yes", ""},
		{"ternary", fnArgs{"yes", "no", false}, "no", ""},
		{"ternary", fnArgs{"yes", "no", "x"}, "yes", ""},
		{"ternary", fnArgs{"yes", "no", int64(0)}, "no", ""},
		{"ternary", fnArgs{"yes", "no", 2.5}, "yes", ""},
		{"ternary", fnArgs{"yes", "no", []any{}}, "no", ""},
		{"ternary", fnArgs{"yes", "no", nil}, "no", ""},

		{"toString", fnArgs{"x"}, "x", ""},
		{"toString", fnArgs{nil}, "", ""},
		{"toString", fnArgs{int64(42)}, "42", ""},
		{"toString", fnArgs{int64(-9007199254740993)}, "-9007199254740993", ""},
		{"toString", fnArgs{1234567.0}, "1234567", ""},
		{"toString", fnArgs{-42.0}, "-42", ""},
		{"toString", fnArgs{1e15}, "1000000000000000", ""},
		{"toString", fnArgs{1e16}, "10000000000000000", ""},
		{"toString", fnArgs{1.5}, "1.5", ""},
		{"toString", fnArgs{-0.25}, "-0.25", ""},
		{"toString", fnArgs{1e-7}, "0.0000001", ""},
		{"toString", fnArgs{math.NaN()}, "NaN", ""},
		{"toString", fnArgs{math.Inf(-1)}, "-Inf", ""},
		{"toString", fnArgs{float32(0.1)}, "0.1", ""},
		{"toString", fnArgs{42}, "42", ""},
		{"toString", fnArgs{uint64(math.MaxUint64)}, "18446744073709551615", ""},
		{"toString", fnArgs{json.Number("12345678901234567890")}, "12345678901234567890", ""},
		{"toString", fnArgs{true}, "true", ""},
		{"toString", fnArgs{[]byte("hi")}, "hi", ""},
		{"toString", fnArgs{fnNamedString("named")}, "named", ""},
		{"toString", fnArgs{time.Date(2026, 5, 12, 16, 21, 35, 0, sh)}, "2026-05-12T16:21:35+08:00", ""},
		{"toString", fnArgs{90 * time.Second}, "1m30s", ""},
		{"toString", fnArgs{[]any{"a", int64(1), 2.0, []any{"x", "y"}}}, "a, 1, 2, x, y", ""},
		{"toString", fnArgs{[]string{"a", "b"}}, "a, b", ""},
		{"toString", fnArgs{[]int{1, 2}}, "1, 2", ""},
		{"toString", fnArgs{map[string]any{"b": 1.0, "a": "<x>"}}, `{"a":"<x>","b":1}`, ""},
		{"toString", fnArgs{map[string]int{"a": 1}}, `{"a":1}`, ""},
		{"toString", fnArgs{map[string]string{}}, "", ""},
		{"toString", fnArgs{map[string]any{"x": math.NaN()}}, "map[x:NaN]", ""},
		{"toString", fnArgs{errors.New("boom")}, "boom", ""},
		{"toString", fnArgs{(*url.URL)(nil)}, "", ""},
		{"toString", fnArgs{&one}, "1", ""},
		{"toString", fnArgs{(*int)(nil)}, "", ""},
		{"toString", fnArgs{struct{ A int }{1}}, "{1}", ""},

		{"toJson", fnArgs{map[string]any{"b": []any{1.0, "<b>&"}, "a": nil}}, `{"a":null,"b":[1,"<b>&"]}`, ""},
		{"toJson", fnArgs{"中文"}, `"中文"`, ""},
		{"toJson", fnArgs{nil}, "null", ""},
		{"toJson", fnArgs{math.NaN()}, nil, "unsupported value"},
		{"toJson", fnArgs{make(chan int)}, nil, "unsupported type"},
		{"toPrettyJson", fnArgs{map[string]any{"a": 1.0, "b": []any{"x"}}}, "{\n  \"a\": 1,\n  \"b\": [\n    \"x\"\n  ]\n}", ""},
		{"toPrettyJson", fnArgs{nil}, "null", ""},
		{"toPrettyJson", fnArgs{math.Inf(1)}, nil, "unsupported value"},

		{"count", fnArgs{nil}, 0, ""},
		{"count", fnArgs{"你好"}, 2, ""},
		{"count", fnArgs{fnNamedString("abc")}, 3, ""},
		{"count", fnArgs{[]any{1, 2}}, 2, ""},
		{"count", fnArgs{[]string{}}, 0, ""},
		{"count", fnArgs{[]int{1, 2, 3}}, 3, ""},
		{"count", fnArgs{map[string]any{"a": 1}}, 1, ""},
		{"count", fnArgs{map[string]string{"a": "b"}}, 1, ""},
		{"count", fnArgs{map[int]int{1: 1}}, 1, ""},
		{"count", fnArgs{int64(5)}, 0, ""},

		{"first", fnArgs{[]any{"a", "b"}}, "a", ""},
		{"first", fnArgs{[]string{"x", "y"}}, "x", ""},
		{"first", fnArgs{[]int{4, 5}}, 4, ""},
		{"first", fnArgs{[]any{}}, nil, ""},
		{"first", fnArgs{[]string{}}, nil, ""},
		{"first", fnArgs{nil}, nil, ""},
		{"first", fnArgs{"abc"}, nil, ""},
		{"last", fnArgs{[]any{"a", "b"}}, "b", ""},
		{"last", fnArgs{[]string{"x", "y"}}, "y", ""},
		{"last", fnArgs{[2]int{4, 5}}, 5, ""},
		{"last", fnArgs{[]int{}}, nil, ""},
		{"last", fnArgs{map[string]any{"a": 1}}, nil, ""},
		{"last", fnArgs{nil}, nil, ""},

		{"sortAlpha", fnArgs{[]any{"b", "a", int64(10), int64(9)}}, []string{"10", "9", "a", "b"}, ""},
		{"sortAlpha", fnArgs{[]string{"王", "b", "a"}}, []string{"a", "b", "王"}, ""},
		{"sortAlpha", fnArgs{[]int{3, 1}}, []string{"1", "3"}, ""},
		{"sortAlpha", fnArgs{nil}, []string{}, ""},
		{"sortAlpha", fnArgs{"x"}, []string{}, ""},

		{"keys", fnArgs{map[string]any{"b": 1, "a": 2}}, []string{"a", "b"}, ""},
		{"keys", fnArgs{map[string]string{"z": "", "y": ""}}, []string{"y", "z"}, ""},
		{"keys", fnArgs{map[int]bool{2: true, 1: false}}, []string{"1", "2"}, ""},
		{"keys", fnArgs{map[string]any{}}, []string{}, ""},
		{"keys", fnArgs{nil}, []string{}, ""},
		{"keys", fnArgs{[]any{1}}, []string{}, ""},

		{"get", fnArgs{map[string]any{"a": 1.0}, "a"}, 1.0, ""},
		{"get", fnArgs{map[string]any{"a": 1.0}, "b"}, nil, ""},
		{"get", fnArgs{map[string]any{"1": "x"}, int64(1)}, "x", ""},
		{"get", fnArgs{map[string]string{"k": "v"}, "k"}, "v", ""},
		{"get", fnArgs{map[string]string{}, "k"}, nil, ""},
		{"get", fnArgs{map[string]int{"a": 3}, "a"}, 3, ""},
		{"get", fnArgs{map[fnNamedString]int{"a": 3}, "a"}, 3, ""},
		{"get", fnArgs{map[int]string{1: "x"}, 1}, nil, ""},
		{"get", fnArgs{[]any{"a"}, 0}, nil, ""},
		{"get", fnArgs{"str", "a"}, nil, ""},
		{"get", fnArgs{nil, "a"}, nil, ""},

		{"add", fnArgs{int64(1), int64(2)}, int64(3), ""},
		{"add", fnArgs{1, 2}, int64(3), ""},
		{"add", fnArgs{1.5, 1.5}, int64(3), ""},
		{"add", fnArgs{1234566.0, 1}, int64(1234567), ""},
		{"add", fnArgs{0.1, 0.2}, 0.30000000000000004, ""},
		{"add", fnArgs{int64(1), 0.5}, 1.5, ""},
		{"add", fnArgs{nil, int64(5)}, int64(5), ""},
		{"add", fnArgs{"3", json.Number("4")}, int64(7), ""},
		{"add", fnArgs{int64(math.MaxInt64), int64(1)}, 9.223372036854775808e18, ""},
		{"add", fnArgs{"abc", 1}, nil, `not a number: "abc"`},
		{"add", fnArgs{1, true}, nil, `not a number: "true"`},
		{"sub", fnArgs{int64(5), int64(7)}, int64(-2), ""},
		{"sub", fnArgs{10.0, 2.5}, 7.5, ""},
		{"sub", fnArgs{int64(1778574095), 1778574000.0}, int64(95), ""},
		{"sub", fnArgs{int64(math.MinInt64), int64(1)}, -9.223372036854775808e18, ""},
		{"sub", fnArgs{nil, nil}, int64(0), ""},
		{"sub", fnArgs{[]any{}, 1}, nil, "not a number"},
	})
}

func fnTestAlerts() []any {
	return []any{
		map[string]any{
			"status":      "firing",
			"labels":      map[string]any{"alertname": "DiskFull", "severity": "critical", "instance": "db-1"},
			"annotations": map[string]any{"summary": "磁盘使用率超过 95%，请尽快处理"},
			"startsAt":    "2026-05-12T08:21:35.712Z",
			"endsAt":      "0001-01-01T00:00:00Z",
		},
		map[string]any{
			"status":      "resolved",
			"labels":      map[string]any{"alertname": "DiskFull", "severity": "warning", "instance": "db-2"},
			"annotations": map[string]any{"summary": "disk almost full"},
			"startsAt":    "2026-05-12T06:20:00Z",
			"endsAt":      "2026-05-12T08:20:00Z",
		},
		map[string]any{
			"status":   "firing",
			"labels":   map[string]any{"alertname": "Down"},
			"startsAt": "2026-05-09T04:00:00Z",
			"endsAt":   "0001-01-01T00:00:00Z",
		},
	}
}

func TestFnAlerts(t *testing.T) {
	alerts := fnTestAlerts()
	a0, a1, a2 := alerts[0], alerts[1], alerts[2]
	vars := (&event.Event{Labels: map[string]string{"team": "db"}}).Vars()
	fnRun(t, fnTestFuncs(t), []fnCase{
		{"alertsByStatus", fnArgs{"firing", alerts}, []any{a0, a2}, ""},
		{"alertsByStatus", fnArgs{"resolved", alerts}, []any{a1}, ""},
		{"alertsByStatus", fnArgs{"FIRING", alerts}, []any{a0, a2}, ""},
		{"alertsByStatus", fnArgs{"pending", alerts}, []any{}, ""},
		{"alertsByStatus", fnArgs{"firing", []map[string]any{a0.(map[string]any)}}, []any{a0}, ""},
		{"alertsByStatus", fnArgs{"firing", []map[string]string{{"status": "firing"}}}, []any{map[string]string{"status": "firing"}}, ""},
		{"alertsByStatus", fnArgs{"firing", []any{nil, "x", 1, []any{}}}, []any{}, ""},
		{"alertsByStatus", fnArgs{"firing", nil}, []any{}, ""},
		{"alertsByStatus", fnArgs{"firing", "x"}, []any{}, ""},
		{"alertsByStatus", fnArgs{"firing", map[string]any{"status": "firing"}}, []any{}, ""},

		{"label", fnArgs{"severity", a0}, "critical", ""},
		{"label", fnArgs{"severity", a2}, "", ""},
		{"label", fnArgs{"team", vars}, "db", ""},
		{"label", fnArgs{"n", map[string]any{"labels": map[string]any{"n": 3.0}}}, "3", ""},
		{"label", fnArgs{"severity", map[string]any{"labels": "not a map"}}, "", ""},
		{"label", fnArgs{"severity", map[string]any{}}, "", ""},
		{"label", fnArgs{"severity", "x"}, "", ""},
		{"label", fnArgs{"severity", nil}, "", ""},
		{"label", fnArgs{nil, a0}, "", ""},

		{"annotation", fnArgs{"summary", a1}, "disk almost full", ""},
		{"annotation", fnArgs{"summary", a2}, "", ""},
		{"annotation", fnArgs{"summary", nil}, "", ""},
		{"annotation", fnArgs{"summary", []any{a0}}, "", ""},
	})
}

func TestFnAlertInfo(t *testing.T) {
	alerts := fnTestAlerts()
	const layout = "2006-01-02 15:04"
	// alert is an alert starting at 16:00 in Shanghai, with fields set.
	alert := func(fields ...any) map[string]any {
		a := map[string]any{"status": "firing", "startsAt": "2026-05-12T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}
		for i := 0; i < len(fields); i += 2 {
			a[fields[i].(string)] = fields[i+1]
		}
		return a
	}
	since := "25m" // from 16:00 to the tests' 16:25
	fnRun(t, fnTestFuncs(t), []fnCase{
		{"alertInfo", fnArgs{layout, alerts[0]}, AlertInfo{Summary: "磁盘使用率超过 95%，请尽快处理", Instance: "db-1", StartsAt: "2026-05-12 16:21", Duration: "3m24s"}, ""},
		{"alertInfo", fnArgs{layout, alerts[1]}, AlertInfo{Resolved: true, Summary: "disk almost full", Instance: "db-2", StartsAt: "2026-05-12 14:20", Duration: "2h", EndsAt: "2026-05-12 16:20"}, ""},
		{"alertInfo", fnArgs{layout, alerts[2]}, AlertInfo{Summary: "Down", StartsAt: "2026-05-09 12:00", Duration: "3d4h"}, ""},

		// Summary: the first not empty as {{ if }} sees it, as found.
		{"alertInfo", fnArgs{layout, alert("annotations", map[string]any{"summary": "", "description": "d"}, "labels", map[string]any{"alertname": "A"})}, AlertInfo{Summary: "d", StartsAt: "2026-05-12 16:00", Duration: since}, ""},
		{"alertInfo", fnArgs{layout, alert("annotations", map[string]any{"summary": int64(0)}, "labels", map[string]any{"alertname": "A"})}, AlertInfo{Summary: "A", StartsAt: "2026-05-12 16:00", Duration: since}, ""},
		{"alertInfo", fnArgs{layout, alert("annotations", map[string]any{"summary": int64(7)})}, AlertInfo{Summary: int64(7), StartsAt: "2026-05-12 16:00", Duration: since}, ""},
		{"alertInfo", fnArgs{layout, alert("annotations", map[string]any{"summary": []any{nil}})}, AlertInfo{Summary: []any{nil}, StartsAt: "2026-05-12 16:00", Duration: since}, ""},
		{"alertInfo", fnArgs{layout, alert("annotations", nil, "labels", "not a map")}, AlertInfo{StartsAt: "2026-05-12 16:00", Duration: since}, ""},
		{"alertInfo", fnArgs{layout, alert("labels", map[string]any{"instance": 3.5})}, AlertInfo{Instance: 3.5, StartsAt: "2026-05-12 16:00", Duration: since}, ""},

		// Resolved: exactly "resolved", as {{ eq .status "resolved" }}.
		{"alertInfo", fnArgs{layout, alert("status", "RESOLVED")}, AlertInfo{StartsAt: "2026-05-12 16:00", Duration: since}, ""},
		{"alertInfo", fnArgs{layout, alert("status", []any{"resolved"})}, AlertInfo{StartsAt: "2026-05-12 16:00", Duration: since}, ""},

		// Times: as date, since and duration give them.
		{"alertInfo", fnArgs{layout, alert("status", "resolved", "endsAt", "2026-05-12T08:10:30Z")}, AlertInfo{Resolved: true, StartsAt: "2026-05-12 16:00", Duration: "10m30s", EndsAt: "2026-05-12 16:10"}, ""},
		{"alertInfo", fnArgs{layout, alert("status", "resolved")}, AlertInfo{Resolved: true, StartsAt: "2026-05-12 16:00", Duration: since}, ""},
		{"alertInfo", fnArgs{layout, alert("status", "resolved", "endsAt", "soon")}, AlertInfo{Resolved: true, StartsAt: "2026-05-12 16:00", Duration: since, EndsAt: "soon"}, ""},
		{"alertInfo", fnArgs{layout, alert("endsAt", "2026-05-12T08:10:30Z")}, AlertInfo{StartsAt: "2026-05-12 16:00", Duration: since, EndsAt: "2026-05-12 16:10"}, ""},
		{"alertInfo", fnArgs{layout, alert("startsAt", "garbage")}, AlertInfo{StartsAt: "garbage"}, ""},
		{"alertInfo", fnArgs{layout, alert("startsAt", nil)}, AlertInfo{}, ""},
		{"alertInfo", fnArgs{layout, alert("startsAt", int64(1778572800))}, AlertInfo{StartsAt: "2026-05-12 16:00", Duration: since}, ""},
		{"alertInfo", fnArgs{layout, alert("startsAt", "2026-05-12T08:30:00Z")}, AlertInfo{StartsAt: "2026-05-12 16:30", Duration: "-5m"}, ""},
		{"alertInfo", fnArgs{"", alert()}, AlertInfo{StartsAt: "2026-05-12T16:00:00+08:00", Duration: since}, ""},
		{"alertInfo", fnArgs{layout, map[string]string{"status": "resolved", "startsAt": "2026-05-12T08:00:00Z"}}, AlertInfo{Resolved: true, StartsAt: "2026-05-12 16:00", Duration: since}, ""},

		// Not an alert.
		{"alertInfo", fnArgs{layout, nil}, AlertInfo{}, ""},
		{"alertInfo", fnArgs{layout, "x"}, AlertInfo{}, ""},
	})
}

// alertInfo's times are what date, since and duration give, whatever the
// values.
func TestFnAlertInfoTimes(t *testing.T) {
	fm := fnTestFuncs(t)
	info := fm["alertInfo"].(func(any, any) AlertInfo)
	date := fm["date"].(func(any, any) string)
	since := fm["since"].(func(any) string)
	duration := fm["duration"].(func(any, any) string)
	times := []any{
		nil, "", "garbage", "0001-01-01T00:00:00Z", "2026-05-12T08:00:00Z", "2026-05-12T09:00:00+08:00",
		"2026-05-12T08:30:00.5Z", int64(0), int64(1778572800), "1778572800", 1.7785728e9, true, []any{}, time.Time{},
		time.Date(2026, 5, 12, 7, 0, 0, 0, time.UTC),
	}
	for _, status := range []any{"firing", "resolved", nil} {
		for _, start := range times {
			for _, end := range times {
				what := fmt.Sprintf("%v %#v %#v", status, start, end)
				got := info("15:04:05", map[string]any{"status": status, "startsAt": start, "endsAt": end})
				assert.Equal(t, date("15:04:05", start), got.StartsAt, what)
				assert.Equal(t, date("15:04:05", end), got.EndsAt, what)
				if status == "resolved" {
					assert.Equal(t, duration(start, end), got.Duration, what)
				} else {
					assert.Equal(t, since(start), got.Duration, what)
				}
			}
		}
	}
}

func TestFnAlertGroup(t *testing.T) {
	alerts := fnTestAlerts() // firing, resolved, firing; all DiskFull but the last
	vars := func(e event.Event) map[string]any { return e.Vars() }
	silence := "http://am:9093/#/silences/new?filter=%7Balertname%3D%22DiskFull%22%7D"
	fnRun(t, fnTestFuncs(t), []fnCase{
		{"alertGroup", fnArgs{vars(event.Event{Alerts: alerts, GroupLabels: map[string]string{"alertname": "DiskFull"}, Labels: map[string]string{"alertname": "Other"}, ExternalURL: "http://am:9093"})},
			AlertGroup{Total: 3, Firing: 2, Resolved: 1, Alertname: "DiskFull", SilenceURL: silence}, ""},
		{"alertGroup", fnArgs{vars(event.Event{Alerts: alerts, Labels: map[string]string{"alertname": "DiskFull"}, ExternalURL: "http://am:9093"})},
			AlertGroup{Total: 3, Firing: 2, Resolved: 1, Alertname: "DiskFull", SilenceURL: silence}, ""},
		{"alertGroup", fnArgs{vars(event.Event{Alerts: alerts})}, AlertGroup{Total: 3, Firing: 2, Resolved: 1, Alertname: "DiskFull"}, ""},
		{"alertGroup", fnArgs{vars(event.Event{Alerts: []any{map[string]any{"status": "RESOLVED"}, nil, "x"}})}, AlertGroup{Total: 3, Firing: 2, Resolved: 1}, ""},
		{"alertGroup", fnArgs{vars(event.Event{ExternalURL: "http://am"})}, AlertGroup{SilenceURL: "http://am/#/silences/new"}, ""},
		{"alertGroup", fnArgs{map[string]any{"alerts": []any{map[string]any{"labels": map[string]any{"alertname": 5.0}}}, "group_labels": nil}},
			AlertGroup{Total: 1, Firing: 1, Alertname: "5"}, ""},
		{"alertGroup", fnArgs{map[string]any{"alerts": "not a list", "labels": map[string]any{"alertname": "A"}}}, AlertGroup{Alertname: "A"}, ""},
		{"alertGroup", fnArgs{nil}, AlertGroup{}, ""},
		{"alertGroup", fnArgs{alerts}, AlertGroup{}, ""},
	})
}

// TestFnCatalogue pins the user-facing names: removing or renaming one
// breaks users' templates.
func TestFnCatalogue(t *testing.T) {
	want := []string{
		"add", "alertGroup", "alertInfo", "alertsByStatus", "annotation", "coalesce", "contains", "count",
		"date", "default", "duration", "first", "get", "hasPrefix", "hasSuffix",
		"humanizeDuration", "indent", "join", "keys", "label", "last", "lower",
		"now", "plural", "print", "printf", "println", "regexReplace", "replace", "shortSha", "silenceURL", "since", "sortAlpha",
		"split", "sub", "ternary", "title", "toJson", "toPrettyJson", "toString",
		"toTime", "trim", "truncate", "truncateBytes", "upper", "urlEncode", "xml",
	}
	var got []string
	for name := range fnTestFuncs(t) {
		got = append(got, name)
	}
	slices.Sort(got)
	assert.Equal(t, want, got)
}

// TestFnNeverPanics calls every function with every combination of odd
// arguments: a function may return an error but must not panic.
func TestFnNeverPanics(t *testing.T) {
	var nilStringer *url.URL
	odd := []any{
		nil, "", "x", "\xff\xfe", "2026-05-12T08:21:35Z", "0001-01-01T00:00:00Z",
		0, int64(-1), int64(math.MaxInt64), int64(math.MinInt64), uint64(math.MaxUint64),
		math.NaN(), math.Inf(1), -1e300, json.Number("1e400"), true,
		[]any{nil}, []int{1}, []string{}, map[int]int{1: 2}, map[string]any{"labels": "x", "status": 1},
		(*int)(nil), nilStringer, struct{}{}, make(chan int), func() {},
		time.Time{}, time.Duration(math.MinInt64), []byte("\xff"), errors.New("e"),
	}
	fm := fnTestFuncs(t)
	for name, f := range fm {
		ft := reflect.TypeOf(f)
		arity := ft.NumIn()
		if ft.IsVariadic() {
			arity = 3
		}
		args := make([]any, arity)
		var walk func(int)
		walk = func(k int) {
			if k == arity {
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Errorf("%s %#v panicked: %v", name, args, r)
						}
					}()
					_, _ = fnCall(fm, name, args...)
				}()
				return
			}
			for _, v := range odd {
				args[k] = v
				walk(k + 1)
			}
		}
		walk(0)
	}
}

// TestFnDefaults shows that a nil location means UTC and a nil clock the
// real one.
func TestFnDefaults(t *testing.T) {
	fm := Funcs(nil, nil)
	before := time.Now()
	now := fm["now"].(func() time.Time)()
	assert.Equal(t, time.UTC, now.Location())
	assert.WithinDuration(t, before, now, time.Minute)
	date := fm["date"].(func(any, any) string)
	assert.Equal(t, "08:21", date("15:04", "2026-05-12T16:21:35+08:00"))
}

func TestFnRegexCache(t *testing.T) {
	var c regexCache
	r1, err := c.get(`a(b+)`)
	require.NoError(t, err)
	r2, err := c.get(`a(b+)`)
	require.NoError(t, err)
	assert.Same(t, r1, r2, "a pattern is compiled once")

	_, err = c.get(`(`)
	assert.Error(t, err)
	_, ok := c.m.Load(`(`)
	assert.False(t, ok, "an invalid pattern is not cached")

	for i := range 3 * regexCacheMax {
		_, err := c.get(fmt.Sprintf("p%d", i))
		require.NoError(t, err)
	}
	size := 0
	c.m.Range(func(any, any) bool { size++; return true })
	assert.LessOrEqual(t, size, regexCacheMax, "the cache is bounded")
	assert.Positive(t, size)

	// regexReplace goes through the shared cache.
	fm := fnTestFuncs(t)
	pattern := `fn-regex-cache-test-(\d+)`
	got, err := fnCall(fm, "regexReplace", pattern, "n=$1", "fn-regex-cache-test-42")
	require.NoError(t, err)
	assert.Equal(t, "n=42", got)
	cached, ok := regexps.m.Load(pattern)
	require.True(t, ok)
	again, err := regexps.get(pattern)
	require.NoError(t, err)
	assert.Same(t, cached, again)

	// Concurrent use is safe (run with -race).
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 100 {
				_, _ = c.get(fmt.Sprintf("g%d-%d", g, i%10))
			}
		})
	}
	wg.Wait()
}

func TestFnSortAlphaDoesNotMutate(t *testing.T) {
	in := []string{"b", "a"}
	assert.Equal(t, []string{"a", "b"}, sortAlpha(in))
	assert.Equal(t, []string{"b", "a"}, in)
}

func TestFnAllocations(t *testing.T) {
	s := "告警：磁盘使用率超过 95%"
	for name, f := range map[string]func(){
		"toString(string)": func() { _ = toString(s) },
		"truncate(short)":  func() { _ = truncate(100, s) },
		"xml(clean)":       func() { _ = xmlEscape(s) },
		"hasPrefix":        func() { _ = strings.HasPrefix(toString(s), toString("告警")) },
	} {
		assert.Zero(t, testing.AllocsPerRun(100, f), name)
	}
}

// fnTestTemplate is what a user might write for Alertmanager and GitHub.
const fnTestTemplate = `{{- $firing := alertsByStatus "firing" .alerts -}}
[{{ .status | upper }}] {{ .labels.alertname }} team={{ .labels.team | default "none" }}, {{ count $firing }} {{ plural (count $firing) "alert" "alerts" }} firing
{{ range $firing -}}
- {{ label "severity" . | default "unknown" }} {{ label "instance" . | default "?" }}: {{ annotation "summary" . | default "(no summary)" | truncate 10 }} since {{ date "01-02 15:04" .startsAt }} ({{ since .startsAt }}, ends {{ date "15:04" .endsAt | default "never" }})
{{ end -}}
{{ with first (alertsByStatus "resolved" .alerts) }}resolved after {{ duration .startsAt .endsAt }}
{{ end -}}
PR #{{ .payload.number | toString }} {{ .payload.title | truncate 12 }} by {{ get (get .payload "user") "login" | default "someone" }} [{{ .payload.missing | default "n/a" }}]
<title>{{ .payload.title | xml }}</title>
{{ .payload.commits | join ", " }} {{ .payload.sha | shortSha }} {{ if .payload.title | contains "WIP" }}WIP{{ else }}ready{{ end }}`

const fnTestOutput = `[FIRING] DiskFull team=none, 2 alerts firing
- critical db-1: 磁盘使用率超过 9… since 05-12 16:21 (3m24s, ends never)
- unknown ?: (no summa… since 05-09 12:00 (3d4h, ends never)
resolved after 2h
PR #1234567 修复：登录页面在 Sa… by someone [n/a]
<title>修复：登录页面在 Safari 上白屏 &amp; 闪退 🐛</title>
a, b, 3 0123456 ready`

func fnTestEvent() *event.Event {
	return &event.Event{
		Source: "am", Type: "alertmanager", Event: "alert", Status: "firing",
		Alerts: fnTestAlerts(),
		Labels: map[string]string{"alertname": "DiskFull"},
		Payload: map[string]any{
			"number":  1234567.0,
			"title":   "修复：登录页面在 Safari 上白屏 & 闪退 🐛",
			"commits": []any{"a", "b", int64(3)},
			"sha":     "0123456789abcdef",
		},
	}
}

func TestFnTemplate(t *testing.T) {
	tpl, err := template.New("t").Option("missingkey=zero").Funcs(fnTestFuncs(t)).Parse(fnTestTemplate)
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, tpl.Execute(&b, fnTestEvent().Vars()))
	assert.Equal(t, fnTestOutput, b.String())

	// A function's error stops the template with the function's name.
	tpl = template.Must(template.New("e").Funcs(fnTestFuncs(t)).Parse(`{{ regexReplace "(" "" .x }}`))
	err = tpl.Execute(&b, map[string]any{"x": "y"})
	assert.ErrorContains(t, err, "error calling regexReplace")
}

func BenchmarkFnTemplate(b *testing.B) {
	tpl := template.Must(template.New("t").Option("missingkey=zero").Funcs(fnTestFuncs(b)).Parse(fnTestTemplate))
	vars := fnTestEvent().Vars()
	var sb strings.Builder
	b.ReportAllocs()
	for b.Loop() {
		sb.Reset()
		if err := tpl.Execute(&sb, vars); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzFnTruncate(f *testing.F) {
	for _, s := range []string{"hello world", "你好世界，再见", "👍👍👍👍", "👨‍👩‍👧 family", "a\xffb", ""} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 64
		r := truncate(n, s)
		b := truncateBytes(n, s)
		if n <= 0 {
			if r != "" || b != "" {
				t.Fatalf("n=%d: %q %q", n, r, b)
			}
			return
		}
		if utf8.RuneCountInString(r) > n {
			t.Fatalf("truncate %d %q = %q: too many runes", n, s, r)
		}
		if len(b) > n {
			t.Fatalf("truncateBytes %d %q = %q: too many bytes", n, s, b)
		}
		if utf8.ValidString(s) && (!utf8.ValidString(r) || !utf8.ValidString(b)) {
			t.Fatalf("split a rune: %q -> %q, %q", s, r, b)
		}
		for _, cut := range []string{r, b} {
			if cut != s && !strings.HasPrefix(s, strings.TrimSuffix(cut, ellipsis)) {
				t.Fatalf("%q is not a prefix of %q", cut, s)
			}
		}
	})
}

// BenchmarkFnTemplateAlert renders a typical alert message: most of the
// cost is text/template itself (reflection per action), not the functions.
func BenchmarkFnTemplateAlert(b *testing.B) {
	tpl := template.Must(template.New("t").Option("missingkey=zero").Funcs(fnTestFuncs(b)).Parse(
		`[{{ .status | upper }}] {{ .labels.alertname }} ({{ count .alerts }})
{{ range .alerts }}{{ label "severity" . | default "unknown" }} {{ annotation "summary" . | truncate 60 }} {{ since .startsAt }}
{{ end }}`))
	vars := fnTestEvent().Vars()
	var sb strings.Builder
	b.ReportAllocs()
	for b.Loop() {
		sb.Reset()
		if err := tpl.Execute(&sb, vars); err != nil {
			b.Fatal(err)
		}
	}
}
