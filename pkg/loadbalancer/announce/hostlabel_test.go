package announce

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

func nodeVM(name, host string) *v1alpha1.NodeVM {
	return &v1alpha1.NodeVM{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: v1alpha1.NodeVMStatus{Host: v1alpha1.HostState{Name: host}}}
}

func lease(t *testing.T, c client.Client) *coordinationv1.Lease {
	t.Helper()
	var l coordinationv1.Lease
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: loadbalancer.LeaseName(vip)}, &l); err != nil {
		t.Fatal(err)
	}
	return &l
}

// ESXi hosts registered in vCenter by IPv6 address or by a long name once crashed the
// agent (slice bounds out of range [:63] with length 58) when it took a Lease.
func TestHostNamesThatAreNotLabelValues(t *testing.T) {
	for _, host := range []string{
		"esx-1.example.com",
		"fd00:10::21",
		"[fd00:10::21]",
		"esxi-" + strings.Repeat("rack-7-", 9) + "x.example.com", // 80 characters
		"ESX_1 (old)",
		"-esx-",
	} {
		t.Run(host, func(t *testing.T) {
			c := world(t, lbService(corev1.ServiceExternalTrafficPolicyCluster), nodeVM("a", host))
			a := newAgent(c, "a")
			a.step(0)
			if holder(t, c) != "a" || !a.dp.has(vip) {
				t.Fatalf("a did not announce the VIP from host %q", host)
			}
			v := lease(t, c).Labels[v1alpha1.LabelLeaseESXiHost]
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 || v == "" {
				t.Fatalf("host label %q: %v", v, errs)
			}
			if v != HostLabelValue(host) {
				t.Fatalf("host label %q, want %q", v, HostLabelValue(host))
			}
		})
	}
}

// After the leader's VM moves to another ESXi host (vMotion), the leader announces the
// VIP again and the Lease names the new host.
func TestReannounceAfterTheVMMoves(t *testing.T) {
	c := world(t, lbService(corev1.ServiceExternalTrafficPolicyCluster), nodeVM("a", "esx-1"))
	a := newAgent(c, "a")
	a.step(0)
	for range 25 { // past the first announcements
		a.step(100 * time.Millisecond)
	}
	before := a.dp.announcements()
	if before == 0 || lease(t, c).Labels[v1alpha1.LabelLeaseESXiHost] != "esx-1" {
		t.Fatalf("a announced %d times from %q", before, lease(t, c).Labels[v1alpha1.LabelLeaseESXiHost])
	}
	a.step(100 * time.Millisecond)
	if a.dp.announcements() != before {
		t.Fatal("a announces without a reason")
	}
	var nvm v1alpha1.NodeVM
	if err := c.Get(context.Background(), client.ObjectKey{Name: "a"}, &nvm); err != nil {
		t.Fatal(err)
	}
	nvm.Status.Host.Name = "esx-2"
	if err := c.Update(context.Background(), &nvm); err != nil {
		t.Fatal(err)
	}
	a.step(100 * time.Millisecond)
	if a.dp.announcements() <= before {
		t.Fatal("no announcement after the VM moved to another host")
	}
	if got := lease(t, c).Labels[v1alpha1.LabelLeaseESXiHost]; got != "esx-2" {
		t.Fatalf("the Lease names host %q after the move, want esx-2", got)
	}
	for range 25 {
		a.step(100 * time.Millisecond)
	}
	if n := a.dp.announcements() - before; n != 4 {
		t.Errorf("%d announcements after the move, want 4 (over two seconds)", n)
	}
}
