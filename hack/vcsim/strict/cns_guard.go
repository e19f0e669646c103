package strict

import (
	"fmt"

	cnsmethods "github.com/vmware/govmomi/cns/methods"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// inUse is vCenter's refusal to delete a disk a VM has: ResourceInUse naming the VM.
func inUse(vctx *simulator.Context, id string) (string, types.BaseMethodFault) {
	for _, h := range holders(vctx, id) {
		name := vmName(vctx, h)
		return fmt.Sprintf("The disk %s is in use by VM %s", id, name), &types.ResourceInUse{Type: "VirtualMachine", Name: name}
	}
	return "", nil
}

// withSnapshots is the refusal of a delete or extend of a disk that has snapshots.
func withSnapshots(obj *simulator.VStorageObject) (string, types.BaseMethodFault) {
	if obj == nil || len(obj.Snapshots) == 0 {
		return "", nil
	}
	return fmt.Sprintf("The disk %s has %d snapshots; delete them first", obj.Config.Id.Id, len(obj.Snapshots)), &types.InvalidState{}
}

// refusedTask answers a CNS call on one volume with a per-volume fault.
func refusedTask(m *cnsManager, vctx *simulator.Context, name string, id cnstypes.CnsVolumeId, msg string, f types.BaseMethodFault) types.ManagedObjectReference {
	task := simulator.CreateTask(m, name, func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		r := volumeFault(id, msg, f)
		return &cnstypes.CnsVolumeOperationBatchResult{VolumeResults: []cnstypes.BaseCnsVolumeOperationResult{&r}}, nil
	})
	return task.Run(vctx)
}

// CnsDeleteVolume refuses to delete a volume a VM has, or one with snapshots. The check
// and the delete run in the task, under the volume manager's lock, as one step: an attach
// task cannot add the disk between them.
func (m *cnsManager) CnsDeleteVolume(ctx *simulator.Context, req *cnstypes.CnsDeleteVolume) soap.HasFault {
	vctx := ctx.For(vim25.Path)
	vols, ok := volumesOf(m.CnsVolumeManager)
	if !ok {
		return m.CnsVolumeManager.CnsDeleteVolume(ctx, req)
	}
	task := simulator.CreateTask(m, "CnsDeleteVolume", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		if len(req.VolumeIds) != 1 {
			return nil, &types.InvalidArgument{InvalidProperty: "volumeIds"}
		}
		id := req.VolumeIds[0]
		r := cnstypes.CnsVolumeOperationResult{VolumeId: id}
		res := &cnstypes.CnsVolumeOperationBatchResult{VolumeResults: []cnstypes.BaseCnsVolumeOperationResult{&r}}
		var rec *types.ManagedObjectReference
		for d, byID := range vols {
			if byID[id] != nil {
				rec = &d
			}
		}
		if rec == nil {
			r = volumeFault(id, "The object or item referred to could not be found", &types.NotFound{})
			return res, nil
		}
		ds, obj := fcdOf(vctx, id.Id)
		msg, f := inUse(vctx, id.Id)
		if f == nil {
			msg, f = withSnapshots(obj)
		}
		if f != nil {
			r = volumeFault(id, msg, f)
			return res, nil
		}
		delete(vols[*rec], id)
		if req.DeleteDisk && obj != nil {
			vsom := vctx.Map.VStorageObjectManager()
			body, _ := vsom.DeleteVStorageObjectTask(vctx, &types.DeleteVStorageObject_Task{This: vsom.Self, Id: types.ID{Id: id.Id}, Datastore: ds}).(*methods.DeleteVStorageObject_TaskBody)
			if body == nil || body.Res == nil {
				r = volumeFault(id, "deleting the disk failed", &types.SystemError{Reason: "delete"})
			} else if _, f := waitTask(vctx, body.Res.Returnval); f != nil {
				r = volumeFault(id, "deleting the disk failed", f)
			}
		}
		return res, nil
	})
	return &cnsmethods.CnsDeleteVolumeBody{Res: &cnstypes.CnsDeleteVolumeResponse{Returnval: task.Run(vctx)}}
}

// CnsExtendVolume refuses a volume with snapshots and grows the disk itself as well as
// CNS's record of it (the simulator changes only the record).
func (m *cnsManager) CnsExtendVolume(ctx *simulator.Context, req *cnstypes.CnsExtendVolume) soap.HasFault {
	vctx := ctx.For(vim25.Path)
	if len(req.ExtendSpecs) == 1 {
		spec := req.ExtendSpecs[0]
		ds, obj := fcdOf(vctx, spec.VolumeId.Id)
		if msg, f := withSnapshots(obj); f != nil {
			return &cnsmethods.CnsExtendVolumeBody{Res: &cnstypes.CnsExtendVolumeResponse{Returnval: refusedTask(m, vctx, "CnsExtendVolume", spec.VolumeId, msg, f)}}
		}
		if obj != nil {
			vsom := vctx.Map.VStorageObjectManager()
			body, ok := vsom.ExtendDiskTask(vctx, &types.ExtendDisk_Task{This: vsom.Self, Id: types.ID{Id: spec.VolumeId.Id}, Datastore: ds, NewCapacityInMB: spec.CapacityInMb}).(*methods.ExtendDisk_TaskBody)
			if ok && body.Res != nil {
				if t, ok := vctx.Map.Get(body.Res.Returnval).(*simulator.Task); ok {
					t.Wait()
				}
			}
		}
	}
	return m.CnsVolumeManager.CnsExtendVolume(ctx, req)
}

// DeleteVStorageObjectTask refuses, as CnsDeleteVolume does, a disk a VM has or one with
// snapshots.
func (m *fcdManager) DeleteVStorageObjectTask(ctx *simulator.Context, req *types.DeleteVStorageObject_Task) soap.HasFault {
	_, f := inUse(ctx, req.Id.Id)
	if f == nil {
		_, obj := fcdOf(ctx, req.Id.Id)
		_, f = withSnapshots(obj)
	}
	if f != nil {
		task := simulator.CreateTask(m, "deleteDisk", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) { return nil, f })
		return &methods.DeleteVStorageObject_TaskBody{Res: &types.DeleteVStorageObject_TaskResponse{Returnval: task.Run(ctx)}}
	}
	return m.VcenterVStorageObjectManager.DeleteVStorageObjectTask(ctx, req)
}

// ExtendDiskTask refuses a disk with snapshots.
func (m *fcdManager) ExtendDiskTask(ctx *simulator.Context, req *types.ExtendDisk_Task) soap.HasFault {
	_, obj := fcdOf(ctx, req.Id.Id)
	if _, f := withSnapshots(obj); f != nil {
		task := simulator.CreateTask(m, "extendDisk", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) { return nil, f })
		return &methods.ExtendDisk_TaskBody{Res: &types.ExtendDisk_TaskResponse{Returnval: task.Run(ctx)}}
	}
	return m.VcenterVStorageObjectManager.ExtendDiskTask(ctx, req)
}

// CnsCreateVolume fails a volume whose datastore is inaccessible (the simulator creates
// it there).
func (m *cnsManager) CnsCreateVolume(ctx *simulator.Context, req *cnstypes.CnsCreateVolume) soap.HasFault {
	if len(req.CreateSpecs) == 1 && len(req.CreateSpecs[0].Datastores) > 0 && m.s.fcd != nil {
		if f := m.s.fcd.refused(req.CreateSpecs[0].Datastores[0]); f != nil {
			vctx := ctx.For(vim25.Path)
			return &cnsmethods.CnsCreateVolumeBody{Res: &cnstypes.CnsCreateVolumeResponse{
				Returnval: refusedTask(m, vctx, "CnsCreateVolume", cnstypes.CnsVolumeId{}, "datastore inaccessible", f),
			}}
		}
	}
	if len(req.CreateSpecs) == 1 && m.s.fcd != nil {
		if src, ok := req.CreateSpecs[0].VolumeSource.(*cnstypes.CnsSnapshotVolumeSource); ok {
			return m.createFromSnapshot(ctx, req, src)
		}
	}
	return m.CnsVolumeManager.CnsCreateVolume(ctx, req)
}

// createFromSnapshot makes the volume's disk from the snapshot (the simulator ignores the
// source and makes a blank disk), then registers it as the volume.
func (m *cnsManager) createFromSnapshot(ctx *simulator.Context, req *cnstypes.CnsCreateVolume, src *cnstypes.CnsSnapshotVolumeSource) soap.HasFault {
	vctx := ctx.For(vim25.Path)
	spec := req.CreateSpecs[0]
	ds, obj := fcdOf(vctx, src.VolumeId.Id)
	fail := func(msg string, f types.BaseMethodFault) soap.HasFault {
		return &cnsmethods.CnsCreateVolumeBody{Res: &cnstypes.CnsCreateVolumeResponse{
			Returnval: refusedTask(m, vctx, "CnsCreateVolume", cnstypes.CnsVolumeId{}, msg, f),
		}}
	}
	if obj == nil {
		return fail("source volume not found", &cnstypes.CnsVolumeNotFoundFault{VolumeId: src.VolumeId})
	}
	body, ok := m.s.fcd.mgr.CreateDiskFromSnapshotTask(vctx, &types.CreateDiskFromSnapshot_Task{
		This: m.s.fcd.mgr.Self, Id: types.ID{Id: src.VolumeId.Id}, Datastore: ds, SnapshotId: types.ID{Id: src.SnapshotId.Id}, Name: spec.Name,
	}).(*methods.CreateDiskFromSnapshot_TaskBody)
	if !ok || body.Res == nil {
		return fail("snapshot not found", &cnstypes.CnsSnapshotNotFoundFault{VolumeId: src.VolumeId, SnapshotId: src.SnapshotId})
	}
	res, f := waitTask(vctx, body.Res.Returnval)
	made, ok := res.(*types.VStorageObject)
	if f != nil || !ok {
		return fail("creating the disk from the snapshot failed", f)
	}
	reg := *req
	reg.CreateSpecs = []cnstypes.CnsVolumeCreateSpec{spec}
	reg.CreateSpecs[0].VolumeSource = nil
	reg.CreateSpecs[0].BackingObjectDetails = &cnstypes.CnsBlockBackingDetails{BackingDiskId: made.Config.Id.Id}
	return m.CnsVolumeManager.CnsCreateVolume(ctx, &reg)
}
