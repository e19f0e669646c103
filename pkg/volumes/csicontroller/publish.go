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

// ControllerPublishVolume attaches the disk to the node's VM. The node ID is the VM's
// BIOS UUID (what NodeGetInfo reports, taken from the providerID).
func (c *Controller) ControllerPublishVolume(ctx context.Context, req *csi.ControllerPublishVolumeRequest) (*csi.ControllerPublishVolumeResponse, error) {
	switch {
	case req.GetVolumeId() == "":
		return nil, volumes.Invalid("volume_id is required")
	case req.GetNodeId() == "":
		return nil, volumes.Invalid("node_id is required")
	case req.GetVolumeCapability() == nil:
		return nil, volumes.Invalid("volume_capability is required")
	}
	if err := volumes.CheckCapabilities([]*csi.VolumeCapability{req.GetVolumeCapability()}); err != nil {
		return nil, err
	}
	if req.GetReadonly() {
		return nil, volumes.Invalid("readonly: read-only attachment is not supported; mount read-only in the pod instead")
	}
	d, err := c.disks.Disk(ctx, req.GetVolumeId())
	if err != nil {
		return nil, grpcError(err)
	}
	vm, err := c.placement.FindNodeVM(ctx, vsphere.NodeQuery{ProviderUUID: req.GetNodeId()})
	if errors.Is(err, vsphere.ErrNoMatch) {
		// Refusing an attach needs no proof that the VM is gone.
		return nil, status.Errorf(codes.NotFound, "node %s: %v", req.GetNodeId(), err)
	}
	if err != nil {
		return nil, grpcError(err)
	}
	others, err := c.consumers(ctx, d)
	for _, o := range others {
		if o.VCenter != vm.VCenter || o.Ref != vm.Ref {
			return nil, status.Errorf(codes.FailedPrecondition, "volume %s is attached to VM %s (%s); it must be detached before it can attach to %s", d.ID, o.Name, o.Ref, vm.Name)
		}
	}
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Attachments not known from the cache; vCenter decides", "volumeID", d.ID, "err", err)
	}
	res, err := c.attach.do(ctx, vm, opAttach, d.ID)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return nil, grpcError(err)
	}
	if res.DiskUUID == "" {
		return nil, status.Errorf(codes.Internal, "volume %s attached to VM %s, but vCenter reports no disk UUID", d.ID, vm.Name)
	}
	return &csi.ControllerPublishVolumeResponse{PublishContext: map[string]string{volumes.PublishDiskUUID: res.DiskUUID}}, nil
}

// ControllerUnpublishVolume detaches the disk. A VM the inventory proves gone has nothing
// attached: success. Any doubt is an error, and the sidecar retries.
func (c *Controller) ControllerUnpublishVolume(ctx context.Context, req *csi.ControllerUnpublishVolumeRequest) (*csi.ControllerUnpublishVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, volumes.Invalid("volume_id is required")
	}
	if req.GetNodeId() == "" {
		// CSI allows "from every node"; detaching from every VM would be a guess.
		return nil, volumes.Invalid("node_id is required: this driver never detaches a disk from VMs it was not told about")
	}
	vm, err := c.placement.FindNodeVM(ctx, vsphere.NodeQuery{ProviderUUID: req.GetNodeId()})
	if errors.Is(err, vsphere.ErrNotFound) {
		klog.FromContext(ctx).Info("Node VM is gone; nothing to detach", "nodeID", req.GetNodeId(), "volumeID", req.GetVolumeId())
		return &csi.ControllerUnpublishVolumeResponse{}, nil
	}
	if err != nil {
		return nil, grpcError(err)
	}
	res, err := c.attach.do(ctx, vm, opDetach, req.GetVolumeId())
	if err == nil {
		err = res.Err
	}
	if err != nil {
		return nil, grpcError(err)
	}
	return &csi.ControllerUnpublishVolumeResponse{}, nil
}
