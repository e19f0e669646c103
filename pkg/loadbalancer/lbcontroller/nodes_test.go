package lbcontroller

import (
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// TestNodeIndexFollowsEachNode: Node by Node, the index answers as a full re-read of the
// Nodes would, and reports exactly the changes of the address set.
func TestNodeIndexFollowsEachNode(t *testing.T) {
	ip := netip.MustParseAddr
	var x nodeIndex
	a, b := node("node-a", "UUID-A", "10.0.0.1"), node("node-b", "uuid-b", "10.0.0.2")
	if !x.update("node-a", a) || !x.update("node-b", b) {
		t.Fatal("adding Nodes with addresses reported no change")
	}
	if x.nodeWithAddress(ip("10.0.0.1")) != "node-a" || x.nodeOfVM("uuid-a") != "node-a" || x.nodeOfVM("UUID-B") != "node-b" {
		t.Fatalf("index after adds: %+v", x.byIP)
	}
	relabelled := node("node-a", "UUID-A", "10.0.0.1")
	relabelled.Labels = map[string]string{"x": "y"}
	if x.update("node-a", relabelled) {
		t.Error("a Node change without address change reported a change")
	}
	// node-b takes node-a's address too (a misconfiguration): both are known; the answer
	// does not depend on event order, and node-a leaving keeps node-b's.
	if !x.update("node-b", node("node-b", "uuid-b", "10.0.0.2", "10.0.0.1")) {
		t.Error("a new address reported no change")
	}
	if got := x.nodeWithAddress(ip("10.0.0.1")); got != "node-a" {
		t.Errorf("10.0.0.1 is on %q, want node-a (the first name)", got)
	}
	if !x.update("node-a", nil) {
		t.Error("a deleted Node reported no change")
	}
	if got := x.nodeWithAddress(ip("10.0.0.1")); got != "node-b" {
		t.Errorf("after node-a left, 10.0.0.1 is on %q, want node-b", got)
	}
	if x.nodeOfVM("uuid-a") != "" {
		t.Error("the deleted Node's VM is still known")
	}
	var full nodeIndex
	full.rebuild([]*corev1.Node{node("node-b", "uuid-b", "10.0.0.2", "10.0.0.1")})
	if len(full.byIP) != len(x.byIP) || len(full.byUUID) != len(x.byUUID) || len(full.of) != len(x.of) {
		t.Errorf("incremental index %+v differs from a full read %+v", x.byIP, full.byIP)
	}
	if x.update("node-a", nil) {
		t.Error("deleting an unknown Node reported a change")
	}
}
