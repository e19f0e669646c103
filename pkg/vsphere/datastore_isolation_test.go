package vsphere

import (
	"context"
	"errors"
	"testing"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// One inaccessible datastore affects only the disks on it: a replica that reads its disk
// catalog while the datastore is down still finds and creates disks on the others, a
// disk on the inaccessible one is "unavailable" (never "not found", which would read as
// deleted), and it is found again once the datastore is back.
func TestInaccessibleDatastoreAffectsOnlyItsDisks(t *testing.T) {
	env, dss := twoDatastoreEnv(t)
	ctx := context.Background()
	up, down := dss[0], dss[1]
	d0, err := env.mgr.CreateDisk(ctx, DiskSpec{Name: "pvc-up", Datastore: up, CapacityMiB: 8})
	if err != nil {
		t.Fatal(err)
	}
	d1, err := env.mgr.CreateDisk(ctx, DiskSpec{Name: "pvc-down", Datastore: down, CapacityMiB: 8})
	if err != nil {
		t.Fatal(err)
	}
	env.fcd.SetDatastoreInaccessible(types.ManagedObjectReference{Type: "Datastore", Value: down.Ref}, true)

	other := NewManager(env.cfg, env.mgr.vcenters[0].sess.creds)
	other.vcenters[0].inventory.index = env.mgr.vcenters[0].inventory.index
	if _, err := other.Disk(ctx, d0.ID); err != nil {
		t.Errorf("disk on the accessible datastore: %v", err)
	}
	if _, err := other.Disk(ctx, d1.ID); !errors.Is(err, ErrUnavailable) || isNotFound(err) {
		t.Errorf("disk on the inaccessible datastore: %v; want unavailable, never not found", err)
	}
	if _, err := other.CreateDisk(ctx, DiskSpec{Name: "pvc-new", Datastore: up, CapacityMiB: 8}); err != nil {
		t.Errorf("create on the accessible datastore while another is down: %v", err)
	}
	env.fcd.SetDatastoreInaccessible(types.ManagedObjectReference{Type: "Datastore", Value: down.Ref}, false)
	if d, err := other.Disk(ctx, d1.ID); err != nil || d.ID != d1.ID {
		t.Errorf("disk on the datastore once it is back: %+v, %v", d, err)
	}
}

// twoDatastoreEnv is a simulator with two datastores every host mounts, and the Manager's
// view of them.
func twoDatastoreEnv(t *testing.T) (*simEnv, []Datastore) {
	t.Helper()
	model := simulator.VPX()
	model.Datastore = 2
	env := startSim(t, model, nil)
	dss, err := env.mgr.Datastores(context.Background())
	if err != nil || len(dss) < 2 {
		t.Fatalf("datastores: %v, %v", dss, err)
	}
	return env, dss
}
