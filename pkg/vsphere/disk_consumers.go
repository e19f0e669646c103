package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/object"
)

// DiskConsumers returns, from the inventory cache, the VMs that have the disk (matched by
// FCD ID or backing file) among their devices. The error is non-nil when some cache is
// not synced and fresh: then an empty answer proves nothing.
func (m *Manager) DiskConsumers(d Disk) ([]VM, error) {
	var out []VM
	var stale error
	for _, c := range m.caches {
		c.mu.RLock()
		st := c.statusLocked()
		if !st.Fresh && stale == nil {
			stale = st.errStale()
		}
		if c.snap != nil && c.vc.Name == d.VCenter {
			for ref, r := range c.snap.vms {
				for _, x := range r.disks {
					if (x.fcd != "" && x.fcd == d.ID) || (d.File != "" && x.file == d.File) {
						out = append(out, c.snap.vm(c.vc.Name, ref))
						break
					}
				}
			}
		}
		c.mu.RUnlock()
	}
	if stale != nil {
		return out, fmt.Errorf("disk %s: attachments not known: %w", d.ID, stale)
	}
	return out, nil
}

// DiskAttachments maps FCD IDs to the BIOS UUIDs of the VMs that have them attached, from
// the inventory cache, for every disk the VMs carry with a vDiskId or a file in files
// (file path -> FCD ID).
func (m *Manager) DiskAttachments(files map[string]string) map[string][]string {
	out := map[string][]string{}
	for _, c := range m.caches {
		c.mu.RLock()
		if c.snap != nil {
			for _, r := range c.snap.vms {
				for _, x := range r.disks {
					id := x.fcd
					if id == "" {
						id = files[x.file]
					}
					if id != "" {
						out[id] = appendOnce(out[id], r.uuid)
					}
				}
			}
		}
		c.mu.RUnlock()
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
