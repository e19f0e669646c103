package lbcontroller

import (
	"context"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// LeaseReaper frees the VIP Lease of a node that stopped renewing it. Nodes may claim only
// a free Lease (the admission policy on the node agent's token), so that one node's stolen
// token cannot take another node's VIPs; the trusted cloud-controller decides when a
// holder has lapsed instead. It judges by when it last saw the Lease change, on its own
// clock (never the holder's), so a holder whose renewals stall has fenced itself (dropped
// the address before its duration ran out, on its clock, from when it sent the renewal)
// before the Lease is freed.
type LeaseReaper struct {
	client    kubernetes.Interface
	namespace string
	now       func() time.Time
	// Tick is how often lapsed Leases are looked for (default 100ms).
	Tick time.Duration

	mu   sync.Mutex
	seen map[string]leaseSeen
}

type leaseSeen struct {
	rv     string
	holder string
	at     time.Time
	dur    time.Duration
}

// NewLeaseReaper returns a reaper of the VIP Leases in namespace.
func NewLeaseReaper(client kubernetes.Interface, namespace string) *LeaseReaper {
	return &LeaseReaper{client: client, namespace: namespace, now: time.Now, Tick: 100 * time.Millisecond, seen: map[string]leaseSeen{}}
}

// Run watches the VIP Leases and frees lapsed ones until ctx ends.
func (r *LeaseReaper) Run(ctx context.Context) {
	log := klog.FromContext(ctx).WithValues("namespace", r.namespace)
	ctx = klog.NewContext(ctx, log)
	f := informers.NewSharedInformerFactoryWithOptions(r.client, 0, informers.WithNamespace(r.namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = v1alpha1.LabelLeaseVIP }))
	inf := f.Coordination().V1().Leases().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { r.observe(obj) },
		UpdateFunc: func(_, obj any) { r.observe(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if l, ok := obj.(*coordinationv1.Lease); ok {
				r.mu.Lock()
				delete(r.seen, l.Name)
				r.mu.Unlock()
			}
		},
	})
	if err != nil {
		log.Error(err, "Cannot watch VIP Leases; lapsed Leases are not freed")
		return
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return
	}
	lister := f.Coordination().V1().Leases().Lister().Leases(r.namespace)
	t := time.NewTicker(r.Tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, name := range r.lapsed() {
			l, err := lister.Get(name)
			if err != nil {
				continue
			}
			r.free(ctx, l)
		}
	}
}

// observe notes when a Lease was last seen to change.
func (r *LeaseReaper) observe(obj any) {
	l, ok := obj.(*coordinationv1.Lease)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.seen[l.Name]; ok && s.rv == l.ResourceVersion {
		return
	}
	r.seen[l.Name] = leaseSeen{
		rv: l.ResourceVersion, holder: ptr.Deref(l.Spec.HolderIdentity, ""), at: r.now(),
		dur: time.Duration(ptr.Deref(l.Spec.LeaseDurationSeconds, 0)) * time.Second,
	}
}

// lapsed names the held Leases not seen to change for longer than their duration.
func (r *LeaseReaper) lapsed() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var out []string
	for name, s := range r.seen {
		if s.holder != "" && now.Sub(s.at) > s.dur {
			out = append(out, name)
		}
	}
	return out
}

// free clears the holder of l, if l is still the version seen lapsing.
func (r *LeaseReaper) free(ctx context.Context, l *coordinationv1.Lease) {
	r.mu.Lock()
	s := r.seen[l.Name]
	r.mu.Unlock()
	if s.rv != l.ResourceVersion {
		return
	}
	l = l.DeepCopy()
	l.Spec.HolderIdentity = nil
	_, err := r.client.CoordinationV1().Leases(r.namespace).Update(ctx, l, metav1.UpdateOptions{})
	switch {
	case err == nil:
		klog.FromContext(ctx).Info("Freed the Lease of a VIP whose holder stopped renewing it", "lease", l.Name, "holder", s.holder)
	case apierrors.IsConflict(err) || apierrors.IsNotFound(err):
		// Renewed or gone in the meantime: the watch brings the new version.
	default:
		klog.FromContext(ctx).Error(err, "Cannot free a lapsed VIP Lease", "lease", l.Name, "holder", s.holder)
	}
}
