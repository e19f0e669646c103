package vsphere

import (
	"context"
	"slices"
	"testing"

	"github.com/vmware/govmomi/simulator"
)

// TestAntiAffinityRules adds, edits and removes a rule through the strict simulator, which
// refuses what vCenter refuses: a VM-VM rule with one VM, an edit of an unknown key.
func TestAntiAffinityRules(t *testing.T) {
	e := startSim(t, simulator.VPX(), nil)
	ctx := context.Background()
	var vms []VM
	for _, name := range []string{"DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"} {
		vm, err := e.mgr.FindNodeVM(ctx, NodeQuery{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		vms = append(vms, vm)
	}
	cluster := vms[0].ClusterRef
	if cluster == "" || vms[1].ClusterRef != cluster || vms[0].Cluster != "DC0_C0" {
		t.Fatalf("cluster of the VMs: %q %q (%q)", cluster, vms[1].ClusterRef, vms[0].Cluster)
	}
	pair := []string{vms[0].Ref, vms[1].Ref}
	slices.Sort(pair)
	if err := e.mgr.UpdateAntiAffinityRules(ctx, "sim", cluster, []RuleChange{{Rule: AntiAffinityRule{Name: "one", VMs: pair[:1]}}}); err == nil {
		t.Fatal("a rule with one VM was accepted")
	}
	if err := e.mgr.UpdateAntiAffinityRules(ctx, "sim", cluster, []RuleChange{{Rule: AntiAffinityRule{Name: "ours", VMs: pair}}}); err != nil {
		t.Fatal(err)
	}
	rules, err := e.mgr.AntiAffinityRules(ctx, "sim", cluster)
	if err != nil || len(rules) != 1 || rules[0].Name != "ours" || !slices.Equal(rules[0].VMs, pair) || !rules[0].Enabled || rules[0].Key == 0 {
		t.Fatalf("rules = %+v, %v", rules, err)
	}
	if err := e.mgr.UpdateAntiAffinityRules(ctx, "sim", cluster, []RuleChange{{Rule: AntiAffinityRule{Key: rules[0].Key + 100, Name: "ours", VMs: pair}}}); err == nil {
		t.Fatal("an edit of an unknown key was accepted")
	}
	if err := e.mgr.UpdateAntiAffinityRules(ctx, "sim", cluster, []RuleChange{{Rule: rules[0], Remove: true}}); err != nil {
		t.Fatal(err)
	}
	if rules, err := e.mgr.AntiAffinityRules(ctx, "sim", cluster); err != nil || len(rules) != 0 {
		t.Fatalf("after removal: %+v, %v", rules, err)
	}
}
