package strict

import (
	"fmt"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// FCD holds the First Class Disk behaviours InstallFCD installed.
type FCD struct {
	m            *simulator.Model
	mgr          *fcdManager
	mu           sync.Mutex
	inaccessible map[types.ManagedObjectReference]bool
	// relocated tells CNS that a disk moved to another datastore (InstallCNS sets it).
	relocated func(ctx *simulator.Context, id string, from, to types.ManagedObjectReference, dst *simulator.Datastore)
}

// SetDatastoreInaccessible makes a datastore inaccessible (all paths down) or accessible
// again: its summary.accessible turns false, and listing or reading First Class Disks on
// it fails with InvalidDatastore, as vCenter answers for a datastore it cannot reach.
func (f *FCD) SetDatastoreInaccessible(ref types.ManagedObjectReference, on bool) {
	f.mu.Lock()
	f.inaccessible[ref] = on
	f.mu.Unlock()
	if ds, ok := f.m.Map().Get(ref).(*simulator.Datastore); ok {
		ctx := f.m.Service.Context
		ctx.WithLock(ds, func() {
			ctx.Map.Update(ctx, ds, []types.PropertyChange{{Name: "summary.accessible", Val: !on}})
		})
	}
}

// SetDatastoreInaccessibleByName is SetDatastoreInaccessible for a datastore's name.
func (f *FCD) SetDatastoreInaccessibleByName(name string, on bool) error {
	for _, e := range f.m.Map().All("Datastore") {
		if ds, ok := e.(*simulator.Datastore); ok && ds.Name == name {
			f.SetDatastoreInaccessible(ds.Self, on)
			return nil
		}
	}
	return fmt.Errorf("no datastore named %q", name)
}

func (f *FCD) refused(ds types.ManagedObjectReference) types.BaseMethodFault {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.inaccessible[ds] {
		return nil
	}
	return &types.InvalidDatastore{Datastore: &ds}
}

// ListVStorageObject fails on an inaccessible datastore.
func (m *fcdManager) ListVStorageObject(req *types.ListVStorageObject) soap.HasFault {
	if f := m.f.refused(req.Datastore); f != nil {
		return &methods.ListVStorageObjectBody{Fault_: simulator.Fault("datastore inaccessible", f)}
	}
	return m.VcenterVStorageObjectManager.ListVStorageObject(req)
}

// RetrieveVStorageObject fails on an inaccessible datastore.
func (m *fcdManager) RetrieveVStorageObject(ctx *simulator.Context, req *types.RetrieveVStorageObject) soap.HasFault {
	if f := m.f.refused(req.Datastore); f != nil {
		return &methods.RetrieveVStorageObjectBody{Fault_: simulator.Fault("datastore inaccessible", f)}
	}
	return m.VcenterVStorageObjectManager.RetrieveVStorageObject(ctx, req)
}
