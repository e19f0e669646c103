package main

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// fcdManager adds to the simulator's VStorageObjectManager what govmomi v0.56.0 lacks
// and vCenter has: CreateDiskFromSnapshot_Task. The new disk has the snapshot's disk's
// capacity (the simulator keeps no disk contents to copy).
type fcdManager struct {
	*simulator.VcenterVStorageObjectManager
}

// extendFCD replaces the registry's VStorageObjectManager with fcdManager.
func extendFCD(m *simulator.Model) {
	r := m.Map()
	si, ok := r.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	if !ok || si.Content.VStorageObjectManager == nil {
		return
	}
	if om, ok := r.Get(*si.Content.VStorageObjectManager).(*simulator.VcenterVStorageObjectManager); ok {
		r.Put(&fcdManager{om})
	}
}

// CreateDiskFromSnapshotTask creates a disk from a snapshot of another.
func (m *fcdManager) CreateDiskFromSnapshotTask(ctx *simulator.Context, req *types.CreateDiskFromSnapshot_Task) soap.HasFault {
	body := &methods.CreateDiskFromSnapshot_TaskBody{}
	src := m.Catalog()[req.Datastore][req.Id]
	found := false
	if src != nil {
		for _, s := range src.Snapshots {
			found = found || (s.Id != nil && s.Id.Id == req.SnapshotId.Id)
		}
	}
	if !found {
		body.Fault_ = simulator.Fault("snapshot not found", &types.NotFound{})
		return body
	}
	res := m.CreateDiskTask(ctx, &types.CreateDisk_Task{
		This: m.Self,
		Spec: types.VslmCreateSpec{
			Name: req.Name, CapacityInMB: src.Config.CapacityInMB, Profile: req.Profile,
			BackingSpec: &types.VslmCreateSpecDiskFileBackingSpec{
				VslmCreateSpecBackingSpec: types.VslmCreateSpecBackingSpec{Datastore: req.Datastore, Path: req.Path},
				ProvisioningType:          string(types.BaseConfigInfoDiskFileBackingInfoProvisioningTypeThin),
			},
		},
	}).(*methods.CreateDisk_TaskBody)
	body.Res = &types.CreateDiskFromSnapshot_TaskResponse{Returnval: res.Res.Returnval}
	return body
}
