package vsphere

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/vmware/govmomi/cns"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"
)

// cnsVolResult is CNS's answer for one volume of an attach or detach.
type cnsVolResult struct {
	diskUUID string // attach only
	fault    error  // the volume's own fault, testable with fault.Is
}

// cnsBatch attaches (or detaches) volumes to one VM. A disk CNS does not know (created
// before CNS was the control path) is registered and tried once more, as upstream does
// on CnsNotRegisteredFault. The error is for the whole call; each volume's fault is in
// its result.
func (m *Manager) cnsBatch(ctx context.Context, c *vCenter, vm VM, ids []string, attach bool) (map[string]cnsVolResult, error) {
	out, err := m.cnsSubmitBatch(ctx, c, vm, ids, attach)
	if err != nil {
		verb := map[bool]string{true: "attaching volumes to", false: "detaching volumes from"}[attach]
		return nil, fmt.Errorf("vCenter %s: %s VM %s (%s): %w", vm.VCenter, verb, vm.Name, vm.Ref, classify(err))
	}
	var again []string
	for _, id := range ids {
		if !fault.Is(out[id].fault, &cnstypes.CnsNotRegisteredFault{}) {
			continue
		}
		name := id
		if d, ok := m.catalog.get(id); ok && d.Name != "" {
			name = d.Name
		}
		if err := m.cnsImport(ctx, c, id, name); err != nil {
			out[id] = cnsVolResult{fault: err}
			continue
		}
		klog.FromContext(ctx).Info("Registered a disk CNS did not know as a volume", "vcenter", vm.VCenter, "volumeID", id)
		again = append(again, id)
	}
	if len(again) > 0 {
		res, err := m.cnsSubmitBatch(ctx, c, vm, again, attach)
		for _, id := range again {
			if err != nil {
				out[id] = cnsVolResult{fault: err}
			} else {
				out[id] = res[id]
			}
		}
	}
	return out, nil
}

// cnsSubmitBatch sends all volumes in one call. A CNS release that takes one volume per
// call refuses the list with InvalidArgument: then each volume goes in its own call, all
// at once.
func (m *Manager) cnsSubmitBatch(ctx context.Context, c *vCenter, vm VM, ids []string, attach bool) (map[string]cnsVolResult, error) {
	out, err := m.cnsCall(ctx, c, vm, ids, attach)
	if err == nil || len(ids) == 1 || !fault.Is(err, &types.InvalidArgument{}) {
		return out, err
	}
	klog.FromContext(ctx).V(2).Info("CNS refused a batch; one call per volume", "vcenter", vm.VCenter, "vmName", vm.Name, "volumes", len(ids), "err", err)
	out = map[string]cnsVolResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			res, err := m.cnsCall(ctx, c, vm, []string{id}, attach)
			r := res[id]
			if err != nil {
				r = cnsVolResult{fault: err}
			}
			mu.Lock()
			out[id] = r
			mu.Unlock()
		})
	}
	wg.Wait()
	return out, nil
}

// cnsCall is one CnsAttachVolume or CnsDetachVolume and its per-volume answers.
func (m *Manager) cnsCall(ctx context.Context, c *vCenter, vm VM, ids []string, attach bool) (map[string]cnsVolResult, error) {
	cc, _, err := m.cnsFor(ctx, c)
	if err != nil {
		return nil, err
	}
	ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: vm.Ref}
	specs := make([]cnstypes.CnsVolumeAttachDetachSpec, 0, len(ids))
	for _, id := range ids {
		specs = append(specs, cnstypes.CnsVolumeAttachDetachSpec{VolumeId: cnstypes.CnsVolumeId{Id: id}, Vm: ref})
	}
	var t *object.Task
	if attach {
		t, err = cc.AttachVolume(ctx, specs)
	} else {
		t, err = cc.DetachVolume(ctx, specs)
	}
	if err != nil {
		return nil, err
	}
	if attach {
		m.recordAttach(ctx, vm, t.Reference().Value)
	}
	info, err := cns.GetTaskInfo(ctx, t)
	var failed task.Error
	if attach && (err == nil || errors.As(err, &failed)) {
		m.attachDone(ctx, vm) // the task ended, whatever its outcome
	}
	if err != nil {
		return nil, err
	}
	results, err := cns.GetTaskResultArray(ctx, info)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the result of task %s: %v", ErrUnavailable, t.Reference().Value, err)
	}
	out := map[string]cnsVolResult{}
	for _, r := range results {
		v := r.GetCnsVolumeOperationResult()
		var vr cnsVolResult
		if v.Fault != nil {
			vr.fault = task.Error{LocalizedMethodFault: v.Fault}
		}
		if a, ok := r.(*cnstypes.CnsVolumeAttachResult); ok {
			vr.diskUUID = a.DiskUUID
		}
		out[v.VolumeId.Id] = vr
	}
	for _, id := range ids {
		if _, ok := out[id]; !ok {
			out[id] = cnsVolResult{fault: fmt.Errorf("%w: task %s answered nothing for volume %s", ErrUnavailable, t.Reference().Value, id)}
		}
	}
	return out, nil
}
