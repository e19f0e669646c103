package lbcontroller

import (
	"context"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// poolReconciler writes each VIPPool's status: Used, Free and the Valid and
// OverlapsNodes conditions. Its queue holds VIPPool names. VIPPool events rebuild the
// pools allocation hands out from, Node events what allocation knows of Nodes; either
// queues every pool when it changed what their status shows.
type poolReconciler struct {
	crc        client.Client // VIPPool status writes
	vipPools   vipPoolLister
	nodes      corelisters.NodeLister
	namespaces corelisters.NamespaceLister // for pools' namespaceSelector
	events     record.EventRecorder
	alloc      *loadbalancer.Allocator
	pools      *poolSet
	nodeIdx    *nodeIndex
	queue      workqueue.TypedRateLimitingInterface[string]
	// poolsChanged is called when the pools were rebuilt differently: a pending Service
	// may now fit.
	poolsChanged func()

	mu       sync.Mutex
	overlaps map[string]string // pool -> Node addresses it holds, as last reported
}

// enqueueAll queues every VIPPool's status.
func (r *poolReconciler) enqueueAll() {
	objs, err := r.vipPools.List(labels.Everything())
	if err != nil {
		return // a cache List fails only on a bad selector
	}
	for _, o := range objs {
		r.queue.Add(o.Name)
	}
}

// poolEvent rebuilds the pools on any VIPPool event and queues that pool's status.
func (r *poolReconciler) poolEvent(obj any) {
	r.rebuild()
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		r.queue.Add(key)
	}
}

// rebuild re-reads the VIPPools and rebuilds the pools. When they changed, every pool's
// status and every Service is queued.
func (r *poolReconciler) rebuild() {
	objs, err := r.vipPools.List(labels.Everything())
	if err != nil {
		return
	}
	items := make([]v1alpha1.VIPPool, 0, len(objs))
	for _, o := range objs {
		items = append(items, *o)
	}
	built, problems := loadbalancer.BuildPools(items, r.nsLabels)
	changed := r.pools.replace(built, problems, loadbalancer.AllRanges(items))
	r.alloc.SetPools(built)
	if changed {
		r.enqueueAll()
		r.poolsChanged()
	}
}

// nsLabels returns a Namespace's labels, nil when it is not known.
func (r *poolReconciler) nsLabels(name string) labels.Set {
	ns, err := r.namespaces.Get(name)
	if err != nil {
		return nil
	}
	return ns.Labels
}

// nodeChanged records a Node added, changed or deleted; when the Node addresses changed,
// every pool's status is queued (a pool may now overlap a Node address, or no longer).
func (r *poolReconciler) nodeChanged(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	n, ok := obj.(*corev1.Node)
	if !ok {
		return
	}
	// The cache's Node as it is now: nil after a delete event (or a delete since).
	cur, err := r.nodes.Get(n.Name)
	if apierrors.IsNotFound(err) {
		cur = nil
	} else if err != nil {
		return
	}
	if r.nodeIdx.update(n.Name, cur) {
		r.enqueueAll()
	}
}

// nodesSynced reads every Node once the informer has synced.
func (r *poolReconciler) nodesSynced() {
	nodes, err := r.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	if r.nodeIdx.rebuild(nodes) {
		r.enqueueAll()
	}
}

// run reconciles queued VIPPools with workers goroutines until the queue shuts down.
func (r *poolReconciler) run(ctx context.Context, workers int) {
	for range workers {
		go runWorker(ctx, worker{queue: r.queue, kind: kindPools, reconcile: r.reconcile,
			logger: func(log klog.Logger, key string) klog.Logger { return log.WithValues("pool", refOf(key)) }})
	}
}

// reconcile writes the VIPPool's usage and Valid and OverlapsNodes conditions when they
// changed. It writes from the watch's copy, not a GET per allocation: an update from a
// stale copy conflicts and is retried.
func (r *poolReconciler) reconcile(ctx context.Context, name string) error {
	cached, err := r.vipPools.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	o := cached.DeepCopy()
	pools, problems := r.pools.snapshot()
	st := o.Status.DeepCopy()
	cond := metav1.Condition{Type: v1alpha1.ConditionPoolValid, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonValid, Message: "addresses are handed out", ObservedGeneration: o.Generation}
	st.Used, st.Free = 0, 0
	if pr, bad := problems[o.Name]; bad {
		cond = metav1.Condition{Type: v1alpha1.ConditionPoolValid, Status: metav1.ConditionFalse, Reason: pr.Reason, Message: pr.Message, ObservedGeneration: o.Generation}
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	for _, pool := range pools {
		if pool.Name == o.Name {
			st.Used, st.Free = r.alloc.Usage(pool)
			meta.SetStatusCondition(&st.Conditions, r.nodeOverlap(o, pool))
		}
	}
	if equality.Semantic.DeepEqual(st, &o.Status) {
		return nil
	}
	o.Status = *st
	if err := r.crc.Status().Update(ctx, o); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}
