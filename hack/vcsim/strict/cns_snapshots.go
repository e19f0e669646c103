package strict

import (
	cnsmethods "github.com/vmware/govmomi/cns/methods"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// CNS snapshots are the disk's own snapshots, as on vCenter: the simulator keeps them in
// a map of its own that the disk never sees (so the disk's delete and extend, and a create
// from one, knew nothing of them). These three calls use the disk's snapshots.

// waitTask waits for a task a simulator call returned and gives its result or fault.
func waitTask(vctx *simulator.Context, ref types.ManagedObjectReference) (types.AnyType, types.BaseMethodFault) {
	t, ok := vctx.Map.Get(ref).(*simulator.Task)
	if !ok {
		return nil, &types.ManagedObjectNotFound{Obj: ref}
	}
	t.Wait()
	if t.Info.Error != nil {
		return nil, t.Info.Error.Fault
	}
	return t.Info.Result, nil
}

func snapshotFault(vol cnstypes.CnsVolumeId, msg string, f types.BaseMethodFault) cnstypes.CnsSnapshotOperationResult {
	return cnstypes.CnsSnapshotOperationResult{CnsVolumeOperationResult: volumeFault(vol, msg, f)}
}

// CnsCreateSnapshots snapshots each volume's disk.
func (m *cnsManager) CnsCreateSnapshots(ctx *simulator.Context, req *cnstypes.CnsCreateSnapshots) soap.HasFault {
	vctx := ctx.For(vim25.Path)
	task := simulator.CreateTask(m, "CreateSnapshots", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		if len(req.SnapshotSpecs) == 0 {
			return nil, &types.InvalidArgument{InvalidProperty: "snapshotSpecs"}
		}
		res := &cnstypes.CnsVolumeOperationBatchResult{}
		vsom := vctx.Map.VStorageObjectManager()
		for _, spec := range req.SnapshotSpecs {
			ds, obj := fcdOf(vctx, spec.VolumeId.Id)
			if obj == nil || !m.registered(ctx, spec.VolumeId.Id) {
				r := snapshotFault(spec.VolumeId, "volume not found", &cnstypes.CnsVolumeNotFoundFault{VolumeId: spec.VolumeId})
				res.VolumeResults = append(res.VolumeResults, &cnstypes.CnsSnapshotCreateResult{CnsSnapshotOperationResult: r})
				continue
			}
			body, _ := vsom.VStorageObjectCreateSnapshotTask(vctx, &types.VStorageObjectCreateSnapshot_Task{
				This: vsom.Self, Id: types.ID{Id: spec.VolumeId.Id}, Datastore: ds, Description: spec.Description,
			}).(*methods.VStorageObjectCreateSnapshot_TaskBody)
			var out types.AnyType
			f := types.BaseMethodFault(&types.SystemError{Reason: "snapshot"})
			if body != nil && body.Res != nil {
				out, f = waitTask(vctx, body.Res.Returnval)
			}
			id, ok := out.(*types.ID)
			if f != nil || !ok {
				r := snapshotFault(spec.VolumeId, "snapshot failed", f)
				res.VolumeResults = append(res.VolumeResults, &cnstypes.CnsSnapshotCreateResult{CnsSnapshotOperationResult: r})
				continue
			}
			snap := cnstypes.CnsSnapshot{SnapshotId: cnstypes.CnsSnapshotId{Id: id.Id}, VolumeId: spec.VolumeId, Description: spec.Description}
			vctx.WithLock(vsom, func() {
				for _, s := range obj.Snapshots {
					if s.Id != nil && s.Id.Id == id.Id {
						snap.CreateTime = s.CreateTime
					}
				}
			})
			res.VolumeResults = append(res.VolumeResults, &cnstypes.CnsSnapshotCreateResult{
				CnsSnapshotOperationResult: cnstypes.CnsSnapshotOperationResult{CnsVolumeOperationResult: cnstypes.CnsVolumeOperationResult{VolumeId: spec.VolumeId}},
				Snapshot:                   snap,
			})
		}
		return res, nil
	})
	return &cnsmethods.CnsCreateSnapshotsBody{Res: &cnstypes.CnsCreateSnapshotsResponse{Returnval: task.Run(vctx)}}
}

// CnsDeleteSnapshots deletes disk snapshots; a missing one is CnsSnapshotNotFoundFault
// (the simulator answers nothing for it).
func (m *cnsManager) CnsDeleteSnapshots(ctx *simulator.Context, req *cnstypes.CnsDeleteSnapshots) soap.HasFault {
	vctx := ctx.For(vim25.Path)
	task := simulator.CreateTask(m, "DeleteSnapshots", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		res := &cnstypes.CnsVolumeOperationBatchResult{}
		vsom := vctx.Map.VStorageObjectManager()
		for _, spec := range req.SnapshotDeleteSpecs {
			ds, obj := fcdOf(vctx, spec.VolumeId.Id)
			found := false
			if obj != nil {
				vctx.WithLock(vsom, func() {
					for _, s := range obj.Snapshots {
						found = found || (s.Id != nil && s.Id.Id == spec.SnapshotId.Id)
					}
				})
			}
			r := &cnstypes.CnsSnapshotDeleteResult{SnapshotId: spec.SnapshotId}
			r.VolumeId = spec.VolumeId
			switch {
			case !found:
				r.CnsSnapshotOperationResult = snapshotFault(spec.VolumeId, "snapshot not found", &cnstypes.CnsSnapshotNotFoundFault{VolumeId: spec.VolumeId, SnapshotId: spec.SnapshotId})
			default:
				body, _ := vsom.DeleteSnapshotTask(vctx, &types.DeleteSnapshot_Task{This: vsom.Self, Id: types.ID{Id: spec.VolumeId.Id}, Datastore: ds, SnapshotId: types.ID{Id: spec.SnapshotId.Id}}).(*methods.DeleteSnapshot_TaskBody)
				if body == nil || body.Res == nil {
					r.CnsSnapshotOperationResult = snapshotFault(spec.VolumeId, "delete failed", &types.SystemError{Reason: "delete snapshot"})
				} else if _, f := waitTask(vctx, body.Res.Returnval); f != nil {
					r.CnsSnapshotOperationResult = snapshotFault(spec.VolumeId, "delete failed", f)
				}
			}
			res.VolumeResults = append(res.VolumeResults, r)
		}
		return res, nil
	})
	return &cnsmethods.CnsDeleteSnapshotBody{Res: &cnstypes.CnsDeleteSnapshotsResponse{Returnval: task.Run(vctx)}}
}

// CnsQuerySnapshots lists a volume's disk snapshots (one query spec, as vCenter takes),
// one page at a time with the total, which the simulator never sets.
func (m *cnsManager) CnsQuerySnapshots(ctx *simulator.Context, req *cnstypes.CnsQuerySnapshots) soap.HasFault {
	vctx := ctx.For(vim25.Path)
	task := simulator.CreateTask(m, "QuerySnapshots", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		specs := req.SnapshotQueryFilter.SnapshotQuerySpecs
		if len(specs) != 1 {
			return nil, &types.InvalidArgument{InvalidProperty: "snapshotQuerySpecs"}
		}
		spec := specs[0]
		_, obj := fcdOf(vctx, spec.VolumeId.Id)
		if obj == nil || !m.registered(ctx, spec.VolumeId.Id) {
			return cnstypes.CnsSnapshotQueryResult{Entries: []cnstypes.CnsSnapshotQueryResultEntry{{
				Error: &types.LocalizedMethodFault{Fault: &cnstypes.CnsVolumeNotFoundFault{VolumeId: spec.VolumeId}},
			}}}, nil
		}
		var all []cnstypes.CnsSnapshotQueryResultEntry
		vctx.WithLock(vctx.Map.VStorageObjectManager(), func() {
			for _, s := range obj.Snapshots {
				if s.Id == nil || (spec.SnapshotId != nil && spec.SnapshotId.Id != "" && spec.SnapshotId.Id != s.Id.Id) {
					continue
				}
				all = append(all, cnstypes.CnsSnapshotQueryResultEntry{Snapshot: cnstypes.CnsSnapshot{
					SnapshotId: cnstypes.CnsSnapshotId{Id: s.Id.Id}, VolumeId: spec.VolumeId, Description: s.Description, CreateTime: s.CreateTime,
				}})
			}
		})
		if spec.SnapshotId != nil && spec.SnapshotId.Id != "" && len(all) == 0 {
			all = append(all, cnstypes.CnsSnapshotQueryResultEntry{Error: &types.LocalizedMethodFault{
				Fault: &cnstypes.CnsSnapshotNotFoundFault{VolumeId: spec.VolumeId, SnapshotId: *spec.SnapshotId},
			}})
		}
		cur := cnstypes.CnsCursor{Limit: 128, TotalRecords: int64(len(all))}
		if c := req.SnapshotQueryFilter.Cursor; c != nil {
			cur.Offset, cur.Limit = c.Offset, max(c.Limit, 1)
		}
		lo := min(cur.Offset, int64(len(all)))
		hi := min(lo+cur.Limit, int64(len(all)))
		return cnstypes.CnsSnapshotQueryResult{Entries: all[lo:hi], Cursor: cur}, nil
	})
	return &cnsmethods.CnsQuerySnapshotsBody{Res: &cnstypes.CnsQuerySnapshotsResponse{Returnval: task.Run(vctx)}}
}
