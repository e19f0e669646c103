package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/test/framework"
)

// The fault matrix: each fault of the vCenter proxy, and each vCenter behaviour the strict
// simulator plays (faults_vcenter_test.go), against each operation. `make test` runs the
// short form; `make test-faults` (VSPHERE_CLOUD_FAULTS=full) every row. The run writes the
// table: the full run to docs/reliability.md, the short one to the artifacts.

// matrixFault is a row of the matrix: a fault of the proxy, or a behaviour switched on for
// the window by on and off again by off.
type matrixFault struct {
	name    string
	proxy   framework.Fault
	on, off func(t *testing.T, w *faultWorld)
}

func proxyFault(f framework.Fault) matrixFault { return matrixFault{name: f.String(), proxy: f} }

func (f matrixFault) apply(t *testing.T, w *faultWorld) {
	t.Helper()
	w.proxy.SetFault(f.proxy)
	if f.on != nil {
		f.on(t, w)
	}
}

func (f matrixFault) clear(t *testing.T, w *faultWorld) {
	t.Helper()
	w.proxy.SetFault(framework.Fault{})
	if f.off != nil {
		f.off(t, w)
	}
}

var shortFaults = append([]matrixFault{
	proxyFault(framework.Fault{Kind: framework.FaultRefuse}),
	proxyFault(framework.Fault{Kind: framework.FaultSystemError}),
	proxyFault(framework.Fault{Kind: framework.FaultNoPermission, Methods: []string{"CnsAttachVolume", "CnsDetachVolume", "CnsCreateVolume", "CnsDeleteVolume"}}),
}, vcenterBehaviours...)

var fullFaults = append(append([]matrixFault(nil), shortFaults...),
	proxyFault(framework.Fault{Kind: framework.FaultDrop, Delay: 5 * time.Second}),
	proxyFault(framework.Fault{Kind: framework.Fault503}),
	proxyFault(framework.Fault{Kind: framework.FaultSlow, Delay: 2 * time.Second}),
	proxyFault(framework.Fault{Kind: framework.FaultNotAuthenticated}),
	proxyFault(framework.Fault{Kind: framework.FaultSystemError, Methods: []string{"WaitForUpdatesEx"}}),
)

const (
	faultWindow  = 8 * time.Second
	convergeTime = 120 * time.Second
)

var faultOps = []string{"node init", "node lifecycle", "create", "attach", "detach", "delete", "VIP allocation"}

type cell struct {
	during   bool          // completed while the fault was on
	after    time.Duration // time from clearing the fault to completion
	finished bool
}

type faultRow struct {
	fault matrixFault
	cells map[string]*cell
}

type faultWorld struct {
	*volumeWorld
	lb    *lbWorld
	proxy *framework.CountingProxy
	ccm   *framework.Process
	ccms  []*framework.Process // every cloud-controller started, for the log check
	conf  string
	sock  string
	// lan and vipWatch: vsphere-node agents announcing VIPs in network namespaces, and the
	// kernel's record of which namespace carried the keeper VIP when.
	lan      *vipLAN
	vipWatch *framework.AddrWatch
	// task is the maintenance task a row cancels.
	task string
}

func TestFaultMatrix(t *testing.T) {
	faults, full := shortFaults, os.Getenv("VSPHERE_CLOUD_FAULTS") == "full"
	if full {
		faults = fullFaults
	}
	var extra []string
	for i := range faults {
		extra = append(extra, fmt.Sprintf("init-%d", i), fmt.Sprintf("victim-%d", i))
	}
	w := startFaultWorld(t, "faults", extra)
	for i := range faults {
		w.joinNode(t, fmt.Sprintf("victim-%d", i))
	}
	w.lb.pool(t, "lan", faultPoolPrefix+"1-"+faultPoolPrefix+"50")
	w.lb.service(t, "keeper")
	keeper := ingress(w.lb.waitService(t, "keeper", "no ingress", func(s *corev1.Service) bool { return ingress(s) != "" }))
	w.announce(t, keeper)

	var rows []faultRow
	for i, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			rows = append(rows, w.runCell(t, i, f))
			w.invariants(t, keeper)
		})
	}
	t.Run("invariants after every fault", func(t *testing.T) { w.invariants(t, keeper) })
	// Only the full matrix is the document; the short form's table goes to the artifacts.
	path := filepath.Join(w.dir, "reliability.md")
	if full {
		path = filepath.Join("..", "..", "docs", "reliability.md")
	}
	writeReliability(t, path, rows, w.proxy.Injected())
}

// startFaultWorld: the control plane, the simulator behind the fault proxy with VMs
// worker-0, bystander and extra, cloud-controller (node, service and CSI controllers)
// through the proxy, the CSI sidecars, kube-controller-manager's PV controllers, an
// observer straight to the simulator, and the Nodes worker-0 and bystander.
func startFaultWorld(t *testing.T, name string, extra []string, tune ...func(*framework.SimInventory)) *faultWorld {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the volume stack's node side needs root")
	}
	ctx := context.Background()
	inv := &framework.SimInventory{Datacenters: 1, Clusters: 1, Hosts: 2, Tags: []framework.SimTag{
		{Category: "k8s-zone", Name: "zone-a", AttachTo: []string{"DC0_C0"}},
		{Category: "k8s-region", Name: "region-1", AttachTo: []string{"DC0"}},
	}}
	for _, n := range append([]string{"worker-0", "worker-1", "bystander"}, extra...) {
		inv.VMs = append(inv.VMs, framework.SimVM{Name: n, UUID: framework.TestUUID(n), Hostname: n, IPs: []string{"10.9.0." + fmt.Sprint(len(inv.VMs)+10)}})
	}
	for _, f := range tune {
		f(inv)
	}
	dir, cp, sim := startWorld(t, name, inv)
	if err := os.MkdirAll(filepath.Join(dir, "proxy"), 0o755); err != nil {
		t.Fatal(err)
	}
	proxy, err := framework.StartCountingProxy(filepath.Join(dir, "proxy"), sim.URL, sim.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	if err := framework.EnsureCredentials(ctx, cp, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	host, port := proxy.HostPort()
	w := &faultWorld{volumeWorld: &volumeWorld{cp: cp, sim: sim, dir: dir}, proxy: proxy,
		sock: filepath.Join(dir, "csi", "csi.sock"),
		conf: framework.CloudConfig(host, port, proxy.CAFile, "inventory:\n  maxWait: 2s\n  freshness: 6s\n  callTimeout: 3s\n")}
	w.startCCM(t)
	sidecars, err := framework.StartSidecars(cp, w.sock)
	if err != nil {
		t.Fatal(err)
	}
	// BENCH_KCM_FLAGS, such as --kube-api-qps=100: what the PV binder's client rate costs
	// when 1,000 claims are created together (TestBenchVolumesAtScale).
	kcm, err := framework.StartControllerManager(cp, "persistentvolume-binder-controller,persistentvolumeclaim-protection-controller,persistentvolume-protection-controller",
		strings.Fields(os.Getenv("BENCH_KCM_FLAGS"))...)
	if err != nil {
		t.Fatal(err)
	}
	procs := append(procsOf(sidecars...), kcm)
	for _, p := range procs {
		t.Cleanup(p.Stop)
	}
	t.Cleanup(func() {
		for _, p := range append(procs, procsOf(w.ccms...)...) {
			if p.LogContains(framework.SimPassword) {
				t.Errorf("the vCenter password appears in a log (pid %d)", p.Pid())
			}
		}
	})
	w.lb = &lbWorld{dir: dir, cp: cp, sim: sim, ccm: w.ccm, t: t}
	w.vc = startManager(t, ctx, dir, sim)
	if w.lb.crc, err = client.New(cp.Config, client.Options{Scheme: scheme(t)}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"worker-0", "worker-1", "bystander"} {
		w.joinNode(t, n)
	}
	w.storageClass(t)
	return w
}

// startCCM (re)starts cloud-controller through the proxy, with the CSI service.
func (w *faultWorld) startCCM(t *testing.T) {
	ccm, err := framework.StartCloudController(w.cp, "cloud-controller", w.conf, "--csi-endpoint=unix://"+w.sock,
		"--controllers=cloud-node,cloud-node-lifecycle,service,vsphere-placement,vsphere-volume-metadata", "--node-monitor-period=2s")
	if err != nil {
		t.Fatal(err)
	}
	w.ccm = ccm
	w.ccms = append(w.ccms, ccm)
	t.Cleanup(ccm.Stop)
}

// joinNode registers a Node as kubelet would, waits for its providerID and writes the
// CSINode that kubelet writes after registration.
func (w *faultWorld) joinNode(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	if err := framework.RegisterNode(ctx, w.cp.Client, name, framework.TestUUID(name)); err != nil {
		t.Fatal(err)
	}
	var n *corev1.Node
	if !framework.WaitFor(60*time.Second, 200*time.Millisecond, func() bool {
		var err error
		n, err = w.cp.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && n.Spec.ProviderID != ""
	}) {
		t.Fatalf("node %s not initialized", name)
	}
	_, err := w.cp.Client.StorageV1().CSINodes().Create(ctx, &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
			Name: volumes.DriverName, NodeID: strings.TrimPrefix(n.Spec.ProviderID, "vsphere://"),
			TopologyKeys: []string{volumes.TopologyZone, volumes.TopologyRegion},
		}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The observer follows this node VM's disks (for the double-attachment check).
	vm, err := w.vc.FindNodeVM(ctx, vsphere.NodeQuery{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	w.vc.TrackDisks(vm)
}

func (w *faultWorld) storageClass(t *testing.T) {
	t.Helper()
	_, err := w.cp.Client.StorageV1().StorageClasses().Create(context.Background(), &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Provisioner: volumes.DriverName,
		ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimDelete), VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *faultWorld) claim(t *testing.T, name string) {
	t.Helper()
	_, err := w.cp.Client.CoreV1().PersistentVolumeClaims("default").Create(context.Background(), &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To("fast"),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *faultWorld) boundPV(name string) string {
	pvc, err := w.cp.Client.CoreV1().PersistentVolumeClaims("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil || pvc.Status.Phase != corev1.ClaimBound {
		return ""
	}
	return pvc.Spec.VolumeName
}

func (w *faultWorld) attachment(t *testing.T, name, pv, node string) {
	t.Helper()
	_, err := w.cp.Client.StorageV1().VolumeAttachments().Create(context.Background(), &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       storagev1.VolumeAttachmentSpec{Attacher: volumes.DriverName, NodeName: node, Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To(pv)}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func (w *faultWorld) attached(name string) bool {
	va, err := w.cp.Client.StorageV1().VolumeAttachments().Get(context.Background(), name, metav1.GetOptions{})
	return err == nil && va.Status.Attached
}

func (w *faultWorld) gone(get func() error) bool { return get() != nil }

// runCell sets up what the operations need, injects the fault for faultWindow while they
// run, clears it and times how long each takes to converge.
func (w *faultWorld) runCell(t *testing.T, i int, f matrixFault) faultRow {
	ctx := context.Background()
	core := w.cp.Client.CoreV1()
	sfx := fmt.Sprint(i)
	// Healthy set-up: claims to attach, to detach and to delete.
	for _, n := range []string{"att-", "det-", "del-"} {
		w.claim(t, n+sfx)
	}
	var attPV, detPV, delPV string
	if !framework.WaitFor(90*time.Second, 200*time.Millisecond, func() bool {
		attPV, detPV, delPV = w.boundPV("att-"+sfx), w.boundPV("det-"+sfx), w.boundPV("del-"+sfx)
		return attPV != "" && detPV != "" && delPV != ""
	}) {
		t.Fatal("set-up claims not bound")
	}
	w.attachment(t, "va-det-"+sfx, detPV, "worker-0")
	if !framework.WaitFor(60*time.Second, 200*time.Millisecond, func() bool { return w.attached("va-det-" + sfx) }) {
		t.Fatal("set-up attachment not attached")
	}
	delPVObj, _ := core.PersistentVolumes().Get(ctx, delPV, metav1.GetOptions{})
	detPVObj, _ := core.PersistentVolumes().Get(ctx, detPV, metav1.GetOptions{})

	f.apply(t, w)
	start := time.Now()
	// The operations, all at once.
	if err := framework.RegisterNode(ctx, w.cp.Client, "init-"+sfx, framework.TestUUID("init-"+sfx)); err != nil {
		t.Fatal(err)
	}
	c, err := w.sim.Client(ctx) // straight to the simulator, not through the fault
	if err != nil {
		t.Fatal(err)
	}
	if vm, err := framework.FindVM(ctx, c, "/DC0/vm/victim-"+sfx); err == nil {
		if task, err := vm.PowerOff(ctx); err == nil {
			_ = task.Wait(ctx)
		}
		if task, err := vm.Destroy(ctx); err == nil {
			_ = task.Wait(ctx)
		}
	}
	_ = framework.SetReady(ctx, w.cp.Client, "victim-"+sfx, corev1.ConditionUnknown)
	_ = framework.SetReady(ctx, w.cp.Client, "bystander", corev1.ConditionUnknown)
	w.claim(t, "new-"+sfx)
	w.attachment(t, "va-att-"+sfx, attPV, "worker-0")
	if err := w.cp.Client.StorageV1().VolumeAttachments().Delete(ctx, "va-det-"+sfx, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := core.PersistentVolumeClaims("default").Delete(ctx, "del-"+sfx, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w.lb.service(t, "svc-"+sfx)

	done := map[string]func() bool{
		"node init": func() bool {
			n, err := core.Nodes().Get(ctx, "init-"+sfx, metav1.GetOptions{})
			return err == nil && n.Spec.ProviderID != ""
		},
		"node lifecycle": func() bool {
			return w.gone(func() error { _, err := core.Nodes().Get(ctx, "victim-"+sfx, metav1.GetOptions{}); return err })
		},
		"create": func() bool { return w.boundPV("new-"+sfx) != "" },
		"attach": func() bool { return w.attached("va-att-" + sfx) },
		"detach": func() bool {
			if !w.gone(func() error {
				_, err := w.cp.Client.StorageV1().VolumeAttachments().Get(ctx, "va-det-"+sfx, metav1.GetOptions{})
				return err
			}) {
				return false
			}
			d, err := w.vc.Disk(ctx, detPVObj.Spec.CSI.VolumeHandle)
			if err != nil {
				return false
			}
			vms, err := w.vc.ConfirmConsumers(ctx, d, w.vms(t, "worker-0"))
			return err == nil && len(vms) == 0
		},
		"delete": func() bool {
			_, err := w.vc.Disk(ctx, delPVObj.Spec.CSI.VolumeHandle)
			return err != nil && strings.Contains(err.Error(), "not found")
		},
		"VIP allocation": func() bool {
			s, err := core.Services("default").Get(ctx, "svc-"+sfx, metav1.GetOptions{})
			return err == nil && ingress(s) != ""
		},
	}
	row := faultRow{fault: f, cells: map[string]*cell{}}
	for _, op := range faultOps {
		row.cells[op] = &cell{}
	}
	var mu sync.Mutex
	poll := func(until time.Time, during bool, cleared time.Time) {
		for time.Now().Before(until) {
			all := true
			mu.Lock()
			for op, ok := range done {
				c := row.cells[op]
				if c.finished {
					continue
				}
				if ok() {
					c.finished, c.during = true, during
					if !during {
						c.after = time.Since(cleared)
					}
				} else {
					all = false
				}
			}
			mu.Unlock()
			if all {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	poll(start.Add(faultWindow), true, time.Time{})
	// The fault holds for the whole window even when every operation is done: the
	// lifecycle controller looks at the NotReady bystander every node monitor period
	// meanwhile, and it must still exist at the end (its VM is present, or hidden or
	// inaccessible, never proven gone).
	time.Sleep(time.Until(start.Add(faultWindow)))
	if _, err := core.Nodes().Get(ctx, "bystander", metav1.GetOptions{}); err != nil {
		t.Errorf("the bystander Node was deleted during %s: %v", f.name, err)
	}
	f.clear(t, w)
	cleared := time.Now()
	poll(cleared.Add(convergeTime), false, cleared)
	for _, op := range faultOps {
		if !row.cells[op].finished {
			t.Errorf("%s did not converge within %s after %s was cleared", op, convergeTime, f.name)
		}
	}
	_ = framework.SetReady(ctx, w.cp.Client, "bystander", corev1.ConditionTrue)
	return row
}

// announce starts a vsphere-node agent for each node VM in its own network namespace
// (startVIPLAN) and follows every pool address on their interfaces, from the kernel's
// notifications, for the whole matrix; it waits for the keeper VIP to be carried.
func (w *faultWorld) announce(t *testing.T, keeper string) {
	t.Helper()
	w.lb.nodes = []string{"worker-0", "worker-1", "bystander"}
	w.lb.lan, w.lb.lan4, w.lb.lan6 = "brflt", "10.78.0.", "fd78::"
	w.lan = startVIPLAN(t, w.lb)
	var namespaces []string
	for _, n := range w.lb.nodes {
		namespaces = append(namespaces, nsOf(n))
	}
	watch, err := w.lan.seg.WatchAddresses(func(a string) bool { return strings.HasPrefix(a, faultPoolPrefix) }, namespaces...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(watch.Close)
	w.vipWatch = watch
	if !framework.WaitFor(30*time.Second, 100*time.Millisecond, func() bool { return len(watch.HoldersOf(keeper)) == 1 }) {
		t.Fatalf("no node announces the keeper VIP %s", keeper)
	}
}

// faultPoolPrefix is the pool's addresses' common prefix.
const faultPoolPrefix = "10.9.1."

// invariants: no wrong Node deletion, no orphaned or missing disk, no disk on two VMs, no
// lost VIP, no VIP ever carried by two nodes at once, and every allocated VIP carried by
// exactly one node.
func (w *faultWorld) invariants(t *testing.T, keeper string) {
	t.Helper()
	ctx := context.Background()
	if _, err := w.cp.Client.CoreV1().Nodes().Get(ctx, "bystander", metav1.GetOptions{}); err != nil {
		t.Errorf("wrong Node deletion: bystander: %v", err)
	}
	disks, err := w.vc.Disks(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	pvs, err := w.cp.Client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	handles := map[string]string{} // volume handle → PV name
	for _, pv := range pvs.Items {
		if pv.Spec.CSI != nil {
			handles[pv.Spec.CSI.VolumeHandle] = pv.Name
		}
	}
	files := map[string]string{}
	byID := map[string]bool{}
	for _, d := range disks {
		files[d.File] = d.ID
		byID[d.ID] = true
		if handles[d.ID] == "" {
			// A claim still being deleted may own it for a moment; give it the time a
			// deletion takes before calling it an orphan.
			if !framework.WaitFor(30*time.Second, 500*time.Millisecond, func() bool { _, err := w.vc.Disk(ctx, d.ID); return err != nil }) {
				t.Errorf("orphaned disk: %s (%s) has no PV", d.ID, d.Name)
			}
		}
	}
	for h, pvName := range handles {
		if byID[h] {
			continue
		}
		// A released PV outlives its disk for a moment: external-provisioner deletes the
		// disk first, then the PV. Lost means the PV stays and the disk never comes back.
		if !framework.WaitFor(30*time.Second, 500*time.Millisecond, func() bool {
			if _, err := w.cp.Client.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return true
			}
			_, err := w.vc.Disk(ctx, h)
			return err == nil
		}) {
			t.Errorf("lost disk: PV %s refers to %s, which does not exist", pvName, h)
		}
	}
	for id, vms := range w.vc.DiskAttachments(files) {
		if len(vms) > 1 {
			t.Errorf("double attachment: disk %s is on %d VMs", id, len(vms))
		}
	}
	s, err := w.cp.Client.CoreV1().Services("default").Get(ctx, "keeper", metav1.GetOptions{})
	if err != nil || ingress(s) != keeper {
		t.Errorf("lost VIP: keeper has %q, had %s (%v)", ingress(s), keeper, err)
	}
	w.announced(t)
}

// announced: no address was ever on two nodes at once, and every Service's VIP is on
// exactly one node (after the few seconds a handover may take).
func (w *faultWorld) announced(t *testing.T) {
	t.Helper()
	if w.vipWatch == nil {
		return
	}
	for _, o := range w.vipWatch.Overlaps() {
		t.Errorf("double announcement: %s", o)
	}
	svcs, err := w.cp.Client.CoreV1().Services("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs.Items {
		vip := ingress(&s)
		if vip == "" {
			continue
		}
		if !framework.WaitFor(15*time.Second, 100*time.Millisecond, func() bool { return len(w.vipWatch.HoldersOf(vip)) == 1 }) {
			t.Errorf("lost VIP: %s of Service %s is carried by %v, want exactly one node", vip, s.Name, w.vipWatch.HoldersOf(vip))
		}
	}
}

// writeReliability writes the reliability document to path from the measured rows.
func writeReliability(t *testing.T, path string, rows []faultRow, injected int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# Reliability: what each vCenter fault does to each operation\n\n")
	b.WriteString("Generated by `TestFaultMatrix` (test/e2e/faults_test.go) on " + time.Now().UTC().Format("2006-01-02") + "; `make test` runs the\n")
	b.WriteString("short form, `make test-faults` every fault. A fault-injecting proxy sits between cloud-controller\n")
	b.WriteString("and the simulator; the other rows are vCenter behaviours the strict simulator plays (hack/vcsim,\n")
	b.WriteString(fmt.Sprintf("docs/vcenter-behaviour.md). Each fault is held for %s while all operations start, then cleared.\n", faultWindow))
	b.WriteString("A cell says whether the operation completed **during** the fault, or how long after the fault\n")
	b.WriteString("was cleared it converged. Every run also asserts, after every fault: 0 wrong Node deletions (a\n")
	b.WriteString("NotReady Node whose VM exists), 0 orphaned disks (an FCD without PV), 0 lost disks, 0 double\n")
	b.WriteString("attachments, 0 lost VIPs (a Service allocated before the faults keeps its address, and every\n")
	b.WriteString("allocated VIP is on exactly one node), 0 double announcements (vsphere-node agents in network\n")
	b.WriteString("namespaces announce the VIPs; the kernel's address notifications show no VIP on two nodes at once).\n\n")
	b.WriteString("| fault | " + strings.Join(faultOps, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(faultOps)+1) + "\n")
	for _, r := range rows {
		b.WriteString("| " + r.fault.name + " |")
		for _, op := range faultOps {
			c := r.cells[op]
			switch {
			case !c.finished:
				b.WriteString(" did not converge |")
			case c.during:
				b.WriteString(" done during the fault |")
			default:
				b.WriteString(fmt.Sprintf(" %.1f s after clearing |", c.after.Seconds()))
			}
		}
		b.WriteString("\n")
	}
	status := "all invariants held"
	if t.Failed() {
		status = "**some assertions failed in this run; see the test log**"
	}
	b.WriteString(fmt.Sprintf("\n%d requests were failed on purpose; %s.\n\n", injected, status))
	b.WriteString("Node lifecycle: a Node whose VM was deleted is removed only when every vCenter cache is synced\n")
	b.WriteString("and fresh; a fault that breaks the inventory watch therefore delays it until the fault clears.\n")
	b.WriteString("Faults on single methods (permission denied on disk and reconfigure calls) leave the watch\n")
	b.WriteString("fresh, so the proven-gone VM's Node goes during the fault, while the refused disk operations\n")
	b.WriteString("retry and complete after it.\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Errorf("writing %s: %v", path, err)
	}
	t.Logf("wrote %s:\n%s", path, b.String())
}
