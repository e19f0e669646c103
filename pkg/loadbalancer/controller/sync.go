package controller

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

const poolsKey = "\x00pools"

// refreshPools re-reads VIPPools, rebuilds the pools and queues status updates when they
// changed.
func (p *Provider) refreshPools() {
	objs := p.poolStore.List()
	items := make([]v1alpha1.VIPPool, 0, len(objs))
	for _, obj := range objs {
		items = append(items, *obj.(*v1alpha1.VIPPool))
	}
	pools, problems := loadbalancer.BuildPools(items, p.nsLabels)
	p.mu.Lock()
	changed := !samePools(p.pools, pools) || !reflect.DeepEqual(p.problems, problems)
	p.pools, p.problems, p.vipRanges = pools, problems, loadbalancer.AllRanges(items)
	p.mu.Unlock()
	p.alloc.SetPools(pools)
	if changed && p.queue != nil {
		p.queue.Add(poolsKey)
		for _, obj := range p.services.List() {
			svc := obj.(*v1.Service)
			p.queue.Add(svc.Namespace + "/" + svc.Name)
		}
	}
}

// namespaceChanged retries the Services of a Namespace whose labels changed: a pool's
// namespaceSelector may now admit them, or no longer.
func (p *Provider) namespaceChanged(old, cur any) {
	o, ok1 := old.(*v1.Namespace)
	n, ok2 := cur.(*v1.Namespace)
	if !ok1 || !ok2 || labels.Equals(o.Labels, n.Labels) {
		return
	}
	for _, obj := range p.services.List() {
		if svc := obj.(*v1.Service); svc.Namespace == n.Name {
			p.queue.Add(svc.Namespace + "/" + svc.Name)
		}
	}
}

func samePools(a, b []loadbalancer.Pool) bool {
	return slices.EqualFunc(a, b, func(x, y loadbalancer.Pool) bool {
		return x.Name == y.Name && x.Network == y.Network && x.AutoAssign == y.AutoAssign && slices.Equal(x.Ranges, y.Ranges) &&
			x.ShareAcrossNamespaces == y.ShareAcrossNamespaces
	})
}

func (p *Provider) worker(ctx context.Context) {
	for {
		key, quit := p.queue.Get()
		if quit {
			return
		}
		var err error
		kind := "service"
		if key == poolsKey {
			kind = "pools"
			err = p.syncPools(ctx)
		} else {
			err = p.syncService(ctx, key)
		}
		result := "ok"
		if err != nil {
			result = "error"
		}
		syncsTotal.WithLabelValues(kind, result).Inc()
		if err != nil {
			klog.FromContext(ctx).V(2).Info("VIP sync failed; retrying", "key", key, "err", err)
			p.queue.AddRateLimited(key)
		} else {
			p.queue.Forget(key)
		}
		p.queue.Done(key)
	}
}

// syncService allocates for Services of Class, and keeps every served Service's
// Allocated and Announced conditions.
func (p *Provider) syncService(ctx context.Context, key string) error {
	obj, exists, err := p.services.GetByKey(key)
	if err != nil {
		return err
	}
	if !exists { // gone: whatever it held is free
		p.alloc.Release(key)
		p.queue.Add(poolsKey)
		return nil
	}
	svc := obj.(*v1.Service).DeepCopy()
	ours := svc.Spec.LoadBalancerClass != nil && *svc.Spec.LoadBalancerClass == loadbalancer.Class
	if !loadbalancer.Serves(svc, p.classless) || (ours && svc.DeletionTimestamp != nil) {
		if ours || p.alloc.Held(key) != nil {
			p.alloc.Release(key)
			p.queue.Add(poolsKey)
		}
		if ours && svc.Spec.Type == v1.ServiceTypeLoadBalancer || slices.Contains(svc.Finalizers, loadbalancer.Finalizer) {
			return p.removeFinalizer(ctx, svc)
		}
		return nil
	}
	var allocErr error
	if ours {
		if !slices.Contains(svc.Finalizers, loadbalancer.Finalizer) {
			patch := fmt.Appendf(nil, `{"metadata":{"finalizers":%s}}`, quoteList(append(svc.Finalizers, loadbalancer.Finalizer)))
			if svc, err = p.kube.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				return err
			}
		}
		var ips []netip.Addr
		ips, allocErr = p.assign(ctx, svc)
		if allocErr == nil {
			svc.Status.LoadBalancer = *loadbalancer.StatusFor(ips)
		}
	} else {
		p.mu.Lock()
		allocErr = p.lastErr[key]
		p.mu.Unlock()
	}
	return p.writeConditions(ctx, svc, allocErr)
}

// assign allocates for svc and records the outcome as an Event when it fails. A failure
// that a new or grown pool fixes is retried when the pool's watch event rebuilds the
// pools, which queues every Service again.
func (p *Provider) assign(ctx context.Context, svc *v1.Service) ([]netip.Addr, error) {
	req, err := loadbalancer.RequestFor(svc)
	var ips []netip.Addr
	if err == nil {
		ips, err = p.alloc.Assign(req)
	}
	if err != nil {
		p.events.Eventf(svc, v1.EventTypeWarning, reasonOf(err), "No address allocated: %v", err)
	} else {
		p.queue.Add(poolsKey)
	}
	return ips, err
}

func reasonOf(err error) string {
	var e *loadbalancer.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return "AllocationFailed"
}

// writeConditions sets Allocated and Announced (and, for Services of Class, the ingress)
// in the Service's status when they changed.
func (p *Provider) writeConditions(ctx context.Context, svc *v1.Service, allocErr error) error {
	orig := svc.Status.DeepCopy()
	gen := svc.Generation
	if allocErr != nil {
		meta.SetStatusCondition(&svc.Status.Conditions, metav1.Condition{Type: loadbalancer.ConditionAllocated, Status: metav1.ConditionFalse, Reason: reasonOf(allocErr), Message: allocErr.Error(), ObservedGeneration: gen})
	} else if len(loadbalancer.IngressIPs(svc)) > 0 {
		ips := loadbalancer.IngressIPs(svc)
		pools := make([]string, 0, len(ips))
		for _, ip := range ips {
			if pool, ok := p.alloc.PoolOf(ip); ok {
				pools = append(pools, ip.String()+" from VIPPool "+pool.Name)
			}
		}
		meta.SetStatusCondition(&svc.Status.Conditions, metav1.Condition{Type: loadbalancer.ConditionAllocated, Status: metav1.ConditionTrue, Reason: "Allocated", Message: strings.Join(pools, "; "), ObservedGeneration: gen})
	}
	if len(loadbalancer.IngressIPs(svc)) > 0 {
		st, reason, msg := p.announced(ctx, svc)
		meta.SetStatusCondition(&svc.Status.Conditions, metav1.Condition{Type: loadbalancer.ConditionAnnounced, Status: st, Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	if equality.Semantic.DeepEqual(orig, &svc.Status) {
		return nil
	}
	klog.FromContext(ctx).V(3).Info("Updating Service conditions", "service", klog.KObj(svc), "conditions", svc.Status.Conditions)
	_, err := p.kube.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// announced says which node, on which ESXi host, announces each address.
func (p *Provider) announced(ctx context.Context, svc *v1.Service) (metav1.ConditionStatus, string, string) {
	var parts []string
	all := true
	for _, ip := range loadbalancer.IngressIPs(svc) {
		obj, ok, _ := p.leases.GetByKey(p.namespace + "/" + loadbalancer.LeaseName(ip))
		var holder string
		if ok {
			holder = loadbalancer.LeaseHolder(obj.(*coordinationv1.Lease), time.Now())
		}
		klog.FromContext(ctx).V(4).Info("VIP announcer", "vip", ip, "leaseFound", ok, "holder", holder)
		if holder == "" {
			// The Lease's watch events (a holder taking it) queue the Service again.
			all = false
			parts = append(parts, ip.String()+" is not announced by any node")
			continue
		}
		host := "unknown ESXi host"
		if obj, ok, _ := p.nodeVMs.GetByKey(holder); ok && obj.(*v1alpha1.NodeVM).Status.Host.Name != "" {
			host = "ESXi host " + obj.(*v1alpha1.NodeVM).Status.Host.Name
		}
		parts = append(parts, fmt.Sprintf("%s announced by node %s on %s", ip, holder, host))
	}
	if !all {
		return metav1.ConditionFalse, "NotAnnounced", strings.Join(parts, "; ")
	}
	return metav1.ConditionTrue, "Announced", strings.Join(parts, "; ")
}

func (p *Provider) removeFinalizer(ctx context.Context, svc *v1.Service) error {
	if !slices.Contains(svc.Finalizers, loadbalancer.Finalizer) {
		return nil
	}
	rest := slices.DeleteFunc(slices.Clone(svc.Finalizers), func(f string) bool { return f == loadbalancer.Finalizer })
	patch := fmt.Appendf(nil, `{"metadata":{"finalizers":%s,"resourceVersion":%q}}`, quoteList(rest), svc.ResourceVersion)
	_, err := p.kube.CoreV1().Services(svc.Namespace).Patch(ctx, svc.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ",") + "]"
}

// syncPools writes each VIPPool's usage and Valid condition.
func (p *Provider) syncPools(ctx context.Context) error {
	p.mu.Lock()
	pools, problems := p.pools, p.problems
	p.mu.Unlock()
	// From the watch, not a List per allocation: an update from a stale copy conflicts and
	// is retried.
	for _, obj := range p.poolStore.List() {
		o := obj.(*v1alpha1.VIPPool).DeepCopy()
		st := o.Status.DeepCopy()
		cond := metav1.Condition{Type: v1alpha1.ConditionPoolValid, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonValid, Message: "addresses are handed out", ObservedGeneration: o.Generation}
		st.Used, st.Free = 0, 0
		if pr, bad := problems[o.Name]; bad {
			cond = metav1.Condition{Type: v1alpha1.ConditionPoolValid, Status: metav1.ConditionFalse, Reason: pr.Reason, Message: pr.Message, ObservedGeneration: o.Generation}
		}
		meta.SetStatusCondition(&st.Conditions, cond)
		for _, pool := range pools {
			if pool.Name == o.Name {
				st.Used, st.Free = p.alloc.Usage(pool)
				meta.SetStatusCondition(&st.Conditions, p.nodeOverlap(o, pool))
			}
		}
		if equality.Semantic.DeepEqual(st, &o.Status) {
			continue
		}
		o.Status = *st
		if err := p.crc.Status().Update(ctx, o); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
