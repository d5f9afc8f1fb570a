package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresEnv names the PostgreSQL the replica tests share (.ci/run starts
// a throwaway one); in CI the tests must run.
const postgresEnv = "GEWE_BRIDGE_TEST_POSTGRES_URL"

// postgresSchema returns the URL of a new, empty schema of the test
// database, dropped after the test.
func postgresSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: in CI the PostgreSQL tests must run", postgresEnv)
		}
		t.Skipf("%s is not set: no PostgreSQL to run two replicas on", postgresEnv)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connecting to %s: %v", postgresEnv, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "e2e_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if conn, err := pgx.Connect(ctx, base); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// TestTwoReplicasOnPostgres runs two bridges on one database behind a
// "load balancer" that alternates between them: a burst split between
// them, the lease holder killed with SIGKILL mid-burst and what it did not
// answer re-sent to the other, as a sender retries. Every webhook answered
// 2xx is delivered, never two sends at once (the fake checks at cleanup),
// per_minute holds across the failover (the new holder reads the pacing
// state from the database), a delivery given to both replicas is queued
// once, and the survivor takes the lease over.
func TestTwoReplicasOnPostgres(t *testing.T) {
	pg := postgresSchema(t)
	fake := newFake(t, true) // one account: never two requests in flight
	fake.SetDelay(25 * time.Millisecond)
	conf := newConf(fake)
	conf.StorageURL = pg
	conf.Delivery["per_minute"] = "8"
	conf.Delivery["coalesce"] = "false"
	r1 := startBridge(t, conf)
	r2 := startBridge(t, conf)
	replicas := []*Bridge{r1, r2}
	holderOf := func() (holder, other *Bridge) {
		for i, r := range replicas {
			if strings.Contains(r.Output(), "took the account's lease") {
				return r, replicas[1-i]
			}
		}
		return nil, nil
	}

	// A delivery given to both replicas (a retry that went elsewhere) is
	// one message.
	both := []Resp{}
	for _, r := range replicas {
		resp, err := r.postLoad("wxid_both", "once [both]", "both-key")
		if err != nil {
			t.Fatal(err)
		}
		both = append(both, resp)
	}
	if both[0].Status != http.StatusAccepted {
		t.Fatalf("first replica: %s", both[0])
	}
	if d, _ := both[1].JSON["duplicate"].(bool); both[1].Status != http.StatusOK || !d {
		t.Errorf("second replica, same delivery: %s; want 200 duplicate", both[1])
	}

	const n = 12 // with the one given to both, 13 calls: 8 in the first minute, 5 in the next
	marker := func(i int) string { return fmt.Sprintf("[rep-%02d]", i) }
	status := make([]int, n)
	var mu sync.Mutex
	post := func(i int, r *Bridge) {
		resp, err := r.postLoad(fmt.Sprintf("wxid_rep_%02d", i), "message "+marker(i), fmt.Sprintf("rep-key-%02d", i))
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			status[i] = resp.Status
		}
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Go(func() {
			time.Sleep(time.Duration(i) * 40 * time.Millisecond)
			post(i, replicas[i%2])
		})
	}
	// Kill the holder once it has sent a few: per_minute (8) is not used up.
	if !eventually(20*time.Second, func() bool { h, _ := holderOf(); return h != nil && len(delivered(fake)) >= 4 }) {
		t.Fatalf("no replica took the lease and sent 4 messages (%d delivered)", len(delivered(fake)))
	}
	holder, survivor := holderOf()
	holder.Kill()
	killedAt := time.Now()
	sentBefore := len(delivered(fake))
	t.Logf("killed the lease holder after %s with %d requests delivered", killedAt.Sub(start).Round(time.Millisecond), sentBefore)
	wg.Wait()
	// What the dead replica did not answer goes to the survivor.
	resent, dups := 0, 0
	for i := range n {
		if status[i] == http.StatusAccepted {
			continue
		}
		resent++
		resp, err := survivor.postLoad(fmt.Sprintf("wxid_rep_%02d", i), "message "+marker(i), fmt.Sprintf("rep-key-%02d", i))
		if err != nil {
			t.Fatalf("re-sending webhook %d to the survivor: %v", i, err)
		}
		switch d, _ := resp.JSON["duplicate"].(bool); {
		case resp.Status == http.StatusAccepted:
		case resp.Status == http.StatusOK && d:
			dups++ // committed by the dead replica before it could answer
		default:
			t.Errorf("re-sending webhook %d to the survivor: %s", i, resp)
		}
	}
	t.Logf("%d webhooks re-sent to the survivor, %d of them already committed", resent, dups)

	if !survivor.WaitOutput(30*time.Second, "took the account's lease") {
		t.Fatalf("the survivor did not take the lease over")
	}
	took := time.Since(killedAt)
	t.Logf("the survivor took the lease over %s after the kill", took.Round(time.Millisecond))
	if took > 20*time.Second {
		t.Errorf("takeover took %s; the lease lasts 10s", took)
	}

	// per_minute: 8 across both replicas: the survivor starts from the
	// dead one's sends, so the minute's first 8 calls are all there are.
	time.Sleep(3 * time.Second)
	if got := len(delivered(fake)); got > 8 {
		t.Errorf("%d requests delivered within a minute with per_minute: 8 across the failover", got)
	}

	// Everything answered 2xx (and the one given to both) is delivered,
	// once the minute allows it.
	var missed []int
	ok := eventually(90*time.Second, func() bool {
		missed = missed[:0]
		for i := range n {
			if deliveredCount(fake, marker(i)) == 0 {
				missed = append(missed, i)
			}
		}
		return len(missed) == 0 && deliveredCount(fake, "[both]") > 0
	})
	if !ok {
		t.Fatalf("never delivered: %v (and [both] %d times)", missed, deliveredCount(fake, "[both]"))
	}
	if c := deliveredCount(fake, "[both]"); c != 1 {
		t.Errorf("the delivery given to both replicas was sent %d times, want 1", c)
	}
	repeats := 0
	for i := range n {
		repeats += deliveredCount(fake, marker(i)) - 1
	}
	if repeats > 1 {
		t.Errorf("%d messages sent twice; only the send in flight at the kill may be", repeats)
	}

	// Pacing held in every minute of the run, across both replicas.
	var times []time.Time
	for _, r := range delivered(fake) {
		times = append(times, r.Time)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := range times {
		in := 0
		for j := i; j < len(times) && times[j].Sub(times[i]) < time.Minute-time.Second; j++ {
			in++
		}
		if in > 8 {
			t.Errorf("%d requests within a minute from %s; per_minute is 8", in, times[i].Format(time.StampMilli))
			break
		}
	}

	// The admin API of the survivor shows the whole cluster's messages.
	// (The last send's record follows its delivery by a moment.)
	got := 0
	eventually(10*time.Second, func() bool { got = len(survivor.List(t, "sent")); return got >= n+1 })
	if got < n+1 {
		t.Errorf("the survivor lists %d sent messages, want %d", got, n+1)
	}
	if p := survivor.List(t, "pending"); len(p) != 0 {
		t.Errorf("%d messages still pending", len(p))
	}
}
