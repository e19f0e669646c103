package strict

import (
	"context"

	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

// The simulator's volume queries read its volume map under the CNS endpoint's lock, while
// its tasks write the map under the vim25 registry's lock of the volume manager: a query
// during a create is a concurrent map read and write, which ends the process (1,000
// claims at once did). Queries here take the tasks' lock.

// CnsQueryVolume queries under the lock the volume manager's tasks hold.
func (m *cnsManager) CnsQueryVolume(ctx *simulator.Context, req *cnstypes.CnsQueryVolume) soap.HasFault {
	var out soap.HasFault
	ctx.For(vim25.Path).WithLock(m.Reference(), func() { out = m.CnsVolumeManager.CnsQueryVolume(context.Context(ctx), req) })
	return out
}

// CnsQueryAllVolume queries under the lock the volume manager's tasks hold.
func (m *cnsManager) CnsQueryAllVolume(ctx *simulator.Context, req *cnstypes.CnsQueryAllVolume) soap.HasFault {
	var out soap.HasFault
	ctx.For(vim25.Path).WithLock(m.Reference(), func() { out = m.CnsVolumeManager.CnsQueryAllVolume(context.Context(ctx), req) })
	return out
}
