package vsphere

import (
	"strings"

	"github.com/vsphere-cloud/provider/pkg/biosuuid"

	"github.com/vmware/govmomi/vim25/types"
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

type diskRec struct {
	fcd  string
	file string
}

type hostRec struct {
	dc          string
	name        string
	parentType  string
	parent      string
	connection  string
	maintenance bool
	quarantine  bool
}

// snapshot is one vCenter's inventory with its indexes. It is guarded by the owning
// cache's lock.
type snapshot struct {
	vms    map[string]*vmRec
	hosts  map[string]*hostRec
	names  map[string]string // "Type:Value" of clusters, pools, folders, datastores -> name
	byUUID map[string][]string
	byName map[string][]string
	byHost map[string][]string // lower-case guest hostname -> refs
	// byShortHost indexes guest FQDNs by their first label, for nodes named by short name.
	byShortHost map[string][]string
	byIP        map[string][]string
	// unidentified holds the VMs (by ref) whose BIOS UUID was never readable: any of them
	// could be the VM a UUID lookup misses.
	unidentified map[string]bool
	// left, when set, is told of every VM with a known UUID that leaves the inventory,
	// and back of every VM that enters it.
	left, back func(uuid, ref string)
	// tags maps "Type:Value" of an object to its zone and region tag names.
	zones   map[string]string
	regions map[string]string
	dcRefs  map[string]string // datacenter name -> ref
}

func newSnapshot() *snapshot {
	return &snapshot{
		vms: map[string]*vmRec{}, hosts: map[string]*hostRec{}, names: map[string]string{},
		byUUID: map[string][]string{}, byName: map[string][]string{}, byHost: map[string][]string{}, byShortHost: map[string][]string{},
		byIP: map[string][]string{}, zones: map[string]string{}, regions: map[string]string{},
		dcRefs: map[string]string{}, unidentified: map[string]bool{},
	}
}

// apply merges one object update from the datacenter dc.
func (s *snapshot) apply(dc string, u types.ObjectUpdate) {
	ref := u.Obj.Value
	switch u.Obj.Type {
	case "VirtualMachine":
		if old, ok := s.vms[ref]; ok {
			s.unindex(ref, old)
		}
		if u.Kind == types.ObjectUpdateKindLeave {
			if old := s.vms[ref]; old != nil && s.left != nil {
				s.left(old.uuid, ref)
			}
			delete(s.vms, ref)
			return
		}
		r := s.vms[ref]
		entered := r == nil
		if entered {
			r = &vmRec{dc: dc}
			s.vms[ref] = r
		}
		for _, c := range u.ChangeSet {
			r.set(c)
		}
		s.index(ref, r)
		if entered && s.back != nil && r.uuid != "" {
			s.back(r.uuid, ref)
		}
	case "HostSystem":
		if u.Kind == types.ObjectUpdateKindLeave {
			delete(s.hosts, ref)
			return
		}
		r := s.hosts[ref]
		if r == nil {
			r = &hostRec{dc: dc}
			s.hosts[ref] = r
		}
		for _, c := range u.ChangeSet {
			r.set(c)
		}
	default:
		key := u.Obj.Type + ":" + ref
		if u.Kind == types.ObjectUpdateKindLeave {
			delete(s.names, key)
			return
		}
		for _, c := range u.ChangeSet {
			if c.Name == "name" {
				s.names[key], _ = c.Val.(string)
			}
		}
	}
}

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

func (s *snapshot) index(ref string, r *vmRec) {
	if r.uuid == "" {
		s.unidentified[ref] = true
	}
	if r.template {
		return
	}
	if r.uuid != "" {
		s.byUUID[r.uuid] = appendOnce(s.byUUID[r.uuid], ref)
	}
	if r.name != "" {
		k := strings.ToLower(r.name)
		s.byName[k] = appendOnce(s.byName[k], ref)
	}
	if r.guestHost != "" {
		k := strings.ToLower(r.guestHost)
		s.byHost[k] = appendOnce(s.byHost[k], ref)
		if short, _, ok := strings.Cut(k, "."); ok {
			s.byShortHost[short] = appendOnce(s.byShortHost[short], ref)
		}
	}
	for _, n := range r.nics {
		for _, ip := range n.IPs {
			s.byIP[ip] = appendOnce(s.byIP[ip], ref)
		}
	}
	for _, ip := range r.otherIPs {
		s.byIP[ip] = appendOnce(s.byIP[ip], ref)
	}
}

func (s *snapshot) unindex(ref string, r *vmRec) {
	delete(s.unidentified, ref)
	remove(s.byUUID, r.uuid, ref)
	remove(s.byName, strings.ToLower(r.name), ref)
	remove(s.byHost, strings.ToLower(r.guestHost), ref)
	if short, _, ok := strings.Cut(strings.ToLower(r.guestHost), "."); ok {
		remove(s.byShortHost, short, ref)
	}
	for _, n := range r.nics {
		for _, ip := range n.IPs {
			remove(s.byIP, ip, ref)
		}
	}
	for _, ip := range r.otherIPs {
		remove(s.byIP, ip, ref)
	}
}

// vm builds the domain value for ref.
func (s *snapshot) vm(vcenter, ref string) VM {
	r := s.vms[ref]
	out := VM{
		VCenter: vcenter, Datacenter: r.dc, Ref: ref, Name: r.name, UUID: r.uuid,
		PowerState: r.power, GuestHostname: r.guestHost, GuestID: r.guestID,
		NumCPU: r.numCPU, MemoryMB: r.memoryMB, HostRef: r.host,
		ResourcePool: s.names[r.pool], Folder: s.names[r.folder],
		ToolsRunningStatus: r.tools, GuestHeartbeat: r.heartbeat, HAProtected: r.haProtect,
		ConnectionState: r.connection, ConfigUnreadable: r.configLost,
	}
	for _, ds := range r.datastores {
		out.Datastores = append(out.Datastores, s.names[ds])
	}
	for _, n := range r.nics {
		n.IPs = append([]string(nil), n.IPs...)
		out.NICs = append(out.NICs, n)
	}
	// Nearest tag wins: VM, then host, then cluster, then datacenter.
	chain := []string{"VirtualMachine:" + ref}
	if h, ok := s.hosts[r.host]; ok {
		out.Host = h.name
		out.HostConnection, out.HostInMaintenance, out.HostInQuarantine = h.connection, h.maintenance, h.quarantine
		chain = append(chain, "HostSystem:"+r.host)
		if h.parentType == "ClusterComputeResource" {
			out.Cluster = s.names["ClusterComputeResource:"+h.parent]
			chain = append(chain, "ClusterComputeResource:"+h.parent)
		}
	}
	if dcRef, ok := s.dcRefs[r.dc]; ok {
		chain = append(chain, "Datacenter:"+dcRef)
	}
	for _, k := range chain {
		if out.Zone == "" {
			out.Zone = s.zones[k]
		}
		if out.Region == "" {
			out.Region = s.regions[k]
		}
	}
	return out
}

func appendOnce(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func remove(m map[string][]string, key, v string) {
	list := m[key]
	for i, x := range list {
		if x == v {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(m, key)
	} else {
		m[key] = list
	}
}

// changedValue is a property change's new value, nil when the property was removed.
func changedValue(c types.PropertyChange) any {
	if c.Op == types.PropertyChangeOpRemove || c.Op == types.PropertyChangeOpIndirectRemove {
		return nil
	}
	return c.Val
}
