package vsphere

import (
	"context"
	"errors"
	"testing"
)

// A replica that never attached a disk (another replica did, or this one before a
// restart) must still learn from vCenter that a VM uses it: its own watch of node VM disks
// tracks nothing and vouches for nothing.
func TestDiskUsersOnAReplicaThatNeverSawTheAttach(t *testing.T) {
	env, ds := diskEnv(t)
	ctx := context.Background()
	vm, err := env.mgr.FindNodeVM(ctx, NodeQuery{Name: "DC0_H0_VM0"})
	if err != nil {
		t.Fatal(err)
	}
	setEnableUUID(t, env, vm)
	d, err := env.mgr.CreateDisk(ctx, DiskSpec{Name: "pvc-used", Datastore: ds, CapacityMiB: 16})
	if err != nil {
		t.Fatal(err)
	}
	res, err := env.mgr.AttachDisks(ctx, vm, []string{d.ID})
	if err != nil || res[d.ID].Err != nil {
		t.Fatalf("attach: %+v, %v", res, err)
	}

	// The other replica: same vCenter, its inventory read, no disk work done yet.
	other := NewManager(env.cfg, env.mgr.vcenters[0].sess.creds)
	other.vcenters[0].inventory.index = env.mgr.vcenters[0].inventory.index
	users, err := other.DiskUsers(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Ref != vm.Ref || users[0].UUID != vm.UUID {
		t.Fatalf("DiskUsers on the other replica = %+v, want VM %s (%s)", users, vm.Name, vm.Ref)
	}

	// Concurrent callers share reads and all see the VM.
	errs := make(chan error, 20)
	for range 20 {
		go func() {
			u, err := other.DiskUsers(ctx, d)
			if err == nil && len(u) != 1 {
				err = errNoUser
			}
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}

	if _, err := env.mgr.DetachDisks(ctx, vm, []string{d.ID}); err != nil {
		t.Fatal(err)
	}
	if users, err := other.DiskUsers(ctx, d); err != nil || len(users) != 0 {
		t.Errorf("after the detach: %+v, %v; want no VM", users, err)
	}
}

var errNoUser = errors.New("a concurrent DiskUsers did not find the VM")
