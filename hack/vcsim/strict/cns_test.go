package strict

import (
	"context"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/cns"
	cnstypes "github.com/vmware/govmomi/cns/types"
	"github.com/vmware/govmomi/fault"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// A disk moved by storage vMotion keeps its CNS volume: CNS lists it on the new datastore
// and deletes it; an attached volume is not deleted (ResourceInUse). This also fails if a
// govmomi release renames the CNS simulator's field the move relies on.
func TestRelocateMovesTheCNSRecord(t *testing.T) {
	m := simulator.VPX()
	m.Datastore = 2
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	defer m.Remove()
	InstallCNS(m, InstallFCD(m))
	m.Service.RegisterEndpoints = true
	s := m.Service.NewServer()
	defer s.Close()
	ctx := context.Background()
	gc, err := govmomi.NewClient(ctx, s.URL, true)
	if err != nil {
		t.Fatal(err)
	}
	c := gc.Client
	cc, err := cns.NewClient(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	finder := find.NewFinder(c, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dss, err := finder.SetDatacenter(dc).DatastoreList(ctx, "*")
	if err != nil || len(dss) < 2 {
		t.Fatalf("datastores: %v, %v", dss, err)
	}
	from, to := dss[0].Reference(), dss[1].Reference()
	run := func(task *object.Task, err error) cnstypes.BaseCnsVolumeOperationResult {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		info, err := cns.GetTaskInfo(ctx, task)
		if err != nil {
			t.Fatal(err)
		}
		res, err := cns.GetTaskResult(ctx, info)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := run(cc.CreateVolume(ctx, []cnstypes.CnsVolumeCreateSpec{{
		Name: "pvc-1", VolumeType: string(cnstypes.CnsVolumeTypeBlock), Datastores: []types.ManagedObjectReference{from},
		BackingObjectDetails: &cnstypes.CnsBlockBackingDetails{CnsBackingObjectDetails: cnstypes.CnsBackingObjectDetails{CapacityInMb: 8}},
	}}))
	id := res.GetCnsVolumeOperationResult().VolumeId
	vm := m.Map().Any("VirtualMachine").Reference()
	attach := run(cc.AttachVolume(ctx, []cnstypes.CnsVolumeAttachDetachSpec{{VolumeId: id, Vm: vm}}))
	if a, ok := attach.(*cnstypes.CnsVolumeAttachResult); !ok || a.Fault != nil || a.DiskUUID == "" {
		t.Fatalf("attach: %+v", attach)
	}

	r, err := methods.RelocateVStorageObject_Task(ctx, c, &types.RelocateVStorageObject_Task{
		This: *c.ServiceContent.VStorageObjectManager, Id: types.ID{Id: id.Id}, Datastore: from,
		Spec: types.VslmRelocateSpec{VslmMigrateSpec: types.VslmMigrateSpec{
			BackingSpec: &types.VslmCreateSpecDiskFileBackingSpec{VslmCreateSpecBackingSpec: types.VslmCreateSpecBackingSpec{Datastore: to}},
		}},
	})
	if err == nil {
		_, err = object.NewTask(c, r.Returnval).WaitForResult(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	q, err := cc.QueryVolume(ctx, &cnstypes.CnsQueryFilter{Datastores: []types.ManagedObjectReference{to}})
	if err != nil || len(q.Volumes) != 1 || q.Volumes[0].VolumeId != id {
		t.Fatalf("CNS volumes on the new datastore: %+v, %v", q, err)
	}

	del := run(cc.DeleteVolume(ctx, []cnstypes.CnsVolumeId{id}, true))
	if f := del.GetCnsVolumeOperationResult().Fault; f == nil || !fault.Is(f.Fault, &types.ResourceInUse{}) {
		t.Fatalf("delete of an attached volume: %+v; want ResourceInUse", f)
	}
	if f := run(cc.DetachVolume(ctx, []cnstypes.CnsVolumeAttachDetachSpec{{VolumeId: id, Vm: vm}})).GetCnsVolumeOperationResult().Fault; f != nil {
		t.Fatalf("detach: %+v", f)
	}
	if f := run(cc.DeleteVolume(ctx, []cnstypes.CnsVolumeId{id}, true)).GetCnsVolumeOperationResult().Fault; f != nil {
		t.Fatalf("delete after the move: %+v", f.Fault)
	}
}
