package lbcontroller

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	coordinationlisters "k8s.io/client-go/listers/coordination/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// serviceReconciler allocates for Services of v1alpha1.ServiceClassVIP (finalizer, address,
// status) and keeps every served Service's Allocated and Announced conditions. Its queue
// holds Service keys (namespace/name); Service, Namespace, VIP Lease and NodeVM events
// fill it.
type serviceReconciler struct {
	kube      kubernetes.Interface
	services  corelisters.ServiceLister
	leases    coordinationlisters.LeaseNamespaceLister // the VIP Leases' namespace
	nodeVMs   nodeVMLister
	events    record.EventRecorder
	alloc     *loadbalancer.Allocator
	results   *allocResults // class-less Services' last allocation result
	classless bool
	queue     workqueue.TypedRateLimitingInterface[string]
	lapses    *lapses
	// usageChanged is called when addresses were taken or released: the pools' usage in
	// their status changed.
	usageChanged func()
}

// serviceKey is the queue and allocator key of svc.
func serviceKey(svc *corev1.Service) string { return cache.MetaObjectToName(svc).String() }

// enqueue queues the Service with key namespace/name.
func (r *serviceReconciler) enqueue(key string) { r.queue.Add(key) }

// enqueueObject queues the Service of an informer event (or its tombstone).
func (r *serviceReconciler) enqueueObject(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		r.queue.Add(key)
	}
}

// enqueueAll queues every Service: the pools changed, and a pending one may now fit.
func (r *serviceReconciler) enqueueAll() {
	r.enqueueWhere(func(*corev1.Service) bool { return true })
}

// enqueueWhere queues the Services that satisfy match.
func (r *serviceReconciler) enqueueWhere(match func(*corev1.Service) bool) {
	svcs, err := r.services.List(labels.Everything())
	if err != nil {
		return // a cache List fails only on a bad selector
	}
	for _, svc := range svcs {
		if match(svc) {
			r.queue.Add(serviceKey(svc))
		}
	}
}

// enqueueHolding queues the Services whose ingress addresses satisfy match.
func (r *serviceReconciler) enqueueHolding(match func([]netip.Addr) bool) {
	r.enqueueWhere(func(svc *corev1.Service) bool { return match(loadbalancer.IngressIPs(svc)) })
}

// namespaceChanged retries the Services of a Namespace whose labels changed: a pool's
// namespaceSelector may now admit them, or no longer.
func (r *serviceReconciler) namespaceChanged(old, cur any) {
	o, ok1 := old.(*corev1.Namespace)
	n, ok2 := cur.(*corev1.Namespace)
	if !ok1 || !ok2 || labels.Equals(o.Labels, n.Labels) {
		return
	}
	r.enqueueWhere(func(svc *corev1.Service) bool { return svc.Namespace == n.Name })
}

// run reconciles queued Services with workers goroutines until the queue shuts down.
func (r *serviceReconciler) run(ctx context.Context, workers int) {
	for range workers {
		go runWorker(ctx, worker{queue: r.queue, kind: kindService, reconcile: r.reconcile,
			logger: func(log klog.Logger, key string) klog.Logger { return log.WithValues("service", refOf(key)) }})
	}
}

// reconcile allocates for a Service of Class, and keeps a served Service's Allocated
// and Announced conditions. A Service gone, deleting or no longer served releases its
// addresses and loses the finalizer.
func (r *serviceReconciler) reconcile(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil { // not a Service key: retrying cannot help
		klog.FromContext(ctx).Error(err, "Dropping a malformed Service key")
		return nil
	}
	cached, err := r.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) { // gone: whatever it held is free
		r.alloc.Release(key)
		r.usageChanged()
		return nil
	}
	if err != nil {
		return err
	}
	svc := cached.DeepCopy()
	ours := svc.Spec.LoadBalancerClass != nil && *svc.Spec.LoadBalancerClass == v1alpha1.ServiceClassVIP
	if !loadbalancer.Serves(svc, r.classless) || (ours && svc.DeletionTimestamp != nil) {
		if ours || r.alloc.Held(key) != nil {
			r.alloc.Release(key)
			r.usageChanged()
		}
		if ours && svc.Spec.Type == corev1.ServiceTypeLoadBalancer || slices.Contains(svc.Finalizers, v1alpha1.FinalizerVIP) {
			return removeFinalizer(ctx, r.kube, svc)
		}
		return nil
	}
	var allocErr error
	if ours {
		if svc, err = addFinalizer(ctx, r.kube, svc); err != nil {
			return err
		}
		var ips []netip.Addr
		if ips, allocErr = r.assign(ctx, svc); allocErr == nil {
			svc.Status.LoadBalancer = *loadbalancer.StatusFor(ips)
		}
	} else {
		allocErr = r.results.get(key)
	}
	if reasonOf(allocErr) == loadbalancer.ReasonUseUnknown {
		// Nothing will announce that vCenter's inventory has been read: try again.
		r.queue.AddAfter(key, useUnknownRetry)
	}
	return r.writeConditions(ctx, svc, allocErr)
}

// useUnknownRetry is when a Service whose address's use was not known yet is retried.
const useUnknownRetry = 2 * time.Second

// assign allocates for svc and records the outcome as an Event when it fails. A failure
// that a new or grown pool fixes is retried when the pool's watch event rebuilds the
// pools, which queues every Service again.
func (r *serviceReconciler) assign(_ context.Context, svc *corev1.Service) ([]netip.Addr, error) {
	req, err := loadbalancer.RequestFor(svc)
	var ips []netip.Addr
	if err == nil {
		ips, err = r.alloc.Assign(req)
	}
	if err != nil {
		r.events.Eventf(svc, corev1.EventTypeWarning, reasonOf(err), "No address allocated: %v", err)
		return nil, err
	}
	r.usageChanged()
	return ips, nil
}

// reasonOf is the Event and condition reason of an allocation failure.
func reasonOf(err error) string {
	var e *loadbalancer.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return reasonAllocationFailed
}
