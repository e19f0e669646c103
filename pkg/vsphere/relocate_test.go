package vsphere

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// A volume's disk moved to another datastore by storage vMotion while attached is still
// found by its ID, detached, attached elsewhere, extended and deleted; nothing reads
// "not found" from its old location. Before, the catalog's stale location answered "not
// found" (a delete reported success and left the disk), and extend went to the old
// datastore.
func TestStorageVMotionOfAnAttachedVolume(t *testing.T) {
	env, dss := twoDatastoreEnv(t)
	ctx := context.Background()
	var vms []VM
	for _, n := range []string{"DC0_H0_VM0", "DC0_H0_VM1"} {
		vm, err := env.mgr.FindNodeVM(ctx, NodeQuery{Name: n})
		if err != nil {
			t.Fatal(err)
		}
		setEnableUUID(t, env, vm)
		vms = append(vms, vm)
	}
	d, err := env.mgr.CreateDisk(ctx, DiskSpec{Name: "pvc-moving", Datastore: dss[0], CapacityMiB: 16})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := env.mgr.AttachDisks(ctx, vms[0], []string{d.ID}); err != nil || res[d.ID].Err != nil {
		t.Fatalf("attach: %+v, %v", res, err)
	}
	relocate(t, env, d, dss[1])

	got, err := env.mgr.Disk(ctx, d.ID)
	if err != nil || got.DatastoreRef != dss[1].Ref {
		t.Fatalf("after the move, Disk = %+v, %v; want it on %s", got, err, dss[1].Name)
	}
	errs, err := env.mgr.DetachDisks(ctx, vms[0], []string{d.ID})
	if err != nil || errs[d.ID].Err != nil || countDiskOf(t, env, vms[0], d.ID) {
		t.Fatalf("detach after the move: %v, %v", errs, err)
	}
	res, err := env.mgr.AttachDisks(ctx, vms[1], []string{d.ID})
	if err != nil || res[d.ID].Err != nil || res[d.ID].DiskUUID == "" {
		t.Fatalf("attach elsewhere after the move: %+v, %v", res, err)
	}
	if _, err := env.mgr.DetachDisks(ctx, vms[1], []string{d.ID}); err != nil {
		t.Fatal(err)
	}
	// A replica whose catalog still has the old location.
	other := NewManager(env.cfg, env.mgr.vcenters[0].sess.creds)
	other.vcenters[0].inventory.index = env.mgr.vcenters[0].inventory.index
	other.catalog.put(d)
	other.catalog.loaded = true
	grown, err := other.ExtendDisk(ctx, d.ID, 32)
	if err != nil || grown.CapacityMiB != 32 {
		t.Fatalf("extend from a stale location: %+v, %v", grown, err)
	}
	if err := other.DeleteDisk(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := env.mgr.Disk(ctx, d.ID); !isNotFound(err) {
		t.Fatalf("after delete, Disk = %v; want not found", err)
	}
}

func relocate(t *testing.T, env *simEnv, d Disk, to Datastore) {
	t.Helper()
	c, err := env.mgr.vcenters[0].sess.Client(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := methods.RelocateVStorageObject_Task(context.Background(), c, &types.RelocateVStorageObject_Task{
		This: *c.ServiceContent.VStorageObjectManager, Id: types.ID{Id: d.ID}, Datastore: dsRef(d.DatastoreRef),
		Spec: types.VslmRelocateSpec{VslmMigrateSpec: types.VslmMigrateSpec{
			BackingSpec: &types.VslmCreateSpecDiskFileBackingSpec{VslmCreateSpecBackingSpec: types.VslmCreateSpecBackingSpec{Datastore: dsRef(to.Ref)}},
		}},
	})
	if err == nil {
		_, err = object.NewTask(c, res.Returnval).WaitForResult(context.Background())
	}
	if err != nil {
		t.Fatalf("relocating disk %s to %s: %v", d.ID, to.Name, err)
	}
}

func countDiskOf(t *testing.T, env *simEnv, vm VM, id string) bool {
	t.Helper()
	_, _, cur, err := env.mgr.vmDevices(context.Background(), vm)
	if err != nil {
		t.Fatal(err)
	}
	return findDisk(cur.Config.Hardware.Device, id, "") != nil
}
