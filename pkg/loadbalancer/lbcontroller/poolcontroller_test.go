package lbcontroller

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vsphere-cloud/provider/api/v1alpha1"
)

func vipPool(name string, addrs ...string) *v1alpha1.VIPPool {
	return &v1alpha1.VIPPool{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.VIPPoolSpec{Addresses: addrs}}
}

// TestPoolChangesQueueStatus: what changes a pool's status queues it (every pool when
// the pools or the Node addresses change, and every Service with the pools), and what
// does not queues nothing beyond the pool an event is about.
func TestPoolChangesQueueStatus(t *testing.T) {
	for _, tc := range []struct {
		name         string
		change       func(t *testing.T, h *testPools)
		wantPools    []string
		wantServices bool
	}{{
		name: "a pool's addresses change",
		change: func(t *testing.T, h *testPools) {
			o := h.getPool(t, "lan")
			o.Spec.Addresses = []string{"10.0.0.1-10.0.0.9"}
			if err := h.poolStore.Update(o); err != nil {
				t.Fatal(err)
			}
			h.poolEvent(o)
		},
		wantPools: []string{"lan", "wan"}, wantServices: true,
	}, {
		name: "a pool is created",
		change: func(t *testing.T, h *testPools) {
			o := vipPool("dmz", "10.0.2.1-10.0.2.3")
			h.createPool(t, o)
			h.poolEvent(o)
		},
		wantPools: []string{"dmz", "lan", "wan"}, wantServices: true,
	}, {
		name: "a pool is deleted",
		change: func(t *testing.T, h *testPools) {
			o := h.getPool(t, "wan")
			if err := h.poolStore.Delete(o); err != nil {
				t.Fatal(err)
			}
			h.poolEvent(o)
		},
		wantPools: []string{"lan", "wan"}, wantServices: true,
	}, {
		name: "only a pool's status changes",
		change: func(t *testing.T, h *testPools) {
			o := h.getPool(t, "lan")
			o.Status.Used = 7
			if err := h.poolStore.Update(o); err != nil {
				t.Fatal(err)
			}
			h.poolEvent(o)
		},
		wantPools: []string{"lan"},
	}, {
		name: "a Node takes an address",
		change: func(t *testing.T, h *testPools) {
			n := node("node-b", "uuid-b", "10.0.1.2")
			if err := h.nodeStore.Add(n); err != nil {
				t.Fatal(err)
			}
			h.nodeChanged(n)
		},
		wantPools: []string{"lan", "wan"},
	}, {
		name: "Nodes change but not their addresses",
		change: func(t *testing.T, h *testPools) {
			n := node("node-a", "uuid-a", "10.0.9.10")
			n.Labels = map[string]string{"x": "y"}
			if err := h.nodeStore.Update(n); err != nil {
				t.Fatal(err)
			}
			h.nodeChanged(n)
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := testProvider(t, fakeInventory{})
			h := newTestPools(t, p, []*v1alpha1.VIPPool{vipPool("lan", "10.0.0.1-10.0.0.3"), vipPool("wan", "10.0.1.1-10.0.1.3")},
				node("node-a", "uuid-a", "10.0.9.10"))
			drain(h.queue)
			h.servicesQueued = 0
			tc.change(t, h)
			got := drain(h.queue)
			slices.Sort(got)
			if !slices.Equal(got, tc.wantPools) {
				t.Errorf("queued pools %v, want %v", got, tc.wantPools)
			}
			if (h.servicesQueued > 0) != tc.wantServices {
				t.Errorf("Services queued %d times, want them queued: %v", h.servicesQueued, tc.wantServices)
			}
		})
	}
}

// TestPoolStatus: a pool's status shows its usage and conditions, and is written only
// when it changes.
func TestPoolStatus(t *testing.T) {
	p := testProvider(t, fakeInventory{})
	h := newTestPools(t, p, []*v1alpha1.VIPPool{vipPool("lan", "10.0.0.1-10.0.0.3"), vipPool("bad", "10.0.1.0/33"), vipPool("overlap", "10.0.0.3-10.0.0.4")},
		node("node-b", "uuid-b", "10.0.0.2"))
	p.alloc.Restore(request("web"), []netip.Addr{netip.MustParseAddr("10.0.0.1")})
	ctx := context.Background()
	for _, tc := range []struct {
		pool          string
		valid         metav1.ConditionStatus
		reason        string
		used, free    int64
		overlapsNodes metav1.ConditionStatus
		overlapReason string
	}{
		{pool: "lan", valid: metav1.ConditionTrue, reason: v1alpha1.ReasonValid, used: 1, free: 2, overlapsNodes: metav1.ConditionTrue, overlapReason: ReasonNodeAddressInPool},
		{pool: "bad", valid: metav1.ConditionFalse, reason: v1alpha1.ReasonInvalidRange},
		{pool: "overlap", valid: metav1.ConditionFalse, reason: v1alpha1.ReasonOverlap},
	} {
		t.Run(tc.pool, func(t *testing.T) {
			if err := h.reconcile(ctx, tc.pool); err != nil {
				t.Fatal(err)
			}
			st := h.getPool(t, tc.pool).Status
			if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionPoolValid); c == nil || c.Status != tc.valid || c.Reason != tc.reason {
				t.Errorf("Valid = %+v, want %s %s", c, tc.valid, tc.reason)
			}
			if st.Used != tc.used || st.Free != tc.free {
				t.Errorf("used %d free %d, want %d and %d", st.Used, st.Free, tc.used, tc.free)
			}
			c := meta.FindStatusCondition(st.Conditions, ConditionPoolOverlapsNodes)
			if tc.overlapsNodes == "" && c != nil || tc.overlapsNodes != "" && (c == nil || c.Status != tc.overlapsNodes || c.Reason != tc.overlapReason) {
				t.Errorf("OverlapsNodes = %+v, want %q %s", c, tc.overlapsNodes, tc.overlapReason)
			}
		})
	}
	if len(h.recorder.Events) != 1 {
		t.Errorf("%d Events, want one (lan holds node-b's address)", len(h.recorder.Events))
	}

	// Unchanged: nothing is written.
	o := h.getPool(t, "bad")
	if err := h.poolStore.Update(o); err != nil {
		t.Fatal(err)
	}
	if err := h.reconcile(ctx, "bad"); err != nil {
		t.Fatalf("an unchanged status was written: %v", err)
	}
	if got := h.getPool(t, "bad").ResourceVersion; got != o.ResourceVersion {
		t.Errorf("resourceVersion %s, want %s: an unchanged status was written", got, o.ResourceVersion)
	}
	// A pool gone is no error.
	if err := h.reconcile(ctx, "gone"); err != nil {
		t.Errorf("a pool gone: %v", err)
	}
}
