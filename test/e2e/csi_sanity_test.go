package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/kubernetes-csi/csi-test/v5/pkg/sanity"
	"google.golang.org/grpc"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/volumes/csicontroller"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
	"github.com/vsphere-cloud/provider/test/framework"
)

// TestCSISanity runs csi-sanity (csi-test v5.6.0) against the controller service on the
// simulator and the node service on real loop devices, ext4 and xfs, and real mounts.
func TestCSISanity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("csi-sanity needs root: the node service formats and mounts loop devices")
	}
	dir := artifactsDir(t, "csi-sanity")
	inv := &framework.SimInventory{Datacenters: 1, Clusters: 1, Hosts: 2, VMs: []framework.SimVM{
		{Name: "csi-node-0", UUID: framework.TestUUID("csi-node-0"), Hostname: "csi-node-0"},
	}, Tags: []framework.SimTag{
		{Category: "k8s-zone", Name: "zone-a", AttachTo: []string{"DC0_C0"}},
		{Category: "k8s-region", Name: "region-1", AttachTo: []string{"DC0"}},
	}}
	sim := startSimulator(t, dir, inv)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := startManager(t, ctx, dir, sim)

	guest, err := framework.NewGuestDisks(filepath.Join(dir, "guest"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(guest.Close)

	topology := func(context.Context) bool { return true }
	ctrlSock := filepath.Join(dir, "controller.sock")
	nodeSock := filepath.Join(dir, "node.sock")
	ctrl := csicontroller.NewController(csicontroller.ManagerPorts(m))
	serve(t, ctx, ctrlSock, func(s *grpc.Server) {
		volumes.Register(s, &volumes.Identity{Topology: topology}, ctrl, nil)
	}, guestHook(m, guest))
	node := volumes.NewNode(volumes.NodeConfig{
		Identity: func(context.Context) (volumes.NodeIdentity, error) {
			return volumes.NodeIdentity{ID: framework.TestUUID("csi-node-0"), Zone: "zone-a", Region: "region-1"}, nil
		},
		DevRoot: guest.DevRoot, SysRoot: filepath.Join(dir, "sys"), DeviceWait: 5 * time.Second,
	})
	serve(t, ctx, nodeSock, func(s *grpc.Server) { volumes.Register(s, &volumes.Identity{Topology: topology}, nil, node) })

	// Ginkgo runs one suite per process, so sanity runs once, on ext4 (the default);
	// TestCSINodeXFS covers xfs.
	cfg := sanity.NewTestConfig()
	cfg.Address = nodeSock
	cfg.ControllerAddress = ctrlSock
	cfg.TargetPath = filepath.Join(dir, "target")
	cfg.StagingPath = filepath.Join(dir, "staging")
	cfg.TestVolumeSize = 64 << 20
	cfg.TestVolumeExpandSize = 128 << 20
	cfg.TestVolumeParameters = map[string]string{volumes.ParamFSType: "ext4"}
	cfg.IdempotentCount = 2
	sanity.Test(t, cfg)
	if n := guest.Attachments(); n != 0 {
		t.Errorf("%d disks still attached in the guest after sanity", n)
	}
}

// guestHook makes an attached disk appear in the guest, as vSphere and the guest kernel
// would, after the controller's publish, unpublish and expand succeed.
func guestHook(m *vsphere.Manager, g *framework.GuestDisks) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		res, err := handler(ctx, req)
		if err != nil {
			return res, err
		}
		switch r := req.(type) {
		case *csi.ControllerPublishVolumeRequest:
			d, derr := m.Disk(ctx, r.GetVolumeId())
			if derr != nil {
				return nil, derr
			}
			uuid := res.(*csi.ControllerPublishVolumeResponse).GetPublishContext()[volumes.PublishDiskUUID]
			if gerr := g.Attached(r.GetVolumeId(), uuid, d.CapacityMiB<<20); gerr != nil {
				return nil, gerr
			}
		case *csi.ControllerUnpublishVolumeRequest:
			if gerr := g.Detached(r.GetVolumeId()); gerr != nil {
				return nil, gerr
			}
		case *csi.ControllerExpandVolumeRequest:
			if gerr := g.Grown(r.GetVolumeId(), res.(*csi.ControllerExpandVolumeResponse).GetCapacityBytes()); gerr != nil {
				return nil, gerr
			}
		}
		return res, nil
	}
}

// startSimulator writes inv and runs hack/vcsim with it until the test ends.
func startSimulator(t *testing.T, dir string, inv *framework.SimInventory) *framework.Simulator {
	t.Helper()
	invPath := filepath.Join(dir, "inventory.yaml")
	if err := inv.Write(invPath); err != nil {
		t.Fatal(err)
	}
	sim, err := framework.StartSimulator(dir, invPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Stop)
	return sim
}

// startManager runs an in-process vsphere.Manager against the simulator, with
// credentials from a secrets directory, and waits for its inventory.
func startManager(t *testing.T, ctx context.Context, dir string, sim *framework.Simulator) *vsphere.Manager {
	t.Helper()
	secrets := filepath.Join(dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		t.Fatal(err)
	}
	host := sim.URL.Hostname()
	for k, v := range map[string]string{host + ".username": framework.SimUser, host + ".password": framework.SimPassword} {
		if err := os.WriteFile(filepath.Join(secrets, k), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load([]byte(fmt.Sprintf("global:\n  secretsDirectory: %s\n  caFile: %s\nvcenter:\n  sim:\n    server: %s\n    port: %d\nlabels:\n  zone: k8s-zone\n  region: k8s-region\n",
		secrets, sim.CAFile, host, sim.Port)))
	if err != nil {
		t.Fatal(err)
	}
	m := vsphere.NewManager(cfg, vsphere.SecretSource{})
	m.Start(klog.NewContext(ctx, klog.Background()))
	if !framework.WaitFor(time.Minute, 100*time.Millisecond, func() bool { return m.Status()[0].Synced }) {
		t.Fatalf("inventory did not sync: %v", m.Status()[0].LastError)
	}
	return m
}

func serve(t *testing.T, ctx context.Context, sock string, register func(*grpc.Server), hooks ...grpc.UnaryServerInterceptor) {
	t.Helper()
	go func() {
		if err := volumes.Serve(ctx, sock, register, hooks...); err != nil {
			t.Errorf("serving %s: %v", sock, err)
		}
	}()
	if !framework.WaitFor(10*time.Second, 20*time.Millisecond, func() bool { _, err := os.Stat(sock); return err == nil }) {
		t.Fatalf("socket %s did not appear", sock)
	}
}
