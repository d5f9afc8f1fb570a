// Command fakegewe runs the gewetest fake GeWe server for the load test. The
// fake listens on a random loopback port (it is an httptest server); this
// program puts a reverse proxy in front of it on -addr, so the bridge's
// config can name a fixed address. It expects gewetest.Token and
// gewetest.AppID and answers every valid sendmsg/sendapp with success.
//
// It prints "URL http://..." once listening, and on SIGINT/SIGTERM how many
// requests and messages it received.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe/gewetest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18082", "listen address; empty: print the fake's own random URL and serve only there")
	flag.Parse()

	fake := gewetest.New()
	defer fake.Close()
	base := fake.URL()
	var srv *http.Server
	if *addr != "" {
		target, _ := url.Parse(fake.URL())
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.Transport = &http.Transport{MaxIdleConnsPerHost: 16}
		ln, err := net.Listen("tcp", *addr)
		if err != nil {
			log.Fatal(err)
		}
		srv = &http.Server{Handler: proxy}
		go func() { _ = srv.Serve(ln) }()
		base = "http://" + ln.Addr().String()
	}
	fmt.Println("URL", base)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	if srv != nil {
		_ = srv.Close()
	}
	reqs := fake.Requests()
	delivered := 0
	for _, r := range reqs {
		if r.Delivered {
			delivered++
		}
	}
	fmt.Fprintf(os.Stdout, "fakegewe: %d requests, %d delivered, %d messages\n", len(reqs), delivered, len(fake.Messages()))
}
