package vsphere

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/vmware/govmomi/object"
	_ "github.com/vmware/govmomi/pbm/simulator" // storage policies
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func diskEnv(t *testing.T) (*simEnv, Datastore) {
	t.Helper()
	env := startSim(t, simulator.VPX(), nil)
	dss, err := env.mgr.Datastores(context.Background())
	if err != nil || len(dss) == 0 {
		t.Fatalf("Datastores() = %v, %v", dss, err)
	}
	return env, dss[0]
}

func TestCreateDiskIsIdempotentByName(t *testing.T) {
	env, ds := diskEnv(t)
	ctx := context.Background()
	spec := DiskSpec{Name: "pvc-1", Datastore: ds, CapacityMiB: 64}
	d1, err := env.mgr.CreateDisk(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	// keepAfterDeleteVm is what keeps a volume when its node VM is deleted; vSphere
	// honours it, govmomi's simulator only records it (deleting a VM there never touches
	// FCD files), so only the flag can be checked here.
	if !d1.KeepAfterDeleteVM || d1.File == "" || d1.CapacityMiB != 64 {
		t.Errorf("disk = %+v: want keepAfterDeleteVm, a file and 64 MiB", d1)
	}
	d2, err := env.mgr.CreateDisk(ctx, spec)
	if err != nil || d2.ID != d1.ID {
		t.Fatalf("second create = %s, %v; want %s", d2.ID, err, d1.ID)
	}

	// Another replica whose catalog was read before pvc-1 existed: its create hits the
	// disk's fixed file and adopts the disk instead of making a second one.
	other := NewManager(env.cfg, env.mgr.vcenters[0].sess.creds)
	other.vcenters[0].inventory.index = env.mgr.vcenters[0].inventory.index
	other.catalog.loaded = true
	d3, err := other.CreateDisk(ctx, spec)
	if err != nil || d3.ID != d1.ID {
		t.Fatalf("create on a stale replica = %s, %v; want %s", d3.ID, err, d1.ID)
	}

	// Ten concurrent creates of a new name on a fresh catalog: one disk.
	fresh := NewManager(env.cfg, env.mgr.vcenters[0].sess.creds)
	fresh.vcenters[0].inventory.index = env.mgr.vcenters[0].inventory.index
	fresh.catalog.loaded = true
	ids := make([]string, 10)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := fresh.CreateDisk(ctx, DiskSpec{Name: "pvc-2", Datastore: ds, CapacityMiB: 8})
			if err != nil {
				t.Error(err)
			}
			ids[i] = d.ID
		}()
	}
	wg.Wait()
	all, err := env.mgr.Disks(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, d := range all {
		if d.Name == "pvc-2" {
			named++
		}
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Errorf("concurrent creates returned %v", ids)
			break
		}
	}
	if named != 1 {
		t.Errorf("%d disks named pvc-2, want 1", named)
	}
}

func TestAttachDetachThroughCNS(t *testing.T) {
	env, ds := diskEnv(t)
	ctx := context.Background()
	vm, err := env.mgr.FindNodeVM(ctx, NodeQuery{Name: "DC0_H0_VM0"})
	if err != nil {
		t.Fatal(err)
	}
	env.mgr.TrackDisks(vm)
	var ids []string
	for _, n := range []string{"pvc-a", "pvc-b", "pvc-c"} {
		d, err := env.mgr.CreateDisk(ctx, DiskSpec{Name: n, Datastore: ds, CapacityMiB: 16})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}

	res, err := env.mgr.AttachDisks(ctx, vm, ids[:1])
	if err != nil || !errors.Is(res[ids[0]].Err, ErrDiskUUIDDisabled) {
		t.Fatalf("attach without disk.EnableUUID = %+v, %v; want ErrDiskUUIDDisabled", res, err)
	}
	setEnableUUID(t, env, vm)

	before := countDisks(t, env, vm)
	res, err = env.mgr.AttachDisks(ctx, vm, ids)
	if err != nil {
		t.Fatal(err)
	}
	uuids := map[string]bool{}
	for _, id := range ids {
		if res[id].Err != nil || res[id].DiskUUID == "" {
			t.Fatalf("attach %s = %+v", id, res[id])
		}
		uuids[res[id].DiskUUID] = true
	}
	if len(uuids) != 3 || countDisks(t, env, vm) != before+3 {
		t.Fatalf("three attaches gave %d UUIDs and %d new devices", len(uuids), countDisks(t, env, vm)-before)
	}
	again, err := env.mgr.AttachDisks(ctx, vm, ids[:1])
	if err != nil || again[ids[0]].DiskUUID != res[ids[0]].DiskUUID || countDisks(t, env, vm) != before+3 {
		t.Fatalf("re-attach = %+v, %v; want the same UUID and no new device", again, err)
	}
	d0, _ := env.mgr.Disk(ctx, ids[0])
	eventually(t, 5e9, func() bool { c, _ := env.mgr.DiskConsumers(d0); return len(c) == 1 && c[0].Ref == vm.Ref })

	errs, err := env.mgr.DetachDisks(ctx, vm, ids)
	if err != nil || errs[ids[0]].Err != nil || countDisks(t, env, vm) != before {
		t.Fatalf("detach = %v, %v; %d devices left", errs, err, countDisks(t, env, vm)-before)
	}
	if _, err := env.mgr.Disk(ctx, ids[0]); err != nil {
		t.Fatalf("disk gone after detach: %v", err)
	}
	if errs, err := env.mgr.DetachDisks(ctx, vm, ids); err != nil || errs[ids[0]].Err != nil {
		t.Fatalf("second detach = %v, %v; want success", errs, err)
	}
	if err := env.mgr.DeleteDisk(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := env.mgr.Disk(ctx, ids[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted disk: %v, want ErrNotFound", err)
	}
	if err := env.mgr.DeleteDisk(ctx, ids[0]); err != nil {
		t.Fatalf("deleting an absent disk: %v", err)
	}
}

func TestDiskExtendSnapshotAndPolicy(t *testing.T) {
	env, ds := diskEnv(t)
	ctx := context.Background()
	d, err := env.mgr.CreateDisk(ctx, DiskSpec{Name: "pvc-x", Datastore: ds, CapacityMiB: 16})
	if err != nil {
		t.Fatal(err)
	}
	if d, err = env.mgr.ExtendDisk(ctx, d.ID, 32); err != nil || d.CapacityMiB != 32 {
		t.Fatalf("extend = %d MiB, %v", d.CapacityMiB, err)
	}
	s, err := env.mgr.CreateDiskSnapshot(ctx, d.ID, "snap-1")
	if err != nil {
		t.Fatal(err)
	}
	snaps, err := env.mgr.DiskSnapshots(ctx, d.ID)
	if err != nil || len(snaps) != 1 || snaps[0].ID != s.ID || snaps[0].Description != "snap-1" {
		t.Fatalf("snapshots = %+v, %v", snaps, err)
	}
	if err := env.mgr.DeleteDiskSnapshot(ctx, d.ID, s.ID); err != nil {
		t.Fatal(err)
	}
	if err := env.mgr.DeleteDiskSnapshot(ctx, d.ID, s.ID); err != nil {
		t.Fatalf("deleting an absent snapshot: %v", err)
	}
	if err := env.mgr.DeleteDiskSnapshot(ctx, "00000000-0000-0000-0000-000000000000", s.ID); err != nil {
		t.Fatalf("deleting a snapshot of an absent disk: %v", err)
	}

	id, ok, err := env.mgr.StoragePolicyID(ctx, "sim", "vSAN Default Storage Policy", []string{ds.Ref})
	if err != nil || id == "" || !ok[ds.Ref] {
		t.Fatalf("policy = %q, %v, %v", id, ok, err)
	}
	if _, _, err := env.mgr.StoragePolicyID(ctx, "sim", "no-such-policy", []string{ds.Ref}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown policy: %v, want ErrNotFound", err)
	}
}

func setEnableUUID(t *testing.T, env *simEnv, vm VM) {
	t.Helper()
	c, err := env.mgr.vcenters[0].sess.Client(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	obj := object.NewVirtualMachine(c, types.ManagedObjectReference{Type: "VirtualMachine", Value: vm.Ref})
	task, err := obj.Reconfigure(context.Background(), types.VirtualMachineConfigSpec{
		ExtraConfig: []types.BaseOptionValue{&types.OptionValue{Key: "disk.EnableUUID", Value: "TRUE"}},
	})
	if err == nil {
		err = task.Wait(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
}

func countDisks(t *testing.T, env *simEnv, vm VM) int {
	t.Helper()
	_, _, cur, err := env.mgr.vmDevices(context.Background(), vm)
	if err != nil {
		t.Fatal(err)
	}
	return len(object.VirtualDeviceList(cur.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)))
}
