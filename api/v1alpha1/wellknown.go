package v1alpha1

import corev1 "k8s.io/api/core/v1"

// The keys vsphere-cloud writes on objects it does not own (Nodes, Services, Leases): the
// one place they are declared. Changing one breaks users' selectors and tolerations.

// Node labels vsphere-node writes from the VM's placement.
const (
	// LabelNodeHost is the name of the ESXi host running the node's VM.
	LabelNodeHost = "node.vsphere-cloud.io/host"
	// LabelNodeCluster is the vSphere cluster of that host.
	LabelNodeCluster = "node.vsphere-cloud.io/cluster"
	// LabelNodeDatacenter is the datacenter of the VM.
	LabelNodeDatacenter = "node.vsphere-cloud.io/datacenter"
)

// TaintHostMaintenance keeps new Pods off a Node whose ESXi host is entering or in
// maintenance mode, or disconnected; vsphere-node writes it and the VIP announcer moves
// VIPs off such Nodes.
const TaintHostMaintenance = "node.vsphere-cloud.io/host-maintenance"

// Node condition types vsphere-node writes.
const (
	NodeConditionHostReady        corev1.NodeConditionType = "VSphereHostReady"
	NodeConditionToolsReady       corev1.NodeConditionType = "VMwareToolsReady"
	NodeConditionDiskUUIDEnabled  corev1.NodeConditionType = "DiskUUIDEnabled"
	NodeConditionIdentityVerified corev1.NodeConditionType = "IdentityVerified"
)

// LoadBalancer Services.
const (
	// ServiceClassVIP is the loadBalancerClass served by our own controller; class-less
	// Services are served through the cloud provider's service controller.
	ServiceClassVIP = "vsphere-cloud.io/vip"
	// AnnotationLoadBalancerIPs requests addresses: a comma-separated list, one per
	// family (dual-stack).
	AnnotationLoadBalancerIPs = "vsphere-cloud.io/load-balancer-ips"
	// AnnotationSharingKey lets Services with the same key share an address when their
	// ports do not clash and their externalTrafficPolicy is the same. A key is private
	// to its namespace unless the pool sets spec.shareAcrossNamespaces.
	AnnotationSharingKey = "vsphere-cloud.io/sharing-key"
	// AnnotationPool restricts allocation to one VIPPool.
	AnnotationPool = "vsphere-cloud.io/pool"
	// FinalizerVIP keeps a Service of ServiceClassVIP until its address is released.
	FinalizerVIP = "vsphere-cloud.io/vip"
	// ServiceConditionAllocated and ServiceConditionAnnounced report a Service's VIP.
	ServiceConditionAllocated = "vsphere-cloud.io/Allocated"
	ServiceConditionAnnounced = "vsphere-cloud.io/Announced"
)

// Lease labels of VIP announcement.
const (
	// LabelLeaseVIP marks the Leases that elect a VIP's announcer; its value is the VIP.
	LabelLeaseVIP = "vsphere-cloud.io/vip"
	// LabelLeaseESXiHost on a VIP Lease names the ESXi host of the node that holds it, so
	// that candidates can spread leaders over hosts without reading other nodes' NodeVMs.
	LabelLeaseESXiHost = "vsphere-cloud.io/esxi-host"
)

// Node failover on proof (cloud-controller's placement controller, pkg/placement).
const (
	// TaintValueOutOfService is the value of the node.kubernetes.io/out-of-service taint
	// (corev1.TaintNodeOutOfService) cloud-controller adds, as Kubernetes' documentation of
	// non-graceful node shutdown writes it.
	TaintValueOutOfService = "nodeshutdown"
	// AnnotationOutOfService marks a Node whose out-of-service taint cloud-controller added,
	// and says why; only such a taint is ever removed by cloud-controller.
	AnnotationOutOfService = "vsphere-cloud.io/out-of-service"
)

// Anti-affinity groups (cloud-controller's vsphere-anti-affinity controller).
const (
	// LabelAntiAffinityGroup on a Node puts its VM in a vSphere VM-VM anti-affinity rule
	// with the VMs of every other Node carrying the same value, in each vSphere cluster.
	LabelAntiAffinityGroup = "vsphere-cloud.io/anti-affinity-group"
	// AntiAffinityGroupControlPlane is the group of every Node labelled
	// node-role.kubernetes.io/control-plane.
	AntiAffinityGroupControlPlane = "control-plane"
)

// The control-plane endpoint's Lease (vsphere-node control-plane run).
const (
	// LabelControlPlaneEndpoint marks the Lease that elects the control-plane endpoint's
	// holder; AnnotationControlPlaneEndpoint on it is the endpoint's address, which
	// cloud-controller keeps out of Node addresses (VMware Tools reports it on the holder).
	LabelControlPlaneEndpoint      = "vsphere-cloud.io/control-plane-endpoint"
	AnnotationControlPlaneEndpoint = "vsphere-cloud.io/control-plane-endpoint"
)
