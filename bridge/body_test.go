package bridge

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge/delivery"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBudget(t *testing.T) {
	b := newBudget(100, 50*time.Millisecond)
	require.True(t, b.take(60))
	require.True(t, b.take(40))
	start := time.Now()
	assert.False(t, b.take(1), "full")
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "it waited")

	b.wait = 5 * time.Second
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); assert.True(t, b.take(50), "room given back while waiting") }()
	time.Sleep(20 * time.Millisecond)
	b.give(60)
	wg.Wait()
	assert.True(t, b.take(10), "what is left fits")
	b.give(40)
	b.give(50)
	b.give(10)
	assert.Equal(t, int64(100), b.free)
}

// TestLargeBodyWithoutRoomAnswers503: a body the budget has no room for
// is refused unread with 503 and Retry-After, which senders retry, and
// its room is given back whatever the outcome.
func TestLargeBodyWithoutRoomAnswers503(t *testing.T) {
	const configText = `
gewe: {token: t, base_url: "http://127.0.0.1:1", app_id: wx_a}
sources:
  am: {type: alertmanager, bearer_token: tok}
contacts:
  ops: {wxid: "1@chatroom"}
rules:
  - {name: all, to: [ops]}
`
	svc, err := New(Options{Outbox: acceptAll{}, Client: delivery.DryRun{Log: slog.New(slog.DiscardHandler)}, Account: "wx_a",
		Logger: slog.New(slog.DiscardHandler),
		Load: func() (*rules.Ruleset, config.Problems) {
			return rules.Load([]byte(configText), "test.yaml", func(string) string { return "" })
		}})
	require.NoError(t, err)
	svc.bodies = newBudget(1<<20, 20*time.Millisecond)
	post := func(size int) *http.Response {
		body := append([]byte(`{"version":"4","status":"firing","alerts":[],"x":"`), bytes.Repeat([]byte("x"), size)...)
		body = append(body, `"}`...)
		r := httptest.NewRequest(http.MethodPost, "/hooks/am", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer tok")
		resp, err := svc.App().Test(r, -1)
		require.NoError(t, err)
		return resp
	}

	assert.Equal(t, http.StatusAccepted, post(512<<10).StatusCode)
	require.True(t, svc.bodies.take(900<<10)) // others' bodies in flight
	resp := post(512 << 10)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", b)
	assert.Equal(t, retryAfter, resp.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusAccepted, post(10).StatusCode, "a small body needs no room")
	// Without the source's token, the same body is refused for what it
	// is, 401, before it is read or waits for room (found in review).
	r := httptest.NewRequest(http.MethodPost, "/hooks/am", bytes.NewReader(bytes.Repeat([]byte("x"), 512<<10)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer wrong")
	resp, err = svc.App().Test(r, -1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	svc.bodies.give(900 << 10)
	assert.Equal(t, http.StatusAccepted, post(512<<10).StatusCode)
	assert.Equal(t, int64(1<<20), svc.bodies.free, "every body gave its room back")
}

// acceptAll is an outbox whose commits all succeed.
type acceptAll struct{ outbox.Store }

func (acceptAll) Accept(context.Context, *outbox.Accepted, time.Time) error { return nil }

// TestReadChunked reads what io.ReadAll would, in pieces.
func TestReadChunked(t *testing.T) {
	for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 5*chunkSize + 7} {
		want := bytes.Repeat([]byte("abcdefg"), n/7+1)[:n]
		got, err := readChunked(bytes.NewReader(want))
		require.NoError(t, err)
		assert.Equal(t, want, got, "%d bytes", n)
	}
}
