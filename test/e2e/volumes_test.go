package e2e

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/test/framework"
)

// volumeWorld is the control plane, simulator, cloud-controller with the CSI controller
// service, the real sidecars, kube-controller-manager's volume controllers, and one
// vsphere-csi-node serving the CSI node service on loop devices. The test plays kubelet.
type volumeWorld struct {
	cp    *framework.ControlPlane
	sim   *framework.Simulator
	vc    *vsphere.Manager // an observer's view of the simulator
	guest *framework.GuestDisks
	node  csi.NodeClient
	dir   string
}

func startVolumeWorld(t *testing.T) *volumeWorld {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the volume end-to-end test needs root: the node service formats and mounts loop devices")
	}
	ctx := context.Background()
	inv := &framework.SimInventory{Datacenters: 1, Clusters: 1, Hosts: 2, VMs: []framework.SimVM{
		// vSphere 8 density on vol-node-0 (hardware 19, boot disk on a paravirtual
		// controller): 4 x 64 - 1 = 255; vol-node-1's hardware 13 keeps 15 per controller
		// and its LSI Logic SAS boot controller takes one of the four: 3 x 15 = 45.
		{Name: "vol-node-0", UUID: framework.TestUUID("vol-node-0"), Hostname: "vol-node-0", HardwareVersion: "vmx-19", BootController: "pvscsi"},
		{Name: "vol-node-1", UUID: framework.TestUUID("vol-node-1"), Hostname: "vol-node-1", DiskUUIDDisabled: true, HardwareVersion: "vmx-13", BootController: "lsilogic-sas"},
	}, Tags: []framework.SimTag{
		{Category: "k8s-zone", Name: "zone-a", AttachTo: []string{"DC0_C0"}},
		{Category: "k8s-region", Name: "region-1", AttachTo: []string{"DC0"}},
	}}
	dir, cp, sim := startWorld(t, "volumes", inv)
	w := &volumeWorld{cp: cp, sim: sim, dir: dir}
	if err := framework.EnsureCredentials(ctx, cp, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "csi", "csi.sock")
	conf := strings.Replace(framework.CloudConfig("127.0.0.1", sim.Port, sim.CAFile, ""), "global:\n", "global:\n  pvscsiCtrlr256DiskSupportEnabled: true\n", 1)
	ccm, err := framework.StartCloudController(cp, "cloud-controller", conf,
		"--csi-endpoint=unix://"+sock, "--controllers=cloud-node,cloud-node-lifecycle,vsphere-placement,vsphere-volume-metadata")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ccm.Stop)
	procs := []proc{ccm}
	sidecars, err := framework.StartSidecars(cp, sock)
	if err != nil {
		t.Fatal(err)
	}
	procs = append(procs, procsOf(sidecars...)...)
	kcm, err := framework.StartControllerManager(cp, "persistentvolume-binder-controller,persistentvolume-attach-detach-controller,persistentvolume-expander-controller,"+
		"persistentvolumeclaim-protection-controller,persistentvolume-protection-controller")
	if err != nil {
		t.Fatal(err)
	}
	procs = append(procs, kcm)
	for _, p := range procs[1:] {
		t.Cleanup(p.Stop)
	}
	t.Cleanup(func() {
		for _, p := range procs {
			if p.LogContains(framework.SimPassword) {
				t.Errorf("the vCenter password appears in a log (pid %d)", p.Pid())
			}
			if t.Failed() {
				t.Logf("log tail of pid %d:\n%s", p.Pid(), p.Tail(3000))
			}
		}
	})

	if w.guest, err = framework.NewGuestDisks(filepath.Join(dir, "guest")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.guest.Close)
	nodeSock := filepath.Join(dir, "csi-node.sock")
	agent, err := framework.StartCSINode(cp, "vol-node-0",
		"--csi-endpoint=unix://"+nodeSock, "--dev-root="+w.guest.DevRoot, "--sys-root="+filepath.Join(dir, "sys"), "--csi-device-wait=5s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(agent.Stop)
	if !framework.WaitFor(30*time.Second, 50*time.Millisecond, func() bool { _, err := os.Stat(nodeSock); return err == nil }) {
		t.Fatalf("vsphere-csi-node did not serve CSI:\n%s", agent.Tail(3000))
	}
	conn, err := grpc.NewClient("unix://"+nodeSock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	w.node = csi.NewNodeClient(conn)
	t.Cleanup(func() {
		if rss, err := agent.PeakRSSBytes(); err == nil {
			bench("vsphere_csi_node_peak_rss", float64(rss)/(1<<20), "MiB")
		}
	})

	for _, n := range []string{"vol-node-0", "vol-node-1"} {
		w.registerNode(t, n)
	}
	w.vc = startManager(t, context.Background(), dir, sim)
	return w
}

// registerNode registers the Node as kubelet does (with controller-managed attach and
// detach), waits for cloud-controller to initialize it, and writes the CSINode that
// kubelet writes after node-driver-registrar, from the node service's own NodeGetInfo.
func (w *volumeWorld) registerNode(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	if err := framework.RegisterNode(ctx, w.cp.Client, name, framework.TestUUID(name)); err != nil {
		t.Fatal(err)
	}
	patch := []byte(`{"metadata":{"annotations":{"volumes.kubernetes.io/controller-managed-attach-detach":"true"}}}`)
	if _, err := w.cp.Client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	var node *corev1.Node
	if !framework.WaitFor(60*time.Second, 200*time.Millisecond, func() bool {
		n, err := w.cp.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		node = n
		return err == nil && framework.Initialized(n) && n.Labels[corev1.LabelTopologyZone] != ""
	}) {
		t.Fatalf("node %s was not initialized with a zone: %+v", name, node)
	}
	nodeID, keys := strings.TrimPrefix(node.Spec.ProviderID, "vsphere://"), []string{volumes.TopologyZone, volumes.TopologyRegion}
	limit := int32(volumes.MaxVolumesPerNode)
	if want, ok := wantVolumeLimit[name]; ok {
		limit = w.waitVolumeLimit(t, name, want)
	}
	if name == "vol-node-0" { // the node whose vsphere-node runs: ask it
		info, err := w.node.NodeGetInfo(ctx, &csi.NodeGetInfoRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if info.GetNodeId() != nodeID || info.GetAccessibleTopology().GetSegments()[volumes.TopologyZone] != "zone-a" || info.GetMaxVolumesPerNode() != int64(limit) {
			t.Fatalf("NodeGetInfo = %v; want node ID %s, zone-a and %d volumes", info, nodeID, limit)
		}
	}
	_, err := w.cp.Client.StorageV1().CSINodes().Create(ctx, &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID}}},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
			Name: volumes.DriverName, NodeID: nodeID, TopologyKeys: keys,
			Allocatable: &storagev1.VolumeNodeResources{Count: ptr.To(limit)},
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVolumes(t *testing.T) {
	w := startVolumeWorld(t)
	ctx := context.Background()
	core := w.cp.Client.CoreV1()
	ns := "default"
	_, err := w.cp.Client.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "fast"},
		Provisioner: volumes.DriverName,
		// xfs: this machine's kernel refuses online ext4 growth (resize2fs gets EPERM from
		// EXT4_IOC_RESIZE_FS even as root), and this class is grown while mounted. ext4 is
		// formatted and mounted by csi-sanity; both grow through mount-utils' ResizeFs.
		Parameters:           map[string]string{volumes.ParamFSType: "xfs"},
		ReclaimPolicy:        ptr.To(corev1.PersistentVolumeReclaimDelete),
		AllowVolumeExpansion: ptr.To(true),
		VolumeBindingMode:    ptr.To(storagev1.VolumeBindingImmediate),
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	var pv *corev1.PersistentVolume
	var disk vsphere.Disk
	t.Run("a claim becomes Bound to a PV whose First Class Disk exists", func(t *testing.T) {
		start := time.Now()
		pv = w.bindClaim(t, ns, "data", "1Gi")
		t.Logf("bound in %s", time.Since(start).Round(time.Millisecond))
		if pv.Spec.CSI == nil || pv.Spec.CSI.Driver != volumes.DriverName {
			t.Fatalf("PV source = %+v", pv.Spec.PersistentVolumeSource)
		}
		if disk, err = w.vc.Disk(ctx, pv.Spec.CSI.VolumeHandle); err != nil {
			t.Fatalf("FCD %s: %v", pv.Spec.CSI.VolumeHandle, err)
		}
		if disk.CapacityMiB != 1024 || !strings.HasPrefix(disk.Name, "pvc-") || !disk.KeepAfterDeleteVM {
			t.Errorf("FCD = %+v; want 1024 MiB, named pvc-<uid>, kept after VM deletion", disk)
		}
		if got := affinityZones(pv); len(got) != 1 || got[0] != "zone-a" {
			t.Errorf("PV node affinity zones = %v, want [zone-a]", got)
		}
	})
	if pv == nil {
		t.FailNow()
	}

	var va *storagev1.VolumeAttachment
	t.Run("a Pod on a node gets the disk attached to the node VM", func(t *testing.T) {
		w.createPod(t, ns, "app", "vol-node-0", "data")
		w.reportInUse(t, "vol-node-0", pv)
		start := time.Now()
		va = w.waitAttachment(t, pv.Name, "vol-node-0", func(va *storagev1.VolumeAttachment) bool { return va.Status.Attached })
		t.Logf("attached in %s", time.Since(start).Round(time.Millisecond))
		if va.Status.AttachmentMetadata[volumes.PublishDiskUUID] == "" {
			t.Fatalf("attachment metadata = %v", va.Status.AttachmentMetadata)
		}
		vms, err := w.vc.ConfirmConsumers(ctx, disk, w.vms(t, "vol-node-0"))
		if err != nil || len(vms) != 1 {
			t.Fatalf("VM vol-node-0 has the disk: %v, %v", vms, err)
		}
	})
	t.Run("vCenter shows the volume's PV, claim and Pod", func(t *testing.T) {
		claim, err := w.cp.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod, err := w.cp.Client.CoreV1().Pods(ns).Get(ctx, "app", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pvE := vsphere.VolumeEntity{Type: vsphere.EntityPV, Name: pv.Name, Labels: pv.Labels}
		claimE := vsphere.VolumeEntity{Type: vsphere.EntityPVC, Name: "data", Namespace: ns, Labels: claim.Labels, Refers: &pvE}
		podE := vsphere.VolumeEntity{Type: vsphere.EntityPod, Name: "app", Namespace: ns, Labels: pod.Labels, Refers: &claimE}
		want := []string{pvE.String(), claimE.String(), podE.String()}
		slices.Sort(want)
		var got []string
		if !framework.WaitFor(30*time.Second, 200*time.Millisecond, func() bool {
			got = cnsEntities(ctx, w.vc, pv.Spec.CSI.VolumeHandle)
			return slices.Equal(got, want)
		}) {
			t.Fatalf("CNS entities of volume %s = %q, want %q", pv.Spec.CSI.VolumeHandle, got, want)
		}
	})
	if va == nil || !va.Status.Attached {
		t.FailNow()
	}

	staging, target := filepath.Join(w.dir, "kubelet", "staging"), filepath.Join(w.dir, "kubelet", "pod", "data")
	// As kubelet does: the PV's fsType goes into the capability.
	volCap := &csi.VolumeCapability{AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{FsType: pv.Spec.CSI.FSType}},
		AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER}}
	t.Run("the node formats, stages and publishes the disk", func(t *testing.T) {
		uuid := va.Status.AttachmentMetadata[volumes.PublishDiskUUID]
		if err := w.guest.Attached(pv.Spec.CSI.VolumeHandle, uuid, 1<<30); err != nil {
			t.Fatal(err)
		}
		_, err := w.node.NodeStageVolume(ctx, &csi.NodeStageVolumeRequest{VolumeId: pv.Spec.CSI.VolumeHandle, PublishContext: va.Status.AttachmentMetadata,
			StagingTargetPath: staging, VolumeCapability: volCap, VolumeContext: pv.Spec.CSI.VolumeAttributes})
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.node.NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{VolumeId: pv.Spec.CSI.VolumeHandle, PublishContext: va.Status.AttachmentMetadata,
			StagingTargetPath: staging, TargetPath: target, VolumeCapability: volCap})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(target, "hello"), []byte("world"), 0o600); err != nil {
			t.Fatalf("writing to the published volume: %v", err)
		}
	})

	t.Run("growing the claim grows the disk and the filesystem", func(t *testing.T) {
		patch := []byte(`{"spec":{"resources":{"requests":{"storage":"2Gi"}}}}`)
		if _, err := core.PersistentVolumeClaims(ns).Patch(ctx, "data", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if !framework.WaitFor(60*time.Second, 200*time.Millisecond, func() bool {
			p, err := core.PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
			return err == nil && p.Spec.Capacity.Storage().Cmp(resource.MustParse("2Gi")) == 0
		}) {
			t.Fatal("PV capacity did not become 2Gi")
		}
		if d, err := w.vc.Disk(ctx, disk.ID); err != nil || d.CapacityMiB != 2048 {
			t.Fatalf("FCD after resize = %d MiB, %v; want 2048", d.CapacityMiB, err)
		}
		if err := w.guest.Grown(disk.ID, 2<<30); err != nil {
			t.Fatal(err)
		}
		if _, err := w.node.NodeExpandVolume(ctx, &csi.NodeExpandVolumeRequest{VolumeId: disk.ID, VolumePath: target,
			CapacityRange: &csi.CapacityRange{RequiredBytes: 2 << 30}, StagingTargetPath: staging, VolumeCapability: volCap}); err != nil {
			t.Fatal(err)
		}
		var st unix.Statfs_t
		if err := unix.Statfs(target, &st); err != nil || int64(st.Blocks)*st.Bsize < 3<<29 {
			t.Fatalf("filesystem after expansion: %d bytes, %v; want about 2 GiB", int64(st.Blocks)*st.Bsize, err)
		}
		if b, err := os.ReadFile(filepath.Join(target, "hello")); err != nil || string(b) != "world" {
			t.Fatalf("data after expansion = %q, %v", b, err)
		}
	})

	t.Run("deleting the Pod detaches the disk; deleting the claim deletes it", func(t *testing.T) {
		if _, err := w.node.NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: disk.ID, TargetPath: target}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.node.NodeUnstageVolume(ctx, &csi.NodeUnstageVolumeRequest{VolumeId: disk.ID, StagingTargetPath: staging}); err != nil {
			t.Fatal(err)
		}
		w.reportInUse(t, "vol-node-0")
		if err := core.Pods(ns).Delete(ctx, "app", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		if !framework.WaitFor(90*time.Second, 200*time.Millisecond, func() bool {
			_, err := w.cp.Client.StorageV1().VolumeAttachments().Get(ctx, va.Name, metav1.GetOptions{})
			return err != nil
		}) {
			t.Fatal("VolumeAttachment was not removed")
		}
		if err := w.guest.Detached(disk.ID); err != nil {
			t.Fatal(err)
		}
		if vms, err := w.vc.ConfirmConsumers(ctx, disk, w.vms(t, "vol-node-0")); err != nil || len(vms) != 0 {
			t.Fatalf("VM still has the disk after detach: %v, %v", vms, err)
		}
		if err := core.PersistentVolumeClaims(ns).Delete(ctx, "data", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if !framework.WaitFor(60*time.Second, 200*time.Millisecond, func() bool {
			_, err := core.PersistentVolumes().Get(ctx, pv.Name, metav1.GetOptions{})
			return err != nil
		}) {
			t.Fatal("PV was not deleted")
		}
		if _, err := w.vc.Disk(ctx, disk.ID); !errors.Is(err, vsphere.ErrNotFound) {
			t.Fatalf("FCD after the claim's deletion: %v, want not found", err)
		}
	})

	t.Run("a node VM without disk.EnableUUID gets an attach error that says how to fix it, and attaches once fixed", func(t *testing.T) {
		pv2 := w.bindClaim(t, ns, "data2", "64Mi")
		w.createPod(t, ns, "app2", "vol-node-1", "data2")
		w.reportInUse(t, "vol-node-1", pv2)
		va2 := w.waitAttachment(t, pv2.Name, "vol-node-1", func(va *storagev1.VolumeAttachment) bool { return va.Status.AttachError != nil })
		if msg := va2.Status.AttachError.Message; !strings.Contains(msg, "disk.EnableUUID=TRUE") {
			t.Errorf("attach error = %q; want it to name disk.EnableUUID=TRUE", msg)
		}
		c, err := w.sim.Client(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := framework.SetExtraConfig(ctx, c, "/DC0/vm/vol-node-1", "disk.EnableUUID", "TRUE"); err != nil {
			t.Fatal(err)
		}
		w.waitAttachment(t, pv2.Name, "vol-node-1", func(va *storagev1.VolumeAttachment) bool { return va.Status.Attached })
		if err := core.Pods(ns).Delete(ctx, "app2", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			t.Fatal(err)
		}
		w.reportInUse(t, "vol-node-1")
		if err := core.PersistentVolumeClaims(ns).Delete(ctx, "data2", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if !framework.WaitFor(90*time.Second, 200*time.Millisecond, func() bool {
			_, err := core.PersistentVolumes().Get(ctx, pv2.Name, metav1.GetOptions{})
			return err != nil
		}) {
			t.Fatal("PV was not deleted after detach")
		}
		if _, err := w.vc.Disk(ctx, pv2.Spec.CSI.VolumeHandle); !errors.Is(err, vsphere.ErrNotFound) {
			t.Fatalf("FCD after the claim's deletion: %v, want not found", err)
		}
	})
}

func (w *volumeWorld) bindClaim(t *testing.T, ns, name, size string) *corev1.PersistentVolume {
	t.Helper()
	ctx := context.Background()
	_, err := w.cp.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr.To("fast"),
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var pvc *corev1.PersistentVolumeClaim
	if !framework.WaitFor(90*time.Second, 200*time.Millisecond, func() bool {
		pvc, err = w.cp.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && pvc.Status.Phase == corev1.ClaimBound
	}) {
		t.Fatalf("claim %s not Bound: %+v", name, pvc)
	}
	pv, err := w.cp.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pv
}

// reportInUse sets the Node's status.volumesInUse to pvs, as kubelet does while a Pod's
// volumes are wanted or mounted and clears once they are unmounted. The attach-detach
// controller assumes a volume it attached is mounted until a Node update says otherwise,
// and waits up to six minutes before detaching one it believes mounted.
func (w *volumeWorld) reportInUse(t *testing.T, node string, pvs ...*corev1.PersistentVolume) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := w.cp.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.Status.VolumesInUse = nil
		for _, pv := range pvs {
			n.Status.VolumesInUse = append(n.Status.VolumesInUse, corev1.UniqueVolumeName("kubernetes.io/csi/"+pv.Spec.CSI.Driver+"^"+pv.Spec.CSI.VolumeHandle))
		}
		_, err = w.cp.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("reporting volumes in use on %s: %v", node, err)
	}
}

func (w *volumeWorld) createPod(t *testing.T, ns, name, node, claim string) {
	t.Helper()
	_, err := w.cp.Client.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10", VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}},
			Volumes:    []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

// waitAttachment waits for the attach-detach controller's VolumeAttachment of pv to node
// to satisfy ok.
func (w *volumeWorld) waitAttachment(t *testing.T, pv, node string, ok func(*storagev1.VolumeAttachment) bool) *storagev1.VolumeAttachment {
	t.Helper()
	var found *storagev1.VolumeAttachment
	if !framework.WaitFor(90*time.Second, 200*time.Millisecond, func() bool {
		list, err := w.cp.Client.StorageV1().VolumeAttachments().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return false
		}
		for i := range list.Items {
			va := &list.Items[i]
			if va.Spec.NodeName == node && ptr.Deref(va.Spec.Source.PersistentVolumeName, "") == pv {
				found = va
				return ok(va)
			}
		}
		return false
	}) {
		t.Fatalf("VolumeAttachment of %s to %s: %+v", pv, node, found)
	}
	return found
}

func (w *volumeWorld) vms(t *testing.T, name string) []vsphere.VM {
	t.Helper()
	vm, err := w.vc.FindNodeVM(context.Background(), vsphere.NodeQuery{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return []vsphere.VM{vm}
}

// cnsEntities is what CNS records about a volume's PV, claim and Pods, sorted.
func cnsEntities(ctx context.Context, vc *vsphere.Manager, id string) []string {
	recs, err := vc.ClusterVolumes(ctx)
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, r := range recs {
		if r.ID == id {
			for _, e := range r.Entities {
				out = append(out, e.String())
			}
		}
	}
	slices.Sort(out)
	return out
}

func affinityZones(pv *corev1.PersistentVolume) []string {
	var out []string
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return nil
	}
	for _, term := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range term.MatchExpressions {
			if e.Key == volumes.TopologyZone {
				out = append(out, e.Values...)
			}
		}
	}
	return out
}
