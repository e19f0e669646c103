package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeVM condition types.
const (
	// ConditionVMFound is True when exactly one VM matches the Node.
	ConditionVMFound = "VMFound"
	// ConditionHostReady is True when the VM's ESXi host is connected and not in, or
	// entering, maintenance or quarantine mode.
	ConditionHostReady = "HostReady"
	// ConditionInventoryFresh is False when the placement comes from a cache that
	// cannot vouch for it (vCenter unreachable).
	ConditionInventoryFresh = "InventoryFresh"
	// ConditionAntiAffinity, on Nodes in an anti-affinity group only, is False while
	// another Node of one of its groups runs on the same ESXi host.
	ConditionAntiAffinity = "AntiAffinity"
)

// Condition reasons.
const (
	ReasonFound         = "Found"
	ReasonNotFound      = "NotFound"
	ReasonDuplicateUUID = "DuplicateUUID"
	ReasonLookupFailed  = "LookupFailed"
	ReasonConnected     = "Connected"
	ReasonMaintenance   = "InMaintenance"
	ReasonEnteringMaint = "EnteringMaintenance"
	ReasonQuarantine    = "InQuarantine"
	ReasonDisconnected  = "Disconnected"
	ReasonFresh         = "Fresh"
	ReasonStale         = "Stale"
	ReasonApart         = "Apart"
	ReasonSharesHost    = "SharesHost"
)

// NodeVMSpec names the Node this object describes.
type NodeVMSpec struct {
	// NodeName is the Node's name (the NodeVM has the same name).
	NodeName string `json:"nodeName"`
}

// NIC is one VM network adapter.
type NIC struct {
	// Network is the port group name.
	Network string `json:"network,omitempty"`
	// MAC is the adapter's MAC address.
	MAC string `json:"mac,omitempty"`
	// IPs are the addresses VMware Tools reports on it.
	IPs []string `json:"ips,omitempty"`
}

// HostState is the ESXi host's state.
type HostState struct {
	// Name of the host.
	Name string `json:"name,omitempty"`
	// ConnectionState is connected, disconnected or notResponding.
	ConnectionState string `json:"connectionState,omitempty"`
	// InMaintenanceMode is true while the host is in maintenance mode.
	InMaintenanceMode bool `json:"inMaintenanceMode,omitempty"`
	// EnteringMaintenanceMode is true while an EnterMaintenanceMode task runs.
	EnteringMaintenanceMode bool `json:"enteringMaintenanceMode,omitempty"`
	// InQuarantineMode is true while Proactive HA quarantines the host.
	InQuarantineMode bool `json:"inQuarantineMode,omitempty"`
}

// NodeVMStatus is where the Node's VM runs and how it is.
type NodeVMStatus struct {
	// VCenter is the configuration key of the vCenter that holds the VM.
	VCenter string `json:"vcenter,omitempty"`
	// Datacenter of the VM.
	Datacenter string `json:"datacenter,omitempty"`
	// VM is the VM's managed object ID, such as vm-42.
	VM string `json:"vm,omitempty"`
	// VMName is the VM's name in vCenter.
	VMName string `json:"vmName,omitempty"`
	// UUID is the VM's BIOS UUID.
	UUID string `json:"uuid,omitempty"`
	// Cluster is the vSphere cluster, empty for a standalone host.
	Cluster string `json:"cluster,omitempty"`
	// ResourcePool is the VM's resource pool.
	ResourcePool string `json:"resourcePool,omitempty"`
	// Folder is the VM's folder.
	Folder string `json:"folder,omitempty"`
	// Datastores hold the VM's files and disks.
	Datastores []string `json:"datastores,omitempty"`
	// NICs are the VM's network adapters.
	NICs []NIC `json:"nics,omitempty"`
	// PowerState is poweredOn, poweredOff or suspended.
	PowerState string `json:"powerState,omitempty"`
	// ToolsRunningStatus is VMware Tools' state, such as guestToolsRunning.
	ToolsRunningStatus string `json:"toolsRunningStatus,omitempty"`
	// GuestHeartbeat is green, yellow, red or gray.
	GuestHeartbeat string `json:"guestHeartbeat,omitempty"`
	// Host is the ESXi host and its state.
	Host HostState `json:"host,omitempty"`
	// HAProtected is true when vSphere HA protects the VM.
	HAProtected bool `json:"haProtected,omitempty"`
	// Zone and Region are the VM's zone and region tags.
	Zone   string `json:"zone,omitempty"`
	Region string `json:"region,omitempty"`
	// HardwareVersion is the VM's hardware version, such as vmx-19.
	HardwareVersion string `json:"hardwareVersion,omitempty"`
	// VolumeLimit is how many volumes the VM can have attached, from its SCSI controllers
	// and hardware version; vsphere-csi-node publishes it as the node's maximum.
	VolumeLimit int32 `json:"volumeLimit,omitempty"`
	// VolumeLimitReason explains VolumeLimit.
	VolumeLimitReason string `json:"volumeLimitReason,omitempty"`
	// Conditions say whether the VM was found and whether its host is usable.
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// NodeVM is the placement and health of one Node's VM, kept by cloud-controller from its
// vCenter inventory cache. It has the Node's name and is deleted with the Node.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=nvm
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="VM",type=string,JSONPath=`.status.vmName`
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.status.host.name`
// +kubebuilder:printcolumn:name="Cluster",type=string,JSONPath=`.status.cluster`
// +kubebuilder:printcolumn:name="Power",type=string,JSONPath=`.status.powerState`
// +kubebuilder:printcolumn:name="Tools",type=string,JSONPath=`.status.toolsRunningStatus`
// +kubebuilder:printcolumn:name="Host-State",type=string,JSONPath=`.status.conditions[?(@.type=="HostReady")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type NodeVM struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   NodeVMSpec   `json:"spec,omitempty"`
	Status NodeVMStatus `json:"status,omitempty"`
}

// NodeVMList is a list of NodeVMs.
//
// +kubebuilder:object:root=true
type NodeVMList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NodeVM `json:"items"`
}
