package vsphere

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"
)

// DiskResult is one disk's outcome in an attach or detach batch.
type DiskResult struct {
	// DiskUUID, set by a successful attach, is the virtual disk's UUID as the guest sees
	// it (SCSI page 0x83, which Linux shows as /dev/disk/by-id/wwn-0x<uuid without dashes>).
	DiskUUID string
	// Err is this disk's failure; nil when it succeeded.
	Err error
}

// AttachDisks attaches volumes to a VM with CnsAttachVolume, all of them in one call:
// CNS answers per volume, so one failed or locked volume fails only itself, and the
// batcher retries it alone. CNS picks the SCSI slot (adding none of our own devices), and
// refuses a volume another VM has with ResourceInUse, which is answered with that VM's
// name. Disks the VM already has are reported, not attached again. Each disk's result is
// in the map; the error is for failures of the whole batch.
func (m *Manager) AttachDisks(ctx context.Context, vm VM, diskIDs []string) (map[string]DiskResult, error) {
	m.TrackDisks(vm)
	c, _, cur, err := m.vmDevices(ctx, vm)
	if err != nil {
		return nil, err
	}
	out := map[string]DiskResult{}
	if !diskUUIDEnabled(cur.Config) {
		for _, id := range diskIDs {
			out[id] = DiskResult{Err: fmt.Errorf("%w: VM %s (%s): the guest cannot find disks by UUID; power the VM off, set the advanced setting disk.EnableUUID=TRUE and power it on",
				ErrDiskUUIDDisabled, vm.Name, vm.Ref)}
		}
		return out, nil
	}
	devices := object.VirtualDeviceList(cur.Config.Hardware.Device)
	var pending []string
	for _, id := range diskIDs {
		if disk := findDisk(devices, id, ""); disk != nil {
			out[id] = DiskResult{DiskUUID: formatDiskUUID(diskUUID(disk))}
			continue
		}
		pending = append(pending, id)
	}
	if len(pending) == 0 {
		return out, nil
	}
	res, err := m.cnsBatch(ctx, c, vm, pending, true)
	if err != nil {
		return nil, err
	}
	var readDevices []string // answered without a disk UUID, or in use: the VM's devices decide
	var attached []string
	for _, id := range pending {
		r := res[id]
		switch {
		case r.fault == nil && r.diskUUID != "":
			out[id] = DiskResult{DiskUUID: formatDiskUUID(r.diskUUID)}
			attached = append(attached, id)
		case r.fault == nil, fault.Is(r.fault, &types.ResourceInUse{}):
			readDevices = append(readDevices, id)
		default:
			out[id] = DiskResult{Err: fmt.Errorf("vCenter %s: attaching volume %s to VM %s (%s): %w", vm.VCenter, id, vm.Name, vm.Ref, classify(r.fault))}
		}
	}
	if len(readDevices) > 0 {
		_, _, after, err := m.vmDevicesOf(ctx, c, vm)
		if err != nil {
			return nil, err
		}
		devices = object.VirtualDeviceList(after.Config.Hardware.Device)
		for _, id := range readDevices {
			if disk := findDisk(devices, id, ""); disk != nil {
				out[id] = DiskResult{DiskUUID: formatDiskUUID(diskUUID(disk))}
				attached = append(attached, id)
				continue
			}
			out[id] = DiskResult{Err: m.inUseError(ctx, c, vm, id, res[id].fault)}
		}
	}
	if len(attached) > 0 {
		klog.FromContext(ctx).Info("Attached disks", "vcenter", vm.VCenter, "vm", vm.Ref, "vmName", vm.Name, "volumeIDs", attached)
	}
	return out, nil
}

// inUseError explains why a volume did not attach to vm: the VM vCenter says has it, or
// the fault as it came.
func (m *Manager) inUseError(ctx context.Context, c *vCenter, vm VM, id string, f error) error {
	if f == nil || !fault.Is(f, &types.ResourceInUse{}) {
		return fmt.Errorf("%w: vCenter %s: volume %s attached to VM %s (%s), but the VM has no disk for it", ErrUnavailable, vm.VCenter, id, vm.Name, vm.Ref)
	}
	d, ok := m.catalog.get(id)
	if !ok {
		d = Disk{ID: id, VCenter: c.vc.Name}
	}
	users, err := m.DiskUsers(ctx, d)
	names := make([]string, 0, len(users))
	for _, u := range users {
		names = append(names, u.Name+" ("+u.Ref+")")
	}
	if err != nil || len(names) == 0 {
		return fmt.Errorf("%w: vCenter %s: volume %s is in use elsewhere, it cannot attach to VM %s: %v", ErrInUse, vm.VCenter, id, vm.Name, f)
	}
	return fmt.Errorf("%w: vCenter %s: volume %s is attached to VM %s; it must be detached before it can attach to VM %s", ErrInUse, vm.VCenter, id, strings.Join(names, ", "), vm.Name)
}

// DetachDisks detaches volumes from the VM with CnsDetachVolume, all in one call, keeping
// their disks. A volume the VM does not have (in vCenter's answer now) is already
// detached: success.
func (m *Manager) DetachDisks(ctx context.Context, vm VM, diskIDs []string) (map[string]DiskResult, error) {
	m.TrackDisks(vm)
	c, err := m.vCenterFor(vm.VCenter)
	if err != nil {
		return nil, err
	}
	if err := m.awaitRecordedAttach(ctx, c, vm); err != nil {
		return nil, err
	}
	c, _, cur, err := m.vmDevicesOf(ctx, c, vm)
	if err != nil {
		return nil, err
	}
	devices := object.VirtualDeviceList(cur.Config.Hardware.Device)
	out := map[string]DiskResult{}
	var pending []string
	for _, id := range diskIDs {
		out[id] = DiskResult{}
		if findDisk(devices, id, "") != nil {
			pending = append(pending, id)
		}
	}
	if len(pending) == 0 {
		return out, nil
	}
	res, err := m.cnsBatch(ctx, c, vm, pending, false)
	if err != nil {
		return nil, err
	}
	var check, detached []string
	for _, id := range pending {
		switch f := res[id].fault; {
		case f == nil:
			detached = append(detached, id)
		case fault.Is(f, &types.NotFound{}):
			check = append(check, id)
		default:
			out[id] = DiskResult{Err: fmt.Errorf("vCenter %s: detaching volume %s from VM %s (%s): %w", vm.VCenter, id, vm.Name, vm.Ref, classify(f))}
		}
	}
	if len(check) > 0 { // NotFound: detached only if the VM has no disk for it now
		_, _, after, err := m.vmDevicesOf(ctx, c, vm)
		if err != nil {
			return nil, err
		}
		devices = object.VirtualDeviceList(after.Config.Hardware.Device)
		for _, id := range check {
			if findDisk(devices, id, "") != nil {
				out[id] = DiskResult{Err: fmt.Errorf("%w: vCenter %s: detaching volume %s from VM %s: CNS answered not found, yet the VM has the disk", ErrUnavailable, vm.VCenter, id, vm.Name)}
				continue
			}
			detached = append(detached, id)
		}
	}
	if len(detached) > 0 {
		klog.FromContext(ctx).Info("Detached disks", "vcenter", vm.VCenter, "vm", vm.Ref, "vmName", vm.Name, "volumeIDs", detached)
	}
	return out, nil
}

func (m *Manager) vmDevices(ctx context.Context, vm VM) (*vCenter, *vim25.Client, mo.VirtualMachine, error) {
	c, err := m.vCenterFor(vm.VCenter)
	if err != nil {
		return nil, nil, mo.VirtualMachine{}, err
	}
	return m.vmDevicesOf(ctx, c, vm)
}

// vmDevicesOf reads the VM's devices and extraConfig directly: attach decisions are made
// on vCenter's current state, never on the cache.
func (m *Manager) vmDevicesOf(ctx context.Context, c *vCenter, vm VM) (*vCenter, *vim25.Client, mo.VirtualMachine, error) {
	var out mo.VirtualMachine
	client, err := c.sess.Client(ctx)
	if err != nil {
		return nil, nil, out, err
	}
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: vm.Ref}
	err = property.DefaultCollector(client).RetrieveOne(ctx, ref, []string{"config.hardware.device", "config.extraConfig"}, &out)
	if err != nil {
		return nil, nil, out, fmt.Errorf("vCenter %s: reading devices of VM %s (%s): %w", vm.VCenter, vm.Name, vm.Ref, classify(err))
	}
	if out.Config == nil {
		return nil, nil, out, fmt.Errorf("%w: vCenter %s: VM %s (%s) has no configuration", ErrUnavailable, vm.VCenter, vm.Name, vm.Ref)
	}
	return c, client, out, nil
}

func diskUUIDEnabled(cfg *types.VirtualMachineConfigInfo) bool {
	for _, o := range cfg.ExtraConfig {
		if ov := o.GetOptionValue(); strings.EqualFold(ov.Key, "disk.EnableUUID") {
			v, _ := ov.Value.(string)
			return strings.EqualFold(v, "true")
		}
	}
	return false
}

// findDisk finds the VM's disk for an FCD by vDiskId, or by backing file.
func findDisk(devices object.VirtualDeviceList, id, file string) *types.VirtualDisk {
	for _, dev := range devices {
		disk, ok := dev.(*types.VirtualDisk)
		if !ok {
			continue
		}
		if disk.VDiskId != nil && disk.VDiskId.Id == id {
			return disk
		}
		if b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo); ok && file != "" && b.GetVirtualDeviceFileBackingInfo().FileName == file {
			return disk
		}
	}
	return nil
}

// formatDiskUUID writes a disk UUID as CNS answers it and the node looks it up: lower
// case, no dashes or spaces (upstream's FormatDiskUUID).
func formatDiskUUID(u string) string {
	return strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(u))
}

func diskUUID(disk *types.VirtualDisk) string {
	if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
		return b.Uuid
	}
	return ""
}
