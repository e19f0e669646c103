package strict

import (
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// InstallClusterRules makes ReconfigureComputeResource_Task on a cluster check its rule
// changes as vCenter does where the simulator does not:
//   - an edit or a removal names the rule by its key (the API reference's ClusterRuleSpec:
//     info.key "must be set" for edit; removeKey for remove); the simulator matches an edit
//     by name;
//   - a VM-VM affinity or anti-affinity rule holds at least two virtual machines (vCenter
//     refuses fewer; public controllers that keep such rules remove a rule rather than
//     leave one VM in it);
//   - modify=false is refused: vCenter then resets every setting the spec leaves out (HA,
//     DRS, rules of others), which a caller that means to change one rule never wants; the
//     simulator ignores modify and so would hide that mistake.
//
// Call it after m.Create; it chains to an earlier registry handler.
func InstallClusterRules(m *simulator.Model) {
	r := m.Map()
	prev := r.Handler
	r.Handler = func(ctx *simulator.Context, method *simulator.Method) (mo.Reference, types.BaseMethodFault) {
		if req, ok := method.Body.(*types.ReconfigureComputeResource_Task); ok && method.This.Type == "ClusterComputeResource" {
			if f := checkClusterReconfigure(ctx, req); f != nil {
				return nil, f
			}
		}
		if prev != nil {
			return prev(ctx, method)
		}
		return nil, nil
	}
}

func checkClusterReconfigure(ctx *simulator.Context, req *types.ReconfigureComputeResource_Task) types.BaseMethodFault {
	if !req.Modify {
		return &types.InvalidArgument{InvalidProperty: "modify"}
	}
	spec, ok := req.Spec.(*types.ClusterConfigSpecEx)
	if !ok || len(spec.RulesSpec) == 0 {
		return nil
	}
	cl, ok := ctx.Map.Get(req.This).(*simulator.ClusterComputeResource)
	if !ok {
		return nil
	}
	keys := map[int32]bool{}
	if cfg, ok := cl.ConfigurationEx.(*types.ClusterConfigInfoEx); ok {
		for _, r := range cfg.Rule {
			keys[r.GetClusterRuleInfo().Key] = true
		}
	}
	for _, rs := range spec.RulesSpec {
		switch rs.Operation {
		case types.ArrayUpdateOperationRemove:
			key, ok := rs.RemoveKey.(int32)
			if !ok || !keys[key] {
				return &types.InvalidArgument{InvalidProperty: "rulesSpec.removeKey"}
			}
			continue
		case types.ArrayUpdateOperationEdit:
			if rs.Info == nil || !keys[rs.Info.GetClusterRuleInfo().Key] {
				return &types.InvalidArgument{InvalidProperty: "rulesSpec.info.key"}
			}
		}
		var vms int
		switch info := rs.Info.(type) {
		case *types.ClusterAntiAffinityRuleSpec:
			vms = len(info.Vm)
		case *types.ClusterAffinityRuleSpec:
			vms = len(info.Vm)
		default:
			continue
		}
		if vms < 2 {
			return &types.InvalidArgument{InvalidProperty: "rulesSpec.info.vm"}
		}
	}
	return nil
}
