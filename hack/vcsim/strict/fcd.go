package strict

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"sync"
)

// InstallFCD makes the simulator's VStorageObjectManager answer like vCenter's:
//
//   - A backing path on CreateDisk_Task or CreateDiskFromSnapshot_Task is refused with
//     InvalidArgument. vCenter answers InvalidArgument for "fcd/name.vmdk", "[ds] fcd/..."
//     and "fcd/" alike and succeeds without a path (pyvmomi issue 1081); no public caller
//     sets one. The simulator honours any path.
//   - CreateDiskFromSnapshot_Task exists (govmomi v0.56.0's simulator lacks it); the new
//     disk has the snapshot's disk's capacity (the simulator keeps no contents to copy).
//
// The registry keeps the simulator's own object (the CNS simulator asserts its type);
// SOAP calls reach this one through the registry's Handler hook and each session's
// registry. Call it after m.Create.
func InstallFCD(m *simulator.Model) *FCD {
	r := m.Map()
	si, ok := r.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	if !ok || si.Content.VStorageObjectManager == nil {
		return nil
	}
	om, ok := r.Get(*si.Content.VStorageObjectManager).(*simulator.VcenterVStorageObjectManager)
	if !ok {
		return nil
	}
	strict := &fcdManager{VcenterVStorageObjectManager: om, f: &FCD{m: m, inaccessible: map[types.ManagedObjectReference]bool{}}}
	strict.f.mgr = strict
	prev := r.Handler
	// Session.Put writes the object's reference (the same value) into it: two sessions'
	// first calls at once raced on it, so compare with a copy and put under a lock.
	self := om.Self
	var putMu sync.Mutex
	r.Handler = func(ctx *simulator.Context, method *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if method.This == self {
			// A logged-in call is dispatched to the session's registry entry, or the
			// registry's object: the session gets this one.
			if ctx.Session != nil {
				putMu.Lock()
				if ctx.Session.Registry.Get(self) == nil {
					ctx.Session.Put(strict)
				}
				putMu.Unlock()
			}
			return strict, nil
		}
		if prev != nil {
			return prev(ctx, method)
		}
		return nil, nil
	}
	return strict.f
}

type fcdManager struct {
	*simulator.VcenterVStorageObjectManager
	f *FCD
}

// pathRefused is vCenter's answer to a create with a backing path.
func pathRefused() types.BaseMethodFault {
	return &types.InvalidArgument{InvalidProperty: "spec.backingSpec.path"}
}

// CreateDiskTask refuses a backing path, then creates the disk as the simulator does.
func (m *fcdManager) CreateDiskTask(ctx *simulator.Context, req *types.CreateDisk_Task) soap.HasFault {
	if b, ok := req.Spec.BackingSpec.(*types.VslmCreateSpecDiskFileBackingSpec); ok && b.Path != "" {
		task := simulator.CreateTask(m, "createDisk", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
			return nil, pathRefused()
		})
		return &methods.CreateDisk_TaskBody{Res: &types.CreateDisk_TaskResponse{Returnval: task.Run(ctx)}}
	}
	return m.VcenterVStorageObjectManager.CreateDiskTask(ctx, req)
}

// CreateDiskFromSnapshotTask creates a disk from a snapshot of another.
func (m *fcdManager) CreateDiskFromSnapshotTask(ctx *simulator.Context, req *types.CreateDiskFromSnapshot_Task) soap.HasFault {
	body := &methods.CreateDiskFromSnapshot_TaskBody{}
	if req.Path != "" {
		task := simulator.CreateTask(m, "createDiskFromSnapshot", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
			return nil, pathRefused()
		})
		body.Res = &types.CreateDiskFromSnapshot_TaskResponse{Returnval: task.Run(ctx)}
		return body
	}
	src := m.Catalog()[req.Datastore][req.Id]
	found := false
	if src != nil {
		for _, s := range src.Snapshots {
			found = found || (s.Id != nil && s.Id.Id == req.SnapshotId.Id)
		}
	}
	if !found {
		body.Fault_ = simulator.Fault("snapshot not found", &types.NotFound{})
		return body
	}
	res := m.VcenterVStorageObjectManager.CreateDiskTask(ctx, &types.CreateDisk_Task{
		This: m.Self,
		Spec: types.VslmCreateSpec{
			Name: req.Name, CapacityInMB: src.Config.CapacityInMB, Profile: req.Profile,
			BackingSpec: &types.VslmCreateSpecDiskFileBackingSpec{
				VslmCreateSpecBackingSpec: types.VslmCreateSpecBackingSpec{Datastore: req.Datastore},
				ProvisioningType:          string(types.BaseConfigInfoDiskFileBackingInfoProvisioningTypeThin),
			},
		},
	}).(*methods.CreateDisk_TaskBody)
	body.Res = &types.CreateDiskFromSnapshot_TaskResponse{Returnval: res.Res.Returnval}
	return body
}
