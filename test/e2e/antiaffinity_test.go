package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/antiaffinity"
	"github.com/vsphere-cloud/provider/pkg/placement"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/test/framework"
)

// TestAntiAffinity: control-plane Nodes and a labelled group get VM-VM anti-affinity rules
// in their vSphere cluster that follow Nodes leaving and groups shrinking; a rule someone
// else made is never touched; two members of a group on one ESXi host get a False
// AntiAffinity condition on their NodeVMs and an Event.
func TestAntiAffinity(t *testing.T) {
	ctx := context.Background()
	vms := []framework.SimVM{
		{Name: "aa-cp-0", Host: "DC0_C0_H0"}, {Name: "aa-cp-1", Host: "DC0_C0_H1"}, {Name: "aa-cp-2", Host: "DC0_C0_H2"},
		{Name: "aa-db-0", Host: "DC0_C0_H0"}, {Name: "aa-db-1", Host: "DC0_C0_H0"},
	}
	for i := range vms {
		vms[i].UUID, vms[i].Hostname = framework.TestUUID(vms[i].Name), vms[i].Name
	}
	dir, cp, sim := startWorld(t, "anti-affinity", &framework.SimInventory{Datacenters: 1, Clusters: 1, Hosts: 3, VMs: vms})
	if err := framework.EnsureCredentials(ctx, cp, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	ccm, err := framework.StartCloudController(cp, "cloud-controller", framework.CloudConfig("127.0.0.1", sim.Port, sim.CAFile, ""),
		"--controllers=cloud-node,cloud-node-lifecycle,vsphere-placement,vsphere-anti-affinity", "--cluster-name=e2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ccm.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cloud-controller log tail:\n%s", ccm.Tail(5000))
		}
	})
	vc := startManager(t, ctx, dir, sim)
	admin, err := sim.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{}
	var clusterRef string
	for _, v := range vms {
		vm, err := vc.FindNodeVM(ctx, vsphere.NodeQuery{Name: v.Name})
		if err != nil {
			t.Fatal(err)
		}
		refs[v.Name], clusterRef = vm.Ref, vm.ClusterRef
	}
	// Someone else's rule, made before we start.
	cluster := object.NewClusterComputeResource(admin, types.ManagedObjectReference{Type: "ClusterComputeResource", Value: clusterRef})
	theirs := &types.ClusterAntiAffinityRuleSpec{ClusterRuleInfo: types.ClusterRuleInfo{Name: "operators-rule", Enabled: types.NewBool(true)},
		Vm: []types.ManagedObjectReference{{Type: "VirtualMachine", Value: refs["aa-cp-0"]}, {Type: "VirtualMachine", Value: refs["aa-cp-1"]}}}
	task, err := cluster.Reconfigure(ctx, &types.ClusterConfigSpecEx{RulesSpec: []types.ClusterRuleSpec{{ArrayUpdateSpec: types.ArrayUpdateSpec{Operation: types.ArrayUpdateOperationAdd}, Info: theirs}}}, true)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	label := func(t *testing.T, node, key, value string) {
		t.Helper()
		v := "null"
		if value != "-" {
			v = `"` + value + `"`
		}
		if _, err := cp.Client.CoreV1().Nodes().Patch(ctx, node, k8stypes.MergePatchType, []byte(`{"metadata":{"labels":{"`+key+`":`+v+`}}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range vms {
		if err := framework.RegisterNode(ctx, cp.Client, v.Name, v.UUID); err != nil {
			t.Fatal(err)
		}
		if slices.Contains([]string{"aa-cp-0", "aa-cp-1", "aa-cp-2"}, v.Name) {
			label(t, v.Name, antiaffinity.LabelControlPlane, "")
		} else {
			label(t, v.Name, v1alpha1.LabelAntiAffinityGroup, "db")
		}
	}
	rules := func() map[string][]string {
		rs, err := vc.AntiAffinityRules(ctx, "sim", clusterRef)
		if err != nil {
			return nil
		}
		out := map[string][]string{}
		for _, r := range rs {
			out[r.Name] = r.VMs
		}
		return out
	}
	vmsOf := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, refs[n])
		}
		slices.Sort(out)
		return out
	}
	waitRules := func(t *testing.T, what string, want map[string][]string) {
		t.Helper()
		want["operators-rule"] = vmsOf("aa-cp-0", "aa-cp-1") // never touched
		var got map[string][]string
		if !framework.WaitFor(30*time.Second, 200*time.Millisecond, func() bool {
			got = rules()
			if len(got) != len(want) {
				return false
			}
			for k, v := range want {
				if !slices.Equal(got[k], v) {
					return false
				}
			}
			return true
		}) {
			t.Fatalf("%s: rules = %v, want %v", what, got, want)
		}
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	cl, err := client.New(cp.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	waitCondition := func(t *testing.T, node string, status metav1.ConditionStatus) {
		t.Helper()
		var cond *metav1.Condition
		if !framework.WaitFor(30*time.Second, 200*time.Millisecond, func() bool {
			var nvm v1alpha1.NodeVM
			if err := cl.Get(ctx, client.ObjectKey{Name: node}, &nvm); err != nil {
				return false
			}
			cond = meta.FindStatusCondition(nvm.Status.Conditions, v1alpha1.ConditionAntiAffinity)
			return cond != nil && cond.Status == status
		}) {
			t.Fatalf("NodeVM %s: AntiAffinity = %+v, want %s", node, cond, status)
		}
	}

	kubeSystem, err := cp.Client.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prefix := antiaffinity.RulePrefix("e2e", string(kubeSystem.UID))
	t.Run("control-plane Nodes and a labelled group get rules; two members on one host are reported", func(t *testing.T) {
		waitRules(t, "after registration", map[string][]string{
			prefix + "control-plane": vmsOf("aa-cp-0", "aa-cp-1", "aa-cp-2"),
			prefix + "db":            vmsOf("aa-db-0", "aa-db-1"),
		})
		waitCondition(t, "aa-db-0", metav1.ConditionFalse)
		waitCondition(t, "aa-db-1", metav1.ConditionFalse)
		waitCondition(t, "aa-cp-0", metav1.ConditionTrue) // on H0 with the db Nodes: another group
		if !framework.WaitFor(10*time.Second, 200*time.Millisecond, func() bool {
			evs, err := cp.Client.CoreV1().Events("").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=aa-db-0,reason=" + placement.ReasonAntiAffinityViolated})
			return err == nil && len(evs.Items) > 0
		}) {
			t.Error("no Event on aa-db-0")
		}
	})
	t.Run("a group of one loses its rule and its condition clears", func(t *testing.T) {
		label(t, "aa-db-1", v1alpha1.LabelAntiAffinityGroup, "-")
		waitRules(t, "after aa-db-1 left db", map[string][]string{prefix + "control-plane": vmsOf("aa-cp-0", "aa-cp-1", "aa-cp-2")})
		waitCondition(t, "aa-db-0", metav1.ConditionTrue)
	})
	t.Run("a deleted Node leaves its rule", func(t *testing.T) {
		if err := cp.Client.CoreV1().Nodes().Delete(ctx, "aa-cp-2", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitRules(t, "after aa-cp-2 was deleted", map[string][]string{prefix + "control-plane": vmsOf("aa-cp-0", "aa-cp-1")})
	})
}
