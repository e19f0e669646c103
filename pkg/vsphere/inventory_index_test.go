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
	snap := newInventoryIndex()
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
	c := &vCenter{vc: config.VCenterConfig{Name: "vc"}, inventory: &inventory{index: snap, now: time.Now,
		cfg: config.InventoryConfig{Freshness: time.Minute}, lastContact: time.Now()}}
	m := &Manager{vcenters: []*vCenter{c}}
	if vms, _ := c.lookup(lookupKey{kind: keyHostname, value: "n1"}); len(vms) != 1 || vms[0].Name != "n1-vm" {
		t.Errorf("short host name: %+v", vms)
	}
	if vms, _ := m.VMsByIP("10.0.0.1"); len(vms) != 1 {
		t.Errorf("by IP: %+v", vms)
	}
	set(types.ObjectUpdateKindModify,
		types.PropertyChange{Name: "guest.hostName", Op: types.PropertyChangeOpRemove},
		types.PropertyChange{Name: "guest.net", Op: types.PropertyChangeOpAssign, Val: types.ArrayOfGuestNicInfo{}},
	)
	if vms, _ := c.lookup(lookupKey{kind: keyHostname, value: "n1"}); len(vms) != 0 {
		t.Errorf("stale short host name entry: %+v", vms)
	}
	if vms, _ := m.VMsByIP("10.0.0.1"); len(vms) != 0 {
		t.Errorf("stale IP entry: %+v", vms)
	}
}

// TestGuestInterfacesWithoutADevice: addresses on guest interfaces that are no virtual NIC
// (deviceConfigId -1: bridges, tunnels, aliases) are not NICs of the VM, but the address
// index still knows them, so no VIP is handed out on top of one.
func TestGuestInterfacesWithoutADevice(t *testing.T) {
	s := newInventoryIndex()
	s.apply("DC0", types.ObjectUpdate{Obj: types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-1"}, Kind: types.ObjectUpdateKindEnter,
		ChangeSet: []types.PropertyChange{{Name: "guest.net", Op: types.PropertyChangeOpAssign, Val: types.ArrayOfGuestNicInfo{GuestNicInfo: []types.GuestNicInfo{
			{Network: "VM Network", MacAddress: "00:50:56:00:00:01", DeviceConfigId: 4000, IpAddress: []string{"10.0.0.5"}},
			{MacAddress: "02:42:ac:11:00:01", DeviceConfigId: -1, IpAddress: []string{"172.17.0.1", "10.0.0.200"}},
		}}}}})
	vm := s.vm("vc", "vm-1")
	if len(vm.NICs) != 1 || vm.NICs[0].MAC != "00:50:56:00:00:01" {
		t.Errorf("NICs = %+v, want only the virtual NIC", vm.NICs)
	}
	for _, ip := range []string{"10.0.0.5", "172.17.0.1", "10.0.0.200"} {
		if len(s.byIP[ip]) != 1 {
			t.Errorf("address %s not indexed", ip)
		}
	}
}
