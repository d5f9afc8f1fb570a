package bridge

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// TestTraceRequestsAreBounded: a body over traceBodyBytes is not kept,
// and past traceBytes in all the oldest requests go; the traces stay.
func TestTraceRequestsAreBounded(t *testing.T) {
	l := newTraceLog(100)
	at := time.Now()
	big := bytes.Repeat([]byte("x"), traceBodyBytes+1)
	l.add(&event.Event{Source: "a", Raw: big}, nil, at, OutcomeQueued, 202)
	if _, ok := l.request(1); ok {
		t.Fatal("a body over traceBodyBytes was kept")
	}
	body := bytes.Repeat([]byte("y"), traceBodyBytes)
	n := 2 * traceBytes / traceBodyBytes
	for i := range n {
		l.add(&event.Event{Source: "s" + strconv.Itoa(i%3), Raw: body, Headers: map[string]string{"h": "v"}}, nil, at, OutcomeQueued, 202)
	}
	if l.bytes > traceBytes {
		t.Fatalf("%d bytes of requests kept; the bound is %d", l.bytes, traceBytes)
	}
	if _, ok := l.request(2); ok {
		t.Error("the oldest request was kept past the bound")
	}
	if r, ok := l.request(uint64(n + 1)); !ok || !bytes.Equal(r.Body, body) {
		t.Error("the newest request was not kept")
	}
	if got := len(l.list("")); got != n+1 {
		t.Errorf("%d traces listed, want %d: traces stay when their requests go", got, n+1)
	}
}
