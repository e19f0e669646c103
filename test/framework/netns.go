package framework

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
)

// Segment is one Ethernet segment: a bridge in a network namespace of its own (named
// like the bridge), a veth to the host's network namespace that carries HostIP (so
// processes in the namespaces can reach forwarders on the host), and network namespaces
// attached to the bridge by veth pairs, each with eth0. Needs root and iproute2.
//
// The bridge lives outside the host's namespace because with br_netfilter loaded
// (bridge-nf-call-iptables=1) bridged frames go through the host's iptables FORWARD
// chain, whose policy dockerd sets to DROP: the segment would go silent on any machine
// that runs docker. In its own namespace the bridge sees no iptables rules at all.
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

// NewSegment creates the bridge, and hostIP/prefix on the host's end of its uplink (an
// interface named like the bridge).
func NewSegment(bridge, hostIP string, prefix int) (*Segment, error) {
	s := &Segment{Bridge: bridge, HostIP: hostIP, Prefix: prefix}
	_ = ipCmd("netns", "del", bridge)
	_ = ipCmd("link", "del", bridge)
	for _, args := range [][]string{
		{"netns", "add", bridge},
		{"-n", bridge, "link", "set", "lo", "up"},
		{"-n", bridge, "link", "add", bridge, "type", "bridge"},
		{"-n", bridge, "link", "set", bridge, "up"},
		{"link", "add", bridge, "type", "veth", "peer", "name", "uplink", "netns", bridge},
		{"-n", bridge, "link", "set", "uplink", "master", bridge, "up"},
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
	port := "v" + ns
	if len(port) > 15 {
		port = port[:15]
	}
	cmds := [][]string{
		{"netns", "add", ns},
		{"-n", s.Bridge, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"-n", s.Bridge, "link", "set", port, "master", s.Bridge, "up"},
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
	_ = ipCmd("netns", "del", s.Bridge)
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

// Blackhole drops all IP traffic between namespace ns and ip (the API server's forwarder
// on the host, say) in both directions, inside the namespace: a blackhole route for what
// it sends and strict reverse-path filtering for what it receives. The link, ARP/NDP and
// traffic with every other address stay up. Connections already open stall (their
// packets vanish), as behind a failed switch port or firewall; new ones fail. The
// returned function restores the traffic.
func (s *Segment) Blackhole(ns, ip string) (func() error, error) {
	rp := func(v string) error {
		out, err := exec.Command("ip", "netns", "exec", ns, "sh", "-c",
			"echo "+v+" > /proc/sys/net/ipv4/conf/all/rp_filter && echo "+v+" > /proc/sys/net/ipv4/conf/eth0/rp_filter").CombinedOutput()
		if err != nil {
			return fmt.Errorf("rp_filter in %s: %v: %s", ns, err, out)
		}
		return nil
	}
	if err := ipCmd("-n", ns, "route", "add", "blackhole", ip); err != nil {
		return nil, err
	}
	if err := rp("1"); err != nil {
		_ = ipCmd("-n", ns, "route", "del", "blackhole", ip)
		return nil, err
	}
	return func() error {
		if err := ipCmd("-n", ns, "route", "del", "blackhole", ip); err != nil {
			return err
		}
		return rp("0")
	}, nil
}
