package controller

import (
	"context"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
	coordinationv1 "k8s.io/api/coordination/v1"
	"net/netip"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// newNodeVMInformer watches NodeVMs through c (JSON: the CRD has no protobuf encoding),
// so that naming a VIP's announcing ESXi host is a map read, not a GET per sync.
func newNodeVMInformer(c client.WithWatch) cache.SharedIndexInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			var l v1alpha1.NodeVMList
			err := c.List(ctx, &l, &client.ListOptions{Raw: &o})
			return &l, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return c.Watch(ctx, &v1alpha1.NodeVMList{}, &client.ListOptions{Raw: &o})
		},
	}
	return cache.NewSharedIndexInformer(lw, &v1alpha1.NodeVM{}, 0, cache.Indexers{})
}

// nodeVMHostChanged reports whether an update moved the NodeVM to another ESXi host,
// which the Announced condition names.
func nodeVMHostChanged(old, cur any) bool {
	o, ok1 := old.(*v1alpha1.NodeVM)
	n, ok2 := cur.(*v1alpha1.NodeVM)
	return !ok1 || !ok2 || o.Status.Host.Name != n.Status.Host.Name
}

// nodeVMMoved queues the Services whose addresses the node announces when its NodeVM
// appears or moves to another ESXi host, so that their Announced condition names it.
func (p *Provider) nodeVMMoved(obj any) {
	nvm, ok := obj.(*v1alpha1.NodeVM)
	if !ok {
		return
	}
	now := time.Now()
	var vips []netip.Addr
	for _, o := range p.leases.List() {
		l, ok := o.(*coordinationv1.Lease)
		if !ok || loadbalancer.LeaseHolder(l, now) != nvm.Name {
			continue
		}
		if ip, err := loadbalancer.ParseLeaseLabel(l.Labels[loadbalancer.LeaseLabel]); err == nil {
			vips = append(vips, ip)
		}
	}
	if len(vips) == 0 {
		return
	}
	p.queueServicesWith(func(ips []netip.Addr) bool {
		return slices.ContainsFunc(ips, func(ip netip.Addr) bool { return slices.Contains(vips, ip) })
	})
}
