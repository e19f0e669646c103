package vsphere

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/vmware/govmomi/cns"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"
)

// An attach task outlives the process that submitted it: killed while CnsAttachVolume
// runs, cloud-controller restarts (or another replica leads) and may be asked to detach
// the volume before that task has added the disk. A detach that read "not attached" then
// would be followed by the old task attaching it: a disk on a VM with no VolumeAttachment,
// which vCenter then refuses to delete. So each attach task is recorded per VM (in the
// create records' store) from when vCenter accepted it to its end, and a detach first
// waits for a recorded attach task on its VM.

func attachRecordName(vm VM) string {
	return strings.ToLower("attach-" + vm.VCenter + "-" + vm.Ref)
}

// recordAttach notes the VM's attach task; a failure is logged (the detach side then
// cannot wait for it, as before records existed).
func (m *Manager) recordAttach(ctx context.Context, vm VM, task string) {
	if m.records == nil {
		return
	}
	if err := m.records.Put(ctx, CreateRecord{Name: attachRecordName(vm), VCenter: vm.VCenter, Task: task}); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot record an attach task", "vmName", vm.Name, "task", task)
	}
}

// attachDone removes the VM's attach record once its task ended.
func (m *Manager) attachDone(ctx context.Context, vm VM) {
	if m.records == nil {
		return
	}
	if err := m.records.Delete(ctx, attachRecordName(vm)); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot delete the record of an ended attach task", "vmName", vm.Name)
	}
}

// awaitRecordedAttach waits for the end of an attach task recorded for the VM (by this or
// an earlier process) before a detach reads the VM's devices. A record that cannot be
// read is an error: the detach could otherwise read "not attached" too early.
func (m *Manager) awaitRecordedAttach(ctx context.Context, c *vCenter, vm VM) error {
	if m.records == nil {
		return nil
	}
	r, found, err := m.records.Get(ctx, attachRecordName(vm))
	if err != nil {
		return fmt.Errorf("%w: reading the attach record of VM %s: %v", ErrUnavailable, vm.Name, err)
	}
	if !found || r.Task == "" || r.VCenter != vm.VCenter {
		return nil
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return err
	}
	klog.FromContext(ctx).Info("Waiting for an attach task before detaching", "vmName", vm.Name, "task", r.Task)
	// Its outcome does not matter here, only that it ended (or that vCenter forgot it).
	_, err = cns.GetTaskInfo(ctx, object.NewTask(client, types.ManagedObjectReference{Type: "Task", Value: r.Task}))
	var failed task.Error
	if err != nil && !errors.As(err, &failed) && !isNotFound(classify(err)) {
		return fmt.Errorf("vCenter %s: waiting for attach task %s of VM %s before detaching: %w", vm.VCenter, r.Task, vm.Name, classify(err))
	}
	m.attachDone(ctx, vm)
	return nil
}
