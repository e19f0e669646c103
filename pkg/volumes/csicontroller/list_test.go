package csicontroller

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// getVolumeBackend knows some disks from its catalog; vCenter has only those in present.
type getVolumeBackend struct {
	fakeVCenter
	known   map[string]vsphere.Disk
	present map[string]bool
}

func (b *getVolumeBackend) KnownDisk(_ context.Context, id string) (vsphere.Disk, bool) {
	d, ok := b.known[id]
	return d, ok
}

func (b *getVolumeBackend) Disk(_ context.Context, id string) (vsphere.Disk, error) {
	if !b.present[id] {
		return vsphere.Disk{}, fmt.Errorf("disk %s: %w", id, vsphere.ErrNotFound)
	}
	return b.known[id], nil
}

func (b *getVolumeBackend) DiskConsumers(vsphere.Disk) ([]vsphere.VM, error) {
	return []vsphere.VM{{UUID: "4214c5e2-1111-2222-3333-444455556666"}}, nil
}

// A disk this controller knew that vCenter no longer has is reported abnormal (and
// counted); one it never knew is plain NotFound; a present one names its node.
func TestControllerGetVolumeReportsAMissingDisk(t *testing.T) {
	b := &getVolumeBackend{
		known:   map[string]vsphere.Disk{"gone": {ID: "gone", Name: "pvc-1", File: "[ds] fcd/pvc-1.vmdk"}, "here": {ID: "here", CapacityMiB: 64}},
		present: map[string]bool{"here": true},
	}
	c := NewController(ports(b))
	ctx := context.Background()
	_, err := c.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: "gone"})
	if status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "abnormal") || !strings.Contains(err.Error(), "[ds] fcd/pvc-1.vmdk") {
		t.Errorf("known but missing: %v; want NotFound saying abnormal and naming the file", err)
	}
	_, err = c.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: "never"})
	if status.Code(err) != codes.NotFound || strings.Contains(err.Error(), "abnormal") {
		t.Errorf("never known: %v; want plain NotFound", err)
	}
	res, err := c.ControllerGetVolume(ctx, &csi.ControllerGetVolumeRequest{VolumeId: "here"})
	if err != nil || res.GetVolume().GetCapacityBytes() != 64<<20 || len(res.GetStatus().GetPublishedNodeIds()) != 1 {
		t.Errorf("present: %+v, %v", res, err)
	}
}

// listBackend: CNS records v1 and v2 for the cluster; the node VMs carry v1 and v3, a disk
// CNS does not record (made before CNS was the control path).
type listBackend struct{ fakeVCenter }

func (listBackend) ClusterVolumes(context.Context) ([]vsphere.VolumeRecord, error) {
	return []vsphere.VolumeRecord{{ID: "v2", CapacityMiB: 2}, {ID: "v1", CapacityMiB: 1}}, nil
}
func (listBackend) DiskAttachments(map[string]string) map[string][]string {
	return map[string][]string{"v1": {"node-a"}, "v3": {"node-b"}}
}
func (listBackend) KnownDisk(_ context.Context, id string) (vsphere.Disk, bool) {
	return vsphere.Disk{ID: id, CapacityMiB: 3}, id == "v3"
}

// ListVolumes lists the cluster's CNS volumes and every attached disk, so that the
// attacher, which reconciles VolumeAttachments with it, never misses an attached volume.
func TestListVolumesIncludesAttachedDisksCNSDoesNotRecord(t *testing.T) {
	c := NewController(ports(listBackend{}))
	ctx := context.Background()
	var got []string
	token := ""
	for {
		res, err := c.ListVolumes(ctx, &csi.ListVolumesRequest{MaxEntries: 2, StartingToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Entries {
			got = append(got, fmt.Sprintf("%s:%d:%v", e.Volume.VolumeId, e.Volume.CapacityBytes>>20, e.Status.PublishedNodeIds))
		}
		if token = res.NextToken; token == "" {
			break
		}
	}
	if want := "v1:1:[node-a] v2:2:[] v3:3:[node-b]"; strings.Join(got, " ") != want {
		t.Fatalf("ListVolumes = %s, want %s", strings.Join(got, " "), want)
	}
}
