// Package loadbalancer gives LoadBalancer Services virtual IPs from VIPPools (in
// cloud-controller, which checks every address against the VM guest IPs vCenter reports)
// and announces them from one elected, healthy node per address (in vsphere-node).
package loadbalancer

import "github.com/vsphere-cloud/provider/api/v1alpha1"

// Names on the wire, declared in api/v1alpha1 (wellknown.go).
const (
	Class                = v1alpha1.ServiceClassVIP
	AnnotationIPs        = v1alpha1.AnnotationLoadBalancerIPs
	AnnotationSharingKey = v1alpha1.AnnotationSharingKey
	AnnotationPool       = v1alpha1.AnnotationPool
	Finalizer            = v1alpha1.FinalizerVIP
	ConditionAllocated   = v1alpha1.ServiceConditionAllocated
	ConditionAnnounced   = v1alpha1.ServiceConditionAnnounced
)
