package vsphere

import (
	"strings"

	"github.com/vmware/govmomi/vim25/types"
)

// inventoryIndex is one vCenter's inventory, as the inventory watch read it, with its
// lookup indexes. A published index is read and changed only under the owning
// inventory's lock (see inventory); the watch fills a new one without a lock until it
// publishes it.
type inventoryIndex struct {
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

// newInventoryIndex returns an empty index.
func newInventoryIndex() *inventoryIndex {
	return &inventoryIndex{
		vms: map[string]*vmRec{}, hosts: map[string]*hostRec{}, names: map[string]string{},
		byUUID: map[string][]string{}, byName: map[string][]string{}, byHost: map[string][]string{}, byShortHost: map[string][]string{},
		byIP: map[string][]string{}, zones: map[string]string{}, regions: map[string]string{},
		dcRefs: map[string]string{}, unidentified: map[string]bool{},
	}
}

// apply merges one object update from the datacenter dc.
func (s *inventoryIndex) apply(dc string, u types.ObjectUpdate) {
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

// index adds the VM ref to the lookup indexes (templates only to unidentified).
func (s *inventoryIndex) index(ref string, r *vmRec) {
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

// unindex removes the VM ref, as r describes it, from the lookup indexes.
func (s *inventoryIndex) unindex(ref string, r *vmRec) {
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

// find returns the refs of the VMs that k names. The slice belongs to the index: read it
// under the same lock.
func (s *inventoryIndex) find(k lookupKey) []string {
	switch k.kind {
	case keyUUID:
		return s.byUUID[k.value]
	case keyName:
		return s.byName[k.value]
	case keyHostname:
		if refs := s.byHost[k.value]; len(refs) > 0 {
			return refs
		}
		return s.byShortHost[k.value] // a node named by its short name, a guest reporting its FQDN
	case keyIP:
		return s.byIP[k.value]
	}
	return nil
}

// customValue is the VM's value of the custom attribute key as the property stream last
// carried it; ok is false when the VM or the value is not in the index.
func (s *inventoryIndex) customValue(ref string, key int32) (v string, ok bool) {
	r := s.vms[ref]
	if r == nil {
		return "", false
	}
	v, ok = r.custom[key]
	return v, ok
}

// vm builds the domain value for ref.
func (s *inventoryIndex) vm(vcenter, ref string) VM {
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
			out.Cluster, out.ClusterRef = s.names["ClusterComputeResource:"+h.parent], h.parent
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

// appendOnce appends v to list unless list holds it.
func appendOnce(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// remove takes v out of m[key], and key out of m when nothing is left.
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
