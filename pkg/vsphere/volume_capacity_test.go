package vsphere

import (
	"testing"

	"github.com/vmware/govmomi/vim25/types"
)

func TestVolumeCapacity(t *testing.T) {
	pv := func(key int32) types.BaseVirtualDevice {
		return &types.ParaVirtualSCSIController{VirtualSCSIController: types.VirtualSCSIController{VirtualController: types.VirtualController{VirtualDevice: types.VirtualDevice{Key: key}}}}
	}
	lsiSAS := func(key int32) types.BaseVirtualDevice {
		return &types.VirtualLsiLogicSASController{VirtualSCSIController: types.VirtualSCSIController{VirtualController: types.VirtualController{VirtualDevice: types.VirtualDevice{Key: key}}}}
	}
	disk := func(ctrl int32, fcd bool) types.BaseVirtualDevice {
		d := &types.VirtualDisk{VirtualDevice: types.VirtualDevice{ControllerKey: ctrl}}
		if fcd {
			d.VDiskId = &types.ID{Id: "fcd"}
		}
		return d
	}
	nvme := &types.VirtualNVMEController{VirtualController: types.VirtualController{VirtualDevice: types.VirtualDevice{Key: 31000}}}
	for _, tc := range []struct {
		name    string
		hw      string
		devices []types.BaseVirtualDevice
		high    bool
		want    int32
	}{
		{"boot disk on PVSCSI: upstream's 59", "vmx-19", []types.BaseVirtualDevice{pv(1000), disk(1000, false)}, false, 59},
		{"boot disk on LSI Logic SAS: 3 PVSCSI controllers free", "vmx-19", []types.BaseVirtualDevice{lsiSAS(1000), disk(1000, false)}, false, 45},
		{"volumes already attached do not reduce it", "vmx-19", []types.BaseVirtualDevice{pv(1000), disk(1000, false), disk(1000, true), disk(1000, true)}, false, 59},
		{"vSphere 8 high density, hardware 14+: 4 x 64 - 1", "vmx-20", []types.BaseVirtualDevice{pv(1000), disk(1000, false)}, true, 255},
		{"high density needs hardware 14", "vmx-13", []types.BaseVirtualDevice{pv(1000), disk(1000, false)}, true, 59},
		{"NVMe controllers are not used and not counted", "vmx-21", []types.BaseVirtualDevice{nvme, disk(31000, false)}, false, 60},
		{"four other controllers leave no slot", "vmx-19", []types.BaseVirtualDevice{lsiSAS(1000), lsiSAS(1001), lsiSAS(1002), lsiSAS(1003)}, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := volumeCapacity(tc.hw, tc.devices, tc.high)
			if got.Max != tc.want || got.HardwareVersion != tc.hw || got.Reason == "" {
				t.Errorf("volumeCapacity = %+v, want %d", got, tc.want)
			}
		})
	}
}
