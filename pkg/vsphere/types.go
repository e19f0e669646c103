package vsphere

import "time"

// PowerState is a VM's power state as vSphere names it.
type PowerState string

// Power states.
const (
	PoweredOn  PowerState = "poweredOn"
	PoweredOff PowerState = "poweredOff"
	Suspended  PowerState = "suspended"
)

// NIC is one guest network adapter as VMware Tools reports it.
type NIC struct {
	// Network is the port group name.
	Network   string
	MAC       string
	IPs       []string
	Connected bool
}

// VM is a snapshot of one virtual machine from the inventory cache. It is a copy: callers
// may keep and change it.
type VM struct {
	// VCenter is the configuration key of the vCenter that holds the VM.
	VCenter    string
	Datacenter string
	// Ref is the managed object ID, such as vm-42.
	Ref  string
	Name string
	// UUID is the BIOS UUID (config.uuid), lower case.
	UUID          string
	PowerState    PowerState
	GuestHostname string
	GuestID       string
	NumCPU        int32
	MemoryMB      int32
	NICs          []NIC
	// Host is the name of the ESXi host running the VM; HostRef its managed object ID.
	Host    string
	HostRef string
	// HostConnection is the host's connection state (connected, disconnected,
	// notResponding); HostInMaintenance and HostInQuarantine its modes.
	HostConnection    string
	HostInMaintenance bool
	HostInQuarantine  bool
	// HostEnteringMaintenance is true between vCenter's EnteringMaintenanceModeEvent and
	// the host reaching (or leaving) maintenance mode; only WatchEvents sets it.
	HostEnteringMaintenance bool
	// Cluster is the vSphere cluster of the host, empty for a standalone host;
	// ClusterRef its managed object ID.
	Cluster    string
	ClusterRef string
	// ResourcePool and Folder are names; Datastores the names of the VM's datastores.
	ResourcePool string
	Folder       string
	Datastores   []string
	// ToolsRunningStatus is VMware Tools' state (guestToolsRunning, ...), GuestHeartbeat
	// the heartbeat colour, HAProtected whether vSphere HA protects the VM.
	ToolsRunningStatus string
	GuestHeartbeat     string
	HAProtected        bool
	// ConnectionState is the VM's runtime.connectionState: connected, or disconnected,
	// orphaned, inaccessible or invalid, in which cases its power state and
	// configuration are not current.
	ConnectionState string
	// ConfigUnreadable is true while vCenter cannot read the VM's configuration (for
	// example its datastore is all-paths-down); UUID is then the last one seen.
	ConfigUnreadable bool
	// Zone and Region are the names of the tags in the configured categories, found on
	// the VM, its host, its cluster or its datacenter (nearest first); empty if none.
	Zone   string
	Region string
	// NodeMark is the value of the NodeMarkField custom attribute ("<cluster>/<node>"),
	// empty when unset or not yet known.
	NodeMark string
	// Fresh is false when the cache that holds the VM cannot vouch for its current state
	// (vCenter unreachable, watch broken, or not heard from within the freshness limit).
	// Such a VM certainly existed; its other fields may be out of date.
	Fresh bool
	// Stale explains why Fresh is false; nil otherwise.
	Stale error
}

// CacheStatus says whether a vCenter's inventory cache can be trusted.
type CacheStatus struct {
	VCenter string
	// Synced is true once a complete inventory has been read.
	Synced bool
	// LastContact is when vCenter last answered the watch.
	LastContact time.Time
	// LastResync is when the last complete inventory was read.
	LastResync time.Time
	// Fresh is true when Synced and LastContact is within the freshness limit.
	Fresh bool
	// LastError is the last watch error, nil after a success.
	LastError error
}
