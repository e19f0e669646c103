package provider

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// NodeAddresses picks the node's addresses from the guest's NICs, per IP family in
// priority order (two families make a dual-stack node, primary first):
//
//   - loopback, link-local and unspecified addresses are never used;
//   - InternalIP: the first address in internalNetworkSubnetCidr, else the first on the
//     port group internalVmNetworkName, else the first address (a subnet rule that
//     matches nothing gives no address; a network-name rule falls back); never one in
//     excludeInternalNetworkSubnetCidr;
//   - ExternalIP: the same with the external rules; with no external rule it repeats
//     the InternalIP, as the upstream provider does;
//   - Hostname: the guest's host name, or the node name when the guest reports none.
//
// A VM without guest NIC data gets only the Hostname address; it still initializes.
func NodeAddresses(vm vsphere.VM, nodeName string, families []string, rules config.NodeAddressRules) []corev1.NodeAddress {
	var out []corev1.NodeAddress
	for _, fam := range families {
		internal := pick(vm.NICs, fam, rules.InternalSubnets, rules.InternalNetworkName, rules.ExcludeInternalSubnets)
		var external netip.Addr
		if len(rules.ExternalSubnets) > 0 || rules.ExternalNetworkName != "" {
			external = pick(vm.NICs, fam, rules.ExternalSubnets, rules.ExternalNetworkName, rules.ExcludeExternalSubnets)
		} else if internal.IsValid() && !inAny(internal, rules.ExcludeExternalSubnets) {
			external = internal
		}
		if internal.IsValid() {
			out = append(out, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: internal.String()})
		}
		if external.IsValid() {
			out = append(out, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: external.String()})
		}
	}
	host := vm.GuestHostname
	if host == "" {
		host = nodeName
	}
	return append(out, corev1.NodeAddress{Type: corev1.NodeHostName, Address: host})
}

func pick(nics []vsphere.NIC, family string, subnets []netip.Prefix, network string, exclude []netip.Prefix) netip.Addr {
	var byNetwork, first netip.Addr
	for _, nic := range nics {
		for _, s := range nic.IPs {
			a, err := netip.ParseAddr(s)
			if err != nil {
				continue
			}
			a = a.Unmap()
			if (family == "ipv4") != a.Is4() || a.IsLoopback() || a.IsLinkLocalUnicast() ||
				a.IsUnspecified() || a.IsMulticast() || inAny(a, exclude) {
				continue
			}
			if len(subnets) > 0 {
				if inAny(a, subnets) {
					return a
				}
				continue
			}
			if network != "" && nic.Network == network && !byNetwork.IsValid() {
				byNetwork = a
			}
			if !first.IsValid() {
				first = a
			}
		}
	}
	if len(subnets) > 0 {
		return netip.Addr{}
	}
	if byNetwork.IsValid() {
		return byNetwork
	}
	return first // VMware Tools often omits the port group name; fall back as upstream does
}

func inAny(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
