// Command gewe-bridge turns webhooks (Alertmanager, GitHub, any JSON) into
// WeChat messages sent through the GeWe API, routed by rules in one YAML
// file. See README.md.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // time zones in a static binary without /usr/share/zoneinfo

	"github.com/alecthomas/kingpin/v2"
	"github.com/gewe-bridge/gewe-bridge/adapters"
	"github.com/gewe-bridge/gewe-bridge/adapters/gewe"
	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/bridge/metrics"
	"github.com/gewe-bridge/gewe-bridge/bridge/outbox"
	"github.com/gewe-bridge/gewe-bridge/rules"
	"github.com/gewe-bridge/gewe-bridge/rules/config"
)

//go:embed rules.example.yaml
var defaultConfig []byte

var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// cli is the parsed command line.
type cli struct {
	logFormat, logLevel string

	serve struct {
		config string
		dryRun bool
	}
	check struct {
		config string
		dryRun bool
		online bool
	}
	test struct {
		config, source, event string
		headers               []string
		json                  bool
		payload               string
		at                    string
	}
	oncall struct {
		config, at string
		shifts     int
	}
	messages struct {
		url, token, state string
		limit             int
		id                string
		force             bool
	}
	healthcheck struct{ url string }
}

// newApp declares the commands and flags. Flags are long (--config) and may
// come before or after the arguments; a single dash (-config) is accepted
// too, as older versions documented.
func newApp(c *cli, stdout, stderr io.Writer) *kingpin.Application {
	app := kingpin.New("gewe-bridge", "gewe-bridge turns webhooks (Alertmanager, GitHub, any JSON) into WeChat messages sent through the GeWe API.")
	app.Writer(stdout)
	app.ErrorWriter(stderr)
	app.Version(version)
	app.HelpFlag.Short('h')
	app.Flag("log.format", "Log format: text or json.").Default("text").EnumVar(&c.logFormat, "text", "json")
	app.Flag("log.level", "Log level: debug, info, warn or error.").Default("info").EnumVar(&c.logLevel, "debug", "info", "warn", "error")

	serve := app.Command("serve", "Run the service (without --config: the embedded example config).")
	serve.Flag("config", "Config file.").Envar("GEWE_BRIDGE_CONFIG").StringVar(&c.serve.config)
	serve.Flag("dry-run", "Log messages and keep them as dry_run instead of sending them (as gewe.dry_run: true).").BoolVar(&c.serve.dryRun)

	check := app.Command("check", "Validate a config: errors and warnings with file:line:column; exit status 0 when valid.")
	check.Flag("config", "Config file to check.").StringVar(&c.check.config)
	check.Arg("file", "Config file to check (instead of --config).").StringVar(&c.check.config)
	check.Flag("dry-run", "Check the config as serve --dry-run would run it.").BoolVar(&c.check.dryRun)
	check.Flag("online", "Also ask GeWe whether base_url/api, token and app_id are right and the account is logged in (sends no message).").BoolVar(&c.check.online)

	test := app.Command("test", "Show what the rules do with one payload; sends nothing. Exits 1 when a rule or template fails.")
	test.Flag("config", "Config file (default: the embedded example config).").StringVar(&c.test.config)
	test.Flag("source", "Source name from the config.").Required().StringVar(&c.test.source)
	test.Flag("event", "Event name: X-GitHub-Event for github, X-Event for generic.").StringVar(&c.test.event)
	test.Flag("header", "Extra request header 'Name: value' (repeatable).").Short('H').StringsVar(&c.test.headers)
	test.Flag("json", "Print the trace as JSON.").BoolVar(&c.test.json)
	test.Flag("at", "Evaluate rules, schedules and quiet hours as if it were this time (2026-12-05T03:00:00+08:00, or 2026-12-05T03:00 in timezone).").StringVar(&c.test.at)
	test.Arg("payload", "Payload file, or - for standard input.").Required().StringVar(&c.test.payload)

	oc := app.Command("oncall", "Print who is on call in each schedule, and the next handoffs.")
	oc.Flag("config", "Config file (default: the embedded example config).").StringVar(&c.oncall.config)
	oc.Flag("at", "Show the schedules as of this time instead of now.").StringVar(&c.oncall.at)
	oc.Flag("shifts", "How many shifts to show per schedule, the current one included.").Default("4").IntVar(&c.oncall.shifts)

	msgs := app.Command("messages", "Read or retry messages through a running service's admin API.")
	msgs.Flag("url", "The service's base URL.").Envar("GEWE_BRIDGE_URL").Default("http://127.0.0.1:8080").StringVar(&c.messages.url)
	msgs.Flag("token", "server.admin_token.").Envar("ADMIN_TOKEN").StringVar(&c.messages.token)
	// list's flags are the command's, so that they may come before "list"
	// as older versions documented.
	msgs.Flag("state", "list: only messages in this state.").EnumVar(&c.messages.state, messageStates...)
	msgs.Flag("limit", "list: how many.").Default("50").IntVar(&c.messages.limit)
	msgs.Command("list", "List messages, newest first.")
	show := msgs.Command("show", "Show a message with every attempt.")
	show.Arg("id", "Message id.").Required().StringVar(&c.messages.id)
	retry := msgs.Command("retry", "Queue a dead message again (a sent one only with --force).")
	retry.Arg("id", "Message id.").Required().StringVar(&c.messages.id)
	retry.Flag("force", "Send it again even if it was sent.").BoolVar(&c.messages.force)

	hc := app.Command("healthcheck", "Exit 0 when /-/ready answers 200 (for container HEALTHCHECKs).")
	hc.Flag("url", "The service's base URL.").Envar("GEWE_BRIDGE_URL").Default("http://127.0.0.1:8080").StringVar(&c.healthcheck.url)

	app.Command("version", "Print the version.")
	return app
}

// messageStates are the states `messages list --state` takes.
var messageStates = []string{outbox.StatePending, outbox.StateSent, outbox.StateDead, outbox.StateDryRun}

func run(args []string, stdout, stderr io.Writer) int {
	var c cli
	app := newApp(&c, stdout, stderr)
	if len(args) == 0 {
		app.Writer(stderr)
		app.Usage(nil)
		return 2
	}
	cmd, exited, err := parse(app, longFlags(app, args))
	if exited >= 0 {
		return exited
	}
	if err != nil {
		fmt.Fprintf(stderr, "gewe-bridge: %v (see gewe-bridge --help)\n", err)
		return 2
	}
	switch cmd {
	case "serve":
		return serveCmd(&c, stderr)
	case "check":
		return checkCmd(&c, stdout, stderr)
	case "test":
		return testCmd(&c, stdout, stderr)
	case "oncall":
		return oncallCmd(&c, stdout, stderr)
	case "messages list", "messages show", "messages retry":
		return messagesCmd(&c, strings.TrimPrefix(cmd, "messages "), stdout, stderr)
	case "healthcheck":
		return healthcheck(&c, stderr)
	case "version":
		fmt.Fprintln(stdout, "gewe-bridge", version)
		return 0
	}
	fmt.Fprintln(stderr, "gewe-bridge: no command (see gewe-bridge --help)")
	return 2
}

// terminated is how parse stops kingpin after --help or --version.
type terminated struct{ code int }

// parse is app.Parse, but --help and --version return their exit status
// (exited >= 0) instead of ending the process, so that run can be tested.
func parse(app *kingpin.Application, args []string) (cmd string, exited int, err error) {
	app.Terminate(func(code int) { panic(terminated{code}) })
	defer func() {
		if r := recover(); r != nil {
			t, ok := r.(terminated)
			if !ok {
				panic(r)
			}
			exited = t.code
		}
	}()
	cmd, err = app.Parse(args)
	return cmd, -1, err
}

// longFlags turns the single-dash long flags older versions documented
// (-config x, -log.format=json) into the double-dash ones kingpin parses:
// only the app's own flag names, so that a value such as "-x-y" is left
// as it is. Single letters (-h, -H) are short flags and stay; so does
// everything after "--".
func longFlags(app *kingpin.Application, args []string) []string {
	known := map[string]bool{}
	var add func(flags []*kingpin.FlagModel, cmds []*kingpin.CmdModel)
	add = func(flags []*kingpin.FlagModel, cmds []*kingpin.CmdModel) {
		for _, f := range flags {
			known[f.Name] = true
		}
		for _, c := range cmds {
			add(c.Flags, c.Commands)
		}
	}
	m := app.Model()
	add(m.Flags, m.Commands)
	out := make([]string, 0, len(args))
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if name, _, _ := strings.Cut(strings.TrimPrefix(a, "-"), "="); len(a) > 2 && a[0] == '-' && a[1] != '-' && len(name) > 1 && known[name] {
			a = "-" + a
		}
		out = append(out, a)
	}
	return out
}

func (c *cli) logger(w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.logLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func serveCmd(c *cli, stderr io.Writer) int {
	file := &c.serve.config
	log := c.logger(stderr)
	slog.SetDefault(log)
	bridge.TuneGC()
	load := bridge.LoadConfig(*file, defaultConfig, os.Getenv, dryRunOption(c.serve.dryRun)...)
	metrics := metrics.New()
	metrics.SetBuildInfo(version)
	svc, closeStore, err := open(load, log, metrics)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	defer closeStore()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go reloadOnSignalOrChange(ctx, svc, *file, log)
	cfg := svc.Config()
	log.Info("gewe-bridge listening", "addr", cfg.Server.Listen, "config", cfg.File, "rules", len(cfg.Rules), "dry_run", cfg.DryRun)
	if err := svc.Run(ctx); err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	log.Info("stopped cleanly")
	return 0
}

// dryRunOption is the load option of the --dry-run flag.
func dryRunOption(dryRun bool) []config.LoadOption {
	if dryRun {
		return []config.LoadOption{config.ForceDryRun()}
	}
	return nil
}

// open loads the config and builds the service it describes.
func open(load bridge.Loader, log *slog.Logger, m *metrics.Metrics) (*bridge.Service, func() error, error) {
	rs, probs := load()
	for _, p := range probs.Warnings() {
		log.Warn(p.String())
	}
	if err := probs.Err(); err != nil {
		return nil, nil, err
	}
	return bridge.Open(rs, load, log, m, version)
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

func checkCmd(c *cli, stdout, stderr io.Writer) int {
	file := &c.check.config
	if *file == "" {
		fmt.Fprintln(stderr, "check: --config (or a file argument) is required")
		return 2
	}
	rs, probs := rules.LoadFile(*file, os.Getenv, dryRunOption(c.check.dryRun)...)
	for _, p := range probs {
		fmt.Fprintln(stderr, p)
	}
	if probs.Err() != nil {
		fmt.Fprintf(stderr, "%s: %d problem(s)\n", *file, len(probs)-len(probs.Warnings()))
		return 1
	}
	cfg := rs.Config()
	fmt.Fprintf(stdout, "%s: OK: %d sources, %d rules, %d templates, %d contacts", *file, len(cfg.Sources), len(cfg.Rules), len(cfg.Templates), len(cfg.Contacts))
	if cfg.DryRun {
		fmt.Fprint(stdout, " (dry-run: messages are logged, never sent)")
	}
	fmt.Fprintln(stdout)
	if c.check.online {
		return checkOnline(cfg, stdout, stderr)
	}
	return 0
}

// checkOnline asks GeWe whether the config's gewe settings work, one line
// per setting, and fails when one is wrong.
func checkOnline(cfg *config.Config, stdout, stderr io.Writer) int {
	gc := bridge.GeweConfig(cfg.Gewe)
	if err := gc.Validate(); err != nil {
		fmt.Fprintln(stderr, "check --online:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := gewe.New(gc, nil).Check(ctx)
	fmt.Fprintln(stdout, res.String())
	if !res.OK() {
		fmt.Fprintln(stderr, "check --online: GeWe refused a setting (see above)")
		return 1
	}
	return 0
}

// testCmd shows what the rules do with one payload, sending nothing.
func testCmd(c *cli, stdout, stderr io.Writer) int {
	file, sourceName, event, headers := &c.test.config, &c.test.source, &c.test.event, c.test.headers
	// test sends nothing: it needs no gewe.token.
	rs, probs := loadAt(*file, c.test.at, config.ForceDryRun())
	if probs.Err() != nil {
		fmt.Fprintln(stderr, probs.Error())
		return 1
	}
	sc, ok := rs.Config().Sources[*sourceName]
	if !ok {
		fmt.Fprintf(stderr, "test: no source %q in the config\n", *sourceName)
		return 1
	}
	body, err := readInput(c.test.payload)
	if err != nil {
		fmt.Fprintln(stderr, "test:", err)
		return 1
	}
	req := &adapters.Request{Source: *sourceName, ContentType: "application/json", Headers: map[string]string{}, Body: body}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Headers[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	// Credentials are not checked here: nothing is sent.
	src := bridge.NewSource(*sourceName, sc, rs.Config().Limits, bridge.NoCredentials)
	if *event != "" && src.EventHeader != "" {
		req.Headers[src.EventHeader] = *event
	}
	if src.DeliveryHeader != "" && req.Headers[src.DeliveryHeader] == "" {
		req.Headers[src.DeliveryHeader] = "test"
	}
	ev, err := src.Receiver.Receive(req)
	if err != nil {
		fmt.Fprintln(stderr, "test: the payload is refused:", err)
		return 1
	}
	tr := rs.Trace(ev)
	if c.test.at != "" && !c.test.json {
		fmt.Fprintf(stdout, "at: %s\n", rs.Now().Format(time.RFC3339))
	}
	if c.test.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(tr)
	} else {
		printTrace(stdout, tr)
	}
	// For CI: a rule or template that fails is a failed test.
	failed := 0
	for _, r := range tr.Rules {
		if r.Error != "" {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "test: %d rule(s) failed\n", failed)
		return 1
	}
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
		if !m.NotBefore.IsZero() {
			fmt.Fprintf(w, " held until %s (quiet hours)", m.NotBefore.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
		if m.XML != "" {
			fmt.Fprintln(w, m.XML)
		} else {
			fmt.Fprintln(w, m.Text)
		}
	}
}

// messagesCmd calls a running service's admin API.
func messagesCmd(c *cli, sub string, stdout, stderr io.Writer) int {
	m := &c.messages
	var method, path string
	switch sub {
	case "list":
		q := url.Values{"limit": {strconv.Itoa(m.limit)}}
		if m.state != "" {
			q.Set("state", m.state)
		}
		method, path = http.MethodGet, "/api/v1/messages?"+q.Encode()
	case "show":
		method, path = http.MethodGet, "/api/v1/messages/"+url.PathEscape(m.id)
	case "retry":
		method, path = http.MethodPost, "/api/v1/messages/"+url.PathEscape(m.id)+"/retry"
		if m.force {
			path += "?force=true"
		} else if code := refuseSent(c, stderr); code != 0 {
			return code
		}
	}
	base := m.url

	req, _ := http.NewRequest(method, strings.TrimRight(base, "/")+path, nil)
	req.Header.Set("Authorization", "Bearer "+m.token)
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

// refuseSent answers non-zero, with the reason, when the message to retry
// was sent already: sending it again is a duplicate in the chat, so it
// takes --force.
func refuseSent(c *cli, stderr io.Writer) int {
	req, _ := http.NewRequest(http.MethodGet, strings.TrimRight(c.messages.url, "/")+"/api/v1/messages/"+url.PathEscape(c.messages.id), nil)
	req.Header.Set("Authorization", "Bearer "+c.messages.token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintln(stderr, "messages:", err)
		return 1
	}
	defer resp.Body.Close()
	var got struct {
		Message struct {
			State string `json:"state"`
		} `json:"message"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&got) != nil {
		return 0 // the retry call reports what is wrong
	}
	if got.Message.State == outbox.StateSent {
		fmt.Fprintf(stderr, "messages: message %s was sent already; pass --force to send it again\n", c.messages.id)
		return 1
	}
	return 0
}

// healthcheck is for container HEALTHCHECKs, where there is no curl.
func healthcheck(c *cli, stderr io.Writer) int {
	base := c.healthcheck.url
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Get(strings.TrimRight(base, "/") + "/-/ready")
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
