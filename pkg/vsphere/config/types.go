package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// File is the cloud configuration file as written by users. The global, vcenter, labels
// and nodes sections are the upstream vSphere cloud provider's YAML format; inventory is
// vsphere-cloud's own.
type File struct {
	// Global holds defaults that every vcenter entry inherits, and the legacy
	// single-vCenter form (global.server).
	Global Global `json:"global"`
	// VCenter maps any name to one vCenter. The name is only a key unless server is empty,
	// in which case the key is the server (upstream behaviour).
	VCenter map[string]*VCenter `json:"vcenter"`
	// Labels names the tag categories whose tags become zone and region.
	Labels Labels `json:"labels"`
	// Nodes selects which guest addresses become node addresses.
	Nodes Nodes `json:"nodes"`
	// Inventory tunes the inventory cache (vsphere-cloud's own section).
	Inventory Inventory `json:"inventory"`
	// LoadBalancer configures VIPs for LoadBalancer Services (vsphere-cloud's own section).
	LoadBalancer LoadBalancer `json:"loadBalancer"`
}

// LoadBalancer configures VIP allocation.
type LoadBalancer struct {
	// Enabled turns VIP allocation on (default true).
	Enabled *bool `json:"enabled,omitempty"`
	// ServeClassless serves Services without spec.loadBalancerClass too (default true);
	// Services of class vsphere-cloud.io/vip are always served.
	ServeClassless *bool `json:"serveClassless,omitempty"`
	// LeaseNamespace holds the Leases that elect each VIP's announcer (default
	// vsphere-cloud-system).
	LeaseNamespace string `json:"leaseNamespace,omitempty"`
}

// Global holds defaults for every vCenter: every VCenter key, plus two the upstream
// provider's gRPC API used.
type Global struct {
	VCenter `json:",inline"`
	// APIDisable and APIBinding belong to the upstream provider's gRPC API; accepted and
	// ignored.
	APIDisable *bool  `json:"apiDisable,omitempty"`
	APIBinding string `json:"apiBinding,omitempty"`
}

// VCenter is one vCenter. Empty fields inherit from Global.
type VCenter struct {
	// User is refused: credentials belong in a Secret or a secrets directory.
	User string `json:"user,omitempty"`
	// Password is refused: credentials belong in a Secret or a secrets directory.
	Password string `json:"password,omitempty"`
	// Server is the host name or address. In global it is the legacy single-vCenter
	// form, which adds a vcenter entry keyed by itself.
	Server string `json:"server,omitempty"`
	// Port is the HTTPS port, 443 by default.
	Port int `json:"port,omitempty"`
	// InsecureFlag turns off TLS verification. It works, and logs a warning at start.
	InsecureFlag *bool `json:"insecureFlag,omitempty"`
	// Datacenters limits the inventory to these datacenters; empty means all.
	Datacenters []string `json:"datacenters,omitempty"`
	// RoundTripperCount is accepted for compatibility and ignored: calls are retried by
	// the cache and the controllers, not by the SOAP transport.
	RoundTripperCount int `json:"soapRoundtripCount,omitempty"`
	// CAFile is a PEM bundle that signs the vCenter certificate.
	CAFile string `json:"caFile,omitempty"`
	// Thumbprint is the SHA-1 or SHA-256 fingerprint of the vCenter certificate.
	Thumbprint string `json:"thumbprint,omitempty"`
	// SecretName is the Secret holding <server>.username and <server>.password.
	SecretName string `json:"secretName,omitempty"`
	// SecretNamespace is the namespace of SecretName.
	SecretNamespace string `json:"secretNamespace,omitempty"`
	// SecretsDirectory is a mounted directory with files <server>.username and
	// <server>.password; it is used when no SecretName is set.
	SecretsDirectory string `json:"secretsDirectory,omitempty"`
	// IPFamily lists ipv4 and/or ipv6 in priority order; two entries mean dual-stack.
	IPFamily []string `json:"ipFamily,omitempty"`
	// PVSCSI64Targets says that vCenter's pvscsiCtrlr256DiskSupportEnabled is on (vSphere 8:
	// CNS then attaches up to 64 disks to a paravirtual SCSI controller of a VM of hardware
	// version 14 or later, instead of 15). vCenter does not publish it, so it is declared here.
	PVSCSI64Targets *bool `json:"pvscsiCtrlr256DiskSupportEnabled,omitempty"`
}

// Labels names tag categories. Either may be empty; a VM without a tag in a category
// simply gets no label for it.
type Labels struct {
	Zone   string `json:"zone,omitempty"`
	Region string `json:"region,omitempty"`
}

// Nodes selects node addresses. CIDR lists are comma-separated, as upstream.
type Nodes struct {
	InternalNetworkSubnetCIDR        string `json:"internalNetworkSubnetCidr,omitempty"`
	ExternalNetworkSubnetCIDR        string `json:"externalNetworkSubnetCidr,omitempty"`
	InternalVMNetworkName            string `json:"internalVmNetworkName,omitempty"`
	ExternalVMNetworkName            string `json:"externalVmNetworkName,omitempty"`
	ExcludeInternalNetworkSubnetCIDR string `json:"excludeInternalNetworkSubnetCidr,omitempty"`
	ExcludeExternalNetworkSubnetCIDR string `json:"excludeExternalNetworkSubnetCidr,omitempty"`
}

// Inventory tunes the inventory cache.
type Inventory struct {
	// ResyncPeriod is how often the whole inventory is read again as a safety net.
	// Default 10m.
	ResyncPeriod *metav1.Duration `json:"resyncPeriod,omitempty"`
	// MaxWait is how long one WaitForUpdatesEx call may wait for a change. Every return,
	// with or without changes, proves vCenter is alive. Default 60s.
	MaxWait *metav1.Duration `json:"maxWait,omitempty"`
	// Freshness is how old the last contact with vCenter may be before lookups that
	// would answer "no such VM" answer "unavailable" instead. Default 3m; at least
	// twice maxWait.
	Freshness *metav1.Duration `json:"freshness,omitempty"`
	// CallTimeout is the deadline of every vCenter call. Default 30s.
	CallTimeout *metav1.Duration `json:"callTimeout,omitempty"`
}
