package lbcontroller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// Reasons of the Service conditions beyond the allocator's failure reasons.
const (
	reasonAllocated        = "Allocated"
	reasonAnnounced        = "Announced"
	reasonNotAnnounced     = "NotAnnounced"
	reasonAllocationFailed = "AllocationFailed"
)

// writeConditions sets Allocated and Announced (and, for Services of Class, the ingress)
// in the Service's status when they changed. The update carries svc's resourceVersion:
// a write from a stale copy conflicts and is retried.
func (r *serviceReconciler) writeConditions(ctx context.Context, svc *corev1.Service, allocErr error) error {
	orig := svc.Status.DeepCopy()
	gen := svc.Generation
	if allocErr != nil {
		meta.SetStatusCondition(&svc.Status.Conditions, metav1.Condition{Type: v1alpha1.ServiceConditionAllocated, Status: metav1.ConditionFalse, Reason: reasonOf(allocErr), Message: allocErr.Error(), ObservedGeneration: gen})
	} else if ips := loadbalancer.IngressIPs(svc); len(ips) > 0 {
		pools := make([]string, 0, len(ips))
		for _, ip := range ips {
			if pool, ok := r.alloc.PoolOf(ip); ok {
				pools = append(pools, ip.String()+" from VIPPool "+pool.Name)
			}
		}
		meta.SetStatusCondition(&svc.Status.Conditions, metav1.Condition{Type: v1alpha1.ServiceConditionAllocated, Status: metav1.ConditionTrue, Reason: reasonAllocated, Message: strings.Join(pools, "; "), ObservedGeneration: gen})
	}
	if len(loadbalancer.IngressIPs(svc)) > 0 {
		st, reason, msg := r.announced(ctx, svc)
		meta.SetStatusCondition(&svc.Status.Conditions, metav1.Condition{Type: v1alpha1.ServiceConditionAnnounced, Status: st, Reason: reason, Message: msg, ObservedGeneration: gen})
	}
	if equality.Semantic.DeepEqual(orig, &svc.Status) {
		return nil
	}
	klog.FromContext(ctx).V(3).Info("Updating Service conditions", "service", klog.KObj(svc), "conditions", svc.Status.Conditions)
	_, err := r.kube.CoreV1().Services(svc.Namespace).UpdateStatus(ctx, svc, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// announced says which node, on which ESXi host, announces each address. A Lease's
// watch events (a holder taking it) queue the Service again.
func (r *serviceReconciler) announced(ctx context.Context, svc *corev1.Service) (metav1.ConditionStatus, string, string) {
	log := klog.FromContext(ctx)
	var parts []string
	all := true
	for _, ip := range loadbalancer.IngressIPs(svc) {
		l, err := r.leases.Get(loadbalancer.LeaseName(ip))
		var holder string
		if err == nil {
			holder = loadbalancer.LeaseHolder(l, time.Now())
		}
		log.V(4).Info("VIP announcer", "vip", ip, "leaseFound", err == nil, "holder", holder)
		if holder == "" {
			all = false
			parts = append(parts, ip.String()+" is not announced by any node")
			continue
		}
		host := "unknown ESXi host"
		if nvm, err := r.nodeVMs.Get(holder); err == nil && nvm.Status.Host.Name != "" {
			host = "ESXi host " + nvm.Status.Host.Name
		}
		parts = append(parts, fmt.Sprintf("%s announced by node %s on %s", ip, holder, host))
	}
	if !all {
		return metav1.ConditionFalse, reasonNotAnnounced, strings.Join(parts, "; ")
	}
	return metav1.ConditionTrue, reasonAnnounced, strings.Join(parts, "; ")
}
