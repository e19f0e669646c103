package controller

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
)

// VIPPool condition that reports Node addresses inside a pool: they are never handed out.
const (
	ConditionPoolOverlapsNodes = "OverlapsNodes"
	ReasonNodeAddressInPool    = "NodeAddressInPool"
	ReasonNoNodeAddress        = "NoNodeAddress"
	maxListedNodeAddresses     = 10
)

// nodeOverlap is the pool's OverlapsNodes condition. When it turns True, or names other
// addresses, a Warning Event on the VIPPool says so too.
func (p *Provider) nodeOverlap(o *v1alpha1.VIPPool, pool loadbalancer.Pool) metav1.Condition {
	found := p.nodeAddressesIn(pool)
	if len(found) == 0 {
		p.mu.Lock()
		delete(p.overlaps, o.Name)
		p.mu.Unlock()
		return metav1.Condition{Type: ConditionPoolOverlapsNodes, Status: metav1.ConditionFalse, Reason: ReasonNoNodeAddress, Message: "no Node address is in the pool", ObservedGeneration: o.Generation}
	}
	listed := found
	if len(listed) > maxListedNodeAddresses {
		listed = append(listed[:maxListedNodeAddresses:maxListedNodeAddresses], fmt.Sprintf("and %d more", len(found)-maxListedNodeAddresses))
	}
	msg := fmt.Sprintf("Node addresses in the pool are never handed out; take them out of spec.addresses: %s", strings.Join(listed, ", "))
	p.mu.Lock()
	reported := p.overlaps[o.Name] == msg
	p.overlaps[o.Name] = msg
	p.mu.Unlock()
	if !reported && p.events != nil {
		ref := &v1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: "VIPPool", Name: o.Name, UID: o.UID}
		p.events.Event(ref, v1.EventTypeWarning, ReasonNodeAddressInPool, msg)
	}
	return metav1.Condition{Type: ConditionPoolOverlapsNodes, Status: metav1.ConditionTrue, Reason: ReasonNodeAddressInPool, Message: msg, ObservedGeneration: o.Generation}
}
