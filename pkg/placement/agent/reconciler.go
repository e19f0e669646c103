package agent

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/providerid"
)

// Reconciler keeps one Node's labels, taint and conditions in step with its NodeVM and
// the guest checks.
type Reconciler struct {
	Client   client.Client
	NodeName string
	Guest    Guest
	// GuestCheckPeriod is how often guest facts are re-read without any event.
	GuestCheckPeriod time.Duration
	// Drain evicts the Node's Pods (respecting PodDisruptionBudgets) while its ESXi host
	// is entering or in maintenance mode. Off by default.
	Drain bool
	// Reader reads Pods directly from the API server when draining.
	Reader client.Reader

	// draining is set by Reconcile while the host is entering or in maintenance; the
	// drain loop (RunDrain) acts on it, so slow evictions never delay the taint.
	draining atomic.Bool
}

// SetupWithManager watches the Node and the NodeVM of NodeName (the manager's cache is
// limited to those two objects).
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	toNode := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: r.NodeName}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("vsphere-node-placement").
		For(&corev1.Node{}).
		Watches(&v1alpha1.NodeVM{}, toNode).
		Complete(r)
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	lg := log.FromContext(ctx).WithValues("node", r.NodeName)
	node := &corev1.Node{}
	if err := r.Client.Get(ctx, client.ObjectKey{Name: r.NodeName}, node); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	var nvm *v1alpha1.NodeVM
	obj := &v1alpha1.NodeVM{}
	switch err := r.Client.Get(ctx, client.ObjectKey{Name: r.NodeName}, obj); {
	case err == nil:
		nvm = obj
	case !apierrors.IsNotFound(err):
		return reconcile.Result{}, err
	}
	uuid, _ := providerid.UUID(node.Spec.ProviderID)
	facts := Facts{
		Identity:   r.Guest.CheckIdentity(uuid),
		DiskUUIDs:  r.Guest.DiskUUIDsVisible(),
		CheckDisks: r.Guest.DevRoot != "",
	}
	if nvm == nil && r.Guest.ProcRoot != "" {
		// Only needed until cloud-controller reports Tools: scanning /proc is not free.
		facts.CheckProcList, facts.ToolsProcess = true, r.Guest.ToolsProcessRunning()
	}
	d := Compute(nvm, facts)
	if err := r.applyMeta(ctx, node, d); err != nil {
		return reconcile.Result{}, err
	}
	if err := r.applyConditions(ctx, node, d); err != nil {
		return reconcile.Result{}, err
	}
	lg.V(1).Info("Node reconciled", "taint", d.Taint)
	r.draining.Store(r.Drain && d.Taint && nvm != nil && (nvm.Status.Host.InMaintenanceMode || nvm.Status.Host.EnteringMaintenanceMode))
	return reconcile.Result{RequeueAfter: r.GuestCheckPeriod}, nil
}

// applyMeta patches labels and the taint when they differ; nothing is written otherwise.
func (r *Reconciler) applyMeta(ctx context.Context, node *corev1.Node, d Desired) error {
	patched := node.DeepCopy()
	changed := false
	for k, v := range d.Labels {
		cur, has := patched.Labels[k]
		switch {
		case v == "" && has:
			delete(patched.Labels, k)
			changed = true
		case v != "" && cur != v:
			if patched.Labels == nil {
				patched.Labels = map[string]string{}
			}
			patched.Labels[k] = v
			changed = true
		}
	}
	idx := -1
	for i, t := range patched.Spec.Taints {
		if t.Key == v1alpha1.TaintHostMaintenance {
			idx = i
		}
	}
	switch {
	case d.Taint && idx < 0:
		now := metav1.Now()
		patched.Spec.Taints = append(patched.Spec.Taints, corev1.Taint{Key: v1alpha1.TaintHostMaintenance, Value: "true", Effect: corev1.TaintEffectNoSchedule, TimeAdded: &now})
		changed = true
	case !d.Taint && idx >= 0:
		patched.Spec.Taints = append(patched.Spec.Taints[:idx:idx], patched.Spec.Taints[idx+1:]...)
		changed = true
	}
	if !changed {
		return nil
	}
	if err := r.Client.Patch(ctx, patched, client.MergeFromWithOptions(node, client.MergeFromWithOptimisticLock{})); err != nil {
		return fmt.Errorf("patching node %s: %w", node.Name, err)
	}
	*node = *patched
	return nil
}

// applyConditions patches the Node's status when a condition's status, reason or message
// changed. Heartbeat times are not refreshed on their own, to keep writes to changes.
func (r *Reconciler) applyConditions(ctx context.Context, node *corev1.Node, d Desired) error {
	patched := node.DeepCopy()
	changed := false
	now := metav1.Now()
	for _, want := range d.Conditions {
		found := false
		for i := range patched.Status.Conditions {
			c := &patched.Status.Conditions[i]
			if c.Type != want.Type {
				continue
			}
			found = true
			if c.Status != want.Status || c.Reason != want.Reason || c.Message != want.Message {
				if c.Status != want.Status {
					c.LastTransitionTime = now
				}
				c.Status, c.Reason, c.Message, c.LastHeartbeatTime = want.Status, want.Reason, want.Message, now
				changed = true
			}
		}
		if !found {
			want.LastHeartbeatTime, want.LastTransitionTime = now, now
			patched.Status.Conditions = append(patched.Status.Conditions, want)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, patched, client.StrategicMergeFrom(node)); err != nil {
		return fmt.Errorf("patching node %s conditions: %w", node.Name, err)
	}
	return nil
}
