package controller

import (
	"net/netip"
	"slices"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

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
