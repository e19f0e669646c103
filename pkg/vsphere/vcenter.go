package vsphere

import (
	"context"
	"time"

	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"

	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// vCenter is everything the Manager keeps for one configured vCenter. It owns one Session
// and the parts that use it, each a small type that guards its own state:
//
//   - sess, the logged-in session every call goes through (session.go);
//   - inventory, the inventory watch and the index it keeps (inventory*.go), which reads
//     the zone and region tags through tags once per resync (tags.go);
//   - events, the event watch (events.go, event_watch.go), which keeps entering, the
//     marks of hosts entering maintenance, current (maintenance.go);
//   - marks, the node marks this process set (node_mark.go);
//   - gone, the VMs that left the inventory, to prove their absence (absence.go);
//   - disks, the watch of the node VMs' disks (disk_watch.go);
//   - cns and deviceScans, the volume calls' CNS client and shared device reads.
//
// changes, the function Manager.OnChange registered, is shared by the inventory and
// event watches. Methods of vCenter read each part through that part's own methods and
// hold no lock across a call to vCenter.
type vCenter struct {
	vc  config.VCenterConfig
	inv config.InventoryConfig

	sess      *Session
	inventory *inventory
	tags      *tagReader
	events    *eventWatch
	entering  enteringHosts
	marks     nodeMarks
	gone      *departures
	disks     *diskWatch
	changes   *changeListener

	// cns is the session's Cloud Native Storage client.
	cns cnsClients
	// deviceScans coalesces DiskUsers' reads of VM devices.
	deviceScans deviceScans
}

// newVCenter builds the parts for vc. Nothing connects until start.
func newVCenter(vc config.VCenterConfig, creds CredentialSource, cfg *config.Config) *vCenter {
	sess := NewSession(vc, creds, cfg.Inventory.CallTimeout)
	c := &vCenter{
		vc: vc, inv: cfg.Inventory, sess: sess, gone: newDepartures(), changes: &changeListener{},
		tags: &tagReader{sess: sess, zoneCategory: cfg.ZoneCategory, regionCategory: cfg.RegionCategory},
	}
	c.inventory = newInventory(vc, cfg.Inventory, sess, c.tags, c.gone, c.changes)
	c.events = &eventWatch{vcenter: vc.Name, sess: sess, cfg: cfg.Inventory, now: time.Now, entering: &c.entering, changes: c.changes}
	c.disks = newDiskWatch(vc.Name, sess, cfg.Inventory)
	return c
}

// start runs the inventory watch until ctx ends, then logs out, and the disk watch. It
// returns at once. The event watch runs only when asked for (Manager.WatchEvents).
func (c *vCenter) start(ctx context.Context) {
	go func() {
		c.inventory.run(ctx)
		c.sess.Close(context.WithoutCancel(ctx))
	}()
	go c.disks.run(ctx)
}

// datacenters resolves the configured datacenters (all when none are configured).
func (c *vCenter) datacenters(ctx context.Context, client *vim25.Client) ([]mo.Datacenter, error) {
	return configuredDatacenters(ctx, client, c.vc)
}

// lookup returns the VMs of this vCenter that k names, and the inventory's status.
func (c *vCenter) lookup(k lookupKey) ([]VM, CacheStatus) {
	markKey, markKnown := c.marks.fieldKey()
	var out []VM
	var streamed []bool // whether out[i].NodeMark came from the property stream
	var st CacheStatus
	c.inventory.read(func(idx *inventoryIndex, s CacheStatus) {
		st = s
		if idx == nil {
			return
		}
		refs := idx.find(k)
		out, streamed = make([]VM, 0, len(refs)), make([]bool, 0, len(refs))
		for _, r := range refs {
			vm := idx.vm(c.vc.Name, r)
			mark, ok := "", false
			if markKnown {
				mark, ok = idx.customValue(r, markKey)
			}
			vm.NodeMark = mark
			out, streamed = append(out, vm), append(streamed, ok)
		}
	})
	for i := range out {
		vm := &out[i]
		if markKnown && !streamed[i] {
			vm.NodeMark = c.marks.setBy(vm.Ref)
		}
		vm.HostEnteringMaintenance = c.entering.has(vm.HostRef) && !vm.HostInMaintenance
		vm.Fresh = st.Fresh
		if !st.Fresh {
			vm.Stale = st.errStale()
		}
	}
	return out, st
}

// markOf is the VM's node mark: from the property stream when it carries the attribute,
// else the last value this process set (the simulator does not publish SetField; vCenter
// does, and then the stream wins). It is empty while the attribute's key or the
// inventory is unknown.
func (c *vCenter) markOf(vmRef string) string {
	key, known := c.marks.fieldKey()
	if !known {
		return ""
	}
	synced, mark, streamed := false, "", false
	c.inventory.read(func(idx *inventoryIndex, _ CacheStatus) {
		if idx != nil {
			synced = true
			mark, streamed = idx.customValue(vmRef, key)
		}
	})
	switch {
	case !synced:
		return ""
	case streamed:
		return mark
	default:
		return c.marks.setBy(vmRef)
	}
}
