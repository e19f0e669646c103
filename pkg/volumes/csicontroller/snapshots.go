package csicontroller

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// A CSI snapshot ID is "<FCD ID>+<FCD snapshot ID>": vSphere needs the disk to find a
// snapshot.
const snapshotSep = "+"

func snapshotID(diskID, snapID string) string { return diskID + snapshotSep + snapID }

func parseSnapshotID(id string) (disk, snap string, ok bool) {
	disk, snap, ok = strings.Cut(id, snapshotSep)
	return disk, snap, ok && disk != "" && snap != ""
}

// snapshotNames remembers which source volume each snapshot name was taken of. vSphere
// snapshots have no name (the name goes into the description and is found there on the
// source disk); this map only lets a name reused for another volume be refused while
// this process runs.
type snapshotNames struct {
	mu     sync.Mutex
	source map[string]string
}

func (s *snapshotNames) check(name, source string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.source == nil {
		s.source = map[string]string{}
	}
	if prev, ok := s.source[name]; ok && prev != source {
		return false
	}
	s.source[name] = source
	return true
}

// CreateSnapshot snapshots a disk, idempotently by name.
func (c *Controller) CreateSnapshot(ctx context.Context, req *csi.CreateSnapshotRequest) (*csi.CreateSnapshotResponse, error) {
	if req.GetName() == "" {
		return nil, volumes.Invalid("name is required")
	}
	if req.GetSourceVolumeId() == "" {
		return nil, volumes.Invalid("source_volume_id is required")
	}
	unlock, err := c.names.Lock(ctx, "snapshot/"+req.GetName())
	if err != nil {
		return nil, grpcError(err)
	}
	defer unlock()
	if !c.snaps.check(req.GetName(), req.GetSourceVolumeId()) {
		return nil, status.Errorf(codes.AlreadyExists, "snapshot %s exists for another source volume", req.GetName())
	}
	d, err := c.disks.Disk(ctx, req.GetSourceVolumeId())
	if err != nil {
		return nil, grpcError(err)
	}
	snaps, err := c.snapshots.DiskSnapshots(ctx, d.ID)
	if err != nil {
		return nil, grpcError(err)
	}
	for _, s := range snaps {
		if s.Description == req.GetName() {
			return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(d, s)}, nil
		}
	}
	if err := c.snapshotRoom(d, snaps); err != nil {
		return nil, err
	}
	s, err := c.snapshots.CreateDiskSnapshot(ctx, d.ID, req.GetName())
	if err != nil {
		return nil, grpcError(err)
	}
	return &csi.CreateSnapshotResponse{Snapshot: csiSnapshot(d, s)}, nil
}

// DeleteSnapshot deletes a snapshot; an unknown one is success.
func (c *Controller) DeleteSnapshot(ctx context.Context, req *csi.DeleteSnapshotRequest) (*csi.DeleteSnapshotResponse, error) {
	if req.GetSnapshotId() == "" {
		return nil, volumes.Invalid("snapshot_id is required")
	}
	disk, snap, ok := parseSnapshotID(req.GetSnapshotId())
	if !ok {
		return &csi.DeleteSnapshotResponse{}, nil
	}
	if err := c.snapshots.DeleteDiskSnapshot(ctx, disk, snap); err != nil {
		return nil, grpcError(err)
	}
	return &csi.DeleteSnapshotResponse{}, nil
}

// ListSnapshots lists snapshots by ID, by source volume, or all, in a stable order.
func (c *Controller) ListSnapshots(ctx context.Context, req *csi.ListSnapshotsRequest) (*csi.ListSnapshotsResponse, error) {
	var disks []vsphere.Disk
	wantSnap := ""
	switch {
	case req.GetSnapshotId() != "":
		disk, snap, ok := parseSnapshotID(req.GetSnapshotId())
		if !ok {
			return &csi.ListSnapshotsResponse{}, nil
		}
		wantSnap = snap
		d, err := c.disks.Disk(ctx, disk)
		if errors.Is(err, vsphere.ErrNotFound) {
			return &csi.ListSnapshotsResponse{}, nil
		} else if err != nil {
			return nil, grpcError(err)
		}
		disks = []vsphere.Disk{d}
	case req.GetSourceVolumeId() != "":
		d, err := c.disks.Disk(ctx, req.GetSourceVolumeId())
		if errors.Is(err, vsphere.ErrNotFound) {
			return &csi.ListSnapshotsResponse{}, nil
		} else if err != nil {
			return nil, grpcError(err)
		}
		disks = []vsphere.Disk{d}
	default:
		var err error
		if disks, err = c.disks.Disks(ctx, false); err != nil {
			return nil, grpcError(err)
		}
	}
	var all []*csi.Snapshot
	for _, d := range disks {
		snaps, err := c.snapshots.DiskSnapshots(ctx, d.ID)
		if errors.Is(err, vsphere.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, grpcError(err)
		}
		for _, s := range snaps {
			if wantSnap == "" || s.ID == wantSnap {
				all = append(all, csiSnapshot(d, s))
			}
		}
	}
	start, end, next, err := page(len(all), req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	out := &csi.ListSnapshotsResponse{NextToken: next}
	for _, s := range all[start:end] {
		out.Entries = append(out.Entries, &csi.ListSnapshotsResponse_Entry{Snapshot: s})
	}
	return out, nil
}

// snapshotExists is NotFound unless the disk has the snapshot.
func (c *Controller) snapshotExists(ctx context.Context, diskID, snapID string) error {
	snaps, err := c.snapshots.DiskSnapshots(ctx, diskID)
	if errors.Is(err, vsphere.ErrNotFound) {
		return status.Errorf(codes.NotFound, "snapshot %s: source volume %s does not exist", snapshotID(diskID, snapID), diskID)
	}
	if err != nil {
		return grpcError(err)
	}
	for _, s := range snaps {
		if s.ID == snapID {
			return nil
		}
	}
	return status.Errorf(codes.NotFound, "snapshot %s does not exist", snapshotID(diskID, snapID))
}

func csiSnapshot(d vsphere.Disk, s vsphere.DiskSnapshot) *csi.Snapshot {
	return &csi.Snapshot{
		SnapshotId: snapshotID(d.ID, s.ID), SourceVolumeId: d.ID, SizeBytes: d.CapacityMiB * mib,
		CreationTime: timestamppb.New(s.Created), ReadyToUse: true,
	}
}
