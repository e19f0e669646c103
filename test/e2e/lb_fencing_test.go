package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/test/framework"
)

// TestVIPFencingWhenTheLeaderLosesTheAPIServer black-holes the VIP leader's traffic to the
// API server inside its network namespace while its link stays up (it still answers ARP
// and the client's connections). The leader cannot renew its Lease, so it must remove
// the address before its Lease lapses and another node takes over: at no moment do two
// namespaces carry the VIP, every address change observed through the kernel's own
// notifications. When its traffic comes back, the old leader must not take the VIP back,
// and the VIP ends on exactly one other node.
func TestVIPFencingWhenTheLeaderLosesTheAPIServer(t *testing.T) {
	w := startLBWorldWith(t, "lb-fencing", "--v=3")
	successorOf := func(ns string) string { return "lb-node-" + strings.TrimPrefix(ns, "vipn-") }
	w.pool(t, "lan", "10.77.0.200-10.77.0.205")
	w.service(t, "web")
	const vip = "10.77.0.200"
	w.waitService(t, "web", "no ingress", func(s *corev1.Service) bool { return ingress(s) == vip })
	l := startVIPLAN(t, w)
	leader := announcer(t, w, "web", "")
	if !framework.WaitFor(10*time.Second, 100*time.Millisecond, func() bool { return l.seg.HasAddress(nsOf(leader), vip) }) {
		t.Fatalf("the announcing node %s does not carry %s", leader, vip)
	}
	var namespaces []string
	for _, n := range w.nodes {
		namespaces = append(namespaces, nsOf(n))
	}
	watch, err := l.seg.WatchAddress(vip, namespaces...)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	probe := startProber(t, l.seg, vip+":8080")
	if a := probe.waitAnswer(t, time.Now(), "", 20*time.Second); a.node != leader {
		t.Fatalf("the client reached %s, want the announcing node %s", a.node, leader)
	}
	time.Sleep(time.Second) // steady state: renewals every 500 ms

	cut := time.Now()
	restore, err := l.seg.Blackhole(nsOf(leader), l.seg.HostIP)
	if err != nil {
		t.Fatal(err)
	}
	restored := false
	defer func() {
		if !restored {
			_ = restore()
		}
	}()
	var successor string
	if !framework.WaitFor(30*time.Second, 20*time.Millisecond, func() bool {
		for _, ns := range watch.HoldersAt(time.Now()) {
			if ns != nsOf(leader) {
				successor = successorOf(ns)
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no other node carries %s 30s after %s lost the API server (holders %v)", vip, leader, watch.HoldersAt(time.Now()))
	}
	var dropped, taken time.Time
	for _, e := range watch.Events() {
		if e.At.Before(cut) {
			continue
		}
		if e.NS == nsOf(leader) && !e.Added && dropped.IsZero() {
			dropped = e.At
		}
		if e.NS != nsOf(leader) && e.Added && taken.IsZero() {
			taken = e.At
		}
	}
	a := probe.waitAnswer(t, cut, leader, 20*time.Second)
	// The old leader stays cut off for a while: it must stay silent.
	time.Sleep(8 * time.Second)
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	restored = true
	back := time.Now()
	time.Sleep(8 * time.Second) // it catches up with the Lease it lost

	if o := watch.Overlaps(); len(o) > 0 {
		t.Errorf("more than one node carried %s: %s", vip, strings.Join(o, "; "))
	}
	if h := watch.HoldersAt(time.Now()); !slices.Equal(h, []string{nsOf(successor)}) {
		t.Errorf("at the end %v carry %s, want only %s", h, vip, nsOf(successor))
	}
	for _, e := range watch.Events() {
		if e.At.After(back) && e.NS == nsOf(leader) && e.Added {
			t.Errorf("%s took %s back at %s, after its API traffic returned", leader, vip, e.At.Format("15:04:05.000"))
		}
	}
	if a.node != successor {
		t.Errorf("the client reached %s, the address is on %s", a.node, successor)
	}
	if mac := l.seg.Neighbor("vipc", vip); mac != l.macs[successor] {
		t.Errorf("the client's ARP entry for %s is %q, want %s's %s", vip, mac, successor, l.macs[successor])
	}
	gap := probe.longestGap(cut, a.at.Add(200*time.Millisecond))
	if dropped.IsZero() || taken.IsZero() {
		t.Fatalf("no removal (%v) or no takeover (%v) seen", dropped, taken)
	}
	bench("vip_blackhole_leader_removed_seconds", dropped.Sub(cut).Seconds(), "s")
	bench("vip_blackhole_takeover_seconds", taken.Sub(cut).Seconds(), "s")
	bench("vip_blackhole_unreachable_seconds", gap.Seconds(), "s")
	t.Logf("%s lost the API server: it removed %s after %s, %s added it after %s (%s with no holder), the client reached %s after %s and was unreachable for at most %s",
		leader, vip, dropped.Sub(cut).Round(time.Millisecond), successor, taken.Sub(cut).Round(time.Millisecond),
		taken.Sub(dropped).Round(time.Millisecond), a.node, a.at.Sub(cut).Round(time.Millisecond), gap.Round(time.Millisecond))
}
