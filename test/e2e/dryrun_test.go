package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe/gewetest"
	_ "modernc.org/sqlite" // to read the page size of a stopped bridge's outbox
)

// runWithEnv runs the binary with env added to cleanEnv and waits at most
// timeout for it to exit; it fails the test if it did not.
func runWithEnv(t *testing.T, dir string, env []string, timeout time.Duration, args ...string) (out string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
	var o bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &o
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("gewe-bridge %s still ran after %s:\n%s", strings.Join(args, " "), timeout, o.String())
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running gewe-bridge %s: %v", strings.Join(args, " "), err)
	}
	return o.String(), code
}

// TestNoTokenRefusesToStart: an unset GEWE_TOKEN is an error, not a bridge
// that answers 202 and silently sends nothing. Dry-run is a choice.
func TestNoTokenRefusesToStart(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	dir := t.TempDir()
	conf := newConf(fake)
	conf.Token = ""
	config, storage := filepath.Join(dir, "gewe-bridge.yaml"), filepath.Join(dir, "data", "outbox.db")
	if err := os.WriteFile(config, []byte(conf.render(fmt.Sprintf("127.0.0.1:%d", freePort(t)), storage)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runWithEnv(t, dir, nil, 20*time.Second, "serve", "-config", config)
	if code == 0 {
		t.Errorf("serve without gewe.token nor -dry-run exited 0")
	}
	assertContains(t, "serve's refusal", out, "gewe.token: is empty: set it, or choose dry-run with gewe.dry_run: true or serve --dry-run")
	if _, err := os.Stat(storage); err == nil {
		t.Errorf("serve created the outbox before refusing the config")
	}

	// The embedded example config, as on a fresh machine.
	port := freePort(t)
	env := []string{fmt.Sprintf("LISTEN=127.0.0.1:%d", port), "STORAGE_PATH=" + filepath.Join(dir, "example.db")}
	out, code = runWithEnv(t, dir, env, 20*time.Second, "serve")
	if code == 0 {
		t.Errorf("serve with the embedded example and no GEWE_TOKEN exited 0")
	}
	assertContains(t, "serve's refusal of the example", out, "gewe.token: is empty (GEWE_TOKEN is not set)", "serve --dry-run")

	// go run . serve -dry-run, as README says.
	cmd := exec.Command(binPath, "serve", "-dry-run")
	cmd.Dir, cmd.Env = dir, append(cleanEnv(), env...)
	var o syncBuffer
	cmd.Stdout, cmd.Stderr = &o, &o
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ready := eventually(20*time.Second, func() bool {
		r, err := do("GET", fmt.Sprintf("http://127.0.0.1:%d/-/ready", port), nil, nil)
		return err == nil && r.Status == http.StatusOK
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve -dry-run with the example config: %v", err)
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Errorf("serve -dry-run did not stop within 20s of SIGTERM")
	}
	if !ready {
		t.Errorf("serve -dry-run with the embedded example config never got ready:\n%s", o.String())
	}
	assertContains(t, "the dry-run start", o.String(), "DRY-RUN")
}

// TestDryRunMessagesAreNeverSent: the messages of a dry run end in state
// dry_run, never sent, and a later run with a token does not send them.
func TestDryRunMessagesAreNeverSent(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	conf := newConf(fake)
	conf.Token = ""
	conf.DryRun = true // gewe.dry_run; TestDryRun uses -dry-run
	b := startBridge(t, conf)
	checkAccepted(t, b.Alertmanager(t, fixture(t, "alertmanager/firing.json")), "", []string{"audit", "critical-alerts"}, 2)
	checkAccepted(t, b.GitHub(t, "pull_request", newID(), fixture(t, "github/pull_request.opened.json")), "", []string{"pull-requests"}, 1)
	var dry []QueuedMessage
	if !eventually(10*time.Second, func() bool { dry = b.List(t, "dry_run"); return len(dry) == 3 }) {
		t.Fatalf("%d messages in state dry_run, want 3: %+v", len(dry), b.List(t, ""))
	}
	for _, state := range []string{"sent", "pending"} {
		if n := len(b.List(t, state)); n != 0 {
			t.Errorf("%d messages %s in a dry run, want none", n, state)
		}
	}
	if r := b.Admin(t, "GET", "/api/v1/status"); r.JSON["dry_run"] != true {
		t.Errorf("status in a dry run: %s", r)
	}
	stdout, stderr, code := runCLI(t, b.Dir, "messages", "-url", b.URL, "-token", adminToken, "-state", "dry_run", "list")
	if code != 0 || strings.Count(stdout, `"state": "dry_run"`) != 3 {
		t.Errorf("messages -state dry_run list: exit %d\n%s%s", code, stdout, stderr)
	}

	// The token is set now: only what is accepted from now on is sent.
	b.Stop()
	conf.Token, conf.DryRun = gewetest.Token, false
	b.Start()
	checkAccepted(t, b.Generic(t, "deploys", []byte(`{"service": "after-the-dry-run"}`), nil), "", []string{"deploys"}, 1)
	reqs := waitDelivered(t, fake, 1, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if reqs = delivered(fake); len(reqs) != 1 {
		t.Errorf("%d sends after the dry run, want only the new message's", len(reqs))
	}
	if m := oneMessage(t, reqs[0]); !strings.Contains(m.Content, "after-the-dry-run") {
		t.Errorf("sent %q, want the message accepted after the dry run", m.Content)
	}
	if n := len(b.List(t, "dry_run")); n != 3 {
		t.Errorf("%d messages dry_run after a run with a token, want still 3", n)
	}
	if n := len(b.List(t, "sent")); n != 1 {
		t.Errorf("%d messages sent, want 1", n)
	}
}

// TestCorruptStoreIsNotReady: a page damaged in the middle of the outbox
// file while the bridge was stopped is found at start: the log names the
// file and /-/ready answers 503 with what the check found.
func TestCorruptStoreIsNotReady(t *testing.T) {
	t.Parallel()
	fake := newFake(t, true)
	b := startBridge(t, newConf(fake))
	// Enough for a file of many pages: each event keeps its payload.
	for i := range 300 {
		var text strings.Builder
		for range 40 {
			text.WriteString(newID()) // random: the payload is stored compressed
		}
		body := []byte(fmt.Sprintf(`{"service": "svc-%d", "version": "%s", "text": %q}`, i, newID(), text.String()))
		checkAccepted(t, b.Generic(t, "deploys", body, nil), "", []string{"deploys"}, 1)
	}
	b.Stop()

	db, err := sql.Open("sqlite", b.Storage)
	if err != nil {
		t.Fatal(err)
	}
	var pageSize int64
	err = db.QueryRow("PRAGMA page_size").Scan(&pageSize)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(b.Storage)
	if err != nil {
		t.Fatal(err)
	}
	pages := fi.Size() / pageSize
	if pages < 20 {
		t.Fatalf("the outbox has %d pages, want many", pages)
	}
	f, err := os.OpenFile(b.Storage, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt(bytes.Repeat([]byte{0xA5, 0x5A, 0xFF, 0x00}, int(pageSize)/4), (pages/2+1)*pageSize)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(binPath, "serve", "-config", b.Config)
	cmd.Dir, cmd.Env = b.Dir, cleanEnv()
	var o syncBuffer
	cmd.Stdout, cmd.Stderr = &o, &o
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("bridge output:\n%s", o.String())
		}
	}()
	var r Resp
	if !eventually(20*time.Second, func() bool {
		r, err = do("GET", b.URL+"/-/ready", nil, nil)
		return err == nil && r.Status != 0
	}) {
		t.Fatalf("the bridge on a corrupt outbox does not answer /-/ready: %v", err)
	}
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "store corrupt: ") {
		t.Errorf("/-/ready on a corrupt outbox: %s, want 503 store corrupt: ...", r)
	}
	if !strings.Contains(o.String(), "corrupt") || !strings.Contains(o.String(), b.Storage) {
		t.Errorf("the log does not say that %s is corrupt", b.Storage)
	}
}
