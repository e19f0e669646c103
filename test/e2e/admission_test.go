package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/vsphere-cloud/provider/test/framework"
)

// TestNodeTokenHurtsOnlyItsNode uses node A's agent token (bound to a Pod on A, as kubelet
// projects it) against the manifests' RBAC and admission policy: it may change its own
// Node's vsphere-cloud keys and its own VIP Leases, nothing of node B, no other key, no
// controller Lease; a token not bound to a node may change nothing.
func TestNodeTokenHurtsOnlyItsNode(t *testing.T) {
	_, cp, _ := startWorld(t, "admission", &framework.SimInventory{})
	ctx := context.Background()
	admin := cp.Client
	for _, n := range []string{"node-a", "node-b"} {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"kubernetes.io/hostname": n}}}
		if _, err := admin.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	agentA := clientFor(t, mustKubeconfig(t, cp, "node-a"))
	unbound := clientFor(t, cp.NodeKubeconfig)
	vips := "vsphere-cloud-vips"
	// The policy takes effect asynchronously after it is created: wait until it refuses.
	waitRefused(t, func() error {
		return patchLabels(ctx, agentA, "node-b", map[string]any{"node.vsphere-cloud.io/host": "h1"})
	})

	allowed := map[string]func() error{
		"own Node, our label": func() error {
			return patchLabels(ctx, agentA, "node-a", map[string]any{"node.vsphere-cloud.io/host": "h1"})
		},
		"own Node, our taint": func() error {
			return patch(ctx, agentA, "node-a", "", map[string]any{"spec": map[string]any{"taints": withTaint(t, admin, "node-a", "node.vsphere-cloud.io/host-maintenance")}})
		},
		"own Node, our condition": func() error {
			return patch(ctx, agentA, "node-a", "status", map[string]any{"status": map[string]any{"conditions": []any{
				map[string]any{"type": "VSphereHostReady", "status": "True", "reason": "Connected", "lastHeartbeatTime": time.Now().UTC().Format(time.RFC3339), "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}}}})
		},
		"own VIP Lease": func() error {
			_, err := agentA.CoordinationV1().Leases(vips).Create(ctx, lease("vip-10-0-0-1", "node-a"), metav1.CreateOptions{})
			return err
		},
	}
	for name, f := range allowed {
		if err := f(); err != nil {
			t.Errorf("%s: refused: %v", name, err)
		}
	}

	if _, err := admin.CoordinationV1().Leases(vips).Create(ctx, lease("vip-10-0-0-2", "node-b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoordinationV1().Leases(vips).Create(ctx, lease("vip-10-0-0-3", ""), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	controllerLease := lease("cloud-controller-manager", "cloud-controller-0")
	if _, err := admin.CoordinationV1().Leases(framework.Namespace).Create(ctx, controllerLease, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	take := func(c kubernetes.Interface, ns, name, holder string) error {
		l, err := admin.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		l.Spec.HolderIdentity = ptr.To(holder)
		_, err = c.CoordinationV1().Leases(ns).Update(ctx, l, metav1.UpdateOptions{})
		return err
	}
	refused := map[string]func() error{
		"node B's label": func() error {
			return patchLabels(ctx, agentA, "node-b", map[string]any{"node.vsphere-cloud.io/host": "h1"})
		},
		"own Node, someone else's label": func() error {
			return patchLabels(ctx, agentA, "node-a", map[string]any{"node-role.kubernetes.io/control-plane": ""})
		},
		"own Node, an annotation": func() error {
			return patch(ctx, agentA, "node-a", "", map[string]any{"metadata": map[string]any{"annotations": map[string]any{"x": "y"}}})
		},
		"own Node, another taint": func() error {
			return patch(ctx, agentA, "node-a", "", map[string]any{"spec": map[string]any{"taints": withTaint(t, admin, "node-a", "node.kubernetes.io/unschedulable")}})
		},
		"own Node, removing someone else's taint": func() error {
			return patch(ctx, agentA, "node-a", "", map[string]any{"spec": map[string]any{"taints": []any{}}})
		},
		"own Node, unschedulable": func() error {
			return patch(ctx, agentA, "node-a", "", map[string]any{"spec": map[string]any{"unschedulable": true}})
		},
		"own Node, the Ready condition": func() error {
			return patch(ctx, agentA, "node-a", "status", map[string]any{"status": map[string]any{"conditions": []any{
				map[string]any{"type": "Ready", "status": "False", "reason": "Evil", "lastHeartbeatTime": time.Now().UTC().Format(time.RFC3339), "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}}}})
		},
		"node B's condition": func() error {
			return patch(ctx, agentA, "node-b", "status", map[string]any{"status": map[string]any{"conditions": []any{
				map[string]any{"type": "VSphereHostReady", "status": "False", "reason": "Evil", "lastHeartbeatTime": time.Now().UTC().Format(time.RFC3339), "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}}}})
		},
		"a VIP Lease created for node B": func() error {
			_, err := agentA.CoordinationV1().Leases(vips).Create(ctx, lease("vip-10-0-0-4", "node-b"), metav1.CreateOptions{})
			return err
		},
		"taking node B's VIP Lease": func() error { return take(agentA, vips, "vip-10-0-0-2", "node-a") },
		"a VIP Lease that never lapses": func() error {
			l := lease("vip-10-0-0-5", "node-a")
			l.Spec.LeaseDurationSeconds = ptr.To[int32](1 << 30)
			_, err := agentA.CoordinationV1().Leases(vips).Create(ctx, l, metav1.CreateOptions{})
			return err
		},
		"a VIP Lease without its label (the reaper would not see it)": func() error {
			l := lease("vip-10-0-0-6", "node-a")
			l.Labels = nil
			_, err := agentA.CoordinationV1().Leases(vips).Create(ctx, l, metav1.CreateOptions{})
			return err
		},
		"deleting node B's VIP Lease": func() error {
			return agentA.CoordinationV1().Leases(vips).Delete(ctx, "vip-10-0-0-2", metav1.DeleteOptions{})
		},
		"taking the controller's leader Lease": func() error {
			return take(agentA, framework.Namespace, "cloud-controller-manager", "node-a")
		},
		"a Lease in the controllers' namespace": func() error {
			_, err := agentA.CoordinationV1().Leases(framework.Namespace).Create(ctx, lease("external-attacher-leader-disk-vsphere-cloud-io", "node-a"), metav1.CreateOptions{})
			return err
		},
		"unbound token, own-looking label": func() error {
			return patchLabels(ctx, unbound, "node-a", map[string]any{"node.vsphere-cloud.io/host": "h2"})
		},
	}
	for name, f := range refused {
		err := f()
		if err == nil {
			t.Errorf("%s: allowed, want refused", name)
			continue
		}
		if !apierrors.IsForbidden(err) && !apierrors.IsInvalid(err) {
			t.Errorf("%s: %v, want Forbidden", name, err)
		}
	}
	// A free Lease (released, or freed by cloud-controller after its holder died) may be claimed.
	if err := take(agentA, vips, "vip-10-0-0-3", "node-a"); err != nil {
		t.Errorf("claiming a free VIP Lease: %v", err)
	}
	if l, _ := admin.CoordinationV1().Leases(framework.Namespace).Get(ctx, "cloud-controller-manager", metav1.GetOptions{}); ptr.Deref(l.Spec.HolderIdentity, "") != "cloud-controller-0" {
		t.Errorf("controller Lease holder = %q", ptr.Deref(l.Spec.HolderIdentity, ""))
	}
}

// withTaint is the Node's taints (the API server adds node.kubernetes.io/not-ready at
// creation) plus key, as a patch value that replaces the list.
func withTaint(t *testing.T, c kubernetes.Interface, node, key string) []any {
	t.Helper()
	n, err := c.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := []any{map[string]any{"key": key, "effect": "NoSchedule"}}
	for _, tt := range n.Spec.Taints {
		if tt.Key != key {
			out = append(out, map[string]any{"key": tt.Key, "value": tt.Value, "effect": string(tt.Effect)})
		}
	}
	return out
}

func lease(name, holder string) *coordinationv1.Lease {
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"vsphere-cloud.io/vip": "x"}},
		Spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](2)}}
	if holder != "" {
		l.Spec.HolderIdentity = ptr.To(holder)
	}
	return l
}

func mustKubeconfig(t *testing.T, cp *framework.ControlPlane, node string) string {
	t.Helper()
	kc, err := framework.NodeAgentKubeconfig(context.Background(), cp, node)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

func clientFor(t *testing.T, kubeconfig string) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func patch(ctx context.Context, c kubernetes.Interface, node, subresource string, body map[string]any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	var sub []string
	if subresource != "" {
		sub = []string{subresource}
	}
	_, err = c.CoreV1().Nodes().Patch(ctx, node, types.StrategicMergePatchType, b, metav1.PatchOptions{}, sub...)
	return err
}

func patchLabels(ctx context.Context, c kubernetes.Interface, node string, labels map[string]any) error {
	return patch(ctx, c, node, "", map[string]any{"metadata": map[string]any{"labels": labels}})
}

// waitRefused waits until f is refused (admission policies start working shortly after
// they are created).
func waitRefused(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admission policy never refused node A patching node B (last: %v)", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
