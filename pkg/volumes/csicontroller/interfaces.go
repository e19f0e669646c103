package csicontroller

import (
	"context"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// The controller service reaches vCenter through four role ports in domain words;
// *vsphere.Manager implements all of them (ManagerPorts). Errors wrap the sentinels of
// pkg/vsphere (ErrNotFound, ErrInUse, ErrUnavailable, ...), which grpcError maps to gRPC
// codes in one place.

// Disks creates, finds, grows and deletes First Class Disks registered as CNS volumes.
type Disks interface {
	// CreateDisk creates a disk and registers it in CNS. It is idempotent by spec.Name:
	// a retry after a lost answer returns the disk the first call made.
	CreateDisk(ctx context.Context, spec vsphere.DiskSpec) (vsphere.Disk, error)
	// DiskByName finds a disk by name in the catalog (read from vCenter on first use).
	DiskByName(ctx context.Context, name string) (d vsphere.Disk, found bool, err error)
	// Disk reads one disk from vCenter; ErrNotFound only when vCenter proved it gone.
	Disk(ctx context.Context, id string) (vsphere.Disk, error)
	// KnownDisk answers from the catalog without calling vCenter; false when the catalog
	// has not seen id.
	KnownDisk(ctx context.Context, id string) (vsphere.Disk, bool)
	// Disks lists every disk the catalog knows; reload re-reads it from vCenter first.
	Disks(ctx context.Context, reload bool) ([]vsphere.Disk, error)
	// ClusterVolumes lists CNS's records of this cluster's volumes.
	ClusterVolumes(ctx context.Context) ([]vsphere.VolumeRecord, error)
	// ExtendDisk grows a detached disk to newMiB.
	ExtendDisk(ctx context.Context, id string, newMiB int64) (vsphere.Disk, error)
	// DeleteDisk deletes a disk; one already gone is a success.
	DeleteDisk(ctx context.Context, id string) error
}

// Attachments attaches disks to node VMs and tells which VMs have a disk.
type Attachments interface {
	// AttachDisks attaches disks to vm in one batch. Each disk's outcome is in the map;
	// the error is for a failure of the whole batch. A disk vm has already succeeds.
	AttachDisks(ctx context.Context, vm vsphere.VM, diskIDs []string) (map[string]vsphere.DiskResult, error)
	// DetachDisks detaches disks from vm in one batch and answers as AttachDisks does. A
	// disk vm does not have (in vCenter's answer now) is detached already: success.
	DetachDisks(ctx context.Context, vm vsphere.VM, diskIDs []string) (map[string]vsphere.DiskResult, error)
	// DiskConsumers is which node VMs have d according to the disk watch; the error is
	// non-nil when the watch cannot vouch, and an empty answer then proves nothing.
	DiskConsumers(d vsphere.Disk) ([]vsphere.VM, error)
	// ConfirmConsumers asks vCenter which of vms have d now.
	ConfirmConsumers(ctx context.Context, d vsphere.Disk, vms []vsphere.VM) ([]vsphere.VM, error)
	// DiskUsers asks vCenter which VMs have d now (delete and expand decide on it).
	DiskUsers(ctx context.Context, d vsphere.Disk) ([]vsphere.VM, error)
	// DiskAttachments maps disk IDs to the BIOS UUIDs of the node VMs that have them,
	// from the disk watch, for disks matched by ID or by a file in files (path to ID).
	DiskAttachments(files map[string]string) map[string][]string
}

// Snapshots takes, lists and deletes CNS snapshots of a disk, and makes disks from them.
type Snapshots interface {
	// CreateDiskSnapshot snapshots diskID. Idempotency is the caller's: it looks for an
	// earlier snapshot with the same description first.
	CreateDiskSnapshot(ctx context.Context, diskID, description string) (vsphere.DiskSnapshot, error)
	// DiskSnapshots lists the snapshots of diskID.
	DiskSnapshots(ctx context.Context, diskID string) ([]vsphere.DiskSnapshot, error)
	// DeleteDiskSnapshot deletes one snapshot; one already gone is a success.
	DeleteDiskSnapshot(ctx context.Context, diskID, snapshotID string) error
	// CreateDiskFromSnapshot makes a disk named name from a snapshot, idempotently by name.
	CreateDiskFromSnapshot(ctx context.Context, diskID, snapshotID, name string) (vsphere.Disk, error)
}

// Placement answers where volumes may go and where a node is.
type Placement interface {
	// Datastores lists the datastores volumes may be placed on, with their topology.
	Datastores(ctx context.Context) ([]vsphere.Datastore, error)
	// StoragePolicyID resolves a storage policy name in a vCenter, and says which of
	// datastores (references) are compatible with it.
	StoragePolicyID(ctx context.Context, vcenter, name string, datastores []string) (string, map[string]bool, error)
	// FindNodeVM finds a node's VM in the inventory.
	FindNodeVM(ctx context.Context, q vsphere.NodeQuery) (vsphere.VM, error)
}

// Ports are the controller service's ways to vCenter.
type Ports struct {
	Disks       Disks
	Attachments Attachments
	Snapshots   Snapshots
	Placement   Placement
}

// ManagerPorts is every port served by one vsphere.Manager.
func ManagerPorts(m *vsphere.Manager) Ports {
	return Ports{Disks: m, Attachments: m, Snapshots: m, Placement: m}
}
