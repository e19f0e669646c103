package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/placement"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/test/framework"
)

func TestPlacement(t *testing.T) {
	ctx := context.Background()
	inv := &framework.SimInventory{Datacenters: 1, Clusters: 1, Hosts: 3}
	for _, n := range []string{"pl-a", "pl-b"} {
		inv.VMs = append(inv.VMs, framework.SimVM{Name: n, UUID: framework.TestUUID(n), Hostname: n, IPs: []string{"10.5.0.1"}})
	}
	dir, cp, sim := startWorld(t, "placement", inv)
	if err := framework.EnsureCredentials(ctx, cp, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	const resync = 8 * time.Second
	conf := framework.CloudConfig("127.0.0.1", sim.Port, sim.CAFile, "inventory:\n  maxWait: 2s\n  freshness: 6s\n  resyncPeriod: 8s\n")
	ccm, err := framework.StartCloudController(cp, "cloud-controller", conf, "--controllers=cloud-node,cloud-node-lifecycle,vsphere-placement")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ccm.Stop)
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	cl, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	// pl-a's guest is who it claims to be; pl-b's DMI UUID belongs to no VM.
	guests := map[string]string{"pl-a": framework.TestUUID("pl-a"), "pl-b": framework.TestUUID("someone-else")}
	var agents []*framework.Process
	for name, dmi := range guests {
		if err := framework.RegisterNode(ctx, cp.Client, name, framework.TestUUID(name)); err != nil {
			t.Fatal(err)
		}
		gdir := filepath.Join(dir, "guest-"+name)
		if err := framework.GuestFixture(gdir, dmi, true, true); err != nil {
			t.Fatal(err)
		}
		var flags []string
		if name == "pl-a" {
			flags = append(flags, "--drain-on-host-maintenance")
		}
		a, err := framework.StartNodeAgent(cp, name, gdir, flags...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Stop)
		agents = append(agents, a)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cloud-controller log tail:\n%s", ccm.Tail(4000))
			for _, a := range agents {
				t.Logf("%s log tail:\n%s", a.Name, a.Tail(3000))
			}
		}
	})
	nodeVM := func(name string) *v1alpha1.NodeVM {
		o := &v1alpha1.NodeVM{}
		if err := cl.Get(ctx, client.ObjectKey{Name: name}, o); err != nil {
			return nil
		}
		return o
	}
	waitNode := func(t *testing.T, name string, d time.Duration, what string, f func(*corev1.Node) bool) time.Duration {
		t.Helper()
		start := time.Now()
		var n *corev1.Node
		if !framework.WaitFor(d, 50*time.Millisecond, func() bool {
			var err error
			n, err = cp.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			return err == nil && f(n)
		}) {
			t.Fatalf("node %s: %s not reached within %s; labels %v taints %v conditions %+v", name, what, d, n.Labels, n.Spec.Taints, n.Status.Conditions)
		}
		return time.Since(start)
	}
	cond := func(n *corev1.Node, typ corev1.NodeConditionType) *corev1.NodeCondition {
		for i := range n.Status.Conditions {
			if n.Status.Conditions[i].Type == typ {
				return &n.Status.Conditions[i]
			}
		}
		return nil
	}
	admin, err := sim.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	finder := find.NewFinder(admin)

	t.Run("NodeVM and labels show the placement; guest identity is checked", func(t *testing.T) {
		waitNode(t, "pl-a", 60*time.Second, "placement labels", func(n *corev1.Node) bool {
			return n.Labels[v1alpha1.LabelNodeHost] != "" && n.Labels[v1alpha1.LabelNodeCluster] == "DC0_C0" && n.Labels[v1alpha1.LabelNodeDatacenter] == "DC0"
		})
		nvm := nodeVM("pl-a")
		if nvm == nil || nvm.Status.VMName != "pl-a" || nvm.Status.ResourcePool == "" || len(nvm.Status.Datastores) == 0 ||
			nvm.Status.PowerState != "poweredOn" || len(nvm.OwnerReferences) != 1 || nvm.OwnerReferences[0].Kind != "Node" {
			t.Fatalf("NodeVM pl-a = %+v", nvm)
		}
		// vSphere administrators see the node in the VM's custom attribute.
		if !framework.WaitFor(10*time.Second, 100*time.Millisecond, func() bool {
			cfm, err := object.GetCustomFieldsManager(admin)
			if err != nil {
				return false
			}
			key, err := cfm.FindKey(ctx, vsphere.NodeMarkField)
			if err != nil {
				return false
			}
			vm, err := finder.VirtualMachine(ctx, "/DC0/vm/pl-a")
			if err != nil {
				return false
			}
			var mvm mo.VirtualMachine
			if err := vm.Properties(ctx, vm.Reference(), []string{"customValue"}, &mvm); err != nil {
				return false
			}
			for _, cv := range mvm.CustomValue {
				if sv, ok := cv.(*types.CustomFieldStringValue); ok && sv.Key == key && sv.Value == "kubernetes/pl-a" {
					return true
				}
			}
			return false
		}) {
			t.Error("VM pl-a is not marked with its node in vCenter")
		}
		waitNode(t, "pl-a", 30*time.Second, "IdentityVerified=True", func(n *corev1.Node) bool {
			c := cond(n, v1alpha1.NodeConditionIdentityVerified)
			return c != nil && c.Status == corev1.ConditionTrue
		})
		waitNode(t, "pl-b", 30*time.Second, "IdentityVerified=False UUIDMismatch", func(n *corev1.Node) bool {
			c := cond(n, v1alpha1.NodeConditionIdentityVerified)
			return c != nil && c.Status == corev1.ConditionFalse && c.Reason == "UUIDMismatch"
		})
	})

	t.Run("a vMotion moves the NodeVM and the host label within 5s", func(t *testing.T) {
		n, _ := cp.Client.CoreV1().Nodes().Get(ctx, "pl-a", metav1.GetOptions{})
		from := n.Labels[v1alpha1.LabelNodeHost]
		to := "DC0_C0_H0"
		if from == to {
			to = "DC0_C0_H1"
		}
		vm, err := finder.VirtualMachine(ctx, "/DC0/vm/pl-a")
		if err != nil {
			t.Fatal(err)
		}
		host, err := finder.HostSystem(ctx, "/DC0/host/DC0_C0/"+to)
		if err != nil {
			t.Fatal(err)
		}
		ref := host.Reference()
		task, err := vm.Relocate(ctx, types.VirtualMachineRelocateSpec{Host: &ref}, types.VirtualMachineMovePriorityHighPriority)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		d := waitNode(t, "pl-a", 5*time.Second, "host label "+to, func(n *corev1.Node) bool { return n.Labels[v1alpha1.LabelNodeHost] == to })
		if got := nodeVM("pl-a"); got == nil || got.Status.Host.Name != to {
			t.Errorf("NodeVM host = %+v", got)
		}
		t.Logf("vMotion %s -> %s reached the Node label in %s", from, to, d.Round(time.Millisecond))
	})

	t.Run("host maintenance taints the node within 5s and drains it within its PDBs; exit removes the taint", func(t *testing.T) {
		// Two Pods on pl-a: one free to go, one whose PodDisruptionBudget allows no
		// disruption (no disruption controller runs here, so the budget stays at zero).
		for _, name := range []string{"free", "guarded"} {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name}},
				Spec:       corev1.PodSpec{NodeName: "pl-a", Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}}},
			}
			created, err := cp.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Running and Ready, as kubelet would report: Pending Pods bypass budgets.
			created.Status.Phase = corev1.PodRunning
			created.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			if _, err := cp.Client.CoreV1().Pods("default").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		one := intstr.FromInt32(1)
		pdb := &policyv1.PodDisruptionBudget{
			ObjectMeta: metav1.ObjectMeta{Name: "guarded", Namespace: "default"},
			Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "guarded"}}},
		}
		if _, err := cp.Client.PolicyV1().PodDisruptionBudgets("default").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		n, _ := cp.Client.CoreV1().Nodes().Get(ctx, "pl-a", metav1.GetOptions{})
		host := n.Labels[v1alpha1.LabelNodeHost]
		if err := sim.SetHostMaintenance(ctx, host, true); err != nil {
			t.Fatal(err)
		}
		d := waitNode(t, "pl-a", 5*time.Second, "maintenance taint", func(n *corev1.Node) bool {
			c := cond(n, v1alpha1.NodeConditionHostReady)
			return framework.HasTaint(n, v1alpha1.TaintHostMaintenance) && c != nil && c.Reason == v1alpha1.ReasonMaintenance
		})
		t.Logf("maintenance reached the taint in %s", d.Round(time.Millisecond))
		evicted := func(name string) bool {
			p, err := cp.Client.CoreV1().Pods("default").Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err) || (err == nil && p.DeletionTimestamp != nil)
		}
		if !framework.WaitFor(10*time.Second, 100*time.Millisecond, func() bool { return evicted("free") }) {
			t.Error("pod free was not evicted from the node in maintenance")
		}
		time.Sleep(6 * time.Second) // at least one more drain attempt
		if evicted("guarded") {
			t.Error("pod guarded was evicted although its PodDisruptionBudget allows no disruption")
		}
		if err := sim.SetHostMaintenance(ctx, host, false); err != nil {
			t.Fatal(err)
		}
		waitNode(t, "pl-a", 5*time.Second, "taint removed", func(n *corev1.Node) bool { return !framework.HasTaint(n, v1alpha1.TaintHostMaintenance) })
	})

	t.Run("maintenance the simulator does not publish converges through the resync", func(t *testing.T) {
		n, _ := cp.Client.CoreV1().Nodes().Get(ctx, "pl-b", metav1.GetOptions{})
		host, err := finder.HostSystem(ctx, "/DC0/host/DC0_C0/"+n.Labels[v1alpha1.LabelNodeHost])
		if err != nil {
			t.Fatal(err)
		}
		task, err := host.EnterMaintenanceMode(ctx, 0, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		waitNode(t, "pl-b", 3*resync, "maintenance taint after a resync", func(n *corev1.Node) bool { return framework.HasTaint(n, v1alpha1.TaintHostMaintenance) })
		task, err = host.ExitMaintenanceMode(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		waitNode(t, "pl-b", 3*resync, "taint removed after a resync", func(n *corev1.Node) bool { return !framework.HasTaint(n, v1alpha1.TaintHostMaintenance) })
	})

	t.Run("power off shows in the NodeVM", func(t *testing.T) {
		vm, err := finder.VirtualMachine(ctx, "/DC0/vm/pl-b")
		if err != nil {
			t.Fatal(err)
		}
		task, err := vm.PowerOff(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		if !framework.WaitFor(5*time.Second, 50*time.Millisecond, func() bool {
			o := nodeVM("pl-b")
			return o != nil && o.Status.PowerState == "poweredOff"
		}) {
			t.Fatalf("NodeVM pl-b = %+v", nodeVM("pl-b"))
		}
	})

	t.Run("vCenter events: vMotion and maintenance are recorded on the Node; entering maintenance taints", func(t *testing.T) {
		waitEvent := func(t *testing.T, node, reason string) {
			t.Helper()
			if !framework.WaitFor(10*time.Second, 100*time.Millisecond, func() bool {
				evs, err := cp.Client.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + node + ",reason=" + reason})
				return err == nil && len(evs.Items) > 0
			}) {
				t.Errorf("no %s Event on node %s", reason, node)
			}
		}
		// The vMotion above made the simulator post a VmMigratedEvent.
		waitEvent(t, "pl-a", placement.ReasonVMotion)

		n, _ := cp.Client.CoreV1().Nodes().Get(ctx, "pl-a", metav1.GetOptions{})
		hostName := n.Labels[v1alpha1.LabelNodeHost]
		host, err := finder.HostSystem(ctx, "/DC0/host/DC0_C0/"+hostName)
		if err != nil {
			t.Fatal(err)
		}
		dc, err := finder.Datacenter(ctx, "DC0")
		if err != nil {
			t.Fatal(err)
		}
		// vCenter's sequence (hack/vcsim plays it): the enter task starts and
		// EnteringMaintenanceModeEvent is posted, the evacuation takes its time, then the
		// flag is set and EnteredMaintenanceModeEvent posted.
		post := func(e types.BaseEvent) {
			t.Helper()
			be := e.GetEvent()
			be.Host = &types.HostEventArgument{EntityEventArgument: types.EntityEventArgument{Name: hostName}, Host: host.Reference()}
			be.Datacenter = &types.DatacenterEventArgument{EntityEventArgument: types.EntityEventArgument{Name: "DC0"}, Datacenter: dc.Reference()}
			be.CreatedTime = time.Now()
			be.FullFormattedMessage = "Host " + hostName + " in DC0: connection lost"
			if err := event.NewManager(admin).PostEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := sim.EnterMaintenance(ctx, hostName, 6*time.Second); err != nil {
			t.Fatal(err)
		}
		d := waitNode(t, "pl-a", 5*time.Second, "taint while entering maintenance", func(n *corev1.Node) bool {
			c := cond(n, v1alpha1.NodeConditionHostReady)
			return framework.HasTaint(n, v1alpha1.TaintHostMaintenance) && c != nil && c.Reason == v1alpha1.ReasonEnteringMaint
		})
		t.Logf("entering maintenance reached the taint in %s", d.Round(time.Millisecond))
		waitEvent(t, "pl-a", placement.ReasonHostMaintenance)
		waitNode(t, "pl-a", 20*time.Second, "still tainted once in maintenance", func(n *corev1.Node) bool {
			c := cond(n, v1alpha1.NodeConditionHostReady)
			return framework.HasTaint(n, v1alpha1.TaintHostMaintenance) && c != nil && c.Reason == v1alpha1.ReasonMaintenance
		})
		if err := sim.ExitMaintenance(ctx, hostName); err != nil {
			t.Fatal(err)
		}
		waitNode(t, "pl-a", 10*time.Second, "taint removed after exit", func(n *corev1.Node) bool { return !framework.HasTaint(n, v1alpha1.TaintHostMaintenance) })

		// A cancelled enter: no flag and no Entered event ever come; the taint must go.
		task, err := sim.EnterMaintenance(ctx, hostName, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		waitNode(t, "pl-a", 5*time.Second, "taint while entering maintenance (to be cancelled)", func(n *corev1.Node) bool {
			return framework.HasTaint(n, v1alpha1.TaintHostMaintenance)
		})
		if err := object.NewTask(admin, types.ManagedObjectReference{Type: "Task", Value: task}).Cancel(ctx); err != nil {
			t.Fatal(err)
		}
		d = waitNode(t, "pl-a", 20*time.Second, "taint removed after a cancelled enter", func(n *corev1.Node) bool { return !framework.HasTaint(n, v1alpha1.TaintHostMaintenance) })
		t.Logf("a cancelled enter cleared the taint in %s", d.Round(time.Millisecond))
		post(&types.HostConnectionLostEvent{})
		waitEvent(t, "pl-a", placement.ReasonHostConnectionLost)
		vmObj, err := finder.VirtualMachine(ctx, "/DC0/vm/pl-a")
		if err != nil {
			t.Fatal(err)
		}
		ha := &types.EventEx{EventTypeId: vsphere.EventHARestart, ObjectType: "VirtualMachine", ObjectId: vmObj.Reference().Value}
		ha.Vm = &types.VmEventArgument{EntityEventArgument: types.EntityEventArgument{Name: "pl-a"}, Vm: vmObj.Reference()}
		ha.CreatedTime, ha.FullFormattedMessage = time.Now(), "vSphere HA restarted virtual machine pl-a"
		if err := event.NewManager(admin).PostEvent(ctx, ha); err != nil {
			t.Fatal(err)
		}
		waitEvent(t, "pl-a", placement.ReasonHARestart)
	})

	t.Run("two Nodes with one BIOS UUID are both flagged", func(t *testing.T) {
		if err := framework.RegisterNode(ctx, cp.Client, "pl-clone", framework.TestUUID("pl-a")); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"pl-a", "pl-clone"} {
			if !framework.WaitFor(30*time.Second, 100*time.Millisecond, func() bool {
				o := nodeVM(name)
				if o == nil {
					return false
				}
				c := meta.FindStatusCondition(o.Status.Conditions, v1alpha1.ConditionVMFound)
				return c != nil && c.Status == metav1.ConditionFalse && c.Reason == v1alpha1.ReasonDuplicateUUID
			}) {
				t.Errorf("NodeVM %s not flagged as duplicate: %+v", name, nodeVM(name))
			}
		}
	})
}

var nodeVMResource = v1alpha1.GroupVersion.WithResource("nodevms")
