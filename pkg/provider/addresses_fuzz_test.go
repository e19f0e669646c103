package provider

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

// FuzzNodeAddresses: whatever the guest reports, addresses are valid IPs of the requested
// families, never loopback or link-local, never excluded, and a Hostname is always there.
func FuzzNodeAddresses(f *testing.F) {
	f.Add("10.0.0.5", "fe80::1", "192.168.1.7", "VM Network", "10.0.0.0/24", true)
	f.Add("::1", "127.0.0.1", "not-an-ip", "", "", false)
	f.Fuzz(func(t *testing.T, a, b, c, network, exclude string, dual bool) {
		vm := vsphere.VM{NICs: []vsphere.NIC{{Network: network, IPs: []string{a, b}}, {IPs: []string{c}}}}
		rules := config.NodeAddressRules{InternalNetworkName: network}
		if p, err := netip.ParsePrefix(exclude); err == nil {
			rules.ExcludeInternalSubnets = []netip.Prefix{p.Masked()}
		}
		families := []string{"ipv4"}
		if dual {
			families = []string{"ipv6", "ipv4"}
		}
		out := NodeAddresses(vm, "n", families, rules)
		hostnames := 0
		for _, addr := range out {
			if addr.Type == corev1.NodeHostName {
				hostnames++
				continue
			}
			ip, err := netip.ParseAddr(addr.Address)
			if err != nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
				t.Fatalf("bad address %+v from %q %q %q", addr, a, b, c)
			}
			if !dual && !ip.Is4() {
				t.Fatalf("IPv6 address %s for an ipv4-only node", ip)
			}
			if addr.Type == corev1.NodeInternalIP && inAny(ip, rules.ExcludeInternalSubnets) {
				t.Fatalf("excluded address %s chosen", ip)
			}
		}
		if hostnames != 1 {
			t.Fatalf("%d Hostname addresses", hostnames)
		}
	})
}
