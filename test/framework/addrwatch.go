package framework

import (
	"bufio"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// AddrEvent is one change of an address in a namespace.
type AddrEvent struct {
	At    time.Time
	NS    string
	Addr  string
	Added bool
}

// AddrWatch follows addresses on eth0 of several namespaces through the kernel's address
// notifications (`ip monitor`), each stamped when it arrives.
type AddrWatch struct {
	match  func(addr string) bool
	mu     sync.Mutex
	start  map[string]map[string]bool // address → namespace → carried at the start
	events []AddrEvent
	cmds   []*exec.Cmd
	wg     sync.WaitGroup
}

// WatchAddress starts following ip in the namespaces.
func (s *Segment) WatchAddress(ip string, namespaces ...string) (*AddrWatch, error) {
	return s.WatchAddresses(func(a string) bool { return a == ip }, namespaces...)
}

// WatchAddresses starts following every address match accepts in the namespaces.
func (s *Segment) WatchAddresses(match func(addr string) bool, namespaces ...string) (*AddrWatch, error) {
	w := &AddrWatch{match: match, start: map[string]map[string]bool{}}
	for _, ns := range namespaces {
		cmd := exec.Command("ip", "-n", ns, "-o", "monitor", "address")
		out, err := cmd.StdoutPipe()
		if err != nil {
			w.Close()
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			w.Close()
			return nil, err
		}
		w.cmds = append(w.cmds, cmd)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				a := lineAddress(line)
				if a == "" || !match(a) {
					continue
				}
				w.mu.Lock()
				w.events = append(w.events, AddrEvent{At: time.Now(), NS: ns, Addr: a, Added: !strings.HasPrefix(line, "Deleted")})
				w.mu.Unlock()
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // the monitors subscribe
	for _, ns := range namespaces {
		out, _ := exec.Command("ip", "-n", ns, "-o", "addr", "show", "dev", "eth0").Output()
		for _, line := range strings.Split(string(out), "\n") {
			if a := lineAddress(line); a != "" && match(a) {
				w.holders(w.start, a)[ns] = true
			}
		}
	}
	return w, nil
}

// lineAddress is the address (without prefix length) of an `ip -o addr` or `ip -o
// monitor address` line, or "".
func lineAddress(line string) string {
	f := strings.Fields(line)
	for i, x := range f {
		if (x == "inet" || x == "inet6") && i+1 < len(f) {
			a, _, _ := strings.Cut(f[i+1], "/")
			return a
		}
	}
	return ""
}

func (w *AddrWatch) holders(m map[string]map[string]bool, addr string) map[string]bool {
	if m[addr] == nil {
		m[addr] = map[string]bool{}
	}
	return m[addr]
}

// Events returns the changes so far.
func (w *AddrWatch) Events() []AddrEvent {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.events)
}

// replay returns, address by address, who carried it after the events up to t, calling
// step after each event with the state it made.
func (w *AddrWatch) replay(t time.Time, step func(e AddrEvent, has map[string]bool)) map[string]map[string]bool {
	w.mu.Lock()
	state := map[string]map[string]bool{}
	for a, m := range w.start {
		for ns, ok := range m {
			w.holders(state, a)[ns] = ok
		}
	}
	events := slices.Clone(w.events)
	w.mu.Unlock()
	for _, e := range events {
		if !t.IsZero() && e.At.After(t) {
			break
		}
		w.holders(state, e.Addr)[e.NS] = e.Added
		if step != nil {
			step(e, state[e.Addr])
		}
	}
	return state
}

// HoldersAt returns the namespaces that carried a watched address at t.
func (w *AddrWatch) HoldersAt(t time.Time) []string {
	var out []string
	for _, m := range w.replay(t, nil) {
		for ns, ok := range m {
			if ok && !slices.Contains(out, ns) {
				out = append(out, ns)
			}
		}
	}
	slices.Sort(out)
	return out
}

// HoldersOf returns the namespaces that carry addr now.
func (w *AddrWatch) HoldersOf(addr string) []string {
	var out []string
	for ns, ok := range w.replay(time.Time{}, nil)[addr] {
		if ok {
			out = append(out, ns)
		}
	}
	slices.Sort(out)
	return out
}

// Overlaps returns every stretch of time in which more than one namespace carried the
// same address, as "address from +duration: namespaces".
func (w *AddrWatch) Overlaps() []string {
	carriers := func(has map[string]bool) (who []string) {
		for ns, ok := range has {
			if ok {
				who = append(who, ns)
			}
		}
		slices.Sort(who)
		return who
	}
	type open struct {
		since time.Time
		who   []string
	}
	var out []string
	opened := map[string]*open{}
	w.mu.Lock()
	for a, m := range w.start {
		if who := carriers(m); len(who) > 1 {
			opened[a] = &open{who: who}
		}
	}
	w.mu.Unlock()
	w.replay(time.Time{}, func(e AddrEvent, has map[string]bool) {
		who, o := carriers(has), opened[e.Addr]
		switch {
		case len(who) > 1 && o == nil:
			opened[e.Addr] = &open{since: e.At, who: who}
		case len(who) <= 1 && o != nil:
			out = append(out, fmt.Sprintf("%s from %s +%s: %s", e.Addr, o.since.Format("15:04:05.000"),
				e.At.Sub(o.since).Round(time.Millisecond), strings.Join(o.who, ",")))
			delete(opened, e.Addr)
		}
	})
	for a, o := range opened {
		out = append(out, fmt.Sprintf("%s from %s until now: %s", a, o.since.Format("15:04:05.000"), strings.Join(o.who, ",")))
	}
	slices.Sort(out)
	return out
}

// Close stops following.
func (w *AddrWatch) Close() {
	for _, c := range w.cmds {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	w.wg.Wait()
}
