package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/object"
)

// DiskConsumers returns the node VMs that have the disk (matched by FCD ID or backing
// file) among their devices, from the disk watch of node VMs (see diskWatch). The error
// is non-nil when the watch or the inventory cannot vouch: then an empty answer proves
// nothing.
func (m *Manager) DiskConsumers(d Disk) ([]VM, error) {
	var out []VM
	var stale error
	for _, c := range m.vcenters {
		if c.vc.Name != d.VCenter {
			continue
		}
		if err := c.disks.status(); err != nil {
			stale = err
		}
		refs := c.disks.holding(d)
		c.inventory.read(func(idx *inventoryIndex, st CacheStatus) {
			if !st.Fresh && stale == nil {
				stale = st.errStale()
			}
			for _, ref := range refs {
				if idx != nil && idx.vms[ref] != nil {
					out = append(out, idx.vm(c.vc.Name, ref))
				} else {
					out = append(out, VM{VCenter: c.vc.Name, Ref: ref, Name: ref})
				}
			}
		})
	}
	if stale != nil {
		return out, fmt.Errorf("disk %s: attachments not known: %w", d.ID, stale)
	}
	return out, nil
}

// DiskAttachments maps FCD IDs to the BIOS UUIDs of the node VMs that have them attached,
// from the disk watch, for every disk they carry with a vDiskId or a file in files (file
// path -> FCD ID).
func (m *Manager) DiskAttachments(files map[string]string) map[string][]string {
	out := map[string][]string{}
	for _, c := range m.vcenters {
		c.disks.mu.Lock()
		byVM := make(map[string][]diskRec, len(c.disks.disks))
		for k, v := range c.disks.disks {
			byVM[k] = v
		}
		c.disks.mu.Unlock()
		c.inventory.read(func(idx *inventoryIndex, _ CacheStatus) {
			for ref, disks := range byVM {
				uuid := ref
				if idx != nil && idx.vms[ref] != nil {
					uuid = idx.vms[ref].uuid
				}
				for _, x := range disks {
					id := x.fcd
					if id == "" {
						id = files[x.file]
					}
					if id != "" {
						out[id] = appendOnce(out[id], uuid)
					}
				}
			}
		})
	}
	return out
}

// ConfirmConsumers re-reads, from vCenter, the devices of the VMs the cache named as the
// disk's consumers and returns those that really have it: the cache lags behind a detach
// this process just made.
func (m *Manager) ConfirmConsumers(ctx context.Context, d Disk, vms []VM) ([]VM, error) {
	var out []VM
	for _, vm := range vms {
		_, _, cur, err := m.vmDevices(ctx, vm)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if findDisk(object.VirtualDeviceList(cur.Config.Hardware.Device), d.ID, d.File) != nil {
			out = append(out, vm)
		}
	}
	return out, nil
}
