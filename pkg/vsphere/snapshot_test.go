package vsphere

import (
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// TestSnapshotIndexes: lookups by short host name and by guest IP are index reads that
// follow changes.
func TestSnapshotIndexes(t *testing.T) {
	snap := newSnapshot()
	vm := types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-1"}
	set := func(kind types.ObjectUpdateKind, changes ...types.PropertyChange) {
		snap.apply("DC0", types.ObjectUpdate{Kind: kind, Obj: vm, ChangeSet: changes})
	}
	set(types.ObjectUpdateKindEnter,
		types.PropertyChange{Name: "name", Op: types.PropertyChangeOpAssign, Val: "n1-vm"},
		types.PropertyChange{Name: "guest.hostName", Op: types.PropertyChangeOpAssign, Val: "N1.example.com"},
		types.PropertyChange{Name: "guest.net", Op: types.PropertyChangeOpAssign, Val: types.ArrayOfGuestNicInfo{
			GuestNicInfo: []types.GuestNicInfo{{Network: "VM Network", IpAddress: []string{"10.0.0.1"}}}}},
	)
	c := &cache{vc: config.VCenterConfig{Name: "vc"}, snap: snap, now: time.Now,
		inv: config.InventoryConfig{Freshness: time.Minute}, lastContact: time.Now()}
	m := &Manager{caches: []*cache{c}}
	if vms, _ := c.lookup(lookupKey{kind: keyHostname, value: "n1"}); len(vms) != 1 || vms[0].Name != "n1-vm" {
		t.Errorf("short host name: %+v", vms)
	}
	if vms := m.VMsByIP("10.0.0.1"); len(vms) != 1 {
		t.Errorf("by IP: %+v", vms)
	}
	set(types.ObjectUpdateKindModify,
		types.PropertyChange{Name: "guest.hostName", Op: types.PropertyChangeOpRemove},
		types.PropertyChange{Name: "guest.net", Op: types.PropertyChangeOpAssign, Val: types.ArrayOfGuestNicInfo{}},
	)
	if vms, _ := c.lookup(lookupKey{kind: keyHostname, value: "n1"}); len(vms) != 0 {
		t.Errorf("stale short host name entry: %+v", vms)
	}
	if vms := m.VMsByIP("10.0.0.1"); len(vms) != 0 {
		t.Errorf("stale IP entry: %+v", vms)
	}
}
