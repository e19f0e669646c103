package csicontroller

import (
	"context"
	"errors"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// Controller is the CSI Controller service.
type Controller struct {
	csi.UnimplementedControllerServer
	disks       Disks
	attachments Attachments
	snapshots   Snapshots
	placement   Placement
	names       *volumes.KeyedMutex // CreateVolume and CreateSnapshot, by name
	ids         *volumes.KeyedMutex // delete and expand, by volume ID
	attach      *batcher
	snaps       snapshotNames
	// maxSnapshots is the snapshot limit per volume.
	maxSnapshots int
}

// NewController returns the controller service over p.
func NewController(p Ports, opts ...Option) *Controller {
	c := &Controller{disks: p.Disks, attachments: p.Attachments, snapshots: p.Snapshots, placement: p.Placement,
		names: volumes.NewKeyedMutex(), ids: volumes.NewKeyedMutex(), attach: newBatcher(p.Attachments),
		maxSnapshots: DefaultMaxSnapshotsPerVolume}
	for _, o := range opts {
		o(c)
	}
	return c
}

// ControllerGetCapabilities lists what the controller does.
func (c *Controller) ControllerGetCapabilities(context.Context, *csi.ControllerGetCapabilitiesRequest) (*csi.ControllerGetCapabilitiesResponse, error) {
	var caps []*csi.ControllerServiceCapability
	for _, t := range []csi.ControllerServiceCapability_RPC_Type{
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_VOLUME,
		csi.ControllerServiceCapability_RPC_PUBLISH_UNPUBLISH_VOLUME,
		csi.ControllerServiceCapability_RPC_LIST_VOLUMES,
		csi.ControllerServiceCapability_RPC_LIST_VOLUMES_PUBLISHED_NODES,
		csi.ControllerServiceCapability_RPC_GET_CAPACITY,
		csi.ControllerServiceCapability_RPC_CREATE_DELETE_SNAPSHOT,
		csi.ControllerServiceCapability_RPC_LIST_SNAPSHOTS,
		csi.ControllerServiceCapability_RPC_EXPAND_VOLUME,
		csi.ControllerServiceCapability_RPC_GET_VOLUME,
		csi.ControllerServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
	} {
		caps = append(caps, &csi.ControllerServiceCapability{Type: &csi.ControllerServiceCapability_Rpc{Rpc: &csi.ControllerServiceCapability_RPC{Type: t}}})
	}
	return &csi.ControllerGetCapabilitiesResponse{Capabilities: caps}, nil
}

// CreateVolume creates a First Class Disk, idempotently by name.
func (c *Controller) CreateVolume(ctx context.Context, req *csi.CreateVolumeRequest) (*csi.CreateVolumeResponse, error) {
	if req.GetName() == "" {
		return nil, volumes.Invalid("name is required")
	}
	if err := volumes.CheckCapabilities(req.GetVolumeCapabilities()); err != nil {
		return nil, err
	}
	p, err := parseParams(req.GetParameters())
	if err != nil {
		return nil, volumes.Invalid(err.Error())
	}
	size, err := sizeMiB(req.GetCapacityRange())
	if err != nil {
		var oor outOfRange
		if errors.As(err, &oor) {
			return nil, status.Error(codes.OutOfRange, err.Error())
		}
		return nil, volumes.Invalid(err.Error())
	}
	if req.GetVolumeContentSource().GetVolume() != nil {
		return nil, volumes.Invalid("volume_content_source: cloning volumes is not supported; take a snapshot and create from it")
	}
	unlock, err := c.names.Lock(ctx, req.GetName())
	if err != nil {
		return nil, grpcError(err)
	}
	defer unlock()
	log := klog.FromContext(ctx).WithValues("volumeName", req.GetName())

	existing, found, err := c.disks.DiskByName(ctx, req.GetName())
	if err != nil {
		return nil, grpcError(err)
	}
	if found {
		limit := req.GetCapacityRange().GetLimitBytes()
		if existing.CapacityMiB*mib < req.GetCapacityRange().GetRequiredBytes() || (limit > 0 && existing.CapacityMiB*mib > limit) {
			return nil, status.Errorf(codes.AlreadyExists, "volume %s exists with %d MiB, which does not fit the requested capacity range", req.GetName(), existing.CapacityMiB)
		}
		log.V(2).Info("Volume exists already", "volumeID", existing.ID)
		return c.volumeResponse(ctx, existing, req, nil)
	}

	var d vsphere.Disk
	var dss []vsphere.Datastore
	if snap := req.GetVolumeContentSource().GetSnapshot(); snap != nil {
		diskID, snapID, ok := parseSnapshotID(snap.GetSnapshotId())
		if !ok {
			return nil, status.Errorf(codes.NotFound, "snapshot %q does not exist", snap.GetSnapshotId())
		}
		if err := c.snapshotExists(ctx, diskID, snapID); err != nil {
			return nil, err
		}
		d, err = c.snapshots.CreateDiskFromSnapshot(ctx, diskID, snapID, req.GetName())
	} else {
		d, dss, err = c.createDisk(ctx, req.GetName(), p, size, req.GetAccessibilityRequirements())
	}
	if err != nil {
		return nil, grpcError(err)
	}
	if d.CapacityMiB < size {
		if d, err = c.disks.ExtendDisk(ctx, d.ID, size); err != nil {
			return nil, grpcError(err)
		}
	}
	return c.volumeResponse(ctx, d, req, dss)
}

// createDisk chooses a datastore and creates the disk; it returns the datastores it read,
// for the response's topology.
func (c *Controller) createDisk(ctx context.Context, name string, p params, size int64, topo *csi.TopologyRequirement) (vsphere.Disk, []vsphere.Datastore, error) {
	dss, err := c.placement.Datastores(ctx)
	if err != nil {
		return vsphere.Disk{}, nil, err
	}
	var compatible map[string]bool
	var profile string
	if p.Policy != "" {
		// A policy is resolved per vCenter; the datastores of the first vCenter that
		// knows it are the candidates.
		byVC := map[string][]string{}
		var order []string
		for _, ds := range dss {
			if _, ok := byVC[ds.VCenter]; !ok {
				order = append(order, ds.VCenter)
			}
			byVC[ds.VCenter] = append(byVC[ds.VCenter], ds.Ref)
		}
		var lastErr error
		for _, vc := range order {
			id, ok, err := c.placement.StoragePolicyID(ctx, vc, p.Policy, byVC[vc])
			if err != nil {
				lastErr = err
				continue
			}
			profile, compatible = id, ok
			break
		}
		if profile == "" {
			return vsphere.Disk{}, nil, status.Errorf(codes.InvalidArgument, "StorageClass parameter %s %q: %v", volumes.ParamPolicy, p.Policy, lastErr)
		}
	}
	ds, err := chooseDatastore(dss, p, topo, size*mib, compatible)
	if err != nil {
		if errors.Is(err, vsphere.ErrNotFound) || errors.Is(err, vsphere.ErrAmbiguous) {
			return vsphere.Disk{}, nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return vsphere.Disk{}, nil, status.Error(codes.ResourceExhausted, err.Error())
	}
	d, err := c.disks.CreateDisk(ctx, vsphere.DiskSpec{Name: name, Datastore: ds, CapacityMiB: size, ProfileID: profile, Entities: p.entities()})
	return d, dss, err
}

// volumeResponse describes the disk; dss are datastores already read, nil to read them.
func (c *Controller) volumeResponse(ctx context.Context, d vsphere.Disk, req *csi.CreateVolumeRequest, dss []vsphere.Datastore) (*csi.CreateVolumeResponse, error) {
	vol := &csi.Volume{VolumeId: d.ID, CapacityBytes: d.CapacityMiB * mib, ContentSource: req.GetVolumeContentSource()}
	if fs := req.GetParameters()[volumes.ParamFSType]; fs != "" {
		vol.VolumeContext = map[string]string{volumes.ParamFSType: fs}
	}
	if dss == nil {
		var err error
		if dss, err = c.placement.Datastores(ctx); err != nil {
			return nil, grpcError(err)
		}
	}
	for _, ds := range dss {
		if ds.VCenter == d.VCenter && ds.Ref == d.DatastoreRef {
			vol.AccessibleTopology = accessibleTopology(ds)
		}
	}
	return &csi.CreateVolumeResponse{Volume: vol}, nil
}

// DeleteVolume deletes a disk that no VM has attached (vCenter's answer at that moment)
// and that has no snapshots. An absent disk is success.
func (c *Controller) DeleteVolume(ctx context.Context, req *csi.DeleteVolumeRequest) (*csi.DeleteVolumeResponse, error) {
	id := req.GetVolumeId()
	if id == "" {
		return nil, volumes.Invalid("volume_id is required")
	}
	unlock, err := c.ids.Lock(ctx, id)
	if err != nil {
		return nil, grpcError(err)
	}
	defer unlock()
	d, err := c.disks.Disk(ctx, id)
	if errors.Is(err, vsphere.ErrNotFound) {
		return &csi.DeleteVolumeResponse{}, nil
	}
	if err != nil {
		return nil, grpcError(err)
	}
	// vCenter's answer now, not this process's watch: another replica, or this one before
	// a restart, may have made the attach.
	vms, err := c.attachments.DiskUsers(ctx, d)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "volume %s: cannot prove it is detached: %v", id, err)
	}
	if len(vms) > 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "volume %s is attached to VM %s (%s); detach it first", id, vms[0].Name, vms[0].Ref)
	}
	if err := c.noSnapshots(ctx, d, "delete"); err != nil {
		return nil, err
	}
	if err := c.disks.DeleteDisk(ctx, id); err != nil {
		return nil, grpcError(err)
	}
	return &csi.DeleteVolumeResponse{}, nil
}

// ValidateVolumeCapabilities confirms single-node mount and block access.
func (c *Controller) ValidateVolumeCapabilities(ctx context.Context, req *csi.ValidateVolumeCapabilitiesRequest) (*csi.ValidateVolumeCapabilitiesResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, volumes.Invalid("volume_id is required")
	}
	if len(req.GetVolumeCapabilities()) == 0 {
		return nil, volumes.Invalid("volume_capabilities are required")
	}
	if _, err := c.disks.Disk(ctx, req.GetVolumeId()); err != nil {
		return nil, grpcError(err)
	}
	if err := volumes.CheckCapabilities(req.GetVolumeCapabilities()); err != nil {
		// The CSI spec answers unsupported capabilities with no confirmation and a message.
		return &csi.ValidateVolumeCapabilitiesResponse{Message: err.Error()}, nil //nolint:nilerr // an answer, not a failure
	}
	return &csi.ValidateVolumeCapabilitiesResponse{Confirmed: &csi.ValidateVolumeCapabilitiesResponse_Confirmed{
		VolumeContext: req.GetVolumeContext(), VolumeCapabilities: req.GetVolumeCapabilities(), Parameters: req.GetParameters(),
	}}, nil
}

// ControllerExpandVolume grows the disk; the node grows the filesystem.
func (c *Controller) ControllerExpandVolume(ctx context.Context, req *csi.ControllerExpandVolumeRequest) (*csi.ControllerExpandVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, volumes.Invalid("volume_id is required")
	}
	if req.GetCapacityRange() == nil {
		return nil, volumes.Invalid("capacity_range is required")
	}
	size, err := sizeMiB(req.GetCapacityRange())
	if err != nil {
		return nil, status.Error(codes.OutOfRange, err.Error())
	}
	unlock, err := c.ids.Lock(ctx, req.GetVolumeId())
	if err != nil {
		return nil, grpcError(err)
	}
	defer unlock()
	cur, err := c.disks.Disk(ctx, req.GetVolumeId())
	if err != nil {
		return nil, grpcError(err)
	}
	if cur.CapacityMiB < size {
		if err := c.noSnapshots(ctx, cur, "extend"); err != nil {
			return nil, err
		}
	}
	d, err := c.disks.ExtendDisk(ctx, req.GetVolumeId(), size)
	if err != nil {
		return nil, grpcError(err)
	}
	block := req.GetVolumeCapability().GetBlock() != nil
	return &csi.ControllerExpandVolumeResponse{CapacityBytes: d.CapacityMiB * mib, NodeExpansionRequired: !block}, nil
}

// consumers are the VMs that have the disk: the cache's answer, with every VM it names
// confirmed against vCenter. The error says the cache could not prove there are no
// others.
func (c *Controller) consumers(ctx context.Context, d vsphere.Disk) ([]vsphere.VM, error) {
	vms, staleErr := c.attachments.DiskConsumers(d)
	if len(vms) > 0 {
		confirmed, err := c.attachments.ConfirmConsumers(ctx, d, vms)
		if err != nil {
			return vms, err
		}
		vms = confirmed
	}
	return vms, staleErr
}
