package vsphere

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vslm"
)

func attachEnv(t *testing.T) (*simEnv, Datastore, VM, VM) {
	t.Helper()
	env, ds := diskEnv(t)
	var vms []VM
	for _, n := range []string{"DC0_H0_VM0", "DC0_H0_VM1"} {
		vm, err := env.mgr.FindNodeVM(context.Background(), NodeQuery{Name: n})
		if err != nil {
			t.Fatal(err)
		}
		setEnableUUID(t, env, vm)
		vms = append(vms, vm)
	}
	return env, ds, vms[0], vms[1]
}

func createDisks(t *testing.T, env *simEnv, ds Datastore, prefix string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		d, err := env.mgr.CreateDisk(context.Background(), DiskSpec{Name: fmt.Sprintf("%s-%d", prefix, i), Datastore: ds, CapacityMiB: 16})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	return ids
}

// One volume of a batch of ten is open in another, powered-on VM: that volume alone
// fails, naming the VM that has it, and the nine others attach, each with its own disk
// UUID. Before CNS, one reconfigure carried the whole batch, and the simulator attached
// the held disk to a second VM.
func TestLockedVolumeInABatchOfTenFailsAlone(t *testing.T) {
	env, ds, holder, vm := attachEnv(t)
	env.cns.SetLockStall(300 * time.Millisecond)
	ctx := context.Background()
	ids := createDisks(t, env, ds, "pvc-batch", 10)
	locked := ids[3]
	if res, err := env.mgr.AttachDisks(ctx, holder, []string{locked}); err != nil || res[locked].Err != nil {
		t.Fatalf("attach to the holder: %+v, %v", res, err)
	}
	start := time.Now()
	res, err := env.mgr.AttachDisks(ctx, vm, ids)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 300*time.Millisecond {
		t.Errorf("the attach did not stall on the locked disk (%s)", time.Since(start))
	}
	uuids := map[string]bool{}
	for _, id := range ids {
		r := res[id]
		if id == locked {
			if !errors.Is(r.Err, ErrInUse) || !strings.Contains(r.Err.Error(), "attached to VM "+holder.Name+" ("+holder.Ref+")") {
				t.Errorf("locked volume: %v; want ErrInUse naming %s", r.Err, holder.Name)
			}
			continue
		}
		if r.Err != nil || r.DiskUUID == "" || uuids[r.DiskUUID] {
			t.Errorf("volume %s: %+v; want its own disk UUID", id, r)
		}
		uuids[r.DiskUUID] = true
	}
	d, err := env.mgr.Disk(ctx, locked)
	if err != nil {
		t.Fatal(err)
	}
	users, err := env.mgr.DiskUsers(ctx, d)
	if err != nil || len(users) != 1 || users[0].Ref != holder.Ref {
		t.Fatalf("users of the locked volume = %+v, %v; want only %s", users, err, holder.Name)
	}
	// The node finds each disk by the UUID attach answered.
	_, _, cur, err := env.mgr.vmDevices(ctx, vm)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if id == locked {
			continue
		}
		disk := findDisk(cur.Config.Hardware.Device, id, "")
		if disk == nil || formatDiskUUID(diskUUID(disk)) != res[id].DiskUUID {
			t.Errorf("volume %s: device %+v does not carry UUID %s", id, disk, res[id].DiskUUID)
		}
	}
}

// A CNS release that takes one volume per call refuses a batch: each volume then goes in
// its own call, and all attach.
func TestBatchRefusedFallsBackToOneCallPerVolume(t *testing.T) {
	env, ds, _, vm := attachEnv(t)
	env.cns.SetMaxBatch(1)
	ids := createDisks(t, env, ds, "pvc-single", 4)
	res, err := env.mgr.AttachDisks(context.Background(), vm, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if res[id].Err != nil || res[id].DiskUUID == "" {
			t.Errorf("volume %s: %+v", id, res[id])
		}
	}
	errs, err := env.mgr.DetachDisks(context.Background(), vm, ids)
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range errs {
		if r.Err != nil {
			t.Errorf("detach %s: %v", id, r.Err)
		}
	}
}

// A disk made before CNS was the control path (a First Class Disk CNS does not know)
// is registered on its first attach, as upstream re-registers on CnsNotRegisteredFault.
func TestAttachRegistersADiskCNSDidNotKnow(t *testing.T) {
	env, ds, _, vm := attachEnv(t)
	ctx := context.Background()
	c, err := env.mgr.vcenters[0].sess.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	task, err := vslm.NewObjectManager(c).CreateDisk(ctx, types.VslmCreateSpec{
		Name: "legacy", CapacityInMB: 16,
		BackingSpec: &types.VslmCreateSpecDiskFileBackingSpec{VslmCreateSpecBackingSpec: types.VslmCreateSpecBackingSpec{Datastore: dsRef(ds.Ref)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := task.WaitForResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	id := r.Result.(types.VStorageObject).Config.Id.Id
	res, err := env.mgr.AttachDisks(ctx, vm, []string{id})
	if err != nil || res[id].Err != nil || res[id].DiskUUID == "" {
		t.Fatalf("attach of an unregistered disk = %+v, %v", res, err)
	}
}

// vCenter refuses to delete a disk a VM has; the delete fails and the disk stays.
func TestDeleteOfAnAttachedVolumeIsRefused(t *testing.T) {
	env, ds, _, vm := attachEnv(t)
	ctx := context.Background()
	id := createDisks(t, env, ds, "pvc-busy", 1)[0]
	if res, err := env.mgr.AttachDisks(ctx, vm, []string{id}); err != nil || res[id].Err != nil {
		t.Fatalf("attach: %+v, %v", res, err)
	}
	if err := env.mgr.DeleteDisk(ctx, id); err == nil {
		t.Fatal("deleting an attached volume succeeded")
	}
	if _, err := env.mgr.Disk(ctx, id); err != nil {
		t.Fatalf("the disk is gone after a refused delete: %v", err)
	}
}
