package vsphere

import (
	"context"
	"fmt"
	"slices"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// VM-VM anti-affinity rules of a vSphere cluster, kept the way public tools keep them
// (govc cluster.rule, the Terraform provider's vsphere_compute_cluster_vm_anti_affinity_rule,
// OpenShift's machine controller): read from the cluster's configurationEx.rule, changed
// with ReconfigureComputeResource_Task on a ClusterConfigSpecEx holding only RulesSpec,
// modify=true (an incremental change: with modify=false vCenter resets every setting the
// spec leaves out, HA and DRS included); an edit or removal names the rule by its key.

// AntiAffinityRule is a VM-VM anti-affinity rule of a vSphere cluster.
type AntiAffinityRule struct {
	// Key identifies the rule within its cluster; zero for a rule to add.
	Key  int32
	Name string
	// VMs are the managed object IDs of its virtual machines, sorted.
	VMs     []string
	Enabled bool
}

// RuleChange is one change to a cluster's rules: add (Key zero), edit (Key set, VMs
// non-empty) or remove (Remove).
type RuleChange struct {
	Rule   AntiAffinityRule
	Remove bool
}

// AntiAffinityRules reads the VM-VM anti-affinity rules of the cluster clusterRef in
// vCenter vcenter. It calls vCenter (one RetrieveProperties).
func (m *Manager) AntiAffinityRules(ctx context.Context, vcenter, clusterRef string) ([]AntiAffinityRule, error) {
	_, client, err := m.sessionFor(ctx, vcenter)
	if err != nil {
		return nil, err
	}
	ref := types.ManagedObjectReference{Type: "ClusterComputeResource", Value: clusterRef}
	var cl mo.ClusterComputeResource
	if err := property.DefaultCollector(client).RetrieveOne(ctx, ref, []string{"configurationEx"}, &cl); err != nil {
		return nil, fmt.Errorf("vCenter %s: reading the rules of cluster %s: %w", vcenter, clusterRef, classify(err))
	}
	cfg, ok := cl.ConfigurationEx.(*types.ClusterConfigInfoEx)
	if !ok {
		return nil, fmt.Errorf("vCenter %s: cluster %s has no cluster configuration", vcenter, clusterRef)
	}
	var out []AntiAffinityRule
	for _, r := range cfg.Rule {
		aa, ok := r.(*types.ClusterAntiAffinityRuleSpec)
		if !ok {
			continue
		}
		rule := AntiAffinityRule{Key: aa.Key, Name: aa.Name, Enabled: aa.Enabled != nil && *aa.Enabled}
		for _, vm := range aa.Vm {
			rule.VMs = append(rule.VMs, vm.Value)
		}
		slices.Sort(rule.VMs)
		out = append(out, rule)
	}
	return out, nil
}

// UpdateAntiAffinityRules applies changes to the cluster's rules in one reconfiguration
// task and waits for it. It calls vCenter.
func (m *Manager) UpdateAntiAffinityRules(ctx context.Context, vcenter, clusterRef string, changes []RuleChange) error {
	if len(changes) == 0 {
		return nil
	}
	_, client, err := m.sessionFor(ctx, vcenter)
	if err != nil {
		return err
	}
	spec := &types.ClusterConfigSpecEx{}
	for _, ch := range changes {
		rs := types.ClusterRuleSpec{}
		switch {
		case ch.Remove:
			rs.Operation, rs.RemoveKey = types.ArrayUpdateOperationRemove, ch.Rule.Key
		default:
			info := &types.ClusterAntiAffinityRuleSpec{ClusterRuleInfo: types.ClusterRuleInfo{
				Key: ch.Rule.Key, Name: ch.Rule.Name, Enabled: types.NewBool(true), Mandatory: types.NewBool(false), UserCreated: types.NewBool(true),
			}}
			for _, vm := range ch.Rule.VMs {
				info.Vm = append(info.Vm, types.ManagedObjectReference{Type: "VirtualMachine", Value: vm})
			}
			rs.Operation, rs.Info = types.ArrayUpdateOperationAdd, info
			if ch.Rule.Key != 0 {
				rs.Operation = types.ArrayUpdateOperationEdit
			}
		}
		spec.RulesSpec = append(spec.RulesSpec, rs)
	}
	cluster := object.NewClusterComputeResource(client, types.ManagedObjectReference{Type: "ClusterComputeResource", Value: clusterRef})
	task, err := cluster.Reconfigure(ctx, spec, true)
	if err == nil {
		err = task.Wait(ctx)
	}
	if err != nil {
		return fmt.Errorf("vCenter %s: changing the anti-affinity rules of cluster %s: %w", vcenter, clusterRef, classify(err))
	}
	return nil
}
