package antiaffinity

import (
	"fmt"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/vsphere"
)

func TestGroups(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{LabelControlPlane: "", v1alpha1.LabelAntiAffinityGroup: "db"}}}
	if got := Groups(n); !reflect.DeepEqual(got, []string{"control-plane", "db"}) {
		t.Errorf("Groups = %v", got)
	}
	if got := Groups(&corev1.Node{}); got != nil {
		t.Errorf("Groups of an unlabelled Node = %v", got)
	}
}

func TestDesiredAndChanges(t *testing.T) {
	const prefix = "vsphere-cloud/k/"
	a, b := clusterKey{"vc", "domain-c1"}, clusterKey{"vc", "domain-c2"}
	want := desired(prefix, []member{
		{node: "cp1", groups: []string{"control-plane"}, cluster: a, vm: "vm-3"},
		{node: "cp2", groups: []string{"control-plane", "db"}, cluster: a, vm: "vm-1"},
		{node: "cp3", groups: []string{"control-plane"}, cluster: b, vm: "vm-9"},
		{node: "db1", groups: []string{"db"}, cluster: b, vm: "vm-7"},
	})
	if !reflect.DeepEqual(want, map[clusterKey]map[string][]string{
		a: {prefix + "control-plane": {"vm-1", "vm-3"}},
		b: {}, // one VM per group there: no rule, and the cluster is still checked
	}) {
		t.Fatalf("desired = %v", want)
	}
	current := []vsphere.AntiAffinityRule{
		{Key: 1, Name: "someone-elses", VMs: []string{"vm-1", "vm-3"}, Enabled: true},
		{Key: 2, Name: prefix + "control-plane", VMs: []string{"vm-1", "vm-2"}, Enabled: true},
		{Key: 3, Name: prefix + "db", VMs: []string{"vm-1", "vm-7"}, Enabled: true},
		{Key: 4, Name: "vsphere-cloud/other-cluster/db", VMs: []string{"vm-5", "vm-6"}, Enabled: true},
	}
	got := changes(prefix, current, want[a])
	wantChanges := []vsphere.RuleChange{
		{Rule: current[2], Remove: true},
		{Rule: vsphere.AntiAffinityRule{Key: 2, Name: prefix + "control-plane", VMs: []string{"vm-1", "vm-3"}}},
	}
	if !reflect.DeepEqual(got, wantChanges) {
		t.Errorf("changes =\n%v\nwant\n%v", got, wantChanges)
	}
	if got := changes(prefix, nil, want[a]); len(got) != 1 || got[0].Rule.Key != 0 || got[0].Remove {
		t.Errorf("changes on an empty cluster = %v, want one add", got)
	}
	if got := changes(prefix, []vsphere.AntiAffinityRule{{Key: 2, Name: prefix + "control-plane", VMs: []string{"vm-1", "vm-3"}, Enabled: true}}, want[a]); len(got) != 0 {
		t.Errorf("changes when in step = %v", got)
	}
}

func TestResolve(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}}
	vm := vsphere.VM{VCenter: "vc", Ref: "vm-1", ClusterRef: "domain-c1", Fresh: true}
	if m, err := resolve(n, []string{"g"}, vm, nil); err != nil || m == nil || m.cluster.ref != "domain-c1" {
		t.Errorf("resolve = %v, %v", m, err)
	}
	if m, err := resolve(n, []string{"g"}, vsphere.VM{}, fmt.Errorf("x: %w", vsphere.ErrNotFound)); err != nil || m != nil {
		t.Errorf("a gone VM: %v, %v", m, err)
	}
	for _, tc := range []struct {
		vm  vsphere.VM
		err error
	}{{vsphere.VM{Fresh: false, ClusterRef: "c"}, nil}, {vsphere.VM{}, fmt.Errorf("x: %w", vsphere.ErrUnavailable)}, {vsphere.VM{}, fmt.Errorf("x: %w", vsphere.ErrAmbiguous)}} {
		if _, err := resolve(n, []string{"g"}, tc.vm, tc.err); err == nil {
			t.Errorf("resolve(%+v, %v) is not an error: nothing may change without a fresh answer", tc.vm, tc.err)
		}
	}
}

// TestRulePrefix: two clusters that both keep kubeadm's default name never share a prefix;
// one's prefix is no prefix of another's rules.
func TestRulePrefix(t *testing.T) {
	a := RulePrefix("kubernetes", "1b4e28ba-2fa1-11d2-883f-0016d3cca427")
	b := RulePrefix("kubernetes", "6fa459ea-ee8a-3ca4-894e-db77e160355e")
	if a == b || a != "vsphere-cloud/kubernetes-1b4e28ba/" {
		t.Errorf("prefixes %q and %q", a, b)
	}
	if p := RulePrefix("team/a", "6fa459ea-ee8a"); p != "vsphere-cloud/team-a-6fa459ea/" {
		t.Errorf("a / in the cluster name: %q", p)
	}
}
