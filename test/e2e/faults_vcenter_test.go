package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vsphere-cloud/provider/test/framework"
)

// vcenterBehaviours are the rows of the fault matrix that the strict simulator plays
// (hack/vcsim, docs/vcenter-behaviour.md): what a real vCenter does that govmomi's
// simulator never would. Each is switched on when the operations start and off after
// the window. The bystander Node is NotReady during every row, so a row that hides or
// breaks its VM asks whether that is taken as proof that the VM is gone.
var vcenterBehaviours = []matrixFault{
	{
		name: "bystander's VM inaccessible (all paths down)",
		on: func(t *testing.T, w *faultWorld) {
			w.must(t, w.sim.SetVMInaccessible(context.Background(), "bystander", true))
		},
		off: func(t *testing.T, w *faultWorld) {
			w.must(t, w.sim.SetVMInaccessible(context.Background(), "bystander", false))
		},
	},
	{
		name: "bystander's VM hidden from the account",
		on:   func(t *testing.T, w *faultWorld) { w.must(t, w.sim.HideVM(context.Background(), "bystander", true)) },
		off:  func(t *testing.T, w *faultWorld) { w.must(t, w.sim.HideVM(context.Background(), "bystander", false)) },
	},
	{
		name: "worker-0's host enters maintenance (evacuation 4 s), exits after",
		on: func(t *testing.T, w *faultWorld) {
			_, err := w.sim.EnterMaintenance(context.Background(), w.hostOf(t, "worker-0"), 4*time.Second)
			w.must(t, err)
		},
		off: func(t *testing.T, w *faultWorld) {
			w.must(t, w.sim.ExitMaintenance(context.Background(), w.hostOf(t, "worker-0")))
		},
	},
	{
		name: "worker-0's host starts entering maintenance, the enter is cancelled",
		on: func(t *testing.T, w *faultWorld) {
			task, err := w.sim.EnterMaintenance(context.Background(), w.hostOf(t, "worker-0"), time.Minute)
			w.must(t, err)
			w.task = task
		},
		off: func(t *testing.T, w *faultWorld) {
			ctx := context.Background()
			c, err := w.sim.Client(ctx)
			w.must(t, err)
			w.must(t, object.NewTask(c, types.ManagedObjectReference{Type: "Task", Value: w.task}).Cancel(ctx))
		},
	},
	{
		name: "vCenter's clock 1 h ahead",
		on:   func(t *testing.T, w *faultWorld) { w.must(t, w.sim.SetClockOffset(context.Background(), time.Hour)) },
		off:  func(t *testing.T, w *faultWorld) { w.must(t, w.sim.SetClockOffset(context.Background(), 0)) },
	},
	{
		name: "vCenter's clock 1 h behind",
		on:   func(t *testing.T, w *faultWorld) { w.must(t, w.sim.SetClockOffset(context.Background(), -time.Hour)) },
		off:  func(t *testing.T, w *faultWorld) { w.must(t, w.sim.SetClockOffset(context.Background(), 0)) },
	},
	{
		// The Secret holds a wrong password and vCenter ends the sessions: every loop
		// wants a new login, and vCenter SSO (hack/vcsim) locks the account after 5
		// failures in 180 s. On clearing, the account must still be usable, and the fixed
		// Secret is tried at once.
		name:  "wrong password in the Secret, sessions ended",
		proxy: framework.Fault{Kind: framework.FaultNotAuthenticated},
		on: func(t *testing.T, w *faultWorld) {
			w.must(t, framework.SetCredentials(context.Background(), w.cp, "127.0.0.1", framework.SimUser, "wrong-Pa55word"))
		},
		off: func(t *testing.T, w *faultWorld) {
			ctx := context.Background()
			if _, err := w.sim.Client(ctx); err != nil {
				t.Errorf("the account is locked after the wrong password: %v", err)
			}
			w.must(t, framework.EnsureCredentials(ctx, w.cp, "127.0.0.1"))
		},
	},
}

func (w *faultWorld) must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// hostOf is the name of the ESXi host the VM runs on, asked of the simulator directly.
func (w *faultWorld) hostOf(t *testing.T, vm string) string {
	t.Helper()
	ctx := context.Background()
	c, err := w.sim.Client(ctx)
	w.must(t, err)
	v, err := framework.FindVM(ctx, c, "/DC0/vm/"+vm)
	w.must(t, err)
	h, err := v.HostSystem(ctx)
	w.must(t, err)
	name, err := h.ObjectName(ctx)
	w.must(t, err)
	return name
}
