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

// worker is what runWorker needs of a controller.
type worker struct {
	queue workqueue.TypedRateLimitingInterface[string]
	// kind labels the syncs in vsphere_cloud_vip_syncs_total.
	kind string
	// logger adds the queued object to a logger (service, pool).
	logger func(log klog.Logger, key string) klog.Logger
	// reconcile brings the object of key to its desired state; an error retries it.
	reconcile func(ctx context.Context, key string) error
}

// runWorker reconciles the keys of w's queue until it shuts down. A key that fails is
// retried with back-off. Each reconcile runs with a logger naming its object.
func runWorker(ctx context.Context, w worker) {
	for processNext(ctx, w) {
	}
}

// processNext reconciles one key; it reports false once the queue is shut down.
func processNext(ctx context.Context, w worker) bool {
	queue := w.queue
	key, quit := queue.Get()
	if quit {
		return false
	}
	defer queue.Done(key)
	log := w.logger(klog.FromContext(ctx), key)
	err := w.reconcile(klog.NewContext(ctx, log), key)
	result := "ok"
	if err != nil {
		result = "error"
	}
	syncsTotal.WithLabelValues(w.kind, result).Inc()
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
