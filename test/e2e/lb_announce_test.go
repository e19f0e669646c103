package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/test/framework"
)

// vipLAN is three node namespaces and a client namespace on one bridge, a TCP listener
// in each node namespace standing in for kube-proxy (it answers with the node's name),
// and a vsphere-node agent per node namespace announcing VIPs.
type vipLAN struct {
	seg    *framework.Segment
	agents map[string]*framework.Process
	macs   map[string]string
	// api is the forwarder through which agents in the namespaces reach the API server;
	// cp makes each node's bound token.
	api   string
	cp    *framework.ControlPlane
	dir   string
	probe *prober
	// t is the announcement test's: agents restarted in a subtest outlive it.
	t *testing.T
}

func startVIPLAN(t *testing.T, w *lbWorld) *vipLAN {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("VIP announcement needs root: it creates network namespaces, a bridge and veth pairs")
	}
	ctx := context.Background()
	bridge, v4, v6, clientNS := "brvip", "10.77.0.", "fd77::", "vipc"
	if w.lan != "" {
		bridge, v4, v6, clientNS = w.lan, w.lan4, w.lan6, w.lan+"c"
	}
	seg, err := framework.NewSegment(bridge, v4+"1", 24)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(seg.Close)
	l := &vipLAN{seg: seg, agents: map[string]*framework.Process{}, macs: map[string]string{}, dir: w.dir, t: t}
	for i, n := range w.nodes {
		// The VM's NIC MAC from its NodeVM: the agent finds the VIP's interface by it.
		var nvm v1alpha1.NodeVM
		if !framework.WaitFor(30*time.Second, 200*time.Millisecond, func() bool {
			return w.crc.Get(ctx, client.ObjectKey{Name: n}, &nvm) == nil && len(nvm.Status.NICs) > 0
		}) {
			t.Fatalf("NodeVM %s has no NICs", n)
		}
		l.macs[n] = strings.ToLower(nvm.Status.NICs[0].MAC)
		if err := seg.AddNamespace(nsOf(n), fmt.Sprintf("%s%d", v4, 11+i), l.macs[n]); err != nil {
			t.Fatal(err)
		}
		helper(t, seg, nsOf(n), "E2E_HELPER=echo", "E2E_NAME="+n, "E2E_LISTEN=:8080")
	}
	if err := seg.AddNamespace(clientNS, v4+"100", ""); err != nil {
		t.Fatal(err)
	}
	for i, n := range append(slices.Clone(w.nodes), clientNS) {
		ns, host := clientNS, "100"
		if n != clientNS {
			ns, host = nsOf(n), strconv.Itoa(11+i)
		}
		if err := seg.AddAddress(ns, v6+host+"/64"); err != nil {
			t.Fatal(err)
		}
	}
	api := strings.TrimPrefix(w.cp.Config.Host, "https://")
	fwd, err := framework.StartForward(v4+"1:0", api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fwd.Close)
	l.api, l.cp = fwd.Addr(), w.cp
	for _, n := range w.nodes {
		l.startAgent(t, n)
	}
	return l
}

func nsOf(node string) string { return "vipn-" + strings.TrimPrefix(node, "lb-node-") }

func (l *vipLAN) startAgent(t *testing.T, node string) {
	t.Helper()
	// The node's own token (bound to a Pod on it), as kubelet projects it: the admission
	// policy lets each agent write only its own Leases.
	kc, err := framework.NodeAgentKubeconfig(context.Background(), l.cp, node)
	if err != nil {
		t.Fatal(err)
	}
	if kc, err = framework.KubeconfigVia(kc, l.api); err != nil {
		t.Fatal(err)
	}
	p, err := framework.Start(l.dir, "vip-agent-"+node, "ip", "netns", "exec", nsOf(node), filepath.Join(framework.BinDir(), "vsphere-node"),
		"--node-name="+node, "--kubeconfig="+kc, "--vip-state-file="+filepath.Join(l.dir, "vip-state-"+node), "--placement-agent=false", "--vip-announce",
		"--dmi-root=/nonexistent", "--metrics-bind-address=0", "--health-probe-bind-address=0", "--v=2")
	if err != nil {
		t.Fatal(err)
	}
	l.agents[node] = p
	t.Cleanup(p.Stop)
}

// helper runs this test binary as a helper process inside a namespace.
func helper(t *testing.T, seg *framework.Segment, ns string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := seg.Command(ns, os.Args[0])
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// prober records the client's view: one answer (node name or "-") every 50 ms.
type prober struct {
	mu      sync.Mutex
	answers []answer
}

type answer struct {
	at   time.Time
	node string
}

func startProber(t *testing.T, seg *framework.Segment, target string) *prober {
	t.Helper()
	cmd := seg.Command("vipc", os.Args[0])
	cmd.Env = append(os.Environ(), "E2E_HELPER=probe", "E2E_TARGET="+target)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p := &prober{}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 2 {
				continue
			}
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			p.mu.Lock()
			p.answers = append(p.answers, answer{at: time.Unix(0, ns), node: f[1]})
			p.mu.Unlock()
		}
	}()
	return p
}

// since returns the answers after t.
func (p *prober) since(t time.Time) []answer {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []answer
	for _, a := range p.answers {
		if a.at.After(t) {
			out = append(out, a)
		}
	}
	return out
}

// waitAnswer waits for an answer after t from a node other than not ("" for any).
func (p *prober) waitAnswer(t *testing.T, after time.Time, not string, d time.Duration) answer {
	t.Helper()
	var got answer
	if !framework.WaitFor(d, 20*time.Millisecond, func() bool {
		for _, a := range p.since(after) {
			if a.node != "-" && a.node != not {
				got = a
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no answer from a node other than %q within %s", not, d)
	}
	return got
}

// longestGap is the longest run of failed probes between from and to.
func (p *prober) longestGap(from, to time.Time) time.Duration {
	var gap, longest time.Duration
	var last time.Time
	for _, a := range p.since(from) {
		if a.at.After(to) {
			break
		}
		if a.node == "-" {
			if !last.IsZero() {
				gap += a.at.Sub(last)
			}
		} else {
			gap = 0
		}
		last = a.at
		longest = max(longest, gap)
	}
	return longest
}

// announcer waits for the Service's Announced condition and returns the node it names.
func announcer(t *testing.T, w *lbWorld, svc string, not string) string {
	t.Helper()
	var node string
	w.waitService(t, svc, "not announced by a node other than "+not, func(s *corev1.Service) bool {
		c := condition(s, v1alpha1.ServiceConditionAnnounced)
		if c == nil || c.Status != metav1.ConditionTrue {
			return false
		}
		for _, n := range w.nodes {
			if strings.Contains(c.Message, "node "+n+" on ESXi host ") && n != not {
				node = n
				return true
			}
		}
		return false
	})
	return node
}

func testAnnouncement(t *testing.T, w *lbWorld) {
	l := startVIPLAN(t, w)
	const vip = "10.77.0.200"
	leader := announcer(t, w, "web", "")
	if !framework.WaitFor(10*time.Second, 100*time.Millisecond, func() bool { return l.seg.HasAddress(nsOf(leader), vip) }) {
		t.Fatalf("the announcing node %s does not carry %s", leader, vip)
	}
	l.probe = startProber(t, l.seg, vip+":8080")
	start := time.Now()
	if a := l.probe.waitAnswer(t, start, "", 20*time.Second); a.node != leader {
		t.Fatalf("the client reached %s, want the announcing node %s", a.node, leader)
	}
	if mac := l.seg.Neighbor("vipc", vip); mac != l.macs[leader] {
		t.Fatalf("the client's ARP entry for %s is %q, want the leader's MAC %s", vip, mac, l.macs[leader])
	}

	t.Run("the leader's agent is killed: another node takes over", func(t *testing.T) {
		killed := time.Now()
		l.agents[leader].Kill()
		a := l.probe.waitAnswer(t, killed, leader, 20*time.Second)
		failover := a.at.Sub(killed)
		bench("vip_failover_seconds", failover.Seconds(), "s")
		t.Logf("failover %s: %s -> %s", failover.Round(10*time.Millisecond), leader, a.node)
		if mac := l.seg.Neighbor("vipc", vip); mac != l.macs[a.node] {
			t.Errorf("after failover the client's ARP entry is %q, want %s's %s", mac, a.node, l.macs[a.node])
		}
		if got := announcer(t, w, "web", leader); got != a.node {
			t.Errorf("Announced names %s, the client reaches %s", got, a.node)
		}
		// The killed agent's address ends with its kernel lifetime: the VIP is not left on
		// two nodes until the agent comes back.
		if !framework.WaitFor(10*time.Second, 100*time.Millisecond, func() bool { return !l.seg.HasAddress(nsOf(leader), vip) }) {
			t.Errorf("the killed %s still carries %s: the VIP is on two nodes", leader, vip)
		}
		// The killed node's agent comes back and carries nothing stale.
		l.startAgent(l.t, leader)
		if !framework.WaitFor(15*time.Second, 100*time.Millisecond, func() bool { return !l.seg.HasAddress(nsOf(leader), vip) }) {
			t.Errorf("restarted %s still carries %s", leader, vip)
		}
		leader = a.node
	})

	t.Run("the leader's ESXi host goes into maintenance: planned handover", func(t *testing.T) {
		var nvm v1alpha1.NodeVM
		if err := w.crc.Get(context.Background(), client.ObjectKey{Name: leader}, &nvm); err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		if err := w.sim.SetHostMaintenance(context.Background(), nvm.Status.Host.Name, true); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.sim.SetHostMaintenance(context.Background(), nvm.Status.Host.Name, false) })
		a := l.probe.waitAnswer(t, begin, leader, 30*time.Second)
		time.Sleep(500 * time.Millisecond)
		gap := l.probe.longestGap(begin, a.at.Add(400*time.Millisecond))
		bench("vip_handover_unreachable_seconds", gap.Seconds(), "s")
		t.Logf("planned handover %s -> %s (host %s), client unreachable for %s", leader, a.node, nvm.Status.Host.Name, gap)
		if l.seg.HasAddress(nsOf(leader), vip) {
			t.Errorf("%s still carries %s after handing it over", leader, vip)
		}
	})
	t.Run("IPv6: the client's neighbour entry follows the leader (NDP)", func(t *testing.T) { testAnnouncementIPv6(t, w, l) })
	t.Run("externalTrafficPolicy Local: only a node with a ready endpoint announces, and the VIP follows the endpoint", func(t *testing.T) {
		testAnnouncementLocal(t, w, l)
	})
	t.Run("dual-stack: the IPv4 and the IPv6 address are both allocated, announced and reached", func(t *testing.T) {
		testAnnouncementDualStack(t, w, l)
	})
	var peak int64
	for _, p := range l.agents {
		if rss, err := p.PeakRSSBytes(); err == nil {
			peak = max(peak, rss)
		}
	}
	bench("vsphere_node_vip_agent_peak_rss", float64(peak)/(1<<20), "MiB")
}

// TestBenchVIP prints the VIP failover and planned-handover figures of `make bench`
// (targets: failover 3 s or less, unreachable during a handover 1 s or less), from the
// client's probes every 50 ms.
func TestBenchVIP(t *testing.T) {
	benchEnabled(t)
	w := startLBWorld(t)
	w.pool(t, "lan", "10.77.0.200-10.77.0.205")
	w.service(t, "web")
	w.waitService(t, "web", "no ingress", func(s *corev1.Service) bool { return ingress(s) == "10.77.0.200" })
	testAnnouncement(t, w)
}

// testAnnouncementIPv6: an IPv6-only Service's VIP is answered by its leader, the client's
// neighbour entry has the leader's MAC, and after the leader's agent is killed the
// successor's unsolicited neighbour advertisement moves the entry. The killed agent's
// namespace keeps the address and its listener, so without the advertisement the client
// would go on reaching the old node for the entry's reachable time (15 to 45 s).
func testAnnouncementIPv6(t *testing.T, w *lbWorld, l *vipLAN) {
	const vip = "fd77::200"
	w.pool(t, "lan6", vip+"-fd77::205")
	w.service(t, "web6", func(s *corev1.Service) {
		s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol}
		s.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicySingleStack)
	})
	w.waitService(t, "web6", "no IPv6 ingress", func(s *corev1.Service) bool { return ingress(s) == vip })
	leader := announcer(t, w, "web6", "")
	if !framework.WaitFor(10*time.Second, 100*time.Millisecond, func() bool { return l.seg.HasAddress(nsOf(leader), vip) }) {
		t.Fatalf("the announcing node %s does not carry %s", leader, vip)
	}
	probe := startProber(t, l.seg, "["+vip+"]:8080")
	start := time.Now()
	if a := probe.waitAnswer(t, start, "", 20*time.Second); a.node != leader {
		t.Fatalf("the client reached %s over IPv6, want the announcing node %s", a.node, leader)
	}
	if mac := l.seg.Neighbor("vipc", vip); mac != l.macs[leader] {
		t.Fatalf("the client's neighbour entry for %s is %q, want the leader's MAC %s", vip, mac, l.macs[leader])
	}
	killed := time.Now()
	l.agents[leader].Kill()
	a := probe.waitAnswer(t, killed, leader, 20*time.Second)
	failover := a.at.Sub(killed)
	bench("vip6_failover_seconds", failover.Seconds(), "s")
	t.Logf("IPv6 failover %s: %s -> %s", failover.Round(10*time.Millisecond), leader, a.node)
	if mac := l.seg.Neighbor("vipc", vip); mac != l.macs[a.node] {
		t.Errorf("after failover the client's neighbour entry is %q, want %s's %s", mac, a.node, l.macs[a.node])
	}
	l.startAgent(l.t, leader)
}

// testAnnouncementLocal: a Service with externalTrafficPolicy Local is announced by the node
// that has its ready endpoint (an EndpointSlice written here, as the EndpointSlice
// controller would), and the VIP moves when the endpoint does.
func testAnnouncementLocal(t *testing.T, w *lbWorld, l *vipLAN) {
	ctx := context.Background()
	w.service(t, "local", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal })
	vip := ingress(w.waitService(t, "local", "no ingress", func(s *corev1.Service) bool { return ingress(s) != "" }))
	eps := w.cp.Client.DiscoveryV1().EndpointSlices("default")
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "local-1", Labels: map[string]string{discoveryv1.LabelServiceName: "local"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.5"}, NodeName: ptr.To(w.nodes[1]), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	if _, err := eps.Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := announcer(t, w, "local", ""); got != w.nodes[1] {
		t.Fatalf("announced by %s, want %s, the only node with a ready endpoint", got, w.nodes[1])
	}
	if !framework.WaitFor(10*time.Second, 100*time.Millisecond, func() bool { return l.seg.HasAddress(nsOf(w.nodes[1]), vip) }) {
		t.Fatalf("%s does not carry %s", w.nodes[1], vip)
	}
	moved := time.Now()
	slice.Endpoints[0].NodeName = ptr.To(w.nodes[2])
	if _, err := eps.Update(ctx, slice, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !framework.WaitFor(20*time.Second, 50*time.Millisecond, func() bool {
		return l.seg.HasAddress(nsOf(w.nodes[2]), vip) && !l.seg.HasAddress(nsOf(w.nodes[1]), vip)
	}) {
		t.Fatalf("%s did not move from %s to %s with the endpoint", vip, w.nodes[1], w.nodes[2])
	}
	t.Logf("the VIP followed its endpoint to %s in %s", w.nodes[2], time.Since(moved).Round(10*time.Millisecond))
	if got := announcer(t, w, "local", w.nodes[1]); got != w.nodes[2] {
		t.Errorf("Announced names %s, want %s", got, w.nodes[2])
	}
}

// testAnnouncementDualStack: a RequireDualStack Service gets one address per family from a
// pool that has both, each is elected and announced on its own Lease, and the client
// reaches both.
func testAnnouncementDualStack(t *testing.T, w *lbWorld, l *vipLAN) {
	if err := w.crc.Create(context.Background(), &v1alpha1.VIPPool{ObjectMeta: metav1.ObjectMeta{Name: "dual"},
		Spec: v1alpha1.VIPPoolSpec{Addresses: []string{"10.77.0.220-10.77.0.221", "fd77::220-fd77::221"}, Network: "VM Network", AutoAssign: ptr.To(false)}}); err != nil {
		t.Fatal(err)
	}
	w.service(t, "dual", withAnnotation(v1alpha1.AnnotationPool, "dual"), func(s *corev1.Service) {
		s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
		s.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyRequireDualStack)
	})
	w.waitService(t, "dual", "no address of each family", func(s *corev1.Service) bool { return ingress(s) == "10.77.0.220,fd77::220" })
	w.waitService(t, "dual", "not announced", func(s *corev1.Service) bool {
		c := condition(s, v1alpha1.ServiceConditionAnnounced)
		return c != nil && c.Status == metav1.ConditionTrue
	})
	for _, target := range []string{"10.77.0.220:8080", "[fd77::220]:8080"} {
		p := startProber(t, l.seg, target)
		a := p.waitAnswer(t, time.Now().Add(-time.Second), "", 20*time.Second)
		t.Logf("the client reached %s at %s", target, a.node)
	}
}
