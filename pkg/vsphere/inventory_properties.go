package vsphere

import (
	"strings"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vsphere-cloud/provider/pkg/biosuuid"
)

// Property paths the inventory watches. Only these are ever retrieved.
var (
	vmProps = []string{
		"name", "config.uuid", "config.template", "config.guestId", "config.hardware.numCPU",
		"config.hardware.memoryMB", "runtime.powerState", "runtime.host", "guest.hostName", "guest.net",
		"resourcePool", "parent", "datastore", "guest.toolsRunningStatus", "guestHeartbeatStatus",
		"runtime.dasVmProtection", "customValue", "runtime.connectionState",
	}
	hostProps = []string{"name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode", "runtime.inQuarantineMode"}
	// nameProps is all that is read of clusters, resource pools, folders and datastores.
	nameProps = []string{"name"}
	// namedTypes are the types whose names the inventory keeps, to name a VM's placement.
	namedTypes = []string{"ClusterComputeResource", "ResourcePool", "Folder", "Datastore"}
)

// vmRec is what the inventory keeps of a VM: the properties in vmProps (and, for the disk
// watch, config.hardware.device), as vCenter last reported them.
type vmRec struct {
	dc        string
	name      string
	uuid      string
	template  bool
	guestID   string
	numCPU    int32
	memoryMB  int32
	power     PowerState
	host      string
	guestHost string
	nics      []NIC
	// otherIPs are guest addresses on interfaces without a virtual device (bridges, tunnels,
	// loopback aliases: deviceConfigId -1): not NICs, but addresses in use all the same.
	otherIPs   []string
	pool       string
	folder     string
	datastores []string
	tools      string
	heartbeat  string
	haProtect  bool
	custom     map[int32]string
	// connection is runtime.connectionState (connected, disconnected, orphaned,
	// inaccessible, invalid); configLost is true while vCenter cannot read the VM's
	// configuration (it unsets config, e.g. on an all-paths-down datastore): uuid then
	// keeps the last value seen.
	connection string
	configLost bool
	// disks are the VM's virtual disks: FCD ID (vDiskId) when set, and backing file.
	disks []diskRec
}

// diskRec is one virtual disk of a VM.
type diskRec struct {
	fcd  string
	file string
}

// hostRec is what the inventory keeps of an ESXi host: the properties in hostProps.
type hostRec struct {
	dc          string
	name        string
	parentType  string
	parent      string
	connection  string
	maintenance bool
	quarantine  bool
}

// set applies one property change of the VM.
func (r *vmRec) set(c types.PropertyChange) {
	v := changedValue(c)
	switch c.Name {
	case "name":
		r.name, _ = v.(string)
	case "config.uuid":
		s, ok := v.(string)
		if !ok {
			// config unset (vCenter cannot read the VM's files): the VM still exists and
			// keeps the identity it had.
			r.configLost = true
			return
		}
		r.configLost = false
		if n, err := biosuuid.Normalize(s); err == nil {
			s = n
		}
		r.uuid = strings.ToLower(s)
	case "runtime.connectionState":
		cs, _ := v.(types.VirtualMachineConnectionState)
		r.connection = string(cs)
	case "config.template":
		r.template, _ = v.(bool)
	case "config.guestId":
		r.guestID, _ = v.(string)
	case "config.hardware.numCPU":
		r.numCPU, _ = v.(int32)
	case "config.hardware.memoryMB":
		r.memoryMB, _ = v.(int32)
	case "runtime.powerState":
		p, _ := v.(types.VirtualMachinePowerState)
		r.power = PowerState(p)
	case "runtime.host":
		ref, _ := v.(types.ManagedObjectReference)
		r.host = ref.Value
	case "guest.hostName":
		r.guestHost, _ = v.(string)
	case "resourcePool":
		ref, _ := v.(types.ManagedObjectReference)
		r.pool = ref.Type + ":" + ref.Value
	case "parent":
		ref, _ := v.(types.ManagedObjectReference)
		r.folder = ref.Type + ":" + ref.Value
	case "datastore":
		arr, _ := v.(types.ArrayOfManagedObjectReference)
		r.datastores = r.datastores[:0]
		for _, ref := range arr.ManagedObjectReference {
			r.datastores = append(r.datastores, ref.Type+":"+ref.Value)
		}
	case "guest.toolsRunningStatus":
		r.tools, _ = v.(string)
	case "guestHeartbeatStatus":
		h, _ := v.(types.ManagedEntityStatus)
		r.heartbeat = string(h)
	case "customValue":
		arr, _ := v.(types.ArrayOfCustomFieldValue)
		r.custom = map[int32]string{}
		for _, cv := range arr.CustomFieldValue {
			if sv, ok := cv.(*types.CustomFieldStringValue); ok {
				r.custom[sv.Key] = sv.Value
			}
		}
	case "config.hardware.device":
		arr, _ := v.(types.ArrayOfVirtualDevice)
		r.disks = r.disks[:0]
		for _, d := range arr.VirtualDevice {
			disk, ok := d.(*types.VirtualDisk)
			if !ok {
				continue
			}
			rec := diskRec{}
			if disk.VDiskId != nil {
				rec.fcd = disk.VDiskId.Id
			}
			if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok {
				rec.file = b.GetVirtualDeviceFileBackingInfo().FileName
			}
			r.disks = append(r.disks, rec)
		}
	case "runtime.dasVmProtection":
		p, _ := v.(types.VirtualMachineRuntimeInfoDasProtectionState)
		r.haProtect = p.DasProtected
	case "guest.net":
		r.nics, r.otherIPs = nil, nil
		arr, _ := v.(types.ArrayOfGuestNicInfo)
		for _, n := range arr.GuestNicInfo {
			nic := NIC{Network: n.Network, MAC: n.MacAddress, Connected: n.Connected}
			nic.IPs = append(nic.IPs, n.IpAddress...)
			if len(nic.IPs) == 0 && n.IpConfig != nil {
				for _, a := range n.IpConfig.IpAddress {
					nic.IPs = append(nic.IPs, a.IpAddress)
				}
			}
			if n.DeviceConfigId == -1 {
				// Not a virtual NIC (as the upstream provider filters them): never a node
				// address nor a VIP interface, but its addresses are taken.
				r.otherIPs = append(r.otherIPs, nic.IPs...)
				continue
			}
			r.nics = append(r.nics, nic)
		}
	}
}

// set applies one property change of the host.
func (r *hostRec) set(c types.PropertyChange) {
	v := changedValue(c)
	switch c.Name {
	case "name":
		r.name, _ = v.(string)
	case "parent":
		ref, _ := v.(types.ManagedObjectReference)
		r.parentType, r.parent = ref.Type, ref.Value
	case "runtime.connectionState":
		s, _ := v.(types.HostSystemConnectionState)
		r.connection = string(s)
	case "runtime.inMaintenanceMode":
		r.maintenance, _ = v.(bool)
	case "runtime.inQuarantineMode":
		r.quarantine, _ = v.(bool)
	}
}

// changedValue is a property change's new value, nil when the property was removed.
func changedValue(c types.PropertyChange) any {
	if c.Op == types.PropertyChangeOpRemove || c.Op == types.PropertyChangeOpIndirectRemove {
		return nil
	}
	return c.Val
}
