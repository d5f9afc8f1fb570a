// Command readytime measures how long a server takes from exec to its
// readiness endpoint answering 200: it starts the command, polls -url every
// -every, prints the time in milliseconds and the server's RSS at that
// moment, then stops the server with SIGTERM.
//
//	readytime -url http://127.0.0.1:18080/-/ready -- gewe-bridge serve -config rules.yaml
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:18080/-/ready", "readiness URL")
	every := flag.Duration("every", time.Millisecond, "poll interval")
	timeout := flag.Duration("timeout", 30*time.Second, "give up after this")
	flag.Parse()
	if flag.NArg() == 0 {
		log.Fatal("usage: readytime [-url U] -- command args...")
	}
	client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
	for time.Since(start) < *timeout {
		resp, err := client.Get(*url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				d := time.Since(start)
				fmt.Printf("%.1f %d\n", float64(d.Microseconds())/1000, rssKB(cmd.Process.Pid))
				return
			}
		}
		time.Sleep(*every)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	log.Fatalf("not ready after %v", *timeout)
}

// rssKB is VmRSS from /proc/<pid>/status, in kB.
func rssKB(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb int
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
			return kb
		}
	}
	return 0
}
