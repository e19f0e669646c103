// Package loadbalancer gives LoadBalancer Services virtual IPs from VIPPools (in
// cloud-controller, which checks every address against the VM guest IPs vCenter reports)
// and announces them from one elected, healthy node per address (in vsphere-node).
package loadbalancer

// Names on the wire.
const (
	// Class is the loadBalancerClass served by our own controller; class-less Services are
	// served through the cloud provider's service controller.
	Class = "vsphere-cloud.io/vip"
	// AnnotationIPs requests addresses: a comma-separated list, one per family (dual-stack).
	AnnotationIPs = "vsphere-cloud.io/load-balancer-ips"
	// AnnotationSharingKey lets Services with the same key share an address when their
	// ports do not clash and their externalTrafficPolicy is the same. A key is private
	// to its namespace unless the pool sets spec.shareAcrossNamespaces.
	AnnotationSharingKey = "vsphere-cloud.io/sharing-key"
	// AnnotationPool restricts allocation to one VIPPool.
	AnnotationPool = "vsphere-cloud.io/pool"
	// Finalizer keeps a Service of Class until its address is released.
	Finalizer = "vsphere-cloud.io/vip"
	// ConditionAllocated and ConditionAnnounced are the Service conditions this product sets.
	ConditionAllocated = "vsphere-cloud.io/Allocated"
	ConditionAnnounced = "vsphere-cloud.io/Announced"
)
