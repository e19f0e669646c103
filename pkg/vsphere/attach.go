package vsphere

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"
)

// Attachment is the outcome of attaching one disk.
type Attachment struct {
	// DiskUUID is the virtual disk's UUID as the guest sees it (SCSI page 0x83, which
	// Linux shows as /dev/disk/by-id/wwn-0x<uuid without dashes>).
	DiskUUID string
	Err      error
}

// AttachDisks attaches First Class Disks to a VM with one ReconfigVM_Task that adds a
// VirtualDisk per disk, backed by the disk's file and carrying its vDiskId. On vCenter
// 6.7 and later, adding a device whose backing is an FCD's file attaches that FCD: vCenter
// records the VM as the disk's consumer, keeps the FCD identity (so DetachDisk, deletion
// protection and vSphere's own views agree) and refuses to attach a disk a running VM
// already has open elsewhere (the file is locked). Unlike AttachDisk_Task, one reconfigure
// can carry many disks, which is what lets pending attaches for one VM share a task.
// Disks already attached are reported, not added again. Each disk's result is in the
// map; the error is for failures of the whole batch.
func (m *Manager) AttachDisks(ctx context.Context, vm VM, diskIDs []string) (map[string]Attachment, error) {
	m.TrackDisks(vm)
	c, client, cur, err := m.vmDevices(ctx, vm)
	if err != nil {
		return nil, err
	}
	out := map[string]Attachment{}
	if !diskUUIDEnabled(cur.Config) {
		for _, id := range diskIDs {
			out[id] = Attachment{Err: fmt.Errorf("%w: VM %s (%s): the guest cannot find disks by UUID; power the VM off, set the advanced setting disk.EnableUUID=TRUE and power it on",
				ErrDiskUUIDDisabled, vm.Name, vm.Ref)}
		}
		return out, nil
	}
	devices := object.VirtualDeviceList(cur.Config.Hardware.Device)
	spec := types.VirtualMachineConfigSpec{}
	slots := newSlotAllocator(devices)
	var added []string
	known := map[string]Disk{}
	for _, id := range diskIDs {
		d, err := m.Disk(ctx, id)
		if err != nil {
			out[id] = Attachment{Err: err}
			continue
		}
		if d.VCenter != vm.VCenter {
			out[id] = Attachment{Err: fmt.Errorf("%w: disk %s is in vCenter %s, VM %s in vCenter %s", ErrNotFound, id, d.VCenter, vm.Name, vm.VCenter)}
			continue
		}
		if disk := findDisk(devices, d.ID, d.File); disk != nil {
			out[id] = Attachment{DiskUUID: diskUUID(disk)}
			continue
		}
		ctrlKey, unit, newCtrl, err := slots.next()
		if err != nil {
			out[id] = Attachment{Err: fmt.Errorf("VM %s: %w", vm.Name, err)}
			continue
		}
		if newCtrl != nil {
			spec.DeviceChange = append(spec.DeviceChange, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: newCtrl})
		}
		disk := &types.VirtualDisk{
			VirtualDevice: types.VirtualDevice{
				Key: slots.newKey(), ControllerKey: ctrlKey, UnitNumber: &unit,
				Backing: &types.VirtualDiskFlatVer2BackingInfo{
					VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: d.File},
					// Independent: VM snapshots and reverts neither capture nor roll back
					// a volume, which belongs to the cluster, not to the VM.
					DiskMode: string(types.VirtualDiskModeIndependent_persistent),
				},
			},
			CapacityInKB: d.CapacityMiB * 1024,
			VDiskId:      &types.ID{Id: d.ID},
		}
		spec.DeviceChange = append(spec.DeviceChange, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: disk})
		added = append(added, id)
		known[id] = d
	}
	if len(added) == 0 {
		return out, nil
	}
	log := klog.FromContext(ctx).WithValues("vcenter", vm.VCenter, "vm", vm.Name, "vmRef", vm.Ref)
	if err := reconfigure(ctx, client, vm, spec); err != nil {
		for _, id := range added {
			out[id] = Attachment{Err: err}
		}
		return out, nil
	}
	_, _, after, err := m.vmDevicesOf(ctx, c, vm)
	if err != nil {
		return nil, err
	}
	devices = object.VirtualDeviceList(after.Config.Hardware.Device)
	for _, id := range added {
		d := known[id]
		disk := findDisk(devices, d.ID, d.File)
		if disk == nil {
			out[id] = Attachment{Err: fmt.Errorf("%w: VM %s reconfigured, but disk %s is not among its devices", ErrUnavailable, vm.Name, id)}
			continue
		}
		out[id] = Attachment{DiskUUID: diskUUID(disk)}
	}
	log.Info("Attached disks", "disks", added)
	return out, nil
}

// DetachDisks removes the disks' devices from the VM with one reconfigure, keeping the
// files. A disk the VM does not have is already detached: success.
func (m *Manager) DetachDisks(ctx context.Context, vm VM, diskIDs []string) (map[string]error, error) {
	m.TrackDisks(vm)
	_, client, cur, err := m.vmDevices(ctx, vm)
	if err != nil {
		return nil, err
	}
	devices := object.VirtualDeviceList(cur.Config.Hardware.Device)
	out := map[string]error{}
	spec := types.VirtualMachineConfigSpec{}
	var removed []string
	for _, id := range diskIDs {
		file := ""
		if d, ok := m.catalog.get(id); ok {
			file = d.File
		}
		disk := findDisk(devices, id, file)
		out[id] = nil
		if disk == nil {
			continue
		}
		// No FileOperation: the device goes, the disk file stays.
		spec.DeviceChange = append(spec.DeviceChange, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationRemove, Device: disk})
		removed = append(removed, id)
	}
	if len(removed) == 0 {
		return out, nil
	}
	if err := reconfigure(ctx, client, vm, spec); err != nil {
		for _, id := range removed {
			out[id] = err
		}
		return out, nil
	}
	klog.FromContext(ctx).Info("Detached disks", "vcenter", vm.VCenter, "vm", vm.Name, "vmRef", vm.Ref, "disks", removed)
	return out, nil
}

func (m *Manager) vmDevices(ctx context.Context, vm VM) (*cache, *vim25.Client, mo.VirtualMachine, error) {
	c, err := m.cacheFor(vm.VCenter)
	if err != nil {
		return nil, nil, mo.VirtualMachine{}, err
	}
	return m.vmDevicesOf(ctx, c, vm)
}

// vmDevicesOf reads the VM's devices and extraConfig directly: attach decisions are made
// on vCenter's current state, never on the cache.
func (m *Manager) vmDevicesOf(ctx context.Context, c *cache, vm VM) (*cache, *vim25.Client, mo.VirtualMachine, error) {
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

func reconfigure(ctx context.Context, client *vim25.Client, vm VM, spec types.VirtualMachineConfigSpec) error {
	obj := object.NewVirtualMachine(client, types.ManagedObjectReference{Type: "VirtualMachine", Value: vm.Ref})
	task, err := obj.Reconfigure(ctx, spec)
	if err == nil {
		_, err = task.WaitForResult(ctx)
	}
	if err != nil {
		return fmt.Errorf("vCenter %s: reconfiguring VM %s (%s): %w", vm.VCenter, vm.Name, vm.Ref, classify(err))
	}
	return nil
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

func diskUUID(disk *types.VirtualDisk) string {
	if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
		return b.Uuid
	}
	return ""
}
