package announce

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// fakeDataplane records addresses per node; it is the only fake here: the election runs
// against controller-runtime's fake API.
type fakeDataplane struct {
	mu        sync.Mutex
	addrs     map[netip.Addr]int // prefix length
	ifnames   map[netip.Addr]string
	removedAt map[netip.Addr]time.Time
	announced int
}

func newFakeDataplane() *fakeDataplane {
	return &fakeDataplane{addrs: map[netip.Addr]int{}, ifnames: map[netip.Addr]string{}, removedAt: map[netip.Addr]time.Time{}}
}

func (f *fakeDataplane) AddUntil(ifname string, ip netip.Addr, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrs[ip], f.ifnames[ip] = ip.BitLen(), ifname
	return nil
}
func (f *fakeDataplane) Remove(_ string, ip netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.addrs[ip]; ok {
		f.removedAt[ip] = time.Now()
	}
	delete(f.addrs, ip)
	return nil
}
func (f *fakeDataplane) Announce(string, netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.announced++
	return nil
}
func (f *fakeDataplane) Addresses(string) ([]netip.Prefix, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []netip.Prefix
	for ip, bits := range f.addrs {
		out = append(out, netip.PrefixFrom(ip, bits))
	}
	return out, nil
}

// addPrefix puts an address on the fake interface as something else (a killed run, an
// administrator) would.
func (f *fakeDataplane) addPrefix(p netip.Prefix) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addrs[p.Addr()], f.ifnames[p.Addr()] = p.Bits(), "eth0"
}
func (f *fakeDataplane) has(ip netip.Addr) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.addrs[ip]
	return ok
}
func (f *fakeDataplane) announcements() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.announced
}

const ns = "vsphere-cloud-system"

var vip = netip.MustParseAddr("10.0.0.1")

func node(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}

func world(t *testing.T, svc *corev1.Service, objs ...client.Object) client.Client {
	t.Helper()
	return worldWithPool(t, func(*v1alpha1.VIPPool) {}, svc, objs...)
}

// worldWithPool is world with the VIPPool changed by edit.
func worldWithPool(t *testing.T, edit func(*v1alpha1.VIPPool), svc *corev1.Service, objs ...client.Object) client.Client {
	t.Helper()
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = v1alpha1.AddToScheme(s)
	pool := &v1alpha1.VIPPool{ObjectMeta: metav1.ObjectMeta{Name: "lan"}, Spec: v1alpha1.VIPPoolSpec{Addresses: []string{"10.0.0.0/29"}, Network: "VM Network"}}
	edit(pool)
	return fake.NewClientBuilder().WithScheme(s).WithObjects(append(objs, pool, svc, node("a"), node("b"))...).Build()
}

func lbService(policy corev1.ServiceExternalTrafficPolicy) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ExternalTrafficPolicy: policy},
		Status:     corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: vip.String()}}}},
	}
}

type testAgent struct {
	*Agent
	dp  *fakeDataplane
	now time.Time
}

func newAgent(c client.Client, name string) *testAgent {
	dp := newFakeDataplane()
	ta := &testAgent{dp: dp, now: time.Unix(1000, 0)}
	ta.Agent = New(Config{NodeName: name, Namespace: ns, Client: c, Dataplane: dp, Interface: "eth0"})
	ta.Agent.now = func() time.Time { return ta.now }
	return ta
}

func (a *testAgent) step(d time.Duration) {
	a.now = a.now.Add(d)
	a.Agent.step(context.Background())
}

func holder(t *testing.T, c client.Client) string {
	t.Helper()
	var l coordinationv1.Lease
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: loadbalancer.LeaseName(vip)}, &l); err != nil {
		return ""
	}
	return ptr.Deref(l.Spec.HolderIdentity, "")
}

func TestElectionHandoverAndFailover(t *testing.T) {
	c := world(t, lbService(corev1.ServiceExternalTrafficPolicyCluster))
	a, b := newAgent(c, "a"), newAgent(c, "b")
	a.step(0)
	b.step(0)
	if holder(t, c) != "a" || !a.dp.has(vip) || b.dp.has(vip) || a.dp.announced == 0 {
		t.Fatalf("after the first round: holder %q, a has %v, b has %v", holder(t, c), a.dp.has(vip), b.dp.has(vip))
	}

	// a's host goes into maintenance: a hands over, b takes over at once.
	var n corev1.Node
	_ = c.Get(context.Background(), client.ObjectKey{Name: "a"}, &n)
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: v1alpha1.TaintHostMaintenance, Effect: corev1.TaintEffectNoSchedule})
	if err := c.Update(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	a.step(100 * time.Millisecond)
	if a.dp.has(vip) || holder(t, c) != "" {
		t.Fatalf("a still has the VIP (%v) or the Lease (%q) after being tainted", a.dp.has(vip), holder(t, c))
	}
	b.step(100 * time.Millisecond)
	if holder(t, c) != "b" || !b.dp.has(vip) {
		t.Fatalf("b did not take over a freed Lease: holder %q", holder(t, c))
	}

	// b dies (stops renewing); a is eligible again and takes over once the Lease lapses,
	// judged by a's own observation of it, not by b's clock.
	n.Spec.Taints = nil
	_ = c.Get(context.Background(), client.ObjectKey{Name: "a"}, &n)
	n.Spec.Taints = nil
	if err := c.Update(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	a.step(100 * time.Millisecond)
	if holder(t, c) != "b" || a.dp.has(vip) {
		t.Fatal("a took a live Lease")
	}
	for i := 0; i < 25 && holder(t, c) == "b"; i++ {
		a.step(100 * time.Millisecond)
	}
	if holder(t, c) != "a" || !a.dp.has(vip) {
		t.Fatalf("a did not take over a lapsed Lease: holder %q", holder(t, c))
	}
}

func TestLocalPolicyNeedsALocalEndpoint(t *testing.T) {
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: "default", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.5"}, NodeName: ptr.To("b"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	c := world(t, lbService(corev1.ServiceExternalTrafficPolicyLocal), slice)
	a, b := newAgent(c, "a"), newAgent(c, "b")
	a.step(0)
	if holder(t, c) != "" || a.dp.has(vip) {
		t.Fatal("a node without a local endpoint announced a Local Service")
	}
	b.step(0)
	if holder(t, c) != "b" || !b.dp.has(vip) {
		t.Fatalf("the node with the endpoint did not announce: holder %q", holder(t, c))
	}
}

func TestStaleAddressRemovedAfterRestartAndLeasesLeftOnRelease(t *testing.T) {
	c := world(t, lbService(corev1.ServiceExternalTrafficPolicyCluster))
	a := newAgent(c, "a")
	a.step(0)
	// A new agent on another node that still carries the address from a killed run.
	b := newAgent(c, "b")
	_ = b.dp.AddUntil("eth0", vip, time.Minute)
	b.step(0)
	if b.dp.has(vip) {
		t.Fatal("a stale VIP survived the agent's restart")
	}
	// The Service goes away: the leader drops the address.
	if err := c.Delete(context.Background(), lbService("")); err != nil {
		t.Fatal(err)
	}
	a.step(100 * time.Millisecond)
	if a.dp.has(vip) || holder(t, c) == "a" {
		t.Fatalf("leader kept the VIP of a deleted Service (has %v, holder %q)", a.dp.has(vip), holder(t, c))
	}
}

func TestLeadersSpreadOverHosts(t *testing.T) {
	nvm := func(name, host string) *v1alpha1.NodeVM {
		return &v1alpha1.NodeVM{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1alpha1.NodeVMStatus{Host: v1alpha1.HostState{Name: host}}}
	}
	first := lbService(corev1.ServiceExternalTrafficPolicyCluster)
	c := world(t, first, nvm("a", "esx-1"), nvm("b", "esx-1"), nvm("c", "esx-2"), node("c"))
	a, b, cc := newAgent(c, "a"), newAgent(c, "b"), newAgent(c, "c")
	a.step(0)
	if holder(t, c) != "a" {
		t.Fatalf("holder %q", holder(t, c))
	}
	second := netip.MustParseAddr("10.0.0.2")
	svc := lbService(corev1.ServiceExternalTrafficPolicyCluster)
	svc.Name, svc.Status.LoadBalancer.Ingress[0].IP = "api", second.String()
	if err := c.Create(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	// b shares a's host and waits; c, on another host, takes the second VIP.
	b.step(0)
	cc.step(0)
	if b.dp.has(second) || !cc.dp.has(second) {
		t.Fatalf("second VIP: b has %v, c has %v; want c (another ESXi host)", b.dp.has(second), cc.dp.has(second))
	}
}
