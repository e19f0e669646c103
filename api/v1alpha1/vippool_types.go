package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// VIPPool condition types and reasons.
const (
	// ConditionPoolValid is False when an entry of spec.addresses cannot be parsed or the
	// pool overlaps another; the pool hands out nothing while it is False.
	ConditionPoolValid = "Valid"
	ReasonValid        = "Valid"
	ReasonInvalidRange = "InvalidRange"
	ReasonOverlap      = "Overlap"
)

// VIPPoolSpec is a set of addresses for LoadBalancer Services.
type VIPPoolSpec struct {
	// Addresses are IPv4 or IPv6 CIDRs ("10.0.10.0/28") or inclusive ranges
	// ("10.0.10.5-10.0.10.9"). In a CIDR of four or more IPv4 addresses the network and
	// broadcast addresses are left out.
	// +kubebuilder:validation:MinItems=1
	Addresses []string `json:"addresses"`
	// NamespaceSelector limits the pool to Services in matching namespaces; empty: all.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	// Network is the vSphere port group the addresses belong to: only nodes with a NIC
	// on it announce them. Empty: any node.
	// +optional
	Network string `json:"network,omitempty"`
	// AutoAssign lets Services without a requested address get one from this pool
	// (default true). A pool with autoAssign false serves requested addresses only.
	// +optional
	AutoAssign *bool `json:"autoAssign,omitempty"`
	// NodeSelector limits the nodes that may announce this pool's addresses; empty: every
	// eligible node. Nodes labelled node.kubernetes.io/exclude-from-external-load-balancers
	// never announce, whatever the selector says.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`
	// AnnounceFromControlPlane lets control-plane nodes (label
	// node-role.kubernetes.io/control-plane) announce this pool's addresses (default
	// false: a VIP never exposes the control plane's host listeners).
	// +optional
	AnnounceFromControlPlane bool `json:"announceFromControlPlane,omitempty"`
	// ShareAcrossNamespaces lets Services of different namespaces share one address
	// through vsphere-cloud.io/sharing-key (default false: sharing stays within a
	// namespace, so no namespace can join another's address by copying its key).
	// +optional
	ShareAcrossNamespaces bool `json:"shareAcrossNamespaces,omitempty"`
}

// VIPPoolStatus reports usage and problems.
type VIPPoolStatus struct {
	// Used is the number of addresses held by Services.
	Used int64 `json:"used"`
	// Free is the number of addresses left, capped at 2^62 for large IPv6 pools.
	Free int64 `json:"free"`
	// Conditions: Valid.
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// VIPPool is a pool of virtual IP addresses for Services of type LoadBalancer, announced
// by vsphere-node on the pool's vSphere network.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=vip
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.network`
// +kubebuilder:printcolumn:name="Used",type=integer,JSONPath=`.status.used`
// +kubebuilder:printcolumn:name="Free",type=integer,JSONPath=`.status.free`
// +kubebuilder:printcolumn:name="Valid",type=string,JSONPath=`.status.conditions[?(@.type=="Valid")].status`
type VIPPool struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   VIPPoolSpec   `json:"spec"`
	Status VIPPoolStatus `json:"status,omitempty"`
}

// VIPPoolList is a list of VIPPools.
//
// +kubebuilder:object:root=true
type VIPPoolList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []VIPPool `json:"items"`
}
