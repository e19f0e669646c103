package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestBenchVolumesAtScale (make bench, #14): 1,000 claims created together until all are
// Bound (BENCH pvc_1000_all_bound_seconds, target 60 s or less on the simulator, with
// BENCH create_vcenter_requests_per_volume_1000), then 500 of them attached across 50
// node VMs at once (BENCH attach_500_seconds). BENCH_SCALE_CLAIMS and BENCH_SCALE_NODES
// make it smaller.
func TestBenchVolumesAtScale(t *testing.T) {
	benchEnabled(t)
	claims, nodes := envInt("BENCH_SCALE_CLAIMS", 1000), envInt("BENCH_SCALE_NODES", 50)
	attaches := min(claims, 10*nodes)
	var names []string
	for i := range nodes {
		names = append(names, fmt.Sprintf("scale-node-%02d", i))
	}
	w := startFaultWorld(t, "bench-volumes-scale", names)
	for _, n := range names {
		w.joinNode(t, n)
	}
	w.proxy.Reset()
	start := time.Now()
	parallel(claims, 20, func(i int) { w.claim(t, fmt.Sprintf("scale-%d", i)) })
	pvs := make([]string, claims)
	for !allDone(pvs, func(i int) string { return w.boundPV(fmt.Sprintf("scale-%d", i)) }) {
		if time.Since(start) > 10*time.Minute {
			t.Fatal("claims not all bound within 10 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	bound := time.Since(start)
	bench(fmt.Sprintf("pvc_%d_all_bound_seconds", claims), bound.Seconds(), "s")
	bench(fmt.Sprintf("create_vcenter_requests_per_volume_%d", claims), float64(w.proxy.Total())/float64(claims), "requests")
	t.Logf("%d claims bound in %s; vCenter requests:\n%s", claims, bound.Round(10*time.Millisecond), w.proxy.Summary())

	w.proxy.Reset()
	start = time.Now()
	parallel(attaches, 20, func(i int) { w.attachment(t, fmt.Sprintf("scale-va-%d", i), pvs[i], names[i%nodes]) })
	done := make([]string, attaches)
	for !allDone(done, func(i int) string {
		if w.attached(fmt.Sprintf("scale-va-%d", i)) {
			return "yes"
		}
		return ""
	}) {
		if time.Since(start) > 10*time.Minute {
			t.Fatal("attachments not all attached within 10 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	bench(fmt.Sprintf("attach_%d_seconds", attaches), took.Seconds(), "s")
	t.Logf("%d attaches across %d node VMs in %s; vCenter requests:\n%s", attaches, nodes, took.Round(10*time.Millisecond), w.proxy.Summary())
}

// parallel runs f(0..n-1) with at most width at once.
func parallel(n, width int, f func(int)) {
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(i)
		})
	}
	wg.Wait()
}

// allDone fills the empty entries of got with probe and reports whether none is empty.
func allDone(got []string, probe func(int) string) bool {
	ok := true
	for i := range got {
		if got[i] == "" {
			got[i] = probe(i)
		}
		ok = ok && got[i] != ""
	}
	return ok
}
