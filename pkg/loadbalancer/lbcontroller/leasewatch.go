package lbcontroller

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// leaseOf returns the Lease in an informer event (or its tombstone), nil for anything
// else.
func leaseOf(obj any) *coordinationv1.Lease {
	if l, ok := obj.(*coordinationv1.Lease); ok {
		return l
	}
	if t, ok := obj.(interface{ GetObj() any }); ok {
		l, _ := t.GetObj().(*coordinationv1.Lease)
		return l
	}
	return nil
}

// leaseMatters reports whether a Lease update can change what the controller shows:
// who holds it (or whether anyone does, at now) and its labels (the VIP, the holder's
// ESXi host). A renewal by the same holder changes neither, and makes no work: with two
// renewals a second per VIP, anything else would grow the controller's API traffic
// with the number of VIPs.
func leaseMatters(old, cur *coordinationv1.Lease, now time.Time) bool {
	if old == nil || cur == nil {
		return true
	}
	return !labels.Equals(old.Labels, cur.Labels) ||
		loadbalancer.LeaseHolder(old, now) != loadbalancer.LeaseHolder(cur, now)
}

// lapses remembers when each held VIP Lease expires, so that a holder that stops
// renewing is noticed without any event (no other node may take the VIP over). Events
// only move the deadline; a check every second finds the Leases that lapsed.
type lapses struct {
	mu       sync.Mutex
	deadline map[string]time.Time // Lease key -> expiry of its current holder
}

// newLapses returns lapses that follow no Lease yet.
func newLapses() *lapses { return &lapses{deadline: map[string]time.Time{}} }

// observe records the Lease's expiry (or forgets it when nobody holds it).
func (x *lapses) observe(key string, l *coordinationv1.Lease, now time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if l == nil || loadbalancer.LeaseHolder(l, now) == "" || l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		delete(x.deadline, key)
		return
	}
	x.deadline[key] = l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
}

// expired forgets and returns the Leases whose holder lapsed before now.
func (x *lapses) expired(now time.Time) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for k, d := range x.deadline {
		if now.After(d) {
			out = append(out, k)
			delete(x.deadline, k)
		}
	}
	return out
}

// run calls lapsed with each Lease key whose holder lapsed, every period until ctx ends.
func (x *lapses) run(ctx context.Context, period time.Duration, lapsed func(key string)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, k := range x.expired(now) {
				lapsed(k)
			}
		}
	}
}

// leaseAdded starts following the Lease's deadline and queues its Services.
func (r *serviceReconciler) leaseAdded(obj any) {
	if l := leaseOf(obj); l != nil {
		r.lapses.observe(leaseKey(l), l, time.Now())
		r.enqueueHoldersOf(l)
	}
}

// leaseUpdated moves the Lease's deadline and queues its Services only when the update
// matters (leaseMatters): a renewal makes no sync and no API request.
func (r *serviceReconciler) leaseUpdated(old, cur any) {
	o, l := leaseOf(old), leaseOf(cur)
	if l == nil {
		return
	}
	now := time.Now()
	r.lapses.observe(leaseKey(l), l, now)
	if leaseMatters(o, l, now) {
		r.enqueueHoldersOf(l)
	}
}

// leaseDeleted forgets the Lease's deadline and queues its Services.
func (r *serviceReconciler) leaseDeleted(obj any) {
	if l := leaseOf(obj); l != nil {
		r.lapses.observe(leaseKey(l), nil, time.Now())
		r.enqueueHoldersOf(l)
	}
}

// leaseLapsed queues the Services of a Lease (namespace/name) whose holder stopped
// renewing.
func (r *serviceReconciler) leaseLapsed(key string) {
	_, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return
	}
	if l, err := r.leases.Get(name); err == nil {
		r.enqueueHoldersOf(l)
	}
}

// enqueueHoldersOf queues the Services that hold the Lease's address.
func (r *serviceReconciler) enqueueHoldersOf(l *coordinationv1.Lease) {
	if l.Labels[v1alpha1.LabelLeaseVIP] == "" {
		return
	}
	ip, err := loadbalancer.ParseLeaseLabel(l.Labels[v1alpha1.LabelLeaseVIP])
	if err != nil {
		return
	}
	r.enqueueHolding(func(ips []netip.Addr) bool { return slices.Contains(ips, ip) })
}

// leaseKey is the namespace/name key lapses follows a Lease by.
func leaseKey(l *coordinationv1.Lease) string { return cache.MetaObjectToName(l).String() }
