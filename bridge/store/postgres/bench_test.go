package postgres

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

// BenchmarkAccept is the SQLite store's BenchmarkAccept on PostgreSQL (the
// same 2.4 KB Alertmanager payload, rendered text and de-duplication key,
// 64 goroutines on 2 cores), with one replica (one store) and two (two
// stores on the database, the goroutines split between them).
func BenchmarkAccept(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "sqlite", "testdata", "firing.json"))
	if err != nil {
		b.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join("..", "..", "..", "rules", "testdata", "golden", "zh", "alertmanager.firing.txt"))
	if err != nil {
		b.Fatal(err)
	}
	for _, replicas := range []int{1, 2} {
		b.Run(fmt.Sprintf("replicas=%d", replicas), func(b *testing.B) {
			u := benchDB(b)
			stores := make([]*Store, replicas)
			for i := range stores {
				s, err := Open(context.Background(), u, Options{})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				stores[i] = s
			}
			ctx := context.Background()
			var seq, worker atomic.Int64
			b.SetBytes(int64(len(raw)))
			b.SetParallelism(32)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				s := stores[int(worker.Add(1))%replicas]
				for pb.Next() {
					n := seq.Add(1)
					a := &outbox.Accepted{
						EventID: fmt.Sprint("delivery-", n), Source: "alertmanager", EventName: "firing",
						DedupKey: fmt.Sprint("alertmanager/", n), Raw: raw, ReceivedAt: time.Now(),
						Account:  "wx_app_1",
						Messages: []event.Message{{Rule: "ops", To: "12345@chatroom", Text: string(text)}},
					}
					if err := s.Accept(ctx, a, a.ReceivedAt.Add(-10*time.Minute)); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.StopTimer()
			var commits, writes uint64
			for _, s := range stores {
				c, w := s.CommitCounts()
				commits, writes = commits+c, writes+w
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "accepts/s")
			b.ReportMetric(float64(writes)/float64(max(commits, 1)), "accepts/commit")
		})
	}
}
