package framework

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
)

// Segment is one Ethernet segment: a bridge in the host's network namespace (with HostIP,
// so processes in the namespaces can reach forwarders on the host) and network
// namespaces attached to it by veth pairs, each with eth0. Needs root and iproute2.
type Segment struct {
	Bridge     string
	HostIP     string
	Prefix     int
	namespaces []string
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// NewSegment creates the bridge with hostIP/prefix.
func NewSegment(bridge, hostIP string, prefix int) (*Segment, error) {
	s := &Segment{Bridge: bridge, HostIP: hostIP, Prefix: prefix}
	_ = ipCmd("link", "del", bridge)
	for _, args := range [][]string{
		{"link", "add", bridge, "type", "bridge"},
		{"addr", "add", fmt.Sprintf("%s/%d", hostIP, prefix), "dev", bridge},
		{"link", "set", bridge, "up"},
	} {
		if err := ipCmd(args...); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// AddNamespace creates namespace ns with eth0 on the segment, address ip and, when mac is
// not empty, that MAC address.
func (s *Segment) AddNamespace(ns, ip, mac string) error {
	_ = ipCmd("netns", "del", ns)
	s.namespaces = append(s.namespaces, ns)
	host := "v" + ns
	if len(host) > 15 {
		host = host[:15]
	}
	cmds := [][]string{
		{"netns", "add", ns},
		{"link", "add", host, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"link", "set", host, "master", s.Bridge, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	}
	if mac != "" {
		cmds = append(cmds, []string{"-n", ns, "link", "set", "eth0", "address", mac})
	}
	cmds = append(cmds,
		[]string{"-n", ns, "addr", "add", fmt.Sprintf("%s/%d", ip, s.Prefix), "dev", "eth0"},
		[]string{"-n", ns, "link", "set", "eth0", "up"})
	for _, args := range cmds {
		if err := ipCmd(args...); err != nil {
			return err
		}
	}
	return nil
}

// AddAddress adds cidr (an IPv6 one, say) to eth0 in namespace ns, without duplicate
// address detection, so that it is usable at once.
func (s *Segment) AddAddress(ns, cidr string) error {
	return ipCmd("-n", ns, "addr", "add", cidr, "dev", "eth0", "nodad")
}

// Command runs a program inside namespace ns.
func (s *Segment) Command(ns, bin string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
}

// Neighbor returns the MAC that namespace ns has for ip ("" when none).
func (s *Segment) Neighbor(ns, ip string) string {
	out, err := exec.Command("ip", "-n", ns, "neigh", "show", ip).Output()
	if err != nil {
		return ""
	}
	f := strings.Fields(string(out))
	for i := range f {
		if f[i] == "lladdr" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

// HasAddress reports whether eth0 in namespace ns carries ip.
func (s *Segment) HasAddress(ns, ip string) bool {
	out, err := exec.Command("ip", "-n", ns, "-o", "addr", "show", "dev", "eth0").Output()
	return err == nil && strings.Contains(string(out), " "+ip+"/")
}

// Close removes the namespaces and the bridge.
func (s *Segment) Close() {
	for _, ns := range s.namespaces {
		_ = ipCmd("netns", "del", ns)
	}
	_ = ipCmd("link", "del", s.Bridge)
}

// Forward accepts TCP connections on listen and copies them to target until Close, so
// that processes in network namespaces reach a server bound to 127.0.0.1.
type Forward struct {
	ln net.Listener
	wg sync.WaitGroup
}

// StartForward starts a forwarder.
func StartForward(listen, target string) (*Forward, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	f := &Forward{ln: ln}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				t, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer t.Close()
				go func() { _, _ = io.Copy(t, c); t.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(c, t)
			}()
		}
	}()
	return f, nil
}

// Addr is the forwarder's listening address.
func (f *Forward) Addr() string { return f.ln.Addr().String() }

// Close stops accepting.
func (f *Forward) Close() {
	_ = f.ln.Close()
	f.wg.Wait()
}
