package csicontroller

import (
	"context"
	"errors"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// errNotFaked is what fakeVCenter answers for calls a test did not fake: a test that
// reaches one fails on a clear error rather than a nil-interface panic.
var errNotFaked = errors.New("not faked by this test")

// fakeVCenter implements every port with answers that fail or say nothing; each test's
// fake embeds it and overrides what the test is about.
type fakeVCenter struct{}

var (
	_ Disks       = fakeVCenter{}
	_ Attachments = fakeVCenter{}
	_ Snapshots   = fakeVCenter{}
	_ Placement   = fakeVCenter{}
)

func (fakeVCenter) CreateDisk(context.Context, vsphere.DiskSpec) (vsphere.Disk, error) {
	return vsphere.Disk{}, errNotFaked
}
func (fakeVCenter) DiskByName(context.Context, string) (vsphere.Disk, bool, error) {
	return vsphere.Disk{}, false, errNotFaked
}
func (fakeVCenter) Disk(context.Context, string) (vsphere.Disk, error) {
	return vsphere.Disk{}, errNotFaked
}
func (fakeVCenter) KnownDisk(context.Context, string) (vsphere.Disk, bool) {
	return vsphere.Disk{}, false
}
func (fakeVCenter) Disks(context.Context, bool) ([]vsphere.Disk, error) { return nil, errNotFaked }
func (fakeVCenter) ClusterVolumes(context.Context) ([]vsphere.VolumeRecord, error) {
	return nil, errNotFaked
}
func (fakeVCenter) ExtendDisk(context.Context, string, int64) (vsphere.Disk, error) {
	return vsphere.Disk{}, errNotFaked
}
func (fakeVCenter) DeleteDisk(context.Context, string) error { return errNotFaked }

func (fakeVCenter) AttachDisks(context.Context, vsphere.VM, []string) (map[string]vsphere.DiskResult, error) {
	return nil, errNotFaked
}
func (fakeVCenter) DetachDisks(context.Context, vsphere.VM, []string) (map[string]vsphere.DiskResult, error) {
	return nil, errNotFaked
}
func (fakeVCenter) DiskConsumers(vsphere.Disk) ([]vsphere.VM, error) { return nil, errNotFaked }
func (fakeVCenter) ConfirmConsumers(context.Context, vsphere.Disk, []vsphere.VM) ([]vsphere.VM, error) {
	return nil, errNotFaked
}
func (fakeVCenter) DiskUsers(context.Context, vsphere.Disk) ([]vsphere.VM, error) {
	return nil, errNotFaked
}
func (fakeVCenter) DiskAttachments(map[string]string) map[string][]string { return nil }

func (fakeVCenter) CreateDiskSnapshot(context.Context, string, string) (vsphere.DiskSnapshot, error) {
	return vsphere.DiskSnapshot{}, errNotFaked
}
func (fakeVCenter) DiskSnapshots(context.Context, string) ([]vsphere.DiskSnapshot, error) {
	return nil, errNotFaked
}
func (fakeVCenter) DeleteDiskSnapshot(context.Context, string, string) error { return errNotFaked }
func (fakeVCenter) CreateDiskFromSnapshot(context.Context, string, string, string) (vsphere.Disk, error) {
	return vsphere.Disk{}, errNotFaked
}

func (fakeVCenter) Datastores(context.Context) ([]vsphere.Datastore, error) { return nil, errNotFaked }
func (fakeVCenter) StoragePolicyID(context.Context, string, string, []string) (string, map[string]bool, error) {
	return "", nil, errNotFaked
}
func (fakeVCenter) FindNodeVM(context.Context, vsphere.NodeQuery) (vsphere.VM, error) {
	return vsphere.VM{}, errNotFaked
}

// vcenter is what every test fake is: all four ports.
type vcenter interface {
	Disks
	Attachments
	Snapshots
	Placement
}

// ports serves every port from one fake.
func ports(f vcenter) Ports {
	return Ports{Disks: f, Attachments: f, Snapshots: f, Placement: f}
}
