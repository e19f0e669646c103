package lbcontroller

import (
	"context"

	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Kinds of work, the kind label of vsphere_cloud_vip_syncs_total.
const (
	kindService = "service"
	kindPools   = "pools"
)

// newQueue returns a rate-limited queue of namespace/name keys (name alone for
// cluster-scoped objects).
func newQueue(name string) workqueue.TypedRateLimitingInterface[string] {
	return workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: name})
}

// runWorker reconciles the keys of queue until it shuts down. A key that fails is
// retried with back-off. Each reconcile runs with a logger naming its object under
// logKey (service, pool), and counts in vsphere_cloud_vip_syncs_total as kind.
func runWorker(ctx context.Context, queue workqueue.TypedRateLimitingInterface[string], kind, logKey string, reconcile func(context.Context, string) error) {
	for processNext(ctx, queue, kind, logKey, reconcile) {
	}
}

// processNext reconciles one key; it reports false once the queue is shut down.
func processNext(ctx context.Context, queue workqueue.TypedRateLimitingInterface[string], kind, logKey string, reconcile func(context.Context, string) error) bool {
	key, quit := queue.Get()
	if quit {
		return false
	}
	defer queue.Done(key)
	log := klog.FromContext(ctx).WithValues(logKey, refOf(key))
	err := reconcile(klog.NewContext(ctx, log), key)
	result := "ok"
	if err != nil {
		result = "error"
	}
	syncsTotal.WithLabelValues(kind, result).Inc()
	if err != nil {
		log.V(2).Info("VIP sync failed; retrying", "err", err)
		queue.AddRateLimited(key)
		return true
	}
	queue.Forget(key)
	return true
}

// refOf turns a queue key into an object reference for logs.
func refOf(key string) klog.ObjectRef {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return klog.KRef("", key)
	}
	return klog.KRef(ns, name)
}
