package lbcontroller

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// ConditionPoolOverlapsNodes is the VIPPool condition that reports Node addresses inside
// a pool: they are never handed out. ReasonNodeAddressInPool (with a Warning Event) and
// ReasonNoNodeAddress are its reasons.
const (
	ConditionPoolOverlapsNodes = "OverlapsNodes"
	ReasonNodeAddressInPool    = "NodeAddressInPool"
	ReasonNoNodeAddress        = "NoNodeAddress"
)

// maxListedNodeAddresses bounds the Node addresses an OverlapsNodes message names.
const maxListedNodeAddresses = 10

// nodeOverlap is the pool's OverlapsNodes condition. When it turns True, or names other
// addresses, a Warning Event on the VIPPool says so too.
func (r *poolReconciler) nodeOverlap(o *v1alpha1.VIPPool, pool loadbalancer.Pool) metav1.Condition {
	found := r.nodeIdx.addressesIn(pool)
	if len(found) == 0 {
		r.mu.Lock()
		delete(r.overlaps, o.Name)
		r.mu.Unlock()
		return metav1.Condition{Type: ConditionPoolOverlapsNodes, Status: metav1.ConditionFalse, Reason: ReasonNoNodeAddress, Message: "no Node address is in the pool", ObservedGeneration: o.Generation}
	}
	listed := found
	if len(listed) > maxListedNodeAddresses {
		listed = append(listed[:maxListedNodeAddresses:maxListedNodeAddresses], fmt.Sprintf("and %d more", len(found)-maxListedNodeAddresses))
	}
	msg := fmt.Sprintf("Node addresses in the pool are never handed out; take them out of spec.addresses: %s", strings.Join(listed, ", "))
	r.mu.Lock()
	reported := r.overlaps[o.Name] == msg
	r.overlaps[o.Name] = msg
	r.mu.Unlock()
	if !reported && r.events != nil {
		ref := &corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "VIPPool", Name: o.Name, UID: o.UID}
		r.events.Event(ref, corev1.EventTypeWarning, ReasonNodeAddressInPool, msg)
	}
	return metav1.Condition{Type: ConditionPoolOverlapsNodes, Status: metav1.ConditionTrue, Reason: ReasonNodeAddressInPool, Message: msg, ObservedGeneration: o.Generation}
}
