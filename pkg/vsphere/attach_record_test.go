package vsphere

import (
	"context"
	"sync"
	"testing"
	"time"

	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/vim25/types"
)

// memRecords is an in-memory CreateRecords.
type memRecords struct {
	mu sync.Mutex
	m  map[string]CreateRecord
}

func (r *memRecords) Get(_ context.Context, name string) (CreateRecord, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.m[name]
	return rec, ok, nil
}
func (r *memRecords) Put(_ context.Context, rec CreateRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[rec.Name] = rec
	return nil
}
func (r *memRecords) Delete(_ context.Context, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, name)
	return nil
}

// A process killed while its attach task runs leaves that task behind; the process that
// takes over is asked to detach the volume before the task ends. The detach waits for the
// recorded task and then detaches: the disk does not end up on the VM with nothing in
// Kubernetes to detach it (the crash churn found 3 such disks of 200 before).
func TestDetachWaitsForAnAttachTaskOfAKilledProcess(t *testing.T) {
	env, ds, _, vm := attachEnv(t)
	ctx := context.Background()
	env.mgr.SetCreateRecords(&memRecords{m: map[string]CreateRecord{}})
	id := createDisks(t, env, ds, "pvc-inflight", 1)[0]

	// The killed process: its attach task takes 2 s; it was recorded, then the process died.
	env.cns.SetAttachTime(2 * time.Second)
	cc, _, err := env.mgr.cnsFor(ctx, env.mgr.vcenters[0])
	if err != nil {
		t.Fatal(err)
	}
	task, err := cc.AttachVolume(ctx, []cnstypes.CnsVolumeAttachDetachSpec{{
		VolumeId: cnstypes.CnsVolumeId{Id: id}, Vm: types.ManagedObjectReference{Type: "VirtualMachine", Value: vm.Ref},
	}})
	if err != nil {
		t.Fatal(err)
	}
	env.mgr.recordAttach(ctx, vm, task.Reference().Value)
	env.cns.SetAttachTime(0)

	// The process that took over detaches at once.
	errs, err := env.mgr.DetachDisks(ctx, vm, []string{id})
	if err != nil || errs[id].Err != nil {
		t.Fatalf("detach: %v, %v", errs, err)
	}
	time.Sleep(3 * time.Second) // past the old task's end
	if countDiskOf(t, env, vm, id) {
		t.Fatal("the disk is on the VM after its detach succeeded: the old attach task added it afterwards")
	}
}
