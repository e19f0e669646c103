package e2e

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/volumes"
	"github.com/vsphere-cloud/provider/test/framework"
)

// TestVolumeFailover: a StatefulSet's Pod with a claim runs on a Node whose VM is then
// powered off. cloud-controller, with its default timings, takes the Node out of service
// on vCenter's proof; kube-controller-manager's own controllers (taint eviction, pod GC,
// attach-detach, StatefulSet) move the Pod and its volume to the other Node. While
// vCenter is unreachable nothing happens. The test plays kubelet (heartbeats, volumes in
// use) and the scheduler (binding to a Ready Node without a NoExecute taint).
func TestVolumeFailover(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root like the other volume tests")
	}
	ctx := context.Background()
	inv := &framework.SimInventory{Datacenters: 1, Clusters: 1, Hosts: 2, VMs: []framework.SimVM{
		{Name: "fo-0", UUID: framework.TestUUID("fo-0"), Hostname: "fo-0"},
		{Name: "fo-1", UUID: framework.TestUUID("fo-1"), Hostname: "fo-1"},
	}, Tags: []framework.SimTag{
		{Category: "k8s-zone", Name: "zone-a", AttachTo: []string{"DC0_C0"}},
		{Category: "k8s-region", Name: "region-1", AttachTo: []string{"DC0"}},
	}}
	dir, cp, sim := startWorld(t, "failover", inv)
	if err := framework.EnsureCredentials(ctx, cp, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "proxy"), 0o700); err != nil {
		t.Fatal(err)
	}
	proxy, err := framework.StartCountingProxy(filepath.Join(dir, "proxy"), sim.URL, sim.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	_, proxyPort := proxy.HostPort()
	sock := filepath.Join(dir, "csi", "csi.sock")
	// Default inventory timings and flags: only the controllers this world needs.
	ccm, err := framework.StartCloudController(cp, "cloud-controller", framework.CloudConfig("127.0.0.1", proxyPort, proxy.CAFile, ""),
		"--csi-endpoint=unix://"+sock, "--controllers=cloud-node,cloud-node-lifecycle,vsphere-placement")
	if err != nil {
		t.Fatal(err)
	}
	procs := []proc{ccm}
	sidecars, err := framework.StartSidecars(cp, sock)
	if err != nil {
		t.Fatal(err)
	}
	procs = append(procs, procsOf(sidecars...)...)
	kcm, err := framework.StartControllerManager(cp, "persistentvolume-binder-controller,persistentvolume-attach-detach-controller,"+
		"persistentvolumeclaim-protection-controller,persistentvolume-protection-controller,"+
		"node-lifecycle-controller,taint-eviction-controller,pod-garbage-collector-controller,statefulset-controller")
	if err != nil {
		t.Fatal(err)
	}
	procs = append(procs, kcm)
	for _, p := range procs {
		t.Cleanup(p.Stop)
	}
	t.Cleanup(func() {
		for _, p := range procs {
			if t.Failed() {
				t.Logf("log tail of pid %d:\n%s", p.Pid(), p.Tail(4000))
			}
		}
	})
	w := &volumeWorld{cp: cp, sim: sim, dir: dir}
	hb := startHeartbeats(t, cp.Client, "fo-0", "fo-1")
	for _, n := range []string{"fo-0", "fo-1"} {
		w.registerNode(t, n)
	}
	w.vc = startManager(t, ctx, dir, sim)
	admin, err := sim.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	vm0, err := framework.FindVM(ctx, admin, "/DC0/vm/fo-0")
	if err != nil {
		t.Fatal(err)
	}
	power := func(t *testing.T, on bool) {
		t.Helper()
		task, err := vm0.PowerOff(ctx)
		if on {
			task, err = vm0.PowerOn(ctx)
		}
		if err == nil {
			err = task.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
	}

	ns := "default"
	if _, err := cp.Client.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "failover"}, Provisioner: volumes.DriverName,
		ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimDelete), VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate),
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sched := startScheduler(t, cp.Client, ns)
	labels := map[string]string{"app": "db"}
	if _, err := cp.Client.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: "registry.k8s.io/pause:3.10",
					VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}}}},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: ptr.To("failover"),
					Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("64Mi")}},
				},
			}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var pvName string
	if !framework.WaitFor(90*time.Second, 200*time.Millisecond, func() bool {
		pvc, err := cp.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-db-0", metav1.GetOptions{})
		if err == nil && pvc.Status.Phase == corev1.ClaimBound {
			pvName = pvc.Spec.VolumeName
		}
		return pvName != ""
	}) {
		t.Fatal("claim data-db-0 was not Bound")
	}
	pv, err := cp.Client.CoreV1().PersistentVolumes().Get(ctx, pvName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	attached := func(va *storagev1.VolumeAttachment) bool { return va.Status.Attached }
	w.waitAttachment(t, pvName, "fo-0", attached)
	// kubelet mounted it: the attach-detach controller now waits for an unmount kubelet
	// confirms before a detach, for up to six minutes, unless the Node is out of service.
	w.reportInUse(t, "fo-0", pv)
	if got := sched.boundTo("db-0"); got != "fo-0" {
		t.Fatalf("db-0 bound to %q, want fo-0", got)
	}
	outOfService := func(n *corev1.Node) bool {
		return slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeOutOfService })
	}
	node0 := func(t *testing.T) *corev1.Node {
		n, err := cp.Client.CoreV1().Nodes().Get(ctx, "fo-0", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("vCenter unreachable: a powered-off VM changes nothing", func(t *testing.T) {
		proxy.Disconnect()
		hb.stop("fo-0")
		power(t, false)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if n := node0(t); outOfService(n) || n.Annotations[v1alpha1.AnnotationOutOfService] != "" {
				t.Fatalf("fo-0 taken out of service without proof: %v", n.Spec.Taints)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if _, err := cp.Client.CoreV1().Pods(ns).Get(ctx, "db-0", metav1.GetOptions{}); err != nil || sched.boundTo("db-0") != "fo-0" {
			t.Fatalf("db-0 moved while vCenter was unreachable: %v", err)
		}
		w.waitAttachment(t, pvName, "fo-0", attached)
		// The VM comes back before vCenter does; then cloud-controller reconnects.
		power(t, true)
		hb.start("fo-0")
		proxy.Reset()
		proxy.SetFault(framework.Fault{})
		if !framework.WaitFor(2*time.Minute, 100*time.Millisecond, func() bool { return proxy.Count("SOAP WaitForUpdatesEx") >= 2 }) {
			t.Fatal("cloud-controller did not read the inventory again")
		}
		if n := node0(t); outOfService(n) {
			t.Fatalf("fo-0 out of service after vCenter returned with its VM on: %v", n.Spec.Taints)
		}
	})

	t.Run("a powered-off VM's Pod and volume move to another Node", func(t *testing.T) {
		start := time.Now()
		hb.stop("fo-0")
		power(t, false)
		var tainted, moved time.Duration
		if !framework.WaitFor(30*time.Second, 100*time.Millisecond, func() bool { return outOfService(node0(t)) }) {
			t.Fatalf("fo-0 not taken out of service: %+v", node0(t).Spec.Taints)
		}
		tainted = time.Since(start)
		if !framework.WaitFor(90*time.Second, 100*time.Millisecond, func() bool { return sched.boundTo("db-0") == "fo-1" }) {
			t.Fatal("db-0 was not recreated on fo-1")
		}
		moved = time.Since(start)
		w.waitAttachment(t, pvName, "fo-1", attached)
		failover := time.Since(start)
		t.Logf("out-of-service taint after %s, Pod on fo-1 after %s, volume attached there after %s", tainted, moved, failover)
		bench("volume_failover_seconds", failover.Seconds(), "s")
		if failover > 60*time.Second {
			t.Errorf("failover took %s, target 60s", failover)
		}
		if n := node0(t); !slices.ContainsFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool {
			return c.Type == corev1.NodeReady && c.Status == corev1.ConditionFalse
		}) {
			t.Errorf("fo-0 is not marked not Ready: %+v", n.Status.Conditions)
		}
		disk, err := w.vc.Disk(ctx, pv.Spec.CSI.VolumeHandle)
		if err != nil {
			t.Fatal(err)
		}
		for node, want := range map[string]int{"fo-0": 0, "fo-1": 1} {
			if vms, err := w.vc.ConfirmConsumers(ctx, disk, w.vms(t, node)); err != nil || len(vms) != want {
				t.Errorf("VM %s has the disk: %v, %v; want %d", node, vms, err, want)
			}
		}
	})

	t.Run("the VM powered on again: the taint goes", func(t *testing.T) {
		power(t, true)
		hb.start("fo-0")
		if !framework.WaitFor(30*time.Second, 100*time.Millisecond, func() bool {
			n := node0(t)
			return !outOfService(n) && n.Annotations[v1alpha1.AnnotationOutOfService] == ""
		}) {
			t.Fatalf("fo-0 still out of service: %+v", node0(t).Spec.Taints)
		}
	})
}

// heartbeats renews the kube-node-lease Lease of each live Node, as kubelet does, so that
// the node lifecycle controller sees it alive.
type heartbeats struct {
	mu   sync.Mutex
	live map[string]bool
}

func startHeartbeats(t *testing.T, c kubernetes.Interface, nodes ...string) *heartbeats {
	hb := &heartbeats{live: map[string]bool{}}
	for _, n := range nodes {
		hb.live[n] = true
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			hb.mu.Lock()
			var names []string
			for n, ok := range hb.live {
				if ok {
					names = append(names, n)
				}
			}
			hb.mu.Unlock()
			for _, n := range names {
				renewNodeLease(ctx, c, n)
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}()
	return hb
}

func (hb *heartbeats) set(node string, live bool) {
	hb.mu.Lock()
	hb.live[node] = live
	hb.mu.Unlock()
}
func (hb *heartbeats) stop(node string)  { hb.set(node, false) }
func (hb *heartbeats) start(node string) { hb.set(node, true) }

func renewNodeLease(ctx context.Context, c kubernetes.Interface, node string) {
	leases := c.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, node, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, _ = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: node},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To(node), LeaseDurationSeconds: ptr.To[int32](40), RenewTime: &now},
		}, metav1.CreateOptions{})
		return
	}
	if err == nil {
		l.Spec.RenewTime = &now
		_, _ = leases.Update(ctx, l, metav1.UpdateOptions{})
	}
}

// scheduler binds the namespace's unbound Pods to the first Node, by name, that is Ready
// and has no NoExecute taint, as kube-scheduler would for these Pods.
type scheduler struct {
	mu    sync.Mutex
	bound map[string]string
}

func startScheduler(t *testing.T, c kubernetes.Interface, ns string) *scheduler {
	s := &scheduler{bound: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			s.once(ctx, c, ns)
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *scheduler) once(ctx context.Context, c kubernetes.Interface, ns string) {
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	var target string
	for _, n := range nodes.Items {
		ready := slices.ContainsFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool {
			return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		})
		noExecute := slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Effect == corev1.TaintEffectNoExecute })
		if ready && !noExecute && (target == "" || n.Name < target) {
			target = n.Name
		}
	}
	for _, p := range pods.Items {
		s.mu.Lock()
		if p.Spec.NodeName != "" {
			s.bound[p.Name] = p.Spec.NodeName
		}
		s.mu.Unlock()
		if p.Spec.NodeName != "" || p.DeletionTimestamp != nil || target == "" {
			continue
		}
		// Recorded at once: the volume can be attached to the target before the next list.
		if err := c.CoreV1().Pods(ns).Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: p.Name, UID: p.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: target},
		}, metav1.CreateOptions{}); err == nil {
			s.mu.Lock()
			s.bound[p.Name] = target
			s.mu.Unlock()
		}
	}
}

// boundTo is the Node the Pod was last seen bound to.
func (s *scheduler) boundTo(pod string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound[pod]
}
