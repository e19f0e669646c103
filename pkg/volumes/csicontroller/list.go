package csicontroller

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// ListVolumes lists the cluster's volumes (CNS's record of them), in ID order, with the
// nodes each is attached to, plus any attached disk CNS does not record for the cluster
// (one made before CNS was the control path): the attacher reconciles VolumeAttachments
// with this list, so an attached volume must never be missing. The token is an offset
// into that order.
func (c *Controller) ListVolumes(ctx context.Context, req *csi.ListVolumesRequest) (*csi.ListVolumesResponse, error) {
	recs, err := c.disks.ClusterVolumes(ctx)
	if err != nil {
		return nil, grpcError(err)
	}
	attached := c.attachments.DiskAttachments(nil)
	capacity := make(map[string]int64, len(recs))
	for _, r := range recs {
		capacity[r.ID] = r.CapacityMiB
	}
	for id := range attached {
		if _, ok := capacity[id]; !ok {
			d, _ := c.disks.KnownDisk(ctx, id)
			capacity[id] = d.CapacityMiB
		}
	}
	ids := slices.Sorted(maps.Keys(capacity))
	start, end, next, err := page(len(ids), req.GetStartingToken(), req.GetMaxEntries())
	if err != nil {
		return nil, err
	}
	out := &csi.ListVolumesResponse{NextToken: next}
	for _, id := range ids[start:end] {
		out.Entries = append(out.Entries, &csi.ListVolumesResponse_Entry{
			Volume: &csi.Volume{VolumeId: id, CapacityBytes: capacity[id] * mib},
			Status: &csi.ListVolumesResponse_VolumeStatus{PublishedNodeIds: attached[id]},
		})
	}
	return out, nil
}

// page turns a token and a maximum into a slice range and the next token.
func page(n int, token string, maxEntries int32) (start, end int, next string, err error) {
	if maxEntries < 0 {
		return 0, 0, "", volumes.Invalid("max_entries must not be negative")
	}
	if token != "" {
		start, err = strconv.Atoi(token)
		if err != nil || start < 0 || start > n {
			return 0, 0, "", status.Errorf(codes.Aborted, "starting_token %q is not valid", token)
		}
	}
	end = n
	if maxEntries > 0 && start+int(maxEntries) < n {
		end = start + int(maxEntries)
		next = strconv.Itoa(end)
	}
	return start, end, next, nil
}

// GetCapacity is the free space of the usable datastores that fit the parameters and
// topology. The largest single datastore bounds a single volume.
func (c *Controller) GetCapacity(ctx context.Context, req *csi.GetCapacityRequest) (*csi.GetCapacityResponse, error) {
	p, err := parseParams(req.GetParameters())
	if err != nil {
		return nil, volumes.Invalid(err.Error())
	}
	dss, err := c.placement.Datastores(ctx)
	if err != nil {
		return nil, grpcError(err)
	}
	var total, largest int64
	for _, ds := range dss {
		switch {
		case !ds.Usable:
		case p.DatastoreURL != "" && ds.URL != p.DatastoreURL:
		case p.Datastore != "" && ds.Name != p.Datastore:
		case req.GetAccessibleTopology() != nil && !reachesAny(ds, []*csi.Topology{req.GetAccessibleTopology()}):
		default:
			total += ds.FreeBytes
			largest = max(largest, ds.FreeBytes)
		}
	}
	return &csi.GetCapacityResponse{AvailableCapacity: total, MaximumVolumeSize: wrapperspb.Int64(largest)}, nil
}

// ControllerGetVolume reports a disk and its attachments. A disk this process knew and
// vCenter can no longer find (its file was removed behind Kubernetes' back) is reported
// as missing, with its last known file, rather than as never having existed. (The Go
// bindings of CSI spec v1.13.0 carry no VolumeCondition, so the message is the report.)
func (c *Controller) ControllerGetVolume(ctx context.Context, req *csi.ControllerGetVolumeRequest) (*csi.ControllerGetVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, volumes.Invalid("volume_id is required")
	}
	known, wasKnown := c.disks.KnownDisk(ctx, id)
	d, err := c.disks.Disk(ctx, id)
	switch {
	case errors.Is(err, vsphere.ErrNotFound) && wasKnown:
		volumes.MissingDisks.Inc()
		return nil, status.Errorf(codes.NotFound, "abnormal: First Class Disk %s (%s, file %s) is missing in vCenter: %v", id, known.Name, known.File, err)
	case err != nil:
		return nil, grpcError(err)
	}
	vms, _ := c.attachments.DiskConsumers(d)
	var nodes []string
	for _, vm := range vms {
		nodes = append(nodes, vm.UUID)
	}
	return &csi.ControllerGetVolumeResponse{
		Volume: &csi.Volume{VolumeId: d.ID, CapacityBytes: d.CapacityMiB * mib},
		Status: &csi.ControllerGetVolumeResponse_VolumeStatus{PublishedNodeIds: nodes},
	}, nil
}
