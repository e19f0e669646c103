package csicontroller

import (
	"context"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// usedBackend is a replica whose own watch saw no attach, while vCenter knows one.
type usedBackend struct {
	snapBackend
}

func (b *usedBackend) DiskConsumers(vsphere.Disk) ([]vsphere.VM, error) { return nil, nil }
func (b *usedBackend) DiskUsers(context.Context, vsphere.Disk) ([]vsphere.VM, error) {
	return []vsphere.VM{{Name: "worker-1", Ref: "vm-42"}}, nil
}

// Delete asks vCenter who uses the disk now; the replica's own watch vouches for nothing.
func TestDeleteAsksVCenterWhoUsesTheDisk(t *testing.T) {
	b := &usedBackend{}
	_, err := NewController(ports(b)).DeleteVolume(context.Background(), &csi.DeleteVolumeRequest{VolumeId: "d1"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "worker-1") || b.deleted {
		t.Errorf("delete of a disk vCenter says worker-1 uses: %v (deleted %v); want FailedPrecondition naming worker-1", err, b.deleted)
	}
}
