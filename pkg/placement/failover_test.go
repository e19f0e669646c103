package placement

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// TestVerdict: only a fresh, unambiguous answer about an initialized Node's VM is proof.
func TestVerdict(t *testing.T) {
	initialized := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{ProviderID: "vsphere://4230b7d6-0e50-4b3c-a0b9-1b2c3d4e5f60"}}
	uninitialized := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	foreign := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{ProviderID: "aws:///i-1"}}
	vm := func(mod func(*vsphere.VM)) vsphere.VM {
		v := vsphere.VM{Name: "vm", Ref: "vm-1", VCenter: "vc", PowerState: vsphere.PoweredOff, Fresh: true, ConnectionState: "connected"}
		mod(&v)
		return v
	}
	same := func(*vsphere.VM) {}
	for _, tc := range []struct {
		name string
		node *corev1.Node
		vm   vsphere.VM
		err  error
		dups []string
		want powerVerdict
	}{
		{"powered off, fresh", initialized, vm(same), nil, nil, vmDown},
		{"gone, proven", initialized, vsphere.VM{}, fmt.Errorf("x: %w", vsphere.ErrNotFound), nil, vmDown},
		{"powered on", initialized, vm(func(v *vsphere.VM) { v.PowerState = vsphere.PoweredOn }), nil, nil, vmRunning},
		{"suspended may resume", initialized, vm(func(v *vsphere.VM) { v.PowerState = vsphere.Suspended }), nil, nil, unproven},
		{"stale cache", initialized, vm(func(v *vsphere.VM) { v.Fresh = false }), nil, nil, unproven},
		{"host disconnected", initialized, vm(func(v *vsphere.VM) { v.ConnectionState = "disconnected" }), nil, nil, unproven},
		{"configuration unreadable", initialized, vm(func(v *vsphere.VM) { v.ConfigUnreadable = true }), nil, nil, unproven},
		{"two Nodes claim the VM", initialized, vm(same), nil, []string{"other"}, unproven},
		{"vCenter unavailable", initialized, vsphere.VM{}, fmt.Errorf("x: %w", vsphere.ErrUnavailable), nil, unproven},
		{"ambiguous", initialized, vsphere.VM{}, fmt.Errorf("x: %w", vsphere.ErrAmbiguous), nil, unproven},
		{"not initialized", uninitialized, vm(same), nil, nil, unproven},
		{"not initialized, no VM", uninitialized, vsphere.VM{}, fmt.Errorf("x: %w", vsphere.ErrNotFound), nil, unproven},
		{"another provider's Node", foreign, vm(same), nil, nil, unproven},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := verdict(tc.node, tc.vm, tc.err, tc.dups); got != tc.want || (got == vmDown) != (why != "") {
				t.Errorf("verdict = %v (%q), want %v", got, why, tc.want)
			}
		})
	}
}
