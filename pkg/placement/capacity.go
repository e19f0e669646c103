package placement

import (
	"context"
	"time"

	"k8s.io/klog/v2"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// capacityRetry is how long a VM whose devices could not be read waits before the next
// read.
const capacityRetry = time.Minute

// capacityMemo remembers each VM's volume capacity: its devices are read once per VM
// (one vCenter request per node VM and cloud-controller start), since CNS adds the
// controllers it needs itself and the limit counts them in advance.
type capacityMemo struct {
	known  map[string]vsphere.VolumeCapacity
	failed map[string]time.Time
}

// setVolumeCapacity fills the volume limit of st for vm, reading the VM's devices the
// first time; on failure it keeps prev's figures and tries again after capacityRetry.
func (c *Controller) setVolumeCapacity(ctx context.Context, st *v1alpha1.NodeVMStatus, prev v1alpha1.NodeVMStatus, vm vsphere.VM) {
	key := vm.VCenter + "/" + vm.Ref
	c.mu.Lock()
	vc, ok := c.capacity.known[key]
	last, failed := c.capacity.failed[key]
	c.mu.Unlock()
	// Only with a fresh cache: a vCenter known to be unreachable would hold the worker
	// for a call timeout.
	if !ok && vm.Fresh && (!failed || time.Since(last) >= capacityRetry) {
		var err error
		vc, err = c.inv.NodeVolumeCapacity(ctx, vm.VCenter, vm.Ref)
		c.mu.Lock()
		if err != nil {
			c.capacity.failed[key] = time.Now()
		} else {
			c.capacity.known[key], ok = vc, true
			delete(c.capacity.failed, key)
		}
		c.mu.Unlock()
		if err != nil {
			klog.FromContext(ctx).Error(err, "Cannot read the node VM's devices for its volume limit; retrying", "vm", vm.Ref, "retryIn", capacityRetry)
		}
	}
	if !ok {
		st.HardwareVersion, st.VolumeLimit, st.VolumeLimitReason = prev.HardwareVersion, prev.VolumeLimit, prev.VolumeLimitReason
		return
	}
	st.HardwareVersion, st.VolumeLimit, st.VolumeLimitReason = vc.HardwareVersion, vc.Max, vc.Reason
}
