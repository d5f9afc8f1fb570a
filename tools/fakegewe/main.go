// Command fakegewe runs the gewetest fake GeWe server on a fixed address, to
// run the bridge locally without a WeChat account (see README, "Local mode")
// and for the load test. It answers both API generations as GeWe does and
// expects the token and app id given by -token and -app-id.
//
// With -show it prints every message it receives as WeChat would show it:
// the chat, the mentions and the text, or a card's title, description and
// link.
//
// It prints "URL http://..." once listening, and on SIGINT/SIGTERM how many
// requests and messages it received.
package main

import (
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gewe-bridge/gewe-bridge/adapters/gewe/gewetest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18082", "listen address; empty: print the fake's own random URL and serve only there")
	token := flag.String("token", gewetest.Token, "the X-GEWE-TOKEN the fake accepts")
	appID := flag.String("app-id", gewetest.AppID, "the appId the fake accepts")
	show := flag.Bool("show", false, "print each message as WeChat would show it")
	flag.Parse()

	fake := gewetest.New()
	defer fake.Close()
	fake.SetToken(*token)
	fake.SetAppID(*appID)
	base := fake.URL()
	var srv *http.Server
	if *addr != "" {
		// The fake is an httptest server on a random port: a reverse proxy
		// gives it the fixed address the bridge's config names.
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
	if *show {
		fmt.Printf("fakegewe: set GEWE_BASE_URL=%s GEWE_TOKEN=%s GEWE_APP_ID=%s (either api: v1 or v2)\n", base, *token, *appID)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *show {
		go showMessages(ctx, fake, os.Stdout)
	}
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

// showMessages prints the messages the fake delivers, as they come.
func showMessages(ctx context.Context, fake *gewetest.Server, w io.Writer) {
	shown := 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		msgs := fake.Messages()
		for _, m := range msgs[shown:] {
			fmt.Fprint(w, render(m))
		}
		shown = len(msgs)
	}
}

// render is a message as a chat shows it.
func render(m gewetest.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- to %s (%s %s)", m.To, m.API, m.Action)
	if len(m.At) > 0 {
		fmt.Fprintf(&b, ", mentions %s", strings.Join(m.At, ", "))
	}
	b.WriteString("\n")
	if m.XML == "" {
		b.WriteString(m.Content)
		b.WriteString("\n")
		return b.String()
	}
	var card struct {
		Title    string `xml:"title"`
		Des      string `xml:"des"`
		Type     string `xml:"type"`
		URL      string `xml:"url"`
		ThumbURL string `xml:"thumburl"`
	}
	if err := xml.Unmarshal([]byte(m.XML), &card); err != nil {
		fmt.Fprintf(&b, "[card that WeChat cannot show: %v]\n%s\n", err, m.XML)
		return b.String()
	}
	fmt.Fprintf(&b, "[card, type %s]\n  %s\n  %s\n  %s\n", card.Type, card.Title, card.Des, card.URL)
	if card.ThumbURL != "" {
		fmt.Fprintf(&b, "  thumbnail %s\n", card.ThumbURL)
	}
	return b.String()
}
