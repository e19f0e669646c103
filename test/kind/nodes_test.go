package kind

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

// testNodesInitialized: the Nodes kubelet registered (with --cloud-provider=external, so
// with the uninitialized taint and no providerID) are initialized by cloud-controller from
// the simulator's VMs, which carry the node containers' SystemUUIDs and addresses: providerID,
// zone and region, addresses; each gets its NodeVM, and vsphere-node its placement labels.
func testNodesInitialized(t *testing.T) {
	for _, name := range append([]string{w.cp}, w.workers...) {
		ip, err := docker("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Minute, "Node "+name+" initialized with its placement labels", func(ctx context.Context) (bool, string) {
			n, err := w.kube.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err.Error()
			}
			var nvm v1alpha1.NodeVM
			if err := w.crc.Get(ctx, client.ObjectKey{Name: name}, &nvm); err != nil {
				return false, "NodeVM: " + err.Error()
			}
			if why := nodeInitialized(n, &nvm, ip); why != "" {
				return false, why
			}
			return true, ""
		})
	}
}

// nodeInitialized says what is missing on an initialized Node and its NodeVM ("" when nothing).
func nodeInitialized(n *corev1.Node, nvm *v1alpha1.NodeVM, ip string) string {
	uuid := strings.ToLower(n.Status.NodeInfo.SystemUUID)
	switch {
	case n.Spec.ProviderID != "vsphere://"+uuid:
		return fmt.Sprintf("providerID %q, want vsphere://%s", n.Spec.ProviderID, uuid)
	case hasTaint(n, "node.cloudprovider.kubernetes.io/uninitialized"):
		return "the uninitialized taint is still there"
	case n.Labels[corev1.LabelTopologyZone] != "zone-a" || n.Labels[corev1.LabelTopologyRegion] != "region-1":
		return fmt.Sprintf("zone %q region %q, want zone-a region-1", n.Labels[corev1.LabelTopologyZone], n.Labels[corev1.LabelTopologyRegion])
	case !hasAddress(n, corev1.NodeInternalIP, ip):
		return fmt.Sprintf("addresses %v lack InternalIP %s", n.Status.Addresses, ip)
	case !hasAddress(n, corev1.NodeHostName, n.Name):
		return fmt.Sprintf("addresses %v lack Hostname %s", n.Status.Addresses, n.Name)
	case nvm.Status.VMName != n.Name || nvm.Status.Host.Name == "" || nvm.Status.Zone != "zone-a":
		return fmt.Sprintf("NodeVM status: vm %q host %q zone %q", nvm.Status.VMName, nvm.Status.Host.Name, nvm.Status.Zone)
	case n.Labels[v1alpha1.LabelNodeHost] != nvm.Status.Host.Name || n.Labels[v1alpha1.LabelNodeCluster] == "" || n.Labels[v1alpha1.LabelNodeDatacenter] != "DC0":
		return fmt.Sprintf("placement labels host %q cluster %q datacenter %q, want host %q",
			n.Labels[v1alpha1.LabelNodeHost], n.Labels[v1alpha1.LabelNodeCluster], n.Labels[v1alpha1.LabelNodeDatacenter], nvm.Status.Host.Name)
	}
	return ""
}

func hasTaint(n *corev1.Node, key string) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key {
			return true
		}
	}
	return false
}

func hasAddress(n *corev1.Node, typ corev1.NodeAddressType, addr string) bool {
	for _, a := range n.Status.Addresses {
		if a.Type == typ && a.Address == addr {
			return true
		}
	}
	return false
}
