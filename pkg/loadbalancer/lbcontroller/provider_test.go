package lbcontroller

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/ptr"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// fakeInventory maps a guest address to the VMs that report it.
type fakeInventory map[string][]VMRef

func (f fakeInventory) VMsReporting(ip string) ([]VMRef, error) { return f[ip], nil }

func node(name, uuid string, addrs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{ProviderID: "vsphere://" + uuid}}
	for _, a := range addrs {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: a})
	}
	n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: name})
	return n
}

// testProvider is a Provider over inv and nodes, with pool 10.0.0.1-10.0.0.3, as Start
// leaves it once its caches are read.
func testProvider(t *testing.T, inv Inventory, nodes ...*corev1.Node) *Provider {
	t.Helper()
	p := NewProvider(inv, "vips", true)
	p.nodes.rebuild(nodes)
	r, err := loadbalancer.ParseRange("10.0.0.1-10.0.0.3")
	if err != nil {
		t.Fatal(err)
	}
	p.alloc.SetPools([]loadbalancer.Pool{{Name: "lan", Ranges: []loadbalancer.Range{r}, AutoAssign: true}})
	return p
}

func reasonOfErr(err error) string {
	var e *loadbalancer.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func request(name string, ips ...string) loadbalancer.Request {
	r := loadbalancer.Request{Service: "default/" + name, Namespace: "default", Families: []loadbalancer.Family{loadbalancer.IPv4}}
	for _, s := range ips {
		r.Requested = append(r.Requested, netip.MustParseAddr(s))
	}
	return r
}

// TestNodeVMGuestAddressIsAConflict: an address on a node VM's NIC that is not its Node
// address (a second NIC, a keepalived or kube-vip API address) is a conflict like any
// guest address.
func TestNodeVMGuestAddressIsAConflict(t *testing.T) {
	inv := fakeInventory{
		"10.0.0.1":  {{Name: "node-a", UUID: "uuid-a"}}, // kube-vip's API address on node-a
		"10.0.9.10": {{Name: "node-a", UUID: "uuid-a"}},
	}
	p := testProvider(t, inv, node("node-a", "uuid-a", "10.0.9.10"))
	got, err := p.alloc.Assign(request("auto"))
	if err != nil || got[0] != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("auto: %v, %v; want 10.0.0.2 (10.0.0.1 is on node-a's NIC)", got, err)
	}
	_, err = p.alloc.Assign(request("asks", "10.0.0.1"))
	if reasonOfErr(err) != loadbalancer.ReasonUsedByVM || !strings.Contains(err.Error(), "node-a") {
		t.Fatalf("asking for node-a's guest address: err = %v, want %s naming node-a", err, loadbalancer.ReasonUsedByVM)
	}
}

// TestNodeAddressInPoolIsNeverAllocated: an address that is some Node's status.addresses
// is never a VIP, even when no VM's guest reports it.
func TestNodeAddressInPoolIsNeverAllocated(t *testing.T) {
	p := testProvider(t, fakeInventory{}, node("node-b", "uuid-b", "10.0.0.1"))
	got, err := p.alloc.Assign(request("auto"))
	if err != nil || got[0] != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("auto: %v, %v; want 10.0.0.2 (10.0.0.1 is node-b's address)", got, err)
	}
	_, err = p.alloc.Assign(request("asks", "10.0.0.1"))
	if reasonOfErr(err) != loadbalancer.ReasonUsedByNode || !strings.Contains(err.Error(), "node-b") {
		t.Fatalf("asking for node-b's address: err = %v, want %s naming node-b", err, loadbalancer.ReasonUsedByNode)
	}
}

// TestAnnouncedVIPOnNodeVMIsNoConflict: the VIP a node announces shows up in its VM's
// guest addresses; the Service holding it keeps it.
func TestAnnouncedVIPOnNodeVMIsNoConflict(t *testing.T) {
	p := testProvider(t, fakeInventory{"10.0.0.1": {{Name: "node-a", UUID: "UUID-A"}}}, node("node-a", "uuid-a", "10.0.9.10"))
	p.alloc.Restore(request("web"), []netip.Addr{netip.MustParseAddr("10.0.0.1")})
	if got, err := p.alloc.Assign(request("web")); err != nil || got[0] != netip.MustParseAddr("10.0.0.1") {
		t.Fatalf("web lost its announced VIP: %v, %v", got, err)
	}
}

func TestIsVIP(t *testing.T) {
	p := testProvider(t, fakeInventory{})
	p.pools.replace(nil, nil, loadbalancer.AllRanges([]v1alpha1.VIPPool{{Spec: v1alpha1.VIPPoolSpec{Addresses: []string{"10.0.5.0/30", "junk"}}}}))
	p.alloc.Restore(request("old"), []netip.Addr{netip.MustParseAddr("192.168.1.1")})
	for ip, want := range map[string]bool{"10.0.5.1": true, "192.168.1.1": true, "::ffff:10.0.5.2": true, "10.0.9.10": false} {
		if got := p.IsVIP(netip.MustParseAddr(ip)); got != want {
			t.Errorf("IsVIP(%s) = %v, want %v", ip, got, want)
		}
	}
}

func vipLease(holder string, renewed time.Time) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "vips", Name: "vip-10-0-0-1", ResourceVersion: renewed.String(),
			Labels: map[string]string{v1alpha1.LabelLeaseVIP: "10.0.0.1"}},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To[int32](2), RenewTime: ptr.To(metav1.NewMicroTime(renewed))},
	}
}

// TestLeaseRenewalsMakeNoWork: a renewal by the same holder queues nothing; a new holder,
// a deleted Lease and a holder that stopped renewing queue the Service holding the VIP.
func TestLeaseRenewalsMakeNoWork(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}}
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "10.0.0.1"}}
	p := newTestServices(t, true, svc)
	leases := p.leaseStore
	drain := func() []string {
		var keys []string
		for p.queue.Len() > 0 {
			k, _ := p.queue.Get()
			keys = append(keys, k)
			p.queue.Done(k)
			p.queue.Forget(k)
		}
		return keys
	}

	now := time.Now()
	prev := vipLease("node-a", now.Add(-500*time.Millisecond))
	for i := range 8 { // four seconds of renewals every 500 ms
		cur := vipLease("node-a", now.Add(time.Duration(i)*500*time.Millisecond))
		p.leaseUpdated(prev, cur)
		prev = cur
	}
	if got := drain(); len(got) != 0 {
		t.Fatalf("renewals queued %v, want nothing", got)
	}
	p.leaseUpdated(prev, vipLease("node-b", now))
	if got := drain(); !slices.Equal(got, []string{"default/web"}) {
		t.Fatalf("a new holder queued %v, want default/web", got)
	}
	relabelled := vipLease("node-b", now)
	relabelled.Labels["vsphere-cloud.io/host"] = "esx-2"
	p.leaseUpdated(vipLease("node-b", now), relabelled)
	if got := drain(); !slices.Equal(got, []string{"default/web"}) {
		t.Fatalf("the holder's host label changed: queued %v, want default/web", got)
	}

	// The holder stops renewing: nothing arrives, and the lapse is found by the clock.
	last := vipLease("node-b", now)
	if err := leases.Add(last); err != nil {
		t.Fatal(err)
	}
	p.leaseAdded(last)
	drain()
	if got := p.lapses.expired(now.Add(time.Second)); len(got) != 0 {
		t.Fatalf("lapsed early: %v", got)
	}
	lapsed := p.lapses.expired(now.Add(3 * time.Second))
	if !slices.Equal(lapsed, []string{"vips/vip-10-0-0-1"}) {
		t.Fatalf("lapsed = %v, want vips/vip-10-0-0-1", lapsed)
	}
	p.leaseLapsed(lapsed[0])
	if got := drain(); !slices.Equal(got, []string{"default/web"}) {
		t.Fatalf("a lapsed holder queued %v, want default/web", got)
	}
	p.leaseDeleted(last)
	if got := drain(); !slices.Equal(got, []string{"default/web"}) {
		t.Fatalf("a deleted Lease queued %v, want default/web", got)
	}
}

func TestNodeHeartbeatsAreIgnored(t *testing.T) {
	a := node("node-a", "uuid-a", "10.0.9.10")
	b := a.DeepCopy()
	b.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}
	if nodeChangeMatters(a, b) {
		t.Error("a heartbeat matters")
	}
	b.Status.Addresses[0].Address = "10.0.9.11"
	if !nodeChangeMatters(a, b) {
		t.Error("a new address does not matter")
	}
}

// TestPoolOverlappingNodesIsReported: a pool holding Node addresses gets OverlapsNodes
// True and one Warning Event naming them; without them, False.
func TestPoolOverlappingNodesIsReported(t *testing.T) {
	p := &poolReconciler{nodeIdx: testProvider(t, fakeInventory{}, node("node-b", "uuid-b", "10.0.0.2")).nodes, overlaps: map[string]string{}}
	rec := record.NewFakeRecorder(10)
	p.events = rec
	r, _ := loadbalancer.ParseRange("10.0.0.1-10.0.0.3")
	pool := loadbalancer.Pool{Name: "lan", Ranges: []loadbalancer.Range{r}}
	obj := &v1alpha1.VIPPool{ObjectMeta: metav1.ObjectMeta{Name: "lan"}}
	for range 2 {
		c := p.nodeOverlap(obj, pool)
		if c.Type != ConditionPoolOverlapsNodes || c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "10.0.0.2 (node-b)") {
			t.Fatalf("condition = %+v", c)
		}
	}
	if len(rec.Events) != 1 {
		t.Fatalf("%d Events, want one", len(rec.Events))
	}
	if ev := <-rec.Events; !strings.Contains(ev, "Warning "+ReasonNodeAddressInPool) || !strings.Contains(ev, "node-b") {
		t.Fatalf("Event %q", ev)
	}
	r2, _ := loadbalancer.ParseRange("10.0.1.1-10.0.1.3")
	if c := p.nodeOverlap(obj, loadbalancer.Pool{Name: "lan", Ranges: []loadbalancer.Range{r2}}); c.Status != metav1.ConditionFalse {
		t.Fatalf("a pool without Node addresses: %+v", c)
	}
}

// unsyncedInventory has not read vCenter yet: it cannot say which VM uses an address.
type unsyncedInventory struct{}

func (unsyncedInventory) VMsReporting(string) ([]VMRef, error) {
	return nil, errors.New("the inventory of vCenter vc has not been read yet")
}

// TestNoAddressBeforeTheInventoryIsRead: right after a start, before vCenter's inventory
// is read, no address is handed out (a VM may use any of them), automatically or on
// request; the request fails with AddressUseUnknown, to be retried, not PoolExhausted.
func TestNoAddressBeforeTheInventoryIsRead(t *testing.T) {
	p := testProvider(t, unsyncedInventory{})
	for _, req := range []loadbalancer.Request{request("auto"), request("asks", "10.0.0.1")} {
		got, err := p.alloc.Assign(req)
		if reasonOfErr(err) != loadbalancer.ReasonUseUnknown {
			t.Errorf("%s: got %v, %v; want no address and %s", req.Service, got, err, loadbalancer.ReasonUseUnknown)
		}
	}
}

// switchableInventory is read or not, as the test says.
type switchableInventory struct{ read *bool }

func (s switchableInventory) VMsReporting(string) ([]VMRef, error) {
	if !*s.read {
		return nil, errors.New("the inventory of vCenter vc has not been read yet")
	}
	return nil, nil
}

// TestAHeldAddressStaysWhileUseIsUnknown: after a restart, before vCenter's inventory is
// read, a Service keeps the address it holds (it was checked when handed out), so its
// status does not flap; only new addresses wait.
func TestAHeldAddressStaysWhileUseIsUnknown(t *testing.T) {
	read := true
	p := testProvider(t, switchableInventory{&read})
	got, err := p.alloc.Assign(request("web"))
	if err != nil {
		t.Fatal(err)
	}
	read = false
	again, err := p.alloc.Assign(request("web"))
	if err != nil || !slices.Equal(again, got) {
		t.Fatalf("the held address: %v, %v; want %v kept", again, err, got)
	}
	if _, err := p.alloc.Assign(request("new")); reasonOfErr(err) != loadbalancer.ReasonUseUnknown {
		t.Fatalf("a new Service: %v, want %s", err, loadbalancer.ReasonUseUnknown)
	}
}
