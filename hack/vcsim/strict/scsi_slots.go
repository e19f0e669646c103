package strict

import (
	"errors"
	"sort"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

// maxSCSIControllers and scsiUnits are vSphere's limits: four SCSI controllers per VM,
// units 0-15 on each, 7 reserved for the controller itself.
const (
	maxSCSIControllers = 4
	scsiUnits          = 16
	scsiReservedUnit   = 7
)

var errNoSCSISlot = errors.New("no free SCSI slot: the VM has 4 SCSI controllers with every unit in use")

// slotAllocator hands out free (controller, unit) pairs for new disks, adding
// paravirtual SCSI controllers when the existing ones are full.
type slotAllocator struct {
	devices object.VirtualDeviceList
	ctrls   []int32 // keys, by bus number
	used    map[int32]map[int32]bool
	buses   map[int32]bool
	key     int32
}

func newSlotAllocator(devices object.VirtualDeviceList) *slotAllocator {
	s := &slotAllocator{devices: devices, used: map[int32]map[int32]bool{}, buses: map[int32]bool{}, key: -100}
	type ctrl struct{ key, bus int32 }
	var cs []ctrl
	for _, d := range devices {
		if c, ok := d.(types.BaseVirtualSCSIController); ok {
			vc := c.GetVirtualSCSIController()
			cs = append(cs, ctrl{vc.Key, vc.BusNumber})
			s.used[vc.Key] = map[int32]bool{scsiReservedUnit: true}
			s.buses[vc.BusNumber] = true
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].bus < cs[j].bus })
	for _, c := range cs {
		s.ctrls = append(s.ctrls, c.key)
	}
	for _, d := range devices {
		vd := d.GetVirtualDevice()
		if u, ok := s.used[vd.ControllerKey]; ok && vd.UnitNumber != nil {
			u[*vd.UnitNumber] = true
		}
	}
	return s
}

// next returns a free slot; newCtrl is non-nil when a controller must be added first.
func (s *slotAllocator) next() (ctrlKey, unit int32, newCtrl types.BaseVirtualDevice, err error) {
	for _, k := range s.ctrls {
		for u := int32(0); u < scsiUnits; u++ {
			if !s.used[k][u] {
				s.used[k][u] = true
				return k, u, nil, nil
			}
		}
	}
	if len(s.ctrls) >= maxSCSIControllers {
		return 0, 0, nil, errNoSCSISlot
	}
	bus := int32(0)
	for s.buses[bus] {
		bus++
	}
	c := &types.ParaVirtualSCSIController{VirtualSCSIController: types.VirtualSCSIController{
		SharedBus: types.VirtualSCSISharingNoSharing,
		VirtualController: types.VirtualController{
			BusNumber:     bus,
			VirtualDevice: types.VirtualDevice{Key: s.newKey()},
		},
	}}
	s.buses[bus] = true
	s.ctrls = append(s.ctrls, c.Key)
	s.used[c.Key] = map[int32]bool{scsiReservedUnit: true, 0: true}
	return c.Key, 0, c, nil
}

// newKey returns a temporary negative device key, unique within one reconfigure.
func (s *slotAllocator) newKey() int32 {
	s.key--
	return s.key
}
