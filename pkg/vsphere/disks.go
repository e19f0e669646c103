package vsphere

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"
)

// Disk is a First Class Disk (FCD, also called improved virtual disk).
type Disk struct {
	// ID is the FCD ID; it is also the CSI volume ID.
	ID           string
	Name         string
	VCenter      string
	Datacenter   string
	DatastoreRef string
	Datastore    string
	// File is the datastore path of the disk's backing file, "[ds] fcd/name.vmdk".
	File              string
	CapacityMiB       int64
	KeepAfterDeleteVM bool
	Created           time.Time
}

// DiskSpec describes a disk to create.
type DiskSpec struct {
	// Name is the CSI volume name (pvc-<uid>); it names the disk and its backing file.
	Name        string
	Datastore   Datastore
	CapacityMiB int64
	// ProfileID is an SPBM storage policy ID, empty for the datastore's default.
	ProfileID string
	// Entities are recorded on the volume in CNS at create (its PV and claim, when the
	// provisioner passes them).
	Entities []VolumeEntity
	// Source, when set, is the snapshot the volume starts from.
	Source *SnapshotSource
}

// SnapshotSource names a snapshot of a volume.
type SnapshotSource struct{ VolumeID, SnapshotID string }

// ErrDiskUUIDDisabled: the VM lacks disk.EnableUUID=TRUE, so its guest cannot find disks
// by UUID.
var ErrDiskUUIDDisabled = fmt.Errorf("disk.EnableUUID is not TRUE on the VM")

// CreateDisk creates a volume with Cloud Native Storage, or returns the one that already
// has the name: from the catalog (this process's knowledge) or, failing that, from CNS
// (made by another replica or an earlier attempt). Creates of one name in this process
// run one at a time.
func (m *Manager) CreateDisk(ctx context.Context, spec DiskSpec) (Disk, error) {
	unlock, err := m.creating.Lock(ctx, spec.Name)
	if err != nil {
		return Disk{}, fmt.Errorf("%w: waiting for another create of volume %s: %w", ErrUnavailable, spec.Name, err)
	}
	defer unlock()
	if d, ok, err := m.DiskByName(ctx, spec.Name); err != nil || ok {
		return d, err
	}
	c, err := m.vCenterFor(spec.Datastore.VCenter)
	if err != nil {
		return Disk{}, err
	}
	log := klog.FromContext(ctx).WithValues("vcenter", c.vc.Name, "datastore", spec.Datastore.Name, "volumeName", spec.Name)
	if id, ok, err := m.recordedCreate(ctx, c, spec.Name); err != nil || ok {
		if err != nil {
			return Disk{}, err
		}
		return m.Disk(ctx, id)
	}
	id, found, err := m.cnsVolumeByName(ctx, c, spec.Name)
	if err != nil {
		return Disk{}, err
	}
	if found {
		log.Info("Volume exists already in Cloud Native Storage; adopting it", "volumeID", id)
	} else {
		task, err := m.cnsSubmitCreate(ctx, c, spec)
		if err != nil {
			return Disk{}, err
		}
		rec := CreateRecord{Name: spec.Name, VCenter: c.vc.Name, Task: task.Reference().Value}
		m.putRecord(ctx, rec)
		res, err := cnsResult(ctx, task)
		if err != nil {
			if ctx.Err() == nil {
				rec.Error = err.Error()
				m.putRecord(ctx, rec)
			}
			return Disk{}, fmt.Errorf("vCenter %s: creating volume %s on datastore %s: %w", c.vc.Name, spec.Name, spec.Datastore.Name, err)
		}
		id = res.GetCnsVolumeOperationResult().VolumeId.Id
		rec.VolumeID = id
		m.putRecord(ctx, rec)
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return Disk{}, err
	}
	if found {
		return m.Disk(ctx, id)
	}
	obj, err := vslmManager(client).Retrieve(ctx, dsRef(spec.Datastore.Ref), id)
	if err != nil {
		return Disk{}, fmt.Errorf("vCenter %s: reading volume %s (%s) after creating it: %w", c.vc.Name, spec.Name, id, classify(err))
	}
	d := diskFrom(c.vc.Name, spec.Datastore.Datacenter, spec.Datastore.Name, *obj)
	m.catalog.put(d)
	log.Info("Created volume", "volumeID", d.ID, "capacityMiB", d.CapacityMiB)
	return d, nil
}

// DiskByName finds a disk by name in the catalog (loading it on first use).
func (m *Manager) DiskByName(ctx context.Context, name string) (Disk, bool, error) {
	if err := m.catalog.load(ctx, m); err != nil {
		return Disk{}, false, err
	}
	return m.catalog.byNameAny(name)
}

// Disk returns the disk with the FCD ID id. ErrNotFound only when every datastore of every
// vCenter was read and none has it.
func (m *Manager) Disk(ctx context.Context, id string) (Disk, error) {
	if err := m.catalog.load(ctx, m); err != nil {
		return Disk{}, err
	}
	if d, ok := m.catalog.get(id); ok {
		nd, err := m.retrieveDisk(ctx, d)
		if !isNotFound(err) {
			return nd, err
		}
		// Not where it was: storage vMotion or Storage DRS may have moved it to another
		// datastore. Only a fresh listing of every datastore can tell it is gone.
	}
	// Not known: maybe made by another replica, imported by an administrator, or moved.
	if err := m.catalog.reload(ctx, m); err != nil {
		return Disk{}, err
	}
	if d, ok := m.catalog.get(id); ok {
		return d, nil
	}
	if err := m.catalog.unreadableErr(); err != nil {
		return Disk{}, fmt.Errorf("%w: disk %s is on no datastore that could be read, and may be on one that could not: %v", ErrUnavailable, id, err)
	}
	return Disk{}, fmt.Errorf("%w: no First Class Disk with ID %s in any vCenter", ErrNotFound, id)
}

// retrieveDisk re-reads a known disk (its size may have changed).
func (m *Manager) retrieveDisk(ctx context.Context, d Disk) (Disk, error) {
	c, err := m.vCenterFor(d.VCenter)
	if err != nil {
		return Disk{}, err
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return Disk{}, err
	}
	obj, err := vslmManager(client).Retrieve(ctx, dsRef(d.DatastoreRef), d.ID)
	if err != nil {
		err = classify(err)
		if isNotFound(err) {
			m.catalog.remove(d.ID)
		}
		return Disk{}, fmt.Errorf("vCenter %s: disk %s: %w", d.VCenter, d.ID, err)
	}
	nd := diskFrom(d.VCenter, d.Datacenter, d.Datastore, *obj)
	m.catalog.put(nd)
	return nd, nil
}

// Disks lists every known disk (from the catalog; reload to include others' changes).
func (m *Manager) Disks(ctx context.Context, reload bool) ([]Disk, error) {
	var err error
	if reload {
		err = m.catalog.reload(ctx, m)
	} else {
		err = m.catalog.load(ctx, m)
	}
	if err != nil {
		return nil, err
	}
	return m.catalog.all(), nil
}

// KnownDisk is the catalog's entry for id (loading the catalog once), without asking
// vCenter: what this process last knew of the disk, even if it is gone since.
func (m *Manager) KnownDisk(ctx context.Context, id string) (Disk, bool) {
	if err := m.catalog.load(ctx, m); err != nil {
		return Disk{}, false
	}
	return m.catalog.get(id)
}

// DeleteDisk deletes a disk and its backing file. A disk that does not exist is success.
func (m *Manager) DeleteDisk(ctx context.Context, id string) error {
	d, err := m.Disk(ctx, id)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := m.vCenterFor(d.VCenter)
	if err != nil {
		return err
	}
	registered, err := m.cnsDelete(ctx, c, d.ID)
	if err != nil {
		return err
	}
	if !registered {
		// A disk CNS does not know (created before CNS was the control path): delete the
		// disk itself.
		err = m.diskTask(ctx, d, "deleting", func(om vslmObjectManager) (*object.Task, error) {
			return om.Delete(ctx, dsRef(d.DatastoreRef), d.ID)
		})
		if err != nil && !isNotFound(err) {
			return err
		}
	}
	m.catalog.remove(id)
	m.dropRecord(ctx, d.Name)
	klog.FromContext(ctx).Info("Deleted disk", "volumeID", id, "volumeName", d.Name, "vcenter", d.VCenter)
	return nil
}

// ExtendDisk grows a disk to newMiB with CnsExtendVolume (by ID: wherever storage vMotion
// put it); a disk that is already that large is left alone. A disk CNS does not know is
// registered first.
func (m *Manager) ExtendDisk(ctx context.Context, id string, newMiB int64) (Disk, error) {
	d, err := m.Disk(ctx, id)
	if err != nil {
		return Disk{}, err
	}
	if d.CapacityMiB >= newMiB {
		return d, nil
	}
	c, err := m.vCenterFor(d.VCenter)
	if err != nil {
		return Disk{}, err
	}
	registered, err := m.cnsExtend(ctx, c, d.ID, newMiB)
	if err == nil && !registered {
		if err = m.cnsImport(ctx, c, d.ID, d.Name); err == nil {
			_, err = m.cnsExtend(ctx, c, d.ID, newMiB)
		}
	}
	if err != nil {
		return Disk{}, err
	}
	return m.Disk(ctx, id)
}

// diskTask runs one vslm task against the vCenter of d and waits for it.
func (m *Manager) diskTask(ctx context.Context, d Disk, verb string, start func(vslmObjectManager) (*object.Task, error)) error {
	c, err := m.vCenterFor(d.VCenter)
	if err != nil {
		return err
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return err
	}
	task, err := start(vslmManager(client))
	if err == nil {
		_, err = task.WaitForResult(ctx)
	}
	if err != nil {
		return fmt.Errorf("vCenter %s: %s disk %s (%s): %w", d.VCenter, verb, d.ID, d.Name, classify(err))
	}
	return nil
}

func diskFrom(vcenter, dc, dsName string, obj types.VStorageObject) Disk {
	d := Disk{
		ID: obj.Config.Id.Id, Name: obj.Config.Name, VCenter: vcenter, Datacenter: dc, Datastore: dsName,
		CapacityMiB: obj.Config.CapacityInMB, Created: obj.Config.CreateTime,
		KeepAfterDeleteVM: obj.Config.KeepAfterDeleteVm != nil && *obj.Config.KeepAfterDeleteVm,
	}
	if b, ok := obj.Config.Backing.(*types.BaseConfigInfoDiskFileBackingInfo); ok {
		d.File = b.FilePath
		d.DatastoreRef = b.Datastore.Value
	}
	return d
}

func dsRef(v string) types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "Datastore", Value: v}
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, ErrNotFound) }
