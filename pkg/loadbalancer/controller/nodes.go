package controller

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/loadbalancer"
	"github.com/vsphere-cloud/provider/pkg/providerid"
)

// uses says what outside the allocator uses ip: Nodes whose status.addresses hold it,
// and VMs whose guests report it (node VMs named by their Node).
func (p *Provider) uses(ip netip.Addr) []loadbalancer.Use {
	p.mu.Lock()
	node := p.nodeIPs[ip]
	byUUID := p.nodeUUID
	p.mu.Unlock()
	var out []loadbalancer.Use
	if node != "" {
		out = append(out, loadbalancer.Use{Node: node, NodeAddress: true})
	}
	if p.inv == nil {
		return out
	}
	for _, vm := range p.inv.VMsReporting(ip.String()) {
		out = append(out, loadbalancer.Use{VM: vm.Name, Node: byUUID[strings.ToLower(vm.UUID)]})
	}
	return out
}

// nodeChangeMatters reports whether a Node update changes what allocation knows of
// Nodes: the providerID and the addresses. Status heartbeats change neither.
func nodeChangeMatters(old, cur any) bool {
	o, ok1 := old.(*v1.Node)
	n, ok2 := cur.(*v1.Node)
	return !ok1 || !ok2 || o.Spec.ProviderID != n.Spec.ProviderID || !slices.Equal(o.Status.Addresses, n.Status.Addresses)
}

// rebuildNodes re-reads the Nodes' UUIDs and addresses, and queues the pools' status
// when the addresses changed (a pool may now overlap a Node address, or no longer).
func (p *Provider) rebuildNodes() {
	uuids, ips := map[string]string{}, map[netip.Addr]string{}
	for _, obj := range p.nodes.List() {
		n := obj.(*v1.Node)
		if u, ok := providerid.UUID(n.Spec.ProviderID); ok {
			uuids[strings.ToLower(u)] = n.Name
		}
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				ips[ip.Unmap()] = n.Name
			}
		}
	}
	p.mu.Lock()
	changed := !maps.Equal(p.nodeIPs, ips)
	p.nodeUUID, p.nodeIPs = uuids, ips
	p.mu.Unlock()
	if changed && p.queue != nil {
		p.queue.Add(poolsKey)
	}
}

// nodeAddressesIn lists the Node addresses inside pool ("10.0.0.5 (node-a)"), sorted.
func (p *Provider) nodeAddressesIn(pool loadbalancer.Pool) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for ip, node := range p.nodeIPs {
		for _, r := range pool.Ranges {
			if r.Contains(ip) {
				out = append(out, fmt.Sprintf("%s (%s)", ip, node))
			}
		}
	}
	slices.Sort(out)
	return out
}

// IsVIP reports whether ip is inside any VIPPool (valid or not) or held by a Service:
// such an address must never become a Node's address.
func (p *Provider) IsVIP(ip netip.Addr) bool {
	ip = ip.Unmap()
	if p.alloc.Holds(ip) {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.vipRanges {
		if r.Contains(ip) {
			return true
		}
	}
	return false
}

// VIPFilter returns IsVIP once VIPPools and the existing allocations have been read; it
// waits for that (up to ten seconds, or until ctx ends) and fails if they are not, so
// that a Node's addresses are never chosen without knowing the VIPs. Use it with
// loadbalancer.DropVIPs on each NIC's addresses before picking a Node's addresses.
func (p *Provider) VIPFilter(ctx context.Context) (func(netip.Addr) bool, error) {
	if err := p.waitReady(ctx); err != nil {
		return nil, err
	}
	return p.IsVIP, nil
}
