package placement

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// Pods fail over on proof. When the inventory proves a Node's VM powered off or gone, the
// Node gets node.kubernetes.io/out-of-service:NoExecute and a False Ready condition, so
// that Kubernetes' non-graceful node shutdown handling evicts its Pods, force-deletes them
// (pod GC needs the Node not Ready) and detaches their volumes without the six-minute
// wait for an unmount that a dead kubelet never confirms. When the VM runs again (powered
// on, or restarted by vSphere HA on another host) the taint goes; kubelet reports Ready.
// Anything short of proof (a stale cache, an unreachable vCenter, a disconnected host, a
// VM whose configuration cannot be read, two Nodes claiming one VM, a suspended VM that
// may resume) changes nothing.

// Event reasons of failover.
const (
	ReasonOutOfService  = "VSphereOutOfService"
	ReasonBackInService = "VSphereBackInService"
	// ReasonVMDown is the reason of the Ready condition set on proof.
	ReasonVMDown = "VSphereVMDown"
)

// powerVerdict is what the inventory proves about a Node's VM.
type powerVerdict int

const (
	// unproven: nothing is changed.
	unproven powerVerdict = iota
	// vmDown: the VM is powered off or gone.
	vmDown
	// vmRunning: the VM is powered on.
	vmRunning
)

// verdict judges the lookup of node's VM with the same rules as Node deletion: only a
// Node matched to a VM (our providerID) and a fresh, unambiguous answer count.
func verdict(node *corev1.Node, vm vsphere.VM, lookupErr error, dups []string) (powerVerdict, string) {
	if _, ours := vsphere.QueryForNode(node); !ours || node.Spec.ProviderID == "" {
		return unproven, ""
	}
	if lookupErr != nil {
		if errors.Is(lookupErr, vsphere.ErrNotFound) {
			return vmDown, "vCenter proves the node's VM gone"
		}
		return unproven, ""
	}
	if len(dups) > 0 || !vm.Fresh || vm.ConfigUnreadable || (vm.ConnectionState != "" && vm.ConnectionState != "connected") {
		return unproven, ""
	}
	switch vm.PowerState {
	case vsphere.PoweredOff:
		return vmDown, fmt.Sprintf("vCenter %s shows the node's VM %s (%s) powered off", vm.VCenter, vm.Name, vm.Ref)
	case vsphere.PoweredOn:
		return vmRunning, ""
	}
	return unproven, ""
}

// failover applies the verdict on node's VM to the Node.
func (c *Controller) failover(ctx context.Context, node *corev1.Node, vm vsphere.VM, lookupErr error, dups []string) error {
	if !c.OutOfService {
		return nil
	}
	v, why := verdict(node, vm, lookupErr, dups)
	_, ours := node.Annotations[v1alpha1.AnnotationOutOfService]
	switch {
	case v == vmDown && !hasOutOfServiceTaint(node):
		return c.takeOutOfService(ctx, node, why)
	case v == vmDown && ours:
		_, err := c.markNotReady(ctx, node, why) // after a failed status write
		return err
	case v == vmRunning && ours:
		return c.returnToService(ctx, node)
	}
	return nil
}

// takeOutOfService marks node not Ready, then taints it.
func (c *Controller) takeOutOfService(ctx context.Context, node *corev1.Node, why string) error {
	node, err := c.markNotReady(ctx, node, why)
	if err != nil {
		return err
	}
	taints := append(node.Spec.Taints[:len(node.Spec.Taints):len(node.Spec.Taints)], corev1.Taint{
		Key: corev1.TaintNodeOutOfService, Value: v1alpha1.TaintValueOutOfService,
		Effect: corev1.TaintEffectNoExecute, TimeAdded: &metav1.Time{Time: time.Now()},
	})
	if err := c.patchNode(ctx, node, taints, &why); err != nil {
		return fmt.Errorf("adding the out-of-service taint to node %s: %w", node.Name, err)
	}
	klog.FromContext(ctx).Info("Node taken out of service: its Pods and volumes fail over", "node", klog.KObj(node), "why", why)
	c.events.Eventf(node, corev1.EventTypeWarning, ReasonOutOfService, "%s: added %s:%s so that its Pods and volumes fail over", why, corev1.TaintNodeOutOfService, corev1.TaintEffectNoExecute)
	return nil
}

// returnToService removes the taint cloud-controller added, and its annotation.
func (c *Controller) returnToService(ctx context.Context, node *corev1.Node) error {
	var taints []corev1.Taint
	for _, t := range node.Spec.Taints {
		if t.Key != corev1.TaintNodeOutOfService || t.Value != v1alpha1.TaintValueOutOfService {
			taints = append(taints, t)
		}
	}
	if err := c.patchNode(ctx, node, taints, nil); err != nil {
		return fmt.Errorf("removing the out-of-service taint from node %s: %w", node.Name, err)
	}
	klog.FromContext(ctx).Info("Node's VM runs again: out-of-service taint removed", "node", klog.KObj(node))
	c.events.Eventf(node, corev1.EventTypeNormal, ReasonBackInService, "the node's VM is powered on: removed %s", corev1.TaintNodeOutOfService)
	return nil
}

// patchNode writes node's taints and sets (why != nil) or removes the annotation, with
// node's resourceVersion so that a concurrent change to the taints is never overwritten:
// the conflict sends the Node back to the queue.
func (c *Controller) patchNode(ctx context.Context, node *corev1.Node, taints []corev1.Taint, why *string) error {
	if taints == nil {
		taints = []corev1.Taint{}
	}
	type meta struct {
		ResourceVersion string             `json:"resourceVersion"`
		Annotations     map[string]*string `json:"annotations"`
	}
	type spec struct {
		Taints []corev1.Taint `json:"taints"`
	}
	patch, err := json.Marshal(struct {
		Metadata meta `json:"metadata"`
		Spec     spec `json:"spec"`
	}{meta{node.ResourceVersion, map[string]*string{v1alpha1.AnnotationOutOfService: why}}, spec{taints}})
	if err != nil {
		return err
	}
	return c.client.Patch(ctx, node.DeepCopy(), client.RawPatch(types.MergePatchType, patch))
}

// markNotReady sets the Ready condition False when it is not already, keeping kubelet's
// heartbeat time: the VM is off, so kubelet cannot be ready, and pod GC force-deletes the
// Pods of an out-of-service Node only once it is not Ready (without this, that waits for
// the node lifecycle controller's grace period, 50 seconds by default).
// It returns the Node as written.
func (c *Controller) markNotReady(ctx context.Context, node *corev1.Node, why string) (*corev1.Node, error) {
	for _, cond := range node.Status.Conditions {
		if cond.Type == corev1.NodeReady && cond.Status != corev1.ConditionTrue {
			return node, nil
		}
	}
	type condition struct {
		Type               corev1.NodeConditionType `json:"type"`
		Status             corev1.ConditionStatus   `json:"status"`
		Reason             string                   `json:"reason"`
		Message            string                   `json:"message"`
		LastTransitionTime metav1.Time              `json:"lastTransitionTime"`
	}
	type status struct {
		Conditions []condition `json:"conditions"`
	}
	patch, err := json.Marshal(struct {
		Status status `json:"status"`
	}{status{[]condition{{corev1.NodeReady, corev1.ConditionFalse, ReasonVMDown, why + " (cloud-controller)", metav1.Now()}}}})
	if err != nil {
		return nil, err
	}
	written := node.DeepCopy()
	if err := c.client.Status().Patch(ctx, written, client.RawPatch(types.StrategicMergePatchType, patch)); err != nil {
		return nil, fmt.Errorf("marking node %s not Ready: %w", node.Name, err)
	}
	return written, nil
}

func hasOutOfServiceTaint(node *corev1.Node) bool {
	for _, t := range node.Spec.Taints {
		if t.Key == corev1.TaintNodeOutOfService {
			return true
		}
	}
	return false
}
