// Command profbridge is the bridge's "serve" with net/http/pprof on a second
// loopback port, for profiling under load (the product has no pprof
// endpoint). It builds the service with bridge.Open, as `gewe-bridge serve`
// does (GC settings included), minus the config file watcher.
//
//	profbridge -config rules.yaml -pprof 127.0.0.1:16060
//	go tool pprof -top http://127.0.0.1:16060/debug/pprof/profile?seconds=10
//
// With -startprofile FILE it CPU-profiles the start (config load, store
// open, service build) into FILE and prints how long each phase took.
package main

import (
	"context"
	"flag"
	"log/slog"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/gewe-bridge/gewe-bridge/bridge"
	"github.com/gewe-bridge/gewe-bridge/bridge/metrics"
)

func main() {
	config := flag.String("config", "", "config file (required)")
	pprofAddr := flag.String("pprof", "127.0.0.1:16060", "net/http/pprof listen address")
	level := flag.String("log.level", "warn", "log level")
	startProfile := flag.String("startprofile", "", "CPU-profile the start into this file and print the phases' durations")
	flag.Parse()
	if *startProfile != "" {
		f, err := os.Create(*startProfile)
		if err != nil {
			panic(err)
		}
		_ = pprof.StartCPUProfile(f)
		stopStartProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(*level))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(log)
	if err := run(*config, *pprofAddr, log); err != nil {
		log.Error("profbridge", "err", err)
		os.Exit(1)
	}
}

var stopStartProfile = func() {}

func run(config, pprofAddr string, log *slog.Logger) error {
	go func() { log.Error("pprof", "err", http.ListenAndServe(pprofAddr, nil)) }()
	phase := time.Now()
	var phases []any
	mark := func(name string) {
		now := time.Now()
		phases = append(phases, name, now.Sub(phase).Round(100*time.Microsecond))
		phase = now
	}
	load := bridge.LoadConfig(config, nil, os.Getenv)
	rs, probs := load()
	mark("load_config")
	if err := probs.Err(); err != nil {
		return err
	}
	bridge.TuneGC()
	svc, closeStore, err := bridge.Open(rs, load, log, metrics.New(), "profbridge")
	if err != nil {
		return err
	}
	defer closeStore()
	mark("open_store_and_service")
	stopStartProfile()
	log.Warn("start phases (the listener and the first /-/ready follow)", phases...)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return svc.Run(ctx)
}
