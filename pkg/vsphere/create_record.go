package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
	"k8s.io/klog/v2"
)

// recordedCreate finds the volume an earlier create of name made, from its record: the
// volume ID, or the end of its task (waited for). ok is false when there is no record,
// the task failed, or vCenter no longer knows the task (tasks expire; the lookup by name
// in CNS comes next). A record that cannot be read is an error: creating without knowing
// could make a second volume.
func (m *Manager) recordedCreate(ctx context.Context, c *vCenter, name string) (id string, ok bool, err error) {
	if m.records == nil {
		return "", false, nil
	}
	r, found, err := m.records.Get(ctx, name)
	if err != nil {
		return "", false, fmt.Errorf("%w: reading the create record of volume %s: %w", ErrUnavailable, name, err)
	}
	switch {
	case !found || r.Error != "":
		return "", false, nil
	case r.VolumeID != "":
		return r.VolumeID, true, nil
	case r.Task == "" || r.VCenter != c.vc.Name:
		return "", false, nil
	}
	client, err := c.sess.Client(ctx)
	if err != nil {
		return "", false, err
	}
	log := klog.FromContext(ctx).WithValues("volumeName", name, "vcenter", c.vc.Name, "task", r.Task)
	log.Info("Waiting for the create task an earlier attempt submitted")
	res, err := cnsResult(ctx, object.NewTask(client, types.ManagedObjectReference{Type: "Task", Value: r.Task}))
	switch {
	case isNotFound(err):
		log.Info("vCenter no longer knows the task; looking the volume up by name")
		return "", false, nil
	case err != nil && ctx.Err() != nil:
		return "", false, err
	case err != nil:
		r.Error = err.Error()
		m.putRecord(ctx, r)
		log.Info("The earlier create failed; creating again", "err", err)
		return "", false, nil
	}
	r.VolumeID = res.GetCnsVolumeOperationResult().VolumeId.Id
	m.putRecord(ctx, r)
	return r.VolumeID, true, nil
}

// putRecord writes a create record; a failure is logged: the task goes on either way, and
// the lookup by name in CNS remains.
func (m *Manager) putRecord(ctx context.Context, r CreateRecord) {
	if m.records == nil {
		return
	}
	if err := m.records.Put(ctx, r); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot write the create record of a volume", "volumeName", r.Name, "task", r.Task)
	}
}

// dropRecord removes the create record of a deleted volume.
func (m *Manager) dropRecord(ctx context.Context, name string) {
	if m.records == nil || name == "" {
		return
	}
	if err := m.records.Delete(ctx, name); err != nil {
		klog.FromContext(ctx).Error(err, "Cannot delete the create record of a deleted volume", "volumeName", name)
	}
}
