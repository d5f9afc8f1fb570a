package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/rules"
)

// benchText is what the built-in zh template renders for the payload
// (850 bytes, 774 characters): what the store writes per message in the
// load test.
const benchText = "【告警:2】NodeFilesystemSpaceFillingUp [critical]\n" +
	"🔥 Filesystem on /dev/nvme0n1p1 at 10.0.3.21:9100 has only 7.12% available space left.\n" +
	"实例：10.0.3.21:9100\n开始：2026-05-12 16:21:35（已持续 201d12h）\n" +
	"来源：http://prometheus-k8s-0:9090/graph?g0.expr=%28node_filesystem_avail_bytes%7Bfstype%21~%22tmpfs%22%7D+%2F+node_filesystem_size_bytes%29+%3C+0.1&g0.tab=1\n" +
	"🔥 Filesystem on /dev/nvme0n1p1 at 10.0.3.22:9100 has only 9.84% available space left.\n" +
	"实例：10.0.3.22:9100\n开始：2026-05-12 16:23:05（已持续 201d12h）\n" +
	"来源：http://prometheus-k8s-0:9090/graph?g0.expr=%28node_filesystem_avail_bytes%7Bfstype%21~%22tmpfs%22%7D+%2F+node_filesystem_size_bytes%29+%3C+0.1&g0.tab=1\n" +
	"静默：http://alertmanager.monitoring.svc:9093/#/silences/new?filter=%7Balertname%3D%22NodeFilesystemSpaceFillingUp%22%2Cteam%3D%22infra%22%7D"

// BenchmarkAccept measures the durable ingest path alone: many webhooks at
// once (64 goroutines on 2 cores, like the load test), each a 2.4 KB
// Alertmanager payload with one message (the text the built-in template
// renders for it) and a de-duplication key.
func BenchmarkAccept(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "firing.json"))
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(filepath.Join(b.TempDir(), "outbox.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var seq atomic.Int64
	b.SetBytes(int64(len(raw)))
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			a := &bridge.Accepted{
				EventID: fmt.Sprint("delivery-", n), Source: "alertmanager", EventName: "firing",
				DedupKey: fmt.Sprint("alertmanager/", n), Raw: raw, ReceivedAt: time.Now(),
				Account: "wx_app_1",
				Messages: []rules.Message{{Rule: "ops", To: "12345@chatroom",
					Text: benchText}},
			}
			if err := s.Accept(ctx, a, a.ReceivedAt.Add(-10*time.Minute)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accepts/s")
	b.ReportMetric(float64(st.Requests)/float64(max(st.Commits, 1)), "accepts/commit")
}
