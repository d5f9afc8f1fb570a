package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/rules/event"
)

// BenchmarkAccept measures the durable ingest path alone: many webhooks at
// once (64 goroutines on 2 cores, like the load test), each a 2.4 KB
// Alertmanager payload with one message (the text the built-in template
// renders for it) and a de-duplication key.
func BenchmarkAccept(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("testdata", "firing.json"))
	if err != nil {
		b.Fatal(err)
	}
	// What the built-in zh template renders for the payload (~850 bytes),
	// as the rules' golden test keeps it.
	text, err := os.ReadFile(filepath.Join("..", "..", "..", "rules", "testdata", "golden", "zh", "alertmanager.firing.txt"))
	if err != nil {
		b.Fatal(err)
	}
	benchText := string(text)
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
			a := &outbox.Accepted{
				EventID: fmt.Sprint("delivery-", n), Source: "alertmanager", EventName: "firing",
				DedupKey: fmt.Sprint("alertmanager/", n), Raw: raw, ReceivedAt: time.Now(),
				Account: "wx_app_1",
				Messages: []event.Message{{Rule: "ops", To: "12345@chatroom",
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
