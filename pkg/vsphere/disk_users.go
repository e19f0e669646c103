package vsphere

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// DiskUsers asks vCenter, now, which VMs of the disk's datacenter have the disk among their
// devices (by FCD ID or backing file). It reads every VM, not only the node VMs this
// process watches, so that a replica that never saw an attach, or one that restarted since,
// still finds it. Any doubt is an error: vCenter not answering, the datacenter not in the
// inventory, a VM whose devices cannot be read (inaccessible files).
//
// Deletes that arrive together share one read of the datacenter's VMs (a read that started
// after they arrived), so a thousand deletes cost a few reads, not a thousand.
func (m *Manager) DiskUsers(ctx context.Context, d Disk) ([]VM, error) {
	c, err := m.vCenterFor(d.VCenter)
	if err != nil {
		return nil, err
	}
	dcRef := ""
	c.inventory.read(func(idx *inventoryIndex, _ CacheStatus) {
		if idx != nil {
			dcRef = idx.dcRefs[d.Datacenter]
		}
	})
	if dcRef == "" {
		return nil, fmt.Errorf("%w: vCenter %s: datacenter %q of disk %s is not in the inventory; cannot tell who uses it", ErrUnavailable, c.vc.Name, d.Datacenter, d.ID)
	}
	vms, err := c.deviceScans.get(ctx, dcRef, time.Now(), func(ctx context.Context) ([]mo.VirtualMachine, error) {
		return c.readDevices(ctx, dcRef)
	})
	if err != nil {
		return nil, fmt.Errorf("disk %s: cannot tell which VMs use it: %w", d.ID, err)
	}
	var out []VM
	for _, vm := range vms {
		if vm.Config == nil {
			return nil, fmt.Errorf("%w: disk %s: the devices of VM %s (%s) in vCenter %s cannot be read (its files may be inaccessible); it may use the disk",
				ErrUnavailable, d.ID, vm.Name, vm.Self.Value, c.vc.Name)
		}
		if findDisk(object.VirtualDeviceList(vm.Config.Hardware.Device), d.ID, d.File) != nil {
			out = append(out, VM{VCenter: c.vc.Name, Ref: vm.Self.Value, Name: vm.Name, UUID: vm.Config.Uuid})
		}
	}
	return out, nil
}

// readDevices reads the name, BIOS UUID and devices of every VM in the datacenter.
func (c *vCenter) readDevices(ctx context.Context, dcRef string) ([]mo.VirtualMachine, error) {
	client, err := c.sess.Client(ctx)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.inv.CallTimeout*4)
	defer cancel()
	v, err := view.NewManager(client).CreateContainerView(ctx, types.ManagedObjectReference{Type: "Datacenter", Value: dcRef}, []string{"VirtualMachine"}, true)
	if err != nil {
		return nil, fmt.Errorf("vCenter %s: %w", c.vc.Name, classify(err))
	}
	defer func() { _ = v.Destroy(context.WithoutCancel(ctx)) }()
	var vms []mo.VirtualMachine
	if err := v.Retrieve(ctx, []string{"VirtualMachine"}, []string{"name", "config.uuid", "config.hardware.device"}, &vms); err != nil {
		return nil, fmt.Errorf("vCenter %s: reading the devices of the VMs in datacenter %s: %w", c.vc.Name, dcRef, classify(err))
	}
	return vms, nil
}

// deviceScans coalesces reads of a datacenter's VM devices: a caller joins a read that
// started after it arrived, or starts one.
type deviceScans struct {
	mu  sync.Mutex
	cur map[string]*deviceScan // datacenter ref -> read in flight
}

type deviceScan struct {
	started time.Time
	done    chan struct{}
	vms     []mo.VirtualMachine
	err     error
}

func (s *deviceScans) get(ctx context.Context, dc string, since time.Time, read func(context.Context) ([]mo.VirtualMachine, error)) ([]mo.VirtualMachine, error) {
	for {
		s.mu.Lock()
		if s.cur == nil {
			s.cur = map[string]*deviceScan{}
		}
		cur := s.cur[dc]
		if cur == nil {
			cur = &deviceScan{started: time.Now(), done: make(chan struct{})}
			s.cur[dc] = cur
			go func() {
				cur.vms, cur.err = read(context.WithoutCancel(ctx))
				s.mu.Lock()
				delete(s.cur, dc)
				s.mu.Unlock()
				close(cur.done)
			}()
		}
		s.mu.Unlock()
		select {
		case <-cur.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
		}
		if !cur.started.Before(since) {
			return cur.vms, cur.err
		}
		// That read started before this caller arrived: it may miss an attach made since.
	}
}
