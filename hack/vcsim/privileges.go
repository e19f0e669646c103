package main

import (
	"slices"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// authManager answers privilege checks as an account that lacks the denied privileges
// (govmomi's simulator grants everything), so that preflight can be tested against a
// poorly provisioned account. Only the answers change; calls are not refused.
type authManager struct {
	*simulator.AuthorizationManager
	denied []string
}

func denyPrivileges(m *simulator.Model, denied []string) {
	if len(denied) == 0 {
		return
	}
	r := m.Map()
	si, ok := r.Get(vim25.ServiceInstance).(*simulator.ServiceInstance)
	if !ok || si.Content.AuthorizationManager == nil {
		return
	}
	if am, ok := r.Get(*si.Content.AuthorizationManager).(*simulator.AuthorizationManager); ok {
		r.Put(&authManager{AuthorizationManager: am, denied: denied})
	}
}

// HasPrivilegeOnEntities grants every privilege but the denied ones.
func (m *authManager) HasPrivilegeOnEntities(req *types.HasPrivilegeOnEntities) soap.HasFault {
	res := &types.HasPrivilegeOnEntitiesResponse{}
	for _, e := range req.Entity {
		p := types.EntityPrivilege{Entity: e}
		for _, id := range req.PrivId {
			p.PrivAvailability = append(p.PrivAvailability, types.PrivilegeAvailability{PrivId: id, IsGranted: !slices.Contains(m.denied, id)})
		}
		res.Returnval = append(res.Returnval, p)
	}
	return &methods.HasPrivilegeOnEntitiesBody{Res: res}
}
