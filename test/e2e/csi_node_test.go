package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/test/framework"
)

// TestCSINodeXFS takes an xfs volume through the node service on a loop device: format
// on first stage, re-stage without reformatting, publish, grow, stats, raw block, and the
// clear error when the disk never appears.
func TestCSINodeXFS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the node service formats and mounts loop devices")
	}
	if _, err := exec.LookPath("mkfs.xfs"); err != nil {
		t.Fatal("mkfs.xfs is missing: install xfsprogs (hack/install-deps.sh does)")
	}
	dir := t.TempDir()
	guest, err := framework.NewGuestDisks(filepath.Join(dir, "guest"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(guest.Close)
	n := volumes.NewNode(volumes.NodeConfig{
		Identity: func(context.Context) (volumes.NodeIdentity, error) { return volumes.NodeIdentity{ID: "x"}, nil },
		DevRoot:  guest.DevRoot, SysRoot: filepath.Join(dir, "sys"), DeviceWait: time.Second,
	})
	ctx := context.Background()
	uuid := "6000C29a-1111-2222-3333-444455556666"
	if err := guest.Attached("vol-x", uuid, 512<<20); err != nil {
		t.Fatal(err)
	}
	pc := map[string]string{volumes.PublishDiskUUID: uuid}
	mountCap := &csi.VolumeCapability{AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: "xfs"}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}}
	staging, target := filepath.Join(dir, "staging"), filepath.Join(dir, "target")
	stage := func() {
		t.Helper()
		if _, err := n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: "vol-x", PublishContext: pc, StagingTargetPath: staging, VolumeCapability: mountCap}); err != nil {
			t.Fatal(err)
		}
	}
	stage()
	stage() // idempotent
	if _, err := n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "vol-x", PublishContext: pc, StagingTargetPath: staging, TargetPath: target, VolumeCapability: mountCap}); err != nil {
		t.Fatal(err)
	}
	if out, _ := exec.Command("findmnt", "-n", "-o", "FSTYPE", target).Output(); strings.TrimSpace(string(out)) != "xfs" {
		t.Fatalf("target is mounted as %q, want xfs", out)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), []byte("me"), 0o600); err != nil {
		t.Fatal(err)
	}

	// Unstage and stage again: the data survives (no reformat of a formatted disk).
	if _, err := n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-x", TargetPath: target}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "vol-x", StagingTargetPath: staging}); err != nil {
		t.Fatal(err)
	}
	stage()
	if b, err := os.ReadFile(filepath.Join(staging, "keep")); err != nil || string(b) != "me" {
		t.Fatalf("data after re-stage = %q, %v", b, err)
	}

	if err := guest.Grown("vol-x", 1<<30); err != nil {
		t.Fatal(err)
	}
	res, err := n.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: "vol-x", VolumePath: staging, VolumeCapability: mountCap})
	if err != nil || res.GetCapacityBytes() != 1<<30 {
		t.Fatalf("expand = %v, %v", res, err)
	}
	stats, err := n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "vol-x", VolumePath: staging})
	if err != nil || len(stats.GetUsage()) != 2 || stats.GetUsage()[0].GetTotal() < 900<<20 {
		t.Fatalf("stats after growing to 1 GiB = %v, %v", stats, err)
	}
	if _, err := n.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: "vol-x", StagingTargetPath: staging}); err != nil {
		t.Fatal(err)
	}

	// Raw block: the device itself is bind-mounted at the target file.
	blockCap := &csi.VolumeCapability{AccessType: &csi.VolumeCapability_Block{Block: &csi.VolumeCapability_BlockVolume{}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}}
	blockTarget := filepath.Join(dir, "block", "dev")
	if _, err := n.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: "vol-x", PublishContext: pc, StagingTargetPath: staging, TargetPath: blockTarget, VolumeCapability: blockCap}); err != nil {
		t.Fatal(err)
	}
	if st, err := n.NodeGetVolumeStats(ctx, &csi.NodeGetVolumeStatsRequest{VolumeId: "vol-x", VolumePath: blockTarget}); err != nil || st.GetUsage()[0].GetTotal() != 1<<30 {
		t.Fatalf("block stats = %v, %v", st, err)
	}
	if _, err := n.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "vol-x", TargetPath: blockTarget}); err != nil {
		t.Fatal(err)
	}

	// A disk that never appears: the error names disk.EnableUUID.
	_, err = n.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: "vol-y", StagingTargetPath: filepath.Join(dir, "s2"), VolumeCapability: mountCap,
		PublishContext: map[string]string{volumes.PublishDiskUUID: "6000C29a-0000-0000-0000-000000000000"}})
	if err == nil || !strings.Contains(err.Error(), "disk.EnableUUID") {
		t.Fatalf("stage of a missing disk = %v; want an error naming disk.EnableUUID", err)
	}
}
