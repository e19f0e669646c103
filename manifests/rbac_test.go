// Package manifests_test checks the RBAC the manifests grant.
package manifests_test

import (
	"path/filepath"
	"testing"

	"github.com/vsphere-cloud/provider/test/framework"
)

// TestRBACHasNoWildcards fails on any "*" in apiGroups, resources or verbs, and on rules
// that grant write access to Secrets.
func TestRBACHasNoWildcards(t *testing.T) {
	objs, err := framework.ReadManifests("rbac-cloud-controller.yaml", "rbac-vsphere-node.yaml", "rbac-csi-controller.yaml")
	if err != nil {
		t.Fatal(err)
	}
	roles := 0
	for _, o := range objs {
		if o.GetKind() != "ClusterRole" && o.GetKind() != "Role" {
			continue
		}
		roles++
		rules, _ := o.Object["rules"].([]any)
		if len(rules) == 0 {
			t.Errorf("%s %s has no rules", o.GetKind(), o.GetName())
		}
		for i, r := range rules {
			rule, _ := r.(map[string]any)
			for _, field := range []string{"apiGroups", "resources", "verbs"} {
				list, _ := rule[field].([]any)
				for _, v := range list {
					if v == "*" {
						t.Errorf("%s %s rule %d: wildcard in %s", o.GetKind(), o.GetName(), i, field)
					}
				}
			}
			resources, _ := rule["resources"].([]any)
			verbs, _ := rule["verbs"].([]any)
			for _, res := range resources {
				if res != "secrets" {
					continue
				}
				for _, v := range verbs {
					if v != "get" {
						t.Errorf("%s %s rule %d: %v on secrets", o.GetKind(), o.GetName(), i, v)
					}
				}
				if names, _ := rule["resourceNames"].([]any); len(names) == 0 {
					t.Errorf("%s %s rule %d: secrets without resourceNames", o.GetKind(), o.GetName(), i)
				}
			}
		}
	}
	if roles < 3 {
		t.Fatalf("found %d roles; the manifests changed shape", roles)
	}
}

// TestKustomizationListsEveryManifest keeps kustomization.yaml and the files in step.
func TestKustomizationListsEveryManifest(t *testing.T) {
	listed, err := framework.KustomizationResources()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, f := range listed {
		want[f] = true
	}
	files, _ := filepath.Glob("*.yaml")
	crds, _ := filepath.Glob("crds/*.yaml")
	for _, f := range append(files, crds...) {
		if f != "kustomization.yaml" && !want[f] {
			t.Errorf("%s is not in kustomization.yaml", f)
		}
		delete(want, f)
	}
	for f := range want {
		t.Errorf("kustomization.yaml names %s, which does not exist", f)
	}
}

// TestNodeAgentRightsAreNarrow: the node agent's token is on every node, so its base RBAC
// grants no Pod listing or evictions (only the drain/ component does) and Leases only in
// the VIP Lease namespace, never beside the controllers' leader Leases.
func TestNodeAgentRightsAreNarrow(t *testing.T) {
	objs, err := framework.ReadManifests("rbac-vsphere-node.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		rules, _ := o.Object["rules"].([]any)
		for _, r := range rules {
			rule, _ := r.(map[string]any)
			resources, _ := rule["resources"].([]any)
			for _, res := range resources {
				switch res {
				case "pods", "pods/eviction":
					t.Errorf("%s %s grants %s without the drain component", o.GetKind(), o.GetName(), res)
				case "leases":
					if o.GetKind() != "Role" || o.GetNamespace() != "vsphere-cloud-vips" {
						t.Errorf("%s %s grants leases outside vsphere-cloud-vips", o.GetKind(), o.GetName())
					}
				}
			}
		}
	}
	drain, err := framework.ReadManifests("drain/rbac-vsphere-node-drain.yaml")
	if err != nil || len(drain) == 0 {
		t.Fatalf("drain component: %v", err)
	}
}
