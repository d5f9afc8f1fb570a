// Command gewe-bridge turns webhooks (Alertmanager, GitHub, any JSON) into
// WeChat messages sent through the GeWe API, routed by rules in one YAML
// file. See README.md.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // time zones in a static binary without /usr/share/zoneinfo

	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/adapters/alertmanager"
	"github.com/gewe-bridge/gewe-bridge/adapters/generic"
	"github.com/gewe-bridge/gewe-bridge/adapters/github"
	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/bridge/serve"
	"github.com/gewe-bridge/gewe-bridge/rules"
)

//go:embed rules.example.yaml
var defaultConfig []byte

const usage = `gewe-bridge turns webhooks into WeChat messages.

Usage:
  gewe-bridge serve    [-config rules.yaml] [-dry-run]   run the service (no -config: the embedded example)
  gewe-bridge check    -config rules.yaml [-dry-run]     validate a config; exit status 0 or 1
  gewe-bridge test     -config rules.yaml -source NAME [-event E] [-H 'Name: value'] [-json] payload.json
  gewe-bridge messages list [-state pending|sent|dead|dry_run] | show ID | retry ID   (needs -url, -token)
  gewe-bridge healthcheck [-url http://127.0.0.1:8080]   exit 0 when /-/ready answers 200 (for Docker)
  gewe-bridge version

Run "gewe-bridge COMMAND -h" for a command's flags.
`

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "serve":
		return serveCmd(args, stderr)
	case "check":
		return check(args, stdout, stderr)
	case "test":
		return testCmd(args, stdout, stderr)
	case "messages":
		return messages(args, stdout, stderr)
	case "healthcheck":
		return healthcheck(args, stderr)
	case "version":
		fmt.Fprintln(stdout, "gewe-bridge", version)
		return 0
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
	return 2
}

// logFlags are the flags every command that logs shares.
type logFlags struct{ format, level *string }

func addLogFlags(fs *flag.FlagSet) logFlags {
	return logFlags{
		format: fs.String("log.format", "text", "log format: text or json"),
		level:  fs.String("log.level", "info", "log level: debug, info, warn or error"),
	}
}

func (l logFlags) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(*l.level))
	opts := &slog.HandlerOptions{Level: lvl}
	if *l.format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serveCmd(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	config := fs.String("config", os.Getenv("GEWE_BRIDGE_CONFIG"), "config file (default: the embedded example config)")
	dryRun := fs.Bool("dry-run", false, dryRunUsage)
	lf := addLogFlags(fs)
	if fs.Parse(args) != nil {
		return 2
	}
	log := lf.logger(stderr)
	slog.SetDefault(log)
	serve.TuneGC()
	load := bridge.LoadConfig(*config, defaultConfig, os.Getenv, dryRunOption(*dryRun)...)
	metrics := bridge.NewMetrics()
	svc, closeStore, err := open(load, log, metrics)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	defer closeStore()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go reloadOnSignalOrChange(ctx, svc, *config, log)
	cfg := svc.Config()
	log.Info("gewe-bridge listening", "addr", cfg.Server.Listen, "config", cfg.File, "rules", len(cfg.Rules), "dry_run", cfg.DryRun)
	if err := svc.Run(ctx); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	log.Info("stopped cleanly")
	return 0
}

const dryRunUsage = "log messages and keep them as dry_run instead of sending them (as gewe.dry_run: true)"

// dryRunOption is the load option of the -dry-run flag.
func dryRunOption(dryRun bool) []rules.LoadOption {
	if dryRun {
		return []rules.LoadOption{rules.ForceDryRun()}
	}
	return nil
}

// open loads the config and builds the service it describes.
func open(load bridge.Loader, log *slog.Logger, m *bridge.Metrics) (*bridge.Service, func() error, error) {
	rs, probs := load()
	for _, p := range probs.Warnings() {
		log.Warn(p.String())
	}
	if err := probs.Err(); err != nil {
		return nil, nil, err
	}
	return serve.Open(rs, load, log, m)
}

// reloadOnSignalOrChange reloads the config on SIGHUP and when the file
// changes on disk (checked every two seconds: no watcher dependency, and
// it also sees a ConfigMap's symlink swap).
func reloadOnSignalOrChange(ctx context.Context, svc *bridge.Service, path string, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	stamp := func() string {
		fi, err := os.Stat(path)
		if err != nil {
			return ""
		}
		return fmt.Sprint(fi.ModTime().UnixNano(), fi.Size())
	}
	last := ""
	if path != "" {
		last = stamp()
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			log.Info("SIGHUP: reloading the config")
			_ = svc.Reload()
		case <-tick.C:
			if path == "" {
				continue
			}
			if now := stamp(); now != last && now != "" {
				last = now
				log.Info("config file changed: reloading")
				_ = svc.Reload()
			}
		}
	}
}

func check(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	config := fs.String("config", "", "config file to check (required)")
	dryRun := fs.Bool("dry-run", false, "check the config as serve -dry-run would run it")
	if fs.Parse(args) != nil {
		return 2
	}
	if *config == "" && fs.NArg() == 1 {
		*config = fs.Arg(0)
	}
	if *config == "" {
		fmt.Fprintln(stderr, "check: -config is required")
		return 2
	}
	rs, probs := rules.LoadFile(*config, os.Getenv, dryRunOption(*dryRun)...)
	for _, p := range probs {
		fmt.Fprintln(stderr, p)
	}
	if probs.Err() != nil {
		fmt.Fprintf(stderr, "%s: %d problem(s)\n", *config, len(probs)-len(probs.Warnings()))
		return 1
	}
	cfg := rs.Config()
	fmt.Fprintf(stdout, "%s: OK: %d sources, %d rules, %d templates, %d contacts", *config, len(cfg.Sources), len(cfg.Rules), len(cfg.Templates), len(cfg.Contacts))
	if cfg.DryRun {
		fmt.Fprint(stdout, " (dry-run: messages are logged, never sent)")
	}
	fmt.Fprintln(stdout)
	return 0
}

type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

// testCmd shows what the rules do with one payload, sending nothing.
func testCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	config := fs.String("config", "", "config file (default: the embedded example config)")
	sourceName := fs.String("source", "", "source name from the config (required)")
	event := fs.String("event", "", "event name: X-GitHub-Event for github, X-Event for generic")
	asJSON := fs.Bool("json", false, "print the trace as JSON")
	var headers headerFlags
	fs.Var(&headers, "H", "extra request header 'Name: value' (repeatable)")
	if fs.Parse(args) != nil {
		return 2
	}
	if *sourceName == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "test: need -source NAME and one payload file (- for standard input)")
		return 2
	}
	// test sends nothing: it needs no gewe.token.
	rs, probs := bridge.LoadConfig(*config, defaultConfig, os.Getenv, rules.ForceDryRun())()
	if probs.Err() != nil {
		fmt.Fprintln(stderr, probs.Error())
		return 1
	}
	src, ok := rs.Config().Sources[*sourceName]
	if !ok {
		fmt.Fprintf(stderr, "test: no source %q in the config\n", *sourceName)
		return 1
	}
	body, err := readInput(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "test:", err)
		return 1
	}
	req := &adapters.Request{Source: *sourceName, ContentType: "application/json", Headers: map[string]string{}, Body: body}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Headers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	// Credentials are not checked here: the receivers get none.
	var recv adapters.Receiver
	switch src.Type {
	case "github":
		req.Headers["x-github-event"] = *event
		if req.Headers["x-github-delivery"] == "" {
			req.Headers["x-github-delivery"] = "test"
		}
		recv = github.New(github.Config{})
	case "alertmanager":
		recv = alertmanager.New(alertmanager.Config{})
	default:
		if *event != "" {
			req.Headers["x-event"] = *event
		}
		recv = generic.New(generic.Config{})
	}
	ev, err := recv.Receive(req)
	if err != nil {
		fmt.Fprintln(stderr, "test: the payload is refused:", err)
		return 1
	}
	tr := rs.Trace(ev)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(tr)
		return 0
	}
	printTrace(stdout, tr)
	return 0
}

func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

func printTrace(w io.Writer, tr *rules.Trace) {
	fmt.Fprintf(w, "event: source=%s event=%s", tr.Source, tr.Event)
	if tr.Action != "" {
		fmt.Fprintf(w, " action=%s", tr.Action)
	}
	fmt.Fprintf(w, "\n\nrules:\n")
	for _, r := range tr.Rules {
		fmt.Fprintf(w, "  %-12s %s\n", r.Verdict, r.Name)
		if r.Error != "" {
			fmt.Fprintf(w, "               %s: %s\n", r.Stage, strings.ReplaceAll(r.Error, "\n", "\n               "))
		}
		if r.Verdict == rules.Matched {
			fmt.Fprintf(w, "               to=%v at=%v template=%s\n", r.To, r.At, r.Template)
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "               note: %s\n", n)
		}
	}
	fmt.Fprintf(w, "\nmessages (%d, nothing sent):\n", len(tr.Messages))
	for i, m := range tr.Messages {
		fmt.Fprintf(w, "--- %d: to %s (rule %s)", i+1, m.To, m.Rule)
		if len(m.At) > 0 {
			fmt.Fprintf(w, " at %v", m.At)
		}
		fmt.Fprintln(w)
		if m.XML != "" {
			fmt.Fprintln(w, m.XML)
		} else {
			fmt.Fprintln(w, m.Text)
		}
	}
}

// messages calls a running service's admin API.
func messages(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("messages", flag.ContinueOnError)
	url := fs.String("url", envOr("GEWE_BRIDGE_URL", "http://127.0.0.1:8080"), "the service's base URL")
	token := fs.String("token", os.Getenv("ADMIN_TOKEN"), "server.admin_token (default $ADMIN_TOKEN)")
	state := fs.String("state", "", "list: pending, sent, dead or dry_run")
	limit := fs.Int("limit", 50, "list: how many")
	if fs.Parse(args) != nil {
		return 2
	}
	var method, path string
	switch sub := fs.Arg(0); {
	case sub == "list":
		method, path = http.MethodGet, fmt.Sprintf("/api/v1/messages?state=%s&limit=%d", *state, *limit)
	case (sub == "show" || sub == "retry") && fs.NArg() == 2:
		method, path = http.MethodGet, "/api/v1/messages/"+fs.Arg(1)
		if sub == "retry" {
			method, path = http.MethodPost, path+"/retry"
		}
	default:
		fmt.Fprintln(stderr, "usage: gewe-bridge messages [-url U] [-token T] list [-state S] | show ID | retry ID")
		return 2
	}
	req, _ := http.NewRequest(method, strings.TrimRight(*url, "/")+path, nil)
	req.Header.Set("Authorization", "Bearer "+*token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "messages:", err)
		return 1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	var pretty any
	if json.Unmarshal(b, &pretty) == nil {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(pretty)
	} else {
		stdout.Write(b)
	}
	if resp.StatusCode >= 300 {
		return 1
	}
	return 0
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// healthcheck is for container HEALTHCHECKs, where there is no curl.
func healthcheck(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	url := fs.String("url", envOr("GEWE_BRIDGE_URL", "http://127.0.0.1:8080"), "the service's base URL")
	if fs.Parse(args) != nil {
		return 2
	}
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Get(strings.TrimRight(*url, "/") + "/-/ready")
	if err != nil {
		fmt.Fprintln(stderr, "healthcheck:", err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "healthcheck: /-/ready answered", resp.Status)
		return 1
	}
	return 0
}
