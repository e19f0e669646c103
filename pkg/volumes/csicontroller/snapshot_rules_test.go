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

// snapBackend has one detached disk "d1" of 64 MiB with the snapshots in snaps.
type snapBackend struct {
	fakeVCenter
	snaps    []vsphere.DiskSnapshot
	deleted  bool
	extended bool
}

func (b *snapBackend) Disk(_ context.Context, id string) (vsphere.Disk, error) {
	if id != "d1" {
		return vsphere.Disk{}, fmt.Errorf("%w: %s", vsphere.ErrNotFound, id)
	}
	return vsphere.Disk{ID: "d1", Name: "pvc-1", CapacityMiB: 64}, nil
}
func (b *snapBackend) DiskUsers(context.Context, vsphere.Disk) ([]vsphere.VM, error) { return nil, nil }
func (b *snapBackend) DiskSnapshots(context.Context, string) ([]vsphere.DiskSnapshot, error) {
	return b.snaps, nil
}
func (b *snapBackend) DeleteDisk(context.Context, string) error { b.deleted = true; return nil }
func (b *snapBackend) ExtendDisk(_ context.Context, _ string, n int64) (vsphere.Disk, error) {
	b.extended = true
	return vsphere.Disk{ID: "d1", CapacityMiB: n}, nil
}
func (b *snapBackend) CreateDiskSnapshot(_ context.Context, _ string, desc string) (vsphere.DiskSnapshot, error) {
	s := vsphere.DiskSnapshot{ID: fmt.Sprintf("s%d", len(b.snaps)+1), DiskID: "d1", Description: desc}
	b.snaps = append(b.snaps, s)
	return s, nil
}

// A volume with snapshots is neither deleted nor extended: FailedPrecondition up front,
// naming the snapshots and the fix; without snapshots both go ahead.
func TestDeleteAndExpandRefusedWithSnapshots(t *testing.T) {
	ctx := context.Background()
	b := &snapBackend{snaps: []vsphere.DiskSnapshot{{ID: "s1", DiskID: "d1", Description: "nightly"}}}
	c := NewController(ports(b))
	_, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "d1"})
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "d1+s1 (nightly)") || !strings.Contains(err.Error(), "delete its VolumeSnapshots first") || b.deleted {
		t.Errorf("delete with a snapshot: %v (deleted %v); want FailedPrecondition naming d1+s1 and the fix", err, b.deleted)
	}
	grow := &csi.ControllerExpandVolumeRequest{VolumeId: "d1", CapacityRange: &csi.CapacityRange{RequiredBytes: 128 << 20}}
	_, err = c.ControllerExpandVolume(ctx, grow)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "cannot extend") || b.extended {
		t.Errorf("expand with a snapshot: %v (extended %v); want FailedPrecondition", err, b.extended)
	}
	// The size it has already: nothing to refuse.
	same := &csi.ControllerExpandVolumeRequest{VolumeId: "d1", CapacityRange: &csi.CapacityRange{RequiredBytes: 64 << 20}}
	if _, err := c.ControllerExpandVolume(ctx, same); err != nil {
		t.Errorf("expand to the current size with a snapshot: %v", err)
	}
	b.snaps = nil
	if _, err := c.ControllerExpandVolume(ctx, grow); err != nil || !b.extended {
		t.Errorf("expand without snapshots: %v", err)
	}
	if _, err := c.DeleteVolume(ctx, &csi.DeleteVolumeRequest{VolumeId: "d1"}); err != nil || !b.deleted {
		t.Errorf("delete without snapshots: %v", err)
	}
}

// A volume takes at most the configured number of snapshots (default 3); asking again
// for one that exists is still answered.
func TestSnapshotLimitPerVolume(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		opts []Option
		max  int
	}{{nil, 3}, {[]Option{MaxSnapshotsPerVolume(5)}, 5}} {
		b := &snapBackend{}
		c := NewController(ports(b), tc.opts...)
		for i := range tc.max {
			if _, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: fmt.Sprintf("snap-%d", i), SourceVolumeId: "d1"}); err != nil {
				t.Fatalf("snapshot %d of %d: %v", i+1, tc.max, err)
			}
		}
		_, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "one-too-many", SourceVolumeId: "d1"})
		if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), fmt.Sprintf("--csi-max-snapshots-per-volume=%d", tc.max)) {
			t.Errorf("snapshot beyond %d: %v; want FailedPrecondition naming the flag", tc.max, err)
		}
		if _, err := c.CreateSnapshot(ctx, &csi.CreateSnapshotRequest{Name: "snap-0", SourceVolumeId: "d1"}); err != nil {
			t.Errorf("an existing snapshot asked for again at the limit: %v", err)
		}
	}
}
