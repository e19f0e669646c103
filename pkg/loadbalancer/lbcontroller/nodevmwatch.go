package lbcontroller

import (
	"net/netip"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/labels"

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
func (r *serviceReconciler) nodeVMMoved(obj any) {
	nvm, ok := obj.(*v1alpha1.NodeVM)
	if !ok {
		return
	}
	leases, err := r.leases.List(labels.Everything())
	if err != nil {
		return
	}
	now := time.Now()
	var vips []netip.Addr
	for _, l := range leases {
		if loadbalancer.LeaseHolder(l, now) != nvm.Name {
			continue
		}
		if ip, err := loadbalancer.ParseLeaseLabel(l.Labels[v1alpha1.LabelLeaseVIP]); err == nil {
			vips = append(vips, ip)
		}
	}
	if len(vips) == 0 {
		return
	}
	r.enqueueHolding(func(ips []netip.Addr) bool {
		return slices.ContainsFunc(ips, func(ip netip.Addr) bool { return slices.Contains(vips, ip) })
	})
}
