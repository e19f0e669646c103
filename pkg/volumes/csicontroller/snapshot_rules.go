package csicontroller

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// DefaultMaxSnapshotsPerVolume is the snapshot limit per volume, as upstream's
// global-max-snapshots-per-block-volume: every snapshot of a First Class Disk is a delta
// file its reads go through, and vSphere's own guidance is a few, short-lived.
const DefaultMaxSnapshotsPerVolume = 3

// Option configures a Controller.
type Option func(*Controller)

// MaxSnapshotsPerVolume sets the snapshot limit per volume (at least 1).
func MaxSnapshotsPerVolume(n int) Option {
	return func(c *Controller) { c.maxSnapshots = max(n, 1) }
}

// noSnapshots is FailedPrecondition when the volume has snapshots: vSphere cannot delete
// or extend a First Class Disk that has any, and saying so up front names the fix
// instead of failing in vCenter.
func (c *Controller) noSnapshots(ctx context.Context, d vsphere.Disk, verb string) error {
	snaps, err := c.snapshots.DiskSnapshots(ctx, d.ID)
	if err != nil {
		return status.Errorf(codes.Unavailable, "volume %s: cannot list its snapshots before %s it: %v", d.ID, verb, err)
	}
	if len(snaps) == 0 {
		return nil
	}
	var names []string
	for _, s := range snaps {
		names = append(names, snapshotID(d.ID, s.ID)+" ("+s.Description+")")
	}
	return status.Errorf(codes.FailedPrecondition, "volume %s has %d snapshots: %s; vSphere cannot %s a disk with snapshots: delete its VolumeSnapshots first",
		d.ID, len(snaps), strings.Join(names, ", "), verb)
}

// snapshotRoom is FailedPrecondition when the volume has reached the snapshot limit.
func (c *Controller) snapshotRoom(d vsphere.Disk, snaps []vsphere.DiskSnapshot) error {
	if len(snaps) < c.maxSnapshots {
		return nil
	}
	return status.Errorf(codes.FailedPrecondition, "volume %s has %d snapshots, the limit per volume (cloud-controller --csi-max-snapshots-per-volume=%d); delete one first",
		d.ID, len(snaps), c.maxSnapshots)
}
