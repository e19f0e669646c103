package strict

import (
	"fmt"
	"slices"
	"strings"
	"time"

	cnsmethods "github.com/vmware/govmomi/cns/methods"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// CnsAttachVolume checks each volume of the batch on its own (a failed volume fails only
// its result), then adds the disks each VM gets with one reconfigure.
func (m *cnsManager) CnsAttachVolume(ctx *simulator.Context, req *cnstypes.CnsAttachVolume) soap.HasFault {
	vctx := ctx.For(vim25.Path)
	stall, maxBatch := m.s.settings()
	work := m.s.attachDuration()
	task := simulator.CreateTask(m, "CnsAttachVolume", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		time.Sleep(work)
		if len(req.AttachSpecs) == 0 || (maxBatch > 0 && len(req.AttachSpecs) > maxBatch) {
			return nil, &types.InvalidArgument{InvalidProperty: "attachSpecs"}
		}
		results := make([]*cnstypes.CnsVolumeAttachResult, len(req.AttachSpecs))
		adds := map[*simulator.VirtualMachine][]int{}
		disks := map[int]*simulator.VStorageObject{}
		for i, spec := range req.AttachSpecs {
			vm, obj, r := m.checkAttach(ctx, vctx, spec, stall)
			if r != nil {
				results[i] = r
				continue
			}
			adds[vm] = append(adds[vm], i)
			disks[i] = obj
		}
		for vm, idx := range adds {
			objs := make([]*simulator.VStorageObject, 0, len(idx))
			for _, i := range idx {
				objs = append(objs, disks[i])
			}
			f := addDisks(vctx, vm, objs)
			for _, i := range idx {
				results[i] = attached(vctx, vm, req.AttachSpecs[i].VolumeId, f)
			}
		}
		res := &cnstypes.CnsVolumeOperationBatchResult{}
		for _, r := range results {
			res.VolumeResults = append(res.VolumeResults, r)
		}
		return res, nil
	})
	return &cnsmethods.CnsAttachVolumeBody{Res: &cnstypes.CnsAttachVolumeResponse{Returnval: task.Run(vctx)}}
}

func volumeFault(id cnstypes.CnsVolumeId, msg string, f types.BaseMethodFault) cnstypes.CnsVolumeOperationResult {
	return cnstypes.CnsVolumeOperationResult{VolumeId: id, Fault: &types.LocalizedMethodFault{Fault: f, LocalizedMessage: msg}}
}

func attachFault(id cnstypes.CnsVolumeId, msg string, f types.BaseMethodFault) *cnstypes.CnsVolumeAttachResult {
	return &cnstypes.CnsVolumeAttachResult{CnsVolumeOperationResult: volumeFault(id, msg, f)}
}

// checkAttach returns the VM and disk of an attach that may proceed, or its fault.
func (m *cnsManager) checkAttach(ctx, vctx *simulator.Context, spec cnstypes.CnsVolumeAttachDetachSpec, stall time.Duration) (*simulator.VirtualMachine, *simulator.VStorageObject, *cnstypes.CnsVolumeAttachResult) {
	id := spec.VolumeId
	vm, ok := vctx.Map.Get(spec.Vm).(*simulator.VirtualMachine)
	if !ok {
		return nil, nil, attachFault(id, "The object has already been deleted or has not been completely created", &types.ManagedObjectNotFound{Obj: spec.Vm})
	}
	ds, obj := fcdOf(vctx, id.Id)
	switch {
	case obj == nil:
		return nil, nil, attachFault(id, "The object or item referred to could not be found", &types.NotFound{})
	case m.s.fcd != nil && m.s.fcd.refused(ds) != nil:
		return nil, nil, attachFault(id, "datastore inaccessible", m.s.fcd.refused(ds))
	case !m.registered(ctx, id.Id):
		return nil, nil, attachFault(id, "The volume is not registered as a CNS volume", &cnstypes.CnsNotRegisteredFault{VolumeId: id})
	}
	for _, h := range holders(vctx, id.Id) {
		if h.Self != vm.Self && poweredOn(vctx, h) {
			time.Sleep(stall) // vCenter retries the lock on the disk file before it gives up
		}
		name := vmName(vctx, h)
		return nil, nil, attachFault(id, fmt.Sprintf("The resource '%s' is in use by VM %s", id.Id, name), &types.ResourceInUse{Type: "VirtualMachine", Name: name})
	}
	return vm, obj, nil
}

// attached is the answer for a volume the reconfigure added (or failed to add, f).
func attached(vctx *simulator.Context, vm *simulator.VirtualMachine, id cnstypes.CnsVolumeId, f types.BaseMethodFault) *cnstypes.CnsVolumeAttachResult {
	if f != nil {
		return attachFault(id, "reconfiguring the VM failed", f)
	}
	disk := deviceOf(vctx, vm, id.Id)
	if disk == nil {
		return attachFault(id, "the disk is not among the VM's devices", &types.SystemError{Reason: "attach"})
	}
	uuid := ""
	if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
		uuid = strings.ToLower(strings.ReplaceAll(b.Uuid, "-", ""))
	}
	return &cnstypes.CnsVolumeAttachResult{CnsVolumeOperationResult: cnstypes.CnsVolumeOperationResult{VolumeId: id}, DiskUUID: uuid}
}

// addDisks adds First Class Disks to the VM with one reconfigure, each in a free SCSI slot.
func addDisks(vctx *simulator.Context, vm *simulator.VirtualMachine, objs []*simulator.VStorageObject) types.BaseMethodFault {
	var spec types.VirtualMachineConfigSpec
	full := false
	vctx.WithLock(vm, func() {
		slots := newSlotAllocator(object.VirtualDeviceList(vm.Config.Hardware.Device))
		for _, obj := range objs {
			ctrl, unit, newCtrl, err := slots.next()
			if err != nil {
				full = true
				return
			}
			if newCtrl != nil {
				spec.DeviceChange = append(spec.DeviceChange, &types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationAdd, Device: newCtrl})
			}
			file := ""
			if b, ok := obj.Config.Backing.(*types.BaseConfigInfoDiskFileBackingInfo); ok {
				file = b.FilePath
			}
			spec.DeviceChange = append(spec.DeviceChange, &types.VirtualDeviceConfigSpec{
				Operation: types.VirtualDeviceConfigSpecOperationAdd,
				Device: &types.VirtualDisk{
					VirtualDevice: types.VirtualDevice{
						Key: slots.newKey(), ControllerKey: ctrl, UnitNumber: &unit,
						Backing: &types.VirtualDiskFlatVer2BackingInfo{
							VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: file},
							DiskMode:                     string(types.VirtualDiskModeIndependent_persistent),
						},
					},
					CapacityInKB: obj.Config.CapacityInMB * 1024,
					VDiskId:      &types.ID{Id: obj.Config.Id.Id},
				},
			})
		}
	})
	if full {
		return &types.NoDiskSpace{} // no free SCSI slot
	}
	return reconfigure(vctx, vm, spec)
}

func reconfigure(vctx *simulator.Context, vm *simulator.VirtualMachine, spec types.VirtualMachineConfigSpec) types.BaseMethodFault {
	// The simulator edits the device list in place (a removal shifts the array), while
	// answers it already handed out (a WaitForUpdatesEx being written) may still hold that
	// array: it would write a list that never was. Each reconfigure starts on a copy.
	vctx.WithLock(vm, func() { vm.Config.Hardware.Device = slices.Clone(vm.Config.Hardware.Device) })
	body, ok := vm.ReconfigVMTask(vctx, &types.ReconfigVM_Task{This: vm.Self, Spec: spec}).(*methods.ReconfigVM_TaskBody)
	if !ok || body.Res == nil {
		return &types.SystemError{Reason: "reconfigure"}
	}
	t, ok := vctx.Map.Get(body.Res.Returnval).(*simulator.Task)
	if !ok {
		return &types.SystemError{Reason: "reconfigure task"}
	}
	t.Wait()
	if t.Info.Error != nil {
		return t.Info.Error.Fault
	}
	return nil
}

// CnsDetachVolume detaches each volume of the batch on its own.
func (m *cnsManager) CnsDetachVolume(ctx *simulator.Context, req *cnstypes.CnsDetachVolume) soap.HasFault {
	vctx := ctx.For(vim25.Path)
	_, maxBatch := m.s.settings()
	task := simulator.CreateTask(m, "CnsDetachVolume", func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
		if len(req.DetachSpecs) == 0 || (maxBatch > 0 && len(req.DetachSpecs) > maxBatch) {
			return nil, &types.InvalidArgument{InvalidProperty: "detachSpecs"}
		}
		res := &cnstypes.CnsVolumeOperationBatchResult{}
		for _, spec := range req.DetachSpecs {
			r := m.detach(vctx, spec)
			res.VolumeResults = append(res.VolumeResults, &r)
		}
		return res, nil
	})
	return &cnsmethods.CnsDetachVolumeBody{Res: &cnstypes.CnsDetachVolumeResponse{Returnval: task.Run(vctx)}}
}

func (m *cnsManager) detach(vctx *simulator.Context, spec cnstypes.CnsVolumeAttachDetachSpec) cnstypes.CnsVolumeOperationResult {
	id := spec.VolumeId
	vm, ok := vctx.Map.Get(spec.Vm).(*simulator.VirtualMachine)
	if !ok {
		return volumeFault(id, "The object has already been deleted or has not been completely created", &types.ManagedObjectNotFound{Obj: spec.Vm})
	}
	disk := deviceOf(vctx, vm, id.Id)
	if disk == nil {
		return volumeFault(id, "The volume is not attached to the VM", &types.NotFound{})
	}
	spec2 := types.VirtualMachineConfigSpec{DeviceChange: []types.BaseVirtualDeviceConfigSpec{
		&types.VirtualDeviceConfigSpec{Operation: types.VirtualDeviceConfigSpecOperationRemove, Device: disk},
	}}
	if f := reconfigure(vctx, vm, spec2); f != nil {
		return volumeFault(id, "reconfiguring the VM failed", f)
	}
	return cnstypes.CnsVolumeOperationResult{VolumeId: id}
}
