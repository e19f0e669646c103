package vsphere

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/pbm"
	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// DiskSnapshot is a snapshot of a First Class Disk.
type DiskSnapshot struct {
	ID          string
	DiskID      string
	Description string
	Created     time.Time
}

// CreateDiskSnapshot snapshots a disk. vSphere has no snapshot names, so the caller
// puts its idempotency key in the description and looks there first (DiskSnapshots).
func (m *Manager) CreateDiskSnapshot(ctx context.Context, diskID, description string) (DiskSnapshot, error) {
	d, err := m.Disk(ctx, diskID)
	if err != nil {
		return DiskSnapshot{}, err
	}
	c, err := m.cacheFor(d.VCenter)
	if err != nil {
		return DiskSnapshot{}, err
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return DiskSnapshot{}, err
	}
	task, err := vslmManager(client).CreateSnapshot(ctx, dsRef(d.DatastoreRef), d.ID, description)
	var info *types.TaskInfo
	if err == nil {
		info, err = task.WaitForResult(ctx)
	}
	if err != nil {
		return DiskSnapshot{}, fmt.Errorf("vCenter %s: snapshotting disk %s: %w", d.VCenter, d.ID, classify(err))
	}
	id, ok := info.Result.(types.ID)
	if !ok {
		return DiskSnapshot{}, fmt.Errorf("%w: vCenter %s: createSnapshot returned %T", ErrUnavailable, d.VCenter, info.Result)
	}
	return DiskSnapshot{ID: id.Id, DiskID: d.ID, Description: description, Created: time.Now()}, nil
}

// DiskSnapshots lists a disk's snapshots.
func (m *Manager) DiskSnapshots(ctx context.Context, diskID string) ([]DiskSnapshot, error) {
	d, err := m.Disk(ctx, diskID)
	if err != nil {
		return nil, err
	}
	return m.snapshotsOf(ctx, d)
}

func (m *Manager) snapshotsOf(ctx context.Context, d Disk) ([]DiskSnapshot, error) {
	c, err := m.cacheFor(d.VCenter)
	if err != nil {
		return nil, err
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return nil, err
	}
	info, err := vslmManager(client).RetrieveSnapshotInfo(ctx, dsRef(d.DatastoreRef), d.ID)
	if err != nil {
		return nil, fmt.Errorf("vCenter %s: listing snapshots of disk %s: %w", d.VCenter, d.ID, classify(err))
	}
	out := make([]DiskSnapshot, 0, len(info.Snapshots))
	for _, s := range info.Snapshots {
		if s.Id == nil {
			continue
		}
		out = append(out, DiskSnapshot{ID: s.Id.Id, DiskID: d.ID, Description: s.Description, Created: s.CreateTime})
	}
	return out, nil
}

// DeleteDiskSnapshot deletes a snapshot; a snapshot (or disk) that does not exist is
// success.
func (m *Manager) DeleteDiskSnapshot(ctx context.Context, diskID, snapshotID string) error {
	d, err := m.Disk(ctx, diskID)
	if err == nil {
		var snaps []DiskSnapshot
		snaps, err = m.snapshotsOf(ctx, d)
		if err == nil && !slices.ContainsFunc(snaps, func(s DiskSnapshot) bool { return s.ID == snapshotID }) {
			return nil
		}
	}
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return m.diskTask(ctx, d, "deleting snapshot "+snapshotID+" of", func(om vslmObjectManager) (*object.Task, error) {
		return om.DeleteSnapshot(ctx, dsRef(d.DatastoreRef), d.ID, snapshotID)
	})
}

// StoragePolicyID resolves an SPBM storage policy name in the vCenter, and the datastore
// refs (of the given ones) that are compatible with it.
func (m *Manager) StoragePolicyID(ctx context.Context, vcenter, name string, datastores []string) (string, map[string]bool, error) {
	c, err := m.cacheFor(vcenter)
	if err != nil {
		return "", nil, err
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return "", nil, err
	}
	pc, err := pbm.NewClient(ctx, client)
	if err != nil {
		return "", nil, fmt.Errorf("vCenter %s: storage policy service (SPBM): %w", vcenter, classify(err))
	}
	id, err := pc.ProfileIDByName(ctx, name)
	if err != nil {
		return "", nil, fmt.Errorf("%w: vCenter %s: storage policy %q: %w", ErrNotFound, vcenter, name, err)
	}
	hubs := make([]pbmtypes.PbmPlacementHub, 0, len(datastores))
	for _, ds := range datastores {
		hubs = append(hubs, pbmtypes.PbmPlacementHub{HubType: "Datastore", HubId: ds})
	}
	req := []pbmtypes.BasePbmPlacementRequirement{&pbmtypes.PbmPlacementCapabilityProfileRequirement{
		ProfileId: pbmtypes.PbmProfileId{UniqueId: id},
	}}
	res, err := pc.CheckRequirements(ctx, hubs, nil, req)
	if err != nil {
		return "", nil, fmt.Errorf("vCenter %s: checking datastores against storage policy %q: %w", vcenter, name, classify(err))
	}
	ok := map[string]bool{}
	for _, h := range res.CompatibleDatastores() {
		ok[h.HubId] = true
	}
	return id, ok, nil
}

// CreateDiskFromSnapshot creates a new disk named name from a snapshot, on the source
// disk's datastore, and registers it as a volume in Cloud Native Storage; or returns the
// disk that already has the name (in the catalog, or in CNS).
func (m *Manager) CreateDiskFromSnapshot(ctx context.Context, diskID, snapshotID, name string) (Disk, error) {
	unlock, err := m.creating.Lock(ctx, name)
	if err != nil {
		return Disk{}, fmt.Errorf("%w: waiting for another create of volume %s: %w", ErrUnavailable, name, err)
	}
	defer unlock()
	src, err := m.Disk(ctx, diskID)
	if err != nil {
		return Disk{}, err
	}
	c, err := m.cacheFor(src.VCenter)
	if err != nil {
		return Disk{}, err
	}
	if d, ok, err := m.DiskByName(ctx, name); err != nil {
		return Disk{}, err
	} else if ok {
		// Made by an earlier attempt, which may have ended before registering it.
		return d, m.cnsImport(ctx, c, d.ID, name)
	}
	if id, ok, err := m.cnsVolumeByName(ctx, c, name); err != nil {
		return Disk{}, err
	} else if ok {
		return m.Disk(ctx, id)
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return Disk{}, err
	}
	res, err := methods.CreateDiskFromSnapshot_Task(ctx, client, &types.CreateDiskFromSnapshot_Task{
		This: *client.ServiceContent.VStorageObjectManager, Id: types.ID{Id: src.ID}, Datastore: dsRef(src.DatastoreRef),
		SnapshotId: types.ID{Id: snapshotID}, Name: name,
	})
	var info *types.TaskInfo
	if err == nil {
		info, err = object.NewTask(client, res.Returnval).WaitForResult(ctx)
	}
	if err != nil {
		return Disk{}, fmt.Errorf("vCenter %s: creating disk %s from snapshot %s of disk %s: %w", src.VCenter, name, snapshotID, src.ID, classify(err))
	}
	obj, ok := info.Result.(types.VStorageObject)
	if !ok {
		return Disk{}, fmt.Errorf("%w: vCenter %s: createDiskFromSnapshot returned %T", ErrUnavailable, src.VCenter, info.Result)
	}
	d := diskFrom(src.VCenter, src.Datacenter, src.Datastore, obj)
	m.catalog.put(d)
	if err := m.cnsImport(ctx, c, d.ID, name); err != nil {
		return Disk{}, err
	}
	return d, nil
}
