package vsphere

import (
	"context"
	"fmt"

	"github.com/vmware/govmomi/cns"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/task"
)

// cnsResult waits for a CNS task on one volume and returns its result. CNS reports a
// failure in two places: the task's own error, and the volume's result's fault; both come
// back classified (a NotFound is ErrNotFound, anything unknown ErrUnavailable).
func cnsResult(ctx context.Context, t *object.Task) (cnstypes.BaseCnsVolumeOperationResult, error) {
	info, err := cns.GetTaskInfo(ctx, t)
	if err != nil {
		return nil, classify(err)
	}
	res, err := cns.GetTaskResult(ctx, info)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the result of task %s: %v", ErrUnavailable, t.Reference().Value, err)
	}
	if f := res.GetCnsVolumeOperationResult().Fault; f != nil {
		return res, classify(task.Error{LocalizedMethodFault: f})
	}
	return res, nil
}
