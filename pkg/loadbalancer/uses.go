package loadbalancer

import (
	"net/netip"
	"strings"
)

// Use is something outside the allocator that uses an address.
type Use struct {
	// VM names a VM whose guest reports the address in vCenter.
	VM string
	// Node names the cluster Node that VM is, or whose status.addresses hold the address.
	Node string
	// NodeAddress is true when the address is one of Node's status.addresses.
	NodeAddress bool
	// Unknown says why it is not known whether a VM uses the address (vCenter's
	// inventory not read yet): the address is not handed out until it is.
	Unknown string
}

// conflictLocked says why ip cannot be a VIP: it is a Node's address, or a VM's guest
// reports it. The one exception is an address the allocator holds, reported by a node
// VM: that is the node announcing the VIP. Any other guest address, on any VM and on
// any NIC of a node VM (a second NIC, a keepalived or kube-vip address), is a conflict.
func (a *Allocator) conflictLocked(ip netip.Addr) error {
	held := len(a.holders[ip]) > 0
	for _, u := range a.uses(ip) {
		switch {
		case u.Unknown != "":
			return fail(ReasonUseUnknown, "whether a VM uses %s is not known yet (%s); retrying", ip, u.Unknown)
		case u.NodeAddress:
			return fail(ReasonUsedByNode, "%s is an address of Node %s (status.addresses)", ip, u.Node)
		case u.Node != "" && held:
			continue
		case u.Node != "":
			return fail(ReasonUsedByVM, "%s is already used by VM %s (Node %s) in vCenter", ip, u.VM, u.Node)
		default:
			return fail(ReasonUsedByVM, "%s is already used by VM %s in vCenter", ip, u.VM)
		}
	}
	return nil
}

// Holds reports whether a Service holds ip.
func (a *Allocator) Holds(ip netip.Addr) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.holders[ip]) > 0
}

// DropVIPs returns addrs without the addresses isVIP reports (unparsable entries are
// kept, for the caller to judge). cloud-controller filters a node VM's guest addresses
// with it before choosing the Node's addresses: VMware Tools reports the VIPs a node
// announces beside its own addresses, and a VIP must never become a Node's InternalIP
// or ExternalIP.
func DropVIPs(addrs []string, isVIP func(netip.Addr) bool) []string {
	if isVIP == nil {
		return addrs
	}
	out := make([]string, 0, len(addrs))
	for _, s := range addrs {
		if ip, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && isVIP(ip.Unmap()) {
			continue
		}
		out = append(out, s)
	}
	return out
}
