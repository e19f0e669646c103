package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/cns"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/vim25/types"
)

// Snapshots go through CNS (CnsCreateSnapshots, CnsQuerySnapshots, CnsDeleteSnapshots,
// and CnsCreateVolume from a snapshot), as upstream does; they are the volume's disk's own
// snapshots. vSphere has no snapshot names, so the caller puts its idempotency key in
// the description and looks there first (DiskSnapshots).

// snapshotPage is how many snapshots one query returns (upstream's limit; vSphere keeps
// at most 32 per disk).
const snapshotPage = 128

// CreateDiskSnapshot snapshots a volume.
func (m *Manager) CreateDiskSnapshot(ctx context.Context, diskID, description string) (DiskSnapshot, error) {
	d, c, cc, err := m.cnsOfDisk(ctx, diskID)
	if err != nil {
		return DiskSnapshot{}, err
	}
	task, err := cc.CreateSnapshots(ctx, []cnstypes.CnsSnapshotCreateSpec{{VolumeId: cnstypes.CnsVolumeId{Id: d.ID}, Description: description}})
	var res cnstypes.BaseCnsVolumeOperationResult
	if err == nil {
		res, err = cnsResult(ctx, task)
	}
	if err != nil {
		return DiskSnapshot{}, fmt.Errorf("vCenter %s: snapshotting volume %s: %w", c.vc.Name, d.ID, classify(err))
	}
	r, ok := res.(*cnstypes.CnsSnapshotCreateResult)
	if !ok {
		return DiskSnapshot{}, fmt.Errorf("%w: vCenter %s: CnsCreateSnapshots answered %T", ErrUnavailable, c.vc.Name, res)
	}
	return DiskSnapshot{ID: r.Snapshot.SnapshotId.Id, DiskID: d.ID, Description: description, Created: r.Snapshot.CreateTime}, nil
}

// DiskSnapshots lists a volume's snapshots.
func (m *Manager) DiskSnapshots(ctx context.Context, diskID string) ([]DiskSnapshot, error) {
	d, c, cc, err := m.cnsOfDisk(ctx, diskID)
	if err != nil {
		return nil, err
	}
	var out []DiskSnapshot
	for offset := int64(0); ; {
		task, err := cc.QuerySnapshots(ctx, cnstypes.CnsSnapshotQueryFilter{
			SnapshotQuerySpecs: []cnstypes.CnsSnapshotQuerySpec{{VolumeId: cnstypes.CnsVolumeId{Id: d.ID}}},
			Cursor:             &cnstypes.CnsCursor{Offset: offset, Limit: snapshotPage},
		})
		var res *cnstypes.CnsSnapshotQueryResult
		if err == nil {
			var info *types.TaskInfo
			if info, err = cns.GetTaskInfo(ctx, task); err == nil {
				res, err = cns.GetQuerySnapshotsTaskResult(ctx, info)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("vCenter %s: listing snapshots of volume %s: %w", c.vc.Name, d.ID, classify(err))
		}
		for _, e := range res.Entries {
			if e.Error != nil {
				if fault.Is(e.Error.Fault, &cnstypes.CnsVolumeNotFoundFault{}) {
					return nil, fmt.Errorf("%w: vCenter %s: volume %s is not a CNS volume", ErrNotFound, c.vc.Name, d.ID)
				}
				return nil, fmt.Errorf("%w: vCenter %s: listing snapshots of volume %s: %s", ErrUnavailable, c.vc.Name, d.ID, e.Error.LocalizedMessage)
			}
			s := e.Snapshot
			out = append(out, DiskSnapshot{ID: s.SnapshotId.Id, DiskID: d.ID, Description: s.Description, Created: s.CreateTime})
		}
		offset += int64(len(res.Entries))
		if len(res.Entries) == 0 || offset >= res.Cursor.TotalRecords {
			return out, nil
		}
	}
}

// DeleteDiskSnapshot deletes a snapshot; a snapshot (or volume) that does not exist is
// success.
func (m *Manager) DeleteDiskSnapshot(ctx context.Context, diskID, snapshotID string) error {
	d, c, cc, err := m.cnsOfDisk(ctx, diskID)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	task, err := cc.DeleteSnapshots(ctx, []cnstypes.CnsSnapshotDeleteSpec{{VolumeId: cnstypes.CnsVolumeId{Id: d.ID}, SnapshotId: cnstypes.CnsSnapshotId{Id: snapshotID}}})
	if err == nil {
		_, err = cnsResult(ctx, task)
	}
	if err != nil && !isNotFound(err) && !fault.Is(err, &cnstypes.CnsSnapshotNotFoundFault{}) {
		return fmt.Errorf("vCenter %s: deleting snapshot %s of volume %s: %w", c.vc.Name, snapshotID, d.ID, classify(err))
	}
	return nil
}

// CreateDiskFromSnapshot creates volume name from a snapshot, on the snapshot's volume's
// datastore with its size, with the same idempotency as CreateDisk.
func (m *Manager) CreateDiskFromSnapshot(ctx context.Context, diskID, snapshotID, name string) (Disk, error) {
	src, err := m.Disk(ctx, diskID)
	if err != nil {
		return Disk{}, err
	}
	ds := Datastore{VCenter: src.VCenter, Datacenter: src.Datacenter, Name: src.Datastore, Ref: src.DatastoreRef}
	return m.CreateDisk(ctx, DiskSpec{Name: name, Datastore: ds, CapacityMiB: src.CapacityMiB, Source: &SnapshotSource{VolumeID: src.ID, SnapshotID: snapshotID}})
}

// cnsOfDisk finds a volume's vCenter and its CNS client.
func (m *Manager) cnsOfDisk(ctx context.Context, id string) (Disk, *vCenter, *cns.Client, error) {
	d, err := m.Disk(ctx, id)
	if err != nil {
		return Disk{}, nil, nil, err
	}
	c, err := m.vCenterFor(d.VCenter)
	if err != nil {
		return Disk{}, nil, nil, err
	}
	cc, _, err := m.cnsFor(ctx, c)
	if err != nil {
		return Disk{}, nil, nil, err
	}
	return d, c, cc, nil
}
