package controller

import (
	"context"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// Backend is what the controller service needs from vCenter; *vsphere.Manager implements
// it. It is an interface so that pure request logic can be tested without a simulator.
type Backend interface {
	Datastores(ctx context.Context) ([]vsphere.Datastore, error)
	StoragePolicyID(ctx context.Context, vcenter, name string, datastores []string) (string, map[string]bool, error)
	CreateDisk(ctx context.Context, spec vsphere.DiskSpec) (vsphere.Disk, error)
	DiskByName(ctx context.Context, name string) (vsphere.Disk, bool, error)
	Disk(ctx context.Context, id string) (vsphere.Disk, error)
	Disks(ctx context.Context, reload bool) ([]vsphere.Disk, error)
	ClusterVolumes(ctx context.Context) ([]vsphere.VolumeRecord, error)
	KnownDisk(ctx context.Context, id string) (vsphere.Disk, bool)
	DeleteDisk(ctx context.Context, id string) error
	ExtendDisk(ctx context.Context, id string, newMiB int64) (vsphere.Disk, error)
	DiskConsumers(d vsphere.Disk) ([]vsphere.VM, error)
	DiskUsers(ctx context.Context, d vsphere.Disk) ([]vsphere.VM, error)
	ConfirmConsumers(ctx context.Context, d vsphere.Disk, vms []vsphere.VM) ([]vsphere.VM, error)
	DiskAttachments(files map[string]string) map[string][]string
	CreateDiskSnapshot(ctx context.Context, diskID, description string) (vsphere.DiskSnapshot, error)
	DiskSnapshots(ctx context.Context, diskID string) ([]vsphere.DiskSnapshot, error)
	DeleteDiskSnapshot(ctx context.Context, diskID, snapshotID string) error
	CreateDiskFromSnapshot(ctx context.Context, diskID, snapshotID, name string) (vsphere.Disk, error)
	FindNodeVM(ctx context.Context, q vsphere.NodeQuery) (vsphere.VM, error)
	TrackDisks(vm vsphere.VM)
	AttachDisks(ctx context.Context, vm vsphere.VM, diskIDs []string) (map[string]vsphere.Attachment, error)
	DetachDisks(ctx context.Context, vm vsphere.VM, diskIDs []string) (map[string]error, error)
}

var _ Backend = (*vsphere.Manager)(nil)
