package strict

import (
	"context"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/cns"
	_ "github.com/vmware/govmomi/cns/simulator" // Cloud Native Storage
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vslm"
)

// A First Class Disk created with a backing path is refused with InvalidArgument, as
// vCenter does; without one it is created, and CNS (which asserts the simulator's own
// VStorageObjectManager) still creates volumes.
func TestCreateDiskWithAPathIsRefused(t *testing.T) {
	m := simulator.VPX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	defer m.Remove()
	InstallFCD(m)
	m.Service.RegisterEndpoints = true
	s := m.Service.NewServer()
	defer s.Close()
	ctx := context.Background()
	gc, err := govmomi.NewClient(ctx, s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	c := gc.Client
	ds, err := find.NewFinder(c).DefaultDatastore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	create := func(path string) error {
		task, err := vslm.NewObjectManager(c).CreateDisk(ctx, types.VslmCreateSpec{
			Name: "pvc-1", CapacityInMB: 8,
			BackingSpec: &types.VslmCreateSpecDiskFileBackingSpec{
				VslmCreateSpecBackingSpec: types.VslmCreateSpecBackingSpec{Datastore: ds.Reference(), Path: path},
				ProvisioningType:          string(types.BaseConfigInfoDiskFileBackingInfoProvisioningTypeThin),
			},
		})
		if err == nil {
			_, err = task.WaitForResult(ctx)
		}
		return err
	}
	for _, p := range []string{"fcd/pvc-1.vmdk", "[LocalDS_0] fcd/pvc-1.vmdk", "fcd/"} {
		if err := create(p); !fault.Is(err, &types.InvalidArgument{}) {
			t.Errorf("create with path %q: %v, want InvalidArgument", p, err)
		}
	}
	if err := create(""); err != nil {
		t.Errorf("create without a path: %v", err)
	}
	cc, err := cns.NewClient(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	task, err := cc.CreateVolume(ctx, []cnstypes.CnsVolumeCreateSpec{{
		Name: "pvc-2", VolumeType: string(cnstypes.CnsVolumeTypeBlock), Datastores: []types.ManagedObjectReference{ds.Reference()},
		BackingObjectDetails: &cnstypes.CnsBlockBackingDetails{CnsBackingObjectDetails: cnstypes.CnsBackingObjectDetails{CapacityInMb: 8}},
	}})
	if err == nil {
		var info *types.TaskInfo
		if info, err = cns.GetTaskInfo(ctx, task); err == nil {
			_, err = cns.GetTaskResult(ctx, info)
		}
	}
	if err != nil {
		t.Errorf("CNS create: %v", err)
	}
}
