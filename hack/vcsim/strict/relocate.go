package strict

import (
	"path"
	"slices"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// RelocateVStorageObjectTask is storage vMotion of a First Class Disk (the simulator lacks
// the call): the disk's file moves to the other datastore, the disk keeps its ID, the VMs
// that have it follow its file, and CNS records the new datastore. The API reference's
// VStorageObjectManager.RelocateVStorageObject_Task; Storage DRS moves disks the same way.
func (m *fcdManager) RelocateVStorageObjectTask(ctx *simulator.Context, req *types.RelocateVStorageObject_Task) soap.HasFault {
	task := simulator.CreateTask(m, "relocateVStorageObject", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		return m.relocate(ctx, req)
	})
	return &methods.RelocateVStorageObject_TaskBody{Res: &types.RelocateVStorageObject_TaskResponse{Returnval: task.Run(ctx)}}
}

func (m *fcdManager) relocate(ctx *simulator.Context, req *types.RelocateVStorageObject_Task) (types.AnyType, types.BaseMethodFault) {
	if req.Spec.BackingSpec == nil {
		return nil, &types.InvalidArgument{InvalidProperty: "spec.backingSpec.datastore"}
	}
	to := &req.Spec.BackingSpec.GetVslmCreateSpecBackingSpec().Datastore
	if b, ok := req.Spec.BackingSpec.(*types.VslmCreateSpecDiskFileBackingSpec); ok && b.Path != "" {
		return nil, pathRefused() // vCenter names the file, as on create
	}
	if f := m.f.refused(req.Datastore); f != nil {
		return nil, f
	}
	if f := m.f.refused(*to); f != nil {
		return nil, f
	}
	catalog := m.Catalog()
	obj := catalog[req.Datastore][req.Id]
	if obj == nil {
		return nil, &types.NotFound{}
	}
	if *to == req.Datastore {
		return obj.VStorageObject, nil
	}
	src, _ := ctx.Map.Get(req.Datastore).(*simulator.Datastore)
	dst, _ := ctx.Map.Get(*to).(*simulator.Datastore)
	backing, ok := obj.Config.Backing.(*types.BaseConfigInfoDiskFileBackingInfo)
	if src == nil || dst == nil || !ok {
		return nil, &types.InvalidArgument{InvalidProperty: "spec.backingSpec.datastore"}
	}
	var old object.DatastorePath
	old.FromString(backing.FilePath)
	moved := &object.DatastorePath{Datastore: dst.Name, Path: old.Path}
	dc := datacenterOf(ctx, dst)
	ctx.Map.FileManager().MakeDirectory(ctx, &types.MakeDirectory{
		Name: (&object.DatastorePath{Datastore: dst.Name, Path: path.Dir(old.Path)}).String(), Datacenter: dc, CreateParentDirectories: types.NewBool(true),
	})
	vdm, ok := ctx.Map.VirtualDiskManager().(*simulator.VirtualDiskManager)
	if !ok {
		return nil, &types.SystemError{Reason: "no virtual disk manager"}
	}
	res, ok := vdm.MoveVirtualDiskTask(ctx, &types.MoveVirtualDisk_Task{
		SourceName: backing.FilePath, SourceDatacenter: dc, DestName: moved.String(), DestDatacenter: dc,
	}).(*methods.MoveVirtualDisk_TaskBody)
	if !ok || res.Res == nil {
		return nil, &types.SystemError{Reason: "moving the disk file"}
	}
	if t, ok := ctx.Map.Get(res.Res.Returnval).(*simulator.Task); ok {
		t.Wait()
		if t.Info.Error != nil {
			return nil, t.Info.Error.Fault
		}
	}
	// New values, not edits: answers already handed out may still hold the old ones.
	nb := *backing
	nb.FilePath, nb.Datastore = moved.String(), *to
	obj.Config.Backing = &nb
	delete(catalog[req.Datastore], req.Id)
	if catalog[*to] == nil {
		catalog[*to] = map[types.ID]*simulator.VStorageObject{}
	}
	catalog[*to][req.Id] = obj
	for _, vm := range holders(ctx, req.Id.Id) {
		ctx.WithLock(vm, func() {
			devices := slices.Clone(vm.Config.Hardware.Device)
			for i, d := range devices {
				disk, ok := d.(*types.VirtualDisk)
				if !ok || disk.VDiskId == nil || disk.VDiskId.Id != req.Id.Id {
					continue
				}
				if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
					nd, nb := *disk, *b
					nb.FileName, nb.Datastore = moved.String(), to
					nd.Backing = &nb
					devices[i] = &nd
				}
			}
			ctx.Map.Update(ctx, vm, []types.PropertyChange{{Name: "config.hardware.device", Val: devices}})
		})
	}
	m.f.mu.Lock()
	hook := m.f.relocated
	m.f.mu.Unlock()
	if hook != nil {
		hook(ctx, req.Id.Id, req.Datastore, *to, dst)
	}
	return obj.VStorageObject, nil
}

// datacenterOf walks up from an entity to its datacenter.
func datacenterOf(ctx *simulator.Context, e mo.Entity) *types.ManagedObjectReference {
	for p := e.Entity().Parent; p != nil; {
		if p.Type == "Datacenter" {
			return p
		}
		next, ok := ctx.Map.Get(*p).(mo.Entity)
		if !ok {
			return nil
		}
		p = next.Entity().Parent
	}
	return nil
}
