package kind

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// testHostMaintenanceDrains: the ESXi host of the first worker's VM enters maintenance in the
// simulator; vsphere-node taints the Node and, with draining on (both installs turn it on),
// evicts its Pods through the Eviction API: of two replicas pinned to that node under a
// PodDisruptionBudget of minAvailable 1, one is evicted and the other stays while its
// replacement cannot start. When the host leaves maintenance the taint goes and both run.
func testHostMaintenanceDrains(t *testing.T) {
	ctx := context.Background()
	ns := testNamespace(t, "kind-drain")
	node := w.workers[0]
	labels := map[string]string{"app": "pinned"}
	pod := testPod("pinned", node, "sleep 100000")
	pod.Spec.RestartPolicy = corev1.RestartPolicyAlways
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "pinned"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(2)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: pod.Spec},
		},
	}
	if _, err := w.kube.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pdb := &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Name: "pinned"},
		Spec:       policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: labels}},
	}
	if _, err := w.kube.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "two replicas running and the budget allowing one disruption", func(ctx context.Context) (bool, string) {
		p, err := w.kube.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "pinned", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.Status.CurrentHealthy == 2 && p.Status.DisruptionsAllowed == 1, fmt.Sprintf("budget status %+v", p.Status)
	})
	before := runningPods(t, ns)

	var nvm v1alpha1.NodeVM
	if err := w.crc.Get(ctx, client.ObjectKey{Name: node}, &nvm); err != nil {
		t.Fatal(err)
	}
	host := nvm.Status.Host.Name
	// A long evacuation: the host stays "entering maintenance", as vCenter's does while DRS
	// (or, here, our drain) moves the VMs' work away.
	// Registered first: a host left in maintenance would make its node ineligible for VIPs
	// in the scenarios after this one.
	t.Cleanup(func() { _ = w.sim.hostMaintenance(context.Background(), host, false, 0) })
	if err := w.sim.hostMaintenance(ctx, host, true, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, time.Minute, node+" tainted for host maintenance", func(ctx context.Context) (bool, string) {
		n, err := w.kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		return err == nil && hasTaint(n, v1alpha1.TaintHostMaintenance), fmt.Sprintf("taints %v", n.Spec.Taints)
	})
	t.Logf("%s (host %s) tainted %s after maintenance began", node, host, took.Round(100*time.Millisecond))
	waitFor(t, time.Minute, "one replica evicted", func(ctx context.Context) (bool, string) {
		now := runningPods(t, ns)
		return len(intersect(before, now)) == 1, fmt.Sprintf("running before %v, now %v", before, now)
	})
	// The budget holds the other one: its replacement cannot start on the tainted node.
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(time.Second) {
		if now := runningPods(t, ns); len(intersect(before, now)) != 1 {
			t.Fatalf("the budget did not hold: running before %v, now %v", before, now)
		}
	}

	if err := w.sim.hostMaintenance(ctx, host, false, 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "taint removed and both replicas running again", func(ctx context.Context) (bool, string) {
		n, err := w.kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		now := runningPods(t, ns)
		return !hasTaint(n, v1alpha1.TaintHostMaintenance) && len(now) == 2, fmt.Sprintf("taints %v, running %v", n.Spec.Taints, now)
	})
}

// runningPods are the namespace's Running Pods that are not terminating.
func runningPods(t *testing.T, ns string) []string {
	t.Helper()
	pods, err := w.kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			out = append(out, p.Name)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	in := map[string]bool{}
	for _, s := range a {
		in[s] = true
	}
	var out []string
	for _, s := range b {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}
