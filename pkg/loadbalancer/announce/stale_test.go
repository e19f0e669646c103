package announce

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// A killed agent leaves its addresses behind. At start, every single address of a VIP
// pool on the VIP interface that this node does not hold is removed, also one that no
// Service has any more (a later allocation of it would be answered by two nodes);
// addresses outside the pools and prefixes that are not single addresses stay.
func TestStaleAddressesRemovedAtStart(t *testing.T) {
	c := world(t, lbService(corev1.ServiceExternalTrafficPolicyCluster))
	a := newAgent(c, "a")
	a.step(0)
	b := newAgent(c, "b")
	freed := netip.MustParseAddr("10.0.0.3") // its Service was deleted while b's agent was dead
	keep := []netip.Prefix{netip.MustParsePrefix("192.168.7.5/32"), netip.MustParsePrefix("10.0.0.4/24")}
	b.dp.addPrefix(netip.PrefixFrom(vip, 32))
	b.dp.addPrefix(netip.PrefixFrom(freed, 32))
	for _, p := range keep {
		b.dp.addPrefix(p)
	}
	b.step(0)
	if b.dp.has(vip) {
		t.Error("b kept a VIP that a holds")
	}
	if b.dp.has(freed) {
		t.Error("b kept a pool address that no Service holds")
	}
	for _, p := range keep {
		if !b.dp.has(p.Addr()) {
			t.Errorf("b removed %s, which is not a VIP", p)
		}
	}
	if !a.dp.has(vip) {
		t.Error("the leader lost its VIP")
	}
}
