package bridge_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/bridge/store/sqlite"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
	"github.com/gewe-bridge/gewe-bridge/test/fixtures"
)

// BenchmarkIngest is the durable webhook path in process: Fiber handler,
// authentication, decoding, 1,000 rules (one matches), rendering, and the
// commit to SQLite (synchronous=FULL, group commit), answered 202. The
// sender is not running, so the numbers are the ingest path's alone.
func BenchmarkIngest(b *testing.B) {
	fixture := fixtures.ReadOrSkip(b, "alertmanager/firing.json")
	var cfg strings.Builder
	cfg.WriteString(serviceConfig[:strings.Index(serviceConfig, "rules:")])
	cfg.WriteString("rules:\n")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&cfg, "  - {name: r%d, when: 'source == \"alertmanager\" && labels.team == \"team-%d\"', to: [ops]}\n", i, i)
	}
	cfg.WriteString("  - {name: infra, when: 'source == \"alertmanager\" && labels.team == \"infra\"', to: [ops]}\n")
	store, err := sqlite.Open(b.TempDir()+"/outbox.db", sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	load := func() (*rules.Ruleset, config.Problems) {
		return rules.Load([]byte(cfg.String()), "bench.yaml", func(string) string { return "" })
	}
	svc, err := bridge.New(bridge.Options{Load: load, Outbox: store, Client: &fakeClient{}, Account: "wx_a",
		Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))})
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	b.ReportAllocs()
	b.SetBytes(int64(len(fixture)))
	b.SetParallelism(32) // webhooks arrive concurrently: that is what group commit shares
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// A distinct groupKey per request: identical payloads would be
			// answered as duplicates without touching the store.
			body := bytes.Replace(fixture, []byte(`"groupKey":"`), []byte(fmt.Sprintf(`"groupKey":"%d`, seq.Add(1))), 1)
			resp, err := svc.App().Test(amRequest(body, nil), -1)
			if err != nil {
				b.Fatal(err)
			}
			if resp.StatusCode != http.StatusAccepted {
				msg, _ := io.ReadAll(resp.Body)
				b.Fatalf("answer %d: %s", resp.StatusCode, msg)
			}
			resp.Body.Close()
		}
	})
}
