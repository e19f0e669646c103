package main

import (
	"fmt"

	"github.com/vmware/govmomi/vim25/types"
)

// bootDisk is the device change that gives a new VM a SCSI controller of kind (pvscsi or
// lsilogic-sas) on bus 0 and a 1 GiB boot disk on its unit 0, as a node VM's template
// has; nothing for an empty kind.
func bootDisk(kind, datastore, vmName string) ([]types.BaseVirtualDeviceConfigSpec, error) {
	scsi := types.VirtualSCSIController{SharedBus: types.VirtualSCSISharingNoSharing, VirtualController: types.VirtualController{
		BusNumber: 0, VirtualDevice: types.VirtualDevice{Key: -100},
	}}
	var ctrl types.BaseVirtualDevice
	switch kind {
	case "":
		return nil, nil
	case "pvscsi":
		ctrl = &types.ParaVirtualSCSIController{VirtualSCSIController: scsi}
	case "lsilogic-sas":
		ctrl = &types.VirtualLsiLogicSASController{VirtualSCSIController: scsi}
	default:
		return nil, fmt.Errorf("bootController %q: use pvscsi or lsilogic-sas", kind)
	}
	disk := &types.VirtualDisk{
		CapacityInKB: 1 << 20,
		VirtualDevice: types.VirtualDevice{
			Key: -101, ControllerKey: -100, UnitNumber: types.NewInt32(0),
			Backing: &types.VirtualDiskFlatVer2BackingInfo{
				DiskMode: string(types.VirtualDiskModePersistent), ThinProvisioned: types.NewBool(true),
				VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: fmt.Sprintf("[%s] %s/%s.vmdk", datastore, vmName, vmName)},
			},
		},
	}
	return []types.BaseVirtualDeviceConfigSpec{
		&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: ctrl},
		&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, FileOperation: types.VirtualDeviceConfigSpecFileOperationCreate, Device: disk},
	}, nil
}
