package announce

import (
	"context"
	"net"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// LabelControlPlane marks control-plane nodes (kubeadm's label); they announce only the
// VIPs of pools with spec.announceFromControlPlane, so that a VIP does not expose the
// API server's and etcd's host listeners.
const LabelControlPlane = "node-role.kubernetes.io/control-plane"

// selfState is this node as the agent sees it in one round.
type selfState struct {
	node *corev1.Node
	nvm  *v1alpha1.NodeVM
	// why is not empty when the node announces nothing.
	why string
}

func (s selfState) host() string { return hostOf(s.nvm) }

// self reads this Node and its NodeVM and says whether the node may announce at all:
// Ready, not being deleted, not excluded from load balancers, not tainted for host
// maintenance, host not entering or in maintenance.
func (a *Agent) self(ctx context.Context) selfState {
	var s selfState
	var node corev1.Node
	if err := a.cfg.Client.Get(ctx, client.ObjectKey{Name: a.cfg.NodeName}, &node); err != nil {
		s.why = "own Node not readable"
		return s
	}
	s.node = &node
	var nvm v1alpha1.NodeVM
	if err := a.cfg.Client.Get(ctx, client.ObjectKey{Name: a.cfg.NodeName}, &nvm); err == nil {
		s.nvm = &nvm
	}
	s.why = nodeIneligible(&node, s.nvm)
	return s
}

func nodeIneligible(node *corev1.Node, nvm *v1alpha1.NodeVM) string {
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			ready = c.Status == corev1.ConditionTrue
		}
	}
	switch {
	case !ready:
		return "node not Ready"
	case node.DeletionTimestamp != nil:
		return "node being deleted"
	}
	if _, ok := node.Labels[corev1.LabelNodeExcludeBalancers]; ok {
		return "node labelled " + corev1.LabelNodeExcludeBalancers
	}
	for _, t := range node.Spec.Taints {
		if t.Key == v1alpha1.TaintHostMaintenance {
			return "ESXi host entering or in maintenance (taint)"
		}
	}
	if nvm != nil && (nvm.Status.Host.EnteringMaintenanceMode || nvm.Status.Host.InMaintenanceMode) {
		return "ESXi host entering or in maintenance"
	}
	return ""
}

// poolIneligible says why this node may not announce the pool's addresses ("" when it
// may): control-plane nodes only when the pool allows it, and only nodes that match the
// pool's node selector.
func poolIneligible(node *corev1.Node, pool *v1alpha1.VIPPool) string {
	if pool == nil {
		return ""
	}
	if _, cp := node.Labels[LabelControlPlane]; cp && !pool.Spec.AnnounceFromControlPlane {
		return "control-plane node and the VIPPool does not set announceFromControlPlane"
	}
	if pool.Spec.NodeSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(pool.Spec.NodeSelector)
		if err != nil {
			return "the VIPPool's nodeSelector is invalid"
		}
		if !sel.Matches(labels.Set(node.Labels)) {
			return "node does not match the VIPPool's nodeSelector"
		}
	}
	return ""
}

// eligible returns the interface that would carry the VIP, and why this node may not
// announce it ("" when it may).
func (a *Agent) eligible(ctx context.Context, s selfState, w want) (string, string) {
	if s.why != "" {
		return "", s.why
	}
	if why := poolIneligible(s.node, w.spec); why != "" {
		return "", why
	}
	ifname := a.interfaceFor(w.pool.Network, s.nvm)
	if ifname == "" {
		return "", "no interface on the VIP's network"
	}
	if !a.endpointsOK(ctx, w.services) {
		return "", "no local endpoint (externalTrafficPolicy Local)"
	}
	return ifname, ""
}

// vmNICs are the NodeVM's NICs backed by a virtual device: a guest interface without one
// (a bridge, a VLAN or a container interface that VMware Tools reports with
// deviceConfigId -1) has no port group, and upstream's cloud provider skips it too.
func vmNICs(nvm *v1alpha1.NodeVM) []v1alpha1.NIC {
	if nvm == nil {
		return nil
	}
	var out []v1alpha1.NIC
	for _, nic := range nvm.Status.NICs {
		if nic.Network == "" || nic.MAC == "" {
			continue
		}
		out = append(out, nic)
	}
	return out
}

// interfaceFor finds the local interface on the pool's network.
func (a *Agent) interfaceFor(network string, nvm *v1alpha1.NodeVM) string {
	if a.cfg.Interface != "" {
		return a.cfg.Interface
	}
	nics := vmNICs(nvm)
	if len(nics) == 0 {
		return ""
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return ""
	}
	for _, nic := range nics {
		if network != "" && nic.Network != network {
			continue
		}
		for _, ifi := range ifs {
			if strings.EqualFold(ifi.HardwareAddr.String(), nic.MAC) {
				return ifi.Name
			}
		}
	}
	return ""
}

// endpointsOK: for externalTrafficPolicy Local, some Service on the address has a ready
// endpoint on this node; otherwise any node will do.
func (a *Agent) endpointsOK(ctx context.Context, svcs []*corev1.Service) bool {
	for _, svc := range svcs {
		if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
			return true
		}
	}
	for _, svc := range svcs {
		var slices discoveryv1.EndpointSliceList
		if err := a.cfg.Client.List(ctx, &slices, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
			continue
		}
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				if ptr.Deref(ep.NodeName, "") == a.cfg.NodeName && ptr.Deref(ep.Conditions.Ready, true) {
					return true
				}
			}
		}
	}
	return false
}
