package announce

import (
	"context"
	"net"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

func labelNode(t *testing.T, c client.Client, name string, labels map[string]string) {
	t.Helper()
	var n corev1.Node
	if err := c.Get(context.Background(), client.ObjectKey{Name: name}, &n); err != nil {
		t.Fatal(err)
	}
	n.Labels = labels
	if err := c.Update(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
}

// Which nodes may announce a pool's addresses: the exclude label always wins, control-plane
// nodes only when the pool allows them, and only nodes that the pool's selector matches.
func TestEligibilityByLabelsAndPool(t *testing.T) {
	for _, tc := range []struct {
		name     string
		labels   map[string]string
		pool     func(*v1alpha1.VIPPool)
		announce bool
	}{
		{name: "a plain worker", announce: true},
		{name: "excluded from load balancers", labels: map[string]string{corev1.LabelNodeExcludeBalancers: ""}},
		{name: "excluded even when the selector matches", labels: map[string]string{corev1.LabelNodeExcludeBalancers: "true", "vip": "yes"},
			pool: func(p *v1alpha1.VIPPool) {
				p.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"vip": "yes"}}
			}},
		{name: "control plane, pool silent", labels: map[string]string{LabelControlPlane: ""}},
		{name: "control plane, pool allows it", labels: map[string]string{LabelControlPlane: ""}, announce: true,
			pool: func(p *v1alpha1.VIPPool) { p.Spec.AnnounceFromControlPlane = true }},
		{name: "selector matches", labels: map[string]string{"vip": "yes"}, announce: true,
			pool: func(p *v1alpha1.VIPPool) {
				p.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"vip": "yes"}}
			}},
		{name: "selector does not match", labels: map[string]string{"vip": "no"},
			pool: func(p *v1alpha1.VIPPool) {
				p.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"vip": "yes"}}
			}},
		{name: "invalid selector", labels: map[string]string{"vip": "yes"},
			pool: func(p *v1alpha1.VIPPool) {
				p.Spec.NodeSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "vip", Operator: "Near"}}}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edit := tc.pool
			if edit == nil {
				edit = func(*v1alpha1.VIPPool) {}
			}
			c := worldWithPool(t, edit, lbService(corev1.ServiceExternalTrafficPolicyCluster))
			labelNode(t, c, "a", tc.labels)
			a := newAgent(c, "a")
			a.step(0)
			if got := a.dp.has(vip); got != tc.announce {
				t.Fatalf("a announces the VIP: %v, want %v (Lease holder %q)", got, tc.announce, holder(t, c))
			}
			if !tc.announce && holder(t, c) == "a" {
				t.Fatal("an ineligible node took the Lease")
			}
		})
	}
}

// A leader that gets the exclude label hands its VIP over at once.
func TestLeaderExcludedHandsOver(t *testing.T) {
	c := world(t, lbService(corev1.ServiceExternalTrafficPolicyCluster))
	a, b := newAgent(c, "a"), newAgent(c, "b")
	a.step(0)
	if !a.dp.has(vip) {
		t.Fatal("a did not announce")
	}
	labelNode(t, c, "a", map[string]string{corev1.LabelNodeExcludeBalancers: ""})
	a.step(100 * time.Millisecond)
	b.step(100 * time.Millisecond)
	if a.dp.has(vip) || !b.dp.has(vip) || holder(t, c) != "b" {
		t.Fatalf("after a was excluded: a has %v, b has %v, holder %q", a.dp.has(vip), b.dp.has(vip), holder(t, c))
	}
}

// Guest NICs that VMware Tools reports without a virtual device (deviceConfigId -1: a
// bridge, a VLAN, a container interface) have no port group; they must never carry a
// VIP, even for a pool without a network. Before, such a NIC without a MAC matched the
// loopback interface.
func TestNICsWithoutADeviceAreNotCandidates(t *testing.T) {
	nics := []v1alpha1.NIC{{Network: "", MAC: "", IPs: []string{"172.17.0.1"}}}
	// A local interface with a MAC, reported as a NIC without a port group.
	if ifs, err := net.Interfaces(); err == nil {
		for _, ifi := range ifs {
			if len(ifi.HardwareAddr) == 6 {
				nics = append(nics, v1alpha1.NIC{MAC: ifi.HardwareAddr.String()})
				break
			}
		}
	}
	nvm := &v1alpha1.NodeVM{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Status: v1alpha1.NodeVMStatus{NICs: nics}}
	c := worldWithPool(t, func(p *v1alpha1.VIPPool) { p.Spec.Network = "" }, lbService(corev1.ServiceExternalTrafficPolicyCluster), nvm)
	a := newAgent(c, "a")
	a.Agent.cfg.Interface = "" // find the interface from the NodeVM
	a.step(0)
	if a.dp.has(vip) {
		t.Fatalf("the VIP went on %q, an interface without a virtual device", a.dp.ifnames[vip])
	}
}
