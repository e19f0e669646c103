package placement

import (
	"fmt"
	"sort"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

func TestDesiredStatus(t *testing.T) {
	vm := vsphere.VM{VCenter: "vc", Datacenter: "DC0", Ref: "vm-1", Name: "n1", Host: "h1", HostConnection: "connected",
		Cluster: "C0", PowerState: vsphere.PoweredOn, Fresh: true, NICs: []vsphere.NIC{{Network: "VM Network", MAC: "00:50:56:aa:bb:cc", IPs: []string{"10.0.0.1"}}}}
	get := func(st v1alpha1.NodeVMStatus, typ string) *metav1.Condition {
		return meta.FindStatusCondition(st.Conditions, typ)
	}

	st := desiredStatus(v1alpha1.NodeVMStatus{}, vm, nil, nil)
	if st.Host.Name != "h1" || st.VM != "vm-1" || len(st.NICs) != 1 || st.NICs[0].MAC == "" {
		t.Errorf("status = %+v", st)
	}
	for _, typ := range []string{v1alpha1.ConditionVMFound, v1alpha1.ConditionHostReady, v1alpha1.ConditionInventoryFresh} {
		if c := get(st, typ); c == nil || c.Status != metav1.ConditionTrue {
			t.Errorf("%s = %+v", typ, c)
		}
	}

	// A vMotion between healthy hosts changes the placement, not the conditions.
	moved := vm
	moved.Host = "h2"
	st2 := desiredStatus(st, moved, nil, nil)
	if st2.Host.Name != "h2" || get(st2, v1alpha1.ConditionHostReady).Message != get(st, v1alpha1.ConditionHostReady).Message {
		t.Errorf("after vMotion: %+v", st2)
	}

	maint := vm
	maint.HostInMaintenance = true
	if c := get(desiredStatus(st, maint, nil, nil), v1alpha1.ConditionHostReady); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonMaintenance {
		t.Errorf("maintenance: %+v", c)
	}
	disc := vm
	disc.HostConnection = "notResponding"
	if c := get(desiredStatus(st, disc, nil, nil), v1alpha1.ConditionHostReady); c.Reason != v1alpha1.ReasonDisconnected {
		t.Errorf("disconnected: %+v", c)
	}

	dup := desiredStatus(st, vm, nil, []string{"n2"})
	if c := get(dup, v1alpha1.ConditionVMFound); c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonDuplicateUUID {
		t.Errorf("duplicate: %+v", c)
	}

	// Lookup failures keep the last placement and say why.
	down := desiredStatus(st, vsphere.VM{}, fmt.Errorf("x: %w", vsphere.ErrUnavailable), nil)
	if down.Host.Name != "h1" || get(down, v1alpha1.ConditionInventoryFresh).Status != metav1.ConditionFalse {
		t.Errorf("vCenter down: %+v", down)
	}
	gone := desiredStatus(st, vsphere.VM{}, fmt.Errorf("x: %w", vsphere.ErrNotFound), nil)
	if c := get(gone, v1alpha1.ConditionVMFound); c.Reason != v1alpha1.ReasonNotFound {
		t.Errorf("not found: %+v", c)
	}
	stale := vm
	stale.Fresh = false
	if c := get(desiredStatus(st, stale, nil, nil), v1alpha1.ConditionInventoryFresh); c.Status != metav1.ConditionFalse {
		t.Errorf("stale: %+v", c)
	}
}

// TestNewInitializesState guards against nil maps in the controller's bookkeeping.
func TestNewInitializesState(t *testing.T) {
	ctl := newState()
	if ctl.written == nil || ctl.claims == nil || ctl.hostOf == nil || ctl.unresolved == nil {
		t.Fatalf("state maps not initialized: %+v", ctl)
	}
}

// TestOnChangeQueuesOnlyConcernedNodes: a VM change queues its Node (and unresolved
// Nodes), a host change the Nodes on that host; nothing else.
func TestOnChangeQueuesOnlyConcernedNodes(t *testing.T) {
	c := newState()
	c.claims["vc/vm-1"] = map[string]struct{}{"n1": {}}
	c.claims["vc/vm-2"] = map[string]struct{}{"n2": {}}
	c.hostOf["n1"], c.hostOf["n2"], c.hostOf["n3"] = "vc/host-1", "vc/host-2", "vc/host-2"
	c.unresolved["lost"] = struct{}{}
	drain := func() []string {
		var out []string
		for c.queue.Len() > 0 {
			k, _ := c.queue.Get()
			out = append(out, k)
			c.queue.Done(k)
		}
		sort.Strings(out)
		return out
	}
	c.onChange(vsphere.Change{VCenter: "vc", VMs: []string{"vm-1"}})
	if got := fmt.Sprint(drain()); got != "[lost n1]" {
		t.Errorf("VM change queued %s", got)
	}
	c.onChange(vsphere.Change{VCenter: "vc", Hosts: []string{"host-2"}})
	if got := fmt.Sprint(drain()); got != "[n2 n3]" {
		t.Errorf("host change queued %s", got)
	}
	c.onChange(vsphere.Change{VCenter: "other", VMs: []string{"vm-1"}})
	if got := fmt.Sprint(drain()); got != "[lost]" {
		t.Errorf("other vCenter's VM change queued %s", got)
	}
}
