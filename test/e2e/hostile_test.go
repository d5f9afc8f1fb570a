package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"
)

const hostileRules = `
sources:
  github:
    type: github
    secret: "` + githubSecret + `"
  alertmanager:
    type: alertmanager
    bearer_token: "` + amToken + `"
contacts:
  ops: { wxid: "12345678@chatroom" }
rules:
  - { name: all, to: [ops] }
`

// filler is an endless body of 'x', so the test does not hold what it sends.
type filler struct{}

func (filler) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// TestLargeBodiesDoNotExhaustMemory is issue 16's attack: 40 concurrent
// 25 MB bodies to a 1 MB source and 40 to an unknown path, none
// authenticated, some chunked, plus unsigned ones to the 25 MB github
// source. It peaked at 920 MB, and the 256 MiB limit of
// deploy/kubernetes killed the process. Now it must stay under that limit
// and answer afterwards.
func TestLargeBodiesDoNotExhaustMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	fake := newFake(t, false)
	conf := newConf(fake)
	conf.Body = hostileRules
	b := startBridge(t, conf)

	const size = 25 << 20
	client := &http.Client{Timeout: 60 * time.Second}
	post := func(path string, chunked bool, header map[string]string) (int, error) {
		body := io.LimitReader(filler{}, size)
		req, err := http.NewRequest(http.MethodPost, b.URL+path, body)
		if err != nil {
			return 0, err
		}
		if !chunked {
			req.ContentLength = size
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err // a refusal before the body is read may reach the client as a reset
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	var mu sync.Mutex
	answers := map[string]int{}
	var wg sync.WaitGroup
	attack := func(n int, path string, chunked bool, header map[string]string) {
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, err := post(path, chunked, header)
				key := fmt.Sprintf("%s %d", path, code)
				if err != nil {
					key = path + " error"
				}
				mu.Lock()
				answers[key]++
				mu.Unlock()
			}()
		}
	}
	start := time.Now()
	attack(34, "/hooks/alertmanager", false, amHeaders())
	attack(6, "/hooks/alertmanager", true, nil)
	attack(34, "/hooks/nope", false, nil)
	attack(6, "/hooks/nope", true, nil)
	attack(12, "/hooks/github", false, map[string]string{
		"X-GitHub-Event": "push", "X-GitHub-Delivery": newID(), "X-Hub-Signature-256": "sha256=" + string(bytes.Repeat([]byte("0"), 64))})
	wg.Wait()
	peak := b.PeakRSS(t)
	t.Logf("answers after %s: %v; peak RSS %d MiB", time.Since(start).Round(time.Millisecond), answers, peak>>20)

	if peak > 256<<20 {
		t.Errorf("peak RSS %d MiB; the deployment's limit is 256 MiB", peak>>20)
	}
	for key, n := range answers {
		switch key {
		// The chunked ones carry no token: refused (401) from their
		// headers, before their body is read.
		case "/hooks/alertmanager 413", "/hooks/alertmanager 401", "/hooks/alertmanager error", "/hooks/nope 404", "/hooks/nope error",
			"/hooks/github 401", "/hooks/github 503":
		default:
			t.Errorf("%d answers %q", n, key)
		}
	}
	if answers["/hooks/github 401"] == 0 {
		t.Errorf("no unsigned github body was read and refused: %v", answers)
	}

	// Still serving.
	if r := mustDo(t, http.MethodGet, b.URL+"/-/ready", nil, nil); r.Status != http.StatusOK {
		t.Fatalf("ready after the attack: %s", r)
	}
	if r := b.Alertmanager(t, alertPayload("firing", map[string]string{"alertname": "AfterTheFlood"}, nil)); r.Status != http.StatusAccepted {
		t.Fatalf("webhook after the attack: %s", r)
	}
}
