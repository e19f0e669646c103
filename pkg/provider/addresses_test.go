package provider

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vsphere-cloud/provider/pkg/vsphere"
	"github.com/vsphere-cloud/provider/pkg/vsphere/config"
)

func prefixes(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		out = append(out, netip.MustParsePrefix(x))
	}
	return out
}

func TestNodeAddresses(t *testing.T) {
	nics := []vsphere.NIC{
		{Network: "mgmt", IPs: []string{"fe80::1", "10.0.0.5", "fd00::5"}},
		{Network: "public", IPs: []string{"127.0.0.1", "192.168.1.7", "2001:db8::7"}},
	}
	for _, tc := range []struct {
		name     string
		nics     []vsphere.NIC
		host     string
		families []string
		rules    config.NodeAddressRules
		want     string
	}{
		{"default ipv4", nics, "n1.example", []string{"ipv4"}, config.NodeAddressRules{},
			"[InternalIP=10.0.0.5 ExternalIP=10.0.0.5 Hostname=n1.example]"},
		{"ipv6 only skips link-local", nics, "n1", []string{"ipv6"}, config.NodeAddressRules{},
			"[InternalIP=fd00::5 ExternalIP=fd00::5 Hostname=n1]"},
		{"dual-stack, ipv6 primary", nics, "n1", []string{"ipv6", "ipv4"}, config.NodeAddressRules{},
			"[InternalIP=fd00::5 ExternalIP=fd00::5 InternalIP=10.0.0.5 ExternalIP=10.0.0.5 Hostname=n1]"},
		{"subnets", nics, "n1", []string{"ipv4"}, config.NodeAddressRules{
			InternalSubnets: prefixes("10.0.0.0/8"), ExternalSubnets: prefixes("192.168.0.0/16")},
			"[InternalIP=10.0.0.5 ExternalIP=192.168.1.7 Hostname=n1]"},
		{"network names", nics, "n1", []string{"ipv4"}, config.NodeAddressRules{
			InternalNetworkName: "public", ExternalNetworkName: "mgmt"},
			"[InternalIP=192.168.1.7 ExternalIP=10.0.0.5 Hostname=n1]"},
		{"exclude", nics, "n1", []string{"ipv4"}, config.NodeAddressRules{
			ExcludeInternalSubnets: prefixes("10.0.0.0/24"), ExcludeExternalSubnets: prefixes("192.168.1.0/24")},
			"[InternalIP=192.168.1.7 Hostname=n1]"},
		{"subnet matching nothing", nics, "n1", []string{"ipv4"}, config.NodeAddressRules{InternalSubnets: prefixes("172.16.0.0/12")},
			"[Hostname=n1]"},
		{"no guest data", nil, "", []string{"ipv4", "ipv6"}, config.NodeAddressRules{}, "[Hostname=node-a]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vm := vsphere.VM{NICs: tc.nics, GuestHostname: tc.host}
			var got []string
			for _, a := range NodeAddresses(vm, "node-a", tc.families, tc.rules) {
				got = append(got, string(a.Type)+"="+a.Address)
			}
			if s := fmt.Sprint(got); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
}

func TestInstanceType(t *testing.T) {
	got := InstanceType(vsphere.VM{NumCPU: 4, MemoryMB: 16384, GuestID: "ubuntu64Guest"})
	if got != "vsphere-vm.cpu-4.mem-16gb.os-ubuntu64" {
		t.Errorf("got %s", got)
	}
	if got := InstanceType(vsphere.VM{NumCPU: 2, MemoryMB: 2048}); got != "vsphere-vm.cpu-2.mem-2gb.os-unknown" {
		t.Errorf("got %s", got)
	}
}
