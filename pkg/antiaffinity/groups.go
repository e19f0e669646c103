package antiaffinity

import (
	"slices"

	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// LabelControlPlane is kubeadm's role label of control-plane Nodes.
const LabelControlPlane = "node-role.kubernetes.io/control-plane"

// Groups are the anti-affinity groups of node, sorted: control-plane for a control-plane
// Node, and the value of its vsphere-cloud.io/anti-affinity-group label.
func Groups(node *corev1.Node) []string {
	var out []string
	if _, ok := node.Labels[LabelControlPlane]; ok {
		out = append(out, v1alpha1.AntiAffinityGroupControlPlane)
	}
	if g := node.Labels[v1alpha1.LabelAntiAffinityGroup]; g != "" && g != v1alpha1.AntiAffinityGroupControlPlane {
		out = append(out, g)
	}
	slices.Sort(out)
	return out
}

// Shared reports whether two Nodes share an anti-affinity group.
func Shared(a, b []string) bool {
	return slices.ContainsFunc(a, func(g string) bool { return slices.Contains(b, g) })
}
