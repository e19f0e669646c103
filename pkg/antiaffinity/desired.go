package antiaffinity

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

// clusterKey names a vSphere cluster: its vCenter and managed object ID.
type clusterKey struct{ vcenter, ref string }

// RulePrefix is the name prefix of the rules of a Kubernetes cluster: its --cluster-name
// (kubeadm's default is "kubernetes" everywhere) and the first 8 characters of its
// kube-system Namespace's UID, which no two clusters share, so that two clusters in one
// vSphere cluster never take each other's rules for their own. "/" in the name becomes "-".
func RulePrefix(cluster, kubeSystemUID string) string {
	id := kubeSystemUID
	if len(id) > 8 {
		id = id[:8]
	}
	return "vsphere-cloud/" + strings.ReplaceAll(cluster, "/", "-") + "-" + id + "/"
}

// member is a Node's VM as the rules need it.
type member struct {
	node    string
	groups  []string
	cluster clusterKey
	vm      string
}

// desired turns members into the rules each vSphere cluster should hold: name -> sorted
// VM IDs, for every group with at least two VMs in that cluster.
func desired(prefix string, members []member) map[clusterKey]map[string][]string {
	byGroup := map[clusterKey]map[string][]string{}
	for _, m := range members {
		if byGroup[m.cluster] == nil {
			byGroup[m.cluster] = map[string][]string{}
		}
		for _, g := range m.groups {
			byGroup[m.cluster][prefix+g] = append(byGroup[m.cluster][prefix+g], m.vm)
		}
	}
	for ck, rules := range byGroup {
		for name, vms := range rules {
			slices.Sort(vms)
			vms = slices.Compact(vms)
			if len(vms) < 2 {
				delete(rules, name)
				continue
			}
			rules[name] = vms
		}
		if len(rules) == 0 {
			byGroup[ck] = map[string][]string{}
		}
	}
	return byGroup
}

// changes turns a cluster's current rules and the desired ones into the changes to make,
// touching only rules named with prefix.
func changes(prefix string, current []vsphere.AntiAffinityRule, want map[string][]string) []vsphere.RuleChange {
	var out []vsphere.RuleChange
	have := map[string]vsphere.AntiAffinityRule{}
	for _, r := range current {
		if !strings.HasPrefix(r.Name, prefix) {
			continue // not ours: never touched
		}
		if _, dup := have[r.Name]; dup {
			out = append(out, vsphere.RuleChange{Rule: r, Remove: true})
			continue
		}
		have[r.Name] = r
		if _, ok := want[r.Name]; !ok {
			out = append(out, vsphere.RuleChange{Rule: r, Remove: true})
		}
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		vms := want[name]
		r, ok := have[name]
		switch {
		case !ok:
			out = append(out, vsphere.RuleChange{Rule: vsphere.AntiAffinityRule{Name: name, VMs: vms}})
		case !slices.Equal(r.VMs, vms) || !r.Enabled:
			out = append(out, vsphere.RuleChange{Rule: vsphere.AntiAffinityRule{Key: r.Key, Name: name, VMs: vms}})
		}
	}
	return out
}

// resolve finds the member of a grouped node, nil for a Node without a VM in a vSphere
// cluster. An error means the inventory cannot vouch for the Node's VM now.
func resolve(node *corev1.Node, groups []string, vm vsphere.VM, lookupErr error) (*member, error) {
	switch {
	case errors.Is(lookupErr, vsphere.ErrNotFound):
		return nil, nil // gone: it leaves its groups
	case lookupErr != nil:
		return nil, fmt.Errorf("node %s: %w", node.Name, lookupErr)
	case !vm.Fresh:
		return nil, fmt.Errorf("node %s: the inventory of vCenter %s is not fresh", node.Name, vm.VCenter)
	case vm.ClusterRef == "":
		return nil, nil // a standalone host: no cluster, no rules
	}
	return &member{node: node.Name, groups: groups, cluster: clusterKey{vm.VCenter, vm.ClusterRef}, vm: vm.Ref}, nil
}
