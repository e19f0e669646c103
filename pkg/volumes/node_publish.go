package volumes

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"k8s.io/klog/v2"
	mount "k8s.io/mount-utils"
)

// NodePublishVolume bind-mounts the staged filesystem (or the raw device, for block
// volumes) at the pod's target path.
func (n *Node) NodePublishVolume(ctx context.Context, req *csi.NodePublishVolumeRequest) (*csi.NodePublishVolumeResponse, error) {
	switch {
	case req.GetVolumeId() == "":
		return nil, Invalid("volume_id is required")
	case req.GetTargetPath() == "":
		return nil, Invalid("target_path is required")
	case req.GetVolumeCapability() == nil:
		return nil, Invalid("volume_capability is required")
	case req.GetStagingTargetPath() == "":
		return nil, Invalid("staging_target_path is required")
	}
	if err := CheckCapabilities([]*csi.VolumeCapability{req.GetVolumeCapability()}); err != nil {
		return nil, err
	}
	unlock, err := n.locks.Lock(ctx, req.GetVolumeId())
	if err != nil {
		return nil, status.FromContextError(err).Err()
	}
	defer unlock()
	target := req.GetTargetPath()
	opts := []string{"bind"}
	if req.GetReadonly() {
		opts = append(opts, "ro")
	}
	var source string
	if req.GetVolumeCapability().GetBlock() != nil {
		uuid := req.GetPublishContext()[PublishDiskUUID]
		if uuid == "" {
			return nil, Invalid("publish_context." + PublishDiskUUID + " is required (set by ControllerPublishVolume)")
		}
		if source, err = n.device(ctx, uuid); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return nil, errInternal("target_path %s: %v", target, err)
		}
		f, err := os.OpenFile(target, os.O_CREATE, 0o640)
		if err != nil && !errors.Is(err, unix.EISDIR) {
			return nil, errInternal("target_path %s: %v", target, err)
		}
		if f != nil {
			_ = f.Close()
		}
	} else {
		source = req.GetStagingTargetPath()
		if notMnt, err := mount.IsNotMountPoint(n.mounter, source); err != nil || notMnt {
			return nil, status.Errorf(codes.FailedPrecondition, "staging_target_path %s is not mounted: stage the volume first", source)
		}
		if req.GetVolumeCapability().GetAccessMode().GetMode() == csi.VolumeCapability_AccessMode_SINGLE_NODE_SINGLE_WRITER {
			refs, err := n.mounter.GetMountRefs(source)
			if err != nil {
				return nil, errInternal("staging_target_path %s: %v", source, err)
			}
			for _, r := range refs {
				if filepath.Clean(r) != filepath.Clean(target) {
					return nil, status.Errorf(codes.FailedPrecondition, "volume %s has single-writer access and is already published at %s", req.GetVolumeId(), r)
				}
			}
		}
		if err := os.MkdirAll(target, 0o750); err != nil {
			return nil, errInternal("target_path %s: %v", target, err)
		}
		opts = append(opts, req.GetVolumeCapability().GetMount().GetMountFlags()...)
	}
	notMnt, err := mount.IsNotMountPoint(n.mounter, target)
	if err != nil {
		return nil, errInternal("target_path %s: %v", target, err)
	}
	if !notMnt {
		return &csi.NodePublishVolumeResponse{}, nil // published before
	}
	if err := n.mounter.Mount(source, target, "", opts); err != nil {
		return nil, errInternal("bind-mounting %s at %s: %v", source, target, err)
	}
	klog.FromContext(ctx).V(2).Info("Published volume", "volumeID", req.GetVolumeId(), "source", source, "path", target)
	return &csi.NodePublishVolumeResponse{}, nil
}

// NodeUnpublishVolume unmounts the target path and removes it.
func (n *Node) NodeUnpublishVolume(ctx context.Context, req *csi.NodeUnpublishVolumeRequest) (*csi.NodeUnpublishVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, Invalid("volume_id is required")
	}
	if req.GetTargetPath() == "" {
		return nil, Invalid("target_path is required")
	}
	unlock, err := n.locks.Lock(ctx, req.GetVolumeId())
	if err != nil {
		return nil, status.FromContextError(err).Err()
	}
	defer unlock()
	if err := mount.CleanupMountPoint(req.GetTargetPath(), n.mounter, true); err != nil {
		return nil, errInternal("unmounting %s: %v", req.GetTargetPath(), err)
	}
	return &csi.NodeUnpublishVolumeResponse{}, nil
}

// NodeGetVolumeStats reports bytes and inodes of a mounted volume, bytes of a block one.
func (n *Node) NodeGetVolumeStats(_ context.Context, req *csi.NodeGetVolumeStatsRequest) (*csi.NodeGetVolumeStatsResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, Invalid("volume_id is required")
	}
	p := req.GetVolumePath()
	if p == "" {
		return nil, Invalid("volume_path is required")
	}
	fi, err := os.Stat(p)
	if os.IsNotExist(err) {
		return nil, status.Errorf(codes.NotFound, "volume_path %s does not exist", p)
	} else if err != nil {
		return nil, errInternal("volume_path %s: %v", p, err)
	}
	if !fi.IsDir() {
		size, err := blockSize(p)
		if err != nil {
			return nil, errInternal("volume_path %s: %v", p, err)
		}
		return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{{Unit: csi.VolumeUsage_BYTES, Total: size}}}, nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return nil, errInternal("statfs %s: %v", p, err)
	}
	bs := int64(st.Bsize)
	return &csi.NodeGetVolumeStatsResponse{Usage: []*csi.VolumeUsage{
		{Unit: csi.VolumeUsage_BYTES, Total: int64(st.Blocks) * bs, Available: int64(st.Bavail) * bs, Used: int64(st.Blocks-st.Bfree) * bs},
		{Unit: csi.VolumeUsage_INODES, Total: int64(st.Files), Available: int64(st.Ffree), Used: int64(st.Files - st.Ffree)},
	}}, nil
}

// NodeExpandVolume makes the guest see the disk's new size and grows the filesystem.
func (n *Node) NodeExpandVolume(ctx context.Context, req *csi.NodeExpandVolumeRequest) (*csi.NodeExpandVolumeResponse, error) {
	if req.GetVolumeId() == "" {
		return nil, Invalid("volume_id is required")
	}
	p := req.GetVolumePath()
	if p == "" {
		return nil, Invalid("volume_path is required")
	}
	if _, err := os.Stat(p); os.IsNotExist(err) {
		return nil, status.Errorf(codes.NotFound, "volume_path %s does not exist", p)
	}
	if req.GetVolumeCapability().GetBlock() != nil {
		return &csi.NodeExpandVolumeResponse{CapacityBytes: req.GetCapacityRange().GetRequiredBytes()}, nil
	}
	dev, _, err := mount.GetDeviceNameFromMount(n.mounter, p)
	if err != nil || dev == "" {
		return nil, status.Errorf(codes.NotFound, "volume_path %s is not a mounted volume", p)
	}
	n.rescan(ctx, dev)
	if _, err := n.resizer.Resize(dev, p); err != nil {
		return nil, errInternal("growing the filesystem on %s at %s: %v", dev, p, err)
	}
	size, err := blockSize(dev)
	if err != nil {
		return nil, errInternal("size of %s: %v", dev, err)
	}
	klog.FromContext(ctx).Info("Expanded volume", "volumeID", req.GetVolumeId(), "device", dev, "bytes", size)
	return &csi.NodeExpandVolumeResponse{CapacityBytes: size}, nil
}

// rescan asks the SCSI layer to re-read the disk's size (vSphere grows it live).
func (n *Node) rescan(ctx context.Context, dev string) {
	real, err := filepath.EvalSymlinks(dev)
	if err != nil {
		return
	}
	f := filepath.Join(n.cfg.SysRoot, "block", filepath.Base(real), "device", "rescan")
	if err := os.WriteFile(f, []byte("1"), 0o200); err != nil && !os.IsNotExist(err) {
		klog.FromContext(ctx).Info("Could not rescan disk; the filesystem may not grow until it is rescanned", "device", real, "err", err)
	}
}

func blockSize(p string) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	size, err := f.Seek(0, 2)
	return size, err
}
