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
// and their addresses. The VIPPool controller keeps it from the Node watch, one Node at
// a time: re-reading every Node on each Node event was quadratic (at 10,000 Nodes
// registering together it took 38 % of cloud-controller's CPU, make bench-scale).
type nodeIndex struct {
	mu     sync.Mutex
	byUUID map[string][]string     // BIOS UUID (lower case) -> Nodes, sorted
	byIP   map[netip.Addr][]string // Node address -> Nodes, sorted
	of     map[string]nodeKeys     // Node -> what it put in byUUID and byIP
}

// nodeKeys is what one Node contributes to the index.
type nodeKeys struct {
	uuid string
	ips  []netip.Addr
}

func keysOf(n *corev1.Node) nodeKeys {
	var k nodeKeys
	if u, ok := providerid.UUID(n.Spec.ProviderID); ok {
		k.uuid = strings.ToLower(u)
	}
	for _, a := range n.Status.Addresses {
		if ip, err := netip.ParseAddr(a.Address); err == nil {
			k.ips = append(k.ips, ip.Unmap())
		}
	}
	slices.SortFunc(k.ips, netip.Addr.Compare)
	k.ips = slices.Compact(k.ips)
	return k
}

// rebuild re-reads all Nodes' UUIDs and addresses (after the informer's first sync) and
// reports whether the addresses changed (a pool may now overlap a Node address, or no
// longer).
func (x *nodeIndex) rebuild(nodes []*corev1.Node) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	before := x.byIP
	x.byUUID, x.byIP, x.of = map[string][]string{}, map[netip.Addr][]string{}, map[string]nodeKeys{}
	for _, n := range nodes {
		x.putLocked(n.Name, keysOf(n))
	}
	return !maps.EqualFunc(before, x.byIP, slices.Equal[[]string])
}

// update records one Node as it is now (nil: deleted) and reports whether the set of
// Node addresses changed.
func (x *nodeIndex) update(name string, n *corev1.Node) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.of == nil {
		x.byUUID, x.byIP, x.of = map[string][]string{}, map[netip.Addr][]string{}, map[string]nodeKeys{}
	}
	old, had := x.of[name]
	var cur nodeKeys
	if n != nil {
		cur = keysOf(n)
	}
	if had && old.uuid == cur.uuid && slices.Equal(old.ips, cur.ips) && n != nil {
		return false
	}
	if had {
		x.dropLocked(name, old)
	}
	if n != nil {
		x.putLocked(name, cur)
	}
	return !slices.Equal(old.ips, cur.ips)
}

func (x *nodeIndex) putLocked(name string, k nodeKeys) {
	x.of[name] = k
	if k.uuid != "" {
		x.byUUID[k.uuid] = insertSorted(x.byUUID[k.uuid], name)
	}
	for _, ip := range k.ips {
		x.byIP[ip] = insertSorted(x.byIP[ip], name)
	}
}

func (x *nodeIndex) dropLocked(name string, k nodeKeys) {
	delete(x.of, name)
	if k.uuid != "" {
		if x.byUUID[k.uuid] = slices.DeleteFunc(x.byUUID[k.uuid], func(s string) bool { return s == name }); len(x.byUUID[k.uuid]) == 0 {
			delete(x.byUUID, k.uuid)
		}
	}
	for _, ip := range k.ips {
		if x.byIP[ip] = slices.DeleteFunc(x.byIP[ip], func(s string) bool { return s == name }); len(x.byIP[ip]) == 0 {
			delete(x.byIP, ip)
		}
	}
}

func insertSorted(list []string, s string) []string {
	i, found := slices.BinarySearch(list, s)
	if found {
		return list
	}
	return slices.Insert(list, i, s)
}

// first is the first of names, "" for none: with two Nodes on one address or UUID (a
// misconfiguration), answers do not depend on event order.
func first(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// nodeWithAddress names the Node whose status.addresses hold ip, "" for none.
func (x *nodeIndex) nodeWithAddress(ip netip.Addr) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return first(x.byIP[ip])
}

// nodeOfVM names the Node whose providerID holds the BIOS UUID, "" for none.
func (x *nodeIndex) nodeOfVM(uuid string) string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return first(x.byUUID[strings.ToLower(uuid)])
}

// addressesIn lists the Node addresses inside pool ("10.0.0.5 (node-a)"), sorted.
func (x *nodeIndex) addressesIn(pool loadbalancer.Pool) []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []string
	for ip, nodes := range x.byIP {
		for _, r := range pool.Ranges {
			if r.Contains(ip) {
				out = append(out, fmt.Sprintf("%s (%s)", ip, first(nodes)))
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
