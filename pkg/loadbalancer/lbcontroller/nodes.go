package lbcontroller

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
	"github.com/vsphere-cloud/provider/pkg/providerid"
)

// nodeIndex is what allocation knows of Nodes: their VMs' BIOS UUIDs (from providerIDs)
// and their addresses. The VIPPool controller rebuilds it from the Node watch.
type nodeIndex struct {
	mu     sync.Mutex
	byUUID map[string]string     // BIOS UUID (lower case) -> Node
	byIP   map[netip.Addr]string // Node address -> Node
}

// rebuild re-reads the Nodes' UUIDs and addresses and reports whether the addresses
// changed (a pool may now overlap a Node address, or no longer).
func (x *nodeIndex) rebuild(nodes []*corev1.Node) bool {
	uuids, ips := map[string]string{}, map[netip.Addr]string{}
	for _, n := range nodes {
		if u, ok := providerid.UUID(n.Spec.ProviderID); ok {
			uuids[strings.ToLower(u)] = n.Name
		}
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				ips[ip.Unmap()] = n.Name
			}
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	changed := !maps.Equal(x.byIP, ips)
	x.byUUID, x.byIP = uuids, ips
	return changed
}

// nodeWithAddress names the Node whose status.addresses hold ip, "" for none.
func (x *nodeIndex) nodeWithAddress(ip netip.Addr) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.byIP[ip]
}

// nodeOfVM names the Node whose providerID holds the BIOS UUID, "" for none.
func (x *nodeIndex) nodeOfVM(uuid string) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.byUUID[strings.ToLower(uuid)]
}

// addressesIn lists the Node addresses inside pool ("10.0.0.5 (node-a)"), sorted.
func (x *nodeIndex) addressesIn(pool loadbalancer.Pool) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for ip, node := range x.byIP {
		for _, r := range pool.Ranges {
			if r.Contains(ip) {
				out = append(out, fmt.Sprintf("%s (%s)", ip, node))
			}
		}
	}
	slices.Sort(out)
	return out
}

// usesOf returns the allocator's view of what outside it uses an address: Nodes whose
// status.addresses hold it, and VMs whose guests report it (node VMs named by their
// Node). inv may be nil: then only Node addresses count.
func usesOf(inv Inventory, nodes *nodeIndex) func(netip.Addr) []loadbalancer.Use {
	return func(ip netip.Addr) []loadbalancer.Use {
		var out []loadbalancer.Use
		if node := nodes.nodeWithAddress(ip); node != "" {
			out = append(out, loadbalancer.Use{Node: node, NodeAddress: true})
		}
		if inv == nil {
			return out
		}
		vms, err := inv.VMsReporting(ip.String())
		if err != nil {
			return append(out, loadbalancer.Use{Unknown: err.Error()})
		}
		for _, vm := range vms {
			out = append(out, loadbalancer.Use{VM: vm.Name, Node: nodes.nodeOfVM(vm.UUID)})
		}
		return out
	}
}

// nodeChangeMatters reports whether a Node update changes what allocation knows of
// Nodes: the providerID and the addresses. Status heartbeats change neither.
func nodeChangeMatters(old, cur any) bool {
	o, ok1 := old.(*corev1.Node)
	n, ok2 := cur.(*corev1.Node)
	return !ok1 || !ok2 || o.Spec.ProviderID != n.Spec.ProviderID || !slices.Equal(o.Status.Addresses, n.Status.Addresses)
}
