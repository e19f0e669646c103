package volumes

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
	mount "k8s.io/mount-utils"
	utilexec "k8s.io/utils/exec"
)

// MaxVolumesPerNode is what one VM can take when its own figure is not known: four
// paravirtual SCSI controllers with 15 usable units each, less the boot disk (the
// upstream driver's default). cloud-controller measures each VM (NodeVM
// status.volumeLimit) and NodeConfig.MaxVolumes reads it.
const MaxVolumesPerNode = 59

// NodeIdentity is who this node is, as the controller knows it.
type NodeIdentity struct {
	// ID is the VM's BIOS UUID (from the Node's providerID).
	ID     string
	Zone   string
	Region string
}

// NodeConfig configures the Node service.
type NodeConfig struct {
	// Identity returns the node's identity; it fails until cloud-controller has set the
	// providerID.
	Identity func(ctx context.Context) (NodeIdentity, error)
	// DevRoot is where disks appear: <DevRoot>/disk/by-id/wwn-0x<uuid>. Default /dev.
	DevRoot string
	// SysRoot is sysfs, for rescanning a grown disk. Default /sys.
	SysRoot string
	// DeviceWait is how long NodeStage waits for the disk to appear after attach.
	DeviceWait time.Duration
	// MaxVolumes returns how many volumes this node's VM can take; nil or a value below 1
	// means MaxVolumesPerNode.
	MaxVolumes func(ctx context.Context) int64
}

// Node is the CSI Node service.
type Node struct {
	csi.UnimplementedNodeServer
	cfg     NodeConfig
	mounter *mount.SafeFormatAndMount
	resizer *mount.ResizeFs
	locks   *KeyedMutex
}

// NewNode returns the Node service using the host's mount and mkfs.
func NewNode(cfg NodeConfig) *Node {
	if cfg.DevRoot == "" {
		cfg.DevRoot = "/dev"
	}
	if cfg.SysRoot == "" {
		cfg.SysRoot = "/sys"
	}
	if cfg.DeviceWait == 0 {
		cfg.DeviceWait = 30 * time.Second
	}
	ex := utilexec.New()
	return &Node{
		cfg:     cfg,
		mounter: mount.NewSafeFormatAndMount(mount.New(""), ex),
		resizer: mount.NewResizeFs(ex),
		locks:   NewKeyedMutex(),
	}
}

// NodeGetInfo reports the node ID, its topology and how many disks it can take.
func (n *Node) NodeGetInfo(ctx context.Context, _ *csi.NodeGetInfoRequest) (*csi.NodeGetInfoResponse, error) {
	id, err := n.cfg.Identity(ctx)
	if err != nil {
		return nil, status.Errorf(codes.Unavailable, "node identity: %v", err)
	}
	res := &csi.NodeGetInfoResponse{NodeId: id.ID, MaxVolumesPerNode: MaxVolumesPerNode}
	if n.cfg.MaxVolumes != nil {
		if max := n.cfg.MaxVolumes(ctx); max > 0 {
			res.MaxVolumesPerNode = max
		}
	}
	seg := map[string]string{}
	if id.Zone != "" {
		seg[TopologyZone] = id.Zone
	}
	if id.Region != "" {
		seg[TopologyRegion] = id.Region
	}
	if len(seg) > 0 {
		res.AccessibleTopology = &csi.Topology{Segments: seg}
	}
	return res, nil
}

// NodeGetCapabilities lists staging, expansion and stats.
func (n *Node) NodeGetCapabilities(context.Context, *csi.NodeGetCapabilitiesRequest) (*csi.NodeGetCapabilitiesResponse, error) {
	var caps []*csi.NodeServiceCapability
	for _, t := range []csi.NodeServiceCapability_RPC_Type{
		csi.NodeServiceCapability_RPC_STAGE_UNSTAGE_VOLUME,
		csi.NodeServiceCapability_RPC_EXPAND_VOLUME,
		csi.NodeServiceCapability_RPC_GET_VOLUME_STATS,
		csi.NodeServiceCapability_RPC_SINGLE_NODE_MULTI_WRITER,
	} {
		caps = append(caps, &csi.NodeServiceCapability{Type: &csi.NodeServiceCapability_Rpc{Rpc: &csi.NodeServiceCapability_RPC{Type: t}}})
	}
	return &csi.NodeGetCapabilitiesResponse{Capabilities: caps}, nil
}

// DevicePath is where the guest shows a disk with the given vSphere disk UUID: SCSI
// VPD page 0x83 carries the UUID as an NAA identifier, which udev links as
// wwn-0x<32 hex digits>.
func DevicePath(devRoot, diskUUID string) string {
	id := strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(diskUUID, "-", ""), " ", ""))
	return filepath.Join(devRoot, "disk", "by-id", "wwn-0x"+id)
}

// device waits for the disk with the UUID to appear and resolves its link.
func (n *Node) device(ctx context.Context, diskUUID string) (string, error) {
	p := DevicePath(n.cfg.DevRoot, diskUUID)
	deadline := time.Now().Add(n.cfg.DeviceWait)
	for {
		dev, err := filepath.EvalSymlinks(p)
		if err == nil {
			return dev, nil
		}
		if time.Now().After(deadline) {
			return "", status.Errorf(codes.NotFound, "disk %s did not appear at %s within %s: is disk.EnableUUID=TRUE set on the VM, and is the disk attached?", diskUUID, p, n.cfg.DeviceWait)
		}
		select {
		case <-ctx.Done():
			return "", status.FromContextError(ctx.Err()).Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// NodeStageVolume formats (when blank) and mounts the disk at the staging path. Block
// volumes need no staging.
func (n *Node) NodeStageVolume(ctx context.Context, req *csi.NodeStageVolumeRequest) (*csi.NodeStageVolumeResponse, error) {
	switch {
	case req.GetVolumeId() == "":
		return nil, Invalid("volume_id is required")
	case req.GetStagingTargetPath() == "":
		return nil, Invalid("staging_target_path is required")
	case req.GetVolumeCapability() == nil:
		return nil, Invalid("volume_capability is required")
	}
	if err := CheckCapabilities([]*csi.VolumeCapability{req.GetVolumeCapability()}); err != nil {
		return nil, err
	}
	uuid := req.GetPublishContext()[PublishDiskUUID]
	if uuid == "" {
		return nil, Invalid("publish_context." + PublishDiskUUID + " is required (set by ControllerPublishVolume)")
	}
	unlock, err := n.locks.Lock(ctx, req.GetVolumeId())
	if err != nil {
		return nil, status.FromContextError(err).Err()
	}
	defer unlock()
	dev, err := n.device(ctx, uuid)
	if err != nil {
		return nil, err
	}
	if req.GetVolumeCapability().GetBlock() != nil {
		return &csi.NodeStageVolumeResponse{}, nil
	}
	target := req.GetStagingTargetPath()
	fsType := req.GetVolumeCapability().GetMount().GetFsType()
	if fsType == "" {
		fsType = req.GetVolumeContext()[ParamFSType]
	}
	if fsType == "" {
		fsType = "ext4"
	}
	if err := os.MkdirAll(target, 0o750); err != nil {
		return nil, status.Errorf(codes.Internal, "staging_target_path %s: %v", target, err)
	}
	notMnt, err := mount.IsNotMountPoint(n.mounter, target)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "staging_target_path %s: %v", target, err)
	}
	if !notMnt {
		mounted, _, err := mount.GetDeviceNameFromMount(n.mounter, target)
		if err == nil && sameDevice(mounted, dev) {
			return &csi.NodeStageVolumeResponse{}, nil
		}
		return nil, status.Errorf(codes.AlreadyExists, "staging_target_path %s already has %s mounted, not %s", target, mounted, dev)
	}
	opts := append([]string{"defaults"}, req.GetVolumeCapability().GetMount().GetMountFlags()...)
	if err := n.mounter.FormatAndMount(dev, target, fsType, opts); err != nil {
		return nil, status.Errorf(codes.Internal, "formatting (if blank) and mounting %s at %s as %s: %v", dev, target, fsType, err)
	}
	klog.FromContext(ctx).Info("Staged volume", "volumeID", req.GetVolumeId(), "device", dev, "path", target, "fsType", fsType)
	return &csi.NodeStageVolumeResponse{}, nil
}

// NodeUnstageVolume unmounts the staging path.
func (n *Node) NodeUnstageVolume(ctx context.Context, req *csi.NodeUnstageVolumeRequest) (*csi.NodeUnstageVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, Invalid("volume_id is required")
	}
	if req.GetStagingTargetPath() == "" {
		return nil, Invalid("staging_target_path is required")
	}
	unlock, err := n.locks.Lock(ctx, req.GetVolumeId())
	if err != nil {
		return nil, status.FromContextError(err).Err()
	}
	defer unlock()
	if err := mount.CleanupMountPoint(req.GetStagingTargetPath(), n.mounter, true); err != nil {
		return nil, status.Errorf(codes.Internal, "unmounting %s: %v", req.GetStagingTargetPath(), err)
	}
	return &csi.NodeUnstageVolumeResponse{}, nil
}

func sameDevice(a, b string) bool {
	ra, errA := filepath.EvalSymlinks(a)
	rb, errB := filepath.EvalSymlinks(b)
	return errA == nil && errB == nil && ra == rb
}

func errInternal(format string, args ...any) error {
	return status.Error(codes.Internal, fmt.Sprintf(format, args...))
}
