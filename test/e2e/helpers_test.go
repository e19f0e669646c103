package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// runHelper runs the test binary as a helper process when E2E_HELPER says so (in a network
// namespace, where the test itself cannot listen or dial): "echo" answers every TCP
// connection on E2E_LISTEN with E2E_NAME, standing in for kube-proxy delivering to a
// backend; "probe" connects to E2E_TARGET every 50 ms and prints "<unix ns> <answer or ->".
func runHelper() bool {
	switch os.Getenv("E2E_HELPER") {
	case "echo":
		ln, err := net.Listen("tcp", os.Getenv("E2E_LISTEN"))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				os.Exit(1)
			}
			_, _ = fmt.Fprintln(c, os.Getenv("E2E_NAME"))
			_ = c.Close()
		}
	case "probe":
		w := bufio.NewWriter(os.Stdout)
		for t := time.NewTicker(50 * time.Millisecond); ; <-t.C {
			answer := "-"
			if c, err := net.DialTimeout("tcp", os.Getenv("E2E_TARGET"), 45*time.Millisecond); err == nil {
				_ = c.SetReadDeadline(time.Now().Add(45 * time.Millisecond))
				if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
					answer = strings.TrimSpace(line)
				}
				_ = c.Close()
			}
			fmt.Fprintf(w, "%d %s\n", time.Now().UnixNano(), answer)
			_ = w.Flush()
		}
	}
	return false
}

// proc is what the tests need of a running program, supervised or not.
type proc interface {
	Stop()
	Pid() int
	Tail(n int) string
	LogContains(s string) bool
}

func procsOf[T proc](ps ...T) []proc {
	out := make([]proc, 0, len(ps))
	for _, p := range ps {
		out = append(out, p)
	}
	return out
}
