package loadbalancer

import (
	"net/netip"
	"slices"
	"testing"
)

// TestGuestAndNodeAddressConflicts: only an address the allocator holds may be reported
// by a node VM (the node announcing it); every other guest address, and every Node
// address, is never handed out.
func TestGuestAndNodeAddressConflicts(t *testing.T) {
	uses := map[string][]Use{
		"10.0.0.1": {{VM: "node-a", Node: "node-a"}},      // node-a's second NIC, or a keepalived address
		"10.0.0.2": {{Node: "node-b", NodeAddress: true}}, // node-b's InternalIP
		"10.0.0.4": {{VM: "node-c", Node: "node-c"}},      // node-c announces the VIP it holds
	}
	a := NewAllocator([]Pool{{Name: "p", Ranges: mustRanges(t, "10.0.0.1-10.0.0.5"), AutoAssign: true}},
		func(ip netip.Addr) []Use { return uses[ip.String()] })
	a.Restore(Request{Service: "a/held", Namespace: "a", Families: []Family{IPv4}}, addrs("10.0.0.4"))
	req := func(name string, ips ...string) Request {
		return Request{Service: "a/" + name, Namespace: "a", Families: []Family{IPv4}, Requested: addrs(ips...)}
	}
	if got, err := a.Assign(req("auto")); err != nil || !slices.Equal(got, addrs("10.0.0.3")) {
		t.Fatalf("auto: %v, %v; want 10.0.0.3 (.1 is on a node VM's NIC, .2 a Node address, .4 held)", got, err)
	}
	if _, err := a.Assign(req("nic", "10.0.0.1")); reason(err) != ReasonUsedByVM {
		t.Fatalf("a node VM's own guest address: err = %v, want %s", err, ReasonUsedByVM)
	}
	if _, err := a.Assign(req("node", "10.0.0.2")); reason(err) != ReasonUsedByNode {
		t.Fatalf("a Node address: err = %v, want %s", err, ReasonUsedByNode)
	}
	if got, err := a.Assign(req("held", "10.0.0.4")); err != nil || !slices.Equal(got, addrs("10.0.0.4")) {
		t.Fatalf("the holder keeps the VIP its announcing node reports: %v, %v", got, err)
	}
}

func TestDropVIPs(t *testing.T) {
	isVIP := func(ip netip.Addr) bool { return ip == netip.MustParseAddr("10.0.0.9") }
	got := DropVIPs([]string{"10.0.0.9", "10.0.0.5", "::ffff:10.0.0.9", "fe80::1", "junk"}, isVIP)
	if !slices.Equal(got, []string{"10.0.0.5", "fe80::1", "junk"}) {
		t.Fatalf("DropVIPs = %v", got)
	}
	if got := DropVIPs([]string{"10.0.0.9"}, nil); len(got) != 1 {
		t.Fatalf("no filter dropped %v", got)
	}
}
