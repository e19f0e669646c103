package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// RunDrain evicts the Node's Pods every few seconds while Reconcile says the host is
// entering or in maintenance, until ctx ends. It runs beside the reconciler so that a
// slow or refused eviction never delays labels, conditions or the taint.
func (r *Reconciler) RunDrain(ctx context.Context) error {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if !r.draining.Load() {
			continue
		}
		if _, err := r.drain(ctx); err != nil {
			log.FromContext(ctx).Error(err, "Drain pass failed")
		}
	}
}

// drain evicts the Node's Pods through the Eviction API, so PodDisruptionBudgets are
// respected: a Pod whose budget forbids it stays, and is tried again at the next
// reconcile. DaemonSet and static (mirror) Pods, and Pods that already ended or are
// terminating, are left alone. It reports how many Pods remain to be evicted.
func (r *Reconciler) drain(ctx context.Context) (int, error) {
	lg := log.FromContext(ctx)
	pods := &corev1.PodList{}
	// A direct read, not the cache: the agent does not watch Pods unless it drains.
	if err := r.Reader.List(ctx, pods, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("spec.nodeName", r.NodeName)}); err != nil {
		return 0, fmt.Errorf("listing pods on %s: %w", r.NodeName, err)
	}
	remaining := 0
	for i := range pods.Items {
		p := &pods.Items[i]
		if !evictable(p) {
			continue
		}
		ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}}
		// The API server can hold an eviction while a budget is being computed; do not wait.
		evCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := r.Client.SubResource("eviction").Create(evCtx, p, ev)
		cancel()
		switch {
		case err == nil, apierrors.IsNotFound(err):
			lg.Info("Evicted pod for ESXi host maintenance", "pod", client.ObjectKeyFromObject(p))
		case apierrors.IsTooManyRequests(err), errors.Is(err, context.DeadlineExceeded):
			remaining++ // a PodDisruptionBudget forbids it for now
		default:
			remaining++
			lg.Error(err, "Evicting pod failed", "pod", client.ObjectKeyFromObject(p))
		}
	}
	return remaining, nil
}

func evictable(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return false
	}
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return false
	}
	for _, o := range p.OwnerReferences {
		if o.Kind == "DaemonSet" {
			return false
		}
	}
	return true
}
