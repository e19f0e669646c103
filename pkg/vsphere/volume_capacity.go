package vsphere

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// How many volumes a node VM can take. CNS attaches a volume to a paravirtual SCSI
// (PVSCSI) controller and adds one when those present are full, up to vSphere's four SCSI
// controllers per VM; it uses no other controller type (the upstream CSI driver's limits
// page: "each non Paravirtual SCSI controller on the Node VM reduces the max limit for
// block volume per node by 15"). A PVSCSI controller takes 15 disks (units 0-15, unit 7 is
// the controller's own), or 64 (units 0-64 less 7) on VM hardware version 14 or later
// when vCenter's pvscsiCtrlr256DiskSupportEnabled is on (vSphere 8; the upstream driver's
// 255 = 4 x 64 - 1). Disks on PVSCSI controllers that are not volumes (the boot disk)
// take their slots. docs/vcenter-behaviour.md has the evidence.
const (
	maxSCSIControllers = 4
	pvscsiTargets      = 15
	pvscsiTargetsHigh  = 64
	// pvscsiHighMinHardware is the first VM hardware version with 64 PVSCSI targets.
	pvscsiHighMinHardware = 14
)

// VolumeCapacity is how many volumes a VM can have attached, and why.
type VolumeCapacity struct {
	// Max is the number of volumes, at least 1.
	Max int32
	// HardwareVersion is the VM's config.version, such as vmx-19.
	HardwareVersion string
	// Reason explains Max in words.
	Reason string
}

// NodeVolumeCapacity reads the VM's hardware version and devices (one RetrieveProperties)
// and computes its VolumeCapacity. It calls vCenter.
func (m *Manager) NodeVolumeCapacity(ctx context.Context, vcenter, vmRef string) (VolumeCapacity, error) {
	c, client, err := m.sessionFor(ctx, vcenter)
	if err != nil {
		return VolumeCapacity{}, err
	}
	var vm mo.VirtualMachine
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: vmRef}
	if err := property.DefaultCollector(client).RetrieveOne(ctx, ref, []string{"config.version", "config.hardware.device"}, &vm); err != nil {
		return VolumeCapacity{}, fmt.Errorf("vCenter %s: reading the devices of VM %s: %w", vcenter, vmRef, classify(err))
	}
	if vm.Config == nil {
		return VolumeCapacity{}, fmt.Errorf("%w: vCenter %s: VM %s has no readable configuration", ErrUnavailable, vcenter, vmRef)
	}
	return volumeCapacity(vm.Config.Version, vm.Config.Hardware.Device, c.vc.PVSCSI64Targets), nil
}

// volumeCapacity computes the capacity from a VM's hardware version and devices.
func volumeCapacity(hwVersion string, devices []types.BaseVirtualDevice, pvscsi64 bool) VolumeCapacity {
	pv := map[int32]bool{}
	other := 0
	for _, d := range devices {
		switch d.(type) {
		case *types.ParaVirtualSCSIController:
			pv[d.GetVirtualDevice().Key] = true
		case types.BaseVirtualSCSIController:
			other++
		}
	}
	taken := 0 // disks on PVSCSI controllers that are not First Class Disks
	for _, d := range devices {
		if disk, ok := d.(*types.VirtualDisk); ok && pv[disk.ControllerKey] && disk.VDiskId == nil {
			taken++
		}
	}
	per, why := pvscsiTargets, "15 disks per paravirtual SCSI controller"
	hw, _ := strconv.Atoi(strings.TrimPrefix(hwVersion, "vmx-"))
	switch {
	case pvscsi64 && hw >= pvscsiHighMinHardware:
		per, why = pvscsiTargetsHigh, "64 disks per paravirtual SCSI controller (pvscsiCtrlr256DiskSupportEnabled, hardware "+hwVersion+")"
	case pvscsi64:
		why += " (hardware " + hwVersion + " is older than vmx-14, which 64 needs)"
	}
	controllers := maxSCSIControllers - other
	limit := controllers*per - taken
	reason := fmt.Sprintf("%d paravirtual SCSI controllers x %s, less %d other disks on them", controllers, why, taken)
	if other > 0 {
		reason += fmt.Sprintf("; %d other SCSI controllers take their places", other)
	}
	if limit < 1 {
		limit, reason = 1, reason+"; no slot is left for volumes: remove a SCSI controller that is not paravirtual"
	}
	return VolumeCapacity{Max: int32(limit), HardwareVersion: hwVersion, Reason: reason}
}
