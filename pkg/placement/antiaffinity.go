package placement

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
	"github.com/vsphere-cloud/provider/pkg/antiaffinity"
)

// ReasonAntiAffinityViolated is the Event recorded on a Node when another Node of one of
// its anti-affinity groups comes to run on its ESXi host.
const ReasonAntiAffinityViolated = "VSphereAntiAffinityViolated"

// hostMates are the other Nodes whose VMs run on host ("vcenter/host ref") and share an
// anti-affinity group with groups, sorted.
func (c *Controller) hostMates(name, host string, groups []string) []string {
	if len(groups) == 0 {
		return nil
	}
	c.mu.Lock()
	var same []string
	for n, h := range c.hostOf {
		if n != name && h == host {
			same = append(same, n)
		}
	}
	c.mu.Unlock()
	var out []string
	for _, n := range same {
		if peer, err := c.nodes.Get(n); err == nil && antiaffinity.Shared(groups, antiaffinity.Groups(peer)) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// queueHostMates queues the other Nodes on the hosts a Node left and joined, whose
// AntiAffinity condition may change with it.
func (c *Controller) queueHostMates(name string, hosts ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n, h := range c.hostOf {
		if n != name && slices.Contains(hosts, h) {
			c.queue.Add(n)
		}
	}
}

// setAntiAffinity sets the AntiAffinity condition of a Node in groups (and removes it from
// a Node in none).
func setAntiAffinity(st *v1alpha1.NodeVMStatus, groups, mates []string, hostName string) {
	if len(groups) == 0 {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionAntiAffinity)
		return
	}
	cond := metav1.Condition{Type: v1alpha1.ConditionAntiAffinity, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonApart,
		Message: fmt.Sprintf("no other Node of anti-affinity group %s runs on this ESXi host", strings.Join(groups, ", "))}
	if len(mates) > 0 {
		cond.Status, cond.Reason = metav1.ConditionFalse, v1alpha1.ReasonSharesHost
		cond.Message = fmt.Sprintf("ESXi host %s also runs Node %s of anti-affinity group %s: one host failure takes both; "+
			"DRS separates them when its rule can be met (enough hosts, DRS on)", hostName, strings.Join(mates, ", "), strings.Join(groups, ", "))
	}
	meta.SetStatusCondition(&st.Conditions, cond)
}

// antiAffinityTurnedFalse reports whether the condition went from anything else to False.
func antiAffinityTurnedFalse(prev, next v1alpha1.NodeVMStatus) (*metav1.Condition, bool) {
	n := meta.FindStatusCondition(next.Conditions, v1alpha1.ConditionAntiAffinity)
	if n == nil || n.Status != metav1.ConditionFalse {
		return nil, false
	}
	p := meta.FindStatusCondition(prev.Conditions, v1alpha1.ConditionAntiAffinity)
	return n, p == nil || p.Status != metav1.ConditionFalse || p.Message != n.Message
}

// recordAntiAffinity records the Event of a new violation on node.
func (c *Controller) recordAntiAffinity(node *corev1.Node, prev, next v1alpha1.NodeVMStatus) {
	if cond, ok := antiAffinityTurnedFalse(prev, next); ok && c.events != nil {
		c.events.Event(node, corev1.EventTypeWarning, ReasonAntiAffinityViolated, cond.Message)
	}
}
