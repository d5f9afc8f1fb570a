package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe/gewetest"
)

// TestRun runs the CLI as a user would: flags before or after arguments,
// long flags with one dash or two, --help and --version.
func TestRun(t *testing.T) {
	bad := writeFile(t, "bad.yaml", "rules:\n  - name: x\n    when: 'nosuchname == 1'\n    to: [wxid_a]\n")
	failing := writeFile(t, "failing.yaml", `sources: { deploys: { type: generic, bearer_token: t } }
rules:
  - { name: to-expr-fails, when: 'true', to_expr: 'payload.a.b.c', continue: true }
`)
	payload := writeFile(t, "deploy.json", `{"service":"api"}`)
	cases := []struct {
		name     string
		args     []string
		code     int
		stdout   string // a substring of standard output
		stderr   string // a substring of standard error
		noStdout string
	}{
		{name: "help", args: []string{"--help"}, code: 0, stdout: "serve"},
		{name: "short help", args: []string{"-h"}, code: 0, stdout: "check"},
		{name: "command help", args: []string{"test", "--help"}, code: 0, stdout: "--source"},
		{name: "version flag", args: []string{"--version"}, code: 0, stdout: version},
		{name: "version command", args: []string{"version"}, code: 0, stdout: "gewe-bridge " + version},
		{name: "no command", args: nil, code: 2, stderr: "usage: gewe-bridge"},
		{name: "unknown command", args: []string{"nope"}, code: 2, stderr: "nope"},
		{name: "unknown flag", args: []string{"check", "--nope"}, code: 2, stderr: "nope"},
		{name: "check ok", args: []string{"check", "--dry-run", "--config", "rules.example.yaml"}, code: 0, stdout: "OK"},
		{name: "check ok, one dash", args: []string{"check", "-config", "rules.example.yaml", "-dry-run"}, code: 0, stdout: "OK"},
		{name: "check ok, argument", args: []string{"check", "rules.example.yaml", "--dry-run"}, code: 0, stdout: "OK"},
		{name: "check, no token", args: []string{"check", "rules.example.yaml"}, code: 1, stderr: "gewe.token: is empty"},
		{name: "check refuses", args: []string{"check", bad}, code: 1, stderr: "nosuchname"},
		{name: "check needs a file", args: []string{"check"}, code: 2, stderr: "required"},
		{name: "test, flags after the payload", code: 0,
			args:   []string{"test", "--config", "rules.example.yaml", "testdata/alertmanager/firing.json", "--source", "alertmanager", "--json"},
			stdout: `"messages": [`},
		{name: "test, one-dash flags after the payload", code: 0,
			args:   []string{"test", "testdata/alertmanager/firing.json", "-source", "alertmanager", "-json"},
			stdout: `"rules": [`},
		{name: "test needs a source", args: []string{"test", payload}, code: 2, stderr: "source"},
		// A value that starts with a dash is not taken for a one-dash flag.
		{name: "a flag value with a dash", code: 1,
			args:   []string{"test", "--config", failing, "--source", "deploys", "-event=-deploy", payload},
			stdout: "event=-deploy", stderr: "1 rule(s) failed"},
		{name: "test fails when a rule fails", code: 1,
			args:   []string{"test", "--config", failing, "--source", "deploys", payload},
			stdout: "to-expr-fails", stderr: "1 rule(s) failed"},
		{name: "messages list, bad state", args: []string{"messages", "list", "--state", "nope"}, code: 2, stderr: "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("run(%q) = %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("stdout does not contain %q:\n%s", tc.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tc.stderr, stderr.String())
			}
		})
	}
}

// TestMessagesCommand checks what the messages command asks the admin API.
func TestMessagesCommand(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		state := map[string]string{"/api/v1/messages/7": "sent", "/api/v1/messages/8": "dead"}[r.URL.Path]
		_ = json.NewEncoder(w).Encode(map[string]any{"message": map[string]any{"id": 7, "state": state}, "messages": []any{}})
	}))
	defer api.Close()
	cases := []struct {
		args  []string
		code  int
		calls []string
	}{
		{[]string{"messages", "list", "--url", api.URL, "--token", "T", "--state", "dead"}, 0,
			[]string{"GET /api/v1/messages?limit=50&state=dead Bearer T"}},
		// Flags of the parent command after the subcommand's, one dash.
		{[]string{"messages", "list", "-state", "pending", "-url", api.URL, "-token", "T", "-limit", "5"}, 0,
			[]string{"GET /api/v1/messages?limit=5&state=pending Bearer T"}},
		{[]string{"messages", "show", "8", "--url", api.URL, "--token", "T"}, 0,
			[]string{"GET /api/v1/messages/8 Bearer T"}},
		{[]string{"messages", "retry", "8", "--url", api.URL, "--token", "T"}, 0,
			[]string{"GET /api/v1/messages/8 Bearer T", "POST /api/v1/messages/8/retry Bearer T"}},
		// A sent message is not sent again without --force.
		{[]string{"messages", "retry", "7", "--url", api.URL, "--token", "T"}, 1,
			[]string{"GET /api/v1/messages/7 Bearer T"}},
		{[]string{"messages", "retry", "7", "--force", "--url", api.URL, "--token", "T"}, 0,
			[]string{"POST /api/v1/messages/7/retry?force=true Bearer T"}},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args[:3], " "), func(t *testing.T) {
			mu.Lock()
			calls = nil
			mu.Unlock()
			var stdout, stderr bytes.Buffer
			if code := run(tc.args, &stdout, &stderr); code != tc.code {
				t.Errorf("run(%q) = %d, want %d\n%s%s", tc.args, code, tc.code, stdout.String(), stderr.String())
			}
			mu.Lock()
			defer mu.Unlock()
			if strings.Join(calls, "\n") != strings.Join(tc.calls, "\n") {
				t.Errorf("calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(tc.calls, "\n"))
			}
		})
	}
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckOnline asks a fake GeWe whether the config's settings work.
func TestCheckOnline(t *testing.T) {
	fake := gewetest.New()
	defer fake.Close()
	cases := []struct {
		name, baseURL, api, token, appID string
		code                             int
		want                             string // a line of the report
	}{
		{"all right", fake.URL(), "v2", gewetest.Token, gewetest.AppID, 0, "token         ok"},
		{"doubled root is not doubled", fake.URL() + "/v2/api", "v2", gewetest.Token, gewetest.AppID, 0, "base_url/api  ok"},
		{"wrong token", fake.URL(), "v2", "not-the-token", gewetest.AppID, 1, "token         WRONG"},
		{"wrong app id", fake.URL(), "v2", gewetest.Token, "wx_other", 1, "app_id        WRONG"},
		{"root of v2 with api v1", fake.URL() + "/v2/api", "v1", gewetest.Token, gewetest.AppID, 1, "set api: v2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeFile(t, "rules.yaml", "gewe:\n  base_url: "+tc.baseURL+"\n  api: "+tc.api+
				"\n  token: "+tc.token+"\n  app_id: "+tc.appID+"\nsources: { deploys: { type: generic, bearer_token: t } }\n")
			var stdout, stderr bytes.Buffer
			code := run([]string{"check", "--online", cfg}, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stdout.String()+stderr.String(), tc.want) {
				t.Errorf("check --online = %d, want %d with %q:\n%s%s", code, tc.code, tc.want, stdout.String(), stderr.String())
			}
			if strings.Contains(stdout.String()+stderr.String(), "not-the-token") {
				t.Errorf("the token is in the output:\n%s%s", stdout.String(), stderr.String())
			}
		})
	}
}
